"""Fixtures for the browser tests: every test runs once per engine (headless Chromium and Firefox
ESR, through WebDriver: engines.py), each against its own demo Envoy (envoy.yaml on free ports).
Everything started here is stopped by PID in finalizers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_stack  # noqa: E402
import engines  # noqa: E402

# engine -> "Chromium 156.0... (chromedriver 156.0...)", printed at the end of the run.
_VERSIONS: dict[str, str] = {}


@pytest.fixture(scope="session")
def browser_artifacts() -> Path:
    return demo_stack.fresh_artifacts("browser")


@pytest.fixture(scope="session", params=engines.ENGINES)
def engine(request) -> str:
    """The engine's name; each test id ends with it ([chromium], [firefox])."""
    return request.param


@pytest.fixture(scope="module")
def artifacts(browser_artifacts: Path, engine: str) -> Path:
    """tests/artifacts/browser/ENGINE/: screenshots, console and driver logs of that engine."""
    path = browser_artifacts / engine
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser(engine: str, artifacts: Path) -> Iterator[engines.Browser]:
    """A fresh browser (fresh profile: no cookies, no preflight cache) for each test module."""
    try:
        b = engines.launch(engine, artifacts)
    except engines.EngineError as e:
        error = str(e)
    else:
        error = ""
    if error:
        pytest.fail(error, pytrace=False)
    _VERSIONS[engine] = f"{b.name} {b.version} ({'chromedriver' if engine == 'chromium' else 'geckodriver'} {b.driver_version})"
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def stack(engine: str, artifacts: Path) -> Iterator[demo_stack.DemoStack]:
    """The demo's Envoy, one per engine: the rate limiter's per-Origin budget and the counters
    start fresh for each."""
    yield from demo_stack.running(f"browser-envoy-{engine}")


def pytest_terminal_summary(terminalreporter) -> None:
    for engine in engines.ENGINES:
        if engine in _VERSIONS:
            terminalreporter.write_line(f"browser: {_VERSIONS[engine]}")
