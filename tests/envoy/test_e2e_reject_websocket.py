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
