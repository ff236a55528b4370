"""Property: an import document is written whole or not at all.

store.transfer.parse_import + import_incidents (and `incident-response import FILE`) on
generated documents: lists of incident objects per the documented form, valid ones and
ones with fields missing, extra, of the wrong type, with bad or future timestamps,
lifecycles out of order, timestamps without a time zone or before year 1900 (issue 13),
huge strings, deep nesting, a top level that is not a list, or text that is not JSON. Either exactly N incidents (N records) are written, or ImportError_
(a PolicyValueError) says in one printable line what is wrong, and the digest of every
table is unchanged. A document built valid must be accepted; one built broken must not.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from playbooks.errors import PolicyValueError
from store.models import Incident
from store.transfer import EXPORT_ONLY_KEYS, LIFECYCLE, ImportError_, import_incidents, parse_import
from tests.properties.common import note, property_settings
from tests.properties.digest import table_digest

NOW = datetime(2024, 1, 18, 14, 30)  # the conftest clock; IR_NOW for the CLI
EARLIEST = datetime(2015, 1, 1)

SEVERITIES = ["critical", "high", "medium", "low", "SEV-1", "sev2", "p3", "4", "Critical"]
TYPES = ["outage", "security", "performance", "data", "integration", "Outage"]
ENVIRONMENTS = ["production", "staging", "development", "prod", "stage", "dev"]
OPEN = ["investigating", "identified", "monitoring"]
TITLE = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=120).filter(
    lambda t: t.strip() and not any(127 <= ord(c) < 160 for c in t))


def stamp(moment: datetime, style: int) -> str:
    """One instant written the ways an export or a person writes it (always with its zone)."""
    aware = moment.replace(tzinfo=timezone.utc)
    if style == 0:
        return aware.strftime("%Y-%m-%dT%H:%M:%SZ")
    if style == 1:
        return aware.astimezone(timezone(timedelta(hours=2))).isoformat()
    if style == 2:
        return aware.astimezone(timezone(timedelta(hours=-7, minutes=-30))).isoformat(timespec="microseconds")
    return aware.isoformat()  # +00:00


@st.composite
def valid_records(draw) -> dict:
    status = draw(st.sampled_from(OPEN + ["resolved", "closed"]))
    span = int((NOW - EARLIEST).total_seconds())
    moment = EARLIEST + timedelta(seconds=draw(st.integers(0, span - 10 * 86400)))
    style = draw(st.integers(0, 3))
    record = {"title": draw(TITLE), "severity": draw(st.sampled_from(SEVERITIES)),
              "type": draw(st.sampled_from(TYPES)), "environment": draw(st.sampled_from(ENVIRONMENTS)),
              "status": status}
    needed = {"detected_at", "declared_at"} | ({"resolved_at"} if status in ("resolved", "closed") else set()) | (
        {"closed_at"} if status == "closed" else set())
    forbidden = {"resolved_at", "closed_at"} if status in OPEN else set()
    for name in LIFECYCLE:
        if name in forbidden or (name not in needed and not draw(st.booleans())):
            continue
        moment += timedelta(seconds=draw(st.integers(0, 86400)))
        record[name] = stamp(min(moment, NOW), style)
    if draw(st.booleans()):
        record["service"] = draw(TITLE)
    if draw(st.integers(0, 4)) == 0:
        record["is_drill"] = draw(st.booleans())
    if draw(st.integers(0, 2)) == 0:  # a score from 1 to 5 (a JSON integer or float), or null
        record["customer_satisfaction"] = draw(st.none() | st.integers(1, 5) | st.floats(1.0, 5.0))
    if draw(st.integers(0, 4)) == 0:  # what an export adds, which the import ignores
        record["timeline"] = [{"seq": 1, "kind": "declared"}]
        record["severity_name"] = "whatever"
    return record


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
BAD_STAMPS = ["yesterday", "", " ", "2024-13-01T00:00:00Z", "2024-02-30T10:00:00Z", "2024-01-18T25:00:00Z",
              "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-05:00", "2999-01-01T00:00:00Z", 1705588200, 1.5,
              True, None, [], {}, "2024-01-18T14:30:00+25:00", "2024-01-18 14:30", "１２３"]
# Times the documented form refuses for certain: no zone (ambiguous by up to a day), a year
# before 1900 however it is written (year 2 would be born overdue), a number instead of text.
ZONELESS = ["2024-01-05T10:00:00", "2024-01-05T10:00", "2024-01-05 10:00:00", "2024-01-05", "20240105T100000",
            "2024-01-05T10:00:00.123456"]
ANCIENT = ["0002-01-05T10:00:00Z", "1899-12-31T23:59:59Z", "1900-01-01T00:30:00+01:00", "0001-01-01T00:00:00Z",
           "0999-06-01T00:00:00-05:00"]
HUGE = ["x" * 300, "é" * 10_001, "\x1b]0;pwned\x07", "line\nbreak", "\u2028", "\ud800"]


@st.composite
def broken(draw, record: dict) -> tuple[dict | object, bool]:
    """(the record with one change, whether the change certainly makes it unacceptable)."""
    record = dict(record)
    change = draw(st.sampled_from(["drop", "retype", "stamp", "swap", "future", "huge", "extra", "export_only",
                                   "not_object", "id", "nest", "zoneless", "ancient", "number"]))
    if change == "drop":
        key = draw(st.sampled_from(sorted(record)))
        required = key in ("title", "severity", "type", "environment", "status", "detected_at", "declared_at") or (
            key == "resolved_at" and record["status"] in ("resolved", "closed")) or (
            key == "closed_at" and record["status"] == "closed")
        del record[key]
        return record, required
    if change == "retype":
        key = draw(st.sampled_from(["title", "severity", "type", "environment", "status", "service", "is_drill",
                                    "customer_satisfaction"]))
        value = draw(st.sampled_from([42, 4.2, True, None, [], {}, ["critical"], {"a": 1}, 0.5, "4.5", 1e308]))
        record[key] = value
        certain = (key in ("title",) and value is not None and not isinstance(value, str)) or (
            key == "customer_satisfaction" and value not in (4.2, None))
        return record, certain
    if change == "stamp":
        key = draw(st.sampled_from(LIFECYCLE))
        record[key] = draw(st.sampled_from(BAD_STAMPS))
        return record, False
    if change in ("zoneless", "ancient", "number"):
        key = draw(st.sampled_from([k for k in LIFECYCLE if k in record]))
        if change == "number":
            record[key] = draw(st.sampled_from([1705588200, 1705588200.5, 0, -1]))
        else:
            record[key] = draw(st.sampled_from(ZONELESS if change == "zoneless" else ANCIENT))
        return record, True
    if change == "swap":
        present = [k for k in LIFECYCLE if k in record]
        first, second = present[0], present[-1]
        if record[first] == record[second]:
            return record, False
        record[first], record[second] = record[second], record[first]
        return record, False  # different zones may still compare equal
    if change == "future":
        key = draw(st.sampled_from([k for k in LIFECYCLE if k in record]))
        record[key] = stamp(NOW + timedelta(hours=draw(st.integers(1, 10**6))), 0)
        return record, True
    if change == "huge":
        key = draw(st.sampled_from(["title", "service", "severity", "status"]))
        record[key] = draw(st.sampled_from(HUGE))
        return record, key == "title"
    if change == "extra":
        record[draw(st.text(min_size=1, max_size=10).filter(
            lambda k: k not in EXPORT_ONLY_KEYS and k not in record and k not in ("id", "service", "is_drill",
                                                                                   "customer_satisfaction",
                                                                                   *LIFECYCLE)))] = draw(JSON_VALUES)
        return record, True
    if change == "export_only":
        record[draw(st.sampled_from(sorted(EXPORT_ONLY_KEYS)))] = draw(JSON_VALUES)
        return record, False
    if change == "not_object":
        return draw(JSON_VALUES.filter(lambda v: not isinstance(v, dict))), True
    if change == "id":
        record["id"] = draw(st.sampled_from(["INC-2024-1345-001", "INC-2024-0118", "inc-2024-0118-001", "",
                                             "INC-2024-0230-001", "INC-२०२४-0105-001", "INC-2024-0118-001\n", 7,
                                             "INC-2023-0101-1234567"]))
        return record, True
    record[draw(st.sampled_from(["title", "service"]))] = {"a": [[[[{"b": None}]]]]}
    return record, True


ACCEPT, REFUSE, EITHER = "accept", "refuse", "either"


@st.composite
def documents(draw) -> tuple[str, int | None, str]:
    """(JSON text, records when it is a list, what the import must do: ACCEPT, REFUSE or EITHER)."""
    records = draw(st.lists(valid_records(), min_size=0, max_size=4))
    shape = draw(st.sampled_from(["valid"] * 3 + ["one broken"] * 5 + ["top level", "text", "deep", "ids"]))
    verdict = ACCEPT
    if shape == "one broken" and records:
        index = draw(st.integers(0, len(records) - 1))
        records[index], certain = draw(broken(records[index]))
        verdict = REFUSE if certain else EITHER
    elif shape == "top level":
        return json.dumps(draw(JSON_VALUES.filter(lambda v: not isinstance(v, list)))), None, REFUSE
    elif shape == "text":
        text = json.dumps(records)
        cut = draw(st.integers(0, max(0, len(text) - 1)))
        bad = draw(st.sampled_from([text[:cut], text + ",", "[" + text, text.replace('"', "'", 1), "", "[1,]",
                                    "NaN", "[{]", "\ufeff" + text, "[" * 5 + "]" * 4]))
        return bad, len(records), REFUSE if bad != text else ACCEPT
    elif shape == "deep":
        depth = draw(st.sampled_from([100, 10_000, 200_000]))
        return "[" * depth + "]" * depth, None, REFUSE
    elif shape == "ids" and records:
        # An id of the file's own: a real date, 3 to 6 digits; twice in one file is refused.
        day = datetime(2023, 1, 1) + timedelta(days=draw(st.integers(0, 364)))
        same = f"INC-{day:%Y-%m%d}-{draw(st.integers(1, 999_999)):03d}"
        for record in records:
            record["id"] = same
        verdict = REFUSE if len(records) > 1 else EITHER  # EITHER: an earlier example may have taken it
    return json.dumps(records, ensure_ascii=draw(st.booleans())), len(records), verdict


def incident_count(store) -> int:
    with store.db.read() as session:
        return session.execute(select(func.count()).select_from(Incident)).scalar_one()


def import_once(store, text: str, records: int | None, verdict: str) -> None:
    before, count = table_digest(store.db), incident_count(store)
    try:
        ids = import_incidents(store, parse_import(store, text, "history.json"), actor="historian")
    except ImportError_ as exc:
        note("refused")
        message = str(exc)
        assert isinstance(exc, PolicyValueError)
        assert len(message.splitlines()) == 1 and message.isprintable(), repr(message)
        assert message.startswith("history.json") or message.startswith("incident "), message
        assert "accepted" in message, message
        assert table_digest(store.db) == before, f"refused ({message}) but wrote"
        assert verdict != ACCEPT, f"a valid document was refused: {message}\n{text[:2000]}"
        return
    note("imported")
    assert verdict != REFUSE, f"a broken document was imported: {text[:500]!r}"
    assert records is not None and len(ids) == records == len(set(ids))
    assert incident_count(store) == count + records
    assert (table_digest(store.db) == before) == (records == 0)


@pytest.fixture
def fast_store(policy, clock):
    """A SQLite store in memory-backed /dev/shm when there is one (hundreds of commits)."""
    from store.database import open_database
    from store.operations import IncidentStore

    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="ir-import-", dir=shm if shm.is_dir() and os.access(shm, os.W_OK)
                                   else None))
    db = open_database(f"sqlite:///{folder / 'incidents.db'}")
    store = IncidentStore(db, policy, clock)
    store.declare("critical", "outage", "production", actor="alice", title="already here")
    yield store
    db.dispose()
    shutil.rmtree(folder, ignore_errors=True)


VALID = {"title": "Checkout 5xx", "severity": "high", "type": "outage", "environment": "production",
         "status": "resolved", "detected_at": "2024-01-05T10:00:00Z", "declared_at": "2024-01-05T10:05:00Z",
         "resolved_at": "2024-01-05T12:00:00Z"}


@property_settings(300)
@given(document=documents())
@example(document=(json.dumps([VALID, dict(VALID, title="\x1b]0;pwned\x07")]), 2, REFUSE))
@example(document=("[" * 200_000 + "]" * 200_000, None, REFUSE))
@example(document=(json.dumps([dict(VALID, detected_at="0001-01-01T00:30:00+01:00")]), 1, REFUSE))
@example(document=(json.dumps([dict(VALID, service="caf\ud800")]), 1, REFUSE))
@example(document=(json.dumps([VALID, VALID]), 2, ACCEPT))
@example(document=(json.dumps([dict(VALID, declared_at="2024-01-05T10:05:00")]), 1, REFUSE))  # no zone
@example(document=(json.dumps([dict(VALID, started_at="0002-01-05T09:00:00Z")]), 1, REFUSE))  # year 2
@example(document=(json.dumps([{k: v for k, v in VALID.items() if k != "declared_at"}]), 1, REFUSE))  # found: no "accepted"
def test_import_writes_all_or_nothing(fast_store, document):
    import_once(fast_store, *document)


@pytest.mark.postgres
@property_settings(60)
@given(document=documents())
def test_import_writes_all_or_nothing_on_both_backends(store, document):
    """The `store` fixture on SQLite and PostgreSQL: the same property, fewer examples."""
    import_once(store, *document)


@pytest.fixture
def cli_import(tmp_path, monkeypatch):
    """run(text) -> (status, stderr, digest before, digest after, incidents written) via the CLI."""
    from tui import cli

    monkeypatch.setenv("IR_NOW", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
    monkeypatch.delenv("IR_DEBUG", raising=False)
    path = tmp_path / "incidents.db"
    document = tmp_path / "history.json"

    def run(text: str):
        before = table_digest(path)
        document.write_text(text, encoding="utf-8", errors="surrogatepass")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = cli.main(["--db", f"sqlite:///{path}", "--as", "historian", "import", str(document)])
        return status, out.getvalue(), err.getvalue(), before, table_digest(path)

    return run


@property_settings(60)
@given(document=documents())
def test_cli_import_writes_all_or_nothing(cli_import, document):
    text, records, verdict = document
    status, out, err, before, after = cli_import(text)
    assert "Traceback" not in err and status in (0, 2), (status, err)
    if status == 2:
        note("refused")
        assert len(err.splitlines()) == 1 and err[:-1].isprintable(), repr(err)
        assert after == before, "exit 2 but the database changed"
        assert verdict != ACCEPT, f"a valid document was refused: {err}"
        return
    note("imported")
    assert verdict != REFUSE, f"a broken document was imported: {text[:500]!r}"
    assert out.startswith(f"Imported {records} incident(s)"), out


@pytest.mark.parametrize("field,value,says", [
    ("declared_at", "2024-01-05T10:05:00", "(2024-01-05T10:05:00) has no time zone; accepted: ISO 8601 text with a "
                                           "time zone, like 2024-01-15T14:30:00Z"),
    ("detected_at", "2024-01-05", "(2024-01-05T00:00:00) has no time zone; accepted: ISO 8601 text with a time zone"),
    ("started_at", "0002-01-05T09:00:00Z", "(0002-01-05T09:00:00+00:00) is out of range; accepted: a time from "
                                           "year 1900 up to now"),
    ("started_at", "1900-01-01T00:30:00+01:00", "is out of range; accepted: a time from year 1900 up to now"),
    ("resolved_at", 1704452400, "(1704452400) is not a timestamp; accepted: ISO 8601 text with a time zone"),
])
def test_times_outside_the_documented_form_are_refused_in_one_sentence(fast_store, field, value, says):
    with pytest.raises(ImportError_) as refused:
        parse_import(fast_store, json.dumps([VALID, dict(VALID, **{field: value})]), "history.json")
    message = str(refused.value)
    assert message.startswith(f"history.json: incident 2: field {field} ") and says in message, message
    assert len(message.splitlines()) == 1


def test_times_inside_the_documented_form_are_accepted(fast_store):
    records = parse_import(fast_store, json.dumps([dict(VALID, started_at="1900-01-01T00:00:00Z", title="oldest"),
                                                   dict(VALID, declared_at="2024-01-05T12:05:00+02:00")]), "h.json")
    assert records[0].started_at == datetime(1900, 1, 1) and records[1].declared_at == datetime(2024, 1, 5, 10, 5)


def test_a_repeated_id_is_found_among_many_records(fast_store):
    many = [dict(VALID, id=f"INC-2024-0105-{n:04d}") for n in range(1, 2001)]
    many.append(dict(VALID, id="INC-2024-0105-1234"))
    with pytest.raises(ImportError_, match="id INC-2024-0105-1234 appears twice; accepted: each id once"):
        parse_import(fast_store, json.dumps(many), "history.json")
