"""Live policy reload in a real Envoy (two workers), under load.

ECDS (file-based `config_discovery`, the way Istio delivers a WasmPlugin): while curl and
WebSocket clients keep Envoy busy over HTTP/1.1 and HTTP/2, the policy is swapped A -> B, then to
one the filter refuses (C), C again under a new version, then D. Every answer is checked against
the policies that may be live at that moment; once connections opened before a swap have seen
the new policy, one second later only the new one is accepted. The filter's counters must equal
the requests sent per kind, exactly, across all the swaps.

LDS: the same policy change made by replacing the listener instead leaves existing connections
on the old policy until Envoy's drain closes them.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import yaml

import envoy_harness as harness
import loadgen
from envoy_harness import H1Connection, H2Connection, HarnessError

FILTER = "cors"
ECDS_PREFIX = f"extension_config_discovery.http_filter.{FILTER}."

A = dict(loadgen.POLICY)
B = {**A, "max_age": 700, "allow_methods": ["GET", "POST", "PUT", "DELETE", "PATCH"]}
C = {"allow_origins": ["*"], "allow_credentials": True}  # refused: `*` with credentials
D = {**A, "max_age": 800, "allow_headers": ["Content-Type", "Authorization", "X-Requested-With"]}

LOAD_SECONDS = 22.0
SWAP_TIMEOUT = 10.0  # how long an existing connection may take to show a new policy
SETTLE = 1.0  # after existing connections show the new policy, only it may answer


def ecds_stats(envoy: harness.Envoy) -> dict[str, Any]:
    return {k[len(ECDS_PREFIX):]: v for k, v in envoy.stats().items() if k.startswith(ECDS_PREFIX)}


PROBES = {"preflight_allowed": 0}  # the probes below are counted by the filter too


def max_age(conn: H1Connection | H2Connection) -> str | None:
    """The live policy's max_age, from a preflight on an existing connection."""
    PROBES["preflight_allowed"] += 1
    r = conn.request("OPTIONS", "/direct/probe", [("Origin", loadgen.APP), ("Access-Control-Request-Method", "PUT")])
    assert r.status == 204, r.describe()
    return r.get("access-control-max-age")


class Live:
    """The policies an answer may come from right now, oldest first."""

    def __init__(self, label: str, policy: dict[str, Any]):
        self._lock = threading.Lock()
        self._live = [(label, policy)]

    def __call__(self) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            return list(self._live)

    def set(self, *live: tuple[str, dict[str, Any]]) -> None:
        with self._lock:
            self._live = list(live)


