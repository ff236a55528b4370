"""Log collection into evidence bundles, against the Splunk and Elasticsearch contract
fakes (real HTTP servers on 127.0.0.1), on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from automation.log_collection import EVENT_KIND, collect_logs, verify_bundle
from integrations.elasticsearch import ElasticsearchSource
from integrations.errors import SourceUnavailable
from integrations.splunk import SplunkSource
from playbooks.errors import PolicyValueError
from store.audit import verify_chain
from store.models import TimelineEvent
from tests.support.log_fakes import ElasticsearchFake, SplunkFake

SPLUNK_TOKEN = "splunk-secret-token-123"
ES_KEY = "ZXMtc2VjcmV0LWtleQ=="
STARTED = datetime(2024, 1, 18, 14, 0, 0)  # the frozen clock says 14:30


def _epoch(moment: datetime) -> int:
    return int(moment.replace(tzinfo=timezone.utc).timestamp())


def _iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"


# Inside the window [13:30, 14:30]: 13:45, 14:10, 14:29:59. Outside: 13:20. Other service: 14:05.
TIMES = [datetime(2024, 1, 18, 13, 20), datetime(2024, 1, 18, 13, 45), datetime(2024, 1, 18, 14, 10),
         datetime(2024, 1, 18, 14, 29, 59)]


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SPLUNK_TOKEN", SPLUNK_TOKEN)
    monkeypatch.setenv("ES_API_KEY", ES_KEY)


@pytest.fixture
def splunk():
    events = [{"_time": _epoch(t), "service": "checkout", "_raw": f"ERROR pool exhausted #{n}", "host": "web-1"}
              for n, t in enumerate(TIMES)]
    events.append({"_time": _epoch(datetime(2024, 1, 18, 14, 5)), "service": "billing", "_raw": "other service"})
    events.append({"_time": _epoch(datetime(2024, 1, 18, 14, 6)), "service": "checkout", "index": "audit",
                   "_raw": "other index"})
    with SplunkFake(token=SPLUNK_TOKEN, events=events) as fake:
        yield fake


@pytest.fixture
def elastic():
    documents = [{"@timestamp": _iso(t), "service": {"name": "checkout"}, "message": f"timeout talking to db #{n}"}
                 for n, t in enumerate(TIMES)]
    documents.append({"@timestamp": _iso(datetime(2024, 1, 18, 14, 5)), "service": {"name": "billing"},
                      "message": "other service"})
    with ElasticsearchFake(api_key=ES_KEY, documents=documents) as fake:
        yield fake


def _sources(splunk, elastic, timeout: float = 5.0):
    return {"splunk": SplunkSource(splunk.url, timeout=timeout),
            "elasticsearch": ElasticsearchSource(elastic.url, timeout=timeout)}


def _declare(store, service="checkout"):
    return store.declare("SEV-2", "outage", "production", actor="alice", service=service, started_at=STARTED)


def _events(store, incident_id):
    with store.db.read() as session:
        return session.exec(select(TimelineEvent).where(TimelineEvent.incident_id == incident_id,
                                                        TimelineEvent.kind == EVENT_KIND)).all()


def _chain_ok(store):
    with store.db.read() as session:
        result = verify_chain(session)
    assert result.ok, result.sentence()


def _one_sentence(text: str) -> None:
    assert text and "\n" not in text
    assert not re.search(r"[.!?] [A-Z]", text), text


def test_bundle_written_with_hashes_and_event_on_timeline(store, splunk, elastic, tmp_path):
    incident = _declare(store)
    bundle = collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)

    assert bundle.incident_id == incident.id and bundle.failures == []
    assert [f["source"] for f in bundle.files] == ["splunk", "elasticsearch"]
    directory = tmp_path / incident.id
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    for entry in bundle.files:
        path = directory / entry["name"]
        assert entry["name"] == f"20240118T143000Z-{entry['source']}.jsonl"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        content = path.read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content) == entry["bytes"]
        rows = [json.loads(line) for line in content.decode().splitlines()]
        assert len(rows) == entry["lines"] == 3  # the three in-window lines of "checkout"
        assert entry["window"] == {"start": "2024-01-18T13:30:00Z", "end": "2024-01-18T14:30:00Z"}
    splunk_rows = [json.loads(x) for x in (directory / bundle.files[0]["name"]).read_text().splitlines()]
    assert [r["_raw"] for r in splunk_rows] == ["ERROR pool exhausted #1", "ERROR pool exhausted #2",
                                                "ERROR pool exhausted #3"]
    es_rows = [json.loads(x) for x in (directory / bundle.files[1]["name"]).read_text().splitlines()]
    assert es_rows[0] == {"@timestamp": "2024-01-18T13:45:00Z", "service": {"name": "checkout"},
                          "message": "timeout talking to db #1"}

    events = _events(store, incident.id)
    assert len(events) == 1
    event = events[0]
    assert event.summary == "Collected 6 log lines from splunk, elasticsearch"
    assert event.actor == "alice"
    data = json.loads(event.data)
    assert data["failed"] == [] and data["service"] == "checkout"
    assert [(f["name"], f["sha256"], f["bytes"], f["lines"], f["source"]) for f in data["files"]] == \
        [(f["name"], f["sha256"], f["bytes"], f["lines"], f["source"]) for f in bundle.files]
    assert verify_bundle(store, incident.id) == []
    assert verify_bundle(store, incident.id, evidence_root=tmp_path) == []
    _chain_ok(store)


def test_summary_counts_with_thousands_separator(store, splunk, elastic, tmp_path):
    base = datetime(2024, 1, 18, 13, 40)
    splunk.events = [{"_time": _epoch(base) + n, "service": "checkout", "_raw": f"line {n}"} for n in range(1234)]
    incident = _declare(store)
    collect_logs(store, incident.id, {"splunk": SplunkSource(splunk.url, timeout=10)}, actor="alice",
                 evidence_root=tmp_path)
    assert _events(store, incident.id)[0].summary == "Collected 1,234 log lines from splunk"


@pytest.mark.parametrize("mode", ["500", "garbage", "slow", "unauthorized"])
def test_one_source_down_the_other_is_still_collected(store, splunk, elastic, tmp_path, mode, monkeypatch):
    incident = _declare(store)
    if mode == "unauthorized":
        monkeypatch.setenv("SPLUNK_TOKEN", "wrong-token")
    else:
        splunk.fail = mode
    sources = _sources(splunk, elastic, timeout=0.5)
    bundle = collect_logs(store, incident.id, sources, actor="alice", evidence_root=tmp_path)

    assert [f["source"] for f in bundle.files] == ["elasticsearch"]
    assert [f["source"] for f in bundle.failures] == ["splunk"]
    reason = bundle.failures[0]["reason"]
    _one_sentence(reason)
    assert SPLUNK_TOKEN not in reason and "wrong-token" not in reason
    assert sorted(p.name for p in (tmp_path / incident.id).iterdir()) == ["20240118T143000Z-elasticsearch.jsonl"]
    (event,) = _events(store, incident.id)
    data = json.loads(event.data)
    assert data["failed"] == [{"source": "splunk", "reason": reason}]
    assert event.summary == "Collected 3 log lines from elasticsearch (splunk failed)"
    assert verify_bundle(store, incident.id) == []
    _chain_ok(store)


def test_every_source_down_is_still_recorded(store, splunk, elastic, tmp_path):
    incident = _declare(store)
    splunk.fail = "500"
    elastic.fail = "garbage"
    bundle = collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)
    assert bundle.files == [] and len(bundle.failures) == 2
    (event,) = _events(store, incident.id)
    assert event.summary == "Log collection failed: splunk, elasticsearch could not be queried"
    assert not (tmp_path / incident.id).exists()


def test_slow_source_costs_no_more_than_its_timeout(store, splunk, elastic, tmp_path):
    import time

    incident = _declare(store)
    elastic.fail = "slow"
    elastic.delay = 5.0
    sources = {"splunk": SplunkSource(splunk.url, timeout=5), "elasticsearch": ElasticsearchSource(elastic.url, timeout=0.3)}
    began = time.monotonic()
    bundle = collect_logs(store, incident.id, sources, actor="alice", evidence_root=tmp_path)
    assert time.monotonic() - began < 3.0
    assert [f["source"] for f in bundle.files] == ["splunk"]
    assert "0.3 s" in bundle.failures[0]["reason"]


def test_incident_without_service_is_refused_and_nothing_written(store, splunk, elastic, tmp_path):
    incident = _declare(store, service=None)
    with pytest.raises(PolicyValueError) as caught:
        collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)
    message = str(caught.value)
    _one_sentence(message)
    assert incident.id in message and "service" in message
    assert list(tmp_path.iterdir()) == [] or not (tmp_path / incident.id).exists()
    assert splunk.requests == [] and elastic.requests == []
    assert _events(store, incident.id) == []
    _chain_ok(store)


def test_verify_bundle_finds_an_altered_byte_and_a_deleted_file(store, splunk, elastic, tmp_path):
    incident = _declare(store)
    bundle = collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)
    splunk_file = tmp_path / incident.id / bundle.files[0]["name"]
    es_file = tmp_path / incident.id / bundle.files[1]["name"]

    content = bytearray(splunk_file.read_bytes())
    content[10] ^= 0x01  # one bit of one byte, same size
    splunk_file.write_bytes(bytes(content))
    problems = verify_bundle(store, incident.id)
    assert len(problems) == 1
    assert splunk_file.name in problems[0] and "altered" in problems[0]

    es_file.unlink()
    problems = verify_bundle(store, incident.id)
    assert len(problems) == 2
    assert es_file.name in problems[1] and "missing" in problems[1]
    for problem in problems:
        _one_sentence(problem)


def test_splunk_search_carries_service_and_window(store, splunk, elastic, tmp_path):
    incident = _declare(store)
    collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)
    (request,) = splunk.requests
    assert request["path"] == "/services/search/jobs/export"
    assert request["headers"]["Authorization"] == f"Bearer {SPLUNK_TOKEN}"
    (search,) = splunk.searches
    start, end = _epoch(datetime(2024, 1, 18, 13, 30)), _epoch(datetime(2024, 1, 18, 14, 30))
    assert search == f'search index=main service="checkout" earliest={start} latest={end + 1} | head 10000'

    (body,) = elastic.bodies
    assert elastic.requests[0]["path"] == "/logs-*/_search"
    assert body["query"]["bool"]["filter"] == [
        {"term": {"service.name": "checkout"}},
        {"range": {"@timestamp": {"gte": "2024-01-18T13:30:00.000Z", "lte": "2024-01-18T14:30:00.000Z"}}}]
    assert body["size"] == 10000 and body["sort"] == [{"@timestamp": {"order": "asc"}}]


@pytest.mark.parametrize("service", ['checkout" | delete', "checkout OR *", "a b", "x|outputlookup", "név", ""])
def test_hostile_service_is_refused_by_splunk(splunk, service):
    source = SplunkSource(splunk.url)
    with pytest.raises(PolicyValueError) as caught:
        source.search(service, datetime(2024, 1, 18, 13), datetime(2024, 1, 18, 14))
    _one_sentence(str(caught.value))
    assert splunk.requests == []


def test_hostile_service_on_an_incident_fails_splunk_only(store, splunk, elastic, tmp_path):
    incident = _declare(store, service='checkout" | delete index=main')
    bundle = collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)
    assert splunk.requests == []
    assert [f["source"] for f in bundle.failures] == ["splunk"]
    assert "cannot be searched safely" in bundle.failures[0]["reason"]
    assert [f["source"] for f in bundle.files] == ["elasticsearch"]  # a JSON term carries any value safely
    assert elastic.bodies[0]["query"]["bool"]["filter"][0] == {"term": {"service.name": 'checkout" | delete index=main'}}
    _chain_ok(store)


def test_missing_credentials_name_the_variable_not_a_secret(splunk, elastic, monkeypatch):
    monkeypatch.delenv("SPLUNK_TOKEN")
    monkeypatch.setenv("ES_API_KEY", "")
    start, end = datetime(2024, 1, 18, 13), datetime(2024, 1, 18, 14)
    with pytest.raises(SourceUnavailable, match="SPLUNK_TOKEN is not set"):
        SplunkSource(splunk.url).search("checkout", start, end)
    with pytest.raises(SourceUnavailable, match="ES_API_KEY is not set"):
        ElasticsearchSource(elastic.url).search("checkout", start, end)
    assert splunk.requests == [] and elastic.requests == []


def test_elasticsearch_wrong_key_is_one_sentence_without_the_key(elastic, monkeypatch):
    monkeypatch.setenv("ES_API_KEY", "bm90LXRoZS1rZXk=")
    with pytest.raises(SourceUnavailable) as caught:
        ElasticsearchSource(elastic.url).search("checkout", datetime(2024, 1, 18, 13), datetime(2024, 1, 18, 14))
    message = str(caught.value)
    _one_sentence(message)
    assert "401" in message and "bm90LXRoZS1rZXk=" not in message and ES_KEY not in message


def test_unreachable_source_is_source_unavailable():
    from tests.support.postgres import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SourceUnavailable, match="unreachable"):
        SplunkSource(url, timeout=1).search("checkout", datetime(2024, 1, 18, 13), datetime(2024, 1, 18, 14))
    with pytest.raises(SourceUnavailable, match="unreachable"):
        ElasticsearchSource(url, timeout=1).search("checkout", datetime(2024, 1, 18, 13), datetime(2024, 1, 18, 14))


def test_two_collections_in_the_same_second_keep_both(store, splunk, elastic, tmp_path):
    incident = _declare(store)
    first = collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice", evidence_root=tmp_path)
    second = collect_logs(store, incident.id, _sources(splunk, elastic), actor="bob", evidence_root=tmp_path)
    names = {f["name"] for f in first.files} | {f["name"] for f in second.files}
    assert len(names) == 4
    assert len(_events(store, incident.id)) == 2
    assert verify_bundle(store, incident.id) == []


def test_default_evidence_root_is_the_data_dir(store, splunk, elastic):
    from store.paths import data_dir

    incident = _declare(store)
    bundle = collect_logs(store, incident.id, _sources(splunk, elastic), actor="alice",
                          window_before=timedelta(minutes=5))
    assert bundle.directory == data_dir() / "evidence" / incident.id
    assert all((bundle.directory / f["name"]).exists() for f in bundle.files)
    assert bundle.files[0]["window"]["start"] == "2024-01-18T13:55:00Z"
