"""The kinds of event an incident's timeline holds: the vocabulary every writer uses.

A StrEnum, so a member *is* its historical string: the timeline column, the audit chain's
hash material, the outbox routing and every JSON export hold the same text as before the
enum existed. Readers may still meet kinds outside it (a backup from another version, a
hand-made row): those are data, kept and shown as they are, never refused.
"""
from __future__ import annotations

from enum import StrEnum


class TimelineKind(StrEnum):
    # The lifecycle (store/operations.py)
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    ROLE_ASSIGNED = "role_assigned"
    ROLE_RELEASED = "role_released"
    STEP_DONE = "step_done"
    STEP_UNDONE = "step_undone"
    NOTE = "note"
    STATUS_UPDATE = "status_update"
    REMEDIATION_STARTED = "remediation_started"
    REMEDIATION_FINISHED = "remediation_finished"
    REMEDIATION_CANCELLED = "remediation_cancelled"
    SUMMARY_PINNED = "summary_pinned"
    CUSTOMER_SATISFACTION = "customer_satisfaction"
    IMPORTED = "imported"
    # Compliance clocks
    DATA_EXPOSED = "data_exposed"
    COMPLIANCE_CLOCK_STARTED = "compliance_clock_started"
    COMPLIANCE_MET = "compliance_met"
    COMPLIANCE_REMINDER = "compliance_reminder"
    # Detection, escalation and the alert rules' actions
    CONDITION_FIRING = "condition_firing"
    CONDITION_CLEARED = "condition_cleared"
    ESCALATED = "escalated"
    ESCALATION_STEP = "escalation_step"  # a step of an [escalation.*] policy paged its persons
    UPDATE_OVERDUE = "update_overdue"
    ONCALL_PAGE = "oncall_page"
    STATUS_PAGE_UPDATE = "status_page_update"
    WAR_ROOM_START = "war_room_start"
    SECURITY_ALERT = "security_alert"
    RUNBOOK_PROPOSED = "runbook_proposed"
    EVIDENCE_COLLECTED = "evidence_collected"
    NOTIFICATION_RETRIED = "notification_retried"
    # The review: RCA, post-incident review, action items
    RCA_UPDATED = "rca_updated"
    REVIEW_HELD = "review_held"
    REVIEW_UPDATED = "review_updated"
    ACTION_ITEM_ADDED = "action_item_added"
    ACTION_ITEM_DONE = "action_item_done"
    ACTION_ITEM_REOPENED = "action_item_reopened"
    ACTION_ITEM_UPDATED = "action_item_updated"
    ACTION_ITEM_TICKET = "action_item_ticket"  # the outbox event that files an action item in Jira
    ACTION_ITEM_TICKETED = "action_item_ticketed"
    # On-call overrides (store/oncall.py): events of no incident, on the audit chain like any change
    ONCALL_OVERRIDE = "oncall_override"
    ONCALL_OVERRIDE_CANCELLED = "oncall_override_cancelled"
    # Silences (store/silences.py): events of no incident, on the audit chain like any change
    SILENCE_ADDED = "silence_added"
    SILENCE_EXPIRED = "silence_expired"
