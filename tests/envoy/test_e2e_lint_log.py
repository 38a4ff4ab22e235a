"""The filter logs the risky origin entries of its configuration when it loads it, at warning
level, from the same lint code as `cors-proxy-wasm lint`; a clean configuration logs none."""

from __future__ import annotations

import re

RISKY = {
    "allow_origins": [
        "https://app.example.com",
        {"suffix": "example.com"},
        "null",
        {"safe_regex": {"regex": "https://app.example.org"}},
        {"regex": ".*\\.example\\.net"},
    ],
}
CLEAN = {"allow_origins": ["https://app.example.com", "https://*.example.org"], "max_age": 600}


def warnings(log: str) -> list[str]:
    """The findings logged, each once (every VM that loads the configuration logs them)."""
    return list(dict.fromkeys(re.findall(r"\[warning\]\[wasm\].*?cors-proxy-wasm: configuration: (.*)", log)))


def test_risky_origin_entries_are_logged_at_load(envoys):
    envoy = envoys.get(RISKY)
    assert warnings(envoy.log()) == [
        'allow_origins[1].suffix: text-matcher "example.com"',
        "allow_origins[2]: null-origin",
        'allow_origins[3].safe_regex: regex-unescaped-dot "https://app.example.org"',
        'allow_origins[4].regex: regex-leading-any ".*\\\\.example\\\\.net"',
    ], warnings(envoy.log())
    # The policy is in force all the same.
    r = envoy.request("GET", "/lint-log", [("Origin", "https://shop.example.com")])
    assert r.get("access-control-allow-origin") == "https://shop.example.com", r.describe()


def test_a_clean_configuration_logs_no_warning(envoys):
    envoy = envoys.get(CLEAN)
    assert "cors-proxy-wasm: configuration loaded" in envoy.log()
    assert warnings(envoy.log()) == []
