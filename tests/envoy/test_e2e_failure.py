"""Failure containment: what clients get when the filter's VM fails, under each failure policy.

A test-only build (`--features test-trap`, built into target/test-trap so it never replaces the
real one) makes the VM trap when a request carries `x-cors-test-trap`. Envoy 1.40's wasm
PluginConfig has `failure_policy` FAIL_CLOSED (the default), FAIL_OPEN and FAIL_RELOAD (with
`reload_config.backoff`, 1 s base by default), and the deprecated `fail_open: true`. Istio's
WasmPlugin `failStrategy` sets the same field (FAIL_CLOSE -> FAIL_CLOSED, FAIL_OPEN -> FAIL_OPEN,
FAIL_RELOAD -> FAIL_RELOAD); the Istio cases deliver it as istiod does, over ECDS.

Measured here, one worker:
  FAIL_CLOSED: the failing request and every later one get 503, upstream untouched, until Envoy
    restarts.
  FAIL_OPEN:   the failing request gets 503; later ones skip the filter: no CORS headers,
    preflights reach the upstream, and a cross-site WebSocket handshake is let through.
  fail_open:   as FAIL_OPEN, and the failing request itself goes upstream.
  FAIL_RELOAD: 503 until a new VM is up (about a second), then the policy is back; the counters
    flushed before the failure are kept.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import envoy_harness as harness
from envoy_harness import HarnessError, uniq

ROOT = harness.ROOT
TRAP_TARGET = ROOT / "target" / "test-trap"
TRAP_WASM = TRAP_TARGET / "wasm32-wasip1" / "release" / "cors_proxy_wasm.wasm"

APP = "https://app.example.com"
EVIL = "https://evil.example.net"
POLICY = {"allow_origins": [APP], "allow_methods": ["GET", "PUT"], "max_age": 600}
TRAP = [("Origin", APP), ("x-cors-test-trap", "1")]
WS = [("Origin", EVIL), ("Connection", "Upgrade"), ("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"),
      ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
VM_FAILED_LOG = "Function: proxy_on_request_headers failed: Uncaught RuntimeError: unreachable"
RECOVERY_TIMEOUT = 20.0


@pytest.fixture(scope="module")
def trap_wasm() -> Path:
    """The filter built with `--features test-trap`, rebuilt when src/ is newer."""
    if TRAP_WASM.is_file() and TRAP_WASM.stat().st_mtime >= harness._newest_source_mtime():
        return TRAP_WASM
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo not found: install Rust with rustup, then run scripts/setup", pytrace=False)
    proc = subprocess.run(
        [cargo, "build", "--release", "--target", "wasm32-wasip1", "--features", "test-trap"],
        cwd=ROOT, env={**os.environ, "CARGO_TARGET_DIR": str(TRAP_TARGET)}, capture_output=True, text=True, timeout=1800,
    )
    if proc.returncode != 0 or not TRAP_WASM.is_file():
        pytest.fail(f"building the test-trap filter failed:\n{harness.tail(proc.stderr, 40)}", pytrace=False)
    return TRAP_WASM


# (id, how the plugin is configured, what a failed VM does: closed / open / reload, the trapping
# request goes upstream)
CASES = [
    ("default", {}, "closed", False, False),
    ("FAIL_CLOSED", {"failure_policy": "FAIL_CLOSED"}, "closed", False, False),
    ("FAIL_OPEN", {"failure_policy": "FAIL_OPEN"}, "open", False, False),
    ("FAIL_RELOAD", {"failure_policy": "FAIL_RELOAD"}, "reload", False, False),
    ("fail_open-deprecated", {"fail_open": True}, "open", True, False),
    ("istio-FAIL_CLOSE", {"fail_open": False, "failure_policy": "FAIL_CLOSED"}, "closed", False, True),
    ("istio-FAIL_OPEN", {"fail_open": False, "failure_policy": "FAIL_OPEN"}, "open", False, True),
    ("istio-FAIL_RELOAD", {"fail_open": False, "failure_policy": "FAIL_RELOAD"}, "reload", False, True),
]


def start(trap_wasm: Path, upstream: harness.Upstream, case_id: str, plugin: dict, istio: bool, tmp: Path) -> harness.Envoy:
    config = json.dumps(POLICY, separators=(",", ":")) if istio else json.dumps(POLICY)
    entry = harness.wasm_filter(trap_wasm, config, **plugin)
    files: dict[str, str] = {}
    if istio:
        # As istiod sends a WasmPlugin: an ECDS resource named after it, root_id from pluginName.
        name = "extensions.istio.io/wasmplugin/demo.cors"
        typed = entry["typed_config"]
        typed["config"]["name"] = "demo.cors"
        typed["config"]["root_id"] = ""
        ecds = harness.EcdsFile(tmp / "ecds.yaml", name)
        ecds.write(typed)
        entry = harness.ecds_filter(name, ecds.path)
    boot = harness.bootstrap_with_filter(entry, upstream.port)
    try:
        return harness.start_bootstrap(boot, f"failure-{case_id}", config=config, files=files)
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.mark.parametrize("case_id,plugin,mode,trap_passes,istio", CASES, ids=[c[0] for c in CASES])
def test_vm_failure(trap_wasm, upstream, tmp_path, case_id, plugin, mode, trap_passes, istio):
    envoy = start(trap_wasm, upstream, case_id, plugin, istio, tmp_path)
    try:
        # Before: the policy applies, and its count reaches Envoy's stats.
        r = envoy.request("GET", uniq("/before"), [("Origin", APP)])
        assert r.status == 200 and r.all("access-control-allow-origin") == [APP], r.describe()
        assert envoy.wait_counter("wasmcustom.cors.actual_allowed", lambda v: v == 1) == 1

        # The VM fails on this request.
        trap_path = uniq("/trap")
        r = envoy.request("GET", trap_path, TRAP)
        if trap_passes:
            assert r.status == 200 and r.cors() == {} and len(upstream.seen(trap_path)) == 1, r.describe()
        else:
            assert r.status == 503 and r.cors() == {} and upstream.seen(trap_path) == [], r.describe()
        assert VM_FAILED_LOG in envoy.log()

        get_path, pf_path = uniq("/after"), uniq("/after-pf")
        if mode == "closed":
            for _ in range(3):
                for path, method, hdrs in ((get_path, "GET", [("Origin", APP)]), (uniq("/no-origin"), "GET", []),
                                           (pf_path, "OPTIONS", [("Origin", APP), ("Access-Control-Request-Method", "PUT")])):
                    r = envoy.request(method, path, hdrs)
                    assert r.status == 503 and r.cors() == {}, r.describe()
                    assert upstream.seen(path) == []
                r = envoy.request("GET", "/ws", WS)
                assert r.status == 503, r.describe()
                time.sleep(0.5)
            counts = {"actual_allowed": 1}
        elif mode == "open":
            r = envoy.request("GET", get_path, [("Origin", APP)])
            assert r.status == 200 and r.cors() == {} and r.all("vary") == [], r.describe()
            assert len(upstream.seen(get_path)) == 1
            r = envoy.request("OPTIONS", pf_path, [("Origin", APP), ("Access-Control-Request-Method", "PUT")])
            assert r.status == 200 and r.cors() == {}, r.describe()
            assert len(upstream.seen(pf_path)) == 1, "FAIL_OPEN: the preflight reaches the upstream"
            r = envoy.request("GET", uniq("/ws"), WS)
            assert r.status == 101, f"FAIL_OPEN: the WebSocket origin check is gone\n{r.describe()}"
            counts = {"actual_allowed": 1}
        else:
            # FAIL_RELOAD: 503 until a new VM is up, then the policy again.
            t0 = time.monotonic()
            refused = 0
            while True:
                path = uniq("/recover")
                r = envoy.request("GET", path, [("Origin", APP)])
                if r.status == 200:
                    break
                assert r.status == 503 and upstream.seen(path) == [], r.describe()
                refused += 1
                assert time.monotonic() - t0 < RECOVERY_TIMEOUT, "the VM was not reloaded"
                time.sleep(0.05)
            print(f"{case_id}: {refused} requests answered 503 over {time.monotonic() - t0:.2f} s before the new VM")
            assert r.all("access-control-allow-origin") == [APP], r.describe()
            r = envoy.request("OPTIONS", pf_path, [("Origin", APP), ("Access-Control-Request-Method", "PUT")])
            assert r.status == 204 and r.all("access-control-allow-origin") == [APP], r.describe()
            assert upstream.seen(pf_path) == []
            r = envoy.request("GET", uniq("/ws"), WS)
            assert r.status == 403 and r.all("vary") == ["Origin"], r.describe()
            stats = envoy.stats()
            reloads = {k: v for k, v in stats.items() if k.endswith((".vm_reload_success", ".vm_reload_failure"))}
            assert sum(v for k, v in reloads.items() if k.endswith("success")) == 1, reloads
            assert sum(v for k, v in reloads.items() if k.endswith("failure")) == 0, reloads
            # The count flushed before the failure is kept; the new VM counts from there.
            counts = {"actual_allowed": 2, "preflight_allowed": 1, "websocket_rejected": 1}
        got = harness.wait_cors_counters(envoy, counts)
        assert got == {n: counts.get(n, 0) for n in harness.CORS_COUNTERS}, got
        assert envoy.running
    finally:
        envoy.stop()


def test_fail_reload_survives_repeated_failures(trap_wasm, upstream, tmp_path):
    """A request that always makes the VM fail (a query of death) costs a window of 503s each
    time under FAIL_RELOAD; the policy comes back after every one."""
    envoy = start(trap_wasm, upstream, "reload-repeated", {"failure_policy": "FAIL_RELOAD"}, False, tmp_path)
    try:
        windows = []
        for attempt in range(3):
            r = envoy.request("GET", uniq("/trap"), TRAP)
            assert r.status == 503, r.describe()
            t0 = time.monotonic()
            while True:
                r = envoy.request("GET", uniq("/recover"), [("Origin", APP)])
                if r.status == 200:
                    break
                assert r.status == 503, r.describe()
                assert time.monotonic() - t0 < RECOVERY_TIMEOUT * 2, f"no recovery after failure {attempt + 1}"
                time.sleep(0.05)
            windows.append(round(time.monotonic() - t0, 2))
            assert r.all("access-control-allow-origin") == [APP], r.describe()
        print(f"FAIL_RELOAD: 503 windows after each of 3 failures: {windows} s")
        assert envoy.log().count(VM_FAILED_LOG) == 3
        success = sum(v for k, v in envoy.stats().items() if k.endswith(".vm_reload_success"))
        assert success == 3
    finally:
        envoy.stop()
