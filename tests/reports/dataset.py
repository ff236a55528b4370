"""A month of incidents with known timestamps (February 2024), its neighbours, and the
figures worked out by hand from them.

Business hours (playbooks/builtin/severity.toml): Mon-Fri 09:00-17:00 UTC. SEV-3 must be
acknowledged within 4 business hours, SEV-4 within 5 business days, SEV-1 15 min and
SEV-2 1 h of wall time. February 2024 starts on a Thursday; 10, 11, 17, 18, 24, 25 are
weekend days.
"""
from __future__ import annotations

import json
from datetime import datetime

# What the import takes (store/transfer.py's documented form); comments give the
# durations and the SLA verdict each record contributes.
FEBRUARY = [
    # A SEV-1, declared at the first instant of February: MTTD 6 min, MTTA 10 (<= 15: in), MTTR 2 h.
    # Customer satisfaction 4.5.
    {"title": "Checkout 5xx", "severity": "critical", "type": "outage", "environment": "production",
     "status": "closed", "started_at": "2024-01-31T23:50:00Z", "detected_at": "2024-01-31T23:56:00Z",
     "declared_at": "2024-02-01T00:00:00Z", "acknowledged_at": "2024-02-01T00:06:00Z",
     "mitigated_at": "2024-02-01T01:00:00Z", "resolved_at": "2024-02-01T01:56:00Z", "closed_at": "2024-02-02T10:00:00Z",
     "customer_satisfaction": 4.5},
    # B SEV-1: MTTD 12, MTTA 20 (> 15: out), MTTR 3 h. Customer satisfaction 2.5.
    {"title": "Login outage", "severity": "p1", "type": "outage", "environment": "production", "status": "resolved",
     "started_at": "2024-02-06T22:00:00Z", "detected_at": "2024-02-06T22:12:00Z", "declared_at": "2024-02-06T22:13:00Z",
     "acknowledged_at": "2024-02-06T22:32:00Z", "resolved_at": "2024-02-07T01:12:00Z", "customer_satisfaction": 2.5},
    # C SEV-2: MTTD 4, MTTA 30 (<= 60: in), MTTR 1.5 h. Customer satisfaction 5 (a JSON integer).
    {"title": "Search slow", "severity": "high", "type": "performance", "environment": "production",
     "status": "resolved", "started_at": "2024-02-08T14:00:00Z", "detected_at": "2024-02-08T14:04:00Z",
     "declared_at": "2024-02-08T14:05:00Z", "acknowledged_at": "2024-02-08T14:34:00Z",
     "resolved_at": "2024-02-08T15:34:00Z", "customer_satisfaction": 5},
    # E SEV-3 detected Friday 16:00: 1 business hour left, 3 more from Monday 09:00 -> due
    # Monday 12:00. Acknowledged Monday 10:00 (66 h of wall time, 3960 min): in only because
    # of business hours. MTTD 20, MTTR 72 h.
    {"title": "Report export slow", "severity": "medium", "type": "performance", "environment": "production",
     "status": "resolved", "started_at": "2024-02-09T15:40:00Z", "detected_at": "2024-02-09T16:00:00Z",
     "declared_at": "2024-02-09T16:05:00Z", "acknowledged_at": "2024-02-12T10:00:00Z",
     "resolved_at": "2024-02-12T16:00:00Z"},
    # D SEV-2 without started_at (skipped for MTTD): MTTA 90 (> 60: out), MTTR 4 h.
    {"title": "Webhooks failing", "severity": "SEV-2", "type": "integration", "environment": "production",
     "status": "resolved", "detected_at": "2024-02-13T09:00:00Z", "declared_at": "2024-02-13T09:10:00Z",
     "acknowledged_at": "2024-02-13T10:30:00Z", "resolved_at": "2024-02-13T13:00:00Z"},
    # F SEV-3 detected Wednesday 18:00 (after hours) -> due Thursday 13:00; acknowledged
    # Thursday 12:00 (18 h, 1080 min): in by business hours. MTTD 30, MTTR 24 h.
    {"title": "Stale cache served", "severity": "p3", "type": "data", "environment": "staging", "status": "resolved",
     "started_at": "2024-02-14T17:30:00Z", "detected_at": "2024-02-14T18:00:00Z",
     "declared_at": "2024-02-14T18:05:00Z", "acknowledged_at": "2024-02-15T12:00:00Z",
     "resolved_at": "2024-02-15T18:00:00Z"},
    # G SEV-3 detected Monday 11:00 -> due 15:00 the same day; acknowledged 16:00 (300 min):
    # out. MTTD 10, MTTR 24 h. Customer satisfaction 4.0.
    {"title": "Sync job failing", "severity": "3", "type": "integration", "environment": "production",
     "status": "resolved", "started_at": "2024-02-19T10:50:00Z", "detected_at": "2024-02-19T11:00:00Z",
     "declared_at": "2024-02-19T11:02:00Z", "acknowledged_at": "2024-02-19T16:00:00Z",
     "resolved_at": "2024-02-20T11:00:00Z", "customer_satisfaction": 4.0},
    # H SEV-4 detected Saturday 10:00 -> 5 business days from Monday 09:00 -> due Monday
    # 4 March 09:00; acknowledged Friday 1 March 10:00 (6 days, 8640 min): in by business
    # days (5 wall days would have ended Thursday). MTTD 60, MTTR 216 h (9 days).
    {"title": "Typo on status page", "severity": "low", "type": "outage", "environment": "development",
     "status": "resolved", "started_at": "2024-02-24T09:00:00Z", "detected_at": "2024-02-24T10:00:00Z",
     "declared_at": "2024-02-24T10:05:00Z", "acknowledged_at": "2024-03-01T10:00:00Z",
     "resolved_at": "2024-03-04T10:00:00Z"},
    # I SEV-4 never acknowledged, still open: outside the SLA. MTTD 60.
    {"title": "Flaky health check", "severity": "p4", "type": "integration", "environment": "staging",
     "status": "investigating", "started_at": "2024-02-27T08:00:00Z", "detected_at": "2024-02-27T09:00:00Z",
     "declared_at": "2024-02-27T09:05:00Z", "customer_satisfaction": None},  # no survey yet: not scored
    # J SEV-3 without started_at, detected Thursday 20:00 (after hours) -> due Friday 13:00;
    # acknowledged Friday 09:30 (13.5 h, 810 min): in. MTTR 16 h. Customer satisfaction 4.5.
    {"title": "Duplicate invoices", "severity": "medium", "type": "data", "environment": "production",
     "status": "resolved", "detected_at": "2024-02-29T20:00:00Z", "declared_at": "2024-02-29T20:05:00Z",
     "acknowledged_at": "2024-03-01T09:30:00Z", "resolved_at": "2024-03-01T12:00:00Z", "customer_satisfaction": 4.5},
    # K a drill: excluded from every figure (it would change all of them).
    {"title": "Game day: DB failover", "severity": "critical", "type": "outage", "environment": "production",
     "status": "resolved", "is_drill": True, "started_at": "2024-02-20T09:00:00Z",
     "detected_at": "2024-02-20T10:00:00Z", "declared_at": "2024-02-20T10:01:00Z",
     "acknowledged_at": "2024-02-20T11:00:00Z", "resolved_at": "2024-02-20T20:00:00Z",
     "customer_satisfaction": 1.0},  # a drill's score is nobody's
]
JANUARY = [
    # P1 SEV-2: MTTD 10, MTTA 20 (in), MTTR 2 h. Customer satisfaction 4.0.
    {"title": "API gateway errors", "severity": "high", "type": "outage", "environment": "production",
     "status": "resolved", "started_at": "2024-01-10T09:50:00Z", "detected_at": "2024-01-10T10:00:00Z",
     "declared_at": "2024-01-10T10:01:00Z", "acknowledged_at": "2024-01-10T10:20:00Z",
     "resolved_at": "2024-01-10T12:00:00Z", "customer_satisfaction": 4.0},
    # P2 SEV-3 detected Wednesday 14:00 -> due Thursday 10:00: MTTD 30.5 (30:30), MTTA 40 (in), MTTR 4 h.
    {"title": "Slow catalogue", "severity": "medium", "type": "performance", "environment": "production",
     "status": "resolved", "started_at": "2024-01-17T13:29:30Z", "detected_at": "2024-01-17T14:00:00Z",
     "declared_at": "2024-01-17T14:02:00Z", "acknowledged_at": "2024-01-17T14:40:00Z",
     "resolved_at": "2024-01-17T18:00:00Z", "customer_satisfaction": 3},  # customer satisfaction 3
    # M SEV-4 declared at the last second of January (belongs to January): never acknowledged.
    {"title": "Broken link in docs", "severity": "low", "type": "outage", "environment": "development",
     "status": "investigating", "detected_at": "2024-01-31T23:50:00Z", "declared_at": "2024-01-31T23:59:59Z"},
]
MARCH = [
    # N SEV-2 detected in February but declared at the first instant of March: March's.
    # MTTA 12 (in), MTTR 3 h, no started_at.
    {"title": "Payments retries", "severity": "high", "type": "integration", "environment": "production",
     "status": "resolved", "detected_at": "2024-02-29T23:58:00Z", "declared_at": "2024-03-01T00:00:00Z",
     "acknowledged_at": "2024-03-01T00:10:00Z", "resolved_at": "2024-03-01T02:58:00Z"},
]
RECORDS = JANUARY + FEBRUARY + MARCH
IMPORTED_AT = datetime(2024, 3, 10, 12, 0)  # the clock when importing (nothing may be in the future)

