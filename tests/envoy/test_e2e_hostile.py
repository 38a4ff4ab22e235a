"""Hostile Origin / Access-Control-Request-Method values: never reflected, never crash the VM.
After each one a normal request must still succeed (a VM panic makes Envoy answer 503 to every
later request)."""

from __future__ import annotations

import pytest

from envoy_harness import assert_cors, assert_no_cors, uniq

APP = "https://app.example.com"
EXACT = {"allow_origins": [APP, "https://*.example.com"], "allow_methods": ["*"], "allow_headers": ["*"]}
ANY = {"allow_origins": ["*"]}

# (headers, must_not_reflect): the contract's cases must never be reflected; the others are only
# checked for "no crash, no 5xx" (their handling is not specified).
HOSTILE_ORIGINS = [
    pytest.param([("Origin", APP), ("Origin", APP)], True, id="two-origin-lines"),
    pytest.param([("Origin", APP), ("Origin", "https://evil.example")], True, id="two-origin-lines-mixed"),
    pytest.param([("Origin", f"{APP},{APP}")], True, id="comma-list"),
    pytest.param([("Origin", f"{APP} {APP}")], False, id="space-list"),
    pytest.param([("Origin", "https://é.example.com".encode())], True, id="non-ascii-subdomain"),
    pytest.param([("Origin", "https://app.exämple.com".encode())], True, id="non-ascii-host"),
    pytest.param([("Origin", b"https://\xff\xfe.example.com")], True, id="invalid-utf8"),
    pytest.param([("Origin", b"https://app.example.com\xc3")], True, id="truncated-utf8"),
    pytest.param([("Origin", "https://" + "a" * 5000 + ".evil.test")], True, id="5000-chars"),
    pytest.param([("Origin", APP + "/" + "a" * 5000)], True, id="5000-chars-path"),
    pytest.param([("Origin", "https://" + "a." * 2000 + "example.com")], False, id="4000-labels"),
    pytest.param([("Origin", f"{APP}/path")], True, id="with-path"),
    pytest.param([("Origin", f"{APP}/")], True, id="trailing-slash"),
    pytest.param([("Origin", "https://a.example.com/path")], True, id="wildcard-with-path"),
    pytest.param([("Origin", f"{APP}?q=1")], True, id="with-query"),
    pytest.param([("Origin", f"{APP}#frag")], True, id="with-fragment"),
    pytest.param([("Origin", "https://user:pass@app.example.com")], True, id="with-userinfo"),
    pytest.param([("Origin", "https://app.example.com:99999")], True, id="bad-port"),
    pytest.param([("Origin", "https://app.example.com:")], False, id="empty-port"),
    pytest.param([("Origin", "https://.example.com")], False, id="empty-label"),
    pytest.param([("Origin", "https://*.example.com")], False, id="literal-wildcard"),
    pytest.param([("Origin", "*")], True, id="star"),
    pytest.param([("Origin", "https://")], False, id="scheme-only"),
    pytest.param([("Origin", "app.example.com")], True, id="no-scheme"),
    pytest.param([("Origin", "https://app.example.com\tx")], False, id="tab"),
    pytest.param([("Origin", "https://app%2eexample.com")], False, id="percent"),
]


def assert_still_works(envoy, upstream):
    path = uniq("/after")
    resp = envoy.request("GET", path, [("Origin", APP)])
    assert resp.status == 200, f"Envoy stopped working after a hostile request:\n{resp.describe()}"
    assert len(upstream.seen(path)) == 1
    assert resp.one("access-control-allow-origin") == APP


def not_reflected(resp):
    for k, v in resp.headers:
        if k.startswith("access-control-"):
            return False
    return True


@pytest.mark.parametrize("headers,must_not_reflect", HOSTILE_ORIGINS)
def test_hostile_origin_actual(envoys, upstream, headers, must_not_reflect):
    envoy = envoys.get(EXACT)
    path = uniq("/hostile")
    try:
        resp = envoy.request("GET", path, headers)
    except (ConnectionError, OSError):
        resp = None  # Envoy's codec may refuse the request outright: that is fine
    if resp is not None:
        assert resp.status < 500, resp.describe()
        if must_not_reflect:
            assert not_reflected(resp), resp.describe()
    assert_still_works(envoy, upstream)


