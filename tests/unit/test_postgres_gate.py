"""Without a PostgreSQL server the backend tests skip with a visible reason, except
under CI=true, where they fail: CI must never pass by skipping them."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = "tests/store/test_operations.py::test_unknown_id"


def run_without_server(ci: str | None):
    env = dict(os.environ, IR_TEST_POSTGRES_BIN="/nonexistent")
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", TARGET],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_skips_with_reason_outside_ci():
    result = run_without_server(None)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped" in result.stdout
    assert "PostgreSQL unavailable: no initdb in IR_TEST_POSTGRES_BIN=/nonexistent" in result.stdout


@pytest.mark.parametrize("ci", ["true", "1"])
def test_fails_under_ci(ci):
    result = run_without_server(ci)
    assert result.returncode == 1, result.stdout
    assert "PostgreSQL is required under CI=true but unavailable" in result.stdout