@pytest.fixture(scope="module")
def ecds_envoy(wasm, envoy_bin, upstream, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ecds")
    ecds = harness.EcdsFile(workdir / "ecds.yaml", FILTER)
    ecds.write(harness.wasm_filter(wasm, json.dumps(A))["typed_config"])
    boot = harness.bootstrap_with_filter(harness.ecds_filter(FILTER, ecds.path), upstream.port)
    try:
        envoy = harness.start_bootstrap(boot, "reload-ecds", concurrency=2, config=json.dumps(A))
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield envoy, ecds
    finally:
        envoy.stop()


def test_ecds_swaps_under_load(ecds_envoy, wasm, tmp_path):
    envoy, ecds = ecds_envoy
    typed = lambda p: harness.wasm_filter(wasm, json.dumps(p))["typed_config"]  # noqa: E731
    live = Live("A", A)
    PROBES["preflight_allowed"] = 0
    before = harness.cors_counters(envoy)
    stats0 = ecds_stats(envoy)
    # Connections opened before any swap: a swap must reach them without a reconnect.
    h1, h2 = H1Connection(envoy.port), H2Connection(envoy.port)
    assert max_age(h1) == max_age(h2) == "600"

    result: dict[str, Any] = {}
    load = threading.Thread(
        target=lambda: result.update(loadgen.run_load(envoy.port, LOAD_SECONDS, tmp_path, live, h1_workers=1, h2_workers=1,
                                                      websocket_rate=40.0, batch=600, pid=envoy.proc.pid, rss_interval=2.0)),
        daemon=True,
    )
    load.start()
    swaps: dict[str, float] = {}

    def swap(label_old: str, old: dict, label_new: str, new: dict, want_max_age: str) -> None:
        live.set((label_old, old), (label_new, new))
        t0 = time.monotonic()
        ecds.write(typed(new))
        deadline = t0 + SWAP_TIMEOUT
        while not (max_age(h1) == want_max_age and max_age(h2) == want_max_age):
            assert time.monotonic() < deadline, f"policy {label_new} not applied to existing connections in {SWAP_TIMEOUT} s"
            time.sleep(0.02)
        swaps[label_new] = round(time.monotonic() - t0, 3)
        time.sleep(SETTLE)
        live.set((label_new, new))

    def wait_stat(name: str, value: int) -> None:
        deadline = time.monotonic() + SWAP_TIMEOUT
        while ecds_stats(envoy).get(name) != value:
            assert time.monotonic() < deadline, f"{ECDS_PREFIX}{name} never reached {value}: {ecds_stats(envoy)}"
            time.sleep(0.05)

    try:
        time.sleep(3.0)
        swap("A", A, "B", B, "700")
        time.sleep(2.0)

        # A policy the filter refuses: rejected, counted, and B keeps serving (only B may answer).
        ecds.write(typed(C))
        wait_stat("update_rejected", stats0["update_rejected"] + 1)
        after_c = ecds_stats(envoy)
        assert after_c["config_fail"] == stats0["config_fail"] + 1
        assert after_c["update_success"] == stats0["update_success"] + 1  # B only
        assert after_c["config_reload"] == stats0["config_reload"] + 2  # B, and the refused C
        assert "cannot go with allow_credentials: true" in envoy.log()
        assert max_age(h1) == max_age(h2) == "700"
        time.sleep(2.0)

        # The pitfall: the same refused policy under a new version_info counts as a success and
        # shows in /config_dump, while B still serves. config_reload does not move.
        version = ecds.write(typed(C))
        wait_stat("update_success", after_c["update_success"] + 1)
        pitfall = ecds_stats(envoy)
        assert pitfall["version_text"] == version
        assert pitfall["config_reload"] == after_c["config_reload"]
        assert (pitfall["config_fail"], pitfall["update_rejected"]) == (after_c["config_fail"], after_c["update_rejected"])
        _, dump = envoy.admin_get("/config_dump?resource=ecds_filters")
        assert json.dumps(json.dumps(C))[1:-1] in dump, "the refused policy is not what /config_dump shows"
        assert max_age(h1) == max_age(h2) == "700"
        time.sleep(2.0)

        swap("B", B, "D", D, "800")
    finally:
        load.join(timeout=LOAD_SECONDS + 120)
        h1.close()
        h2.close()
    assert not load.is_alive(), "the load did not finish"

    tally: loadgen.Tally = result["tally"]
    expected_counts = tally.expected_counters()
    expected_counts["preflight_allowed"] += PROBES["preflight_allowed"]
    want = {n: before[n] + v for n, v in expected_counts.items()}
    after = harness.wait_cors_counters(envoy, want)
    s = loadgen.summary(result, before, after)
    s["counters_expected"] = expected_counts  # the load's requests and the probes'
    s["probes"] = PROBES["preflight_allowed"]
    report = json.dumps({k: v for k, v in s.items() if k not in ("rss_kib",)} | {"swap_seconds": swaps,
                        "answers_by_policy": {f"{p} {proto}": n for (p, proto), n in tally.by_policy.items()}}, indent=1)
    print(report)
    (envoy.workdir / "reload-figures.json").write_text(report)

    assert s["worker_errors"] == [], report
    assert s["lost"] == 0 and s["wrong"] == 0, report
    assert s["counters"] == s["counters_expected"], report
    # The swaps happened under load: answers came from B and from D, over both protocols.
    for label in ("B", "D"):
        for proto in ("h1", "h2"):
            assert tally.by_policy[(label, proto)] > 0, report
    assert envoy.running


# ------------------------------------------------------------------------------------------------
# LDS, for comparison

OLD = {"allow_origins": ["https://old.example.com"]}
NEW = {"allow_origins": ["https://new.example.com"]}
DRAIN_SECONDS = 4


def test_lds_update_leaves_existing_connections_on_the_old_policy_until_drained(wasm, envoy_bin, upstream, tmp_path):
    lds = tmp_path / "lds.yaml"
    port = harness.free_port()

    def listener(policy: dict) -> dict:
        boot = harness.bootstrap_with_filter(harness.wasm_filter(wasm, json.dumps(policy)), upstream.port)
        lst = boot["static_resources"]["listeners"][0]
        lst["address"]["socket_address"]["port_value"] = port
        return lst

    def publish(policy: dict, version: str) -> None:
        doc = {"version_info": version,
               "resources": [{"@type": "type.googleapis.com/envoy.config.listener.v3.Listener", **listener(policy)}]}
        tmp = tmp_path / "lds.tmp"
        tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
        tmp.replace(lds)

    publish(OLD, "1")
    boot = harness.bootstrap_with_filter(harness.wasm_filter(wasm, json.dumps(OLD)), upstream.port)
    boot["static_resources"]["listeners"] = []
    boot["dynamic_resources"] = {"lds_config": {"path_config_source": {"path": str(lds)}, "resource_api_version": "V3"}}
    try:
        envoy = harness.start_bootstrap(boot, "reload-lds", concurrency=2, extra_args=["--drain-time-s", str(DRAIN_SECONDS)])
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    old_conn = H1Connection(envoy.port)
    try:
        grant = lambda c: c.request("GET", "/direct", [("Origin", "https://new.example.com")]).get("access-control-allow-origin")  # noqa: E731
        assert grant(old_conn) is None

        t0 = time.monotonic()
        publish(NEW, "2")
        while True:  # a new connection gets the new listener, and the new policy
            fresh = H1Connection(envoy.port)
            got = grant(fresh)
            fresh.close()
            if got == "https://new.example.com":
                break
            assert time.monotonic() - t0 < SWAP_TIMEOUT, "the LDS update never applied"
            time.sleep(0.05)

        # The connection opened before: the old policy, on every answer, until Envoy closes it.
        old_answers = 0
        while old_conn.open:
            assert time.monotonic() - t0 < DRAIN_SECONDS + 15, "the old connection was never drained"
            try:
                got = grant(old_conn)
            except harness.ConnectionGone:
                break
            assert got is None, "an existing connection got the new policy before it was drained"
            old_answers += 1
            time.sleep(0.1)
        drained_after = time.monotonic() - t0
        stats = envoy.stats()
        print(f"LDS: {old_answers} answers under the old policy on an existing connection, closed after {drained_after:.1f} s "
              f"(--drain-time-s {DRAIN_SECONDS})")
        assert old_answers >= 1
        assert stats["listener_manager.listener_in_place_updated"] == 1
        assert stats["http.ingress.downstream_cx_drain_close"] >= 1
    finally:
        old_conn.close()
        envoy.stop()
