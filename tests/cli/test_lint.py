"""`cors-proxy-wasm lint`: a table of good, risky and bad files with their exit codes and the exact
problems (severity, code, field path, file line); the project's own envoy.yaml and Istio
manifest; output for terminals and for tools."""

from __future__ import annotations

import json

import pytest

import demo_stack
from cli_run import FILES, ROOT, run, run_json

RISKY_POLICY = [
    ("warning", "plain-http-origin", "allow_origins[0]", 3),
    ("warning", "text-matcher", "allow_origins[1].suffix", 4),
    ("warning", "regex-unescaped-dot", "allow_origins[2].safe_regex", 5),
    ("warning", "null-origin", "allow_origins[3]", 6),
    ("warning", "wildcard-over-public-suffix", "allow_origins[4]", 7),
    ("warning", "forbidden-method", "allow_methods[1]", 9),
    ("warning", "forbidden-header", "allow_headers[1]", 10),
    ("warning", "max-age-above-browser-cap", "max_age", 11),
]

# file, extra arguments, exit status, problems (severity, code, path, line)
CASES = [
    ("good-policy.json", [], 0, []),
    ("good-policy.json", ["--strict"], 0, []),
    ("good-ecds.yaml", ["--strict"], 0, []),
    ("good-wasmplugins.yaml", ["--strict"], 0, []),
    ("risky-policy.json", [], 0, RISKY_POLICY),
    ("risky-policy.json", ["--strict"], 1, RISKY_POLICY),
    ("risky-envoy.yaml", [], 0, [("warning", "text-matcher", "allow_origins[1].prefix", 25)]),
    ("risky-envoy.yaml", ["--strict"], 1, [("warning", "text-matcher", "allow_origins[1].prefix", 25)]),
    ("bad-credentials-star.json", [], 2, [("error", "invalid-configuration", "allow_origins[0]", 2)]),
    ("bad-syntax.json", [], 2, [("error", "invalid-configuration", "", 4)]),
    ("bad-duplicate-key.json", [], 2, [("error", "invalid-configuration", "", 4)]),
    ("bad-envoy.yaml", [], 2, [("error", "invalid-configuration", "allow_origins[1]", 25)]),
    ("bad-wasmplugin.yaml", [], 2, [("error", "invalid-configuration", "allow_methods[1]", 13)]),
    ("bad-bytes-value.yaml", [], 2, [("error", "unreadable-configuration", "configuration", 7)]),
    # Entries of `policies`: findings and errors name the entry; an inherited field's error
    # points at the top-level line it comes from.
    ("risky-policies.json", ["--strict"], 1, [
        ("warning", "text-matcher", "policies[0].allow_origins[1].suffix", 5),
        ("warning", "max-age-above-browser-cap", "policies[1].max_age", 6)]),
    ("bad-policies.json", [], 2, [("error", "invalid-configuration", "policies[0] inherits allow_origins[1]", 2)]),
    # The only wasm filter runs other code: named with --code, its `{}` lacks allow_origins.
    ("bad-not-this-filter.yaml", ["--code", "other_filter"], 2,
     [("error", "invalid-configuration", "allow_origins", 6)]),
]


def problems(report: dict) -> list[tuple]:
    return [(p["severity"], p["code"], p["path"], p["line"])
            for f in report["files"] for c in f["configurations"] for p in c["problems"]]


@pytest.mark.parametrize("name,args,status,expected", CASES,
                         ids=[f"{c[0]}{''.join(' ' + a for a in c[1])}" for c in CASES])
def test_table_of_files(cli, name, args, status, expected):
    code, report = run_json(cli, "lint", *args, str(FILES / name))
    assert code == status == report["exit_code"], report
    assert problems(report) == expected, json.dumps(report, indent=1)
    # The terminal output says the same, one line per problem, with file:line.
    proc = run(cli, "lint", *args, str(FILES / name))
    assert proc.returncode == status, proc.stdout + proc.stderr
    for severity, code_name, _, line in expected:
        assert f"{FILES / name}:{line}: {severity}: " in proc.stdout and f"[{code_name}]" in proc.stdout, proc.stdout


