"""Where a notifier's secret comes from: the environment variable its config names, or, when
that is unset, the file named by the same variable with _FILE appended (the convention of
container secrets), which must be readable by its owner alone. Nothing else: a secret is
never in config.toml, the database, an export or a log."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Mapping


class SecretFileError(ValueError):
    """A secret file that cannot be used; the message is one sentence and holds no secret."""


def checked_secret_file(name: str, file_name: str) -> Path:
    """The path NAME_FILE names, refused unless it is a file of ours that no one else can
    read. Reads nothing, so it is cheap enough to run for every command."""
    try:
        path = Path(file_name).expanduser()
        info = path.stat()
    except RuntimeError:  # ~name of a user this host does not know
        raise SecretFileError(f"{name}_FILE starts with an unknown user's home; accepted: the path of a file "
                              "readable by its owner alone") from None
    except OSError as exc:
        raise SecretFileError(f"{name}_FILE points at {file_name}, which cannot be read ({exc.strerror}); "
                              "accepted: a file readable by its owner alone") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or (hasattr(os, "geteuid") and info.st_uid != os.geteuid()):
        raise SecretFileError(f"{name}_FILE points at {path}, which others can read (mode "
                              f"{stat.S_IMODE(info.st_mode):04o}) or another user owns; accepted: a file of yours "
                              f"with mode 0600 (chmod 600 {path})")
    return path


def where_secret_is(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Where the secret `name` would come from, without reading it: "environment", "file PATH",
    or "" when neither is set. An unusable NAME_FILE raises SecretFileError."""
    environ = os.environ if environ is None else environ
    if environ.get(name, "").strip():
        return "environment"
    file_name = environ.get(f"{name}_FILE", "").strip()
    if not file_name:
        return ""
    return f"file {checked_secret_file(name, file_name)}"


def secret_from_env(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The secret `name` holds, or the content of the file `name`_FILE points at; "" when neither is set."""
    environ = os.environ if environ is None else environ
    value = environ.get(name, "")
    if value.strip():
        return value
    file_name = environ.get(f"{name}_FILE", "").strip()
    if not file_name:
        return ""
    path = checked_secret_file(name, file_name)
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretFileError(f"{name}_FILE points at {path}, which cannot be read as text ({exc}); "
                              "accepted: a UTF-8 text file holding the secret") from None
