"""After the incident: the root cause analysis, the post-incident review and the action
items that come out of them. Each operation is one write transaction with its timeline
event (IncidentStore.record_event), like every other change to an incident; the reads
(store/review_queries.py) return the typed read models the RCA and PIR documents and the
screens are made from (store/read_models/review.py).

Lists (root cause details, contributing factors, attendees, lessons) are stored as
canonical JSON arrays; the review's notes as a JSON object keyed by agenda item number.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Mapping

from sqlmodel import Session, select

from playbooks.errors import PolicyValueError
from playbooks.comms import facts_of
from playbooks.review import AGENDA, CATEGORY_TAGS, check_category, check_item_status
from playbooks.clock import iso_z, to_utc_naive
from playbooks.timeline import TimelineKind
from store.errors import ChangeRefused, IncidentNotFound
from store.models import ActionItem, Incident, Notification, PostIncidentReview, RootCauseAnalysis
from playbooks.validation import checked_text

MAX_ITEMS = 50  # details, factors, attendees, lessons: more is a paste accident
TICKET_EVENT = TimelineKind.ACTION_ITEM_TICKET  # the outbox event that files an action item in Jira


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()  # "leave this field as it is" (None means "clear it")


# -- checking what people type -------------------------------------------------------------------

def parse_due(value: str | date | None) -> datetime | None:
    """A due date (YYYY-MM-DD), kept as that day's 00:00 UTC; the item is overdue the day after."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_utc_naive(value).replace(hour=0, minute=0, second=0, microsecond=0)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    try:
        day = date.fromisoformat(str(value).strip())
    except ValueError:
        raise PolicyValueError(f"due date {value!r} is not a date; accepted: YYYY-MM-DD") from None
    return datetime(day.year, day.month, day.day)


