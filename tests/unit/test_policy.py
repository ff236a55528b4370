"""The built-in policy says exactly what the spec says."""
from datetime import datetime, timedelta

import pytest

from playbooks import PolicyValueError, load_policy
from playbooks.durations import format_duration, parse_duration

SPEC_SEVERITIES = {
    "SEV-1": ("critical", "Complete service outage or critical functionality unavailable",
              "All or majority of customers affected", "Direct revenue loss occurring",
              "Immediate (within 15 minutes)", "Automatic escalation to leadership",
              "Real-time updates every 30 minutes", timedelta(minutes=30)),
    "SEV-2": ("high", "Major functionality degraded or limited outage", "Significant portion of customers affected",
              "Potential revenue impact", "Within 1 hour", "Team lead and on-call engineer",
              "Updates every 2 hours", timedelta(hours=2)),
    "SEV-3": ("medium", "Minor functionality issues or performance degradation", "Small subset of customers affected",
              "Minimal revenue impact", "Within 4 hours (business hours)", "Assigned team member",
              "Daily updates until resolved", timedelta(days=1)),
    "SEV-4": ("low", "Cosmetic issues or non-critical functionality", "Minimal or no customer impact",
              "No revenue impact", "Within 5 business days", "Normal prioritization",
              "Weekly updates in team meetings", timedelta(days=7)),
}

SPEC_MATRIX = {
    "Executive Team": ({"SEV-1", "SEV-2"}, "Phone/SMS"),
    "Engineering Leads": ({"SEV-1", "SEV-2", "SEV-3"}, "Slack/Email"),
    "On-Call Engineers": ({"SEV-1", "SEV-2", "SEV-3", "SEV-4"}, "PagerDuty"),
    "Customer Support": ({"SEV-1", "SEV-2", "SEV-3"}, "Slack/Email"),
    "External Customers": ({"SEV-1", "SEV-2"}, "Status Page"),
    "Security Team": ({"SEV-1", "SEV-2", "SEV-3", "SEV-4"}, "Secure Channel"),
    "Legal/Compliance": ({"SEV-1"}, "Secure Channel"),
}


@pytest.fixture(scope="module")
def policy():
    return load_policy()


@pytest.mark.parametrize("level_id", SPEC_SEVERITIES)
def test_severity_levels_match_the_spec_table(policy, level_id):
    name, impact, customers, revenue, response, escalation, communication, cadence = SPEC_SEVERITIES[level_id]
    level = policy.level(level_id)
    assert (level.name, level.impact, level.customer_impact, level.revenue_impact) == (name, impact, customers, revenue)
    assert (level.response_time, level.escalation, level.communication) == (response, escalation, communication)
    assert level.update_cadence == cadence


@pytest.mark.parametrize("alias,expected", [
    ("critical", "SEV-1"), ("CRITICAL", "SEV-1"), ("sev1", "SEV-1"), ("p1", "SEV-1"), ("1", "SEV-1"),
    ("high", "SEV-2"), ("sev2", "SEV-2"), ("P2", "SEV-2"), ("2", "SEV-2"),
    ("medium", "SEV-3"), ("sev3", "SEV-3"), ("p3", "SEV-3"), ("3", "SEV-3"), ("SEV-3", "SEV-3"),
    ("low", "SEV-4"), ("sev4", "SEV-4"), ("p4", "SEV-4"), ("4", "SEV-4"),
])
def test_severity_aliases(policy, alias, expected):
    assert policy.level(alias).id == expected


def test_unknown_severity_lists_what_is_accepted(policy):
    with pytest.raises(PolicyValueError) as error:
        policy.level("urgent")
    assert str(error.value) == (
        "unknown severity 'urgent'; accepted: critical, high, medium, low (or SEV-1..SEV-4, sev1..sev4, p1..p4, 1..4)"
    )


