"""Runs the demo's own envoy.yaml for the browser and deploy tests.

The file is used as it is, with only its fixed ports (3000, 8080, 8081, 8082, 8083, 9901) replaced by
free ones chosen at run time, everywhere they appear: listener and cluster ports, the origins of
the policy, the URLs in /config.js. The public listeners are moved from 0.0.0.0 to 127.0.0.1.
Envoy runs with the repository root as working directory, as scripts/demo runs it, so the
relative paths of envoy.yaml (demo/..., target/...) resolve the same way.

Reuses tests/envoy/envoy_harness.py (the other end-to-end suite) for the Envoy binary, the .wasm
build, free ports, raw HTTP requests, admin access and killing Envoy's process group by PID.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

import envoy_harness as harness  # noqa: E402
from envoy_harness import HarnessError  # noqa: E402,F401  (re-exported for the tests)

ARTIFACTS = ROOT / "tests" / "artifacts"
ENVOY_YAML = ROOT / "envoy.yaml"
WASM_RELATIVE = "target/wasm32-wasip1/release/cors_proxy_wasm.wasm"

# The ports envoy.yaml uses, by role.
DEFAULT_PORTS = {"web": 3000, "api": 8080, "upstream": 8081, "api_star": 8082, "api_dry": 8083, "admin": 9901}

# Fetch's "bad ports", which Chromium (net/base/port_util.cc) and Firefox (nsIOService.cpp) both
# refuse to connect to; never handed to a test.
BAD_PORTS = {
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102,
    103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465,
    512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993,
    995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668,
    6669, 6679, 6697, 10080,
}


def free_ports(n: int) -> list[int]:
    """n distinct ports nothing listens on right now (all sockets held until all are chosen)."""
    socks, ports = [], []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            socks.append(s)
            if port not in BAD_PORTS and port not in DEFAULT_PORTS.values():
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


def render_config(ports: dict[str, int], wasm: Path | None = None) -> str:
    """envoy.yaml with its ports replaced; fails loudly if a port is not found or left behind."""
    text = ENVOY_YAML.read_text()
    for role, default in DEFAULT_PORTS.items():
        # `port_value: 3000`, `localhost:3000`, `127.0.0.1:3000`: a port follows ': ' or ':'.
        pattern = re.compile(rf"(?<=[:\s]){default}(?![0-9])")
        text, n = pattern.subn(str(ports[role]), text)
        if n == 0:
            raise HarnessError(f"port {default} ({role}) not found in envoy.yaml")
    defaults = "|".join(str(p) for p in DEFAULT_PORTS.values())
    leftover = re.findall(rf"(?:localhost|127\.0\.0\.1|port_value):? ?({defaults})(?![0-9])", text)
    if leftover:
        raise HarnessError(f"default ports left in the rendered envoy.yaml: {leftover}")
    text = text.replace("address: 0.0.0.0", "address: 127.0.0.1")
    if wasm is not None and wasm.resolve() != (ROOT / WASM_RELATIVE).resolve():
        text = text.replace(WASM_RELATIVE, str(wasm))
    return text


@dataclass
class DemoStack:
    """A running Envoy from envoy.yaml. `envoy` is the harness's Envoy (admin, counters, stop)."""

    envoy: harness.Envoy
    ports: dict[str, int]
    workdir: Path

    @property
    def web(self) -> str:
        return f"http://localhost:{self.ports['web']}"

    @property
    def web_other(self) -> str:
        return f"http://127.0.0.1:{self.ports['web']}"

    @property
    def api(self) -> str:
        return f"http://localhost:{self.ports['api']}"

    @property
    def api_partner(self) -> str:
        """The API listener under the host name its policy's "partner" entry matches."""
        return f"http://127.0.0.1:{self.ports['api']}"

    @property
    def api_star(self) -> str:
        return f"http://localhost:{self.ports['api_star']}"

    @property
    def api_dry(self) -> str:
        return f"http://localhost:{self.ports['api_dry']}"

    def log(self) -> str:
        return self.envoy.log()

    def counter(self, short: str) -> int:
        return self.envoy.counter(f"wasmcustom.cors.{short}") or 0

    def settled_counter(self, short: str, quiet: float = 1.5, timeout: float = 6.0) -> int:
        """The counter once it has not moved for `quiet` seconds (the filter flushes every second)."""
        deadline = time.monotonic() + timeout
        value, since = self.counter(short), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            v = self.counter(short)
            if v != value:
                value, since = v, time.monotonic()
            elif time.monotonic() - since >= quiet:
                break
        return value

    def stop(self) -> None:
        self.envoy.stop()


_LIVE: list[DemoStack] = []


@atexit.register
def _stop_all() -> None:
    for s in _LIVE:
        s.stop()


def fresh_artifacts(name: str) -> Path:
    """An empty tests/artifacts/NAME/ for this run's screenshots and logs."""
    path = ARTIFACTS / name
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return path


def running(name: str) -> Iterator[DemoStack]:
    """Generator for a pytest fixture: the demo Envoy, stopped by PID however the tests end."""
    import pytest

    try:
        stack = start(name)
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


def start(name: str, timeout: float = 25.0) -> DemoStack:
    """Starts Envoy from envoy.yaml on free ports and waits until it serves; the caller stops it
    (fixtures do, in a finalizer, also when tests fail)."""
    wasm = harness.build_wasm()
    binary = harness.envoy_binary()
    ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS))))
    workdir = ARTIFACTS / name
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    cfg = workdir / "envoy.yaml"
    cfg.write_text(render_config(ports, wasm))
    (workdir / "ports.json").write_text(json.dumps(ports, indent=1))
    log_path = workdir / "envoy.log"
    cmd = [
        str(binary), "-c", str(cfg),
        "--concurrency", "1",
        "--disable-hot-restart",
        "-l", "info",
        "--file-flush-interval-msec", "100",
    ]
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    envoy = harness.Envoy(proc, workdir, log_path, workdir / "admin-address", cfg.read_text())
    envoy.admin_port = ports["admin"]
    envoy.port = ports["api"]
    stack = DemoStack(envoy, ports, workdir)
    _LIVE.append(stack)
    try:
        _wait_serving(stack, timeout)
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_serving(stack: DemoStack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = stack.envoy.proc.poll()
        if rc is not None:
            raise HarnessError(f"Envoy (envoy.yaml) exited with status {rc} during start-up\n--- log tail ---\n"
                               f"{harness.tail(stack.log())}")
        try:
            status, _ = stack.envoy.admin_get("/ready", timeout=1.0)
        except OSError:
            status = 0
        if status == 200:
            try:
                for role in ("web", "api", "api_star", "api_dry"):
                    socket.create_connection(("127.0.0.1", stack.ports[role]), timeout=1.0).close()
                return
            except OSError:
                pass
        time.sleep(0.1)
    raise HarnessError(f"Envoy (envoy.yaml) not serving after {timeout:.0f} s\n--- log tail ---\n{harness.tail(stack.log())}")


def filter_policies(config_text: str | None = None) -> dict[str, dict]:
    """The CORS policy of each wasm filter in envoy.yaml: listener name -> parsed JSON."""
    doc = yaml.safe_load(config_text if config_text is not None else ENVOY_YAML.read_text())
    out = {}
    for listener in doc["static_resources"]["listeners"]:
        for chain in listener["filter_chains"]:
            for f in chain["filters"]:
                for hf in f["typed_config"].get("http_filters", []):
                    if hf["name"] == "envoy.filters.http.wasm":
                        out[listener["name"]] = json.loads(hf["typed_config"]["config"]["configuration"]["value"])
    return out
