"""The post-incident review's vocabulary: the spec's corrective-action categories and
action-item statuses, the review agenda with its time boxes, and the checks of what people
type for them. Pure: the store keeps the rows, the reports print them."""
from __future__ import annotations

from dataclasses import dataclass

from playbooks.errors import PolicyValueError

# The spec's corrective-action tags, in the template's order.
CATEGORIES = ("immediate", "short-term", "long-term", "process")
CATEGORY_TAGS = {"immediate": "Immediate", "short-term": "Short-term", "long-term": "Long-term", "process": "Process"}
ITEM_STATUSES = ("open", "in-progress", "done")


@dataclass(frozen=True)
class AgendaItem:
    number: int
    title: str
    minutes: int
    topics: tuple[str, ...]


# The spec's "Post-Incident Review Agenda", with its time boxes (60 minutes in all).
AGENDA: tuple[AgendaItem, ...] = (
    AgendaItem(1, "Incident Overview", 10, ("Timeline and impact summary", "Response effectiveness evaluation",
                                            "Communication assessment")),
    AgendaItem(2, "Root Cause Analysis", 20, ("Technical root cause discussion", "Contributing factors review",
                                              "Detection and response gaps")),
    AgendaItem(3, "Action Items", 15, ("Immediate remediation tasks", "Process improvements",
                                       "Technology enhancements", "Responsibility assignments")),
    AgendaItem(4, "Learning and Knowledge Sharing", 10, ("Key lessons learned", "Best practices identified",
                                                         "Knowledge transfer needs", "Documentation updates")),
    AgendaItem(5, "Follow-up Planning", 5, ("Action item tracking", "Progress review schedule",
                                            "Success metrics definition")),
)


def check_category(value: str) -> str:
    """immediate | short-term | long-term | process; also the spec's tags ("[Short-term]")."""
    text = str(value or "").strip().strip("[]").strip().lower().replace("_", "-").replace(" ", "-")
    if text not in CATEGORIES:
        raise PolicyValueError(f"category {value!r} is not known; accepted: {', '.join(CATEGORIES)}")
    return text


def check_item_status(value: str) -> str:
    text = str(value or "").strip().lower().replace("_", "-").replace(" ", "-")
    if text not in ITEM_STATUSES:
        raise PolicyValueError(f"status {value!r} is not an action item status; accepted: {', '.join(ITEM_STATUSES)}")
    return text
