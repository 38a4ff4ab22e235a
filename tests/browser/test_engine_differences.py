"""How Chromium and Firefox ESR treat the policy choices where browsers may differ.

One Envoy (policy_stack.py) runs the filter with a policy per listener; an empty page on another
port is the allowed origin. Each test runs the same fetch() calls in both engines and asserts
each engine's behaviour; where they agree, the expectation is one value. Preflights are counted
in Envoy's access log, per test path.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest

import policy_stack
from engines import Browser

WEB = "{web}"
POLICIES = {
    "no_max_age": {"allow_origins": [WEB], "allow_methods": ["PUT"]},
    "max_age_0": {"allow_origins": [WEB], "allow_methods": ["PUT"], "max_age": 0},
    "max_age_max": {"allow_origins": [WEB], "allow_methods": ["PUT"], "max_age": 4294967295},
    "any_origin": {"allow_origins": ["*"]},
    "star_headers": {"allow_origins": [WEB], "allow_methods": ["PUT"], "allow_headers": ["*"], "allow_credentials": True},
    # Preflights the filter denies go to the upstream, which answers them as the test's URL says.
    "forward": {"allow_origins": [WEB], "allow_methods": ["PUT"], "allow_headers": ["Content-Type"],
                "allow_credentials": True, "unmatched_preflight": "forward"},
    "expose_star": {"allow_origins": [WEB], "expose_headers": ["*"]},
    "expose_star_credentials": {"allow_origins": [WEB], "expose_headers": ["*"], "allow_credentials": True},
}

# fetch() that never throws: {readable, status, headers} or {readable: false, error}.
PROBE = """async (url, init) => {
  try {
    const r = await fetch(url, init);
    const headers = {};
    r.headers.forEach((v, k) => { headers[k] = v; });
    return {readable: true, status: r.status, headers};
  } catch (e) {
    return {readable: false, error: `${e.name}: ${e.message}`};
  }
}"""
JSON_PUT = {"method": "PUT", "headers": {"Content-Type": "application/json"}, "body": "{}"}


@pytest.fixture(scope="module")
def policies(engine: str, artifacts: Path) -> Iterator[policy_stack.PolicyStack]:
    try:
        stack = policy_stack.start(f"browser-policies-{engine}", POLICIES)
    except policy_stack.harness.HarnessError as e:
        error = str(e)
    else:
        error = ""
    if error:
        pytest.fail(error, pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def page(browser: Browser, policies: policy_stack.PolicyStack) -> Browser:
    browser.open(policies.web + "/")
    browser.wait_for("document.readyState === 'complete'", 10)
    return browser


def fetch(page: Browser, url: str, init: dict | None = None) -> dict:
    return page.evaluate(PROBE, url, init or {})


def unique(name: str) -> str:
    return f"/{name}-{uuid.uuid4().hex[:10]}"


def reasons(page: Browser, policies: policy_stack.PolicyStack, url: str, timeout: float = 3.0) -> list[str]:
    """Why the engine refused url to the page, as its console says (Firefox's console messages
    arrive shortly after fetch() has rejected: waits up to `timeout` s for the first)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [reason for u, reason in page.refusals(policies.web) if u == url]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------------
# The preflight cache: Access-Control-Max-Age


def test_without_max_age_a_preflight_is_reused_for_5_seconds(page, policies):
    """No max_age: both engines keep a preflight 5 s (the Fetch default), so a burst of requests
    costs one OPTIONS and a request 5 s later another."""
    path = unique("no-max-age")
    url = policies.api("no_max_age") + path
    assert [fetch(page, url, JSON_PUT)["status"] for _ in range(2)] == [200, 200]
    assert policies.count("PUT", path, 2) == 2
    assert policies.count("OPTIONS", path, 2, timeout=1.0) == 1
    time.sleep(5.5)
    assert fetch(page, url, JSON_PUT)["status"] == 200
    assert policies.count("OPTIONS", path, 2) == 2


def test_max_age_0_sends_a_preflight_before_every_request(page, policies):
    path = unique("max-age-0")
    url = policies.api("max_age_0") + path
    assert [fetch(page, url, JSON_PUT)["status"] for _ in range(3)] == [200, 200, 200]
    assert policies.count("OPTIONS", path, 3) == 3


def test_a_max_age_above_both_caps_is_capped_not_refused(page, policies):
    """max_age 4294967295 (the largest the filter takes): both engines cache the preflight, each
    for its own cap (Chromium 7,200 s, Firefox 86,400 s), not too long to wait for here."""
    path = unique("max-age-max")
    url = policies.api("max_age_max") + path
    assert [fetch(page, url, JSON_PUT)["status"] for _ in range(3)] == [200, 200, 200]
    assert policies.count("PUT", path, 3) == 3
    assert policies.count("OPTIONS", path, 2, timeout=1.0) == 1


# ------------------------------------------------------------------------------------------------
# Credentials


