"""`cors-proxy-wasm explain`: the browser's view of a request (preflight when needed, then the
actual request), the reason of a denial naming what was refused, picking one configuration of
several, and the exit codes."""

from __future__ import annotations

import pytest

from cli_run import FILES, run, run_json

API = ["--config", "envoy.yaml", "--filter", "api", "--url", "http://localhost:8080/api/items/42"]
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def test_a_preflighted_put_then_the_actual_request(cli):
    code, r = run_json(cli, "explain", *API, "--origin", "http://localhost:3000", "--method", "put",
                       "--header", "Content-Type: application/json", "--header", "Authorization")
    assert code == 0 and r["policy"] == "top-level policy", r
    pre, actual = r["exchanges"]
    assert pre["kind"] == "preflight" and pre["request"] == [
        [":method", "OPTIONS"], [":scheme", "http"], [":authority", "localhost:8080"], [":path", "/api/items/42"],
        ["origin", "http://localhost:3000"], ["access-control-request-method", "PUT"],
        ["access-control-request-headers", "authorization,content-type"]]
    assert (pre["decision"], pre["answered_by"], pre["status"]) == ("allowed", "filter", 204)
    assert pre["response"] == [
        ["access-control-allow-origin", "http://localhost:3000"],
        ["access-control-allow-credentials", "true"],
        ["access-control-allow-methods", "GET, POST, PUT, DELETE"],
        ["access-control-allow-headers", "Content-Type, Authorization"],
        ["access-control-max-age", "600"],
        ["vary", PREFLIGHT_VARY],
        ["x-cors-decision", "allowed"]]
    assert (actual["kind"], actual["decision"], actual["answered_by"]) == ("actual request", "allowed", "upstream")
    assert actual["request"][0] == [":method", "PUT"]
    assert ["vary", "Origin"] in actual["response"] and \
        ["access-control-allow-origin", "http://localhost:3000"] in actual["response"]


def test_a_refused_header_is_named_with_the_list(cli):
    proc = run(cli, "explain", *API, "--origin", "http://localhost:3000", "--method", "PUT", "--header", "X-Foo",
               "--header", "Authorization")
    assert proc.returncode == 1, proc.stdout
    assert "denied: header x-foo is not in allow_headers [Content-Type, Authorization]" in proc.stdout, proc.stdout
    assert "the preflight failed, so the browser does not send the actual request" in proc.stdout
    code, r = run_json(cli, "explain", *API, "--origin", "http://localhost:3000", "--method", "PUT",
                       "--header", "X-Foo")
    assert code == 1 and len(r["exchanges"]) == 1 and not r["actual_request_sent"]
    assert r["exchanges"][0]["response"] == [["vary", PREFLIGHT_VARY], ["x-cors-decision", "denied; header x-foo"]]
    assert r["exchanges"][0]["status"] == 403


@pytest.mark.parametrize("args,reason", [
    (["--origin", "http://localhost:3000", "--method", "PATCH"],
     "method PATCH is not in allow_methods [GET, POST, PUT, DELETE]"),
    (["--origin", "https://evil.example", "--method", "PUT"],
     "origin https://evil.example is not in allow_origins [http://localhost:3000]"),
    (["--origin", "https://evil.example"],
     "origin https://evil.example is not in allow_origins [http://localhost:3000]; the response goes out without "
     "CORS headers, so the browser withholds it from the page"),
    (["--origin", "http://localhost:3000", "--preflight", "-H", "Access-Control-Request-Private-Network: true"],
     "private network access was asked for (Access-Control-Request-Private-Network: true) and "
     "allow_private_network is false"),
    (["--origin", "https://evil.example", "--actual", "-H", "Upgrade: websocket", "-H", "Connection: Upgrade"],
     "WebSocket upgrade refused by websocket_origin_check: origin https://evil.example is not in allow_origins "
     "[http://localhost:3000], and the request is not same-origin"),
], ids=["method", "origin-preflight", "origin-actual", "private-network", "websocket"])
def test_reasons_name_what_was_refused(cli, args, reason):
    code, r = run_json(cli, "explain", *API, *args)
    assert code == 1 and r["exchanges"][-1]["reason"] == reason, r


def test_requests_that_are_not_cors(cli):
    code, r = run_json(cli, "explain", *API)
    assert code == 0 and [e["decision"] for e in r["exchanges"]] == ["not CORS"], r
    assert r["exchanges"][0]["response"] == [["vary", "Origin"], ["x-cors-decision", "not cross-origin"]]
    code, r = run_json(cli, "explain", *API, "--origin", "http://localhost:8080")
    assert r["exchanges"][0]["decision"] == "not CORS" and "same-origin" in r["exchanges"][0]["reason"]