def test_a_file_without_this_filter_is_an_error(cli):
    proc = run(cli, "lint", str(FILES / "bad-not-this-filter.yaml"))
    assert proc.returncode == 2, proc.stdout
    assert "no configuration of this filter found" in proc.stderr, proc.stderr
    assert 'loads "/opt/other_filter.wasm", not this filter' in proc.stderr, proc.stderr


def test_unreadable_and_non_yaml_files(cli, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\nb: 3\n")
    for path, text in [(tmp_path / "missing.json", "cannot read"), (broken, "not YAML or JSON")]:
        proc = run(cli, "lint", str(path))
        assert proc.returncode == 2 and text in proc.stderr, proc.stderr


def test_several_files_take_the_worst_status(cli):
    code, report = run_json(cli, "lint", str(FILES / "good-policy.json"), str(FILES / "risky-policy.json"))
    assert (code, report["configurations"], report["warnings"], report["errors"]) == (0, 2, 8, 0)
    code, report = run_json(cli, "lint", "--strict", str(FILES / "risky-policy.json"), str(FILES / "bad-syntax.json"))
    assert (code, report["errors"]) == (2, 1)


def test_standard_input(cli):
    proc = run(cli, "lint", "-", stdin=(FILES / "bad-credentials-star.json").read_text())
    assert proc.returncode == 2 and "-:2: error: allow_origins[0]" in proc.stdout, proc.stdout


def test_the_projects_envoy_yaml(cli):
    """The three filter configurations of the demo's envoy.yaml are found, as the filter gets them,
    and accepted; their only findings are notes (GET and POST need no preflight)."""
    code, report = run_json(cli, "lint", "--strict", "envoy.yaml")
    assert code == 0 and report["errors"] == report["warnings"] == 0, report
    configs = report["files"][0]["configurations"]
    assert [c["label"].split(": ", 1)[1] for c in configs] == [
        "api › envoy.filters.http.wasm › cors", "api_star › envoy.filters.http.wasm › cors_star",
        "api_dry › envoy.filters.http.wasm › cors_dry"]
    assert {p["code"] for c in configs for p in c["problems"]} == {"safelisted-method"}
    assert len(demo_stack.filter_policies()) == len(configs)


def test_the_projects_istio_manifest(cli):
    code, report = run_json(cli, "lint", "--strict", "deploy/istio/wasmplugin.yaml")
    assert code == 0 and report["configurations"] == 1 and report["errors"] == report["warnings"] == 0, report
    assert report["files"][0]["configurations"][0]["label"].endswith("WasmPlugin demo/cors")


def test_a_broken_copy_of_the_istio_manifest_is_refused_on_its_line(cli, tmp_path):
    text = (ROOT / "deploy/istio/wasmplugin.yaml").read_text()
    broken = tmp_path / "wasmplugin.yaml"
    broken.write_text(text.replace("    - http://localhost:3000", '    - "*"'))
    line = next(i for i, l in enumerate(broken.read_text().splitlines(), 1) if l == '    - "*"')
    code, report = run_json(cli, "lint", str(broken))
    assert code == 2 and problems(report) == [("error", "invalid-configuration", "allow_origins[0]", line)], report


def test_colour_only_on_request_and_never_with_no_color(cli):
    plain = run(cli, "lint", str(FILES / "risky-policy.json"))
    assert "\x1b[" not in plain.stdout, "colour on a pipe"
    forced = run(cli, "lint", str(FILES / "risky-policy.json"), env={"CLICOLOR_FORCE": "1"})
    assert "\x1b[" in forced.stdout
    assert forced.stdout != plain.stdout
    no_color = run(cli, "lint", str(FILES / "risky-policy.json"), env={"NO_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout


def test_usage_errors(cli):
    for args in (["lint"], ["lint", "--nope", "x"], ["frobnicate"], []):
        proc = run(cli, *args)
        assert proc.returncode == 2 and "usage:" in proc.stderr, (args, proc.stderr)
    assert run(cli, "lint", "--help").returncode == 0