def parse_moment(value: str | datetime | None, what: str = "review time") -> datetime | None:
    """An ISO 8601 time (a zone-less one is UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_utc_naive(value)
    try:
        return to_utc_naive(datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")))
    except ValueError:
        raise PolicyValueError(f"{what} {value!r} is not a time; accepted: ISO 8601 like 2024-01-22T15:00:00Z") from None


def agenda_number(ref: str | int) -> int:
    """An agenda item by number (1-5) or by the start of its title ("root", "follow")."""
    text = str(ref).strip()
    if text.isdigit() and 1 <= int(text) <= len(AGENDA):
        return int(text)
    matches = [item.number for item in AGENDA if text and item.title.lower().startswith(text.lower())]
    if len(matches) == 1:
        return matches[0]
    accepted = ", ".join(f"{item.number} ({item.title})" for item in AGENDA)
    raise PolicyValueError(f"agenda item {text!r} is not known; accepted: {accepted}")


def is_overdue(item: ActionItem, now: datetime) -> bool:
    """Not done and its due day is over."""
    return item.status != "done" and item.due_on is not None and now >= item.due_on + timedelta(days=1)


def _texts(values: Iterable[str] | None, what: str) -> list[str]:
    result = [checked_text(v, what) for v in (values or [])]
    if len(result) > MAX_ITEMS:
        raise PolicyValueError(f"{len(result)} {what}s given; accepted: at most {MAX_ITEMS}")
    return result


def _merged(current: list[str], added: list[str], what: str) -> list[str]:
    merged = current + [text for text in added if text not in current]
    if len(merged) > MAX_ITEMS:
        raise PolicyValueError(f"that makes {len(merged)} {what}s; accepted: at most {MAX_ITEMS}")
    return merged


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


# -- root cause analysis ---------------------------------------------------------------------------

def update_rca(store, incident_id: str, *, actor: str, impact: Any = UNSET, customers_affected: Any = UNSET,
               estimated_cost: Any = UNSET, root_cause: Any = UNSET, root_cause_details: Any = UNSET,
               contributing_factors: Any = UNSET, add_details: Iterable[str] = (),
               add_factors: Iterable[str] = ()) -> RootCauseAnalysis:
    """Set or edit the RCA's fields (UNSET leaves one alone, None clears it); lists given
    whole replace, `add_*` append what is not there yet. One 'rca_updated' event."""
    changes: dict[str, Any] = {}
    if impact is not UNSET:
        changes["impact"] = checked_text(impact, "impact", required=False, multiline=True)
    if customers_affected is not UNSET:
        changes["customers_affected"] = _count(customers_affected)
    if estimated_cost is not UNSET:
        changes["estimated_cost"] = _cost(estimated_cost)
    if root_cause is not UNSET:
        changes["root_cause"] = checked_text(root_cause, "root cause", required=False, multiline=True)
    details = None if root_cause_details is UNSET else _texts(root_cause_details, "root cause detail")
    factors = None if contributing_factors is UNSET else _texts(contributing_factors, "contributing factor")
    more_details, more_factors = _texts(add_details, "root cause detail"), _texts(add_factors, "contributing factor")
    with store.db.write() as session:
        incident = store.load(session, incident_id)
        now = store.now()
        rca = session.get(RootCauseAnalysis, incident.id) or RootCauseAnalysis(incident_id=incident.id,
                                                                              updated_at=now, updated_by=actor)
        for name, value in changes.items():
            setattr(rca, name, value)
        for column, whole, added, what in (("root_cause_details", details, more_details, "root cause detail"),
                                           ("contributing_factors", factors, more_factors, "contributing factor")):
            if whole is None and not added:
                continue
            current = whole if whole is not None else json.loads(getattr(rca, column))
            value = _merged(current, added, what)
            setattr(rca, column, _dump(value))
            changes[column] = value
        if not changes:
            raise PolicyValueError("nothing to change in the root cause analysis; accepted: --root-cause, --detail, "
                                   "--factor, --impact, --customers or --cost")
        rca.updated_at, rca.updated_by = now, actor
        session.add(rca)
        fields = ", ".join(name.replace("_", " ") for name in changes)
        store.record_event(session, incident, now, actor, TimelineKind.RCA_UPDATED,
                           f"Root cause analysis: {fields} updated",
                           {name: value for name, value in changes.items()})
    return rca


def _count(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(str(value).replace(",", "").replace("_", "").strip())
    except ValueError:
        number = -1
    if not 0 <= number <= 10**12:
        raise PolicyValueError(f"customers affected {value!r} is not a count; accepted: a whole number from 0")
    return number


def _cost(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(str(value).replace(",", "").replace("_", "").strip())
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1e15 or number != number:
        raise PolicyValueError(f"estimated cost {value!r} is not an amount; accepted: a number from 0 like 45000 or 1250.50")
    return round(number, 2)


# -- action items --------------------------------------------------------------------------------

def add_action_item(store, incident_id: str, title: str, *, actor: str, category: str, owner: str | None = None,
                    due: str | date | None = None, source: str = "review") -> ActionItem:
    """A corrective action of the incident, with its category tag, owner and due date."""
    title = checked_text(title, "action item title")
    category = check_category(category)
    owner = checked_text(owner, "owner", required=False)
    due_on = parse_due(due)
    if source not in ("incident", "review"):
        raise PolicyValueError(f"source {source!r} is not known; accepted: incident, review")
    with store.db.write() as session:
        incident = store.load(session, incident_id)
        now = store.now()
        item = ActionItem(incident_id=incident.id, title=title, owner=owner, due_on=due_on, category=category,
                          status="open", source=source, created_at=now)
        session.add(item)
        session.flush()
        store.record_event(session, incident, now, actor, TimelineKind.ACTION_ITEM_ADDED,
                           f"Action item {item.id} [{CATEGORY_TAGS[category]}]: {title}" + _who_when(item),
                           _item_data(item))
    return item


def update_action_item(store, item_id: int, *, actor: str, title: Any = UNSET, owner: Any = UNSET,
                       due: Any = UNSET, category: Any = UNSET, status: Any = UNSET) -> ActionItem:
    """Edit an action item; moving it to done stamps completed_at, away from done clears it."""
    changes: dict[str, Any] = {}
    if title is not UNSET:
        changes["title"] = checked_text(title, "action item title")
    if owner is not UNSET:
        changes["owner"] = checked_text(owner, "owner", required=False)
    if due is not UNSET:
        changes["due_on"] = parse_due(due)
    if category is not UNSET:
        changes["category"] = check_category(category)
    if status is not UNSET:
        changes["status"] = check_item_status(status)
    if not changes:
        raise PolicyValueError("nothing to change on the action item; accepted: title, owner, due, category or status")
    with store.db.write() as session:
        item, incident = _load_item(store, session, item_id)
        changed = {name: value for name, value in changes.items() if getattr(item, name) != value}
        if not changed:
            raise ChangeRefused(f"action item {item.id} already has those values; accepted: a different value")
        now = store.now()
        previous = item.status
        for name, value in changed.items():
            setattr(item, name, value)
        if item.status == "done" and previous != "done":
            item.completed_at = now
        elif item.status != "done":
            item.completed_at = None
        session.add(item)
        if set(changed) == {"status"}:
            kind = {"done": TimelineKind.ACTION_ITEM_DONE, "open": TimelineKind.ACTION_ITEM_REOPENED}.get(
                item.status, TimelineKind.ACTION_ITEM_UPDATED)
            verb = {"done": "done", "open": "reopened", "in-progress": "in progress"}[item.status]
            summary = f"Action item {item.id} {verb}: {item.title}"
        else:
            kind = TimelineKind.ACTION_ITEM_UPDATED
            summary = f"Action item {item.id} updated ({', '.join(n.replace('_on', '') for n in changed)}): {item.title}"
        store.record_event(session, incident, now, actor, kind, summary,
                           {**_item_data(item), "changed": sorted(changed)})
    return item


def complete_action_item(store, item_id: int, *, actor: str) -> ActionItem:
    return update_action_item(store, item_id, actor=actor, status="done")


def reopen_action_item(store, item_id: int, *, actor: str) -> ActionItem:
    return update_action_item(store, item_id, actor=actor, status="open")


def _load_item(store, session: Session, item_id: int | str) -> tuple[ActionItem, Incident]:
    text = str(item_id).strip().lstrip("#")
    number = int(text) if text.isdigit() and len(text) <= 9 else None
    item = session.get(ActionItem, number) if number else None
    if item is None:
        raise IncidentNotFound(f"no action item {str(item_id)!r}; accepted: a number from `incident-response actions --all`")
    return item, store.load(session, item.incident_id)


def _item_data(item: ActionItem) -> dict[str, Any]:
    return {"action_item": item.id, "title": item.title, "category": item.category, "owner": item.owner,
            "due_on": item.due_on.date().isoformat() if item.due_on else None, "status": item.status}


def _who_when(item: ActionItem) -> str:
    parts = [f"owner {item.owner}" if item.owner else "", f"due {item.due_on:%Y-%m-%d}" if item.due_on else ""]
    parts = [part for part in parts if part]
    return f" ({', '.join(parts)})" if parts else ""


def ticket_action_item(store, item_id: int | str, *, actor: str) -> ActionItem:
    """Ask for the action item to become a Jira ticket: an 'action_item_ticket' event whose
    outbox message goes to the jira integration only; the deliverer stores the key it got."""
    with store.db.write() as session:
        item, incident = _load_item(store, session, item_id)
        if item.ticket:
            raise ChangeRefused(f"action item {item.id} is already Jira ticket {item.ticket}; accepted: an item without a ticket")
        routes = [(integration, group) for integration, group, *_why_not in
                  (store.router(facts_of(incident), TICKET_EVENT) if store.router is not None else []) if integration == "jira"]
        if not routes:
            raise ChangeRefused("Jira is not configured, so action items cannot become tickets; accepted: an "
                                "[integrations.jira] table in config.toml")
        key = f"action-item:{item.id}:jira"
        waiting = session.exec(select(Notification).where(Notification.idempotency_key == key)).first()
        now = store.now()
        if waiting is not None and waiting.state != "dead":
            raise ChangeRefused(f"action item {item.id} is already on its way to Jira (requested "
                                f"{iso_z(waiting.created_at)}); accepted: wait for delivery (`incident-response watch` "
                                "or the command center delivers it)")
        event = store.record_event(session, incident, now, actor, TICKET_EVENT,
                                   f"Action item {item.id} sent to Jira: {item.title}", _item_data(item))
        from store.outbox import payload_of

        payload = payload_of(incident, TICKET_EVENT, event.summary)
        payload["action_item"] = {**_item_data(item), "tag": CATEGORY_TAGS[item.category], "requested_by": actor,
                                  "incident_title": incident.title}
        if waiting is not None:  # dead-lettered before: the same message goes out again
            waiting.payload, waiting.state, waiting.attempts = _dump(payload), "pending", 0
            waiting.next_attempt_at, waiting.last_error = now, None
            session.add(waiting)
        else:
            session.add(Notification(incident_id=incident.id, integration="jira", stakeholder_group=None,
                                     event=TICKET_EVENT, idempotency_key=key, payload=_dump(payload),
                                     state="pending", attempts=0, next_attempt_at=now, created_at=now))
    return item


def record_ticket(store, session: Session, payload: Mapping[str, Any], reference: str, now: datetime) -> None:
    """The deliverer's half: Jira made the ticket, the action item keeps its key (with an event)."""
    data = payload.get("action_item") if isinstance(payload, Mapping) else None
    item = session.get(ActionItem, data.get("action_item")) if isinstance(data, Mapping) else None
    if item is None or item.ticket == reference:
        return
    item.ticket = reference[:64]
    session.add(item)
    incident = session.get(Incident, item.incident_id)
    store.record_event(session, incident, now, str(data.get("requested_by") or "jira"),
                       TimelineKind.ACTION_ITEM_TICKETED,
                       f"Action item {item.id} is Jira ticket {item.ticket}: {item.title}",
                       {"action_item": item.id, "ticket": item.ticket})


