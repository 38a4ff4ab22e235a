"""Fixtures for the browser tests: the demo's Envoy (envoy.yaml on free ports) and headless
Chromium driven by Playwright. Everything started here is stopped by PID in finalizers."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import demo_stack  # noqa: E402

CHROMIUM = demo_stack.CHROMIUM
CHROMIUM_ARGS = demo_stack.CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser_artifacts() -> Path:
    return demo_stack.fresh_artifacts("browser")


@pytest.fixture(scope="module")
def stack(browser_artifacts: Path) -> Iterator[demo_stack.DemoStack]:
    yield from demo_stack.running("browser-envoy")


@pytest.fixture(scope="session")
def browser(browser_artifacts: Path):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Python package playwright is missing: run scripts/setup (pip install -r tests/requirements.txt "
                    "into .venv); the browser itself is Debian's chromium, never `playwright install`", pytrace=False)
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's package (apt-get install chromium) "
                    "or set CHROMIUM=/path/to/chromium; do not run `playwright install`", pytrace=False)
    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as e:  # noqa: BLE001
        pw.stop()
        pytest.fail(f"cannot start {CHROMIUM} through Playwright: {e}", pytrace=False)
    try:
        yield b
    finally:
        # Closing the browser ends Chromium's processes (Playwright started them; it kills them by PID).
        b.close()
        pw.stop()
