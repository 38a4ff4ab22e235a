"""Deployment artefacts: docker-compose.yml, the Istio WasmPlugin and its OCI Dockerfile,
envoy.yaml and the smoke script.

No Docker engine is needed: compose files are checked with `docker compose config` (or
docker-compose v1), and the Istio case runs Envoy with the filter configured the way Istio
configures a WasmPlugin (an ECDS-delivered envoy.filters.http.wasm whose configuration is the
pluginConfig as a JSON StringValue)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import demo_stack
from demo_stack import ROOT, harness

COMPOSE_FILE = ROOT / "docker-compose.yml"
WASMPLUGIN = ROOT / "deploy" / "istio" / "wasmplugin.yaml"
DOCKERFILE = ROOT / "deploy" / "istio" / "Dockerfile"
SMOKE = ROOT / "tests" / "smoke.py"
WASM_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
PREFLIGHT_VARY = harness.PREFLIGHT_VARY


# ------------------------------------------------------------------------------------------------
# docker compose


def compose_command() -> list[str]:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.fail("Docker Compose not found: install the docker compose plugin or docker-compose "
                "(Debian: apt-get install docker-compose); no Docker engine is needed for these tests", pytrace=False)


def compose_config(*profile: str) -> dict:
    cmd = compose_command()
    if profile:
        cmd += ["--profile", *profile]
    cmd += ["-f", str(COMPOSE_FILE), "config"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"`{' '.join(cmd)}` failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}"
    return yaml.safe_load(proc.stdout)


def mounts(service: dict) -> list[tuple[str, str, bool]]:
    """(source, target, read_only) for short ("src:dst[:ro]") and long volume syntax."""
    out = []
    for v in service.get("volumes", []):
        if isinstance(v, str):
            parts = v.split(":")
            out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        else:
            out.append((v["source"], v["target"], bool(v.get("read_only"))))
    return out


def command_text(service: dict) -> str:
    c = service.get("command", "")
    return " ".join(c) if isinstance(c, list) else c


def relative_files_of_envoy_yaml() -> list[str]:
    """Every relative `filename:` of envoy.yaml (demo files, the .wasm)."""
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "filename" and isinstance(v, str) and not v.startswith("/"):
                    found.append(v)
                else:
                    walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(yaml.safe_load(demo_stack.ENVOY_YAML.read_text()))
    return found


def test_compose_config(wasm, cli):
    cfg = compose_config()
    services = cfg["services"]
    assert {"wasm", "envoy"} <= set(services), services.keys()

    # The wasm service builds the filter in a Rust container into a volume it shares with Envoy.
    w = services["wasm"]
    assert w["image"].startswith("rust:"), w["image"]
    cmd = command_text(w)
    assert "rustup target add wasm32-wasip1" in cmd and "scripts/build --locked" in cmd \
        and "binaryen" in cmd, cmd
    build = (ROOT / "scripts" / "build").read_text()
    assert 'cargo build --release --target wasm32-wasip1 --lib "$@"' in build and "wasm-opt" in build
    target_dir = w["environment"]["CARGO_TARGET_DIR"]
    w_mounts = {dst: src for src, dst, _ in mounts(w)}
    assert target_dir in w_mounts, (target_dir, w_mounts)
    assert Path(w_mounts[w["working_dir"]]).resolve() == ROOT, "the wasm service must build this checkout"

    # Envoy: official image, envoy.yaml, relative paths resolvable from working_dir.
    e = services["envoy"]
    assert e["image"] == "envoyproxy/envoy:v1.40.0"
    assert "-c envoy.yaml" in command_text(e), command_text(e)
    assert e["depends_on"]["wasm"]["condition"] == "service_completed_successfully"
    published = set()
    for p in e["ports"]:
        if isinstance(p, str):
            host, _, container = p.rpartition(":")
            published.add((int(host.split(":")[-1]), int(container)))
        else:
            published.add((int(p["published"]), int(p["target"])))
    # Every public listener of envoy.yaml (the upstream and the admin stay inside the container).
    assert {(3000, 3000), (8080, 8080), (8082, 8082), (8083, 8083)} <= published, published
    work = e["working_dir"]
    e_mounts = mounts(e)
    # The envoy.yaml the container runs is the checkout's, and the filter accepts both its
    # configurations.
    mounted = next(Path(src) for src, dst, _ in e_mounts if dst == f"{work}/envoy.yaml")
    assert mounted.resolve() == demo_stack.ENVOY_YAML.resolve(), mounted
    report = lint(cli, mounted)
    assert report["exit_code"] == 0 and report["configurations"] == 3 and report["errors"] == 0, report
    for rel in ["envoy.yaml", *relative_files_of_envoy_yaml()]:
        inside = f"{work}/{rel}"
        covering = [(src, dst) for src, dst, _ in e_mounts if inside == dst or inside.startswith(dst.rstrip("/") + "/")]
        assert covering, f"{rel} (envoy.yaml's relative path) is not mounted under {work}: {e_mounts}"
        src, dst = max(covering, key=lambda m: len(m[1]))
        rest = inside[len(dst):].lstrip("/")
        if src.startswith("/"):
            assert (Path(src) / rest).exists(), f"{rel}: mounted from {src}, which has no {rest}"
            assert (Path(src) / rest).resolve() == (ROOT / rel).resolve(), (src, rel)
        else:
            # A named volume: it must be the one the wasm service writes its build into.
            assert w_mounts.get(target_dir) == src, f"{rel} comes from volume {src}, the build goes to {w_mounts}"
            assert rel.startswith("target/") and rest == rel[len("target/"):], (rel, rest)


def test_compose_config_with_the_test_profile():
    cfg = compose_config("test")
    t = cfg["services"]["test"]
    assert t.get("profiles") == ["test"]
    assert t["image"].startswith("python:")
    cmd = command_text(t)
    assert "smoke.py" in cmd and "--api=http://envoy:8080" in cmd and "--web=http://envoy:3000" in cmd, cmd
    assert "--api-star=http://envoy:8082" in cmd and "--api-dry=http://envoy:8083" in cmd, cmd
    assert "envoy" in t["depends_on"]
    sources = {Path(src).resolve() for src, _, _ in mounts(t) if src.startswith("/")}
    assert SMOKE.resolve() in sources, mounts(t)


# ------------------------------------------------------------------------------------------------
# envoy.yaml and the smoke script


def test_lint_accepts_envoy_yaml(cli):
    """Both filter configurations of envoy.yaml are found and accepted by the filter's parser."""
    report = lint(cli, demo_stack.ENVOY_YAML)
    assert (report["exit_code"], report["configurations"], report["errors"], report["warnings"]) == (0, 3, 0, 0)