# Action items: (index into RECORDS, title, category, completed_at or None).
ACTION_ITEMS = [
    (3, "Alarm on connection pool saturation", "short-term", datetime(2024, 2, 10, 12, 0)),  # A, in February
    (0, "Runbook for gateway restarts", "process", datetime(2024, 2, 20, 9, 0)),  # January incident, done in Feb
    (1, "Cache warm-up after deploys", "long-term", datetime(2024, 1, 25, 9, 0)),  # done in January
    (13, "Automate failover check", "immediate", datetime(2024, 2, 21, 9, 0)),  # on the drill: excluded
    (4, "Rate-limit login retries", "short-term", None),  # still open
    (5, "Index on search terms", "long-term", datetime(2024, 3, 1, 0, 0)),  # first instant of March
]

# February 2024 by hand.
# MTTD (min), 8 values: A 6, B 12, C 4, E 20, F 30, G 10, H 60, I 60 (D and J have no start)
#   sorted 4 6 10 12 20 30 60 60; sum 202 -> mean 25.25; median (12+20)/2 = 16; p90 = 8th (ceil 7.2) = 60
# MTTA (min), 9 values: 10 20 30 90 300 810 1080 3960 8640 (I never acknowledged)
#   sum 14940 -> mean 1660; median 5th = 300; p90 = 9th (ceil 8.1) = 8640
# MTTR (h), 9 values: 1.5 2 3 4 16 24 24 72 216 (I open)
#   sum 362.5 -> mean 40.2777.. = 40.28; median 16; p90 = 216
# Within SLA: A C E F H J in, B D G I out -> 6 / 10 = 60.0%
# January: MTTD 10, 30.5 -> mean 20.25; MTTA 20, 40 -> 30; MTTR 2, 4 -> 3; 3 incidents.
# Trend: MTTD (25.25 - 20.25) / 20.25 = +24.69% -> 24.7; MTTA (1660 - 30) / 30 = +5433.3%;
#        MTTR (40.2777.. - 3) / 3 = +1242.59% -> 1242.6; total (10 - 3) / 3 = +233.3%.
# Customer satisfaction: A 4.5, B 2.5, C 5, G 4, J 4.5 (I unscored, the drill's 1.0 left out)
#   sum 20.5 / 5 = 4.1; January P1 4, P2 3 -> 3.5 (M unscored); change 4.1 - 3.5 = +0.6 points.
FEBRUARY_JSON = {
    "month": "2024-02",
    "total": 10,
    "by_severity": {"SEV-1": 2, "SEV-2": 2, "SEV-3": 4, "SEV-4": 2},
    "mttd_minutes": {"mean": 25.25, "median": 16.0, "p90": 60.0, "count": 8},
    "mtta_minutes": {"mean": 1660.0, "median": 300.0, "p90": 8640.0, "count": 9},
    "mttr_hours": {"mean": 40.28, "median": 16.0, "p90": 216.0, "count": 9},
    "within_sla_pct": 60.0,
    "trend": {"vs": "2024-01", "mttd_pct": 24.7, "mtta_pct": 5433.3, "mttr_pct": 1242.6, "total_pct": 233.3},
    "customer_satisfaction": {"mean": 4.1, "scored_incidents": 5, "previous_mean": 3.5, "change": 0.6,
                              "vs": "2024-01"},
    "improvements": [
        {"title": "Alarm on connection pool saturation", "incident_id": "INC-2024-0201-001", "category": "short-term",
         "completed_at": "2024-02-10T12:00:00Z"},
        {"title": "Runbook for gateway restarts", "incident_id": "INC-2024-0110-001", "category": "process",
         "completed_at": "2024-02-20T09:00:00Z"},
    ],
}


def import_text() -> str:
    return json.dumps(RECORDS)


def load(store, clock) -> list[str]:
    """Import RECORDS through store/transfer.py at IMPORTED_AT and add ACTION_ITEMS; the ids."""
    from store.models import ActionItem
    from store.transfer import import_incidents, parse_import

    clock.moment = IMPORTED_AT
    ids = import_incidents(store, parse_import(store, import_text()), actor="historian")
    with store.db.write() as session:
        for index, title, category, completed in ACTION_ITEMS:
            session.add(ActionItem(incident_id=ids[index], title=title, category=category,
                                   status="done" if completed else "open", created_at=datetime(2024, 1, 20),
                                   completed_at=completed))
    return ids
