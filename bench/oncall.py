"""On-call benchmarks (`make bench`, issue 16 acceptance 7), each figure beside a baseline
measured in the same run:

- escalation step latency: a SEV-1 covered by an [escalation.*] policy (step 1 the on-call
  person of a schedule after 0s, step 2 a contact after 2s), `watch`'s loop running in-process
  (automation/loop.build_watch, as `incident-response watch` builds it, on the real clock and
  its real check interval) and the Twilio SMS contract fake as the vendor; each step timed
  from its due instant (the `due_at` its timeline event records) until the fake accepted its
  text. Baseline: the same SMS as a pre-written outbox row of another SEV-1, timed from that
  row's commit until the fake accepted it, delivered by the same loop's deliverer: the
  difference is what escalation adds (the wait for the loop's next check).
- schedule resolution: who is on call at every handoff for a year of a schedule with five
  layers over its own rotation (restrictions, a time zone with daylight saving, overrides),
  through playbooks.schedules.Resolver. Baseline: a plain loop over the same year's handoff
  instants looking each one up in a dict and merging neighbours into the same shifts.

    .venv/bin/python bench/oncall.py [--quick] [--rounds N]

Nothing fails on a time: each goal is printed with "met" or "missed" for this run's figure;
bench/README.md says where each goal comes from. Results in bench/results/oncall.json.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.goals import Goal, condition, print_goals  # noqa: E402
from bench.run import machine_info, percentile  # noqa: E402
from tests.support import twilio_fake  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "oncall.json"
ALICE, BOB = "+14155550101", "+14155550102"
STEP_2_AFTER_S = 2
# Rounds are declared this far apart, so their due instants fall at every phase of the loop's
# check interval rather than all just before (or after) one check.
SPACING_S = 1.6
FULL = {"rounds": 20, "year_runs": 20, "year_warmup": 2}
QUICK = {"rounds": 3, "year_runs": 3, "year_warmup": 1}
YEAR_GOAL = Goal("a year of a 5-layer schedule resolved, median", "ms", at_most=100)

CONFIG = """
[integrations.sms]
url = "{url}"
account_sid = "{sid}"
from_number = "{sender}"
on_call_contacts = []

[contacts.alice]
sms = "{alice}"
[contacts.bob]
sms = "{bob}"

[schedules.primary]
members = ["alice", "bob"]
rotation = "1d"
start = "2024-01-18T09:00Z"

# Outages only: the baseline's SEV-1s are of another type, so no policy escalates them.
[escalation.sev1]
severities = ["SEV-1"]
types = ["outage"]
steps = [{{ notify = "schedule:primary", after = "0s" }}, {{ notify = "contact:bob", after = "{after}s" }}]

