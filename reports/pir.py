"""The spec's Post-Incident Review agenda as a document (Markdown, self-contained HTML,
JSON), from store.review_queries.read_pir: the five agenda items with their time
boxes and notes, when it is (or was) held, who attends and facilitates, the lessons
learned and the action items with owner, due date, category and status."""
from __future__ import annotations

import json

from reports.markdown import md_block, md_line as m
from reports.rca import html_document, item_line, when
from store.read_models.review import PirDetail


def pir_markdown(detail: PirDetail) -> str:
    """The PIR in Markdown; every stored text through reports.markdown (m: one line,
    md_block: a value that may span lines), so it is shown and never becomes markup."""
    summary, review = detail.summary, detail.review
    lines = [
        f"# Post-Incident Review: {m(summary.id)} — {m(summary.title)}",
        "",
        f"- Incident: {m(summary.id)}, {m(summary.severity)} ({m(summary.severity_id)}), "
        f"duration {summary.duration}",
        f"- Impact: {md_block(summary.impact_text)}",
        f"- Scheduled: {when(review.scheduled_at) if review.scheduled_at else 'not scheduled yet'}",
        f"- Held: {when(review.held_at) if review.held else 'not held yet'}",
        f"- Facilitator: {m(review.facilitator) if review.facilitator else 'not named yet'}",
        f"- Attendees: {', '.join(m(a) for a in review.attendees) or 'nobody listed yet'}",
        "",
        f"## Agenda ({detail.total_minutes} minutes)",
        "",
    ]
    for item in review.agenda:
        lines += [f"### {item.number}. {m(item.title)} ({item.minutes} minutes)", ""]
        lines += [f"- {md_block(topic)}" for topic in item.topics]
        # Hard breaks keep the notes' lines in one paragraph, none of them a block of its own.
        notes = md_block(item.notes, 0) if item.notes else ""
        lines += ["", f"Notes: {notes}" if notes else "Notes: none yet", ""]
    lines += ["## Lessons Learned", ""]
    lines += [f"- {md_block(lesson)}" for lesson in review.lessons_learned] or ["- none recorded yet"]
    lines += ["", "## Action Items", ""]
    lines += [f"{n}. {item_line(item)}" for n, item in enumerate(detail.action_items, 1)] or ["- none yet"]
    return "\n".join(lines) + "\n"


def pir_html(detail: PirDetail) -> str:
    return html_document(pir_markdown(detail), f"Post-Incident Review {detail.summary.id}")


def pir_json(detail: PirDetail) -> str:
    return json.dumps(detail.as_json(), indent=2, ensure_ascii=False) + "\n"


def render_pir(detail: PirDetail, fmt: str) -> str:
    return {"md": pir_markdown, "html": pir_html, "json": pir_json}[fmt](detail)
