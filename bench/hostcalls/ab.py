"""Side by side in one Envoy: every variant on its own listener of the same Envoy process, driven
in turn, so what differs between two Envoy processes (memory layout, which the full bench/run
sees as +-1.5 µs per request between two Envoys with the same .wasm) cancels out of the
differences between variants.

    .venv/bin/python bench/hostcalls/ab.py [--envoys E] [--rounds R] [--duration S]
        [--kinds preflight,allowed,...] NAME=PATH.wasm[@CONFIG | @@CONFIG_FILE] ... [none]

Kinds: bench/run's preflight, allowed, disallowed and no-origin (HTTP/1.1, wrk), the same over
HTTP/2 with an `h2-` prefix (h2load), and requests that carry a body through a proxied route
(the variant's listener forwards them to an origin listener of the same Envoy, which answers
them, so no other process takes part):
    upload-16k, upload-1m      POST with an allowed Origin and a 16 KiB / 1 MiB body (the origin
                               buffers it whole, then answers 200)
    download-16k, download-1m  GET with an allowed Origin, answered with a 16 KiB / 1 MiB body
    stream                     HTTP/2, gRPC-like: 100 messages of 64 bytes each way on one
                               stream (bench/h2stream.py, as client and as upstream echo)
A body crosses the filter in several data callbacks (Envoy reads and forwards it in pieces; an
HTTP/2 stream has one per DATA frame): a filter that exports the body callbacks is entered for
each. For the stream kind the figure is per stream (200 messages).

Prints, per kind, each variant's Envoy CPU µs per request (median over all rounds of all
Envoys) and its difference to the first variant: the median of the differences measured within
one round (variants run back to back, so slow drifts of the machine cancel), with the middle
half of those differences.
"""
from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench as b  # noqa: E402

BODY_KINDS = {
    # name: (method, path, request body bytes)
    "upload-16k": ("POST", "/upload", 16 * 1024),
    "upload-1m": ("POST", "/upload", 1024 * 1024),
    "download-16k": ("GET", "/download-16k", 0),
    "download-1m": ("GET", "/download-1m", 0),
}
DOWNLOAD_BYTES = {"/download-16k": 16 * 1024, "/download-1m": 1024 * 1024}
STREAM_MESSAGES, STREAM_BYTES = 100, 64
H2STREAM = Path(__file__).resolve().parents[1] / "h2stream.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster(name: str, port: int, http2: bool = False) -> dict:
    c = {
        "name": name,
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}],
        },
    }
    if http2:
        c["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    return c


def listener(name: str, v: b.Variant) -> dict:
    """bench/run's listener for this variant (same route, same filters), named after it; `/` is
    answered by the health_check filter as in bench/run, the body paths go to the origins."""
    ls = b.bootstrap(v, "local")["static_resources"]["listeners"][0]
    ls["name"] = name
    hcm = ls["filter_chains"][0]["filters"][0]["typed_config"]
    for f in hcm["http_filters"]:
        if f["name"] == "envoy.filters.http.health_check":
            f["typed_config"]["headers"] = [{"name": ":path", "string_match": {"exact": "/"}}]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    routes[:0] = [
        {"match": {"prefix": "/download"}, "route": {"cluster": "origin"}},
        {"match": {"prefix": "/upload"}, "route": {"cluster": "origin"}},
        {"match": {"prefix": "/stream"}, "route": {"cluster": "stream_origin", "timeout": "0s"}},
    ]
    return ls


def origin_listener(port: int) -> dict:
    """The origin of the body kinds, in the same Envoy: bodies of fixed sizes, uploads buffered."""
    routes = [
        {"match": {"path": path}, "direct_response": {"status": 200, "body": {"inline_string": "x" * size}}}
        for path, size in DOWNLOAD_BYTES.items()
    ]
    routes.append({"match": {"prefix": "/upload"}, "direct_response": {"status": 200}})
    return {
        "name": "origin",
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "origin",
                "route_config": {
                    "max_direct_response_body_size_bytes": 2 * 1024 * 1024,
                    "virtual_hosts": [{"name": "origin", "domains": ["*"], "routes": routes}],
                },
                "http_filters": [
                    {"name": "envoy.filters.http.buffer", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
                        "max_request_bytes": 2 * 1024 * 1024}},
                    {"name": "envoy.filters.http.router", "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},
                ],
            },
        }]}],
    }


def wrk_body_script(workdir: Path, kind: str) -> Path:
    method, path, size = BODY_KINDS[kind]
    lines = [f'wrk.method = "{method}"', f'wrk.path = "{path}"', f'wrk.headers["Origin"] = "{b.ALLOWED_ORIGIN}"']
    if size:
        lines += [f'wrk.body = string.rep("x", {size})', 'wrk.headers["Content-Type"] = "application/octet-stream"']
    p = workdir / f"{kind}.lua"
    p.write_text("\n".join(lines) + "\n" + b.LUA_DONE)
    return p


