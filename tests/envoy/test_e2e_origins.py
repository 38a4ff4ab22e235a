"""Which Origins are allowed: exact origins (normalised in the configuration, compared as sent),
`null`, `*`, subdomain wildcards, StringMatcher objects and regexes."""

from __future__ import annotations

import pytest

from envoy_harness import (
    PREFLIGHT_VARY,
    assert_cors,
    assert_no_cors,
    assert_vary_has_origin,
    uniq,
)

EXACT = {
    "allow_origins": [
        "https://app.example.com",
        "HTTPS://Admin.Example.COM:443/",  # normalised to https://admin.example.com
        "http://plain.example.com:80",  # normalised to http://plain.example.com
        "http://localhost:8080",
        "https://ported.example.com:8443",
    ]
}

NULL = {"allow_origins": ["https://app.example.com", "null"]}
ANY = {"allow_origins": ["*"]}
WILDCARD = {"allow_origins": ["https://*.example.com", "http://*.ported.test:8080"]}
MATCHERS = {
    "allow_origins": [
        {"exact": "https://exact.example"},
        {"exact": "https://ExactCase.example", "ignore_case": True},
        {"prefix": "https://pre-"},
        {"suffix": ".suffix.example"},
        {"contains": "contains-me"},
        {"prefix": "HTTPS://IC-", "ignore_case": True},
        {"safe_regex": {"regex": "https://re[0-9]+\\.example"}},
        {"regex": "https://short[a-z]\\.example"},
    ]
}


def actual(envoy, upstream, origin):
    """GET from `origin` to the upstream; asserts it reached the upstream and returns the response."""
    path = uniq("/origin")
    resp = envoy.request("GET", path, [("Origin", origin)])
    assert resp.status == 200, resp.describe()
    assert len(upstream.seen(path)) == 1, "the actual request must reach the upstream"
    return resp


def assert_allowed(envoy, upstream, origin, reflected=None):
    resp = actual(envoy, upstream, origin)
    assert_cors(resp, {"access-control-allow-origin": reflected if reflected is not None else origin})
    assert_vary_has_origin(resp)
    # And the preflight from it is answered locally.
    path = uniq("/origin-pf")
    pf = envoy.preflight(path, origin, "GET")
    assert pf.status == 204, pf.describe()
    assert pf.one("access-control-allow-origin") == (reflected if reflected is not None else origin)
    assert upstream.seen(path) == []


def assert_disallowed(envoy, upstream, origin):
    resp = actual(envoy, upstream, origin)
    assert_no_cors(resp)
    assert_vary_has_origin(resp)
    path = uniq("/origin-pf")
    pf = envoy.preflight(path, origin, "GET")
    assert pf.status == 403, pf.describe()
    assert_no_cors(pf)
    assert pf.one("vary") == PREFLIGHT_VARY
    assert upstream.seen(path) == []


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com",
        "https://admin.example.com",
        "http://plain.example.com",
        "http://localhost:8080",
        "https://ported.example.com:8443",
    ],
)
def test_exact_origin_allowed(envoys, upstream, origin):
    assert_allowed(envoys.get(EXACT), upstream, origin)


@pytest.mark.parametrize(
    "origin",
    [
        # compared as sent: case, explicit default port and trailing slash all differ
        "HTTPS://APP.EXAMPLE.COM",
        "https://App.example.com",
        "https://app.example.com:443",
        "https://app.example.com/",
        "https://admin.example.com:443",
        "http://plain.example.com:80",
        # other scheme / port / host
        "http://app.example.com",
        "https://app.example.com:8443",
        "http://localhost",
        "http://localhost:8081",
        "https://ported.example.com",
        "https://app.example.com.evil.net",
        "https://evil-app.example.com",
        "https://sub.app.example.com",
        "null",
        "https://evil.example",
    ],
)
def test_exact_origin_disallowed(envoys, upstream, origin):
    assert_disallowed(envoys.get(EXACT), upstream, origin)


def test_null_origin_allowed_when_listed(envoys, upstream):
    assert_allowed(envoys.get(NULL), upstream, "null")


@pytest.mark.parametrize("origin", ["Null", "NULL", "nul", "nulll"])
def test_null_literal_only(envoys, upstream, origin):
    envoy = envoys.get(NULL)
    path = uniq("/null")
    resp = envoy.request("GET", path, [("Origin", origin)])
    assert resp.status == 200
    assert_no_cors(resp)
    assert_vary_has_origin(resp)


@pytest.mark.parametrize("origin", ["https://anything.test", "null", "http://localhost:1234"])
def test_any_origin_replies_star(envoys, upstream, origin):
    envoy = envoys.get(ANY)
    resp = actual(envoy, upstream, origin)
    assert_cors(resp, {"access-control-allow-origin": "*"})
    path = uniq("/any-pf")
    pf = envoy.preflight(path, origin, "POST")
    assert pf.status == 204
    assert pf.one("access-control-allow-origin") == "*"
    assert upstream.seen(path) == []


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example.com",
        "https://deep.sub.example.com",
        "https://x-y.a.b.c.example.com",
        "http://api.ported.test:8080",
        "http://a.b.ported.test:8080",
    ],
)
def test_wildcard_subdomain_allowed(envoys, upstream, origin):
    assert_allowed(envoys.get(WILDCARD), upstream, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://example.com",  # the apex is not a subdomain
        "https://evil-example.com",
        "https://evilexample.com",
        "https://example.com.evil.net",
        "https://a.example.com.evil.net",
        "https://a.example.com:8443",  # other port
        "http://a.example.com",  # other scheme
        "https://a.example.co",
        "https://a.example.community",
        "http://ported.test:8080",
        "http://api.ported.test",
        "http://api.ported.test:8081",
        "https://api.ported.test:8080",
    ],
)
def test_wildcard_subdomain_bypass_attempts_disallowed(envoys, upstream, origin):
    assert_disallowed(envoys.get(WILDCARD), upstream, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "https://exact.example",
        "https://exactcase.example",
        "HTTPS://EXACTCASE.EXAMPLE",
        "https://pre-anything.net",
        "https://x.suffix.example",
        "http://acontains-meb.test",
        "https://ic-foo.test",
        "HTTPS://IC-FOO.TEST",
        "https://re42.example",
        "https://re0.example",
        "https://shortq.example",
    ],
)
def test_string_matchers_allowed(envoys, upstream, origin):
    assert_allowed(envoys.get(MATCHERS), upstream, origin)


@pytest.mark.parametrize(
    "origin",
    [
        "HTTPS://EXACT.EXAMPLE",  # exact is case-sensitive without ignore_case
        "https://exact.example.com",
        "http://pre-x.test",
        "https://x.suffix.example.evil",
        "https://contains-m.test",
        "https://re42.example.evil",  # regexes must match the whole origin
        "xhttps://re42.example",
        "https://rex.example",
        "https://shortqq.example",
        "https://short.example",
    ],
)
def test_string_matchers_disallowed(envoys, upstream, origin):
    assert_disallowed(envoys.get(MATCHERS), upstream, origin)
