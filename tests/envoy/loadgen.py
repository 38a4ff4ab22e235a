"""Load that checks every answer: the engine of the 30-second load test, the reload test and the
5-minute soak (`bench/soak`, or `.venv/bin/python tests/envoy/loadgen.py --help`).

Tools, and why:
  * curl --parallel (one process keeps up to --parallel-max requests in flight, over HTTP/1.1
    keep-alive connections or multiplexed on HTTP/2 with --http2-prior-knowledge) sends each
    batch of requests and prints, for every one of them, its URL, status, exit code and every
    response header as JSON (a header sent twice shows as two values). Each request's URL names
    its kind and a sequence number, so every answer is matched to the request that caused it,
    and a request with no answer is found. About 15,000 requests/s from one process here.
  * wrk's Lua `response` callback sees the status and headers, but neither which request the
    answer belongs to nor a header sent twice (its header table keeps the last one); h2load
    counts status classes only. Neither could prove "nothing lost, nothing wrong".
  * WebSocket handshakes are sent from Python (envoy_harness.H1Connection and H2Connection):
    curl cannot finish a 101 handshake (it waits for a body) nor send an HTTP/2 extended
    CONNECT (RFC 8441), the way browsers open a WebSocket over HTTP/2.

The filter's counters (`wasmcustom.cors.*`) must equal the requests sent per kind: each kind
names the counter it moves.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

import envoy_harness as harness  # noqa: E402

APP = "https://app.example.com"
EVIL = "https://evil.example.net"

# The policy under load: an explicit list of everything, credentials on.
POLICY: dict[str, Any] = {
    "allow_origins": [APP, "https://*.example.org"],
    "allow_methods": ["GET", "POST", "PUT", "DELETE"],
    "allow_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id"],
    "allow_credentials": True,
    "max_age": 600,
}

WS_HEADERS = [("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]


@dataclass(frozen=True)
class Kind:
    """One kind of request: what is sent, and which of the filter's counters it moves."""

    name: str
    method: str
    headers: tuple[tuple[str, str], ...]
    counter: str | None
    websocket: bool = False


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("preflight", "OPTIONS", (("Origin", APP), ("Access-Control-Request-Method", "PUT"),
                                      ("Access-Control-Request-Headers", "content-type, authorization")), "preflight_allowed"),
        Kind("preflight_denied", "OPTIONS", (("Origin", EVIL), ("Access-Control-Request-Method", "PUT")), "preflight_denied"),
        Kind("allowed", "GET", (("Origin", APP),), "actual_allowed"),
        Kind("disallowed", "GET", (("Origin", EVIL),), "actual_denied"),
        Kind("no_origin", "GET", (), None),
        Kind("ws_allowed", "GET", (("Origin", APP),), "actual_allowed", websocket=True),
        Kind("ws_denied", "GET", (("Origin", EVIL),), "websocket_rejected", websocket=True),
    )
}

# How many of each kind in a curl batch (WebSocket handshakes are sent separately).
MIX = {"preflight": 3, "preflight_denied": 1, "allowed": 3, "disallowed": 2, "no_origin": 2}


@dataclass(frozen=True)
class Expected:
    status: int
    cors: tuple[tuple[str, str], ...]  # every access-control-* header, each exactly once
    vary: str | None  # the one Vary line, or None for none


def expected(kind: str, policy: dict[str, Any], http2: bool = False) -> Expected:
    """The exact answer the filter gives `kind` under `policy` (a policy of the shape of POLICY:
    exact origins, explicit lists)."""
    pf_vary = harness.PREFLIGHT_VARY
    allowed = APP in policy["allow_origins"]
    creds = bool(policy.get("allow_credentials"))
    grant: list[tuple[str, str]] = [("access-control-allow-origin", APP)]
    if creds:
        grant.append(("access-control-allow-credentials", "true"))
    if kind == "preflight":
        if not allowed:
            return Expected(403, (), pf_vary)
        h = list(grant)
        h.append(("access-control-allow-methods", ", ".join(policy["allow_methods"])))
        h.append(("access-control-allow-headers", ", ".join(policy["allow_headers"])))
        if "max_age" in policy:
            h.append(("access-control-max-age", str(policy["max_age"])))
        return Expected(204, tuple(sorted(h)), pf_vary)
    if kind == "preflight_denied":
        return Expected(403, (), pf_vary)
    if kind == "allowed":
        h = list(grant) if allowed else []
        if allowed and policy.get("expose_headers"):
            h.append(("access-control-expose-headers", ", ".join(policy["expose_headers"])))
        return Expected(200, tuple(sorted(h)), "Origin")
    if kind in ("disallowed", "no_origin"):
        return Expected(200, (), "Origin")
    if kind == "ws_allowed":
        # The upstream's 101 (200 over HTTP/2) is left alone: a 1xx is not the final response.
        return Expected(200 if http2 else 101, (), None)
    if kind == "ws_denied":
        return Expected(403, (), "Origin")
    raise KeyError(kind)