@pytest.mark.parametrize("headers,must_not_reflect", HOSTILE_ORIGINS)
def test_hostile_origin_preflight(envoys, upstream, headers, must_not_reflect):
    envoy = envoys.get(EXACT)
    path = uniq("/hostile-pf")
    try:
        resp = envoy.request("OPTIONS", path, headers + [("Access-Control-Request-Method", "PUT")])
    except (ConnectionError, OSError):
        resp = None
    if resp is not None:
        assert resp.status < 500, resp.describe()
        if must_not_reflect:
            assert resp.status == 403 or resp.status == 400, resp.describe()
            assert_no_cors(resp)
    assert upstream.seen(path) == []
    assert_still_works(envoy, upstream)


@pytest.mark.parametrize(
    "acrm",
    ["GET, DELETE", "GET,DELETE", "DEL ETE", "(PUT)", "PU/T", "PUT;", "é".encode(), b"\xff"],
    ids=["comma-space", "comma", "space", "parens", "slash", "semicolon", "non-ascii", "invalid-utf8"],
)
def test_hostile_request_method_never_reflected(envoys, upstream, acrm):
    """allow_methods ["*"] names the requested method: only a real method token may be named."""
    envoy = envoys.get(EXACT)
    path = uniq("/hostile-acrm")
    try:
        resp = envoy.request("OPTIONS", path, [("Origin", APP), ("Access-Control-Request-Method", acrm)])
    except (ConnectionError, OSError):
        resp = None
    if resp is not None:
        assert resp.status in (400, 403), resp.describe()
        assert_no_cors(resp)
    assert upstream.seen(path) == []
    assert_still_works(envoy, upstream)


def test_long_request_method_no_crash(envoys, upstream):
    envoy = envoys.get(EXACT)
    path = uniq("/hostile-acrm")
    resp = envoy.request("OPTIONS", path, [("Origin", APP), ("Access-Control-Request-Method", "X" * 5000)])
    assert resp.status < 500, resp.describe()
    assert upstream.seen(path) == []
    assert_still_works(envoy, upstream)


@pytest.mark.parametrize(
    "acrh",
    ["x-a, x-b:c", "x a", "x-\x7f", "é".encode(), b"\xff\xfe", ",".join(f"x-h{i}" for i in range(500))],
    ids=["colon", "space", "del", "non-ascii", "invalid-utf8", "500-headers"],
)
def test_hostile_request_headers(envoys, upstream, acrh):
    envoy = envoys.get(EXACT)
    path = uniq("/hostile-acrh")
    try:
        resp = envoy.request(
            "OPTIONS", path, [("Origin", APP), ("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", acrh)]
        )
    except (ConnectionError, OSError):
        resp = None
    if resp is not None:
        assert resp.status < 500, resp.describe()
        for v in resp.all("access-control-allow-headers"):
            assert ":" not in v and "\x7f" not in v, resp.describe()
    assert upstream.seen(path) == []
    assert_still_works(envoy, upstream)


def test_two_origin_lines_any(envoys, upstream):
    """With origins ["*"] the reply is the literal `*` whatever was sent."""
    envoy = envoys.get(ANY)
    path = uniq("/hostile-any")
    resp = envoy.request("GET", path, [("Origin", APP), ("Origin", "https://evil.example")])
    assert resp.status == 200
    assert_cors(resp, {"access-control-allow-origin": "*"})


@pytest.mark.parametrize(
    "value",
    [b"https://\xff\xfe.example.com", "https://" + "a" * 5000 + ".example.com"],
    ids=["invalid-utf8", "5000-chars"],
)
def test_hostile_origin_any_config(envoys, upstream, value):
    envoy = envoys.get(ANY)
    path = uniq("/hostile-any")
    resp = envoy.request("GET", path, [("Origin", value)])
    assert resp.status == 200, resp.describe()
    origins = resp.all("access-control-allow-origin")
    assert origins in ([], ["*"]), resp.describe()
    path = uniq("/after")
    resp = envoy.request("GET", path, [("Origin", APP)])
    assert resp.status == 200
    assert_cors(resp, {"access-control-allow-origin": "*"})


def test_invalid_utf8_in_upstream_response_headers(envoys, upstream):
    """Response headers with non-UTF-8 bytes (Vary, expose candidates) must not panic the VM."""
    envoy = envoys.get({"allow_origins": [APP], "expose_headers": ["*"], "allow_credentials": True})
    path = uniq("/bad-response-bytes") + "?set=Vary:Accept%FF&set=X-Bin:%FF%FE&set=Access-Control-Allow-Origin:%FF"
    resp = envoy.request("GET", path, [("Origin", APP)])
    assert resp.status == 200, resp.describe()
    assert resp.one("access-control-allow-origin") == APP
    assert_still_works(envoy, upstream)
