"""tui/first_look.py: the command center's first frame comes from a plain tomllib read of
config.toml, and the whole check replaces it a moment later. The two must agree on every
value the first frame shows, or the screen would change under the engineer's eyes; a file
the plain read cannot take is left to the whole check (which says what is wrong) at once."""
from __future__ import annotations

from pathlib import Path

import pytest

from playbooks.config import load_configuration
from tui.first_look import FirstLook, first_look
from tui.settings import tui_settings

VALID = {
    "none": "",
    "host off": "[sources.host]\nenabled = false\n",
    "tui switches": '[tui]\nbell = true\nread_only = true\nexport_dir = "~/handovers"\n'
                    '[tui.keymap]\n"app.declare" = "n"\n',
    "store and sources": '[store]\nurl = "postgresql://oncall@db.internal/incidents"\n'
                         '[sources.prometheus]\nurl = "http://127.0.0.1:9090"\nqueries = { error_rate = "up" }\n'
                         "[sources.health]\n[[sources.health.checks]]\nname = \"api\"\n"
                         'url = "http://127.0.0.1:8080/health"\n',
    "health without checks": "[sources.health]\n",
    "integrations": '[integrations.pagerduty]\nrouting_key_env = "PD_KEY"\n'
                    '[integrations.slack]\nenabled = false\nwebhook_url_env = "SLACK_URL"\n'
                    '[integrations.email]\nhost = "127.0.0.1"\nsender = "ir@example.com"\n',
}


@pytest.mark.parametrize("case", list(VALID))
def test_the_first_look_agrees_with_the_whole_check(case, tmp_path):
    path = tmp_path / "config.toml"
    if VALID[case]:
        path.write_text(VALID[case])
    look, whole = first_look(path), load_configuration(path)
    assert look is not None
    options = tui_settings(whole)
    assert look.keymap == options["keymap"]
    assert look.bell == options.get("bell", False) and look.read_only == options.get("read_only", False)
    assert (Path(look.export_dir).expanduser() if look.export_dir else None) == options.get("export_dir")
    assert look.store_url == whole.store.url
    assert sorted(look.sources) == sorted(whole.sources.configured())
    assert sorted(look.integrations) == sorted(whole.integrations.configured())


def test_no_file_is_the_embedded_default(tmp_path):
    assert first_look(tmp_path / "absent.toml") == FirstLook()


@pytest.mark.parametrize("text", [
    b"[tui\nbell = true\n",                  # not TOML
    b"\xff\xfe[tui]\n",                      # not UTF-8
    b"[tui]\nbell = \"yes\"\n",              # a switch that is not true or false
    b"tui = 3\n",                            # a table that is not one
    b"[tui.keymap]\n\"app.declare\" = 4\n",  # a key that is not a key's name
])
def test_a_file_the_plain_read_cannot_take_is_left_to_the_whole_check(text, tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(text)
    assert first_look(path) is None