def check(headers: dict[str, list[str]], status: int, want: Expected) -> str | None:
    """What is wrong with an answer (headers: lower-case name -> every value), or None."""
    if status != want.status:
        return f"status {status}, expected {want.status}"
    cors = sorted((k, v) for k, vs in headers.items() if k.startswith("access-control-") for v in vs)
    if tuple(cors) != want.cors:
        return f"access-control-* {cors}, expected {list(want.cors)}"
    vary = headers.get("vary", [])
    if vary != ([want.vary] if want.vary else []):
        return f"vary {vary}, expected {want.vary!r}"
    return None


# ------------------------------------------------------------------------------------------------
# Tally


@dataclass
class Tally:
    """Every request sent, by (protocol, kind): answered right, wrong, or lost."""

    sent: Counter = field(default_factory=Counter)
    ok: Counter = field(default_factory=Counter)
    wrong: Counter = field(default_factory=Counter)
    lost: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # the first few problems, for the report
    by_policy: Counter = field(default_factory=Counter)  # (policy label, protocol) -> answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, problem: str) -> None:
        if len(self.examples) < 20:
            self.examples.append(problem)

    def total(self, c: Counter) -> int:
        return sum(c.values())

    def per_kind(self) -> dict[str, int]:
        out: Counter = Counter()
        for (_, kind), n in self.sent.items():
            out[kind] += n
        return dict(out)

    def expected_counters(self) -> dict[str, int]:
        out = {n: 0 for n in harness.CORS_COUNTERS}
        for (_, kind), n in self.sent.items():
            counter = KINDS[kind].counter
            if counter:
                out[counter] += n
        return out


# ------------------------------------------------------------------------------------------------
# curl batches


def curl_binary() -> str:
    path = shutil.which("curl")
    if not path:
        raise harness.HarnessError("curl not found: apt-get install curl (scripts/setup installs it)")
    return path


def _parse_curl(text: str) -> list[tuple[str, int, int, dict[str, list[str]]]]:
    """Records of `%{url_effective} %{http_code} %{exitcode} %{header_json}\\n`."""
    out = []
    dec = json.JSONDecoder()
    pos = 0
    n = len(text)
    while pos < n:
        if text[pos] in "\r\n":
            pos += 1
            continue
        sp1 = text.index(" ", pos)
        sp2 = text.index(" ", sp1 + 1)
        sp3 = text.index(" ", sp2 + 1)
        url = text[pos:sp1]
        code = int(text[sp1 + 1:sp2])
        exitcode = int(text[sp2 + 1:sp3])
        headers, end = dec.raw_decode(text, sp3 + 1)
        out.append((url, code, exitcode, {k.lower(): v for k, v in headers.items()}))
        pos = end
    return out


