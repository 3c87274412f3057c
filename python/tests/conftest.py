"""Shared by the Python tests: the repository, the robbench binary and a fresh benchmark. The\n`robbench` they import is the wheel, installed into the test venv by make python, with its worker."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "target" / "release" / "robbench"


def shell(bench, *statements, mode="csv"):
    """Runs statements through the robbench shell; returns its stdout."""
    args = [str(BIN), "--bench", str(bench), "--mode", mode]
    for s in statements:
        args += ["-c", s]
    out = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture
def bench(tmp_path):
    return tmp_path / "bench"


@pytest.fixture(scope="session")
def bundled(tmp_path_factory):
    """A benchmark built as make builds the bundled one."""
    b = tmp_path_factory.mktemp("bundled") / "bench"
    out = subprocess.run([str(BIN), "--bench", str(b), "sql/bundle.sql"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return b
