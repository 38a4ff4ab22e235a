#!/usr/bin/env python3
"""Smoke test of the demo deployment (envoy.yaml): the demo's key requests over raw HTTP/1.1,
checking the exact CORS headers. Standard library only, so it runs in a bare python image.

    python3 tests/smoke.py                                   # Envoy from envoy.yaml on this machine
    python3 tests/smoke.py --web http://envoy:3000 --api http://envoy:8080 --api-star http://envoy:8082 \
        --api-dry http://envoy:8083
    SMOKE_WEB=... SMOKE_API=... SMOKE_API_STAR=... SMOKE_API_DRY=... python3 tests/smoke.py

--origin is the origin the policy allows (the demo page's), --other-origin one it does not; they
are only sent as Origin headers, so they need not resolve. The second API host (the policy's
entry "partner") is reached on --api with the Host header --partner-host, so it need not resolve
either. Prints one line per check and exits 1 if any check fails (2 if Envoy cannot be reached
within --wait seconds).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import sys
import time
import urllib.parse
from dataclasses import dataclass

ALLOW_METHODS = "GET, POST, PUT, DELETE"
ALLOW_HEADERS = "Content-Type, Authorization"
EXPOSE = "X-Request-Id, X-Api-Version, X-Cookie-Seen, WWW-Authenticate, X-RateLimit-Limit, X-RateLimit-Remaining, X-Cors-Decision"
EXPOSE_STAR = "X-Request-Id, X-Api-Version"
EXPOSE_PARTNER = "X-Request-Id, X-Cors-Decision"
DECISION = "x-cors-decision"
ANY = object()  # expect(): the decision header is not checked
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
TIMEOUT = 5.0


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # lower-cased names, every line in order
    body: bytes

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    def cors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for k, v in self.headers:
            if k.startswith("access-control-"):
                out.setdefault(k, []).append(v)
        return out

    def show(self) -> str:
        return f"{self.status} " + "; ".join(f"{k}: {v}" for k, v in self.headers)


def send(base: str, method: str, path: str, headers: list[tuple[str, str]] = (), body: bytes | None = None,
         host_header: str | None = None) -> Response:
    """One request on a fresh connection with exactly these header lines (plus Host, Connection).
    The Host header is the URL's, or host_header."""
    u = urllib.parse.urlsplit(base)
    host, port = u.hostname, u.port or 80
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host_header or u.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
    with socket.create_connection((host, port), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        sock.sendall(raw)
        resp = http.client.HTTPResponse(sock, method=method)
        resp.begin()
        hdrs = [(k.lower(), v) for k, v in resp.getheaders()]
        data = b"" if resp.status == 101 else resp.read()
        resp.close()
    return Response(resp.status, hdrs, data)


class Checker:
    def __init__(self) -> None:
        self.failed: list[str] = []
        self.count = 0

    def check(self, name: str, fn) -> None:
        """fn() returns None when fine, or a description of what is wrong."""
        self.count += 1
        try:
            problem = fn()
        except Exception as e:  # noqa: BLE001 - a smoke test reports, never crashes
            problem = f"{type(e).__name__}: {e}"
        if problem:
            self.failed.append(name)
            print(f"FAIL {name}\n     {problem}", flush=True)
        else:
            print(f"ok   {name}", flush=True)


def expect(resp: Response, status: int, cors: dict[str, str] | None, vary: str | None = None, extra=None,
           decision=ANY) -> str | None:
    """status, the exact set of access-control-* headers (each once), the Vary line and the
    x-cors-decision header (a value, or None for none)."""
    problems = []
    if decision is not ANY:
        want_decision = [] if decision is None else [decision]
        if resp.all(DECISION) != want_decision:
            problems.append(f"{DECISION} {resp.all(DECISION)}, expected {want_decision}")
    if resp.status != status:
        problems.append(f"status {resp.status}, expected {status}")
    if cors is not None:
        want = {k.lower(): [v] for k, v in cors.items()}
        got = resp.cors()
        if got != want:
            problems.append(f"access-control-* headers {got}, expected {want}")
    if vary is not None and resp.all("vary") != [vary]:
        problems.append(f"vary {resp.all('vary')}, expected [{vary!r}]")
    if extra:
        p = extra(resp)
        if p:
            problems.append(p)
    return ("; ".join(problems) + f"\n     got: {resp.show()}") if problems else None


def wait_for(urls: list[str], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    pending = list(urls)
    while pending:
        try:
            send(pending[0], "GET", "/")
            pending.pop(0)
            continue
        except OSError:
            pass
        if time.monotonic() > deadline:
            print(f"cannot reach {pending[0]} after {seconds:.0f} s", file=sys.stderr)
            return False
        time.sleep(0.5)
    return True


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--web", default=env("SMOKE_WEB", "http://localhost:3000"), help="the demo page listener")
    ap.add_argument("--api", default=env("SMOKE_API", "http://localhost:8080"), help="the API listener (explicit allow_headers)")
    ap.add_argument("--api-star", default=env("SMOKE_API_STAR", "http://localhost:8082"), help="the API listener with allow_headers [\"*\"]")
    ap.add_argument("--api-dry", default=env("SMOKE_API_DRY", "http://localhost:8083"), help="the API listener in dry run")
    ap.add_argument("--partner-host", default=env("SMOKE_PARTNER_HOST", "127.0.0.1"),
                    help="the host name of --api that the policy's entry \"partner\" matches (sent as Host)")
    ap.add_argument("--origin", default=env("SMOKE_ORIGIN", "http://localhost:3000"), help="the origin the policy allows")
    ap.add_argument("--other-origin", default=env("SMOKE_OTHER_ORIGIN", "http://127.0.0.1:3000"), help="an origin it does not allow")
    ap.add_argument("--wait", type=float, default=float(env("SMOKE_WAIT", "30")), help="seconds to wait for Envoy to listen")
    a = ap.parse_args(argv)

    print(f"smoke: web={a.web} api={a.api} api-star={a.api_star} api-dry={a.api_dry} partner-host={a.partner_host} "
          f"origin={a.origin} other-origin={a.other_origin}", flush=True)
    if not wait_for([a.web, a.api, a.api_star, a.api_dry], a.wait):
        return 2
    partner = f"{a.partner_host}:{urllib.parse.urlsplit(a.api).port or 80}"

    O, X = a.origin, a.other_origin
    full = {"access-control-allow-origin": O, "access-control-allow-credentials": "true", "access-control-expose-headers": EXPOSE}
    c = Checker()

    # The demo page and its configuration.
    config_js: dict[str, str] = {}

    def page() -> str | None:
        r = send(a.web, "GET", "/")
        if r.status != 200 or "text/html" not in (r.all("content-type") or [""])[0] or b"cors-proxy-wasm" not in r.body:
            return f"expected the demo page, got {r.show()}"
        r = send(a.web, "GET", "/config.js")
        m = re.search(rb'token: "([^"]+)"', r.body)
        if r.status != 200 or b"DEMO_CONFIG" not in r.body or not m:
            return f"/config.js: {r.show()}"
        config_js["token"] = m.group(1).decode()
        return None

    c.check("web: demo page and /config.js served", page)

    # Preflights.
    def preflight(base: str, origin: str, method: str, req_headers: str | None, host_header: str | None = None) -> Response:
        h = [("Origin", origin), ("Access-Control-Request-Method", method)]
        if req_headers:
            h.append(("Access-Control-Request-Headers", req_headers))
        return send(base, "OPTIONS", "/api/items/42", h, host_header=host_header)

    c.check("preflight PUT + content-type, authorization from the allowed origin: 204, full answer",
            lambda: expect(preflight(a.api, O, "PUT", "content-type,authorization"), 204, {
                "access-control-allow-origin": O, "access-control-allow-credentials": "true",
                "access-control-allow-methods": ALLOW_METHODS, "access-control-allow-headers": ALLOW_HEADERS,
                "access-control-max-age": "600"}, PREFLIGHT_VARY, decision="allowed"))
    c.check("preflight with a header not in allow_headers (x-trace-id): 403, no CORS headers, the decision says why",
            lambda: expect(preflight(a.api, O, "PUT", "x-trace-id"), 403, {}, PREFLIGHT_VARY, decision="denied; header x-trace-id"))
    c.check("preflight for PATCH (not in allow_methods): 403, no CORS headers, the decision says why",
            lambda: expect(preflight(a.api, O, "PATCH", None), 403, {}, PREFLIGHT_VARY, decision="denied; method PATCH"))
    c.check("preflight from a disallowed origin: 403, no CORS headers, the decision says why",
            lambda: expect(preflight(a.api, X, "PUT", "content-type"), 403, {}, PREFLIGHT_VARY, decision="denied; origin"))
    c.check("preflight on the allow_headers [\"*\"] listener: requested names mirrored (Authorization too), no decision header",
            lambda: expect(preflight(a.api_star, O, "PUT", "authorization,x-trace-id"), 204, {
                "access-control-allow-origin": O, "access-control-allow-credentials": "true",
                "access-control-allow-methods": ALLOW_METHODS, "access-control-allow-headers": "authorization, x-trace-id",
                "access-control-max-age": "600"}, PREFLIGHT_VARY, decision=None))

    # Actual requests.
    c.check("GET /api/hello from the allowed origin: origin reflected, credentials, expose list, Vary: Origin",
            lambda: expect(send(a.api, "GET", "/api/hello", [("Origin", O)]), 200, full, "Origin", decision="allowed"))
    c.check("GET /api/hello from a disallowed origin: no CORS headers, Vary: Origin",
            lambda: expect(send(a.api, "GET", "/api/hello", [("Origin", X)]), 200, {}, "Origin", decision="denied; origin"))
    c.check("GET on the allow_headers [\"*\"] listener: its own expose list",
            lambda: expect(send(a.api_star, "GET", "/api/hello", [("Origin", O)]), 200, {
                "access-control-allow-origin": O, "access-control-allow-credentials": "true",
                "access-control-expose-headers": EXPOSE_STAR}, "Origin", decision=None))

    c.check("GET /api/legacy: the upstream's wrong CORS headers replaced (one Allow-Origin, no X-Internal-Note)",
            lambda: expect(send(a.api, "GET", "/api/legacy", [("Origin", O)]), 200, full, "Origin", decision="allowed"))
    c.check("GET /api/legacy from a disallowed origin: the upstream's grant removed",
            lambda: expect(send(a.api, "GET", "/api/legacy", [("Origin", X)]), 200, {}, "Origin", decision="denied; origin"))

    # The second API host: the same listener, the policy's entry "partner" (GET only, no
    # credentials, its own expose list; the rest inherited).
    c.check(f"GET /api/hello for host {a.partner_host}: the partner entry's answer (no credentials, its expose list)",
            lambda: expect(send(a.api, "GET", "/api/hello", [("Origin", O)], host_header=partner), 200, {
                "access-control-allow-origin": O, "access-control-expose-headers": EXPOSE_PARTNER}, "Origin",
                decision="allowed; policy=partner"))
    c.check(f"preflight GET + content-type, authorization for host {a.partner_host}: methods its own, headers and max-age inherited",
            lambda: expect(preflight(a.api, O, "GET", "content-type,authorization", host_header=partner), 204, {
                "access-control-allow-origin": O, "access-control-allow-methods": "GET",
                "access-control-allow-headers": ALLOW_HEADERS, "access-control-max-age": "600"}, PREFLIGHT_VARY,
                decision="allowed; policy=partner"))
    c.check(f"preflight DELETE for host {a.partner_host}: 403 (the main host allows DELETE), the decision names the entry",
            lambda: expect(preflight(a.api, O, "DELETE", None, host_header=partner), 403, {}, PREFLIGHT_VARY,
                           decision="denied; method DELETE; policy=partner"))

    # Dry run: the filter decides and counts, and changes nothing.
    def legacy_untouched() -> str | None:
        r = send(a.api_dry, "GET", "/api/legacy", [("Origin", O)])
        acao = ",".join(r.all("access-control-allow-origin")).replace(" ", "")
        if acao != "*,https://legacy.example" or r.all("access-control-expose-headers") != ["X-Internal-Note"]:
            return f"the upstream's own CORS headers changed: {r.cors()}\n     got: {r.show()}"
        return expect(r, 200, None, None, lambda r: None if r.all("vary") == [] else f"vary {r.all('vary')} added", decision=None)

    c.check("GET /api/legacy on the dry-run listener: the upstream's own wrong CORS headers untouched, no Vary added",
            legacy_untouched)
    c.check("preflight on the dry-run listener: not answered by the filter, the upstream's own 200 without CORS headers",
            lambda: expect(preflight(a.api_dry, O, "PUT", "content-type"), 200, {}, None, decision=None))

    def cookie_set(r: Response) -> str | None:
        return None if any(v.startswith("demo_session=") for v in r.all("set-cookie")) else "no demo_session Set-Cookie"

    c.check("GET /api/cookie/set: Set-Cookie with Allow-Credentials",
            lambda: expect(send(a.api, "GET", "/api/cookie/set", [("Origin", O)]), 200, full, "Origin", cookie_set))
    c.check("GET /api/cookie/check: the upstream saw the cookie (X-Cookie-Seen)",
            lambda: expect(send(a.api, "GET", "/api/cookie/check", [("Origin", O), ("Cookie", "demo_session=hello-from-envoy")]),
                           200, full, "Origin",
                           lambda r: None if r.all("x-cookie-seen") == ["demo_session=hello-from-envoy"] else f"x-cookie-seen {r.all('x-cookie-seen')}"))

    # Local replies of the filters after ours.
    c.check("GET /api/secure without a token: jwt_authn's 401 carries CORS headers",
            lambda: expect(send(a.api, "GET", "/api/secure", [("Origin", O)]), 401, full, "Origin",
                           lambda r: None if r.all("www-authenticate") else "no WWW-Authenticate"))
    c.check("GET /api/secure with the demo token: 200",
            lambda: expect(send(a.api, "GET", "/api/secure", [("Origin", O), ("Authorization", f"Bearer {config_js.get('token', 'missing')}")]),
                           200, full, "Origin"))

    def rate_limited() -> str | None:
        # Two origins never seen before: each has its own bucket of 3.
        stamp = int(time.time() * 1000) % 100000
        for origin in (f"http://rl-{stamp}-a.test", f"http://rl-{stamp}-b.test"):
            statuses = []
            for _ in range(4):
                r = send(a.api, "GET", "/api/limited", [("Origin", origin)])
                statuses.append(r.status)
            if statuses != [200, 200, 200, 429]:
                return f"{origin}: expected 200 200 200 429 (3 per Origin), got {statuses}"
            # The policy allows only `--origin`: this origin's 429 gets no CORS headers...
            p = expect(r, 429, {}, "Origin", lambda r: None if r.all("x-ratelimit-limit") == ["3"] else "x-ratelimit-limit")
            if p:
                return p
        # ...while the allowed origin's 429 does (its bucket may be full or empty: send until 429).
        for _ in range(6):
            r = send(a.api, "GET", "/api/limited", [("Origin", O)])
            if r.status == 429:
                return expect(r, 429, full, "Origin")
        return "the allowed origin never got a 429"

    c.check("GET /api/limited: 3 per Origin, each its own bucket, then local_ratelimit's 429 with CORS headers", rate_limited)

    # WebSocket handshakes.
    ws = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
          ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
    c.check("WebSocket upgrade from a disallowed origin: the filter answers 403",
            lambda: expect(send(a.api, "GET", "/ws", [("Origin", X)] + ws), 403, {}, "Origin",
                           lambda r: None if r.body == b"" else f"body {r.body!r}", decision="denied; origin (websocket)"))
    c.check("WebSocket upgrade from the allowed origin: passes the check, reaches the upstream (426)",
            lambda: expect(send(a.api, "GET", "/ws", [("Origin", O)] + ws), 426, full, "Origin"))

    # The filter's counters, as the demo page reads them.
    def counters() -> str | None:
        deadline = time.monotonic() + 5
        while True:
            r = send(a.web, "GET", "/envoy-stats")
            stats = {s["name"]: s["value"] for s in json.loads(r.body).get("stats", [])}
            names = ["preflight_allowed", "preflight_denied", "preflight_denied_by.header", "preflight_denied_by.method",
                     "preflight_denied_by.origin", "actual_allowed", "actual_denied", "websocket_rejected",
                     "upstream_replaced", "dry_run_checked", "dry_run_mismatch", "policy.partner.actual_allowed",
                     "policy.partner.preflight_allowed", "policy.partner.preflight_denied_by.method"]
            low = [n for n in names if stats.get(f"wasmcustom.cors.{n}", 0) < 1]
            if not low:
                return None
            if time.monotonic() > deadline:
                return f"counters still at 0: {low} in {stats}"
            time.sleep(0.3)

    c.check("web /envoy-stats: the wasmcustom.cors.* counters moved, the partner entry's and the dry run's too", counters)

    print(f"smoke: {c.count - len(c.failed)}/{c.count} checks passed", flush=True)
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
