"""Fixtures for the command-line tests: the `cors-proxy-wasm` binary, built for the host."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cli"))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))

from cli_run import build_cli  # noqa: E402


@pytest.fixture(scope="session")
def cli() -> Path:
    return build_cli()
