"""Fixtures for the deploy tests (docker compose file, Istio manifests, envoy.yaml, smoke script)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import demo_stack  # noqa: E402
from demo_stack import harness  # noqa: E402



@pytest.fixture(scope="session")
def deploy_artifacts() -> Path:
    return demo_stack.fresh_artifacts("deploy")


@pytest.fixture(scope="session")
def wasm() -> Path:
    try:
        return harness.build_wasm()
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def envoy_bin() -> Path:
    try:
        return harness.envoy_binary()
    except harness.HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `cors-proxy-wasm` command (tests/cli builds it the same way)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
    from cli_run import build_cli

    return build_cli()


@pytest.fixture(scope="module")
def demo_envoy(deploy_artifacts: Path, wasm: Path, envoy_bin: Path) -> Iterator[demo_stack.DemoStack]:
    yield from demo_stack.running("deploy-envoy")


@pytest.fixture(scope="module")
def upstream() -> Iterator[harness.Upstream]:
    with harness.Upstream() as up:
        yield up