# -- post-incident review --------------------------------------------------------------------------

def update_review(store, incident_id: str, *, actor: str, scheduled_at: Any = UNSET, facilitator: Any = UNSET,
                  add_attendees: Iterable[str] = (), remove_attendees: Iterable[str] = (),
                  notes: Mapping[str | int, str | None] | None = None, add_lessons: Iterable[str] = (),
                  held: bool = False) -> PostIncidentReview:
    """Schedule the review, name who attends and facilitates, note each agenda item, record
    lessons, mark it held. One event: 'review_held' when it is marked held, else 'review_updated'."""
    changes: dict[str, Any] = {}
    if scheduled_at is not UNSET:
        changes["scheduled_at"] = parse_moment(scheduled_at)
    if facilitator is not UNSET:
        changes["facilitator"] = checked_text(facilitator, "facilitator", required=False)
    joining, leaving = _texts(add_attendees, "attendee"), _texts(remove_attendees, "attendee")
    agenda_notes = {str(agenda_number(ref)): checked_text(text, "agenda note", required=False, multiline=True)
                    for ref, text in (notes or {}).items()}
    lessons = _texts(add_lessons, "lesson")
    with store.db.write() as session:
        incident = store.load(session, incident_id)
        now = store.now()
        review = session.get(PostIncidentReview, incident.id) or PostIncidentReview(
            incident_id=incident.id, updated_at=now, updated_by=actor)
        for name, value in changes.items():
            setattr(review, name, value)
        if joining or leaving:
            current = json.loads(review.attendees)
            missing = [name for name in leaving if name not in current]
            if missing:
                raise PolicyValueError(f"{missing[0]} is not an attendee of the {incident.id} review; accepted: "
                                       f"{', '.join(current) or 'nobody is listed yet'}")
            attendees = _merged([name for name in current if name not in leaving], joining, "attendee")
            review.attendees = _dump(attendees)
            changes["attendees"] = attendees
        if agenda_notes:
            current_notes = json.loads(review.agenda_notes)
            for number, text in agenda_notes.items():
                if text is None:
                    current_notes.pop(number, None)
                else:
                    current_notes[number] = text
            review.agenda_notes = _dump(current_notes)
            changes["agenda_notes"] = sorted(agenda_notes)
        if lessons:
            merged = _merged(json.loads(review.lessons_learned), lessons, "lesson")
            review.lessons_learned = _dump(merged)
            changes["lessons_learned"] = lessons
        if held:
            if review.held_at is not None:
                raise ChangeRefused(f"the {incident.id} review was already held at {iso_z(review.held_at)}; "
                                    "accepted: edits without --held")
            review.held_at = now
        if not changes and not held:
            raise PolicyValueError("nothing to change in the post-incident review; accepted: --at, --attendee, "
                                   "--facilitator, --note, --lesson or --held")
        review.updated_at, review.updated_by = now, actor
        session.add(review)
        data = {name: (iso_z(value) if isinstance(value, datetime) else value) for name, value in changes.items()}
        if held:
            store.record_event(session, incident, now, actor, TimelineKind.REVIEW_HELD,
                               "Post-incident review completed",
                               {**data, "held_at": iso_z(now)})
        else:
            what = ", ".join(name.replace("_", " ") for name in changes)
            summary = (f"Post-incident review scheduled for {review.scheduled_at:%Y-%m-%d %H:%M} UTC"
                       if set(changes) == {"scheduled_at"} and review.scheduled_at else f"Post-incident review: {what} updated")
            store.record_event(session, incident, now, actor, TimelineKind.REVIEW_UPDATED, summary, data)
    return review


def refuse_close_without_review(session: Session, policy, incident: Incident) -> None:
    """Closing waits for a held review where the severity's policy asks for one."""
    level = policy.level(incident.severity)
    if not level.review_required:
        return
    review = session.get(PostIncidentReview, incident.id)
    if review is None or review.held_at is None:
        raise ChangeRefused(
            f"{incident.id} is {incident.severity} and needs a held post-incident review before it is closed; "
            f"accepted: hold the review (incident-response review {incident.id} --held) first")
