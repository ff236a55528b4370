"""The activity log: what the automation did (deliveries, escalations, nudges, detection,
inbound alerts, runbooks), one JSON object per line in the XDG state dir, for the person
asking afterwards "did the page go out, and when?".

Secrets never reach it: values of the environment variables that hold secrets are replaced
by "[redacted]" wherever they appear, and so are fields whose name says secret, credentials
in URLs and bearer tokens. The file is created owner-only and rotated by size.
"""
from __future__ import annotations

import json
import os
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from store.clock import iso_z, utc_now
from store.paths import state_dir

if TYPE_CHECKING:
    from playbooks.config import Configuration

REDACTED = "[redacted]"
FILE_NAME = "activity.jsonl"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3
# Field names whose value is a secret whatever it looks like.
SECRET_FIELD = re.compile(r"(token|secret|password|passwd|api_?key|routing_?key|authorization|credential|"
                          r"webhook_?url|cookie)", re.IGNORECASE)
# Environment variables that hold secrets by their name, even when no config names them.
SECRET_ENV_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ROUTING_?KEY|WEBHOOK|CREDENTIAL|AUTH)")
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
BEARER = re.compile(r"\b(Bearer|Basic|GenieKey|Token)\s+[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would redact ordinary words


def secret_values(environ: dict[str, str] | None = None, named: Iterable[str] = ()) -> list[str]:
    """The values to hide: every variable a config `*_env` key names, and every variable
    whose name says it is a secret. Longest first, so a secret containing another is hidden whole."""
    environ = os.environ if environ is None else environ
    names = set(named) | {name for name in environ if SECRET_ENV_NAME.search(name)}
    values = {environ[name].strip() for name in names if environ.get(name, "").strip()}
    for name in names:  # a secret kept in NAME_FILE (see integrations/secrets.py) is hidden too
        values.add(_file_secret(environ.get(f"{name}_FILE", "")))
    values.discard("")
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def _file_secret(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip() if path.strip() else ""
    except (OSError, UnicodeDecodeError):
        return ""


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = [s for s in secrets if s]

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        value = URL_CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", value)
        return BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", value)

    def value(self, value: Any, key: str = "") -> Any:
        if key and SECRET_FIELD.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v, str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        if isinstance(value, datetime):
            return iso_z(value)
        if value is None or isinstance(value, (bool, int, float)):
            return value
        return self.text(str(value))


class ActivityLog:
    """Append-only JSON lines; safe to call from any thread and from several processes
    (each line is one O_APPEND write); never raises into the caller: a full disk must not
    stop a page from going out, so a failed write is counted instead."""

    def __init__(self, path: Path | None = None, *, secrets: Iterable[str] | None = None,
                 clock: Callable[[], datetime] = utc_now, max_bytes: int = MAX_BYTES) -> None:
        self.path = path or state_dir() / FILE_NAME
        self.redactor = Redactor(secret_values() if secrets is None else secrets)
        self.clock = clock
        self.max_bytes = max_bytes
        self.failures = 0
        self._lock = threading.Lock()

    def write(self, event: str, **fields: Any) -> None:
        record = {"at": iso_z(self.clock()), "event": event}
        record.update(self.redactor.value(fields))
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._lock:
                self._rotate_if_full(len(data))
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, data)
                finally:
                    os.close(fd)
        except OSError:
            self.failures += 1

    def _rotate_if_full(self, incoming: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return
        if size + incoming <= self.max_bytes:
            return
        for n in range(BACKUPS - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))


def read_activity(path: Path | None = None) -> list[dict[str, Any]]:
    """Every record of the current file (tests, `incident-response log`)."""
    path = path or state_dir() / FILE_NAME
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def activity_log_from_config(configuration: "Configuration",
                             clock: Callable[[], datetime] = utc_now) -> ActivityLog:
    """The log with the secrets this configuration points at (and the usual secret-named variables)."""
    named = [variable for _key, variable in configuration.secret_variables()]
    return ActivityLog(secrets=secret_values(named=named), clock=clock)