def test_wall_clock_response_deadlines(policy):
    detected = datetime(2024, 1, 20, 3, 0)  # a Saturday night: SEV-1/2 don't care
    assert policy.response_deadline(policy.level("critical"), detected) == detected + timedelta(minutes=15)
    assert policy.response_deadline(policy.level("high"), detected) == detected + timedelta(hours=1)


@pytest.mark.parametrize("detected,expected", [
    (datetime(2024, 1, 18, 10, 0), datetime(2024, 1, 18, 14, 0)),   # Thursday morning: same day
    (datetime(2024, 1, 18, 15, 0), datetime(2024, 1, 19, 11, 0)),   # 2h left today, 2h Friday
    (datetime(2024, 1, 19, 16, 0), datetime(2024, 1, 22, 12, 0)),   # Friday late: over the weekend
    (datetime(2024, 1, 20, 12, 0), datetime(2024, 1, 22, 13, 0)),   # Saturday: from Monday 09:00
    (datetime(2024, 1, 18, 7, 0), datetime(2024, 1, 18, 13, 0)),    # before opening: from 09:00
])
def test_sev3_counts_four_business_hours(policy, detected, expected):
    assert policy.response_deadline(policy.level("medium"), detected) == expected


@pytest.mark.parametrize("detected,expected", [
    (datetime(2024, 1, 15, 10, 0), datetime(2024, 1, 22, 10, 0)),   # Monday -> next Monday
    (datetime(2024, 1, 18, 15, 0), datetime(2024, 1, 25, 15, 0)),   # Thursday -> next Thursday
    (datetime(2024, 1, 20, 12, 0), datetime(2024, 1, 29, 9, 0)),    # Saturday: from Monday's opening
])
def test_sev4_counts_five_business_days(policy, detected, expected):
    assert policy.response_deadline(policy.level("low"), detected) == expected


def test_business_calendar_honours_timezone_and_holidays():
    from playbooks.schema import CalendarConfig

    calendar = CalendarConfig(timezone="America/New_York", holidays=["2024-01-19"]).build()
    # Thursday 16:00 New York (21:00 UTC): one hour today, Friday is a holiday, three hours Monday.
    start = datetime(2024, 1, 18, 21, 0)
    assert calendar.add_business_hours(start, timedelta(hours=4)) == datetime(2024, 1, 22, 17, 0)


def test_business_hours_are_real_hours_across_clock_changes():
    from playbooks.schema import CalendarConfig

    berlin = CalendarConfig(timezone="Europe/Berlin", days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            opens="01:00", closes="05:00").build()
    # 2024-03-31: clocks jump 02:00 -> 03:00, so 01:00-05:00 holds three real hours (23:00-02:00 UTC).
    spring = berlin.add_business_hours(datetime(2024, 3, 30, 23, 0), timedelta(hours=3, minutes=30))
    assert spring == datetime(2024, 3, 31, 23, 30)  # 3h that day, 30 min from 01:00 CEST on Apr 1
    # 2024-10-27: clocks fall back 03:00 -> 02:00, so the same window holds five real hours.
    autumn = berlin.add_business_hours(datetime(2024, 10, 26, 23, 0), timedelta(hours=4, minutes=30))
    assert autumn == datetime(2024, 10, 27, 3, 30)


def test_closing_time_exactly_rolls_to_the_next_day(policy):
    assert policy.response_deadline(policy.level("medium"), datetime(2024, 1, 18, 17, 0)) == datetime(2024, 1, 19, 13, 0)


def test_update_cadence(policy):
    now = datetime(2024, 1, 15, 14, 30)
    assert policy.next_update_due(policy.level("critical"), now) == datetime(2024, 1, 15, 15, 0)  # the spec's 15:00


