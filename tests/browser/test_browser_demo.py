"""The demo page in headless Chromium and Firefox ESR: what each browser let JavaScript read, row by row.

Each engine gets its own Envoy from envoy.yaml (free ports), which serves the page and the API;
the page is loaded once and its results (window.DEMO_RESULTS) are asserted here independently of
the page's own verdicts, then a few requests are made from the page directly (preflight cache,
cookies, the disallowed origin). The filter's side is checked where the page cannot see it: its
counters in Envoy's /stats, its decision header in Envoy's access log (the header a blocked
response carries is only in the browser's network tab), the dry run's log line. Where the engines
differ (how a refusal is reported), each test asserts each engine's own behaviour. Screenshots go
to tests/artifacts/browser/ENGINE/.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from engines import Browser, LogEntry, refusal

PAGE_TIMEOUT_S = 90
ROWS = 23
SAFELISTED_READ = {"content-length", "content-type"}
DECISION = "x-cors-decision"
# What JavaScript reads of an upstream answer through the main API policy.
API_READ = SAFELISTED_READ | {"x-request-id", "x-api-version", DECISION}
# The message of the TypeError that fetch() rejects with when CORS refuses a response.
FETCH_ERROR = {
    "chromium": "TypeError: Failed to fetch",
    "firefox": "TypeError: NetworkError when attempting to fetch resource.",
}


@dataclass
class Demo:
    browser: Browser
    results: dict[str, dict]
    summary: dict
    console: list[LogEntry]

    @property
    def engine(self) -> str:
        return self.browser.engine

    def row(self, row_id: str) -> dict:
        assert row_id in self.results, f"the page has no row {row_id!r}: {sorted(self.results)}"
        return self.results[row_id]

    def messages(self) -> list[str]:
        return [str(e) for e in self.console]


@pytest.fixture(scope="module")
def demo(browser: Browser, stack, artifacts: Path):
    browser.set_viewport(1500, 1000)
    browser.open(stack.web + "/")
    try:
        browser.wait_for("document.documentElement.dataset.state === 'done'", PAGE_TIMEOUT_S)
    finally:
        browser.screenshot(artifacts / "demo-full.png", full_page=True)
        (artifacts / "console.txt").write_text("\n".join(str(e) for e in browser.console()))
    results = {r["id"]: r for r in browser.evaluate("() => window.DEMO_RESULTS")}
    summary = browser.evaluate("() => window.DEMO_SUMMARY")
    yield Demo(browser, results, summary, browser.console())


def readable_names(row: dict) -> set[str]:
    return set(row["headers"])


def assert_allowed(row: dict, status: int, names: set[str], decision: str | None = "allowed") -> None:
    """Readable, with that status, exactly those header names, and that x-cors-decision (None:
    none sent)."""
    assert row["readable"], f"{row['id']}: the browser blocked it: {row['error']}"
    assert row["status"] == status, f"{row['id']}: status {row['status']}, expected {status}"
    assert readable_names(row) == names, f"{row['id']}: JavaScript could read {sorted(row['headers'])}, expected {sorted(names)}"
    assert row["headers"].get(DECISION) == decision and row["decision"] == decision, row


def counted(row: dict) -> dict[str, int]:
    """The counters the page read around the row: name -> increase."""
    return {c["name"]: c["after"] - c["before"] for c in row["counted"]}


def logged(stack, method: str, path: str, host: str, origin: str, timeout: float = 5.0) -> list[tuple[int, str]]:
    """(status, x-cors-decision) of each access log line of the demo's API listener for one
    method, path, Host and Origin (the decision is "-" when the response had none)."""
    line = re.compile(rf"^\[api :\d+\] {method} {re.escape(path)} host={re.escape(host)} origin={re.escape(origin)} "
                      r"-> (\d+) .*?decision=(.*)$", re.M)
    deadline = time.monotonic() + timeout
    while True:
        found = [(int(status), decision) for status, decision in line.findall(stack.log())]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def host_of(base: str) -> str:
    return base.split("://", 1)[1]


def assert_blocked(row: dict, engine: str | None = None) -> None:
    """Blocked: no status, no header; with `engine`, a fetch() that rejected with that engine's TypeError."""
    assert not row["readable"], f"{row['id']}: JavaScript could read the response: {row}"
    assert row["status"] is None and row["headers"] == {}, row
    assert row["error"], row
    if engine is not None:
        assert row["error"] == FETCH_ERROR[engine], f"{row['id']}: {row['error']!r}"


