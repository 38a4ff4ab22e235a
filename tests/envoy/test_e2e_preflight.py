"""Preflight requests: allowed replies (exact header set), denials, forwarding, methods, headers,
credentials, max-age, private network and preflight_status."""

from __future__ import annotations

import pytest

from envoy_harness import (
    PREFLIGHT_VARY,
    PREFLIGHT_VARY_ANY_ORIGIN,
    assert_cors,
    assert_no_cors,
    uniq,
)

APP = "https://app.example.com"
EVIL = "https://evil.example"
DEFAULT_HEADERS = "Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With"

DEFAULT = {"allow_origins": [APP]}
ANY = {"allow_origins": ["*"]}
METHODS = {"allow_origins": [APP], "allow_methods": ["GET", "PUT", "PATCH"]}
ONLY_PUT = {"allow_origins": [APP], "allow_methods": ["PUT"]}
ANY_METHOD = {"allow_origins": [APP], "allow_methods": ["*"]}
HEADERS = {"allow_origins": [APP], "allow_headers": ["X-Custom", "Authorization"]}
ANY_HEADER = {"allow_origins": [APP], "allow_headers": ["*"]}
FULL = {
    "allow_origins": [APP],
    "allow_methods": ["GET", "DELETE"],
    "allow_headers": ["X-Custom"],
    "allow_credentials": True,
    "max_age": 600,
    "expose_headers": ["X-Total-Count"],
}
MAX_AGE_STR = {"allow_origins": [APP], "max_age": "86400"}
MAX_AGE_ZERO = {"allow_origins": [APP], "max_age": 0}
PNA = {"allow_origins": [APP], "allow_private_network": True}
STATUS_200 = {"allow_origins": [APP], "preflight_status": 200}
FORWARD = {"allow_origins": [APP], "unmatched_preflight": "forward"}


def allowed(envoy, upstream, origin=APP, method="GET", request_headers=None, extra=(), status=204, path=None):
    path = path or uniq("/pf")
    resp = envoy.preflight(path, origin, method, request_headers, extra)
    assert resp.status == status, resp.describe()
    assert upstream.seen(path) == [], "an answered preflight must never reach the upstream"
    return resp


def denied(envoy, upstream, origin=APP, method="GET", request_headers=None, extra=(), vary=PREFLIGHT_VARY):
    path = uniq("/pf-denied")
    resp = envoy.preflight(path, origin, method, request_headers, extra)
    assert resp.status == 403, resp.describe()
    assert_no_cors(resp)
    assert resp.one("vary") == vary
    assert upstream.seen(path) == [], "a denied preflight must never reach the upstream"
    return resp


# ------------------------------------------------------------------------------------------------
# Exact reply


def test_allowed_preflight_default_config(envoys, upstream):
    resp = allowed(envoys.get(DEFAULT), upstream)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-methods": "GET, HEAD, POST"})
    assert resp.one("vary") == PREFLIGHT_VARY


def test_allowed_preflight_any_origin(envoys, upstream):
    resp = allowed(envoys.get(ANY), upstream, origin="https://whoever.test", method="POST")
    assert_cors(resp, {"access-control-allow-origin": "*", "access-control-allow-methods": "GET, HEAD, POST"})
    assert resp.one("vary") == PREFLIGHT_VARY_ANY_ORIGIN


def test_allowed_preflight_full_config(envoys, upstream):
    resp = allowed(envoys.get(FULL), upstream, method="DELETE", request_headers="x-custom")
    assert_cors(
        resp,
        {
            "access-control-allow-origin": APP,
            "access-control-allow-methods": "GET, DELETE",
            "access-control-allow-headers": "X-Custom",
            "access-control-max-age": "600",
            "access-control-allow-credentials": "true",
        },
    )
    assert resp.one("vary") == PREFLIGHT_VARY
    assert resp.get("access-control-expose-headers") is None


