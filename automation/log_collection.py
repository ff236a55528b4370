"""Log collection (the rules' `begin_log_collection`, the war room's key): query each
log source for the incident's service and time window and keep what it returns as an
evidence bundle beside the incident, so it survives the source rotating its logs.

  <evidence root>/<incident id>/<UTC timestamp>-<source>.jsonl

One JSON object per line, files owner-only (0600) in owner-only directories (0700).
Each file's SHA-256, size and line count go on the timeline in ONE "evidence_collected"
event, together with the sources that failed and why; the audit hash chain then
protects those digests, and `verify_bundle` checks the files still match them.

Sources run at once, each in its own thread under its own timeout, so a dead source
costs the collection no more than that timeout and never stops the others.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from sqlmodel import select

from integrations.errors import SourceUnavailable
from playbooks.errors import PolicyValueError
from playbooks.clock import iso_z, to_utc_naive
from store.errors import ChangeRefused
from store.models import TimelineEvent
from store.operations import IncidentStore
from store.paths import data_dir
from store.queries import get_incident
from playbooks.validation import check_actor
from playbooks.timeline import TimelineKind

EVENT_KIND = TimelineKind.EVIDENCE_COLLECTED
DEFAULT_LIMIT = 10_000
DEFAULT_TIMEOUT = 30.0
# How long past a source's own timeout the collection waits before giving it up.
DEADLINE_GRACE = 5.0
_SOURCE_NAME = re.compile(r"[a-z0-9_-]{1,40}")


class LogSource(Protocol):
    timeout: float

    # `query` (a log query narrowing the search) is passed only when there is one.
    def search(self, service: str, start: datetime, end: datetime, limit: int = DEFAULT_LIMIT,
               query: str | None = None) -> list[dict]: ...


@dataclass
class EvidenceBundle:
    """What one collection wrote: `files` as recorded on the timeline (name, path, sha256,
    bytes, lines, source, window) and `failures` ({source, reason}) for the sources that failed."""

    incident_id: str
    files: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    directory: Path | None = None

    @property
    def lines(self) -> int:
        return sum(f["lines"] for f in self.files)


def evidence_dir(incident_id: str, evidence_root: Path | str | None = None) -> Path:
    root = Path(evidence_root) if evidence_root is not None else data_dir() / "evidence"
    return root / incident_id


def collect_logs(store: IncidentStore, incident_id: str, sources: Mapping[str, LogSource], *, actor: str,
                 window_before: timedelta = timedelta(minutes=30), evidence_root: Path | str | None = None,
                 clock: Callable[[], datetime] | None = None, limit: int = DEFAULT_LIMIT,
                 service: str | None = None, query: str | None = None) -> EvidenceBundle:
    """Collect the incident's logs from every source into an evidence bundle.

    `service` (default: the incident's) names whose logs; `query` (a rule's or an alert's
    `log_query`) narrows them, passed to each source as data, never spliced into its syntax.

    The window runs from `window_before` ahead of the start of impact (or of detection,
    when the start is unknown) until now. Raises PolicyValueError / ChangeRefused /
    IncidentNotFound (one sentence) before anything is queried or written when the
    collection cannot happen at all; a failing source only lands in `failures`.
    """
    actor = check_actor(actor)
    if not sources:
        raise PolicyValueError("no log source is configured; accepted: splunk and/or elasticsearch under [logs]")
    for name in sources:
        if not _SOURCE_NAME.fullmatch(str(name)):
            raise PolicyValueError(f"the log source name {str(name)[:40]!r} is not usable in a file name; "
                                   "accepted: lowercase letters, digits, _ and -")
    if not isinstance(window_before, timedelta) or window_before < timedelta(0):
        raise PolicyValueError(f"the window before the incident is {window_before!r}; accepted: a duration of 0 or more")
    with store.db.read() as session:
        incident = get_incident(session, incident_id)
        incident_id, service = incident.id, service or incident.service
        anchor = incident.started_at or incident.detected_at
        status = incident.status
    if not service:
        raise PolicyValueError(f"{incident_id} names no service, so there are no logs to collect; "
                               "accepted: an incident declared with --service, or a rule or alert naming one")
    if status == "closed":
        raise ChangeRefused(f"{incident_id} is closed, so it cannot collect logs; accepted: notes only")
    now = to_utc_naive((clock or store.clock)())
    start = to_utc_naive(anchor) - window_before
    end = max(now, start)
    window = {"start": iso_z(start), "end": iso_z(end)}

    query = " ".join(str(query).split()) or None if query is not None else None
    outcomes = _query_all(sources, service, start, end, limit, query)

    directory = evidence_dir(incident_id, evidence_root)
    bundle = EvidenceBundle(incident_id=incident_id, directory=directory)
    written: list[Path] = []
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    try:
        for name in sources:
            rows, reason = outcomes[name]
            if reason is not None:
                bundle.failures.append({"source": name, "reason": reason})
                continue
            _make_private_dirs(directory)
            path, digest, size = _write_jsonl(directory, f"{stamp}-{name}", rows)
            written.append(path)
            bundle.files.append({"name": path.name, "path": str(path), "sha256": digest, "bytes": size,
                                 "lines": len(rows), "source": name, "window": window})
        summary = _summary(bundle)
        data = {"service": service, "window": window, "directory": str(directory), "files": bundle.files,
                "failed": bundle.failures}
        if query:
            data["query"] = query
        with store.db.write() as session:
            incident = get_incident(session, incident_id)
            if incident.status == "closed":
                raise ChangeRefused(f"{incident_id} was closed during the collection; accepted: notes only")
            store.record_event(session, incident, store.now(), actor, EVENT_KIND, summary, data)
    except BaseException:
        # Files the timeline does not vouch for are not evidence: leave none behind.
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return bundle


def verify_bundle(store: IncidentStore, incident_id: str, *,
                  evidence_root: Path | str | None = None) -> list[str]:
    """Recompute the SHA-256 of every evidence file recorded on the incident's timeline.
    Returns one sentence per missing or altered file (empty: all intact). With
    `evidence_root`, files are looked for there (a bundle copied elsewhere)."""
    with store.db.read() as session:
        incident = get_incident(session, incident_id)
        events = session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident.id,
                                                          TimelineEvent.kind == EVENT_KIND)
                              .order_by(TimelineEvent.seq)).all()
        incident_id = incident.id
    problems: list[str] = []
    for event in events:
        try:
            data = json.loads(event.data)
        except ValueError:
            problems.append(f"timeline event #{event.seq} of {incident_id} has unreadable evidence data")
            continue
        for entry in data.get("files") or []:
            name = str(entry.get("name", ""))
            if evidence_root is not None:
                path = evidence_dir(incident_id, evidence_root) / name
            else:
                path = Path(entry.get("path") or Path(data.get("directory", "")) / name)
            problem = _check_file(path, entry)
            if problem:
                problems.append(f"evidence file {name} (event #{event.seq}) {problem}")
    return problems


# -- internals ------------------------------------------------------------------------
def _query_all(sources: Mapping[str, LogSource], service: str, start: datetime, end: datetime,
               limit: int, query: str | None = None) -> dict[str, tuple[list[dict], str | None]]:
    """Every source at once; (rows, None) or ([], one-sentence reason) per source."""
    outcomes: dict[str, tuple[list[dict], str | None]] = {}
    pool = ThreadPoolExecutor(max_workers=len(sources), thread_name_prefix="log-collection")
    try:
        narrowing = {"query": query} if query else {}  # sources that take no query are asked as before
        futures = {name: pool.submit(source.search, service, start, end, limit, **narrowing)
                   for name, source in sources.items()}
        began = time.monotonic()
        for name, future in futures.items():
            allowed = _timeout_of(sources[name]) + DEADLINE_GRACE
            wait([future], timeout=max(0.0, began + allowed - time.monotonic()))
            if not future.done():
                outcomes[name] = ([], f"{name} did not answer within {_timeout_of(sources[name]):g} s")
                continue
            exc = future.exception()
            if exc is None:
                rows = future.result()
                if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                    outcomes[name] = ([], f"{name} returned something other than a list of log records")
                else:
                    outcomes[name] = (rows, None)
            elif isinstance(exc, (SourceUnavailable, PolicyValueError)):
                outcomes[name] = ([], _sentence(str(exc)) or f"{name} failed")
            else:
                outcomes[name] = ([], f"{name} failed unexpectedly ({type(exc).__name__})")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # a hung source must not hold the collection
    return outcomes


def _timeout_of(source: Any) -> float:
    try:
        value = float(getattr(source, "timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


def _sentence(text: str) -> str:
    return " ".join(text.split())[:300]


def _make_private_dirs(directory: Path) -> None:
    created = []
    probe = directory
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    for path in reversed(created):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    if directory in created or directory.exists():
        os.chmod(directory, 0o700)


def _write_jsonl(directory: Path, stem: str, rows: list[dict]) -> tuple[Path, str, int]:
    """Write rows as JSON lines to a new owner-only file; returns (path, sha256, bytes)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    attempt = 1
    while True:
        path = directory / (f"{stem}.jsonl" if attempt == 1 else f"{stem}-{attempt}.jsonl")
        try:
            fd = os.open(path, flags, 0o600)
            break
        except FileExistsError:  # two collections in the same second: never overwrite evidence
            attempt += 1
    digest = hashlib.sha256()
    size = 0
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            for row in rows:
                line = (json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
                handle.write(line)
                digest.update(line)
                size += len(line)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def _check_file(path: Path, entry: Mapping[str, Any]) -> str | None:
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError:
        return f"is missing from {path.parent}"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    if digest.hexdigest() != entry.get("sha256"):
        return "was altered: its SHA-256 no longer matches the one on the timeline"
    if entry.get("bytes") is not None and size != entry.get("bytes"):
        return "was altered: its size no longer matches the one on the timeline"
    return None


def _summary(bundle: EvidenceBundle) -> str:
    collected = [f["source"] for f in bundle.files]
    failed = [f["source"] for f in bundle.failures]
    if collected:
        lines = bundle.lines
        text = f"Collected {lines:,} log line{'s' if lines != 1 else ''} from {', '.join(collected)}"
        if failed:
            text += f" ({', '.join(failed)} failed)"
        return text
    return f"Log collection failed: {', '.join(failed)} could not be queried"
