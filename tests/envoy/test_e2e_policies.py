"""One filter, many APIs, in a real Envoy: policies per host and path with inheritance and
`"cors": false`, the decision header on allowed, denied and locally answered requests, dry run
against an upstream that sends its own CORS headers, the counters per reason and per named
entry with their Prometheus labels, and gRPC-web behind Envoy's grpc_web filter."""

from __future__ import annotations

import json
import re
import time
from typing import Iterator

import pytest

import envoy_harness as harness
from envoy_harness import assert_cors, uniq

WWW = "https://www.example.com"
PARTNER = "https://portal.partner.test"
ADMIN = "https://admin.example.com"
EVIL = "https://evil.test"

GATEWAY = {
    "allow_origins": [WWW],
    "allow_methods": ["GET", "POST", "PUT"],
    "expose_headers": ["X-Request-Id"],
    "debug_header": True,
    "policies": [
        {"name": "health", "match": {"path_prefix": "/healthz"}, "cors": False},
        {
            "name": "partner",
            "match": {"hosts": ["partner.example.com", "*.partner.example.com"]},
            "allow_origins": [PARTNER],
            "allow_credentials": True,
        },
        {
            "name": "admin",
            "match": {"hosts": ["api.example.com"], "path_prefix": "/admin/"},
            "allow_origins": [ADMIN],
            "disallowed_origin": "reject",
        },
        {"match": {"path_regex": "/v[0-9]+/public/.*"}, "allow_origins": ["*"]},
    ],
}

DECISION = "x-cors-decision"


def decision(resp) -> str | None:
    return resp.get(DECISION)


@pytest.mark.parametrize("host", ["partner.example.com", "eu.partner.example.com", "EU.Partner.Example.com:8443"])
def test_a_host_gets_its_entry_and_inherits_the_rest(envoys, upstream, host):
    envoy = envoys.get(GATEWAY)
    path = uniq("/orders")
    resp = envoy.request("GET", path, [("Origin", PARTNER)], host=host)
    assert resp.status == 200, resp.describe()
    assert len(upstream.seen(path)) == 1
    assert_cors(
        resp,
        {
            "access-control-allow-origin": PARTNER,
            "access-control-allow-credentials": "true",
            "access-control-expose-headers": "X-Request-Id",  # inherited
        },
    )
    assert decision(resp) == "allowed; policy=partner"
    # The top-level origin is not the partner entry's.
    resp = envoy.request("GET", path, [("Origin", WWW)], host=host)
    assert resp.cors() == {}, resp.describe()
    assert decision(resp) == "denied; origin; policy=partner"


def test_other_hosts_get_the_top_level_policy(envoys, upstream):
    envoy = envoys.get(GATEWAY)
    for host, origin, allowed in [("www.example.com", WWW, True), ("partner.example.com.evil.net", WWW, True), ("example.com", PARTNER, False)]:
        resp = envoy.request("GET", uniq("/x"), [("Origin", origin)], host=host)
        assert resp.status == 200
        assert (resp.get("access-control-allow-origin") == origin) is allowed, resp.describe()
        assert decision(resp) == ("allowed" if allowed else "denied; origin")


def test_a_path_entry_answers_locally_with_its_own_settings(envoys, upstream):
    envoy = envoys.get(GATEWAY)
    path = uniq("/admin/users")
    # Reject mode on this entry only: a local 403 that carries the decision.
    resp = envoy.request("GET", path, [("Origin", EVIL)], host="api.example.com")
    assert resp.status == 403, resp.describe()
    assert upstream.seen(path) == []
    assert decision(resp) == "denied; origin; policy=admin"
    # Its preflight, answered by the filter, with the inherited methods.
    resp = envoy.preflight(path, ADMIN, "PUT", extra=[("Host", "api.example.com")])
    assert resp.status == 204, resp.describe()
    assert resp.get("access-control-allow-methods") == "GET, POST, PUT"
    assert decision(resp) == "allowed; policy=admin"
    resp = envoy.preflight(path, ADMIN, "PUT", "x-evil", extra=[("Host", "api.example.com")])
    assert resp.status == 403, resp.describe()
    assert decision(resp) == "denied; header x-evil; policy=admin"
    # The same path on another host is not this entry's: the top-level policy omits.
    resp = envoy.request("GET", uniq("/admin/users"), [("Origin", EVIL)], host="www.example.com")
    assert resp.status == 200 and decision(resp) == "denied; origin"


def test_a_path_regex_entry_matches_the_whole_path_without_query(envoys, upstream):
    envoy = envoys.get(GATEWAY)
    resp = envoy.request("GET", uniq("/v2/public/doc") + "?x=1", [("Origin", EVIL)])
    assert_cors(resp, {"access-control-allow-origin": "*", "access-control-expose-headers": "X-Request-Id"})
    resp = envoy.request("GET", uniq("/v2/publicity"), [("Origin", EVIL)])
    assert resp.cors() == {}, resp.describe()


