"""What a module without proxy_on_done and proxy_on_log changes in Envoy's context life cycle:
configuration swaps (file-based ECDS) under traffic, and shutdown.

    .venv/bin/python bench/hostcalls/lifecycle.py [--swaps N] NAME=PATH.wasm ...

For each build: one Envoy (`--concurrency 1`) whose wasm filter comes from an ECDS file; the
policy is swapped N times (each time a new `allow_origins` entry plus 1,000 filler origins, so a
root context that is never deleted would keep ~100 KB of policy alive); after every swap a
request from the newly allowed origin must get it back in Access-Control-Allow-Origin, and
wrk runs a short burst. Prints Envoy's RSS after the first and the last swap and the exit
status of a SIGTERM shutdown. proxy-wasm-cpp-host answers proxy_on_done itself ("done") when
the module does not export it, so the old root context is deleted at each swap either way:
the two builds must show the same RSS, every swap applied, and a clean exit.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench as b  # noqa: E402

WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"


def ecds_write(path: Path, version: int, wasm: Path, policy: dict) -> None:
    typed = b.wasm_filter(wasm, json.dumps(policy))["typed_config"]
    doc = {
        "version_info": str(version),
        "resources": [{"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig", "name": "cors", "typed_config": typed}],
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, path)  # an atomic rename: Envoy does not see an in-place edit


def granted(port: int, origin: str) -> str | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Origin": origin})
        r = conn.getresponse()
        r.read()
        return r.getheader("access-control-allow-origin")
    finally:
        conn.close()


def run(name: str, wasm: Path, swaps: int, wd: Path) -> dict:
    ecds = wd / f"{name}-ecds.json"
    filler = [f"https://tenant{i:04}.example.com" for i in range(1000)]

    def policy(i: int) -> dict:
        return {**b.SMALL_POLICY, "allow_origins": [f"https://swap{i}.example.com"] + filler}

    ecds_write(ecds, 0, wasm, policy(0))
    boot = b.bootstrap(b.Variant("none", "none", "none", cors=False), "local")
    boot["node"] = {"id": "lifecycle", "cluster": "bench"}
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"].insert(0, {
        "name": "cors",
        "config_discovery": {
            "config_source": {"path_config_source": {"path": str(ecds)}, "resource_api_version": "V3", "initial_fetch_timeout": "0s"},
            "type_urls": [WASM_TYPE],
        },
    })
    e = b.Envoy(b.envoy_binary(), wd, f"life-{name}", boot)
    lua = b.lua_script(wd, "allowed", "minimal")
    rss: list[float] = []
    applied = 0
    try:
        e.wait_ready()
        for i in range(1, swaps + 1):
            ecds_write(ecds, i, wasm, policy(i))
            origin = f"https://swap{i}.example.com"
            deadline = time.monotonic() + 10
            while granted(e.port, origin) != origin:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name}: swap {i} not applied after 10 s")
                time.sleep(0.05)
            applied += 1
            b.run_wrk(e, lua, 1, 8, [e])
            rss.append(e.rss_kib() / 1024)
        e.proc.terminate()
        code = e.proc.wait(timeout=20)
    finally:
        e.stop()
    return {"swaps_applied": applied, "rss_first_mib": rss[0], "rss_last_mib": rss[-1], "exit": code}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--swaps", type=int, default=40)
    ap.add_argument("specs", nargs="+", metavar="NAME=PATH.wasm")
    args = ap.parse_args()
    wd = Path(tempfile.mkdtemp(prefix="cors-lifecycle-"))
    try:
        for spec in args.specs:
            name, _, path = spec.partition("=")
            r = run(name, Path(path).resolve(), args.swaps, wd)
            print(f"{name}: {r['swaps_applied']}/{args.swaps} swaps applied; Envoy RSS after swap 1 {r['rss_first_mib']:.1f} MiB, "
                  f"after swap {args.swaps} {r['rss_last_mib']:.1f} MiB; SIGTERM exit status {r['exit']}", flush=True)
    finally:
        b.kill_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())
