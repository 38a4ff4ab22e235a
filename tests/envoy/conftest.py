"""Fixtures for the end-to-end tests: the filter's .wasm, an upstream server, Envoys.

One Envoy per distinct filter configuration per test module (module-scoped cache), always
killed at module teardown, also when tests fail."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import envoy_harness as harness  # noqa: E402
from envoy_harness import Envoy, HarnessError, Upstream  # noqa: E402


def pytest_sessionstart(session: pytest.Session) -> None:
    harness.clean_artifacts()


@pytest.fixture(scope="session")
def wasm() -> Path:
    try:
        return harness.build_wasm()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def envoy_bin() -> Path:
    try:
        return harness.envoy_binary()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


class EnvoyCache:
    """Starts one Envoy per (configuration, jwt) and reuses it; stop_all() kills them all."""

    def __init__(self, upstream: Upstream, module: str):
        self.upstream = upstream
        self.module = module
        self._by_key: dict[tuple[str, bool], Envoy] = {}

    def get(self, config: dict | str, jwt: bool = True) -> Envoy:
        key = (harness._config_text(config), jwt)
        envoy = self._by_key.get(key)
        if envoy is not None and envoy.running:
            return envoy
        try:
            envoy = harness.start_envoy(config, self.upstream, jwt=jwt, name=self.module)
        except HarnessError as e:
            pytest.fail(str(e), pytrace=False)
        self._by_key[key] = envoy
        return envoy

    def fresh(self, config: dict | str, jwt: bool = True) -> Envoy:
        """A new Envoy not shared with other tests (e.g. for counters from zero)."""
        try:
            envoy = harness.start_envoy(config, self.upstream, jwt=jwt, name=self.module + "-fresh")
        except HarnessError as e:
            pytest.fail(str(e), pytrace=False)
        self._by_key[(harness._config_text(config) + f"#fresh{id(envoy)}", jwt)] = envoy
        return envoy

    def stop_all(self) -> None:
        for envoy in self._by_key.values():
            envoy.stop()
        self._by_key.clear()


@pytest.fixture(scope="module")
def envoys(request: pytest.FixtureRequest, wasm: Path, envoy_bin: Path, upstream: Upstream) -> Iterator[EnvoyCache]:
    cache = EnvoyCache(upstream, request.module.__name__.rsplit(".", 1)[-1])
    request.addfinalizer(cache.stop_all)
    yield cache


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On a failure, name the Envoy working directories (bootstrap YAML + log) and show log tails."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    cache = getattr(item, "funcargs", {}).get("envoys")
    if not isinstance(cache, EnvoyCache):
        return
    parts = []
    for envoy in cache._by_key.values():
        parts.append(f"{envoy.workdir} (config {envoy.config})\n{harness.tail(envoy.log(), 12)}")
    if parts:
        report.sections.append(("envoy artifacts", "\n\n".join(parts)))
