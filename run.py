#!/usr/bin/env python3
"""Set-up and entry for a fresh machine with only Python: `demo` or `test`.

    python3 run.py demo    # install into .venv if needed, then replay the demo
    python3 run.py test    # install into .venv if needed, then run the test suite

Extra arguments are passed on (to `ltv-bot demo` or to pytest).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"


def project_fingerprint() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_installed() -> None:
    """Create .venv and install the project with its test tools, once per pyproject."""
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == project_fingerprint():
        return
    print("installing the project and its dependencies into .venv ...", flush=True)
    subprocess.run(
        [str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", ".[dev]"],
        cwd=ROOT,
        check=True,
    )
    STAMP.write_text(project_fingerprint())


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    ensure_installed()
    command, rest = argv[0], argv[1:]
    if command == "demo":
        args = [str(BIN / "ltv-bot"), "demo", *rest]
    else:
        args = [str(BIN / "python"), "-m", "pytest", *rest]
    return subprocess.run(args, cwd=ROOT, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
