"""Running the command in the tests: plain output (no terminal), bounded in time."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FILES = Path(__file__).resolve().parent / "files"


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
