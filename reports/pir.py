"""The spec's Post-Incident Review agenda as a document (Markdown, self-contained HTML,
JSON), from store.review_queries.pir_detail: the five agenda items with their time
boxes and notes, when it is (or was) held, who attends and facilitates, the lessons
learned and the action items with owner, due date, category and status."""
from __future__ import annotations

import json
from typing import Any

from reports.rca import html_document, item_line, when


def pir_markdown(detail: dict[str, Any]) -> str:
    summary, review = detail["summary"], detail["review"]
    lines = [
        f"# Post-Incident Review: {summary['id']} — {summary['title']}",
        "",
        f"- Incident: {summary['id']}, {summary['severity']} ({summary['severity_id']}), duration {summary['duration']}",
        f"- Impact: {summary['impact']}",
        f"- Scheduled: {when(review['scheduled_at']) if review['scheduled_at'] else 'not scheduled yet'}",
        f"- Held: {when(review['held_at']) if review['held'] else 'not held yet'}",
        f"- Facilitator: {review['facilitator'] or 'not named yet'}",
        f"- Attendees: {', '.join(review['attendees']) or 'nobody listed yet'}",
        "",
        f"## Agenda ({detail['total_minutes']} minutes)",
        "",
    ]
    for item in review["agenda"]:
        lines += [f"### {item['number']}. {item['title']} ({item['minutes']} minutes)", ""]
        lines += [f"- {topic}" for topic in item["topics"]]
        notes = (item["notes"] or "").replace("\n", "  \n")  # a hard break keeps lines in one paragraph
        lines += ["", f"Notes: {notes}" if notes else "Notes: none yet", ""]
    lines += ["## Lessons Learned", ""]
    lines += [f"- {lesson}" for lesson in review["lessons_learned"]] or ["- none recorded yet"]
    lines += ["", "## Action Items", ""]
    lines += [f"{n}. {item_line(item)}" for n, item in enumerate(detail["action_items"], 1)] or ["- none yet"]
    return "\n".join(lines) + "\n"


def pir_html(detail: dict[str, Any]) -> str:
    return html_document(pir_markdown(detail), f"Post-Incident Review {detail['summary']['id']}")


def pir_json(detail: dict[str, Any]) -> str:
    return json.dumps(detail, indent=2, ensure_ascii=False) + "\n"


def render_pir(detail: dict[str, Any], fmt: str) -> str:
    return {"md": pir_markdown, "html": pir_html, "json": pir_json}[fmt](detail)