def run_stream(e: b.Envoy, duration: int) -> dict:
    cmd = [
        "taskset", "-c", b.LOAD_CPU, sys.executable, str(H2STREAM), "client", "--port", str(e.port),
        "--duration", str(duration), "--messages", str(STREAM_MESSAGES), "--size", str(STREAM_BYTES),
    ]

    def parse(out: subprocess.CompletedProcess) -> dict:
        if out.returncode != 0:
            raise RuntimeError(f"h2stream client failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        want = r["streams"] * STREAM_MESSAGES
        if r["failed"] or r["frames_received"] < want:
            raise RuntimeError(f"stream kind: {r}")
        return {"requests": r["streams"], "duration_us": r["duration_us"], "errors": r["failed"], "non2xx": 0}

    return b.measured(e, cmd, duration, [e], parse)


def check_body(port: int, kind: str) -> None:
    method, path, size = BODY_KINDS[kind]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=b"x" * size if size else None, headers={"Origin": b.ALLOWED_ORIGIN})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200 or len(body) != DOWNLOAD_BYTES.get(path, 0):
            raise RuntimeError(f"{kind}: status {r.status}, {len(body)} bytes")
    finally:
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--envoys", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=int, default=2)
    ap.add_argument("--kinds", default="allowed")
    ap.add_argument("specs", nargs="+", metavar="NAME=PATH.wasm[@CONFIG] | none")
    args = ap.parse_args()
    kinds = args.kinds.split(",")
    for k in kinds:
        if b.base_kind(k) not in b.KINDS and k not in BODY_KINDS and k != "stream":
            ap.error(f"unknown kind {k!r}")
    names, listeners = [], []
    for spec in args.specs:
        name, _, rest = spec.partition("=")
        path, at, cfg = rest.partition("@")
        if cfg.startswith("@"):  # NAME=PATH.wasm@@FILE: the configuration is FILE's text
            cfg = Path(cfg[1:]).read_text()
        if name == "none":
            v = b.Variant(name, name, "none", cors=False)
        else:
            v = b.Variant(name, name, "wasm", Path(path).resolve(), b.SMALL_POLICY, raw_config=cfg if at else None)
        names.append(name)
        listeners.append(listener(name, v))
    origin_port, stream_port = free_port(), free_port()
    boot = b.bootstrap(b.Variant("none", "none", "none", cors=False), "local")
    boot["static_resources"]["listeners"] = listeners + [origin_listener(origin_port)]
    boot["static_resources"]["clusters"] += [cluster("origin", origin_port), cluster("stream_origin", stream_port, http2=True)]
    wd = Path(tempfile.mkdtemp(prefix="cors-ab-"))
    # rounds[kind][name]: one figure per round, all Envoys; index i of every variant is one round
    rounds: dict[str, dict[str, list[float]]] = {k: {n: [] for n in names} for k in kinds}
    binary = b.envoy_binary()
    if "stream" in kinds:
        origin = subprocess.Popen(["taskset", "-c", b.LOAD_CPU, sys.executable, str(H2STREAM), "origin", "--port", str(stream_port)])
        b._LIVE.append(origin)
    try:
        for i in range(args.envoys):
            e = b.Envoy(binary, wd, f"ab-{i}", boot)
            try:
                e.wait_ready()
                _, body = e.admin("/listeners?format=json")
                ports = {ls["name"]: int(ls["local_address"]["socket_address"]["port_value"]) for ls in json.loads(body)["listener_statuses"]}
                for kind in kinds:
                    if kind in BODY_KINDS:
                        script = wrk_body_script(wd, kind)
                        for n in names:
                            check_body(ports[n], kind)

                        def drive(duration: int, script: Path = script) -> dict:
                            return b.run_wrk(e, script, duration, 32, [e])
                    elif kind == "stream":
                        def drive(duration: int) -> dict:
                            return run_stream(e, duration)
                    elif kind.startswith(b.H2):
                        def drive(duration: int, kind: str = kind) -> dict:
                            return b.run_h2load(e, kind, "minimal", duration, [e])
                    else:
                        script = b.lua_script(wd, kind, "minimal")

                        def drive(duration: int, script: Path = script) -> dict:
                            return b.run_wrk(e, script, duration, 32, [e])
                    for n in names:  # warm-up
                        e.port = ports[n]
                        drive(1)
                    for r in range(args.rounds):
                        order = names if r % 2 == 0 else list(reversed(names))
                        for n in order:
                            e.port = ports[n]
                            rounds[kind][n].append(drive(args.duration)["cpu_us_per_req"])
                    last = {n: statistics.median(rounds[kind][n][-args.rounds:]) for n in names}
                    print(f"envoy {i} {kind}: " + "  ".join(f"{n} {v:.2f}" for n, v in last.items()), flush=True)
            finally:
                e.stop()
    finally:
        b.kill_all()
    base = names[0]
    for kind in kinds:
        unit = f"stream ({STREAM_MESSAGES} messages each way)" if kind == "stream" else "request"
        print(f"\n{kind}: Envoy CPU µs per {unit} ({args.envoys} Envoys × {args.rounds} rounds × {args.duration} s)")
        print(f"{'variant':28}{'µs':>9}{'vs ' + base:>10}{'middle half':>18}{'ratio':>8}")
        bvals = rounds[kind][base]
        for n in names:
            vals = rounds[kind][n]
            diffs = sorted(v - bv for v, bv in zip(vals, bvals))
            q1, q3 = diffs[len(diffs) // 4], diffs[(3 * len(diffs)) // 4]
            dmed = statistics.median(diffs)
            ratio = statistics.median(bvals) / (statistics.median(bvals) + dmed)
            print(f"{n:28}{statistics.median(vals):9.2f}{dmed:+10.2f}{'[' + f'{q1:+.2f}..{q3:+.2f}' + ']':>18}{ratio:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