class CurlWorker(threading.Thread):
    """Sends batches of the MIX with curl until `deadline`, checking every answer."""

    def __init__(self, name: str, port: int, http2: bool, deadline: float, tally: Tally,
                 policies: Callable[[], list[tuple[str, dict[str, Any]]]], workdir: Path,
                 batch: int = 3000, parallel: int = 16, on_batch: Callable[[dict[str, Any]], None] | None = None):
        super().__init__(name=name, daemon=True)
        self.port = port
        self.http2 = http2
        self.deadline = deadline
        self.tally = tally
        self.policies = policies  # the policies an answer may come from right now, newest last
        self.workdir = workdir
        self.batch = batch
        self.parallel = parallel
        self.on_batch = on_batch
        self.error: BaseException | None = None
        self.batches = 0

    def run(self) -> None:
        try:
            while time.monotonic() < self.deadline:
                self._one_batch()
        except BaseException as e:  # reported by the caller
            self.error = e

    def _one_batch(self) -> None:
        proto = "h2" if self.http2 else "h1"
        kinds = [k for k, n in MIX.items() for _ in range(n)]
        if not self.http2:
            kinds.append("ws_denied")  # HTTP/1.1 only: curl does not send an HTTP/2 upgrade
        urls: dict[str, str] = {}
        lines: list[str] = []
        fmt = "%{url_effective} %{http_code} %{exitcode} %{header_json}\\n"
        for i in range(self.batch):
            kind = kinds[i % len(kinds)]
            k = KINDS[kind]
            url = f"http://127.0.0.1:{self.port}/direct/{kind}/{self.name}-{self.batches}-{i}"
            urls[url] = kind
            if lines:
                lines.append("next")
            lines.append(f'url = "{url}"')
            if k.method != "GET":
                lines.append(f'request = "{k.method}"')
            for n, v in k.headers:
                lines.append(f'header = "{n}: {v}"')
            if k.websocket:
                lines += ['header = "Connection: Upgrade"', 'header = "Upgrade: websocket"']
                lines += [f'header = "{n}: {v}"' for n, v in WS_HEADERS]
            lines.append('output = "/dev/null"')
            lines.append(f'write-out = "{fmt}"')
        cfg = self.workdir / f"{self.name}.curl"
        cfg.write_text("\n".join(lines) + "\n")
        cmd = [curl_binary(), "-s", "--max-time", "10", "--parallel", "--parallel-max", str(self.parallel), "-K", str(cfg)]
        if self.http2:
            cmd.insert(2, "--http2-prior-knowledge")
        candidates = self.policies()
        t0 = time.monotonic()
        try:
            stdout = subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout
        except subprocess.TimeoutExpired as e:  # what it printed so far counts; the rest is lost
            out = e.stdout or b""
            stdout = out.decode() if isinstance(out, bytes) else out
            stdout = stdout[: stdout.rfind("}\n") + 2] if "}\n" in stdout else ""
        t1 = time.monotonic()
        later = self.policies()
        # An answer may come from any policy live between the start and the end of the batch.
        live = list(dict(candidates + later).items())
        records = _parse_curl(stdout)
        got = {url: (code, exitcode, headers) for url, code, exitcode, headers in records}
        labels: Counter = Counter()
        with self.tally.lock:
            for url, kind in urls.items():
                key = (proto, kind)
                self.tally.sent[key] += 1
                rec = got.get(url)
                if rec is None or rec[1] != 0 or rec[0] == 0:
                    self.tally.lost[key] += 1
                    self.tally.note(f"{proto} {kind} {url}: no answer (curl exit {rec[1] if rec else 'none'})")
                    continue
                code, _, headers = rec
                problems = []
                for label, policy in live:
                    problem = check(headers, code, expected(kind, policy, self.http2))
                    if problem is None:
                        labels[label] += 1
                        break
                    problems.append(f"{label}: {problem}")
                else:
                    self.tally.wrong[key] += 1
                    self.tally.note(f"{proto} {kind} {url}: " + "; ".join(problems))
                    continue
                self.tally.ok[key] += 1
            for label, n in labels.items():
                self.tally.by_policy[(label, proto)] += n
        self.batches += 1
        if self.on_batch:
            self.on_batch({"worker": self.name, "start": t0, "end": t1, "labels": dict(labels), "n": len(urls)})