SPEC_WORKFLOWS = {
    "outage": [
        ("Immediate Actions", "0-15 minutes", "0m", "15m", [
            "Confirm incident scope and impact", "Activate incident response team",
            "Establish communication channels", "Implement emergency procedures", "Begin status page updates"]),
        ("Investigation Phase", "15-60 minutes", "15m", "60m", [
            "Gather system metrics and logs", "Identify root cause hypothesis", "Test quick resolution strategies",
            "Escalate to additional teams if needed", "Document findings and actions"]),
        ("Resolution Phase", "varies", "60m", None, [
            "Implement primary fix", "Verify system functionality", "Monitor for secondary issues",
            "Gradual traffic restoration", "Confirm full resolution"]),
    ],
    "security": [
        ("Immediate Response", "0-30 minutes", "0m", "30m", [
            "Isolate affected systems", "Preserve evidence and logs", "Notify security team and management",
            "Activate security incident procedures", "Begin forensic data collection"]),
        ("Assessment Phase", "30 minutes - 2 hours", "30m", "2h", [
            "Assess scope of compromise", "Identify attack vectors", "Evaluate data exposure",
            "Determine legal/regulatory implications", "Coordinate with external parties if needed"]),
        ("Containment & Recovery", "2-24 hours", "2h", "24h", [
            "Implement security controls", "Remove malicious elements", "Restore systems from clean backups",
            "Apply security patches", "Enhance monitoring and detection"]),
    ],
}


@pytest.mark.parametrize("incident_type", SPEC_WORKFLOWS)
def test_spec_workflows_are_exact(policy, incident_type):
    workflow = policy.workflow(incident_type)
    got = [(p.name, p.window, p.starts_at, p.ends_at, p.steps) for p in workflow.phases]
    assert got == SPEC_WORKFLOWS[incident_type]


@pytest.mark.parametrize("incident_type", ["performance", "data", "integration"])
def test_other_workflows_meet_the_same_standard(policy, incident_type):
    workflow = policy.workflow(incident_type)
    steps = [step for phase in workflow.phases for step in phase.steps]
    assert len(workflow.phases) >= 3
    assert len(steps) >= 12 and len(set(steps)) == len(steps)
    assert all(phase.ends_at for phase in workflow.phases[:-1]), "every phase but the last has a time box"
    starts = [parse_duration(p.starts_at) for p in workflow.phases]
    assert starts == sorted(starts)


def test_comms_matrix_is_the_spec_table(policy):
    got = {g.name: (set(g.severities), g.channel) for g in policy.comms.groups}
    assert got == SPEC_MATRIX
    assert [g.name for g in policy.stakeholders(policy.level("low"))] == ["On-Call Engineers", "Security Team"]


def test_detection_rules_are_the_spec_triggers(policy):
    rules = {rule.name: rule for rule in policy.rules.rules}
    outage = rules["critical_outage"]
    assert outage.conditions == ["error_rate > 50%", "response_time > 30s", "availability < 95%"]
    assert parse_duration(outage.duration) == timedelta(minutes=5)
    assert "page_oncall_engineer()" in outage.actions and "start_war_room()" in outage.actions
    security = rules["security_anomaly"]
    assert security.conditions[0] == "failed_login_attempts > 1000/hour"
    assert parse_duration(security.duration) == timedelta(minutes=1)
    assert "isolate_suspicious_sources()" in security.actions


def test_compliance_regimes_are_policy_with_deadlines(policy):
    regimes = {r.id: r for r in policy.compliance.regimes}
    assert set(regimes) == {"GDPR", "HIPAA", "SOX", "PCI-DSS", "SOC2"}
    assert parse_duration(regimes["GDPR"].deadline) == timedelta(hours=72)
    assert "personal_data" in regimes["GDPR"].applies_to
    assert "not legal advice" in policy.compliance.disclaimer


@pytest.mark.parametrize("value,expected", [("environment", None), ("prod", "production"), ("dev", "development"),
                                            ("Staging", "staging")])
def test_environments(policy, value, expected):
    if expected is None:
        with pytest.raises(PolicyValueError, match="accepted: production, staging, development"):
            policy.environment(value)
    else:
        assert policy.environment(value) == expected


def test_durations_round_trip():
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert format_duration(timedelta(minutes=90)) == "1h 30m"
    with pytest.raises(ValueError, match="accepted"):
        parse_duration("soon")
