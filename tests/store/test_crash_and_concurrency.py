"""Many processes at once, and a process killed mid-burst: nothing lost, nothing broken."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlalchemy import text
from sqlmodel import select

from store.audit import verify_chain
from store.database import open_database
from store.models import Incident, TimelineEvent
from tests.support import lifetime

pytestmark = pytest.mark.slow

DECLARER = textwrap.dedent("""
    import os, sys, time
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    store = IncidentStore(open_database(sys.argv[1]), load_policy())
    print("ready", flush=True)
    while not os.path.exists(sys.argv[2]):   # all processes start writing together
        time.sleep(0.001)
    incident = store.declare("critical", "outage", "production", actor="p" + sys.argv[3], title="burst")
    print(incident.id, flush=True)
""")


def test_sixteen_processes_declaring_at_once_get_distinct_ids(db_url, tmp_path):
    open_database(db_url).dispose()  # schema in place, as after the first start
    go = tmp_path / "go"
    procs = [lifetime.popen([sys.executable, "-c", DECLARER, db_url, str(go), str(n)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(16)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    go.touch()
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), [err for _, err in outputs if err]
    ids = [out.strip() for out, _ in outputs]
    assert len(set(ids)) == 16
    db = open_database(db_url)
    with db.read() as session:
        stored = session.exec(select(Incident.id)).all()
        assert sorted(stored) == sorted(ids)
        assert verify_chain(session).ok
    db.dispose()


BURST = textwrap.dedent("""
    import sys
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    store = IncidentStore(open_database(sys.argv[1]), load_policy())
    n = 0
    while True:
        incident = store.declare("high", "outage", "production", actor="burst", title=f"burst {n}")
        print("declared", incident.id, flush=True)
        store.tick(incident.id, ["1", "2"], actor="burst")
        print("ticked", incident.id, flush=True)
        event = store.add_note(incident.id, f"note {n}", actor="burst")
        print("noted", incident.id, event.seq, flush=True)
        n += 1
""")


@pytest.mark.parametrize("kill_after", [7, 40, 113])
def test_sigkill_mid_burst_loses_nothing_acknowledged(tmp_path, kill_after):
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    open_database(url).dispose()
    proc = lifetime.popen([sys.executable, "-c", BURST, url], stdout=subprocess.PIPE, text=True)
    acknowledged = []
    for _ in range(kill_after):
        acknowledged.append(proc.stdout.readline().split())
    os.kill(proc.pid, signal.SIGKILL)  # most likely inside the next transaction
    proc.wait(timeout=30)
    # Lines printed after the last one we read were also acknowledged before the kill.
    acknowledged += [line.split() for line in proc.stdout.read().splitlines() if line.strip()]

    db = open_database(url)
    with db.read() as session:
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert verify_chain(session).ok
        for what, incident_id, *rest in acknowledged:
            incident = session.get(Incident, incident_id)
            assert incident is not None, f"{incident_id} was acknowledged as declared but is gone"
            if what == "ticked":
                done = session.execute(text("SELECT count(*) FROM checklist_step WHERE incident_id = :i "
                                            "AND done_at IS NOT NULL"), {"i": incident_id}).scalar()
                assert done == 2
            if what == "noted":
                assert session.get(TimelineEvent, int(rest[0])).summary.startswith("note ")
        # Nothing half-written: every incident has its full checklist and its declared event.
        partial = session.execute(text(
            "SELECT i.id FROM incident i WHERE (SELECT count(*) FROM checklist_step s WHERE s.incident_id = i.id) != 15 "
            "OR NOT EXISTS (SELECT 1 FROM timeline_event e WHERE e.incident_id = i.id AND e.kind = 'declared')")).all()
        assert partial == []
    db.dispose()


HALF_WRITTEN = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from playbooks import load_policy
    from store.database import open_database
    from store.operations import IncidentStore
    store = IncidentStore(open_database(sys.argv[1]), load_policy())
    incident = store.declare("high", "outage", "production", actor="writer", title="kept")
    print(incident.id, flush=True)
    # A write that is killed half-way: incident row and steps in, its event not yet.
    with store.db.write() as session:
        from store.models import Incident, ChecklistStep
        session.add(Incident(id="INC-2099-0101-001", title="half", severity="SEV-1", type="outage",
                             environment="production", status="investigating", declared_by="writer",
                             detected_at=datetime(2099, 1, 1), declared_at=datetime(2099, 1, 1),
                             response_due_at=datetime(2099, 1, 1)))
        session.flush()
        session.add(ChecklistStep(incident_id="INC-2099-0101-001", number=1, phase_index=0, phase="p", text="t"))
        session.flush()
        print("inside", flush=True)
        time.sleep(60)
""")


def test_sigkill_inside_a_transaction_leaves_no_trace(tmp_path):
    url = f"sqlite:///{tmp_path / 'incidents.db'}"
    open_database(url).dispose()
    proc = lifetime.popen([sys.executable, "-c", HALF_WRITTEN, url], stdout=subprocess.PIPE, text=True)
    kept = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "inside"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    db = open_database(url)
    with db.read() as session:
        assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert session.get(Incident, kept) is not None
        assert session.get(Incident, "INC-2099-0101-001") is None
        assert session.execute(text("SELECT count(*) FROM checklist_step WHERE incident_id = 'INC-2099-0101-001'")
                               ).scalar() == 0
        assert verify_chain(session).ok
    # And the store takes writes again at once: the killed writer's lock is gone.
    from playbooks import load_policy
    from store.operations import IncidentStore

    IncidentStore(db, load_policy()).add_note(kept, "after the crash", actor="tester")
    db.dispose()
