"""Only tui/ may import textual; the core packages work from a plain script."""
import json
import subprocess
import sys

import pytest

CORE = ["playbooks", "store", "integrations", "automation", "reports"]


@pytest.mark.parametrize("package", CORE)
def test_core_package_does_not_import_textual(package):
    import pkgutil
    import importlib

    root = importlib.import_module(package)
    modules = [package] + [f"{package}.{m.name}" for m in pkgutil.walk_packages(root.__path__)]
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


def test_cli_does_not_pay_for_textual_on_plain_commands():
    code = "import sys; from tui import cli; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
