"""An incident's statuses and the moves between them: pure vocabulary.

Apart from playbooks/policy.py (which loads the pydantic schema of the TOML) so that the
dashboard's incident table can tell open from settled rows without paying for pydantic on
the paint path, and so that the store, the automation and the screens share one table.
"""
from __future__ import annotations

# Statuspage's words, in lifecycle order.
STATUSES = ("investigating", "identified", "monitoring", "resolved", "closed")
OPEN_STATUSES = ("investigating", "identified", "monitoring")
# Moves an engineer may make. Going back is allowed while open (a hypothesis was wrong,
# a fix regressed); a resolved incident may be reopened; a closed one is final.
STATUS_MOVES: dict[str, tuple[str, ...]] = {
    "investigating": ("identified", "monitoring", "resolved"),
    "identified": ("investigating", "monitoring", "resolved"),
    "monitoring": ("investigating", "identified", "resolved"),
    "resolved": ("investigating", "closed"),
    "closed": (),
}
