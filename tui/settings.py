"""The command center's settings from the configuration's `[tui]` table (playbooks/config/
documents its keys)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from store.paths import handover_dir

if TYPE_CHECKING:
    from playbooks.config import Configuration


@dataclass
class Settings:
    """What a user may set for the command center (config file `[tui]`, or tests)."""

    actor: str
    export_dir: Path = field(default_factory=handover_dir)  # `[tui] export_dir`; see store/paths.py
    keymap: dict[str, str] = field(default_factory=dict)
    watch: bool = True
    detect: bool = True  # run metric sources and rules here unless a `watch` service does
    under_ssh: bool = False
    # For the empty dashboard's welcome: which [sources.*] feed System Health, and the config
    # file read at start-up ("" says nothing about a config file).
    metric_sources: tuple[str, ...] = ("host",)
    config_path: str = ""
    # config.toml as read at the door; None: the embedded default (tests, no file).
    configuration: "Configuration | None" = None
    bell: bool = False  # ring the terminal bell with each announcement (`[tui] bell`)
    read_only: bool = False  # --read-only / `[tui] read_only`: watch, never write
    # The store's URL, when the store opens in a worker: on a SQLite file the open incidents
    # are listed before it has (store/quick_list.py). None: wait for the store (tests).
    database_url: str | None = None
    # The integrations the header names before `configuration` is there.
    notifying: tuple[str, ...] = ()
    # config.toml is checked whole by the worker that opens the store, after the first frame
    # (tui/first_look.py): until then `configuration` is None and the values above come
    # from the first look.
    configuration_pending: bool = False


def tui_settings(configuration: Configuration) -> dict:
    """Keyword arguments for `Settings`: the keymap, and the export folder when one is set."""
    return tui_options(configuration.tui)


def tui_options(table) -> dict:
    """tui_settings of a `[tui]` table: the checked model's, or the first look's
    (tui/first_look.py), which has the same four fields."""
    result: dict = {"keymap": dict(table.keymap)}
    for switch in ("bell", "read_only"):  # off is Settings' default
        if getattr(table, switch):
            result[switch] = True
    if table.export_dir is not None:  # the model has checked that ~ expands
        result["export_dir"] = Path(table.export_dir).expanduser()
    return result
