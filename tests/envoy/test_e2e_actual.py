"""Actual (non-preflight) requests: headers added on every kind of response (upstream, jwt_authn 401,
no-route 404, unreachable 503, direct_response), the upstream's own CORS headers, credentials,
expose headers, requests without Origin, and Vary merging."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from envoy_harness import (
    NO_ROUTE_HOST,
    assert_cors,
    request_sequence,
    assert_no_cors,
    assert_vary_has_origin,
    assert_vary_without_origin,
    uniq,
    vary_tokens,
)

APP = "https://app.example.com"
EVIL = "https://evil.example"

DEFAULT = {"allow_origins": [APP]}
ANY = {"allow_origins": ["*"]}
CRED = {"allow_origins": [APP], "allow_credentials": True}
EXPOSE = {"allow_origins": [APP], "expose_headers": ["X-Total-Count", "X-Request-Id"]}
EXPOSE_STAR = {"allow_origins": [APP], "expose_headers": ["*"]}
EXPOSE_STAR_CRED = {"allow_origins": [APP], "expose_headers": ["*"], "allow_credentials": True}

# The upstream answers with a full set of its own (wrong) CORS headers.
UPSTREAM_CORS = (
    "?set=Access-Control-Allow-Origin:*"
    "&set=Access-Control-Allow-Origin:https://wrong.example"
    "&set=Access-Control-Allow-Credentials:true"
    "&set=Access-Control-Expose-Headers:X-Secret"
    "&set=Access-Control-Allow-Methods:PURGE"
    "&set=Access-Control-Max-Age:5"
    "&set=X-Other:kept"
)


def get(envoy, upstream, path_prefix="/act", origin=None, query="", method="GET", host=None, expect_status=200, reaches_upstream=True):
    path = uniq(path_prefix) + query
    headers = [] if origin is None else [("Origin", origin)]
    resp = envoy.request(method, path, headers, host=host)
    assert resp.status == expect_status, resp.describe()
    assert len(upstream.seen(path)) == (1 if reaches_upstream else 0)
    if reaches_upstream:
        # the request itself goes upstream untouched
        assert upstream.seen(path)[0].header_values("origin") == ([] if origin is None else [origin])
    return resp


# ------------------------------------------------------------------------------------------------
# Allowed / disallowed origin on upstream responses


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "HEAD"])
def test_allowed_origin_actual_request(envoys, upstream, method):
    resp = get(envoys.get(DEFAULT), upstream, origin=APP, method=method)
    assert_cors(resp, {"access-control-allow-origin": APP})
    assert_vary_has_origin(resp)


def test_disallowed_origin_forwarded_without_cors(envoys, upstream):
    resp = get(envoys.get(DEFAULT), upstream, origin=EVIL)
    assert_no_cors(resp)
    assert_vary_has_origin(resp)


@pytest.mark.parametrize("status", [201, 204, 302, 400, 404, 500, 503])
def test_allowed_origin_any_upstream_status(envoys, upstream, status):
    query = f"?status={status}" + ("&set=Location:/elsewhere" if status == 302 else "")
    resp = get(envoys.get(CRED), upstream, origin=APP, query=query, expect_status=status)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})
    assert_vary_has_origin(resp)


def test_upstream_cors_headers_replaced(envoys, upstream):
    resp = get(envoys.get(DEFAULT), upstream, origin=APP, query=UPSTREAM_CORS)
    assert_cors(resp, {"access-control-allow-origin": APP})
    assert resp.one("x-other") == "kept"


def test_upstream_cors_headers_replaced_with_credentials(envoys, upstream):
    resp = get(envoys.get(CRED), upstream, origin=APP, query=UPSTREAM_CORS)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})


def test_upstream_cors_headers_removed_for_disallowed_origin(envoys, upstream):
    resp = get(envoys.get(CRED), upstream, origin=EVIL, query=UPSTREAM_CORS)
    assert_no_cors(resp)
    assert resp.one("x-other") == "kept"
    assert_vary_has_origin(resp)


@pytest.mark.parametrize("vary", [None, "Accept-Encoding"], ids=["no-vary", "vary"])
def test_upstream_cors_headers_left_alone_without_origin(envoys, upstream, vary):
    # Without Origin only the Vary rule applies: no browser reads these headers here, and
    # `Vary: Origin` keeps a cache from serving them to a request that has an Origin.
    query = UPSTREAM_CORS + (f"&set=Vary:{vary}" if vary else "")
    resp = get(envoys.get(CRED), upstream, query=query)
    got = resp.cors()
    # Envoy joins the upstream's two lines into one on the way.
    got["access-control-allow-origin"] = [",".join(got.get("access-control-allow-origin", []))]
    assert got == {
        "access-control-allow-origin": ["*,https://wrong.example"],
        "access-control-allow-credentials": ["true"],
        "access-control-expose-headers": ["X-Secret"],
        "access-control-allow-methods": ["PURGE"],
        "access-control-max-age": ["5"],
    }, resp.describe()
    assert_vary_has_origin(resp, [vary] if vary else [])


def test_upstream_cors_headers_replaced_with_star(envoys, upstream):
    resp = get(envoys.get(ANY), upstream, origin=APP, query=UPSTREAM_CORS)
    assert_cors(resp, {"access-control-allow-origin": "*"})


def test_upstream_same_acao_not_duplicated(envoys, upstream):
    resp = get(envoys.get(DEFAULT), upstream, origin=APP, query=f"?set=Access-Control-Allow-Origin:{APP}&set=Vary:Origin")
    assert_cors(resp, {"access-control-allow-origin": APP})
    assert resp.one("vary") == "Origin"


# ------------------------------------------------------------------------------------------------
# Credentials and expose headers


def test_credentials_actual(envoys, upstream):
    resp = get(envoys.get(CRED), upstream, origin=APP)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})


def test_credentials_not_for_disallowed(envoys, upstream):
    assert_no_cors(get(envoys.get(CRED), upstream, origin=EVIL))


def test_expose_headers_list(envoys, upstream):
    resp = get(envoys.get(EXPOSE), upstream, origin=APP, query="?set=X-Total-Count:3")
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-expose-headers": "X-Total-Count, X-Request-Id"})


def test_expose_headers_not_for_disallowed(envoys, upstream):
    assert_no_cors(get(envoys.get(EXPOSE), upstream, origin=EVIL))


def test_expose_headers_not_on_preflight(envoys, upstream):
    path = uniq("/pf")
    resp = envoys.get(EXPOSE).preflight(path, APP, "GET")
    assert resp.status == 204
    assert resp.get("access-control-expose-headers") is None


def test_expose_star_without_credentials(envoys, upstream):
    resp = get(envoys.get(EXPOSE_STAR), upstream, origin=APP, query="?set=X-Total-Count:3")
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-expose-headers": "*"})


def test_expose_star_with_credentials_lists_response_headers(envoys, upstream):
    query = (
        "?set=X-Total-Count:3&set=X-Trace:abc&set=Set-Cookie:a=b"
        "&set=Access-Control-Allow-Origin:*&set=Access-Control-Expose-Headers:X-Secret"
    )
    resp = get(envoys.get(EXPOSE_STAR_CRED), upstream, origin=APP, query=query)
    cors = resp.cors()
    assert set(cors) == {
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-expose-headers",
    }, resp.describe()
    assert cors["access-control-allow-origin"] == [APP]
    assert cors["access-control-allow-credentials"] == ["true"]
    assert len(cors["access-control-expose-headers"]) == 1, resp.describe()
    exposed = [n.strip().lower() for n in cors["access-control-expose-headers"][0].split(",")]
    assert "x-total-count" in exposed and "x-trace" in exposed and "content-type" in exposed, exposed
    assert "set-cookie" not in exposed, exposed
    assert not any(n.startswith("access-control-") for n in exposed), exposed
    assert not any(n.startswith(":") for n in exposed), exposed
    assert len(exposed) == len(set(exposed)), exposed
    assert "*" not in exposed


# ------------------------------------------------------------------------------------------------
# Local replies: jwt_authn 401, Envoy's 404 / 503, direct_response


LOCAL_REPLIES = [
    pytest.param("/secure", None, 401, id="jwt_authn-401"),
    pytest.param("/anything", NO_ROUTE_HOST, 404, id="no-route-404"),
    pytest.param("/down", None, 503, id="unreachable-503"),
    pytest.param("/direct", None, 200, id="direct_response-200"),
]


@pytest.mark.parametrize("prefix,host,status", LOCAL_REPLIES)
def test_local_reply_allowed_origin(envoys, upstream, prefix, host, status):
    resp = get(envoys.get(CRED), upstream, prefix, origin=APP, host=host, expect_status=status, reaches_upstream=False)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})
    assert_vary_has_origin(resp)
    if prefix == "/direct":
        assert resp.body == b"direct"
    if status == 401:
        assert resp.get("www-authenticate") is not None


@pytest.mark.parametrize("prefix,host,status", LOCAL_REPLIES)
def test_local_reply_expose_headers(envoys, upstream, prefix, host, status):
    resp = get(envoys.get(EXPOSE), upstream, prefix, origin=APP, host=host, expect_status=status, reaches_upstream=False)
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-expose-headers": "X-Total-Count, X-Request-Id"})


@pytest.mark.parametrize("prefix,host,status", LOCAL_REPLIES)
def test_local_reply_disallowed_origin(envoys, upstream, prefix, host, status):
    resp = get(envoys.get(CRED), upstream, prefix, origin=EVIL, host=host, expect_status=status, reaches_upstream=False)
    assert_no_cors(resp)
    assert_vary_has_origin(resp)


@pytest.mark.parametrize("prefix,host,status", LOCAL_REPLIES)
def test_local_reply_any_origin(envoys, upstream, prefix, host, status):
    resp = get(envoys.get(ANY), upstream, prefix, origin="https://whoever.test", host=host, expect_status=status, reaches_upstream=False)
    assert_cors(resp, {"access-control-allow-origin": "*"})


def test_expose_star_with_credentials_on_local_reply(envoys, upstream):
    resp = get(envoys.get(EXPOSE_STAR_CRED), upstream, "/secure", origin=APP, expect_status=401, reaches_upstream=False)
    assert resp.one("access-control-allow-origin") == APP
    assert resp.one("access-control-allow-credentials") == "true"
    exposed = [n.strip().lower() for n in resp.one("access-control-expose-headers").split(",")]
    assert "www-authenticate" in exposed, exposed
    assert not any(n.startswith((":", "access-control-")) or n == "set-cookie" for n in exposed), exposed


def test_jwt_401_with_bad_token(envoys, upstream):
    envoy = envoys.get(CRED)
    path = uniq("/secure/bad-token")
    resp = envoy.request("GET", path, [("Origin", APP), ("Authorization", "Bearer not.a.jwt")])
    assert resp.status == 401, resp.describe()
    assert_cors(resp, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})
    assert upstream.seen(path) == []


# ------------------------------------------------------------------------------------------------
# No Origin


@pytest.mark.parametrize("origin_headers", [[], [("Origin", "")]], ids=["absent", "empty"])
def test_no_origin(envoys, upstream, origin_headers):
    path = uniq("/no-origin") + "?set=Vary:Accept-Encoding"
    resp = envoys.get(CRED).request("GET", path, origin_headers)
    assert resp.status == 200
    assert len(upstream.seen(path)) == 1
    assert_no_cors(resp)
    assert_vary_has_origin(resp, ["Accept-Encoding"])


@pytest.mark.parametrize("origin_headers", [[], [("Origin", "")]], ids=["absent", "empty"])
def test_no_origin_any(envoys, upstream, origin_headers):
    path = uniq("/no-origin") + "?set=Vary:Accept-Encoding&set=Access-Control-Allow-Origin:https://wrong.example"
    resp = envoys.get(ANY).request("GET", path, origin_headers)
    assert resp.status == 200
    assert_cors(resp, {"access-control-allow-origin": "*"})
    assert_vary_without_origin(resp, ["Accept-Encoding"])


ANY_EXPOSE = {"allow_origins": ["*"], "expose_headers": ["X-Request-Id"]}


@pytest.mark.parametrize(
    "origin_headers",
    [[], [("Origin", "https://anyone.example")], [("Origin", "null")], [("Origin", "https://x"), ("Sec-Fetch-Site", "same-origin")]],
    ids=["absent", "cross-origin", "null", "same-origin"],
)
def test_star_policy_answer_does_not_depend_on_origin(envoys, upstream, origin_headers):
    """Under `*` without credentials every response carries the same CORS headers and no
    `Vary: Origin`, so a shared cache can hand a copy made for one request to a fetch()."""
    path = uniq("/star") + "?set=Vary:Accept-Encoding&set=Access-Control-Expose-Headers:X-Secret"
    resp = envoys.get(ANY_EXPOSE).request("GET", path, origin_headers)
    assert resp.status == 200
    assert_cors(resp, {"access-control-allow-origin": "*", "access-control-expose-headers": "X-Request-Id"})
    assert_vary_without_origin(resp, ["Accept-Encoding"])


@pytest.mark.parametrize("prefix,host,status", LOCAL_REPLIES)
def test_no_origin_local_reply(envoys, upstream, prefix, host, status):
    resp = get(envoys.get(CRED), upstream, prefix, host=host, expect_status=status, reaches_upstream=False)
    assert_no_cors(resp)
    assert_vary_has_origin(resp)


# ------------------------------------------------------------------------------------------------
# Vary merging


@pytest.mark.parametrize(
    "upstream_vary,expected_tokens",
    [
        ([], []),
        (["Accept-Encoding"], ["Accept-Encoding"]),
        (["Origin"], []),
        (["origin"], []),
        (["Accept-Encoding, Origin"], ["Accept-Encoding"]),
        (["Origin, Accept-Encoding"], ["Accept-Encoding"]),
        (["Accept-Encoding", "Accept-Language"], ["Accept-Encoding", "Accept-Language"]),
        (["Accept-Encoding,Accept-Language"], ["Accept-Encoding", "Accept-Language"]),
    ],
    ids=["none", "one", "origin", "origin-lower", "with-origin-last", "with-origin-first", "two-lines", "no-space"],
)
@pytest.mark.parametrize("origin", [APP, EVIL, None], ids=["allowed", "disallowed", "no-origin"])
def test_vary_merge(envoys, upstream, upstream_vary, expected_tokens, origin):
    query = "?" + "&".join("set=" + quote(f"Vary:{v}") for v in upstream_vary) if upstream_vary else ""
    resp = get(envoys.get(DEFAULT), upstream, origin=origin, query=query)
    assert_vary_has_origin(resp, expected_tokens)


@pytest.mark.parametrize("origin", [APP, EVIL, None], ids=["allowed", "disallowed", "no-origin"])
def test_vary_star_left_alone(envoys, upstream, origin):
    resp = get(envoys.get(DEFAULT), upstream, origin=origin, query="?set=Vary:*")
    assert resp.all("vary") == ["*"], resp.describe()


def test_vary_single_origin_exact(envoys, upstream):
    resp = get(envoys.get(DEFAULT), upstream, origin=APP)
    assert resp.all("vary") == ["Origin"]
    resp = get(envoys.get(DEFAULT), upstream, origin=APP, query="?set=Vary:Accept-Encoding")
    assert resp.all("vary") == ["Accept-Encoding, Origin"] or vary_tokens(resp) == ["Origin", "Accept-Encoding"], resp.describe()


# ------------------------------------------------------------------------------------------------
# One connection, many streams: no state may leak from one request to the next


def test_keep_alive_sequence_no_state_leak(envoys, upstream):
    envoy = envoys.get(CRED)
    p = [uniq("/ka") for _ in range(7)]
    responses = request_sequence(
        envoy.port,
        [
            ("OPTIONS", p[0], [("Origin", APP), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "content-type")]),
            ("GET", p[1], [("Origin", EVIL)]),
            ("GET", p[2], []),
            ("GET", p[3] + "?set=Vary:Accept-Encoding", [("Origin", APP)]),
            ("OPTIONS", p[4], [("Origin", EVIL), ("Access-Control-Request-Method", "POST")]),
            ("GET", p[5], [("Origin", APP)]),
            ("GET", "/direct" + p[6], [("Origin", EVIL)]),
        ],
    )
    pf, evil, none, app, evil_pf, app2, direct_evil = responses
    assert pf.status == 204 and pf.one("access-control-allow-origin") == APP
    assert pf.one("access-control-allow-headers") == "Accept, Accept-Language, Content-Language, Content-Type, X-Requested-With"
    assert evil.status == 200
    assert_no_cors(evil)
    assert_vary_has_origin(evil)
    assert none.status == 200
    assert_no_cors(none)
    assert app.status == 200
    assert_cors(app, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})
    assert_vary_has_origin(app, ["Accept-Encoding"])
    assert evil_pf.status == 403
    assert_no_cors(evil_pf)
    assert app2.status == 200
    assert_cors(app2, {"access-control-allow-origin": APP, "access-control-allow-credentials": "true"})
    assert_vary_has_origin(app2)
    assert direct_evil.status == 200
    assert_no_cors(direct_evil)
    assert [len(upstream.seen(x)) for x in p] == [0, 1, 1, 1, 0, 1, 0]
