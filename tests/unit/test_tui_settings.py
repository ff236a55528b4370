"""The `[tui]` table of config.toml: export folder and key remapping, checked by the model."""
from pathlib import Path

import pytest

from playbooks.config import Configuration, load_configuration
from playbooks.errors import PlaybookError
from tui.configuration import load_checked_configuration
from tui.settings import tui_settings


def test_no_config_file_means_defaults(tmp_path):
    assert tui_settings(load_configuration(tmp_path / "missing.toml")) == {"keymap": {}}
    assert tui_settings(Configuration()) == {"keymap": {}}


def test_keymap_and_export_dir(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[tui]\nexport_dir = "~/handovers"\n[tui.keymap]\n"war_room.tick" = "t"\n')
    settings = tui_settings(load_configuration(path))
    assert settings["keymap"] == {"war_room.tick": "t"}
    assert settings["export_dir"] == Path("~/handovers").expanduser()


@pytest.mark.parametrize("text,message", [
    ("[tui\n", "accepted: a TOML file"),
    ("tui = 3\n", "tui is 3; accepted: a table"),
    ("[tui]\ncolour = 1\n", "tui.colour is not a known key; accepted: export_dir, keymap"),
    ("[tui.keymap]\n\"war_room.tick\" = 5\n", 'tui.keymap."war_room.tick" is 5; accepted: a string'),
    ("[tui]\nexport_dir = 5\n", "tui.export_dir is 5; accepted: a string"),
])
def test_bad_settings_are_one_sentence(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(PlaybookError) as error:
        load_configuration(path)
    assert message in str(error.value)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_ir_config_points_at_the_file(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.toml"
    path.write_text('[tui.keymap]\n"app.quit" = "ctrl+x"\n')
    monkeypatch.setenv("IR_CONFIG", str(path))
    configuration = load_checked_configuration()
    assert configuration.path == path
    assert tui_settings(configuration)["keymap"] == {"app.quit": "ctrl+x"}