def test_preflight_body_is_empty_and_headers_once(envoys, upstream):
    """Envoy re-runs the response callback on the filter's own local reply: nothing twice."""
    resp = allowed(envoys.get(FULL), upstream, method="GET", request_headers="X-Custom")
    names = [k for k, _ in resp.headers if k.startswith("access-control-") or k == "vary"]
    assert len(names) == len(set(names)), resp.describe()
    assert resp.body == b""


def test_preflight_to_secure_route_needs_no_token(envoys, upstream):
    """jwt_authn sits after the CORS filter: the preflight is answered before it."""
    resp = allowed(envoys.get(DEFAULT), upstream, path=uniq("/secure/pf"), method="POST", request_headers="content-type")
    assert_cors(
        resp,
        {
            "access-control-allow-origin": APP,
            "access-control-allow-methods": "GET, HEAD, POST",
            "access-control-allow-headers": DEFAULT_HEADERS,
        },
    )


def test_preflight_to_direct_response_route(envoys, upstream):
    resp = allowed(envoys.get(DEFAULT), upstream, path=uniq("/direct/pf"))
    assert resp.one("access-control-allow-origin") == APP


# ------------------------------------------------------------------------------------------------
# Denials (unmatched_preflight: deny, the default)


def test_denied_preflight_disallowed_origin(envoys, upstream):
    denied(envoys.get(DEFAULT), upstream, origin=EVIL)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "GET, DELETE", "OPTIONS", "CONNECT"])
def test_denied_preflight_method_not_listed(envoys, upstream, method):
    denied(envoys.get(DEFAULT), upstream, method=method)


def test_denied_preflight_header_not_listed(envoys, upstream):
    denied(envoys.get(DEFAULT), upstream, request_headers="x-custom")


def test_denied_preflight_private_network_not_allowed(envoys, upstream):
    denied(envoys.get(DEFAULT), upstream, extra=[("Access-Control-Request-Private-Network", "true")])


def test_denied_preflight_any_origin_vary(envoys, upstream):
    denied(envoys.get(ANY), upstream, method="DELETE", vary=PREFLIGHT_VARY_ANY_ORIGIN)


# ------------------------------------------------------------------------------------------------
# unmatched_preflight: forward


def test_forwarded_unmatched_preflight_reaches_upstream_untouched(envoys, upstream):
    envoy = envoys.get(FORWARD)
    path = uniq("/pf-fwd") + "?set=Access-Control-Allow-Origin:https://upstream.example&set=Access-Control-Allow-Methods:PURGE&set=X-From:upstream"
    resp = envoy.preflight(path, EVIL, "PUT", "x-custom")
    assert resp.status == 200, resp.describe()
    seen = upstream.seen(path)
    assert len(seen) == 1, "a forwarded preflight must reach the upstream"
    assert seen[0].method == "OPTIONS"
    assert seen[0].header_values("origin") == [EVIL]
    assert seen[0].header_values("access-control-request-method") == ["PUT"]
    assert seen[0].header_values("access-control-request-headers") == ["x-custom"]
    # The upstream's answer is left untouched.
    assert_cors(resp, {"access-control-allow-origin": "https://upstream.example", "access-control-allow-methods": "PURGE"})
    assert resp.one("x-from") == "upstream"
    assert resp.all("vary") == []


def test_forwarded_unmatched_preflight_bad_method(envoys, upstream):
    envoy = envoys.get(FORWARD)
    path = uniq("/pf-fwd")
    resp = envoy.preflight(path, APP, "DELETE")
    assert resp.status == 200
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)
    assert resp.all("vary") == []


def test_forward_mode_still_answers_allowed_preflight(envoys, upstream):
    resp = allowed(envoys.get(FORWARD), upstream, method="POST")
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-methods": "GET, HEAD, POST"})


# ------------------------------------------------------------------------------------------------
# Methods


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "POST", "HEAD"])
def test_methods_list(envoys, upstream, method):
    resp = allowed(envoys.get(METHODS), upstream, method=method)
    assert resp.one("access-control-allow-methods") == "GET, PUT, PATCH"


