"""Configurations the plugin must refuse: Envoy exits non-zero during start-up and its log names the
failing field: `invalid configuration: <field path>: <message with the value>`."""

from __future__ import annotations

import pytest

from envoy_harness import run_envoy_expect_exit

APP = "https://app.example.com"

# (configuration, substrings that must all appear on the `invalid configuration:` log line)
BAD_CONFIGS = [
    pytest.param(
        {"allow_origins": [APP, "https://b.example.com", "https://example.com/app"]},
        ['invalid configuration: allow_origins[2]: "https://example.com/app" has a path'],
        id="origin-with-path",
    ),
    pytest.param({"allow_origins": [APP], "allow_origin": [APP]}, ["invalid configuration: allow_origin: "], id="unknown-field"),
    pytest.param({"allow_origins": [APP], "max_agee": 5}, ["invalid configuration: max_agee: "], id="unknown-field-typo"),
    pytest.param({"allow_origins": ["*"], "allow_credentials": True}, ["invalid configuration: allow_", "credentials"], id="star-with-credentials"),
    pytest.param(
        {"allow_origins": [APP, {"safe_regex": {"regex": "https://(unclosed"}}]},
        ["invalid configuration: allow_origins[1]", "\"https://(unclosed\""],
        id="bad-safe-regex",
    ),
    pytest.param({"allow_origins": [{"regex": "https://[a-"}]}, ["invalid configuration: allow_origins[0]", "\"https://[a-\""], id="bad-regex-shorthand"),
    pytest.param({"allow_origins": ["*", APP]}, ["invalid configuration: allow_origins", '"*"'], id="star-mixed"),
    pytest.param({"allow_origins": [APP], "preflight_status": 301}, ["invalid configuration: preflight_status: ", "301"], id="preflight-status-301"),
    pytest.param({"allow_origins": [APP], "preflight_status": 199}, ["invalid configuration: preflight_status: ", "199"], id="preflight-status-199"),
    pytest.param({"allow_origins": []}, ["invalid configuration: allow_origins: ", "[]"], id="empty-origins"),
    pytest.param({}, ["invalid configuration: ", "allow_origins"], id="missing-origins"),
    pytest.param({"allow_origins": "https://app.example.com"}, ["invalid configuration: allow_origins: ", "https://app.example.com"], id="origins-not-a-list"),
    pytest.param({"allow_origins": [f"{APP}?q=1"]}, ["invalid configuration: allow_origins[0]: ", "\"https://app.example.com?q=1\""], id="origin-with-query"),
    pytest.param({"allow_origins": [f"{APP}#f"]}, ["invalid configuration: allow_origins[0]: ", "\"https://app.example.com#f\""], id="origin-with-fragment"),
    pytest.param({"allow_origins": ["https://u:p@app.example.com"]}, ["invalid configuration: allow_origins[0]: ", "\"https://u:p@app.example.com\""], id="origin-with-userinfo"),
    pytest.param({"allow_origins": ["https://app.example.com:99999"]}, ["invalid configuration: allow_origins[0]: ", "\"https://app.example.com:99999\""], id="origin-bad-port"),
    pytest.param({"allow_origins": [APP], "max_age": -1}, ["invalid configuration: max_age: ", "-1"], id="max-age-negative"),
    pytest.param({"allow_origins": [APP], "max_age": "1h"}, ["invalid configuration: max_age: ", "1h"], id="max-age-not-digits"),
    pytest.param({"allow_origins": [APP], "unmatched_preflight": "drop"}, ["invalid configuration: unmatched_preflight: ", "drop"], id="unmatched-preflight-bad"),
    pytest.param({"allow_origins": [APP], "disallowed_origin": "block"}, ["invalid configuration: disallowed_origin: ", "block"], id="disallowed-origin-bad"),
    pytest.param({"allow_origins": [APP], "allow_credentials": "yes"}, ["invalid configuration: allow_credentials: ", "yes"], id="credentials-not-bool"),
    pytest.param({"allow_origins": [{"exact": APP, "bogus": 1}]}, ["invalid configuration: allow_origins[0]", "bogus"], id="matcher-unknown-field"),
    pytest.param({"allow_origins": [APP], "max_age": 1.5}, ["invalid configuration: max_age: ", "1.5"], id="max-age-float"),
    pytest.param({"allow_origins": [APP], "preflight_status": 300}, ["invalid configuration: preflight_status: ", "300"], id="preflight-status-300"),
    pytest.param({"allow_origins": ["https://"]}, ["invalid configuration: allow_origins[0]: ", '"https://"'], id="origin-no-host"),
    pytest.param({"allow_origins": [APP], "allow_methods": ["GET POST"]}, ["invalid configuration: allow_methods[0]: ", "GET POST"], id="method-not-a-token"),
    pytest.param({"allow_origins": [APP], "allow_headers": ["X-A:"]}, ["invalid configuration: allow_headers[0]: ", "X-A:"], id="header-not-a-token"),
    pytest.param({"allow_origins": [APP], "expose_headers": ["a b"]}, ["invalid configuration: expose_headers[0]: ", "a b"], id="expose-not-a-token"),
    # Entries that admit sites nobody listed, with credentials.
    pytest.param(
        {"allow_origins": [APP, "null"], "allow_credentials": True},
        ['invalid configuration: allow_origins[1]: "null" cannot go with allow_credentials: true'],
        id="null-with-credentials",
    ),
    pytest.param(
        {"allow_origins": [{"prefix": "h"}], "allow_credentials": True},
        ['invalid configuration: allow_origins[0]: {"prefix":"h"} cannot go with allow_credentials', '"https://corsprobe.invalid"'],
        id="loose-prefix-with-credentials",
    ),
    pytest.param(
        {"allow_origins": [{"suffix": "example.com"}], "allow_credentials": True},
        ['invalid configuration: allow_origins[0]: ', '"https://corsprobeexample.com"'],
        id="suffix-without-label-boundary-with-credentials",
    ),
    pytest.param(
        {"allow_origins": [{"regex": "https://app\\.example\\.com)|(.*"}], "allow_credentials": True},
        ["invalid configuration: allow_origins[0].regex: ", "is not a valid regex"],
        id="regex-escaping-the-anchoring",
    ),
    # Entries no browser request can match.
    pytest.param({"allow_origins": [{"exact": "*"}]}, ["invalid configuration: allow_origins[0].exact: ", 'write the entry \"*\"'], id="exact-star"),
    pytest.param({"allow_origins": ["https://app.example.com:0"]}, ["invalid configuration: allow_origins[0]: ", "port 0"], id="port-0"),
    pytest.param({"allow_origins": ["https://*.168.1.1"]}, ["invalid configuration: allow_origins[0]: ", "wildcard over an IP address"], id="wildcard-over-ip"),
    pytest.param({"allow_origins": ["http://127.1"]}, ["invalid configuration: allow_origins[0]: ", 'write \"http://127.0.0.1\"'], id="non-canonical-ipv4"),
    pytest.param({"allow_origins": [APP], "allow_methods": ["GET", "put"]}, ["invalid configuration: allow_methods[1]: ", 'write \"PUT\"'], id="lower-case-method"),
    pytest.param(
        {"allow_origins": [{"safe_regex": {"regex": "https://a\\.com"}, "ignore_case": True}]},
        ["invalid configuration: allow_origins[0].ignore_case: ", "(?i)"],
        id="safe-regex-ignore-case",
    ),
    pytest.param(
        '{"allow_origins": ["https://app.example.com"], "allow_credentials": false, "allow_credentials": true}',
        ["invalid configuration: ", "allow_credentials: duplicate key"],
        id="duplicate-key",
    ),
]


