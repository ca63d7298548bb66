"""Probes run in a fresh interpreter, so that what a test asks about is what a cold start would load or build."""

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]


def fresh_interpreter_output(code: str) -> str:
    """What `code` prints (stripped), run by a new interpreter in the project directory with MAESTRO_STAGE=test."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "MAESTRO_STAGE": "test"},
        check=True,
    )
    return result.stdout.strip()


def modules_loaded_by(imports: str | Iterable[str], watched: Iterable[str]) -> str:
    """The `watched` modules a fresh interpreter holds after importing `imports` (comma-separated, in the
    order of `watched`); an empty string when none is loaded."""
    names = imports if isinstance(imports, str) else ", ".join(imports)
    return fresh_interpreter_output(
        f"import sys, {names}; print(','.join(m for m in {tuple(watched)!r} if m in sys.modules))"
    )