@pytest.mark.parametrize("method", ["DELETE", "patch", "Put", "GET, PUT"])
def test_methods_list_denied(envoys, upstream, method):
    denied(envoys.get(METHODS), upstream, method=method)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST"])
def test_safelisted_methods_always_acceptable(envoys, upstream, method):
    resp = allowed(envoys.get(ONLY_PUT), upstream, method=method)
    assert resp.one("access-control-allow-methods") == "PUT"


@pytest.mark.parametrize("method", ["DELETE", "PURGE", "GET", "PATCH"])
def test_methods_star_names_requested_method(envoys, upstream, method):
    resp = allowed(envoys.get(ANY_METHOD), upstream, method=method)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-methods": method})


def test_methods_star_refuses_non_token(envoys, upstream):
    denied(envoys.get(ANY_METHOD), upstream, method="GET, DELETE")


# ------------------------------------------------------------------------------------------------
# Headers


@pytest.mark.parametrize(
    "acrh",
    ["content-type", "Content-Type", "accept, accept-language", "X-Requested-With,content-language"],
)
def test_default_headers_allowed(envoys, upstream, acrh):
    resp = allowed(envoys.get(DEFAULT), upstream, request_headers=acrh)
    assert resp.one("access-control-allow-headers") == DEFAULT_HEADERS


@pytest.mark.parametrize("acrh", ["authorization", "x-custom", "content-type, x-custom"])
def test_default_headers_denied(envoys, upstream, acrh):
    denied(envoys.get(DEFAULT), upstream, request_headers=acrh)


def test_no_request_headers_no_allow_headers(envoys, upstream):
    resp = allowed(envoys.get(HEADERS), upstream)
    assert resp.get("access-control-allow-headers") is None


@pytest.mark.parametrize(
    "acrh",
    ["x-custom", "X-CUSTOM", "authorization", "Authorization, x-custom", "x-custom,,authorization,", " x-custom ,  authorization ", "X-Custom, x-custom, X-CUSTOM"],
)
def test_headers_list(envoys, upstream, acrh):
    resp = allowed(envoys.get(HEADERS), upstream, request_headers=acrh)
    assert_cors(
        resp,
        {
            "access-control-allow-origin": APP,
            "access-control-allow-methods": "GET, HEAD, POST",
            "access-control-allow-headers": "X-Custom, Authorization",
        },
    )


def test_headers_list_over_two_lines(envoys, upstream):
    envoy = envoys.get(HEADERS)
    path = uniq("/pf")
    resp = envoy.request(
        "OPTIONS",
        path,
        [
            ("Origin", APP),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "x-custom"),
            ("Access-Control-Request-Headers", "authorization"),
        ],
    )
    assert resp.status == 204, resp.describe()
    assert resp.one("access-control-allow-headers") == "X-Custom, Authorization"
    assert upstream.seen(path) == []


@pytest.mark.parametrize("acrh", ["x-other", "x-custom, x-other", "content-type"])
def test_headers_list_denied(envoys, upstream, acrh):
    denied(envoys.get(HEADERS), upstream, request_headers=acrh)


@pytest.mark.parametrize(
    "acrh,expected",
    [
        ("X-Custom", "x-custom"),
        ("Authorization", "authorization"),
        ("X-B, x-a, X-B, Authorization", "x-b, x-a, authorization"),
        ("  X-One  ,x-two  ", "x-one, x-two"),
        (",x-one,, x-two,", "x-one, x-two"),
        ("Content-Type,X-Custom,content-type", "content-type, x-custom"),
    ],
)
def test_headers_star_mirrors_request(envoys, upstream, acrh, expected):
    resp = allowed(envoys.get(ANY_HEADER), upstream, request_headers=acrh)
    assert_cors(
        resp,
        {
            "access-control-allow-origin": APP,
            "access-control-allow-methods": "GET, HEAD, POST",
            "access-control-allow-headers": expected,
        },
    )


