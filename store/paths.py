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


def handover_dir() -> Path:
    """Where `x` writes handovers unless `[tui] export_dir` says otherwise: the user's own
    state folder, not wherever the command center happened to be started."""
    return state_dir() / "handovers"


def default_database_url(configured: str | None = None) -> str:
    """IR_DATABASE_URL if set, else config.toml's `[store] url` (passed in), else the SQLite
    file in the XDG data dir."""
    url = os.environ.get("IR_DATABASE_URL") or configured
    if url:
        return url
    return f"sqlite:///{data_dir() / 'incidents.db'}"


def config_path() -> Path:
    """IR_CONFIG if set, else config.toml in the XDG config dir."""
    return Path(os.environ.get("IR_CONFIG") or config_dir() / "config.toml")


def user_playbooks_dir() -> Path:
    return config_dir() / "playbooks"


def user_path(text: str | Path, what: str = "path") -> Path:
    """A path a person typed, with ~ expanded; ~name of a user this host does not know is a
    one-sentence refusal instead of an internal error."""
    from playbooks.errors import PolicyValueError

    try:
        return Path(text).expanduser()
    except RuntimeError:
        raise PolicyValueError(f"{what} {str(text)!r} starts with the home of a user this host does not know; "
                               "accepted: a path, ~ or ~USER of a user on this host") from None