[sources.host]
enabled = false
"""

# Five layers over the schedule's own weekly follow-the-sun rotation, counted on Berlin's
# wall clock (two daylight-saving changes in the year).
YEAR_SCHEDULE = {
    "members": ["ana", "ben", "chen", "dara", "eli", "fay"],
    "rotation": "1w", "start": "2025-12-29T09:00", "timezone": "Europe/Berlin",
    "layers": [
        {"members": ["gus", "hal", "ida"], "rotation": "1d", "start": "2026-01-01T09:00",
         "restrict": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"}},
        {"members": ["jo", "kim"], "rotation": "12h", "start": "2026-01-01T08:00",
         "restrict": {"days": ["sat", "sun"], "start": "08:00", "end": "20:00"}},
        {"members": ["lee", "max", "ned", "oli"], "rotation": "1d", "start": "2026-01-01T22:00",
         "restrict": {"start": "22:00", "end": "06:00"}},
        {"members": ["pat", "quinn"], "rotation": "1w", "start": "2026-01-05T17:00",
         "restrict": {"days": ["mon", "wed", "fri"], "start": "17:00", "end": "22:00"}},
        {"members": ["ray", "sam", "tess"], "rotation": "1d", "start": "2026-01-01T12:00",
         "restrict": {"days": ["tue", "thu"], "start": "12:00", "end": "14:00"}},
    ],
}
YEAR_START = datetime(2026, 1, 1, tzinfo=timezone.utc)
YEAR_END = datetime(2027, 1, 1, tzinfo=timezone.utc)


def stats(samples: list[float]) -> dict:
    if not samples:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    return {"n": len(samples), "p50": percentile(samples, 50), "p95": percentile(samples, 95), "max": max(samples)}


# -- escalation step latency ------------------------------------------------------------------------

class TimedTwilio(twilio_fake.TwilioFake):
    """The Twilio contract fake, noting the wall-clock instant it accepted each message."""

    def __init__(self) -> None:
        self.accepted_at: dict[str, float] = {}
        self.arrived = threading.Condition()
        super().__init__()

    def _answer(self, request):
        status, headers, payload = super()._answer(request)
        if status == 201 and request.path.endswith("/Messages.json"):
            with self.arrived:
                self.accepted_at[json.loads(payload)["sid"]] = time.time()
                self.arrived.notify_all()
        return status, headers, payload


def wall(moment: datetime) -> float:
    """A store instant (naive UTC) as a Unix time."""
    return moment.replace(tzinfo=timezone.utc).timestamp()


def escalation_latency(tmp: Path, rounds: int) -> dict:
    os.environ.update(XDG_STATE_HOME=str(tmp / "state"), XDG_DATA_HOME=str(tmp / "data"),
                      XDG_CONFIG_HOME=str(tmp / "config"), TWILIO_AUTH_TOKEN=twilio_fake.AUTH_TOKEN)
    from sqlmodel import select

    from automation import watch as watch_module
    from automation.delivery import Deliverer
    from automation.loop import build_watch
    from automation.notifiers import notifiers_from_config
    from automation.routing import route_by_matrix
    from playbooks import load_policy
    from playbooks.config.reading import parse_configuration
    from playbooks.timeline import TimelineKind
    from store.database import open_database
    from store.models import Incident, TimelineEvent
    from store.operations import IncidentStore
    from store.outbox import enqueue_addressed

    # The loop's real intervals, read from the code that runs: policy steps are looked for
    # every POLICY_CHECK_S, the outbox delivered every Deliverer.run interval.
    check_s = watch_module.POLICY_CHECK_S
    deliver_s = inspect.signature(Deliverer.run).parameters["interval"].default
    with TimedTwilio() as fake:
        configuration = parse_configuration(tomllib.loads(CONFIG.format(
            url=fake.url, sid=twilio_fake.ACCOUNT_SID, sender=twilio_fake.FROM_NUMBER, alice=ALICE, bob=BOB,
            after=STEP_2_AFTER_S)))
        policy = load_policy()
        notifiers = notifiers_from_config(configuration)
        db = open_database(f"sqlite:///{tmp / 'oncall.db'}")
        store = IncidentStore(db, policy, router=route_by_matrix(policy, set(notifiers), configuration))
        watch = build_watch(store, configuration, notifiers=notifiers)
        stop = threading.Event()
        loop = threading.Thread(target=watch.run, args=(stop,), name="watch", daemon=True)
        loop.start()
        escalated: list[str] = []
        baseline_commits: dict[str, float] = {}
        try:
            for n in range(rounds):
                escalated.append(store.declare("critical", "outage", "production", actor="bench",
                                               title=f"escalation round {n}").id)
                time.sleep(SPACING_S / 2)  # the baseline at another phase of the deliverer's pass
                other = store.declare("critical", "security", "production", actor="bench", title=f"baseline {n}")
                with store.db.write() as session:
                    incident = session.get(Incident, other.id)
                    seq = max(session.exec(select(TimelineEvent.seq).where(
                        TimelineEvent.incident_id == other.id)).all())
                    summary = "Not acknowledged: escalation sev1 step 1 of 2 pages alice (schedule:primary)"
                    enqueue_addressed(session, incident, TimelineKind.ESCALATION_STEP.value,
                                      {"policy": "sev1", "number": 1, "persons": ["alice"]}, summary, seq,
                                      store.now(), watch.oncall_escalation.rows(incident, ("alice",)),
                                      headline=policy.headline(incident.type))
                baseline_commits[other.id] = time.time()  # committed: the deliverer may take it now
                time.sleep(SPACING_S / 2)
            wanted = 3 * rounds  # alice and bob per escalated incident, alice per baseline one
            # Bounded: the last step is due STEP_2_AFTER_S after its declare, sent at the latest one
            # check and one delivery pass later; a generous margin, then whatever arrived is counted.
            deadline = time.time() + STEP_2_AFTER_S + check_s + deliver_s + 30
            with fake.arrived:
                while len(fake.accepted_at) < wanted and time.time() < deadline:
                    fake.arrived.wait(timeout=max(0.0, deadline - time.time()))
        finally:
            stop.set()
            loop.join(timeout=30)
            # Watch.run's deliverer thread ("outbox") stops at its next pass; it may still be
            # writing the activity log into the temporary directory until then.
            for thread in threading.enumerate():
                if thread.name == "outbox":
                    thread.join(timeout=30)
        with store.db.read() as session:
            steps = [(event.incident_id, json.loads(event.data)) for event in session.exec(
                select(TimelineEvent).where(TimelineEvent.kind == TimelineKind.ESCALATION_STEP))]
        db.dispose()
        texts = [(m["to"], m["body"], fake.accepted_at.get(m["sid"])) for m in list(fake.messages)]
    # Each text names its incident and its step ("step 1 of 2"); whoever the schedule has on
    # call today (alice or bob) may get both steps of one incident.
    received: dict[tuple[str, str, int], list[float]] = {}
    for to, body, at in texts:
        for incident_id in [*escalated, *baseline_commits]:
            step = next((n for n in (1, 2) if f"step {n} of 2" in body), 0)
            if f" {incident_id} " in body:
                received.setdefault((incident_id, to, step), []).append(at)
    by_step: dict[int, list[float]] = {1: [], 2: []}
    for incident_id, data in steps:
        to = {"alice": ALICE, "bob": BOB}[data["persons"][0]]
        arrivals = received.get((incident_id, to, int(data["number"])), [])
        if arrivals:
            due = wall(datetime.fromisoformat(data["due_at"]))
            by_step[int(data["number"])].append((min(arrivals) - due) * 1000)
    baseline = [(received[(incident_id, ALICE, 1)][0] - committed) * 1000
                for incident_id, committed in baseline_commits.items() if (incident_id, ALICE, 1) in received]
    twice = sum(len(arrivals) - 1 for arrivals in received.values())
    both = by_step[1] + by_step[2]
    return {
        "rounds": rounds, "check_interval_s": check_s, "delivery_interval_s": deliver_s,
        "step_2_after_s": STEP_2_AFTER_S, "spacing_s": SPACING_S,
        "steps_expected": 2 * rounds, "steps_recorded": len(steps), "steps_received": len(both),
        "baseline_expected": rounds, "baseline_received": len(baseline), "received_twice": twice,
        "escalation_ms": stats(both), "step_1_ms": stats(by_step[1]), "step_2_ms": stats(by_step[2]),
        "baseline_ms": stats(baseline),
        "samples_ms": {"step_1": by_step[1], "step_2": by_step[2], "baseline": baseline},
    }


# -- schedule resolution ----------------------------------------------------------------------------

def year_overrides():
    """A week's 4-hour swap every Wednesday afternoon, and a long weekend covered by one person
    each month (overlapping the swaps' schedule from the other side of the week)."""
    from playbooks.schedules import Override

    overrides, order = [], 0
    for week in range(52):
        begins = YEAR_START + timedelta(days=7 * week + 6, hours=13)  # 2026-01-01 is a Thursday
        overrides.append(Override("year", ["ana", "gus", "lee"][week % 3], begins, begins + timedelta(hours=4), order))
        order += 1
    for month in range(12):
        begins = datetime(2026, month + 1, 10, 18, tzinfo=timezone.utc)
        overrides.append(Override("year", "zoe", begins, begins + timedelta(days=3), order))
        order += 1
    return overrides


def year_resolution(runs: int, warmup: int) -> dict:
    from bisect import bisect_right

    from playbooks.config.oncall import Schedule
    from playbooks.schedules import Resolver, Shift, aware

    schedule = Schedule.model_validate(YEAR_SCHEDULE)
    overrides = year_overrides()

    def resolve() -> list:
        return Resolver("year", schedule, overrides).shifts(YEAR_START, YEAR_END)

    # The baseline's input, prepared untimed: every instant of the year where someone may take
    # over (each layer's handoffs and window edges, each override's edges) and who is on call
    # from it, as the Resolver answered.
    shifts = resolve()
    resolver = Resolver("year", schedule, overrides)
    instants = {YEAR_START}
    for layer in resolver.layers:
        instants.update(layer.edges(YEAR_START, YEAR_END))
    for override in resolver.overrides:
        instants.update(e for e in (aware(override.starts_at), aware(override.ends_at)) if YEAR_START < e < YEAR_END)
    instants = sorted(instants)
    starts = [shift.starts_at for shift in shifts]
    on_call = {moment: (shifts[bisect_right(starts, moment) - 1].person,
                        shifts[bisect_right(starts, moment) - 1].overridden) for moment in instants}

    def looked_up() -> list:
        out: list = []
        for moment in instants:
            person, overridden = on_call[moment]
            if out and out[-1].person == person and out[-1].overridden == overridden:
                continue
            if out:
                out[-1] = Shift(out[-1].person, out[-1].starts_at, moment, out[-1].overridden)
            out.append(Shift(person, moment, None, overridden))
        return out

    same = looked_up() == shifts  # the baseline produced the Resolver's answer: the same work's output
    for _ in range(warmup):
        resolve(), looked_up()
    resolver_ms, lookup_ms = [], []
    for _ in range(runs):  # interleaved: a busy machine slows both alike
        began = time.perf_counter()
        resolve()
        resolver_ms.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        looked_up()
        lookup_ms.append((time.perf_counter() - began) * 1000)
    return {
        "layers": len(resolver.layers), "overrides": len(overrides), "handoff_instants": len(instants),
        "shifts": len(shifts), "period": [YEAR_START.isoformat(), YEAR_END.isoformat()],
        "timezone": schedule.timezone, "baseline_same_shifts": same,
        "resolver_ms": {"n": runs, "median": statistics.median(resolver_ms), "p95": percentile(resolver_ms, 95)},
        "lookup_ms": {"n": runs, "median": statistics.median(lookup_ms), "p95": percentile(lookup_ms, 95)},
        "samples_ms": {"resolver": resolver_ms, "lookup": lookup_ms},
    }


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a is not None and b else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few rounds (a smoke run, under a minute)")
    parser.add_argument("--rounds", type=int, help="escalated SEV-1s (each two steps), default 20 (quick: 3)")
    args = parser.parse_args(argv)
    params = dict(QUICK if args.quick else FULL)
    if args.rounds:
        params["rounds"] = max(1, args.rounds)
    with tempfile.TemporaryDirectory(prefix="ir-oncall-") as tmp_name:
        tmp = Path(tmp_name)
        machine = machine_info(tmp)
        print(f"machine: {machine['cpu_count']} cpus, Python {machine['python']}, SQLite {machine['sqlite']}, "
              f"SQLAlchemy {machine['sqlalchemy']}, temp dir on {machine['tmp_dir_fs']} ({machine['platform']})")
        year = year_resolution(params["year_runs"], params["year_warmup"])
        escalation = escalation_latency(tmp, params["rounds"])
    print()
    e = escalation
    print(f"escalation: {e['rounds']} SEV-1s {SPACING_S} s apart, step 1 after 0 s, step 2 after "
          f"{e['step_2_after_s']} s; watch checks every {e['check_interval_s']:g} s and delivers every "
          f"{e['delivery_interval_s']:g} s; vendor: the Twilio SMS contract fake")
    head = f"{'figure':<44} {'n':>3} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}"
    print(head)
    print("-" * len(head))
    for label, key in (("due -> vendor received, every step", "escalation_ms"), ("  step 1 (after 0 s)", "step_1_ms"),
                       (f"  step 2 (after {e['step_2_after_s']} s)", "step_2_ms"),
                       ("baseline: outbox row committed -> received", "baseline_ms")):
        s = e[key]
        print(f"{label:<44} {s['n']:>3} {ms(s['p50']):>9} {ms(s['p95']):>9} {ms(s['max']):>9}")
    print(f"escalation / baseline: p50 {ratio(e['escalation_ms']['p50'], e['baseline_ms']['p50'])}, "
          f"p95 {ratio(e['escalation_ms']['p95'], e['baseline_ms']['p95'])}; steps recorded {e['steps_recorded']} "
          f"of {e['steps_expected']}, texts received twice: {e['received_twice']}")
    print()
    y = year
    print(f"schedule resolution: {y['layers']} layers ({y['layers'] - 1} over the schedule's own rotation), "
          f"{y['timezone']}, {y['overrides']} overrides, {y['handoff_instants']} handoff instants, "
          f"{y['shifts']} shifts in {YEAR_START.year}")
    head = f"{'figure':<44} {'n':>3} {'med ms':>9} {'p95 ms':>9}"
    print(head)
    print("-" * len(head))
    for label, key in (("Resolver.shifts over the year", "resolver_ms"),
                       ("baseline: dict lookup per handoff instant", "lookup_ms")):
        s = y[key]
        print(f"{label:<44} {s['n']:>3} {ms(s['median']):>9} {ms(s['p95']):>9}")
    print(f"resolver / baseline: median {ratio(y['resolver_ms']['median'], y['lookup_ms']['median'])}; "
          f"baseline gave the same shifts: {'yes' if y['baseline_same_shifts'] else 'NO'}")
    print()
    # The escalation goal: the loop's own two waits (its next check, then the deliverer's next
    # pass), nothing more; derived from the intervals the loop really uses.
    step_goal = Goal("escalation step due to vendor received, p95", "ms",
                     at_most=1000 * (e["check_interval_s"] + e["delivery_interval_s"]))
    missing = f"{e['steps_received']} of {e['steps_expected']} steps received"
    verdicts = [
        step_goal.check(e["escalation_ms"]["p95"] if e["steps_received"] == e["steps_expected"] else None,
                        why_missing=missing),
        condition("every escalation step received once", "each step's text once",
                  e["steps_received"] == e["steps_expected"] == e["steps_recorded"] and e["received_twice"] == 0,
                  f"{missing}, {e['received_twice']} twice"),
        YEAR_GOAL.check(y["resolver_ms"]["median"]),
    ]
    print_goals(verdicts)
    results = {"mode": "quick" if args.quick else "full", "params": params, "machine": machine,
               "escalation": escalation, "year": year, "goals": [v.as_json() for v in verdicts]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