def test_the_upstreams_own_cors_headers_are_replaced(cli):
    code, r = run_json(cli, "explain", *API, "--origin", "http://localhost:3000",
                       "--upstream-header", "Access-Control-Allow-Origin: *", "--upstream-header", "X-Api-Version: 1")
    [e] = r["exchanges"]
    assert ["access-control-allow-origin", "*"] not in e["response"] and ["x-api-version", "1"] in e["response"]
    assert "set access-control-allow-origin: http://localhost:3000" in e["edits"], e["edits"]


def test_several_configurations_need_a_choice(cli):
    proc = run(cli, "explain", "--config", "envoy.yaml", "--origin", "http://localhost:3000")
    assert proc.returncode == 2 and "holds 3 configurations" in proc.stderr and "1: envoy.yaml:" in proc.stderr
    assert "api_star" in proc.stderr, proc.stderr
    for pick in ("1", "api_star", "cors_star"):
        code, r = run_json(cli, "explain", "--config", "envoy.yaml", "--filter", pick, "--origin",
                           "http://localhost:3000", "--method", "PUT", "--header", "X-Anything")
        assert code == 0 and r["configuration"]["label"].endswith("cors_star"), (pick, r)
    proc = run(cli, "explain", "--config", "envoy.yaml", "--filter", "nope", "--origin", "http://x.example")
    assert proc.returncode == 2 and "no configuration in envoy.yaml has that name" in proc.stderr


def test_the_istio_manifest_and_a_refused_configuration(cli):
    code, r = run_json(cli, "explain", "--config", "deploy/istio/wasmplugin.yaml", "--origin", "http://localhost:3000")
    assert code == 0 and r["configuration"]["label"].endswith("WasmPlugin demo/cors")
    proc = run(cli, "explain", "--config", str(FILES / "bad-credentials-star.json"), "--origin", "https://a.example")
    assert proc.returncode == 2 and "the filter refuses this configuration" in proc.stderr
    assert "bad-credentials-star.json:2:" in proc.stderr, proc.stderr


def test_warnings_of_the_configuration_are_shown(cli):
    proc = run(cli, "explain", "--config", str(FILES / "risky-policy.json"), "--origin", "https://a.example")
    assert proc.returncode == 1 and "warning" in proc.stdout and "[text-matcher]" not in proc.stdout
    assert "allow_origins[1].suffix: a suffix matcher compares text" in proc.stdout, proc.stdout


def test_usage_errors(cli):
    for args in (["explain"], ["explain", "--config", "envoy.yaml", "--preflight", "--actual"],
                 ["explain", "--config", str(FILES / "good-policy.json"), "--preflight"],
                 ["explain", "--config", str(FILES / "good-policy.json"), "--url", "nope"]):
        proc = run(cli, *args)
        assert proc.returncode == 2 and proc.stderr.startswith("error: "), (args, proc.stderr)
    assert run(cli, "explain", "--help").returncode == 0


GATEWAY = FILES / "gateway-policies.json"


@pytest.mark.parametrize("url,origin,policy,decision,reason_part", [
    ("https://partner.example.com/orders", "https://portal.partner.test", 'policies[0] "partner"', "allowed", None),
    ("https://eu.partner.example.com:8443/orders", "https://www.example.com", 'policies[0] "partner"', "denied",
     "origin https://www.example.com is not in allow_origins [https://portal.partner.test]"),
    ("https://api.example.com/healthz", "https://evil.test", 'policies[1] "health" ("cors": false)', "not CORS",
     '"cors": false entry'),
    ("https://www.example.com/", "https://www.example.com", "top-level policy", "allowed", None),
])
def test_the_policy_entry_that_decides_is_named(cli, url, origin, policy, decision, reason_part):
    code, r = run_json(cli, "explain", "--config", str(GATEWAY), "--url", url, "--origin", origin)
    assert r["policy"] == policy, r
    last = r["exchanges"][-1]
    assert last["decision"] == decision, r
    if reason_part:
        assert reason_part in last["reason"], r
    assert code == (1 if decision == "denied" else 0)
    proc = run(cli, "explain", "--config", str(GATEWAY), "--url", url, "--origin", origin)
    assert policy in proc.stdout, proc.stdout
