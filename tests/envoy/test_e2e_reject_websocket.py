"""disallowed_origin: reject (with the same-origin exemption) and the websocket Origin check."""

from __future__ import annotations

import pytest

from envoy_harness import assert_cors, assert_no_cors, uniq

APP = "https://app.example.com"
EVIL = "https://evil.example"

REJECT = {"allow_origins": [APP], "disallowed_origin": "reject"}
OMIT = {"allow_origins": [APP], "disallowed_origin": "omit"}
DEFAULT = {"allow_origins": [APP]}
WS_OFF = {"allow_origins": [APP], "websocket_origin_check": False}
WS_ON = {"allow_origins": [APP], "websocket_origin_check": True}

WS_HEADERS = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


# ------------------------------------------------------------------------------------------------
# disallowed_origin


@pytest.mark.parametrize("origin", [EVIL, "null", "https://app.example.com.evil.net", "HTTPS://APP.EXAMPLE.COM"])
def test_reject_disallowed_origin(envoys, upstream, origin):
    envoy = envoys.get(REJECT)
    path = uniq("/reject")
    resp = envoy.request("GET", path, [("Origin", origin)])
    assert resp.status == 403, resp.describe()
    assert_no_cors(resp)
    assert upstream.seen(path) == [], "a rejected request must never reach the upstream"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_reject_other_methods(envoys, upstream, method):
    envoy = envoys.get(REJECT)
    path = uniq("/reject")
    resp = envoy.request(method, path, [("Origin", EVIL)], body=b"x=1")
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == []


def test_reject_allows_allowed_origin(envoys, upstream):
    envoy = envoys.get(REJECT)
    path = uniq("/reject-ok")
    resp = envoy.request("GET", path, [("Origin", APP)])
    assert resp.status == 200
    assert len(upstream.seen(path)) == 1
    assert_cors(resp, {"access-control-allow-origin": APP})


def test_reject_allows_no_origin(envoys, upstream):
    envoy = envoys.get(REJECT)
    path = uniq("/reject-no-origin")
    resp = envoy.request("GET", path)
    assert resp.status == 200
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)


def test_reject_denies_preflight_too(envoys, upstream):
    envoy = envoys.get(REJECT)
    path = uniq("/reject-pf")
    resp = envoy.preflight(path, EVIL, "GET")
    assert resp.status == 403
    assert_no_cors(resp)
    assert upstream.seen(path) == []


def test_same_origin_exempt_listener_host(envoys, upstream):
    """Origin == scheme://Host (http over the plain-text listener): never rejected."""
    envoy = envoys.get(REJECT)
    path = uniq("/same-origin")
    resp = envoy.request("POST", path, [("Origin", f"http://127.0.0.1:{envoy.port}")], body=b"{}")
    assert resp.status == 200, resp.describe()
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)


@pytest.mark.parametrize("host,origin", [("app.local", "http://app.local"), ("app.local:8080", "http://app.local:8080")])
def test_same_origin_exempt_named_host(envoys, upstream, host, origin):
    envoy = envoys.get(REJECT)
    path = uniq("/same-origin")
    resp = envoy.request("GET", path, [("Origin", origin)], host=host)
    assert resp.status == 200, resp.describe()
    assert len(upstream.seen(path)) == 1


@pytest.mark.parametrize(
    "host,origin",
    [
        ("app.local", "https://app.local"),  # the listener is plain http
        ("app.local", "http://app.local:8080"),
        ("app.local:8080", "http://app.local"),
        ("app.local", "http://evil.local"),
        ("app.local", "http://app.local.evil.net"),
    ],
)
def test_not_same_origin_rejected(envoys, upstream, host, origin):
    envoy = envoys.get(REJECT)
    path = uniq("/not-same-origin")
    resp = envoy.request("GET", path, [("Origin", origin)], host=host)
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == []


def test_same_origin_with_origin_null_is_exempt_by_sec_fetch_site(envoys, upstream):
    """A no-referrer page (or one after a redirect) sends `Origin: null` on its own same-origin
    POST; the browser's `Sec-Fetch-Site: same-origin` says what it is."""
    envoy = envoys.get(REJECT)
    path = uniq("/same-origin-null")
    resp = envoy.request("POST", path, [("Origin", "null"), ("Sec-Fetch-Site", "same-origin")], body=b"{}")
    assert resp.status == 200, resp.describe()
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)
    # The same request from another site is refused.
    resp = envoy.request("POST", path, [("Origin", "null"), ("Sec-Fetch-Site", "cross-site")], body=b"{}")
    assert resp.status == 403, resp.describe()


