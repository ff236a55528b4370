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
