"""The activity log: what the automation did (deliveries, escalations, nudges, detection,
inbound alerts, runbooks), one JSON object per line in the XDG state dir, for the person
asking afterwards "did the page go out, and when?".

Secrets never reach it: values of the environment variables that hold secrets are replaced
by "[redacted]" wherever they appear, and so are fields whose name says secret, credentials
in URLs and bearer tokens. The file is created owner-only and rotated by size.

Redaction takes time linear in what it is given: a text field is cut to MAX_FIELD_CHARS
before any pattern sees it (a longer one ends with "…[+N chars]"), and the patterns have no
repetition that can be retried from every position (each bounded, or last with nothing after
it); known secret values are replaced by plain substring search on the whole text first, so
the cut never leaves half a secret. Lines are written as JSON with C1 controls, bidi
overrides and line separators escaped (\u0085, \u202e, ...), so `cat` or `tail` of the file
shows them as text instead of obeying them.
"""
from __future__ import annotations

import json
import os
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from playbooks.clock import iso_z, utc_now
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
# Credentials in a URL (scheme://user:password@) and an authorization scheme's token. Every
# repetition is bounded, or is the last item with nothing after it to backtrack for: the old
# `[a-z][a-z0-9+.-]*://` was retried from every letter of a long word, quadratic in its length.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]{0,31}://)[^/\s:@]{1,256}:[^/\s@]{1,256}@", re.IGNORECASE)
BEARER = re.compile(r"\b(Bearer|Basic|GenieKey|Token)[ \t]{1,16}[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
# One pass for both; the longest text a match can span before its last, unbounded item.
_CREDENTIALS = re.compile(f"(?:{URL_CREDENTIALS.pattern})|(?:{BEARER.pattern})".replace("(?P<scheme>", "(?P<url>"),
                          re.IGNORECASE)
MATCH_REACH = 32 + 3 + 256 + 1 + 256 + 1
MAX_FIELD_CHARS = 4096  # a text field longer than this is cut (before any pattern sees it)
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would redact ordinary words
# Characters a terminal obeys that JSON leaves raw with ensure_ascii=False: DEL, C1 controls, bidi
# embeddings/overrides/isolates, line and paragraph separators, and the byte-order mark.
_TERMINAL_UNSAFE = re.compile("[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


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

    def text(self, value: str, limit: int = MAX_FIELD_CHARS) -> str:
        """`value` with secrets hidden, cut to `limit` characters (linear time in len(value))."""
        for secret in self.secrets:  # substring search: linear, and on the whole text, so no cut halves one
            if secret in value:
                value = value.replace(secret, REDACTED)
        # The patterns see only what can reach into the kept part: a match that starts before
        # the cut is hidden whole, and nothing past the cut is kept.
        window = value[: limit + MATCH_REACH]
        kept: list[str] = []
        position = 0
        for match in _CREDENTIALS.finditer(window):
            if match.start() >= limit:
                break
            kept.append(window[position:match.start()])
            if match.group("url") is not None:
                kept.append(f"{match.group('url')}{REDACTED}@")
            else:
                kept.append(f"{match.group(2)} {REDACTED}")
            position = match.end()
        if position < limit:
            kept.append(window[position:limit])
        if len(value) > max(position, limit):
            kept.append(f"\u2026[+{len(value) - max(position, limit)} chars]")
        return "".join(kept)

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
        line = _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(record, ensure_ascii=False))
        data = (line + "\n").encode("utf-8")
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