def test_demo_page_shows_the_policies_envoy_runs():
    policies = demo_stack.filter_policies()
    assert set(policies) == {"api", "api_star", "api_dry"}, policies
    config_js = yaml.safe_load(demo_stack.ENVOY_YAML.read_text())
    web_routes = config_js["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"][
        "route_config"]["virtual_hosts"][0]["routes"]
    js = next(r for r in web_routes if r["match"].get("path") == "/config.js")["direct_response"]["body"]["inline_string"]
    # The page shows CFG.policies.api / apiStar / apiDry: each must be the filter's configuration.
    for key, listener in (("api", "api"), ("apiStar", "api_star"), ("apiDry", "api_dry")):
        start = js.index(f"{key}: {{") + len(f"{key}: ")
        shown, _ = json.JSONDecoder().raw_decode(js[start:])
        assert shown == policies[listener], f"/config.js policies.{key} differs from the {listener} filter"


def smoke_command(s: demo_stack.DemoStack, origin: str) -> list[str]:
    # -S: no site-packages at all, so the script is proven to need the standard library only.
    return [sys.executable, "-S", str(SMOKE), f"--web={s.web}", f"--api={s.api}", f"--api-star={s.api_star}",
            f"--api-dry={s.api_dry}", f"--origin={origin}", f"--other-origin={s.web_other}", "--wait=10"]


def test_smoke_script_passes_against_envoy_from_envoy_yaml(demo_envoy, deploy_artifacts):
    s = demo_envoy
    cmd = smoke_command(s, s.web)
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    (deploy_artifacts / "smoke.txt").write_text(proc.stdout + proc.stderr)
    print(proc.stdout)
    assert proc.returncode == 0, f"smoke failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n" \
                                 f"--- envoy log ---\n{harness.tail(s.log())}"
    lines = [line for line in proc.stdout.splitlines() if line.startswith(("ok ", "FAIL"))]
    assert len(lines) >= 24 and all(line.startswith("ok ") for line in lines), proc.stdout


