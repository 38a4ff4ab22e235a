"""The filter's counters as Envoy's admin shows them, and its debug log of denials."""

from __future__ import annotations

import time

import envoy_harness as harness
from envoy_harness import uniq

APP = "https://app.example.com"
EVIL = "https://evil.example"

# Envoy 1.40 shows proxy-wasm custom metrics with the `wasmcustom.` prefix.
PREFIX = "wasmcustom."
NAMES = [
    "cors.preflight_allowed",
    "cors.preflight_denied",
    "cors.preflight_denied_by.origin",
    "cors.preflight_denied_by.method",
    "cors.preflight_denied_by.header",
    "cors.preflight_denied_by.private_network",
    "cors.actual_allowed",
    "cors.actual_denied",
    "cors.rejected",
    "cors.websocket_rejected",
    "cors.upstream_replaced",
    "cors.dry_run_checked",
    "cors.dry_run_mismatch",
]

WS_HEADERS = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


def wait_all(envoy, expected: dict[str, int], timeout: float = 5.0) -> dict[str, int]:
    return harness.wait_custom_stats(envoy, expected, timeout)


def test_counter_names_shown_by_envoy(envoys):
    envoy = envoys.fresh({"allow_origins": [APP]})
    # The filter defines its counters at start-up; Envoy lists them once they exist.
    deadline = time.monotonic() + 5
    while True:
        cors_stats = envoy.matching_stats(r"^wasmcustom\.cors\.")
        if all(PREFIX + n in cors_stats for n in NAMES) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert sorted(cors_stats) == sorted(PREFIX + n for n in NAMES), f"CORS stats Envoy shows: {cors_stats}"


def test_counters_count(envoys, upstream):
    envoy = envoys.fresh({"allow_origins": [APP], "allow_methods": ["GET", "PUT"]})
    for _ in range(2):
        assert envoy.preflight(uniq("/c"), APP, "PUT").status == 204
    for origin, method in [(EVIL, "GET"), (APP, "DELETE"), (APP, "PATCH")]:
        assert envoy.preflight(uniq("/c"), origin, method).status == 403
    for _ in range(4):
        assert envoy.request("GET", uniq("/c"), [("Origin", APP)]).status == 200
    assert envoy.request("GET", uniq("/c"), [("Origin", EVIL)]).status == 200
    got = wait_all(
        envoy,
        {
            "cors.preflight_allowed": 2,
            "cors.preflight_denied": 3,
            "cors.preflight_denied_by.origin": 1,
            "cors.preflight_denied_by.method": 2,
            "cors.preflight_denied_by.header": 0,
            "cors.actual_allowed": 4,
            "cors.actual_denied": 1,
            "cors.rejected": 0,
            "cors.websocket_rejected": 0,
        },
    )
    assert got == {
        "cors.preflight_allowed": 2,
        "cors.preflight_denied": 3,
        "cors.preflight_denied_by.origin": 1,
        "cors.preflight_denied_by.method": 2,
        "cors.preflight_denied_by.header": 0,
        "cors.actual_allowed": 4,
        "cors.actual_denied": 1,
        "cors.rejected": 0,
        "cors.websocket_rejected": 0,
    }


def test_counters_rejected_and_websocket(envoys, upstream):
    envoy = envoys.fresh({"allow_origins": [APP], "disallowed_origin": "reject"})
    for _ in range(3):
        assert envoy.request("GET", uniq("/r"), [("Origin", EVIL)]).status == 403
    got = wait_all(envoy, {"cors.rejected": 3})
    assert got == {"cors.rejected": 3}

    envoy2 = envoys.fresh({"allow_origins": [APP]})
    for _ in range(2):
        assert envoy2.request("GET", uniq("/ws"), WS_HEADERS + [("Origin", EVIL)]).status == 403
    got = wait_all(envoy2, {"cors.websocket_rejected": 2})
    assert got == {"cors.websocket_rejected": 2}


def test_counters_flushed_within_seconds(envoys, upstream):
    envoy = envoys.fresh({"allow_origins": [APP]})
    start = time.monotonic()
    envoy.preflight(uniq("/flush"), APP, "GET")
    value = envoy.wait_counter(PREFIX + "cors.preflight_allowed", lambda v: v == 1, timeout=5.0)
    assert value == 1, f"counter not flushed within 5 s (value {value})"
    assert time.monotonic() - start < 5.0


def _log_lines_since(envoy, offset: int, needle: str, timeout: float = 3.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        text = envoy.log_path.read_bytes()[offset:].decode("utf-8", "replace")
        lines = [line for line in text.splitlines() if needle in line]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_denial_logged_at_debug_with_origin(envoys, upstream):
    envoy = envoys.get({"allow_origins": [APP]})
    offset = envoy.log_path.stat().st_size
    marker = "denied-" + uniq("x")[3:]
    origin = f"https://{marker}.example"
    assert envoy.preflight(uniq("/log"), origin, "GET").status == 403
    lines = _log_lines_since(envoy, offset, marker)
    assert lines, "the denial was not logged with its origin"
    assert any("[debug][wasm]" in line for line in lines), lines
    assert any(origin in line for line in lines), lines


def test_denial_log_escapes_control_characters(envoys, upstream):
    envoy = envoys.get({"allow_origins": [APP]})
    offset = envoy.log_path.stat().st_size
    marker = "esc-" + uniq("x")[3:]
    # Envoy's HTTP/1 codec accepts a TAB and bytes >= 0x80 in a header value.
    origin = f"https://{marker}\t.example".encode() + b"\xff\x1b"
    try:
        resp = envoy.preflight(uniq("/log"), origin, "GET")
    except OSError:
        resp = None
    if resp is None or resp.status == 400:
        origin = f"https://{marker}\t.example".encode() + b"\xff"
        resp = envoy.preflight(uniq("/log"), origin, "GET")
    assert resp.status == 403, resp.describe()
    lines = _log_lines_since(envoy, offset, marker)
    assert lines, "the denial was not logged with its origin"
    raw = envoy.log_path.read_bytes()[offset:]
    denial = [line for line in raw.split(b"\n") if marker.encode() in line]
    for line in denial:
        assert b"\t" not in line and b"\x1b" not in line and b"\xff" not in line, f"unescaped control bytes in log: {line!r}"