def test_headers_star_over_two_lines(envoys, upstream):
    envoy = envoys.get(ANY_HEADER)
    path = uniq("/pf")
    resp = envoy.request(
        "OPTIONS",
        path,
        [
            ("Origin", APP),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "X-One, Authorization"),
            ("Access-Control-Request-Headers", "x-two, x-one"),
        ],
    )
    assert resp.status == 204, resp.describe()
    assert resp.one("access-control-allow-headers") == "x-one, authorization, x-two"
    assert upstream.seen(path) == []


def test_headers_star_without_request_headers(envoys, upstream):
    resp = allowed(envoys.get(ANY_HEADER), upstream)
    assert resp.get("access-control-allow-headers") is None


# ------------------------------------------------------------------------------------------------
# Credentials, max-age, private network, status


def test_credentials_on_preflight(envoys, upstream):
    resp = allowed(envoys.get(FULL), upstream, method="GET")
    assert resp.one("access-control-allow-credentials") == "true"
    assert resp.one("access-control-allow-origin") == APP


def test_no_credentials_by_default(envoys, upstream):
    resp = allowed(envoys.get(DEFAULT), upstream)
    assert resp.get("access-control-allow-credentials") is None


@pytest.mark.parametrize("config,expected", [(FULL, "600"), (MAX_AGE_STR, "86400"), (MAX_AGE_ZERO, "0"), (DEFAULT, None)])
def test_max_age(envoys, upstream, config, expected):
    resp = allowed(envoys.get(config), upstream, method="GET")
    assert resp.get("access-control-max-age") == expected


def test_max_age_not_on_actual_response(envoys, upstream):
    resp = envoys.get(FULL).request("GET", uniq("/act"), [("Origin", APP)])
    assert resp.status == 200
    assert resp.get("access-control-max-age") is None


def test_private_network_allowed(envoys, upstream):
    resp = allowed(envoys.get(PNA), upstream, extra=[("Access-Control-Request-Private-Network", "true")])
    assert_cors(
        resp,
        {
            "access-control-allow-origin": APP,
            "access-control-allow-methods": "GET, HEAD, POST",
            "access-control-allow-private-network": "true",
        },
    )
    assert resp.one("vary") == PREFLIGHT_VARY


def test_private_network_not_requested(envoys, upstream):
    resp = allowed(envoys.get(PNA), upstream)
    assert resp.get("access-control-allow-private-network") is None


def test_private_network_from_disallowed_origin(envoys, upstream):
    denied(envoys.get(PNA), upstream, origin=EVIL, extra=[("Access-Control-Request-Private-Network", "true")])


def test_preflight_status_200(envoys, upstream):
    resp = allowed(envoys.get(STATUS_200), upstream, status=200)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-methods": "GET, HEAD, POST"})
    denied(envoys.get(STATUS_200), upstream, origin=EVIL)


# ------------------------------------------------------------------------------------------------
# Plain OPTIONS is not a preflight


def test_options_without_request_method_goes_upstream(envoys, upstream):
    envoy = envoys.get(DEFAULT)
    path = uniq("/plain-options")
    resp = envoy.request("OPTIONS", path, [("Origin", APP)])
    assert resp.status == 200, resp.describe()
    seen = upstream.seen(path)
    assert len(seen) == 1 and seen[0].method == "OPTIONS"
    assert seen[0].header_values("origin") == [APP]
    # It is an actual request from an allowed origin.
    assert_cors(resp, {"access-control-allow-origin": APP})


def test_options_without_origin_goes_upstream(envoys, upstream):
    envoy = envoys.get(DEFAULT)
    path = uniq("/plain-options")
    resp = envoy.request("OPTIONS", path, [("Access-Control-Request-Method", "PUT")])
    assert resp.status == 200, resp.describe()
    seen = upstream.seen(path)
    assert len(seen) == 1 and seen[0].method == "OPTIONS"
    assert seen[0].header_values("access-control-request-method") == ["PUT"]
    assert_no_cors(resp)


def test_options_bare_goes_upstream(envoys, upstream):
    envoy = envoys.get(DEFAULT)
    path = uniq("/plain-options")
    resp = envoy.request("OPTIONS", path)
    assert resp.status == 200
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)