def test_smoke_script_fails_on_a_mismatch(demo_envoy):
    """Against the wrong origin every allowed-origin check must fail: the script does check."""
    s = demo_envoy
    proc = subprocess.run(smoke_command(s, "https://not-the-demo.example"), cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stdout
    assert "FAIL preflight PUT + content-type, authorization from the allowed origin" in proc.stdout, proc.stdout
    assert "FAIL GET /api/hello for host 127.0.0.1: the partner entry's answer" in proc.stdout, proc.stdout


def test_scripts_demo_is_a_valid_executable_script():
    demo = ROOT / "scripts" / "demo"
    assert os.access(demo, os.X_OK), "scripts/demo must be executable"
    proc = subprocess.run(["bash", "-n", str(demo)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------------------------
# Istio


def wasmplugin() -> dict:
    docs = list(yaml.safe_load_all(WASMPLUGIN.read_text()))
    assert len(docs) == 1, f"{WASMPLUGIN} should hold one document"
    return docs[0]


def lint(cli: Path, *files: Path | str, strict: bool = True) -> dict:
    """`cors-proxy-wasm lint --json` on files: the filter's own parser and lint module."""
    args = [str(cli), "lint", "--json", *(["--strict"] if strict else []), *map(str, files)]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert proc.returncode == report["exit_code"], proc.stdout + proc.stderr
    return report


# What the Istio manifest leaves out of the demo's API policy on purpose: the decision header, a
# troubleshooting aid that tells any caller what the policy allows (README: keep it off in
# production), with its name in the expose list; and the `policies` entry of the demo's second API
# host, a loopback address that means something only on the machine running the demo.
DEMO_ONLY_FIELDS = ("debug_header", "policies")
DEMO_ONLY_EXPOSED = "X-Cors-Decision"
DEMO_ENTRIES = [{"name": "partner", "match": {"hosts": ["127.0.0.1"]}}]


def without_demo_only(policy: dict) -> dict:
    """The demo's API policy as the Istio manifest carries it."""
    out = {k: v for k, v in policy.items() if k not in DEMO_ONLY_FIELDS}
    out["expose_headers"] = [h for h in policy["expose_headers"] if h != DEMO_ONLY_EXPOSED]
    return out


def test_wasmplugin_manifest(cli):
    doc = wasmplugin()
    assert doc["apiVersion"] == "extensions.istio.io/v1alpha1"
    assert doc["kind"] == "WasmPlugin"
    assert doc["metadata"]["name"] and doc["metadata"]["namespace"]
    spec = doc["spec"]
    assert spec["phase"] == "AUTHN"
    assert spec["url"].startswith("oci://"), spec["url"]
    assert spec["selector"]["matchLabels"], spec["selector"]
    assert spec.get("failStrategy", "FAIL_CLOSE") == "FAIL_CLOSE"
    # The same policy as the demo's API listener, less what only the demo needs; those parts are
    # what they are said to be, so nothing else can differ unnoticed.
    demo = demo_stack.filter_policies()["api"]
    assert demo["debug_header"] is True and DEMO_ONLY_EXPOSED in demo["expose_headers"], demo
    assert [{k: e[k] for k in ("name", "match")} for e in demo["policies"]] == DEMO_ENTRIES, demo
    assert spec["pluginConfig"] == without_demo_only(demo)
    assert "debug_header" not in spec["pluginConfig"] and "policies" not in spec["pluginConfig"]
    # And the filter's own parser accepts it as Istio hands it over, without warnings.
    report = lint(cli, WASMPLUGIN)
    assert (report["exit_code"], report["configurations"], report["warnings"]) == (0, 1, 0), report


def test_lint_refuses_a_broken_plugin_config(cli, tmp_path):
    text = WASMPLUGIN.read_text()
    broken = tmp_path / "wasmplugin.yaml"
    broken.write_text(text.replace("    - http://localhost:3000", '    - "*"'))
    report = lint(cli, broken)
    [problem] = report["files"][0]["configurations"][0]["problems"]
    assert report["exit_code"] == 2 and problem["path"] == "allow_origins[0]", report
    assert problem["message"].startswith('allow_origins[0]: "*" cannot go with allow_credentials: true'), problem
    assert broken.read_text().splitlines()[problem["line"] - 1] == '    - "*"', problem


def test_istio_oci_dockerfile(wasm):
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "FROM scratch", lines
    copy = [line for line in lines if line.startswith("COPY")]
    assert copy == ["COPY target/wasm32-wasip1/release/cors_proxy_wasm.wasm ./plugin.wasm"], copy
    assert (ROOT / "target/wasm32-wasip1/release/cors_proxy_wasm.wasm").is_file()
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text().split()
    assert "*" in ignore and "!target/wasm32-wasip1/release/cors_proxy_wasm.wasm" in ignore, ignore


def istio_wasm_extension(doc: dict, wasm: Path) -> tuple[str, dict]:
    """The TypedExtensionConfig istiod sends for a WasmPlugin (pilot/pkg/model/wasm.go), after
    istio-agent has fetched the OCI image and rewritten the remote code to a local file."""
    meta, spec = doc["metadata"], doc["spec"]
    name = f"{meta['namespace']}.{meta['name']}"
    resource = f"extensions.istio.io/wasmplugin/{name}"
    config = {
        "name": name,
        "root_id": spec.get("pluginName", ""),
        # protomarshal.ToJSON(pluginConfig): compact JSON of a protobuf Struct.
        "configuration": {
            "@type": "type.googleapis.com/google.protobuf.StringValue",
            "value": json.dumps(spec["pluginConfig"], separators=(",", ":"), sort_keys=True),
        },
        "vm_config": {
            "runtime": "envoy.wasm.runtime.v8",
            "code": {"local": {"filename": str(wasm)}},
            "environment_variables": {"key_values": {"ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION": "1"}},
        },
        "fail_open": False,
        "failure_policy": "FAIL_CLOSED",
    }
    return resource, {"@type": WASM_TYPE, "config": config}


@pytest.fixture(scope="module")
def istio_envoy(wasm, envoy_bin, upstream, deploy_artifacts):
    doc = wasmplugin()
    resource, typed = istio_wasm_extension(doc, wasm)
    workdir = deploy_artifacts / "istio-envoy"
    workdir.mkdir(parents=True, exist_ok=True)
    ecds = workdir / "ecds.yaml"
    ecds.write_text(yaml.safe_dump({
        "version_info": "1",
        "resources": [{"@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
                       "name": resource, "typed_config": typed}],
    }, sort_keys=False))
    # The harness's listener (routes /secure -> jwt_authn-protected upstream, / -> upstream) with
    # the first filter replaced by the WasmPlugin as Istio inserts it: an ECDS reference that blocks
    # the listener until the extension is loaded (AUTHN phase: before jwt_authn).
    boot = harness.bootstrap(wasm, "{}", upstream.port, jwt=True)
    # ECDS needs a node identity; this is the shape of an Istio sidecar's.
    boot["node"] = {"id": "sidecar~10.0.0.1~api-0.demo~demo.svc.cluster.local", "cluster": "api.demo"}
    hcm = boot["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"][0] = {
        "name": resource,
        "config_discovery": {
            "config_source": {"path_config_source": {"path": str(ecds)}, "resource_api_version": "V3",
                              "initial_fetch_timeout": "0s"},
            "type_urls": [WASM_TYPE],
        },
    }
    assert [f["name"] for f in hcm["http_filters"]] == [resource, "envoy.filters.http.jwt_authn", "envoy.filters.http.router"]
    cfg = workdir / "envoy.yaml"
    cfg.write_text(yaml.safe_dump(boot, sort_keys=False))
    log_path = workdir / "envoy.log"
    admin_path = workdir / "admin-address"
    cmd = [str(envoy_bin), "-c", str(cfg), "--concurrency", "1", "--disable-hot-restart", "-l", "info",
           "--admin-address-path", str(admin_path)]
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen(cmd, cwd=workdir, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                start_new_session=True)
    envoy = harness.Envoy(proc, workdir, log_path, admin_path, typed["config"]["configuration"]["value"])
    try:
        try:
            envoy._wait_ready(25.0)
        except harness.HarnessError as e:
            pytest.fail(str(e), pytrace=False)
        yield envoy, doc["spec"]["pluginConfig"]
    finally:
        envoy.stop()


def test_envoy_with_the_configuration_istio_generates(istio_envoy, upstream):
    envoy, policy = istio_envoy
    origin = policy["allow_origins"][0]
    assert "cors-proxy-wasm: configuration loaded" in envoy.log()

    path = harness.uniq("/istio")
    pre = envoy.preflight(path, origin, "PUT", "content-type,authorization")
    harness.assert_cors(pre, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": ", ".join(policy["allow_methods"]),
        "Access-Control-Allow-Headers": ", ".join(policy["allow_headers"]),
        "Access-Control-Max-Age": str(policy["max_age"]),
    })
    assert pre.status == 204 and pre.all("vary") == [PREFLIGHT_VARY], pre.describe()
    assert upstream.seen(path) == [], "the preflight reached the upstream"

    r = envoy.request("GET", path, [("Origin", origin)])
    assert r.status == 200
    harness.assert_cors(r, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": ", ".join(policy["expose_headers"]),
    })
    assert r.all("vary") == ["Origin"], r.describe()
    assert len(upstream.seen(path)) == 1

    # AUTHN phase: before jwt_authn, whose 401 still carries the CORS headers.
    denied = envoy.request("GET", harness.uniq("/secure"), [("Origin", origin)])
    assert denied.status == 401
    assert denied.get("access-control-allow-origin") == origin, denied.describe()

    # A disallowed origin: preflight refused, actual request without CORS headers.
    evil = "https://evil.example"
    assert envoy.preflight(path, evil, "PUT").status == 403
    harness.assert_no_cors(envoy.request("GET", path, [("Origin", evil)]))
