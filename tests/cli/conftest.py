"""Fixtures for the command-line tests: the `cors-proxy-wasm` binary, built for the host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "envoy"))


def build_cli() -> Path:
    """Builds the command (debug profile, as `cargo test` does) and returns its path."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.fail("cargo not found: install Rust with rustup (https://rustup.rs)", pytrace=False)
    proc = subprocess.run([cargo, "build", "-q", "--bin", "cors-proxy-wasm"], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)
    if proc.returncode != 0:
        pytest.fail(f"cargo build --bin cors-proxy-wasm failed:\n{proc.stderr}", pytrace=False)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    binary = target / "debug" / "cors-proxy-wasm"
    if not binary.is_file():
        pytest.fail(f"cargo built the command but {binary} is missing", pytrace=False)
    return binary


@pytest.fixture(scope="session")
def cli() -> Path:
    return build_cli()
