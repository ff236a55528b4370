"""Where things live on disk. Functions, not constants, so tests can point XDG at tmp."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP = "incident-response"


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP, appauthor=False))


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def state_dir() -> Path:
    return Path(platformdirs.user_state_dir(APP, appauthor=False))


def default_database_url() -> str:
    """IR_DATABASE_URL if set, else the SQLite file in the XDG data dir."""
    url = os.environ.get("IR_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{data_dir() / 'incidents.db'}"


def config_path() -> Path:
    """IR_CONFIG if set, else config.toml in the XDG config dir."""
    return Path(os.environ.get("IR_CONFIG") or config_dir() / "config.toml")


def load_config_file(path: Path | None = None) -> dict:
    """The whole config file as a dict ({} when there is none); one-sentence error if broken."""
    import tomllib

    from playbooks.errors import PlaybookError

    path = path or config_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise PlaybookError(f"{path}: {exc}; accepted: a TOML config file") from None


def user_playbooks_dir() -> Path:
    return config_dir() / "playbooks"


def store_group(config: dict | None = None) -> str | None:
    """`[store] group` in config.toml: the group a team on one host shares the SQLite file
    with (file 0660, folder 2770). None: the owner alone (0600, folder 0700)."""
    from playbooks.errors import PlaybookError

    config = load_config_file() if config is None else config
    section = config.get("store", {})
    if not isinstance(section, dict):
        raise PlaybookError(f"{config_path()}: [store] must be a table; accepted: [store] with group = \"NAME\"")
    group = section.get("group")
    if group is None:
        return None
    if not isinstance(group, str) or not group.strip():
        raise PlaybookError(f"{config_path()}: [store] group = {group!r} is not a group name; "
                            "accepted: group = \"NAME\" (a group you belong to, see `id -Gn`)")
    return group.strip()


def user_path(text: str | Path, what: str = "path") -> Path:
    """A path a person typed, with ~ expanded; ~name of a user this host does not know is a
    one-sentence refusal instead of an internal error."""
    from playbooks.errors import PolicyValueError

    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise PolicyValueError(f"{what} {str(text)!r} starts with the home of a user this host does not know; "
                               "accepted: a path, ~ or ~USER of a user on this host") from None