def cors_refusals(demo: Demo, page_origin: str) -> list[str]:
    """The URLs whose response the engine refused to the page at page_origin, from its console
    (Firefox also reports a failed preflight a second time, as "CORS request did not succeed")."""
    out = []
    for e in demo.console:
        r = refusal(demo.engine, e)
        if r and e.url.startswith(page_origin + "/") and "did not succeed" not in r[1]:
            out.append(r[0])
    return out


# ------------------------------------------------------------------------------------------------
# The page as a whole


def test_every_row_of_the_page_is_as_expected(demo):
    failing = {k: v["problems"] for k, v in demo.results.items() if not v["pass"]}
    assert not failing, f"rows not as expected: {failing}"
    assert demo.summary == {"passed": ROWS, "total": ROWS}
    assert demo.browser.text("#score") == f"{ROWS}/{ROWS}"
    assert demo.browser.count("tr.pass") == ROWS


def test_multiple_values_only_where_the_dry_run_lets_them_through_and_no_script_error(demo, stack):
    text = "\n".join(demo.messages())
    # Chromium: "The 'Access-Control-Allow-Origin' header contains multiple values";
    # Firefox: "Multiple CORS header 'Access-Control-Allow-Origin' not allowed", or "does not match"
    # with both values joined. The upstream's two values reach the browser only through the
    # dry-run listener, which changes nothing; the enforcing one replaces them.
    bad = [m for m in demo.messages() if "multiple values" in m or "Multiple CORS header" in m or "does not match" in m]
    assert len(bad) == 1 and f"{stack.api_dry}/api/legacy" in bad[0], text
    assert not [e for e in demo.console if e.script_error], text
    # From the allowed origin, the only responses refused are the two preflights the policy
    # denies, the partner entry's denied preflight and credentialed call, and the dry run's.
    assert cors_refusals(demo, stack.web) == [stack.api + "/api/items/42"] * 2 + [
        stack.api_partner + "/api/items/42", stack.api_partner + "/api/hello", stack.api_dry + "/api/legacy"], text


# ------------------------------------------------------------------------------------------------
# From the allowed origin


def test_simple_get_from_the_allowed_origin(demo):
    assert_allowed(demo.row("simple-get"), 200, API_READ)


def test_json_post_preflight_allowed(demo):
    assert_allowed(demo.row("json-post"), 201, API_READ)


def test_put_with_authorization_listed_in_allow_headers(demo):
    assert_allowed(demo.row("put-auth-list"), 200, API_READ)


def test_put_with_an_unlisted_header_is_blocked(demo, stack):
    row = demo.row("put-unlisted-header")
    assert_blocked(row, demo.engine)
    # The page cannot read the 403's decision header; the filter's reason counter moved, and the
    # header was on the wire (Envoy's access log shows it, as the network tab does).
    assert counted(row) == {"preflight_denied_by.header": 1}, row
    seen = logged(stack, "OPTIONS", "/api/items/42", host_of(stack.api), stack.web)
    assert (403, "denied; header x-trace-id") in seen, seen


