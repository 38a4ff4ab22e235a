"""The demo page in headless Chromium: what the browser let JavaScript read, row by row.

One Envoy from envoy.yaml (free ports) serves the page and the API; the page is loaded once and
its results (window.DEMO_RESULTS) are asserted here independently of the page's own verdicts,
then a few requests are made from the page directly (preflight cache, cookies, the disallowed
origin). Screenshots go to tests/artifacts/browser/.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

PAGE_TIMEOUT_MS = 60_000
SAFELISTED_READ = {"content-length", "content-type"}


@dataclass
class Demo:
    page: Any
    context: Any
    results: dict[str, dict]
    summary: dict
    console: list[str] = field(default_factory=list)

    def row(self, row_id: str) -> dict:
        assert row_id in self.results, f"the page has no row {row_id!r}: {sorted(self.results)}"
        return self.results[row_id]


@pytest.fixture(scope="module")
def demo(browser, stack, browser_artifacts: Path):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    try:
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.goto(stack.web + "/")
        try:
            page.wait_for_function("document.documentElement.dataset.state === 'done'", timeout=PAGE_TIMEOUT_MS)
        finally:
            page.screenshot(path=str(browser_artifacts / "demo-full.png"), full_page=True)
            (browser_artifacts / "console.txt").write_text("\n".join(console))
        results = {r["id"]: r for r in page.evaluate("window.DEMO_RESULTS")}
        summary = page.evaluate("window.DEMO_SUMMARY")
        yield Demo(page, context, results, summary, console)
    finally:
        context.close()


def readable_names(row: dict) -> set[str]:
    return set(row["headers"])


def assert_allowed(row: dict, status: int, names: set[str]) -> None:
    assert row["readable"], f"{row['id']}: the browser blocked it: {row['error']}"
    assert row["status"] == status, f"{row['id']}: status {row['status']}, expected {status}"
    assert readable_names(row) == names, f"{row['id']}: JavaScript could read {sorted(row['headers'])}, expected {sorted(names)}"


def assert_blocked(row: dict) -> None:
    assert not row["readable"], f"{row['id']}: JavaScript could read the response: {row}"
    assert row["status"] is None and row["headers"] == {}, row
    assert row["error"], row


# ------------------------------------------------------------------------------------------------
# The page as a whole


def test_every_row_of_the_page_is_as_expected(demo):
    failing = {k: v["problems"] for k, v in demo.results.items() if not v["pass"]}
    assert not failing, f"rows not as expected: {failing}"
    assert demo.summary == {"passed": 18, "total": 18}
    assert demo.page.locator("#score").inner_text() == "18/18"
    assert demo.page.locator("tr.pass").count() == 18


def test_no_multiple_values_error_and_no_script_error(demo):
    text = "\n".join(demo.console)
    assert "multiple values" not in text, text
    assert not [c for c in demo.console if c.startswith("error: Uncaught")], text


# ------------------------------------------------------------------------------------------------
# From the allowed origin


def test_simple_get_from_the_allowed_origin(demo):
    assert_allowed(demo.row("simple-get"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})


def test_json_post_preflight_allowed(demo):
    assert_allowed(demo.row("json-post"), 201, SAFELISTED_READ | {"x-request-id", "x-api-version"})


def test_put_with_authorization_listed_in_allow_headers(demo):
    assert_allowed(demo.row("put-auth-list"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})


def test_put_with_an_unlisted_header_is_blocked(demo):
    assert_blocked(demo.row("put-unlisted-header"))


def test_put_with_authorization_via_star_allow_headers(demo):
    assert_allowed(demo.row("put-auth-star"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})


def test_methods(demo):
    assert_allowed(demo.row("delete"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})
    assert_blocked(demo.row("patch-denied"))


def test_credentialed_requests_with_cookies(demo, stack):
    # The cookie set by a credentialed cross-origin response is stored, never readable...
    assert_allowed(demo.row("cookie-set"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})
    cookies = {c["name"]: c for c in demo.context.cookies(stack.api)}
    assert cookies.get("demo_session", {}).get("value") == "hello-from-envoy", cookies
    # ...and sent back with credentials: 'include'.
    row = demo.row("cookie-sent")
    assert_allowed(row, 200, SAFELISTED_READ | {"x-request-id", "x-api-version", "x-cookie-seen"})
    assert "demo_session=hello-from-envoy" in row["headers"]["x-cookie-seen"]
    # Without credentials mode the browser sends no cookie.
    seen = demo.page.evaluate(
        "async (url) => { const r = await fetch(url); return r.headers.get('x-cookie-seen'); }",
        stack.api + "/api/cookie/check",
    )
    assert seen == "", f"cookie sent without credentials: {seen!r}"
    # From the disallowed origin, the upstream's own `*` + credentials grant is removed.
    assert_blocked(demo.row("foreign-credentials"))


def test_upstream_with_its_own_cors_headers(demo):
    row = demo.row("legacy")
    # Readable at all means one valid Access-Control-Allow-Origin; the upstream's own
    # Expose-Headers (X-Internal-Note) was replaced by the policy's.
    assert_allowed(row, 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})


def test_401_from_jwt_authn_is_readable(demo):
    row = demo.row("jwt-401")
    assert_allowed(row, 401, SAFELISTED_READ | {"www-authenticate"})
    assert row["headers"]["www-authenticate"].startswith("Bearer")
    assert_allowed(demo.row("jwt-200"), 200, SAFELISTED_READ | {"x-request-id", "x-api-version"})


def test_429_from_the_rate_limit_is_readable(demo):
    row = demo.row("rate-limit")
    assert_allowed(row, 429, SAFELISTED_READ | {"x-ratelimit-limit", "x-ratelimit-remaining"})
    assert row["headers"]["x-ratelimit-limit"] == "3"
    assert row["note"].startswith("statuses: 200 200 200 429"), row["note"]


def test_preflight_cache_with_max_age(demo, stack):
    """Three identical PUTs (default cache mode) send one OPTIONS: counted by the filter and seen
    in Envoy's access log."""
    path = f"/api/items/pytest-cache-{uuid.uuid4().hex[:10]}"
    before = stack.settled_counter("preflight_allowed")
    statuses = demo.page.evaluate(
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


# ------------------------------------------------------------------------------------------------
# From the disallowed origin (the same page at 127.0.0.1, in an iframe)


def test_get_from_a_disallowed_origin_is_blocked(demo, stack):
    assert_blocked(demo.row("foreign-get"))
    assert "TypeError" in demo.row("foreign-get")["error"]
    blocked = [c for c in demo.console if f"from origin '{stack.web_other}' has been blocked by CORS policy" in c]
    assert any("/api/hello" in c and "No 'Access-Control-Allow-Origin' header" in c for c in blocked), demo.console
    assert_blocked(demo.row("foreign-preflight"))


def test_websocket_from_a_disallowed_origin_is_refused_at_the_handshake(demo, stack):
    row = demo.row("foreign-ws")
    assert_blocked(row)
    assert row["note"].startswith("close code 1006"), row
    assert any("WebSocket connection to" in c and "Unexpected response code: 403" in c for c in demo.console), demo.console
    assert stack.counter("websocket_rejected") >= 1


def test_page_opened_from_the_disallowed_origin(browser, stack, browser_artifacts):
    """Loaded directly from 127.0.0.1, the page says where to go, and its own call is blocked."""
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    try:
        page = context.new_page()
        page.goto(stack.web_other + "/")
        page.wait_for_function("document.documentElement.dataset.state === 'wrong-origin'", timeout=10_000)
        assert page.locator("#wrong-origin").is_visible()
        page.screenshot(path=str(browser_artifacts / "wrong-origin.png"))
        outcome = page.evaluate(
            "async (url) => { try { const r = await fetch(url); return 'read ' + r.status; } "
            "catch (e) { return e.name; } }",
            stack.api + "/api/hello",
        )
        assert outcome == "TypeError"
    finally:
        context.close()
