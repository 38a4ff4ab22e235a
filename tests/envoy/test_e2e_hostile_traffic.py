"""Hostile traffic in a real Envoy, over HTTP/1.1 and HTTP/2: one table, exact answers.

Every row sends one request over a fresh connection and asserts its status, every
`Access-Control-*` header (absent ones too), the `Vary` line, and whether the upstream saw it;
then a normal request must still be served, on the same connection when Envoy kept it open, on
a new one when Envoy closed it (its codec refuses some requests before any filter runs).

HTTP/2 goes out through the `h2` package with header validation off, so the bytes, case and
repetitions are exactly the row's. Where HTTP/1.1 and HTTP/2 differ, Envoy's codecs differ:
HTTP/1.1 trims spaces and tabs around a header value (RFC 9110), HTTP/2 hands them over as
sent; HTTP/1.1 answers 400 to a method that is not upper case or not one Envoy knows, HTTP/2
passes it on; Envoy joins repeated request header lines with `,` in both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

import envoy_harness as harness
from envoy_harness import PREFLIGHT_VARY, ConnectionGone, H1Connection, H2Connection, HarnessError, uniq

APP = "https://app.example.com"
V6 = "http://[::1]:8080"

# Exact origins, a subdomain wildcard, an IPv6 literal; explicit lists; credentials.
MAIN = {
    "allow_origins": [APP, "https://*.example.org", V6],
    "allow_methods": ["GET", "POST", "PUT"],
    "allow_headers": ["Content-Type", "Authorization"],
    "expose_headers": ["X-Request-Id"],
    "allow_credentials": True,
    "max_age": 600,
}
# `null` listed, methods and headers mirrored, no credentials.
MIRROR = {"allow_origins": [APP, "null"], "allow_methods": ["*"], "allow_headers": ["*"]}
# `*` exposed with credentials: the response's own header names are listed.
EXPOSE = {"allow_origins": [APP], "expose_headers": ["*"], "allow_credentials": True}

POLICIES = {"main": MAIN, "mirror": MIRROR, "expose": EXPOSE}


@dataclass(frozen=True)
class Answer:
    """What a row must get. status None: no answer at all (connection or stream closed)."""

    status: int | None
    cors: tuple[tuple[str, str], ...] = ()
    vary: str | None = None
    upstream: bool = False  # the upstream saw the request
    closes: bool = False  # Envoy closes the connection after it


def main_grant(origin: str) -> tuple[tuple[str, str], ...]:
    return (
        ("access-control-allow-origin", origin),
        ("access-control-allow-credentials", "true"),
        ("access-control-expose-headers", "X-Request-Id"),
    )


def main_preflight(origin: str) -> tuple[tuple[str, str], ...]:
    return (
        ("access-control-allow-origin", origin),
        ("access-control-allow-credentials", "true"),
        ("access-control-allow-methods", "GET, POST, PUT"),
        ("access-control-allow-headers", "Content-Type, Authorization"),
        ("access-control-max-age", "600"),
    )


ACTUAL_DENIED = Answer(200, (), "Origin", upstream=True)
PREFLIGHT_DENIED = Answer(403, (), PREFLIGHT_VARY)
ENVOY_400 = Answer(400, (), None, closes=True)  # Envoy's HTTP/1.1 codec, before any filter


def actual_allowed(origin: str) -> Answer:
    return Answer(200, main_grant(origin), "Origin", upstream=True)


def preflight_allowed(origin: str) -> Answer:
    return Answer(204, main_preflight(origin), PREFLIGHT_VARY)


@dataclass(frozen=True)
class Row:
    id: str
    method: str | bytes
    headers: tuple[tuple[str, Any], ...]
    h1: Answer
    h2: Answer
    policy: str = "main"
    query: str = ""
    websocket: bool = False  # Upgrade on HTTP/1.1, extended CONNECT on HTTP/2


ROWS: list[Row] = []


def origin_rows(rid: str, origin: Any, allowed: bool, h2_allowed: bool | None = None, reflected: str | None = None) -> None:
    """An actual GET and a preflight (PUT with Content-Type) from `origin`. `h2_allowed` when
    HTTP/2 differs; `reflected`: the value an allowed one gets (the origin by default)."""
    h2_allowed = allowed if h2_allowed is None else h2_allowed
    echo = reflected if reflected is not None else origin
    ROWS.append(Row(f"{rid}-actual", "GET", (("Origin", origin),),
                    actual_allowed(echo) if allowed else ACTUAL_DENIED,
                    actual_allowed(echo) if h2_allowed else ACTUAL_DENIED))
    pf = (("Origin", origin), ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "content-type"))
    ROWS.append(Row(f"{rid}-preflight", "OPTIONS", pf,
                    preflight_allowed(echo) if allowed else PREFLIGHT_DENIED,
                    preflight_allowed(echo) if h2_allowed else PREFLIGHT_DENIED))


# -- Origins that try to slip past matching. Only the controls are allowed. --
origin_rows("control-exact", APP, True)
origin_rows("control-wildcard", "https://a.example.org", True)
origin_rows("control-wildcard-deep", "https://a.b.c.example.org", True)
origin_rows("control-ipv6", V6, True)
# Look-alike and appended hosts.
origin_rows("appended-label", "https://app.example.com.evil.net", False)
origin_rows("appended-text", "https://app.example.comevil.net", False)
origin_rows("prepended-text", "https://evilapp.example.com", False)
origin_rows("hyphen-lookalike", "https://app-example.com", False)
origin_rows("digit-lookalike", "https://app.examp1e.com", False)
origin_rows("wildcard-bare-domain", "https://example.org", False)
origin_rows("wildcard-lookalike", "https://evilexample.org", False)
origin_rows("wildcard-hyphen-lookalike", "https://evil-example.org", False)
origin_rows("wildcard-appended", "https://a.example.org.evil.net", False)
origin_rows("wildcard-scheme", "http://a.example.org", False)
origin_rows("wildcard-port", "https://a.example.org:8443", False)
# Case and default-port forms: a browser never sends them.
origin_rows("upper-case", "HTTPS://APP.EXAMPLE.COM", False)
origin_rows("mixed-case-host", "https://App.example.com", False)
origin_rows("upper-case-wildcard", "https://A.example.org", False)
origin_rows("default-port", "https://app.example.com:443", False)
origin_rows("zero-padded-port", "https://app.example.com:0443", False)
origin_rows("wildcard-default-port", "https://a.example.org:443", False)
# Userinfo, backslashes.
origin_rows("userinfo", "https://user@app.example.com", False)
origin_rows("userinfo-password", "https://user:pass@app.example.com", False)
origin_rows("userinfo-trick", "https://app.example.com@evil.net", False)
origin_rows("backslash-at", "https://app.example.com\\@evil.net", False)
origin_rows("backslash-scheme", "https:\\\\app.example.com", False)
origin_rows("backslash-path", "https://evil.net\\.app.example.com", False)
# Whitespace. HTTP/1.1 trims it around the value (Envoy's codec), HTTP/2 does not.
origin_rows("leading-space", " " + APP, True, h2_allowed=False, reflected=APP)
origin_rows("trailing-space", APP + " ", True, h2_allowed=False, reflected=APP)
origin_rows("trailing-tab", APP + "\t", True, h2_allowed=False, reflected=APP)
origin_rows("inner-space", "https://app .example.com", False)
origin_rows("inner-tab", "https://app.example.com\tx", False)
origin_rows("space-list", f"{APP} {APP}", False)
origin_rows("comma-list", f"{APP},{APP}", False)
# Percent-encoding.
origin_rows("percent-dot", "https://app%2Eexample.com", False)
origin_rows("percent-letter", "https://%61pp.example.com", False)
origin_rows("percent-slash", "https://app.example.com%2F", False)
# Punycode and Unicode. A punycode label is plain ASCII: under the wildcard it is a subdomain.
origin_rows("punycode-lookalike", "https://xn--pp-7ka.example.com", False)
origin_rows("punycode-under-wildcard", "https://xn--80ak6aa92e.example.org", True)
origin_rows("cyrillic-a", "https://аpp.example.com".encode(), False)
origin_rows("fullwidth-dot", "https://app．example.com".encode(), False)
origin_rows("unicode-under-wildcard", "https://é.example.org".encode(), False)
# Trailing dots, paths.
origin_rows("trailing-dot", "https://app.example.com.", False)
origin_rows("wildcard-trailing-dot", "https://a.example.org.", False)
origin_rows("trailing-slash", APP + "/", False)
origin_rows("path", APP + "/app", False)
origin_rows("query", APP + "?x=1", False)
origin_rows("fragment", APP + "#x", False)
# IPv6 literals: only the serialized form of the listed one.
origin_rows("ipv6-long-form", "http://[0:0:0:0:0:0:0:1]:8080", False)
origin_rows("ipv6-other-port", "http://[::1]", False)
origin_rows("ipv6-mapped", "http://[::ffff:127.0.0.1]:8080", False)
origin_rows("ipv6-upper", "http://[::1]:8080".upper(), False)
origin_rows("ipv6-unbracketed", "http://::1:8080", False)
# null, wildcard-like values.
origin_rows("null-not-listed", "null", False)
origin_rows("null-upper", "NULL", False)
origin_rows("star", "*", False)
origin_rows("scheme-only", "https://", False)
origin_rows("no-scheme", "app.example.com", False)
# Very long origins: at most 1,024 bytes are ever allowed.
LONG_1024 = "https://" + "a" * (1024 - len("https://.example.org")) + ".example.org"
origin_rows("1024-bytes-under-wildcard", LONG_1024, True)
origin_rows("1025-bytes-under-wildcard", "https://a" + LONG_1024[len("https://"):], False)
origin_rows("8000-bytes", "https://" + "a" * 8000 + ".example.org", False)
# Invalid UTF-8 in Origin.
origin_rows("origin-invalid-utf8", b"https://\xff\xfe.example.org", False)
origin_rows("origin-truncated-utf8", b"https://app.example.com\xc3", False)
# DEL is not a field-vchar: both of Envoy's codecs refuse it before any filter (HTTP/2 closes
# the connection).
ROWS.append(Row("origin-del-actual", "GET", (("Origin", APP + "\x7f"),), ENVOY_400, Answer(None)))
ROWS.append(Row("origin-del-preflight", "OPTIONS", (("Origin", APP + "\x7f"), ("Access-Control-Request-Method", "PUT")),
                ENVOY_400, Answer(None)))

# Longer than Envoy's request headers limit (60 KiB): Envoy answers before any filter.
ROWS.append(Row("70000-bytes-actual", "GET", (("Origin", "https://" + "a" * 70000 + ".example.org"),),
                Answer(431, (), None, closes=True), Answer(None)))

# -- Repeated Origin fields: Envoy joins them with `,`, never a browser's origin. --
ROWS.append(Row("two-origin-fields-same", "GET", (("Origin", APP), ("Origin", APP)), ACTUAL_DENIED, ACTUAL_DENIED))
ROWS.append(Row("two-origin-fields-evil-first", "GET", (("Origin", "https://evil.net"), ("Origin", APP)), ACTUAL_DENIED, ACTUAL_DENIED))
ROWS.append(Row("two-origin-fields-preflight", "OPTIONS",
                (("Origin", APP), ("Origin", APP), ("Access-Control-Request-Method", "PUT")), PREFLIGHT_DENIED, PREFLIGHT_DENIED))
ROWS.append(Row("empty-origin", "GET", (("Origin", ""),), ACTUAL_DENIED, ACTUAL_DENIED))
ROWS.append(Row("empty-origin-options", "OPTIONS", (("Origin", ""), ("Access-Control-Request-Method", "PUT")),
                Answer(200, (), "Origin", upstream=True), Answer(200, (), "Origin", upstream=True)))

# -- Methods. --
PF = (("Origin", APP),)
ROWS.append(Row("lower-case-options", "options", PF + (("Access-Control-Request-Method", "PUT"),),
                ENVOY_400, actual_allowed(APP)))
ROWS.append(Row("unknown-method", "FOO", PF, ENVOY_400, actual_allowed(APP)))
ROWS.append(Row("options-without-request-method", "OPTIONS", PF, actual_allowed(APP), actual_allowed(APP)))
for rid, acrm in [
    ("request-method-lower-case", "put"),
    ("request-method-lower-case-safelisted", "get"),
    ("request-method-not-listed", "PATCH"),
    ("request-method-list", "GET, PUT"),
    ("request-method-empty", ""),
    ("request-method-parens", "(PUT)"),
    ("request-method-5000-bytes", "X" * 5000),
    ("request-method-invalid-utf8", b"P\xffT"),
    ("request-method-non-ascii", "PUТ".encode()),
]:
    ROWS.append(Row(rid, "OPTIONS", PF + (("Access-Control-Request-Method", acrm),), PREFLIGHT_DENIED, PREFLIGHT_DENIED))
ROWS.append(Row("request-method-safelisted", "OPTIONS", PF + (("Access-Control-Request-Method", "POST"),),
                Answer(204, tuple(x for x in main_preflight(APP) if x[0] != "access-control-allow-headers"), PREFLIGHT_VARY),
                Answer(204, tuple(x for x in main_preflight(APP) if x[0] != "access-control-allow-headers"), PREFLIGHT_VARY)))
ROWS.append(Row("two-request-method-fields", "OPTIONS",
                PF + (("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Method", "PUT")),
                PREFLIGHT_DENIED, PREFLIGHT_DENIED))


# -- Requested headers: hundreds of names, many lines, odd lists. --
def acrh_row(rid: str, policy: str, lines: list[Any], answer: Answer) -> None:
    hdrs = PF + (("Access-Control-Request-Method", "PUT"),) + tuple(("Access-Control-Request-Headers", v) for v in lines)
    ROWS.append(Row(rid, "OPTIONS", hdrs, answer, answer, policy=policy))


def mirror_preflight(names: list[str]) -> Answer:
    return Answer(204, (
        ("access-control-allow-origin", APP),
        ("access-control-allow-methods", "PUT"),
        ("access-control-allow-headers", ", ".join(names)),
    ), PREFLIGHT_VARY)


NAMES = [f"x-h{i}" for i in range(500)]
acrh_row("64-header-names", "mirror", [",".join(NAMES[:64])], mirror_preflight(NAMES[:64]))
acrh_row("65-header-names", "mirror", [",".join(NAMES[:65])], PREFLIGHT_DENIED)
acrh_row("500-header-names", "mirror", [",".join(NAMES)], PREFLIGHT_DENIED)
acrh_row("64-names-over-64-lines", "mirror", NAMES[:64], mirror_preflight(NAMES[:64]))
acrh_row("200-names-over-200-lines", "mirror", NAMES[:200], PREFLIGHT_DENIED)
acrh_row("mixed-case-duplicates", "mirror", ["X-A, x-a,X-B", "x-b"], mirror_preflight(["x-a", "x-b"]))
acrh_row("listed-names-over-20-lines", "main", ["content-type"] * 10 + ["authorization"] * 10, preflight_allowed(APP))
acrh_row("listed-names-over-2-lines", "main", ["content-type", "Authorization"], preflight_allowed(APP))
acrh_row("spaces-and-empty-elements", "main", [" content-type , ,authorization ,"], preflight_allowed(APP))
acrh_row("header-not-listed", "main", ["content-type, x-secret"], PREFLIGHT_DENIED)
acrh_row("name-with-colon", "mirror", ["x-a, x-b:c"], PREFLIGHT_DENIED)
acrh_row("name-with-space", "mirror", ["x a"], PREFLIGHT_DENIED)
ROWS.append(Row("name-with-del", "OPTIONS", PF + (("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", "x-\x7f")),
                ENVOY_400, Answer(None), policy="mirror"))
acrh_row("names-invalid-utf8", "mirror", [b"x-a, x-\xff\xfe"], PREFLIGHT_DENIED)
acrh_row("names-non-ascii", "mirror", ["x-é".encode()], PREFLIGHT_DENIED)

# -- Private network and the null origin. --
ROWS.append(Row("private-network-invalid-utf8", "OPTIONS",
                PF + (("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Private-Network", b"tr\xffe")),
                Answer(204, tuple(x for x in main_preflight(APP) if x[0] != "access-control-allow-headers"), PREFLIGHT_VARY),
                Answer(204, tuple(x for x in main_preflight(APP) if x[0] != "access-control-allow-headers"), PREFLIGHT_VARY)))
ROWS.append(Row("private-network-not-allowed", "OPTIONS",
                PF + (("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Private-Network", "true")),
                PREFLIGHT_DENIED, PREFLIGHT_DENIED))
NULL_GRANT = Answer(200, (("access-control-allow-origin", "null"),), "Origin", upstream=True)
ROWS.append(Row("null-listed", "GET", (("Origin", "null"),), NULL_GRANT, NULL_GRANT, policy="mirror"))
ROWS.append(Row("null-listed-upper", "GET", (("Origin", "NULL"),), ACTUAL_DENIED, ACTUAL_DENIED, policy="mirror"))

# -- WebSocket handshakes: HTTP/1.1 Upgrade, HTTP/2 extended CONNECT (RFC 8441). --
WS_OK_H1 = Answer(101, (), None, upstream=True, closes=True)
WS_OK_H2 = Answer(200, (), None, upstream=True)
WS_REFUSED = Answer(403, (), "Origin")
ROWS.append(Row("websocket-allowed", "GET", (("Origin", APP),), WS_OK_H1, WS_OK_H2, websocket=True))
# Without Origin a handshake follows the no-Origin rule like any other request: `Vary: Origin`
# is set without reading the response (harmless on a 101).
ROWS.append(Row("websocket-no-origin", "GET", (), Answer(101, (), "Origin", upstream=True, closes=True),
                Answer(200, (), "Origin", upstream=True), websocket=True))
ROWS.append(Row("websocket-evil", "GET", (("Origin", "https://evil.net"),),
                Answer(403, (), "Origin", closes=True), WS_REFUSED, websocket=True))
ROWS.append(Row("websocket-lookalike", "GET", (("Origin", "https://app.example.com.evil.net"),),
                Answer(403, (), "Origin", closes=True), WS_REFUSED, websocket=True))
ROWS.append(Row("websocket-origin-invalid-utf8", "GET", (("Origin", b"https://\xff.example.org"),),
                Answer(403, (), "Origin", closes=True), WS_REFUSED, websocket=True))
# An Upgrade value Envoy has no upgrade_config for: Envoy refuses it (HTTP/1.1) before any filter;
# HTTP/2 forbids the Upgrade field, and Envoy closes the connection.
ROWS.append(Row("upgrade-invalid-utf8", "GET", (("Origin", "https://evil.net"), ("Connection", "Upgrade"), ("Upgrade", b"websock\xff")),
                Answer(403, (), None, closes=True), Answer(None)))

# -- Invalid UTF-8 in the other headers the filter reads. --
ROWS.append(Row("host-invalid-utf8", "GET", (("Origin", APP), ("Host", b"app.\xff.example")), ENVOY_400, Answer(None)))
ROWS.append(Row("method-invalid-utf8", b"GE\xffT", PF, ENVOY_400, Answer(None)))
# Response headers with invalid UTF-8 (Vary, a stale Access-Control-Allow-Origin, another header):
# the upstream's Access-Control-* are replaced; a Vary token that is not visible ASCII (not a
# header name) is dropped, never copied, and Origin is added.
ROWS.append(Row("response-headers-invalid-utf8", "GET", (("Origin", APP),),
                Answer(200, (("access-control-allow-origin", APP), ("access-control-allow-credentials", "true"),
                             ("access-control-expose-headers", "server, date, content-type, content-length, vary, x-bin, x-envoy-upstream-service-time")),
                       "Origin", upstream=True),
                Answer(200, (("access-control-allow-origin", APP), ("access-control-allow-credentials", "true"),
                             ("access-control-expose-headers", "server, date, content-type, content-length, vary, x-bin, x-envoy-upstream-service-time")),
                       "Origin", upstream=True),
                policy="expose", query="?set=Vary:Accept%FF&set=X-Bin:%FF%FE&set=Access-Control-Allow-Origin:%FF"))


@pytest.fixture(scope="module")
def envoys(wasm, envoy_bin, upstream) -> Iterator[dict[str, harness.Envoy]]:
    started: dict[str, harness.Envoy] = {}
    try:
        for name, policy in POLICIES.items():
            boot = harness.bootstrap_with_filter(harness.wasm_filter(wasm, json.dumps(policy)), upstream.port)
            try:
                started[name] = harness.start_bootstrap(boot, f"hostile-traffic-{name}", config=json.dumps(policy))
            except HarnessError as e:
                pytest.fail(str(e), pytrace=False)
        yield started
    finally:
        for e in started.values():
            e.stop()


def _h1_text(value: str) -> str:
    """How http.client shows a response header value (latin-1 decoded bytes)."""
    return value.encode("utf-8").decode("latin-1")


def send(conn: H1Connection | H2Connection, row: Row, path: str) -> harness.Response:
    hdrs = list(row.headers)
    if isinstance(conn, H2Connection):
        authority = None
        for n, v in hdrs:
            if n.lower() == "host":
                authority = v
        hdrs = [(n, v) for n, v in hdrs if n.lower() != "host"]
        if row.websocket:
            return conn.request("CONNECT", path, hdrs + [("Sec-WebSocket-Version", "13")], protocol="websocket", authority=authority)
        return conn.request(row.method, path, hdrs, authority=authority)
    if row.websocket:
        hdrs += [("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
                 ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
    return conn.request(row.method, path, hdrs)


@pytest.mark.parametrize("proto", ["h1", "h2"])
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_hostile_traffic(envoys, upstream, row: Row, proto: str):
    envoy = envoys[row.policy]
    want = row.h1 if proto == "h1" else row.h2
    path = uniq(f"/ws-{row.id}" if row.websocket else f"/hostile-{row.id}")
    conn: H1Connection | H2Connection = H1Connection(envoy.port) if proto == "h1" else H2Connection(envoy.port)
    try:
        try:
            resp = send(conn, row, path + row.query)
        except ConnectionGone as e:
            assert want.status is None, f"{proto} {row.id}: expected {want.status}, got no answer: {e}"
            resp = None
        if resp is not None:
            assert want.status is not None, f"{proto} {row.id}: expected no answer, got\n{resp.describe()}"
            assert resp.status == want.status, resp.describe()
            cors = sorted((k, v) for k, v in resp.headers if k.startswith("access-control-"))
            want_cors = sorted(want.cors)
            if proto == "h1":
                want_cors = sorted((k, _h1_text(v)) for k, v in want.cors)
            assert cors == want_cors, f"access-control-* headers\n  expected {want_cors}\n  got      {cors}\n{resp.describe()}"
            want_vary = [] if want.vary is None else [want.vary if proto == "h2" else _h1_text(want.vary)]
            assert resp.all("vary") == want_vary, resp.describe()
            assert (len(upstream.seen(path)) == 1) == want.upstream, f"upstream saw {len(upstream.seen(path))} requests\n{resp.describe()}"
            assert conn.open != want.closes, f"connection {'open' if conn.open else 'closed'} after\n{resp.describe()}"
        else:
            assert upstream.seen(path) == []

        # The next normal request is served: on the same connection when it is still open.
        if not conn.open:
            conn.close()
            conn = H1Connection(envoy.port) if proto == "h1" else H2Connection(envoy.port)
        after = uniq("/after")
        nxt = conn.request("GET", after, [("Origin", APP)])
        assert nxt.status == 200, f"Envoy stopped serving after {row.id}:\n{nxt.describe()}"
        assert nxt.all("access-control-allow-origin") == [APP], nxt.describe()
        assert len(upstream.seen(after)) == 1
    finally:
        conn.close()


def test_the_filter_never_failed(envoys):
    """After the whole table: no VM failure in any Envoy's log, and every VM still alive."""
    for name, envoy in envoys.items():
        assert envoy.running, name
        log = envoy.log()
        assert "failed: Uncaught" not in log and "panicked" not in log, f"{name}: {harness.tail(log, 20)}"
