"""Issues 12 and 15: vendors are built on the shared toolkit, never by importing another
vendor's module — what two vendors share lives in integrations/http.py (status, Retry-After,
sanitising, JSON, Basic auth, the sources' config checks), notifier.py (the interface, the
update's words), wording.py (event titles), text.py (the one control-character table, one
line, truncation), secrets.py, or playbooks/severities.py (the one severity-alias table)."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from playbooks.severities import SEVERITY_ALIASES, canonical_severity

ROOT = Path(__file__).resolve().parents[2]
INTEGRATIONS = ROOT / "integrations"
SHARED = {"integrations.http", "integrations.notifier", "integrations.wording", "integrations.secrets",
          "integrations.text", "integrations.errors"}
NEW_VENDORS = ["teams", "voice", "remedy", "cherwell"]
# The inbound alert receiver is one piece split over several modules that may import each other.
RECEIVER = {"alert_receiver", "alert_payloads", "http_server", "intake"}
VENDORS = sorted(path.stem for path in INTEGRATIONS.glob("*.py")
                 if f"integrations.{path.stem}" not in SHARED and path.stem not in RECEIVER | {"__init__"})
# Helpers that exist once, in their home module; a vendor that defines its own has copied one.
ONE_HOME = {
    "json_or_none": "http", "_json_or_none": "http", "sanitize": "http", "_sanitize": "http", "_clean": "http",
    "CONTROL": "text", "_CONTROL": "text", "truncate": "text", "mask_number": "text",
    "BasicAuthCall": "http", "checked_config": "http", "env_secret": "http", "redact": "http",
    "checked_limit": "http", "where": "http",
    "SEVERITY_ALIASES": "playbooks.severities", "_SEVERITY_ALIASES": "playbooks.severities",
    "canonical_severity": "playbooks.severities",
}


def integrations_imported(tree: ast.AST) -> set[str]:
    """Every integrations module `tree` imports, at any depth (inside functions too), in any form:
    `import integrations.x`, `from integrations.x import y`, `from integrations import x`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("integrations.")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "integrations":
                found |= {f"integrations.{alias.name}" for alias in node.names}
            elif node.module.startswith("integrations."):
                found.add(node.module)
    return found


def top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def parsed(vendor: str) -> ast.Module:
    return ast.parse((INTEGRATIONS / f"{vendor}.py").read_text())


@pytest.mark.parametrize("vendor", NEW_VENDORS)
def test_a_new_vendor_imports_only_the_shared_toolkit(vendor):
    tree = ast.parse((ROOT / "integrations" / f"{vendor}.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    ours = {name for name in imported if name.startswith("integrations")}
    assert ours <= SHARED, ours - SHARED


def test_every_vendor_module_is_checked():
    assert {"pagerduty", "jira", "datadog", "splunk", "slack", "servicenow", "newrelic", "cloudwatch",
            "elasticsearch", "email", "sms", "opsgenie", "statuspage", "webhook"} <= set(VENDORS)


@pytest.mark.parametrize("vendor", VENDORS)
def test_no_vendor_imports_another_vendor(vendor):
    ours = integrations_imported(parsed(vendor))
    assert ours <= SHARED, f"integrations/{vendor}.py imports {sorted(ours - SHARED)}: share through the toolkit"


@pytest.mark.parametrize("vendor", VENDORS + sorted(RECEIVER & {p.stem for p in INTEGRATIONS.glob("*.py")}))
def test_no_integration_module_keeps_its_own_copy_of_a_shared_helper(vendor):
    copied = {name for name in top_level_names(parsed(vendor)) if name in ONE_HOME}
    assert not copied, {name: f"lives in {ONE_HOME[name]}" for name in copied}


def test_the_import_check_sees_every_form_of_import():
    # A fixture module, as a vendor might write it: each form names another vendor.
    tree = ast.parse("import integrations.jira\n"
                     "from integrations import slack\n"
                     "from integrations.http import sanitize\n"
                     "def later():\n"
                     "    from integrations.pagerduty import severity_for\n")
    assert integrations_imported(tree) - SHARED == {"integrations.jira", "integrations.slack",
                                                     "integrations.pagerduty"}


def test_the_copy_check_sees_a_copied_helper():
    tree = ast.parse("import re\n_CONTROL = re.compile('[\\x00-\\x1f]+')\n"
                     "def _json_or_none(response):\n    return None\n"
                     "_SEVERITY_ALIASES: dict = {}\n")
    assert {name for name in top_level_names(tree) if name in ONE_HOME} == {
        "_CONTROL", "_json_or_none", "_SEVERITY_ALIASES"}


def test_only_text_py_holds_a_control_character_table():
    holders = [path.name for path in INTEGRATIONS.glob("*.py") if "\\x00-" in path.read_text()]
    assert holders == ["text.py"]


def test_the_one_severity_alias_table_matches_the_builtin_policy():
    levels = tomllib.loads((ROOT / "playbooks" / "builtin" / "severity.toml").read_text())["levels"]
    for level in levels:
        for alias in (level["id"], level["name"], *level["aliases"]):
            assert canonical_severity(alias) == level["id"], alias
    assert set(SEVERITY_ALIASES.values()) == {level["id"] for level in levels}