class WebSocketWorker(threading.Thread):
    """WebSocket handshakes, allowed and refused, over HTTP/1.1 (Upgrade) and HTTP/2 (extended
    CONNECT), at most `rate` a second."""

    def __init__(self, port: int, deadline: float, tally: Tally,
                 policies: Callable[[], list[tuple[str, dict[str, Any]]]], rate: float = 100.0):
        super().__init__(name="websocket", daemon=True)
        self.port = port
        self.deadline = deadline
        self.tally = tally
        self.policies = policies
        self.period = 1.0 / rate
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            i = 0
            while time.monotonic() < self.deadline:
                t = time.monotonic()
                self._one(("ws_allowed", "ws_denied")[i % 2], http2=(i // 2) % 2 == 1, seq=i)
                i += 1
                time.sleep(max(0.0, self.period - (time.monotonic() - t)))
        except BaseException as e:
            self.error = e

    def _one(self, kind: str, http2: bool, seq: int) -> None:
        proto = "h2" if http2 else "h1"
        k = KINDS[kind]
        path = f"/ws/{kind}/{seq}"
        live = self.policies()
        try:
            if http2:
                conn = harness.H2Connection(self.port)
                try:
                    resp = conn.request("CONNECT", path, list(k.headers) + WS_HEADERS, protocol="websocket")
                finally:
                    conn.close()
            else:
                conn1 = harness.H1Connection(self.port)
                try:
                    resp = conn1.request("GET", path, list(k.headers) + [("Connection", "Upgrade"), ("Upgrade", "websocket")] + WS_HEADERS)
                finally:
                    conn1.close()
        except (harness.ConnectionGone, OSError) as e:
            with self.tally.lock:
                self.tally.sent[(proto, kind)] += 1
                self.tally.lost[(proto, kind)] += 1
                self.tally.note(f"{proto} {kind} {path}: {e}")
            return
        headers: dict[str, list[str]] = defaultdict(list)
        for n, v in resp.headers:
            headers[n].append(v)
        problems = []
        with self.tally.lock:
            self.tally.sent[(proto, kind)] += 1
            for label, policy in live:
                problem = check(headers, resp.status, expected(kind, policy, http2))
                if problem is None:
                    self.tally.ok[(proto, kind)] += 1
                    return
                problems.append(f"{label}: {problem}")
            self.tally.wrong[(proto, kind)] += 1
            self.tally.note(f"{proto} {kind} {path}: " + "; ".join(problems))


# ------------------------------------------------------------------------------------------------
# Memory


class RssSampler(threading.Thread):
    def __init__(self, pid: int, interval: float, deadline: float):
        super().__init__(name="rss", daemon=True)
        self.pid = pid
        self.interval = interval
        self.deadline = deadline
        self.t0 = time.monotonic()
        self.samples: list[tuple[float, int]] = []  # (seconds since start, KiB)

    def run(self) -> None:
        while True:
            now = time.monotonic()
            try:
                self.samples.append((round(now - self.t0, 1), harness.rss_kib(self.pid)))
            except (OSError, harness.HarnessError):
                return
            if now >= self.deadline:
                return
            time.sleep(min(self.interval, max(0.0, self.deadline - now)) or self.interval)


def slope_mib_per_min(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, MiB per minute."""
    if len(samples) < 2:
        return 0.0
    xs = [t / 60 for t, _ in samples]
    ys = [k / 1024 for _, k in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


# ------------------------------------------------------------------------------------------------
# One run


def run_load(
    port: int,
    duration: float,
    workdir: Path,
    policies: Callable[[], list[tuple[str, dict[str, Any]]]],
    h1_workers: int = 2,
    h2_workers: int = 2,
    websocket_rate: float = 100.0,
    batch: int = 3000,
    pid: int | None = None,
    rss_interval: float = 5.0,
    on_batch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Drives Envoy on `port` for `duration` seconds (each worker then finishes its batch) and
    returns the tally. `policies()` names the policies an answer may come from at that moment."""
    tally = Tally()
    deadline = time.monotonic() + duration
    workdir.mkdir(parents=True, exist_ok=True)
    workers: list[Any] = []
    for i in range(h1_workers):
        workers.append(CurlWorker(f"h1w{i}", port, False, deadline, tally, policies, workdir, batch=batch, on_batch=on_batch))
    for i in range(h2_workers):
        # One HTTP/2 connection per batch. curl 7.88.1 (Debian 12) and Envoy 1.40 fall out after
        # about 2,750 streams on one connection when some answers have no body (a 204, a 403):
        # Envoy sends GOAWAY (INTERNAL_ERROR) and curl stops. Also without this filter (Envoy's own
        # direct_response 204), so batches stay under that: 124,800 requests in batches of 2,600
        # went through clean.
        workers.append(CurlWorker(f"h2w{i}", port, True, deadline, tally, policies, workdir, batch=min(batch, 1500), on_batch=on_batch))
    if websocket_rate > 0:
        workers.append(WebSocketWorker(port, deadline, tally, policies, rate=websocket_rate))
    sampler = RssSampler(pid, rss_interval, deadline) if pid else None
    t0 = time.monotonic()
    if sampler:
        sampler.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=duration + 600)
    elapsed = time.monotonic() - t0
    if sampler:
        sampler.join(timeout=rss_interval + 5)
    errors = [f"{w.name}: {w.error!r}" for w in workers if w.error is not None or w.is_alive()]
    return {"tally": tally, "elapsed": elapsed, "errors": errors, "rss": sampler.samples if sampler else []}


def summary(result: dict[str, Any], counters_before: dict[str, int], counters_after: dict[str, int]) -> dict[str, Any]:
    tally: Tally = result["tally"]
    got = {n: counters_after[n] - counters_before.get(n, 0) for n in harness.CORS_COUNTERS}
    rss = result["rss"]
    half = [s for s in rss if s[0] >= rss[-1][0] / 2] if rss else []
    rows = {}
    for key in sorted(tally.sent):
        rows[f"{key[0]} {key[1]}"] = {"sent": tally.sent[key], "ok": tally.ok[key], "wrong": tally.wrong[key], "lost": tally.lost[key]}
    return {
        "seconds": round(result["elapsed"], 1),
        "requests": tally.total(tally.sent),
        "requests_per_s": round(tally.total(tally.sent) / result["elapsed"]) if result["elapsed"] else 0,
        "ok": tally.total(tally.ok),
        "wrong": tally.total(tally.wrong),
        "lost": tally.total(tally.lost),
        "by_kind": rows,
        "counters_expected": tally.expected_counters(),
        "counters": got,
        "counters_equal": got == tally.expected_counters(),
        "rss_kib": rss,
        "rss_first_last_mib": [round(rss[0][1] / 1024, 1), round(rss[-1][1] / 1024, 1)] if rss else [],
        "rss_slope_mib_per_min": round(slope_mib_per_min(rss), 3),
        "rss_slope_second_half_mib_per_min": round(slope_mib_per_min(half), 3),
        "problems": tally.examples,
        "worker_errors": result["errors"],
    }


def start_load_envoy(name: str, upstream: harness.Upstream, policy: dict[str, Any] = POLICY, workers: int = 2,
                     extra_args: tuple[str, ...] = ()) -> harness.Envoy:
    """Envoy with `workers` workers and the filter inline (routes as envoy_harness.bootstrap:
    /direct... is a direct_response, /ws... goes to `upstream`)."""
    wasm = harness.build_wasm()
    boot = harness.bootstrap_with_filter(harness.wasm_filter(wasm, json.dumps(policy)), upstream.port)
    return harness.start_bootstrap(boot, name, concurrency=workers, config=json.dumps(policy), extra_args=extra_args)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Drives the filter in Envoy (2 workers) with a checked mix of preflights, allowed, "
        "disallowed, no-Origin requests and WebSocket handshakes over HTTP/1.1 and HTTP/2; samples "
        "Envoy's RSS; compares the filter's counters with the requests sent. Exits 1 on any lost or "
        "wrong answer or counter mismatch."
    )
    ap.add_argument("--duration", type=float, default=300.0, help="seconds of load (default 300)")
    ap.add_argument("--h1-workers", type=int, default=2, help="curl processes on HTTP/1.1 (default 2)")
    ap.add_argument("--h2-workers", type=int, default=2, help="curl processes on HTTP/2 (default 2)")
    ap.add_argument("--websocket-rate", type=float, default=100.0, help="WebSocket handshakes per second (default 100)")
    ap.add_argument("--rss-interval", type=float, default=5.0, help="seconds between RSS samples (default 5)")
    ap.add_argument("--max-rss-slope", type=float, default=1.0,
                    help="fail when RSS grows faster than this over the second half, MiB/min (default 1.0)")
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args(argv)

    harness.clean_artifacts()
    upstream = harness.Upstream()
    envoy = start_load_envoy("soak", upstream)
    try:
        print(f"soak: Envoy pid {envoy.proc.pid} on 127.0.0.1:{envoy.port}, 2 workers; {args.duration:.0f} s of load", flush=True)
        before = harness.cors_counters(envoy)
        with tempfile.TemporaryDirectory(prefix="cors-soak-") as tmp:
            result = run_load(envoy.port, args.duration, Path(tmp), lambda: [("policy", POLICY)],
                              h1_workers=args.h1_workers, h2_workers=args.h2_workers,
                              websocket_rate=args.websocket_rate, pid=envoy.proc.pid, rss_interval=args.rss_interval)
        want = {n: before[n] + v for n, v in result["tally"].expected_counters().items()}
        after = harness.wait_cors_counters(envoy, want, timeout=20.0)
        s = summary(result, before, after)
        s["envoy_running"] = envoy.running
    finally:
        envoy.stop()
        upstream.close()
    print(json.dumps({k: v for k, v in s.items() if k != "rss_kib"}, indent=1))
    print("rss samples (s, MiB): " + ", ".join(f"{t:.0f}:{k / 1024:.1f}" for t, k in s["rss_kib"]))
    if args.out:
        args.out.write_text(json.dumps(s, indent=1))
    ok = (s["wrong"] == 0 and s["lost"] == 0 and s["counters_equal"] and not s["worker_errors"]
          and s["rss_slope_second_half_mib_per_min"] <= args.max_rss_slope)
    print("soak: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
