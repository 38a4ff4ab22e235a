"""Building and running the command in the tests: plain output (no terminal), bounded in time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"


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


def run(cli: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE")}
    full_env.update(env or {})
    return subprocess.run([str(cli), *args], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=full_env, input=stdin)


def run_json(cli: Path, *args: str) -> tuple[int, Any]:
    proc = run(cli, *args, "--json")
    try:
        return proc.returncode, json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"not JSON ({e}): {proc.stdout!r}\nstderr: {proc.stderr}") from None
