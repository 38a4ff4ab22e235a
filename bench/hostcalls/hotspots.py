"""Where a request's wasm instructions go, per function: builds the filter as scripts/build does
but keeps the function names, has binaryen instrument it (`wasm-opt --log-execution`: a call
to an imported logger at every function entry and loop head), runs it under count.py's
recording host, and charges the instructions executed between two log points to the function
of the first one (so a function's figure includes the code it runs after a callee returns
until the next log point: a close approximation, exact in total).

    .venv/bin/python bench/hostcalls/hotspots.py [--kinds disallowed,allowed] [--top 20]

Needs scripts/setup's binaryen (or Debian's). The build goes to target/bench-hotspots/.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import count  # noqa: E402

FEATURES = ["--mvp-features", "--enable-bulk-memory", "--enable-sign-ext", "--enable-mutable-globals", "--enable-nontrapping-float-to-int"]


def binaryen(tool: str) -> list[str]:
    npm = ROOT / ".tools" / "node_modules" / "binaryen" / "bin" / tool
    if npm.exists() and shutil.which("node"):
        return [str(npm)]
    if shutil.which(tool):
        return [tool]
    sys.exit(f"hotspots: {tool} not found (scripts/setup, or apt-get install binaryen)")


def build(work: Path) -> tuple[Path, str]:
    """The filter as scripts/build makes it, names kept, instrumented; and its text form."""
    target = ROOT / "target" / "bench-hotspots"
    env = {**os.environ, "CARGO_TARGET_DIR": str(target), "CARGO_PROFILE_RELEASE_STRIP": "false"}
    subprocess.run(["cargo", "build", "-q", "--release", "--target", "wasm32-wasip1"], cwd=ROOT, env=env, check=True)
    raw = target / "wasm32-wasip1" / "release" / "deps" / "cors_proxy_wasm.wasm"
    named, dce, inst = work / "named.wasm", work / "dce.wasm", work / "inst.wasm"
    subprocess.run([*binaryen("wasm-opt"), "-g", "--strip-dwarf", *FEATURES, str(raw), "-o", str(named)], check=True)
    subprocess.run([*binaryen("wasm-metadce"), "-g", *FEATURES, "--graph-file", str(ROOT / "scripts" / "wasm-exports.json"),
                    str(named), "-o", str(dce)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*binaryen("wasm-opt"), "-g", "-Oz", "--converge", "--one-caller-inline-max-function-size", "0", *FEATURES,
                    str(dce), "-o", str(named)], check=True)
    subprocess.run([*binaryen("wasm-opt"), "-g", *FEATURES, "--log-execution", str(named), "-o", str(inst)], check=True)
    text = subprocess.run([*binaryen("wasm-dis"), str(inst)], check=True, capture_output=True, text=True).stdout
    return inst, text


def sites(text: str) -> dict[int, str]:
    """Log point id → the (demangled where possible) function it is in."""
    imp = re.search(r'\(import "env" "log_execution" \(func \$(\S+)', text)
    if not imp:
        sys.exit("hotspots: the instrumented module imports no log_execution")
    call = re.compile(r"\(call \$" + re.escape(imp.group(1)) + r"\s*\(i32\.const (\d+)\)")
    out = {}
    for fm in re.finditer(r"\n \(func \$(\S+)(.*?)(?=\n \(func |\n \(data |\n \(export|\Z)", text, re.S):
        for m in call.finditer(fm.group(2)):
            out[int(m.group(1))] = fm.group(1)
    return out


def demangle(names: list[str]) -> dict[str, str]:
    filt = shutil.which("rustfilt")
    if not filt:
        return {n: re.sub(r"17h[0-9a-f]{16}E$", "", n) for n in names}
    out = subprocess.run([filt], input="\n".join(names), capture_output=True, text=True).stdout.splitlines()
    return dict(zip(names, out))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinds", default="preflight,allowed,disallowed,no-origin")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cors-hotspots-"))
    try:
        wasm, text = build(work)
        where = sites(text)
        charged: collections.Counter[str] = collections.Counter()
        last: list = [None, 0]

        class Host(count.Host):
            def h_log_execution(self, site: int) -> None:
                fuel = self.store.get_fuel()
                if last[0] is not None:
                    charged[where.get(last[0], "?")] += last[1] - fuel
                last[0], last[1] = site, fuel

        host = Host(wasm, json.dumps(count.SMALL_POLICY).encode())
        host.start()
        for kind in args.kinds.split(","):
            request, response = count.KINDS[kind]
            for i in range(3):
                host.stream(100 + i, kind, request, response)
            charged.clear()
            last[0] = None
            _, final = host.stream(200, kind, request, response)
            names = demangle([n for n, _ in charged.most_common(args.top)])
            print(f"\n== {kind}: {final['wasm_instructions']:,} instructions with the logging calls "
                  f"({sum(charged.values()):,} charged to functions)")
            for name, n in charged.most_common(args.top):
                print(f"  {n:7,}  {names.get(name, name)[:130]}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
