"""What the command center's first frame needs from config.toml, read with tomllib alone.

Checking config.toml whole (playbooks/config: pydantic models) costs about 0.1 s of every
start, more than anything else before the first paint but Textual itself. The command center
therefore paints from this first look, then checks the file whole in the worker that opens
the store; if the file is wrong there, it closes and says so in the one sentence any other
command would have said before starting (`ConfigurationRefused`, handled in tui/cli.py).

A file this look cannot read plainly (not TOML, not UTF-8, a value of the wrong kind) gives
None: the caller then checks it whole at once, and the sentence comes before any frame.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigurationRefused(Exception):
    """config.toml, checked whole after the first frame, is wrong: the sentence says how."""


@dataclass(frozen=True)
class FirstLook:
    """The first frame's values: the `[tui]` switches and keymap, the `[store] url`, which
    `[sources.*]` feed System Health and which `[integrations.*]` are on (the header names them)."""

    store_url: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)
    bell: bool = False
    read_only: bool = False
    export_dir: str | None = None
    sources: tuple[str, ...] = ("host",)
    integrations: tuple[str, ...] = ()


def first_look(path: Path) -> FirstLook | None:
    """The first look at the file at `path` (the defaults when there is none), or None when
    it needs the whole check to say what is wrong with it."""
    try:
        if not path.exists():
            return FirstLook()
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return None
    try:
        return _look(data)
    except (TypeError, ValueError, AttributeError):
        return None


def _table(data: dict, name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(name)
    return value


def _of(kind: type, value: Any, default: Any) -> Any:
    if value is None:
        return default
    if not isinstance(value, kind):
        raise ValueError(value)
    return value


def _look(data: dict) -> FirstLook:
    store, tui = _table(data, "store"), _table(data, "tui")
    keymap = _of(dict, tui.get("keymap"), {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()):
        raise ValueError("keymap")
    sources = []
    for name, table in _table(data, "sources").items():
        table = _of(dict, table, {})
        if name == "host":
            continue
        if name == "health" and not _of(list, table.get("checks"), []):
            continue
        sources.append(name)
    host = _of(dict, _table(data, "sources").get("host"), {})
    if _of(bool, host.get("enabled"), True):
        sources.insert(0, "host")
    integrations = tuple(name for name, table in _table(data, "integrations").items()
                         if _of(bool, _of(dict, table, {}).get("enabled"), True))
    return FirstLook(store_url=_of(str, store.get("url"), None), keymap=dict(keymap),
                     bell=_of(bool, tui.get("bell"), False), read_only=_of(bool, tui.get("read_only"), False),
                     export_dir=_of(str, tui.get("export_dir"), None), sources=tuple(sources),
                     integrations=integrations)