CREDENTIALS_WITH_STAR = {
    "chromium": "The value of the 'Access-Control-Allow-Origin' header in the response must not be the wildcard '*' "
                "when the request's credentials mode is 'include'.",
    "firefox": "Credential is not supported if the CORS header ‘Access-Control-Allow-Origin’ is ‘*’",
}


def test_an_any_origin_policy_serves_requests_without_credentials_only(page, policies):
    """allow_origins ["*"] answers Access-Control-Allow-Origin: * (the filter refuses it with
    allow_credentials): both engines then withhold credentialed responses, each saying why."""
    url = policies.api("any_origin") + unique("any-origin")
    plain = fetch(page, url)
    assert plain["readable"] and plain["status"] == 200, plain
    with_credentials = fetch(page, url, {"credentials": "include"})
    assert not with_credentials["readable"], with_credentials
    assert reasons(page, policies, url) == [CREDENTIALS_WITH_STAR[page.engine]]


# ------------------------------------------------------------------------------------------------
# Access-Control-Allow-Headers and -Expose-Headers with *


def test_allow_headers_star_lets_authorization_and_custom_headers_through_with_credentials(page, policies):
    """allow_headers ["*"] with credentials: the filter names the requested headers, which both
    engines accept, Authorization included. Both ask in the same form: lower case, sorted."""
    path = unique("star-headers")
    url = policies.api("star_headers") + path
    init = {"method": "PUT", "credentials": "include", "body": "{}",
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer demo", "X-Trace-Id": "1"}}
    r = fetch(page, url, init)
    assert r["readable"] and r["status"] == 200, r
    assert policies.count("OPTIONS", path, 1) == 1
    [line] = policies.requests("OPTIONS", path)
    assert " acrh=authorization,content-type,x-trace-id " in line, line


# Whether a literal `Access-Control-Allow-Headers: *` (which this filter never sends) covers
# Authorization: the Fetch standard says never; both engines still let it, without credentials.
STAR_COVERS_AUTHORIZATION = {"chromium": True, "firefox": True}
STAR_IS_A_NAME_WITH_CREDENTIALS = {
    "chromium": "Request header field x-trace-id is not allowed by Access-Control-Allow-Headers in preflight response.",
    "firefox": "header ‘x-trace-id’ is not allowed according to header ‘Access-Control-Allow-Headers’ from CORS preflight response",
}


def test_a_literal_star_in_allow_headers_as_each_engine_reads_it(page, policies):
    """Why the filter answers allow_headers ["*"] with the requested names: a literal * (here from
    an upstream, reached through unmatched_preflight "forward") covers custom headers only without
    credentials; with credentials both engines read it as a header named "*"."""
    grant = f"?set=Access-Control-Allow-Origin:{policies.web}&set=Access-Control-Allow-Methods:PUT&set=Access-Control-Allow-Headers:*"
    base = policies.api("forward") + unique("literal-star") + grant
    custom = fetch(page, base + "&case=custom", {"method": "PUT", "headers": {"X-Trace-Id": "1"}, "body": "{}"})
    assert custom["readable"] and custom["status"] == 200, custom
    auth = fetch(page, base + "&case=auth", {"method": "PUT", "headers": {"Authorization": "Bearer demo"}, "body": "{}"})
    assert auth["readable"] is STAR_COVERS_AUTHORIZATION[page.engine], auth
    url = base + "&set=Access-Control-Allow-Credentials:true&case=credentials"
    credentialed = fetch(page, url, {"method": "PUT", "headers": {"X-Trace-Id": "1"}, "body": "{}", "credentials": "include"})
    assert not credentialed["readable"], credentialed
    assert STAR_IS_A_NAME_WITH_CREDENTIALS[page.engine] in reasons(page, policies, url)
    # Each preflight went to the upstream (the filter denied and forwarded it); the PUT of the
    # credentialed case never did.
    seen = [(r.method, r.path.rsplit("case=", 1)[1]) for r in policies.upstream.seen("literal-star")]
    assert sorted(seen) == sorted([("OPTIONS", "custom"), ("PUT", "custom"), ("OPTIONS", "auth"), ("PUT", "auth"),
                                   ("OPTIONS", "credentials")]), seen


def test_expose_headers_star_with_and_without_credentials(page, policies):
    """expose_headers ["*"]: a literal * without credentials, the response's own names with
    credentials (where * would be read as a name); either way both engines let the page read them."""
    query = "?set=X-Custom:1"
    plain = fetch(page, policies.api("expose_star") + unique("expose") + query)
    assert plain["readable"] and plain["headers"].get("x-custom") == "1", plain
    assert plain["headers"].get("access-control-expose-headers") == "*", plain
    credentialed = fetch(page, policies.api("expose_star_credentials") + unique("expose-cred") + query, {"credentials": "include"})
    assert credentialed["readable"] and credentialed["headers"].get("x-custom") == "1", credentialed
    assert "access-control-expose-headers" not in credentialed["headers"], credentialed