def test_put_with_authorization_via_star_allow_headers(demo):
    # That listener's policy has no debug_header: no decision header.
    assert_allowed(demo.row("put-auth-star"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"}, decision=None)


def test_methods(demo, stack):
    assert_allowed(demo.row("delete"), 200, API_READ)
    row = demo.row("patch-denied")
    assert_blocked(row, demo.engine)
    assert counted(row) == {"preflight_denied_by.method": 1}, row
    seen = logged(stack, "OPTIONS", "/api/items/42", host_of(stack.api), stack.web)
    assert (403, "denied; method PATCH") in seen, seen


def test_credentialed_requests_with_cookies(demo, stack):
    # The cookie set by a credentialed cross-origin response is stored, never readable...
    assert_allowed(demo.row("cookie-set"), 200, API_READ)
    # (Cookies belong to a host, whatever the port: the page's localhost is the API's.)
    cookies = demo.browser.cookies()
    assert cookies.get("demo_session", {}).get("value") == "hello-from-envoy", cookies
    # ...and sent back with credentials: 'include'.
    row = demo.row("cookie-sent")
    assert_allowed(row, 200, API_READ | {"x-cookie-seen"})
    assert "demo_session=hello-from-envoy" in row["headers"]["x-cookie-seen"]
    # Without credentials mode the browser sends no cookie.
    seen = demo.browser.evaluate(
        "async (url) => { const r = await fetch(url); return r.headers.get('x-cookie-seen'); }",
        stack.api + "/api/cookie/check",
    )
    assert seen == "", f"cookie sent without credentials: {seen!r}"
    # From the disallowed origin, the upstream's own `*` + credentials grant is removed.
    assert_blocked(demo.row("foreign-credentials"), demo.engine)


def test_upstream_with_its_own_cors_headers(demo):
    row = demo.row("legacy")
    # Readable at all means one valid Access-Control-Allow-Origin; the upstream's own
    # Expose-Headers (X-Internal-Note) was replaced by the policy's, and counted as replaced.
    assert_allowed(row, 200, API_READ)
    assert counted(row) == {"upstream_replaced": 1}, row


def test_401_from_jwt_authn_is_readable(demo):
    row = demo.row("jwt-401")
    assert_allowed(row, 401, SAFELISTED_READ | {"www-authenticate", DECISION})
    assert row["headers"]["www-authenticate"].startswith("Bearer")
    assert_allowed(demo.row("jwt-200"), 200, API_READ)


def test_429_from_the_rate_limit_is_readable(demo):
    row = demo.row("rate-limit")
    assert_allowed(row, 429, SAFELISTED_READ | {"x-ratelimit-limit", "x-ratelimit-remaining", DECISION})
    assert row["headers"]["x-ratelimit-limit"] == "3"
    assert row["note"].startswith("statuses: 200 200 200 429"), row["note"]


def test_preflight_cache_with_max_age(demo, stack):
    """Three identical PUTs (default cache mode) send one OPTIONS: counted by the filter and seen
    in Envoy's access log. (max_age 600 is under both engines' caps.)"""
    path = f"/api/items/pytest-cache-{uuid.uuid4().hex[:10]}"
    before = stack.settled_counter("preflight_allowed")
    statuses = demo.browser.evaluate(
        """async (url) => {
             const out = [];
             for (let i = 0; i < 3; i++) {
               const r = await fetch(url, {method: 'PUT', headers: {'Content-Type': 'application/json'}, body: '{}'});
               out.push(r.status);
             }
             return out;
           }""",
        stack.api + path,
    )
    assert statuses == [200, 200, 200]
    after = stack.settled_counter("preflight_allowed")
    assert after - before == 1, f"preflight_allowed went {before} -> {after}: expected one OPTIONS for three PUTs"
    deadline = time.monotonic() + 5
    while True:
        log = stack.log()
        puts = len(re.findall(rf"PUT {re.escape(path)} ", log))
        options = len(re.findall(rf"OPTIONS {re.escape(path)} ", log))
        if puts == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (options, puts) == (1, 3), f"access log: {options} OPTIONS, {puts} PUT for {path}"
    # The page's own row says the same.
    assert demo.row("preflight-cache")["pass"], demo.row("preflight-cache")
    assert demo.row("preflight-cache")["decision"] == "allowed"


# ------------------------------------------------------------------------------------------------
# The second API host (127.0.0.1 on the same listener): the policy's entry "partner"


def test_second_api_host_is_decided_by_the_partner_entry(demo, stack):
    row = demo.row("partner-get")
    # The entry exposes X-Request-Id and X-Cors-Decision only: X-Api-Version, readable from
    # the main host, is not here.
    assert_allowed(row, 200, SAFELISTED_READ | {"x-request-id", DECISION}, decision="allowed; policy=partner")
    assert counted(row) == {"policy.partner.actual_allowed": 1}, row
    seen = logged(stack, "GET", "/api/hello", host_of(stack.api_partner), stack.web)
    assert seen and set(seen) == {(200, "allowed; policy=partner")}, seen


def test_the_partner_entry_denies_what_the_main_host_allows(demo, stack):
    """DELETE, allowed on the main host (row "delete"), is outside the entry's allow_methods:
    the preflight is denied, counted under cors.policy.partner, and the request never sent."""
    row = demo.row("partner-delete")
    assert_blocked(row, demo.engine)
    assert counted(row) == {"policy.partner.preflight_denied_by.method": 1}, row
    assert demo.row("delete")["readable"]
    url = stack.api_partner + "/api/items/42"
    if demo.engine == "chromium":
        assert any(f"Access to fetch at '{url}' from origin '{stack.web}'" in m
                   and "Response to preflight request doesn't pass access control check" in m for m in demo.messages()), demo.messages()
    else:
        expected = (f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. "
                    "(Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 403.")
        assert expected in [e.text for e in demo.console], demo.messages()
    seen = logged(stack, "OPTIONS", "/api/items/42", host_of(stack.api_partner), stack.web)
    assert seen == [(403, "denied; method DELETE; policy=partner")], seen
    assert logged(stack, "DELETE", "/api/items/42", host_of(stack.api_partner), stack.web, timeout=0) == []


def test_the_partner_entry_has_no_credentials(demo, stack):
    """The entry sets allow_credentials: false: the filter allows the origin (its decision says
    so) but sends no Access-Control-Allow-Credentials, and each engine refuses a credentialed
    call for that reason."""
    row = demo.row("partner-credentials")
    assert_blocked(row, demo.engine)
    assert counted(row) == {"policy.partner.actual_allowed": 1}, row
    url = stack.api_partner + "/api/hello"
    if demo.engine == "chromium":
        assert any(f"Access to fetch at '{url}'" in m and "The value of the 'Access-Control-Allow-Credentials' header in "
                   "the response is '' which must be 'true' when the request's credentials mode is 'include'." in m
                   for m in demo.messages()), demo.messages()
    else:
        expected = (f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. "
                    "(Reason: expected ‘true’ in CORS header ‘Access-Control-Allow-Credentials’).")
        assert expected in [e.text for e in demo.console], demo.messages()


def test_partner_counters_in_envoy_and_on_the_page(demo, stack):
    assert stack.settled_counter("policy.partner.actual_allowed") == 2
    assert stack.counter("policy.partner.preflight_denied") == 1
    assert stack.counter("policy.partner.preflight_denied_by.method") == 1
    # The page's counters panel has a column for the entry.
    assert demo.browser.text('[data-counter="policy.partner.actual_allowed"] .counter-value') == "2"
    assert demo.browser.text('[data-counter="policy.partner.preflight_denied_by.method"] .counter-value') == "1"


# ------------------------------------------------------------------------------------------------
# The dry-run listener


def test_dry_run_lets_the_upstreams_headers_through_and_counts_the_mismatch(demo, stack):
    row = demo.row("dry-legacy")
    assert_blocked(row, demo.engine)
    assert counted(row) == {"dry_run_checked": 1, "dry_run_mismatch": 1}, row
    url = stack.api_dry + "/api/legacy"
    # The browser got the upstream's own two values, as it would without the filter.
    if demo.engine == "chromium":
        assert any(f"Access to fetch at '{url}'" in m and "The 'Access-Control-Allow-Origin' header contains multiple "
                   "values '*,https://legacy.example', but only one is allowed." in m for m in demo.messages()), demo.messages()
    else:
        expected = (f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. "
                    "(Reason: CORS header ‘Access-Control-Allow-Origin’ does not match ‘*,https://legacy.example’).")
        assert expected in [e.text for e in demo.console], demo.messages()
    # The filter logged the first difference.
    want = f'dry run: access-control-allow-origin differs: policy "{stack.web}", application "*,https://legacy.example"'
    deadline = time.monotonic() + 5
    while want not in stack.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert want in stack.log(), harness_tail(stack)


def test_dry_run_with_an_upstream_that_already_sends_the_policys_headers(demo, stack):
    row = demo.row("dry-own-cors")
    # Readable through the upstream's own headers; a dry run adds no decision header.
    assert_allowed(row, 200, SAFELISTED_READ | {"x-request-id"}, decision=None)
    assert counted(row) == {"dry_run_checked": 1, "dry_run_mismatch": 0}, row
    # Only the page used the dry-run listener of this Envoy.
    assert stack.settled_counter("dry_run_checked") == 2
    assert stack.counter("dry_run_mismatch") == 1
    assert demo.browser.text('[data-counter="dry_run_mismatch"] .counter-value') == "1"
    assert demo.browser.text('[data-counter="dry_run_checked"] .counter-value') == "2"


# ------------------------------------------------------------------------------------------------
# From the disallowed origin (the same page at 127.0.0.1, in an iframe)


def test_get_from_a_disallowed_origin_is_blocked(demo, stack):
    assert_blocked(demo.row("foreign-get"), demo.engine)
    assert "TypeError" in demo.row("foreign-get")["error"]
    # The iframe read the counters through its own origin's /envoy-stats.
    assert counted(demo.row("foreign-get")) == {"actual_denied": 1}
    assert counted(demo.row("foreign-credentials")) == {"upstream_replaced": 1}
    assert counted(demo.row("foreign-preflight")) == {"preflight_denied_by.origin": 1}
    seen = logged(stack, "GET", "/api/hello", host_of(stack.api), stack.web_other)
    assert seen and set(seen) == {(200, "denied; origin")}, seen
    if demo.engine == "chromium":
        blocked = [m for m in demo.messages() if f"from origin '{stack.web_other}' has been blocked by CORS policy" in m]
        assert any("/api/hello" in m and "No 'Access-Control-Allow-Origin' header" in m for m in blocked), demo.messages()
    else:
        # Firefox names the URL, the reason and the status, not the origin: the message must come
        # from the iframe's document.
        expected = (f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at "
                    f"{stack.api}/api/hello. (Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 200.")
        assert any(e.text == expected and e.url.startswith(stack.web_other + "/") for e in demo.console), demo.messages()
    assert_blocked(demo.row("foreign-preflight"), demo.engine)


def test_denied_preflights_as_each_engine_reports_them(demo, stack):
    """The filter's 403 to a denied preflight carries no CORS headers. Chromium says the preflight
    failed the access check; Firefox reports the missing Access-Control-Allow-Origin with the
    preflight's status (403), then that the request did not succeed."""
    url = stack.api + "/api/items/42"
    text = "\n".join(demo.messages())
    if demo.engine == "chromium":
        denied = [m for m in demo.messages() if f"Access to fetch at '{url}'" in m
                  and "Response to preflight request doesn't pass access control check: "
                      "No 'Access-Control-Allow-Origin' header is present on the requested resource." in m]
        assert len([m for m in denied if f"from origin '{stack.web}'" in m]) == 2, text
        assert len([m for m in denied if f"from origin '{stack.web_other}'" in m]) == 1, text
    else:
        missing = (f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. "
                   "(Reason: CORS header ‘Access-Control-Allow-Origin’ missing). Status code: 403.")
        failed = (f"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at {url}. "
                  "(Reason: CORS request did not succeed). Status code: (null).")
        for origin, n in ((stack.web, 2), (stack.web_other, 1)):
            from_origin = [e.text for e in demo.console if e.url.startswith(origin + "/")]
            assert from_origin.count(missing) == n and from_origin.count(failed) == n, text


def test_websocket_from_a_disallowed_origin_is_refused_at_the_handshake(demo, stack):
    row = demo.row("foreign-ws")
    assert_blocked(row)
    assert row["note"].startswith("close code 1006"), row
    assert counted(row) == {"websocket_rejected": 1}, row
    seen = logged(stack, "GET", "/ws", host_of(stack.api), stack.web_other)
    assert seen == [(403, "denied; origin (websocket)")], seen
    if demo.engine == "chromium":
        assert any("WebSocket connection to" in m and "Unexpected response code: 403" in m for m in demo.messages()), demo.messages()
    else:
        # Firefox does not say why; the filter's counter below shows it was the 403.
        ws = stack.api.replace("http://", "ws://", 1) + "/ws"
        expected = f"Firefox can’t establish a connection to the server at {ws}."
        assert any(e.text == expected and e.url.startswith(stack.web_other + "/") for e in demo.console), demo.messages()
    assert stack.counter("websocket_rejected") >= 1


def test_page_opened_from_the_disallowed_origin(browser, stack, artifacts):
    """Loaded directly from 127.0.0.1, the page says where to go, and its own call is blocked."""
    with browser.new_window():
        browser.set_viewport(1500, 900)
        browser.open(stack.web_other + "/")
        browser.wait_for("document.documentElement.dataset.state === 'wrong-origin'", 10)
        assert browser.visible("#wrong-origin")
        browser.screenshot(artifacts / "wrong-origin.png")
        outcome = browser.evaluate(
            "async (url) => { try { const r = await fetch(url); return 'read ' + r.status; } "
            "catch (e) { return e.name; } }",
            stack.api + "/api/hello",
        )
        assert outcome == "TypeError"


def harness_tail(stack) -> str:
    return "--- envoy log (end) ---\n" + stack.log()[-3000:]