def _refused(upstream, config, name):
    rc, log = run_envoy_expect_exit(config, upstream, name=name)
    assert rc is not None, f"Envoy came up with a configuration it must refuse: {config!r}\n{log[-3000:]}"
    assert rc != 0, f"Envoy exited 0 with a refused configuration {config!r}"
    return log


def _error_lines(log):
    return [line for line in log.splitlines() if "invalid configuration" in line]


@pytest.mark.parametrize("config,expected", BAD_CONFIGS)
def test_bad_configuration_refused(upstream, wasm, envoy_bin, config, expected, request):
    log = _refused(upstream, config, request.node.callspec.id)
    lines = _error_lines(log)
    assert lines, f"no `invalid configuration` line in Envoy's log for {config!r}:\n" + "\n".join(log.splitlines()[-15:])
    assert any(all(e in line for e in expected) for line in lines), (
        f"expected a line containing {expected!r}; got:\n" + "\n".join(lines)
    )


@pytest.mark.parametrize("config", ["", "   ", "{", "[]", "null", '"https://app.example.com"'], ids=["empty", "blank", "truncated-json", "array", "null", "string"])
def test_empty_or_malformed_configuration_refused(upstream, wasm, envoy_bin, config, request):
    log = _refused(upstream, config, "raw-" + request.node.callspec.id)
    assert _error_lines(log), "no `invalid configuration` line in Envoy's log:\n" + "\n".join(log.splitlines()[-15:])


def test_valid_configuration_starts(envoys):
    """Control: the fixtures start Envoy with a good configuration (fully loaded plugin)."""
    envoy = envoys.get(
        {
            "allow_origins": [
                "HTTPS://App.Example.COM:443/",
                "http://[::1]:3000",
                "https://*.example.com:8443",
                {"regex": "https://x[0-9]\\.test"},
                {"suffix": ".partner.example.net"},
            ],
            "allow_methods": ["GET", "PUT"],
            "allow_headers": ["*"],
            "expose_headers": ["X-A"],
            "allow_credentials": True,
            "max_age": "86400",
            "allow_private_network": True,
            "preflight_status": 200,
            "unmatched_preflight": "forward",
            "disallowed_origin": "reject",
            "websocket_origin_check": False,
        }
    )
    assert envoy.running
    assert "invalid configuration" not in envoy.log()
