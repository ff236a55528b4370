"""Where the audit chain's key comes from: IR_AUDIT_KEY, or, when that is unset, the file
IR_AUDIT_KEY_FILE names, which must be a file of the user's that no one else can read
(the convention of integrations/secrets.py, which store/ may not import). Read once at the
door (the CLI) and handed to the store; never written to the database, a log or a screen.

With a key, every timeline event the program writes carries an HMAC-SHA256 of its hash, so
someone who can write the database but does not hold the key cannot recompute the chain
unnoticed (`audit verify` with the key says so)."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Mapping

KEY_ENV = "IR_AUDIT_KEY"
KEY_FILE_ENV = "IR_AUDIT_KEY_FILE"
MIN_KEY_BYTES = 16  # a shorter key is guessable offline from one event and its MAC


class AuditKeyError(ValueError):
    """The key cannot be used; the message is one sentence and never holds the key."""


def _checked(key: str, where: str) -> bytes:
    data = key.strip().encode("utf-8")
    if len(data) < MIN_KEY_BYTES:
        raise AuditKeyError(f"the audit key in {where} is {len(data)} bytes long; accepted: at least "
                            f"{MIN_KEY_BYTES} bytes of random text (for example from `openssl rand -hex 32`)")
    return data


def audit_key_from_environment(environ: Mapping[str, str] | None = None) -> bytes | None:
    """The key, None when neither variable is set; AuditKeyError for one that cannot be used."""
    environ = os.environ if environ is None else environ
    value = environ.get(KEY_ENV, "")
    if value.strip():
        return _checked(value, KEY_ENV)
    file_name = environ.get(KEY_FILE_ENV, "").strip()
    if not file_name:
        return None
    try:
        path = Path(file_name).expanduser()
        # O_NOFOLLOW: a planted symlink must not make us read (and trust) another file.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except RuntimeError:  # ~name of a user this host does not know
        raise AuditKeyError(f"{KEY_FILE_ENV} starts with an unknown user's home; accepted: the path of a file "
                            "readable by its owner alone") from None
    except OSError as exc:
        raise AuditKeyError(f"{KEY_FILE_ENV} points at {file_name}, which cannot be opened ({exc.strerror}); "
                            "accepted: a regular file readable by its owner alone, not a symlink") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO) or (
                hasattr(os, "geteuid") and info.st_uid != os.geteuid()):
            raise AuditKeyError(f"{KEY_FILE_ENV} points at {path}, which is not a regular file of yours that "
                                f"only you can read (mode {stat.S_IMODE(info.st_mode):04o}); accepted: a file of "
                                f"yours with mode 0600 (chmod 600 {path})")
        with os.fdopen(os.dup(fd), "rb") as handle:
            raw = handle.read(4096)
    finally:
        os.close(fd)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditKeyError(f"{KEY_FILE_ENV} points at {path}, which is not UTF-8 text; accepted: a text file "
                            "holding the key") from None
    return _checked(text, str(path))
