"""Customer satisfaction from the shell, as an engineer types it (a real subprocess, IR_NOW
frozen): scores set with `csat`, then the monthly report's line, exactly as the spec
words it, and its json key. Both backends."""
import json

import pytest

from tests.e2e.test_cli import ir

DECEMBER = "2023-12-12T10:00:00Z"
JANUARY = "2024-01-16T10:00:00Z"
LATER = "2024-01-20T09:00:00Z"


def declare(db, now, severity="high", title="Checkout errors"):
    return ir(severity, "outage", "production", "--no-tui", "--title", title, db=db, now=now).stdout.strip()


def csat(db, incident_id, score, actor="alice", check=True):
    return ir("--as", actor, "csat", incident_id, score, db=db, now=LATER, check=check)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scored(request, tmp_path_factory):
    """December: 3.5 and 4.3 (mean 3.9). January: 4.0, 4.5 and 4.1 (mean 4.2), one unscored.
    Built once per backend for the tests that only read it (twelve CLI runs each time)."""
    home = tmp_path_factory.mktemp("csat")
    with pytest.MonkeyPatch.context() as patch:  # as tests/conftest.py's isolated_dirs, for a module
        for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            patch.setenv(name, str(home / name.lower()))
        patch.delenv("IR_DATABASE_URL", raising=False)
        patch.setenv("USER", "tester")
        if request.param == "sqlite":
            db = f"sqlite:///{home / 'incidents.db'}"
        else:
            server = request.getfixturevalue("postgres_server")
            name = server.create_database()
            request.addfinalizer(lambda: server.drop_database(name))
            db = server.url(name)
        for score in ("3.5", "4.3"):
            csat(db, declare(db, DECEMBER), score)
        january = [declare(db, JANUARY, title=f"January {n}") for n in range(4)]
        csat(db, january[0], "4", actor="alice")
        csat(db, january[1], "4.5", actor="bob")
        csat(db, january[2], "2", actor="carol")  # a typo, corrected below by someone else
        csat(db, january[2], "4.1", actor="dave")
    return db, january


def test_the_report_line_and_json_key(scored):
    db, _ = scored
    text = ir("report", "--month", "2024-01", db=db, now=LATER).stdout
    lines = text.splitlines()
    assert "└── Customer satisfaction: 4.2/5.0 (+0.3 vs. December 2023)" in lines
    assert "├── Response time (MTTA): no comparison with December 2023 (no data)" in lines  # same words for the month
    report = json.loads(ir("report", "--month", "2024-01", "--format", "json", db=db, now=LATER).stdout)
    assert report["customer_satisfaction"] == {"mean": 4.2, "scored_incidents": 3, "previous_mean": 3.9,
                                               "change": 0.3, "vs": "2023-12"}
    assert "in points (not percent)" in report["definitions"]["customer_satisfaction"]
    md = ir("report", "--month", "2024-01", "--format", "md", db=db, now=LATER).stdout
    assert "- Customer satisfaction: 4.2/5.0 (+0.3 vs. December 2023)\n" in md


def test_no_previous_score_omits_the_change_and_no_score_says_so(scored):
    db, _ = scored
    december = ir("report", "--month", "2023-12", db=db, now=LATER).stdout.splitlines()
    assert "└── Customer satisfaction: 3.9/5.0" in december  # November had none: no change
    february = ir("report", "--month", "2024-02", db=db, now="2024-02-10T00:00:00Z").stdout.splitlines()
    assert "└── Customer satisfaction: no scores recorded for the incidents of February 2024" in february
    report = json.loads(ir("report", "--month", "2024-02", "--format", "json", db=db,
                           now="2024-02-10T00:00:00Z").stdout)
    assert report["customer_satisfaction"] == {"mean": None, "scored_incidents": 0, "previous_mean": 4.2,
                                               "change": None, "vs": "2024-01"}


def test_the_audit_trail_says_who_set_each_score(scored):
    db, january = scored
    shown = json.loads(ir("show", january[2], "--json", db=db, now=LATER).stdout)
    assert shown["customer_satisfaction"] == 4.1
    events = [(e["actor"], e["summary"]) for e in shown["timeline"] if e["kind"] == "customer_satisfaction"]
    assert events == [("carol", "Customer satisfaction 2.0/5.0"),
                      ("dave", "Customer satisfaction 4.1/5.0 (was 2.0/5.0)")]
    assert ir("audit", "verify", db=db).returncode == 0


def test_what_csat_prints(db_url):
    incident_id = declare(db_url, JANUARY, severity="low")
    out = csat(db_url, incident_id, "4.25", actor="erin").stdout
    assert out == f"{incident_id} customer satisfaction 4.25/5.0, recorded by erin\n"
    again = csat(db_url, incident_id, "4.250", actor="frank").stdout
    assert again == f"No change: {incident_id} already has customer satisfaction 4.25/5.0\n"
    # A survey comes back after the incident is over: a closed incident takes its score.
    ir("resolve", incident_id, db=db_url, now=LATER)
    ir("close", incident_id, db=db_url, now=LATER)
    out = csat(db_url, incident_id, "5", actor="erin").stdout
    assert out == f"{incident_id} customer satisfaction 5.0/5.0 (was 4.25/5.0), recorded by erin\n"


BAD_SCORES = [
    ("0.9", "'0.9' is out of range"),
    ("5.01", "'5.01' is out of range"),
    ("-1", "'-1' is out of range"),
    ("nan", "'nan' is not a finite number"),
    ("inf", "'inf' is not a finite number"),
    ("four", "'four' is not a number"),
    ("4,5", "'4,5' is not a number"),
    ("", "'' is not a number"),
]


def test_a_bad_score_is_one_sentence_exit_2_and_writes_nothing(db_url):
    incident_id = declare(db_url, JANUARY)
    before = ir("show", incident_id, "--json", db=db_url, now=LATER).stdout
    for score, problem in BAD_SCORES:
        result = csat(db_url, incident_id, score, check=False)
        assert result.returncode == 2 and result.stdout == "", score
        assert result.stderr == (f"incident-response: customer satisfaction {problem}; "
                                 "accepted: a number from 1.0 to 5.0, like 4.2\n")
    assert ir("show", incident_id, "--json", db=db_url, now=LATER).stdout == before


def test_an_unknown_incident_is_refused(db_url):
    declare(db_url, JANUARY)
    result = csat(db_url, "INC-2024-0116-999", "4", check=False)
    assert result.returncode == 2 and "no incident 'INC-2024-0116-999'; accepted:" in result.stderr


def test_export_and_import_carry_the_score(scored, tmp_path):
    db, january = scored
    exported = ir("export", january[1], "--format", "json", db=db, now=LATER).stdout
    assert json.loads(exported)[0]["customer_satisfaction"] == 4.5
    path = tmp_path / "one.json"
    path.write_text(exported)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert ir("import", str(path), db=other, now=LATER).stdout.startswith("Imported 1 incident(s)")
    shown = json.loads(ir("show", january[1], "--json", db=other, now=LATER).stdout)
    assert shown["customer_satisfaction"] == 4.5
    report = json.loads(ir("report", "--month", "2024-01", "--format", "json", db=other, now=LATER).stdout)
    assert report["customer_satisfaction"]["mean"] == 4.5