def test_cors_false_leaves_request_and_response_alone(envoys, upstream):
    envoy = envoys.get(GATEWAY)
    path = uniq("/healthz")
    # A preflight goes upstream; the upstream's own headers come back untouched, no Vary, no
    # decision header.
    resp = envoy.request(
        "OPTIONS",
        path + "?set=Access-Control-Allow-Origin:https://anything.test",
        [("Origin", EVIL), ("Access-Control-Request-Method", "DELETE")],
        host="api.example.com",
    )
    assert resp.status == 200, resp.describe()
    assert [r.method for r in upstream.seen(path)] == ["OPTIONS"]
    assert resp.cors() == {"access-control-allow-origin": ["https://anything.test"]}
    assert resp.all("vary") == [] and decision(resp) is None


def test_counters_per_named_entry_and_reason(envoys, upstream):
    envoy = envoys.fresh(GATEWAY)
    for _ in range(2):
        envoy.request("GET", uniq("/o"), [("Origin", PARTNER)], host="partner.example.com")
    envoy.preflight(uniq("/o"), PARTNER, "DELETE", extra=[("Host", "partner.example.com")])
    envoy.preflight(uniq("/o"), PARTNER, "GET", "x-evil", extra=[("Host", "partner.example.com")])
    envoy.preflight(uniq("/o"), EVIL, "GET", extra=[("Host", "www.example.com")])
    envoy.request("GET", uniq("/o") + "?set=Access-Control-Allow-Origin:*", [("Origin", WWW)], host="www.example.com")
    envoy.request("GET", uniq("/admin/x"), [("Origin", EVIL)], host="api.example.com")
    envoy.request("GET", uniq("/healthz"), [("Origin", EVIL)])
    want = {
        "cors.policy.partner.actual_allowed": 2,
        "cors.policy.partner.preflight_denied": 2,
        "cors.policy.partner.preflight_denied_by.method": 1,
        "cors.policy.partner.preflight_denied_by.header": 1,
        "cors.preflight_denied": 1,
        "cors.preflight_denied_by.origin": 1,
        "cors.actual_allowed": 1,
        "cors.upstream_replaced": 1,
        "cors.policy.admin.rejected": 1,
        "cors.policy.health.actual_denied": -1,  # a "cors": false entry has no counters
        "cors.actual_denied": 0,
    }
    assert harness.wait_custom_stats(envoy, want) == want


# ------------------------------------------------------------------------------------------------
# Dry run

DRY = {"allow_origins": [WWW], "allow_methods": ["GET", "PUT"], "expose_headers": ["X-Request-Id"], "mode": "dry_run"}


