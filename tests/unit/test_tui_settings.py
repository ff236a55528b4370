"""The `[tui]` table of config.toml: export folder and key remapping, checked."""
from pathlib import Path

import pytest

from playbooks.errors import PlaybookError
from tui.settings import read_tui_settings


def test_no_config_file_means_defaults(tmp_path):
    assert read_tui_settings(tmp_path / "missing.toml") == {}


def test_keymap_and_export_dir(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[tui]\nexport_dir = "~/handovers"\n[tui.keymap]\n"war_room.tick" = "t"\n')
    settings = read_tui_settings(path)
    assert settings["keymap"] == {"war_room.tick": "t"}
    assert settings["export_dir"] == Path("~/handovers").expanduser()


@pytest.mark.parametrize("text,message", [
    ("[tui\n", "accepted: a TOML config file"),
    ("tui = 3\n", "field tui is not a table"),
    ("[tui]\ncolour = 1\n", "field tui.colour is not known; accepted: export_dir, keymap"),
    ("[tui.keymap]\n\"war_room.tick\" = 5\n", "must map binding ids to keys"),
    ("[tui]\nexport_dir = 5\n", "field tui.export_dir is not a path"),
])
def test_bad_settings_are_one_sentence(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(PlaybookError, match=message) as error:
        read_tui_settings(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_ir_config_points_at_the_file(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[tui.keymap]\n"app.quit" = "ctrl+x"\n')
    monkeypatch.setenv("IR_CONFIG", str(path))
    assert read_tui_settings()["keymap"] == {"app.quit": "ctrl+x"}
