"""The release .wasm stays small (every Envoy worker holds its own copy of the VM) and exports
only the callbacks the filter uses (the host enters the VM for every callback it exports)."""

import json
from pathlib import Path

MAX_BYTES = 300_000
EXPORTS = Path(__file__).resolve().parents[2] / "scripts" / "wasm-exports.json"


def test_release_wasm_is_at_most_300_kb(wasm):
    size = wasm.stat().st_size
    assert size <= MAX_BYTES, f"{wasm} is {size} bytes; the budget is {MAX_BYTES} (see BENCHMARKS.md)"


def wasm_exports(data: bytes) -> list[str]:
    """The export names of a wasm module (section 7)."""

    def leb(i: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, i

    assert data[:4] == b"\0asm", "not a wasm module"
    i = 8
    while i < len(data):
        section = data[i]
        size, i = leb(i + 1)
        if section == 7:
            count, j = leb(i)
            names = []
            for _ in range(count):
                length, j = leb(j)
                names.append(data[j : j + length].decode())
                _, j = leb(j + length + 1)
            return names
        i += size
    return []


def test_release_wasm_exports_only_the_callbacks_it_uses(wasm):
    want = sorted(node["export"] for node in json.loads(EXPORTS.read_text()))
    got = sorted(wasm_exports(wasm.read_bytes()))
    assert got == want, (
        f"{wasm} exports {got}; scripts/build keeps only {want} (wasm-metadce from Debian's binaryen: "
        "apt-get install binaryen)"
    )