def test_dry_run_changes_nothing_and_counts_each_difference(envoys, upstream):
    envoy = envoys.fresh(DRY)
    offset = envoy.log_path.stat().st_size
    # The application grants `*`; the policy would grant the origin itself: one mismatch,
    # and the response is exactly the application's.
    path = uniq("/dry") + "?set=Access-Control-Allow-Origin:*&set=Vary:Accept"
    resp = envoy.request("GET", path, [("Origin", WWW)])
    assert resp.status == 200
    assert resp.cors() == {"access-control-allow-origin": ["*"]} and resp.all("vary") == ["Accept"], resp.describe()
    # The application already sends what the policy would: no mismatch.
    path = uniq("/dry") + f"?set=Access-Control-Allow-Origin:{WWW}&set=Access-Control-Expose-Headers:x-request-id"
    assert envoy.request("GET", path, [("Origin", WWW)]).status == 200
    # A preflight the policy would answer itself goes to the application, which says nothing.
    path = uniq("/dry-pf")
    resp = envoy.preflight(path, WWW, "PUT")
    assert resp.status == 200 and resp.cors() == {}, resp.describe()
    assert [r.method for r in upstream.seen(path)] == ["OPTIONS"]
    # A request the policy would refuse (a WebSocket from another site) is not refused; that
    # the application serves it is a difference too.
    ws = uniq("/ws")
    resp = envoy.request("GET", ws, [("Origin", EVIL), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13")])
    assert resp.status == 101, resp.describe()
    want = {
        "cors.dry_run_checked": 4,
        "cors.dry_run_mismatch": 3,
        "cors.actual_allowed": 2,
        "cors.preflight_allowed": 1,
        "cors.websocket_rejected": 1,
    }
    assert harness.wait_custom_stats(envoy, want) == want
    log = envoy.log_path.read_bytes()[offset:].decode("utf-8", "replace")
    assert 'dry run: access-control-allow-origin differs: policy "https://www.example.com", application "*"' in log, log[-2000:]
    assert 'dry run: access-control-allow-origin differs: policy "https://www.example.com", application (none)' in log, log[-2000:]
    assert 'dry run: :status differs: policy "403", application "101"' in log, log[-2000:]


# ------------------------------------------------------------------------------------------------
# Prometheus labels and gRPC-web, on bootstraps of their own

STATS_TAGS = [
    {"tag_name": "cors_policy", "regex": r"^wasmcustom\.cors\.(policy\.([^.]+)\.)"},
    {"tag_name": "cors_reason", "regex": r"^wasmcustom\.cors\.(?:policy\.[^.]+\.)?preflight_denied_by(\.([a-z_]+))$"},
]


@pytest.fixture(scope="module")
def tagged(wasm, envoy_bin, upstream) -> Iterator[harness.Envoy]:
    boot = harness.bootstrap(wasm, json.dumps(GATEWAY), upstream.port, jwt=False)
    boot["stats_config"] = {"stats_tags": STATS_TAGS}
    envoy = harness.start_bootstrap(boot, "policies-stats-tags")
    yield envoy
    envoy.stop()


def test_stats_tags_turn_entry_and_reason_into_prometheus_labels(tagged, upstream):
    tagged.preflight(uniq("/o"), PARTNER, "GET", "x-evil", extra=[("Host", "partner.example.com")])
    tagged.preflight(uniq("/o"), EVIL, "GET", extra=[("Host", "www.example.com")])
    tagged.request("GET", uniq("/o"), [("Origin", PARTNER)], host="partner.example.com")
    # Envoy drops the `wasmcustom.` prefix of a wasm filter's own metrics in this format.
    want = [
        'cors_preflight_denied_by{cors_policy="partner",cors_reason="header"} 1',
        'cors_preflight_denied_by{cors_reason="origin"} 1',
        'cors_preflight_denied{cors_policy="partner"} 1',
        "cors_preflight_denied{} 1",
        'cors_actual_allowed{cors_policy="partner"} 1',
    ]
    deadline = time.monotonic() + 5
    while True:
        _, text = tagged.admin_get("/stats/prometheus")
        lines = set(text.splitlines())
        missing = [w for w in want if w not in lines]
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    shown = "\n".join(line for line in text.splitlines() if line.startswith("cors_"))
    assert not missing, f"missing {missing}\n{shown}"
    # A `"cors": false` entry counts nothing, so it has no counters.
    assert 'cors_policy="health"' not in text


GRPC_WEB_POLICY = {
    "allow_origins": [WWW],
    "allow_methods": ["POST"],
    "allow_headers": ["content-type", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization"],
    "expose_headers": ["grpc-status", "grpc-message", "grpc-status-details-bin"],
    "max_age": 7200,
}


@pytest.fixture(scope="module")
def grpc_web(wasm, envoy_bin, upstream) -> Iterator[harness.Envoy]:
    boot = harness.bootstrap(wasm, json.dumps(GRPC_WEB_POLICY), upstream.port, jwt=False)
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    # cors → grpc_web → router, as Envoy's own gRPC-web set-up has it.
    hcm["http_filters"].insert(
        1, {"name": "envoy.filters.http.grpc_web", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"}}
    )
    # A service that fails every call with a trailers-only response: status and message in
    # the response headers, no body.
    main = hcm["route_config"]["virtual_hosts"][1]
    main["routes"].insert(
        0,
        {
            "match": {"prefix": "/grpc.test.Echo/"},
            "direct_response": {"status": 200},
            "response_headers_to_add": [
                {"header": {"key": "content-type", "value": "application/grpc"}},
                {"header": {"key": "grpc-status", "value": "7"}},
                {"header": {"key": "grpc-message", "value": "caller may not echo"}},
            ],
        },
    )
    envoy = harness.start_bootstrap(boot, "grpc-web")
    yield envoy
    envoy.stop()


def test_grpc_web_error_is_readable_by_the_page(grpc_web):
    path = "/grpc.test.Echo/Say"
    resp = grpc_web.preflight(path, WWW, "POST", "content-type,x-grpc-web,x-user-agent")
    assert resp.status == 204, resp.describe()
    assert resp.get("access-control-allow-headers") == "content-type, x-grpc-web, x-user-agent, grpc-timeout, authorization"
    resp = grpc_web.request(
        "POST",
        path,
        [
            ("Origin", WWW),
            ("Content-Type", "application/grpc-web+proto"),
            ("X-Grpc-Web", "1"),
            ("X-User-Agent", "grpc-web-javascript/0.1"),
        ],
        body=b"\x00\x00\x00\x00\x00",
    )
    assert resp.status == 200, resp.describe()
    assert resp.get("grpc-status") == "7" and resp.get("grpc-message") == "caller may not echo", resp.describe()
    assert re.match(r"application/grpc-web", resp.get("content-type") or ""), resp.describe()
    assert_cors(
        resp,
        {
            "access-control-allow-origin": WWW,
            "access-control-expose-headers": "grpc-status, grpc-message, grpc-status-details-bin",
        },
    )
