"""One Envoy with several CORS policies side by side, for asking the browsers how they treat each.

    web          http://localhost:WEB/       an empty page: the origin every policy allows
    NAME         http://localhost:PORT/...   the filter with policy NAME, then the upstream
    upstream     tests/envoy's recording HTTP server: `?set=Name:Value` adds a response header,
                 `?status=NNN` sets the status (it also answers the preflights the filter forwards)

The API listeners log every request (method, path, Access-Control-Request-Headers, status) to
Envoy's output, so a test counts the preflights that reached Envoy for its own path. Loopback
only, ports chosen at run time, Envoy killed by PID (its process group) by stop().
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
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import demo_stack  # noqa: E402
from demo_stack import harness  # noqa: E402

PAGE = "<!doctype html><html><head><meta charset=utf-8><title>policies</title></head><body>policies</body></html>"
ACCESS_LOG = ("%REQ(:METHOD)% %REQ(:PATH)% acrh=%REQ(ACCESS-CONTROL-REQUEST-HEADERS)% "
              "origin=%REQ(ORIGIN)% -> %RESPONSE_CODE%\n")


@dataclass
class PolicyStack:
    envoy: harness.Envoy
    upstream: harness.Upstream
    web_port: int
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def web(self) -> str:
        return f"http://localhost:{self.web_port}"

    def api(self, policy: str) -> str:
        return f"http://localhost:{self.ports[policy]}"

    def requests(self, method: str, path: str) -> list[str]:
        """Access log lines of `method` requests whose path starts with `path`."""
        return re.findall(rf"^{method} {re.escape(path)}\S* .*$", self.envoy.log(), re.M)

    def count(self, method: str, path: str, at_least: int, timeout: float = 3.0) -> int:
        """The number of such requests, once at least `at_least` are logged (or `timeout` s)."""
        deadline = time.monotonic() + timeout
        n = len(self.requests(method, path))
        while n < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
            n = len(self.requests(method, path))
        return n

    def stop(self) -> None:
        """Kills Envoy by PID and closes the upstream. Safe to call twice."""
        self.envoy.stop()
        if self in _LIVE:
            _LIVE.remove(self)
            self.upstream.close()


ROUTER = {"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


_LIVE: list[PolicyStack] = []


@atexit.register
def _stop_all() -> None:
    for s in list(_LIVE):  # stop() removes s from _LIVE
        s.stop()


def _http_filters(name: str, wasm: Path, policy: dict) -> list[dict]:
    return [
        {
            "name": "envoy.filters.http.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
                "config": {
                    "name": f"cors_{name}",
                    "root_id": "cors",
                    "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(policy)},
                    "vm_config": {"vm_id": "cors", "runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": str(wasm)}}},
                },
            },
        },
        ROUTER,
    ]


def _listener(name: str, port: int, routes: list[dict], http_filters: list[dict], log: bool) -> dict:
    hcm: dict = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": name,
        "route_config": {"name": name, "virtual_hosts": [{"name": name, "domains": ["*"], "routes": routes}]},
        "http_filters": http_filters,
    }
    if log:
        hcm["access_log"] = [{
            "name": "envoy.access_loggers.stdout",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                "log_format": {"text_format_source": {"inline_string": ACCESS_LOG}},
            },
        }]
    return {
        "name": name,
        "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}]}],
    }


def start(name: str, policies: dict[str, dict], timeout: float = 25.0) -> PolicyStack:
    """Starts the Envoy; `policies` maps a listener name to its policy, where the string "{web}"
    in allow_origins stands for the page's origin. The caller stops it (fixtures do, in a finalizer)."""
    wasm = harness.build_wasm()
    binary = harness.envoy_binary()
    upstream = harness.Upstream()
    try:
        web_port, admin_port, *api_ports = demo_stack.free_ports(2 + len(policies))
        web = f"http://localhost:{web_port}"
        listeners = [_listener("web", web_port, [
            {"match": {"path": "/"}, "direct_response": {"status": 200, "body": {"inline_string": PAGE}},
             "response_headers_to_add": [{"header": {"key": "content-type", "value": "text/html; charset=utf-8"}}]},
            {"match": {"prefix": "/"}, "direct_response": {"status": 404}},
        ], [ROUTER], log=False)]
        ports = {}
        for (policy_name, policy), port in zip(policies.items(), api_ports):
            policy = dict(policy, allow_origins=[web if o == "{web}" else o for o in policy["allow_origins"]])
            routes = [{"match": {"prefix": "/"}, "route": {"cluster": "upstream", "timeout": "5s"}}]
            listeners.append(_listener(policy_name, port, routes, _http_filters(policy_name, wasm, policy), log=True))
            ports[policy_name] = port
        config = {
            "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin_port}}},
            "static_resources": {
                "listeners": listeners,
                "clusters": [{
                    "name": "upstream", "type": "STATIC", "connect_timeout": "1s",
                    "load_assignment": {"cluster_name": "upstream", "endpoints": [{"lb_endpoints": [{"endpoint": {
                        "address": {"socket_address": {"address": "127.0.0.1", "port_value": upstream.port}}}}]}]},
                }],
            },
        }
        workdir = demo_stack.ARTIFACTS / name
        shutil.rmtree(workdir, ignore_errors=True)
        workdir.mkdir(parents=True)
        cfg = workdir / "envoy.yaml"
        cfg.write_text(yaml.safe_dump(config, sort_keys=False))
        log_path = workdir / "envoy.log"
        cmd = [str(binary), "-c", str(cfg), "--concurrency", "1", "--disable-hot-restart", "-l", "warning",
               "--file-flush-interval-msec", "50"]
        with open(log_path, "wb") as logf:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=workdir)
    except BaseException:
        upstream.close()
        raise
    envoy = harness.Envoy(proc, workdir, log_path, workdir / "admin-address", cfg.read_text())
    envoy.admin_port = admin_port
    stack = PolicyStack(envoy, upstream, web_port, ports)
    _LIVE.append(stack)
    try:
        _wait_serving(stack, [web_port, *api_ports], timeout)
    except BaseException:
        stack.stop()
        raise
    return stack


def _wait_serving(stack: PolicyStack, ports: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rc = stack.envoy.proc.poll()
        if rc is not None:
            raise harness.HarnessError(f"Envoy exited with status {rc} during start-up\n{harness.tail(stack.envoy.log())}")
        try:
            status, _ = stack.envoy.admin_get("/ready", timeout=1.0)
            if status == 200:
                for port in ports:
                    socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise harness.HarnessError(f"Envoy not serving after {timeout:.0f} s\n{harness.tail(stack.envoy.log())}")
