"""The release .wasm stays small: every Envoy worker holds its own copy of the VM."""

MAX_BYTES = 300_000


def test_release_wasm_is_at_most_300_kb(wasm):
    size = wasm.stat().st_size
    assert size <= MAX_BYTES, f"{wasm} is {size} bytes; the budget is {MAX_BYTES} (see BENCHMARKS.md)"