@pytest.mark.parametrize(
    "origin,forwarded_proto,status",
    [
        ("https://app.local", "https", 200),  # TLS ended at a proxy in front: same origin
        ("http://app.local", "https", 403),  # the plain-http twin is another origin
        ("https://app.local", None, 403),  # without the header the listener's scheme (http) counts
    ],
)
def test_same_origin_behind_a_tls_terminating_proxy(envoys, upstream, origin, forwarded_proto, status):
    envoy = envoys.get(REJECT)
    path = uniq("/xfp")
    headers = [("Origin", origin)]
    if forwarded_proto:
        headers.append(("X-Forwarded-Proto", forwarded_proto))
    resp = envoy.request("GET", path, headers, host="app.local")
    assert resp.status == status, resp.describe()


@pytest.mark.parametrize("config", [OMIT, DEFAULT], ids=["omit", "default"])
def test_omit_forwards_disallowed_origin(envoys, upstream, config):
    envoy = envoys.get(config)
    path = uniq("/omit")
    resp = envoy.request("GET", path, [("Origin", EVIL)])
    assert resp.status == 200
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)


# ------------------------------------------------------------------------------------------------
# websocket_origin_check


def ws(envoy, origin=None, upgrade="websocket", host=None):
    path = uniq("/ws")
    headers = list(WS_HEADERS)
    headers[0] = ("Upgrade", upgrade)
    if origin is not None:
        headers.append(("Origin", origin))
    return path, envoy.request("GET", path, headers, host=host)


@pytest.mark.parametrize("config", [DEFAULT, WS_ON], ids=["default", "on"])
@pytest.mark.parametrize("origin", [EVIL, "null", "https://app.example.com:443"])
def test_websocket_disallowed_origin_rejected(envoys, upstream, config, origin):
    path, resp = ws(envoys.get(config), origin)
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == [], "a rejected websocket upgrade must never reach the upstream"
    assert_no_cors(resp)


def test_websocket_upgrade_token_case_insensitive(envoys, upstream):
    """RFC 9110: upgrade protocol names are case-insensitive; `WebSocket` must not bypass the check."""
    path, resp = ws(envoys.get(DEFAULT), EVIL, upgrade="WebSocket")
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == []


def test_websocket_in_an_upgrade_token_list_is_checked(envoys, upstream):
    path, resp = ws(envoys.get(DEFAULT), EVIL, upgrade="foo, websocket")
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == []


def test_websocket_check_comes_before_the_preflight_rules(envoys, upstream):
    """An OPTIONS shaped like a preflight but carrying `Upgrade: websocket` from a disallowed
    origin is refused even when denied preflights are forwarded."""
    envoy = envoys.get({"allow_origins": [APP], "unmatched_preflight": "forward"})
    path = uniq("/ws-preflight")
    headers = [("Origin", EVIL), ("Access-Control-Request-Method", "GET")] + WS_HEADERS
    resp = envoy.request("OPTIONS", path, headers)
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == []


def test_websocket_allowed_origin(envoys, upstream):
    path, resp = ws(envoys.get(DEFAULT), APP)
    assert resp.status == 101, resp.describe()
    assert len(upstream.seen(path)) == 1


def test_websocket_same_origin(envoys, upstream):
    envoy = envoys.get(DEFAULT)
    path, resp = ws(envoy, f"http://127.0.0.1:{envoy.port}")
    assert resp.status == 101, resp.describe()
    assert len(upstream.seen(path)) == 1


def test_websocket_same_origin_named_host(envoys, upstream):
    path, resp = ws(envoys.get(DEFAULT), "http://chat.local", host="chat.local")
    assert resp.status == 101, resp.describe()
    assert len(upstream.seen(path)) == 1


def test_websocket_without_origin(envoys, upstream):
    path, resp = ws(envoys.get(DEFAULT))
    assert resp.status == 101, resp.describe()
    assert len(upstream.seen(path)) == 1


def test_websocket_check_off(envoys, upstream):
    path, resp = ws(envoys.get(WS_OFF), EVIL)
    assert resp.status == 101, resp.describe()
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)
