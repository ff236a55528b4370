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


def test_the_command_centers_first_frame_does_not_load_pydantic():
    """Issue 15: what the command center imports and runs before its first frame (the door,
    the first look at config.toml, the app, the dashboard and its widgets) leaves pydantic
    (config.toml's whole check, ~0.1 s) to the worker that opens the store."""
    code = ("import sys, pathlib\n"
            "import tui.cli, tui.launch, tui.app, tui.settings, tui.screens.dashboard, tui.widgets.header\n"
            "from tui.first_look import first_look\n"
            "path = pathlib.Path(sys.argv[1]); path.write_text('[tui]\\nbell = true\\n[integrations.pagerduty]\\n')\n"
            "assert first_look(path).bell\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core', 'sqlalchemy')))\n")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        result = subprocess.run([sys.executable, "-c", code, str(Path(folder) / "config.toml")], capture_output=True,
                                text=True, check=True)
    assert result.stdout.strip() == "[]"
