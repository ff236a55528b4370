"""Issue 12: new vendors are built on the shared toolkit, never by importing another
vendor's module — what two vendors share lives in integrations/http.py (status, Retry-After,
sanitising, JSON), notifier.py (the interface, the update's words), wording.py (event
titles, severity, one line) or secrets.py."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = {"integrations.http", "integrations.notifier", "integrations.wording", "integrations.secrets"}
NEW_VENDORS = ["teams", "voice", "remedy", "cherwell"]


@pytest.mark.parametrize("vendor", NEW_VENDORS)
def test_a_new_vendor_imports_only_the_shared_toolkit(vendor):
    tree = ast.parse((ROOT / "integrations" / f"{vendor}.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    ours = {name for name in imported if name.startswith("integrations")}
    assert ours <= SHARED, ours - SHARED
