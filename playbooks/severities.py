"""The one severity-alias table outside a loaded policy: what a vendor payload or an alert
label may say for a severity (SEV-1, sev1, p1, 1, critical ...), read without loading the
policy. It matches the built-in severity.toml (tests/unit/test_vendor_modules.py checks it);
a user's own aliases are read through `Policy.level`."""
from __future__ import annotations

from typing import Any

SEVERITIES = ("SEV-1", "SEV-2", "SEV-3", "SEV-4")
SEVERITY_ALIASES: dict[str, str] = {
    "critical": "SEV-1", "high": "SEV-2", "medium": "SEV-3", "low": "SEV-4",
    "p1": "SEV-1", "p2": "SEV-2", "p3": "SEV-3", "p4": "SEV-4",
    "1": "SEV-1", "2": "SEV-2", "3": "SEV-3", "4": "SEV-4",
}


def canonical_severity(value: Any) -> str | None:
    """SEV-1..SEV-4 for SEV-1, sev1, sev-1, p1, 1, critical / high / medium / low; None if unknown."""
    text = str(value or "").strip()
    if text.upper() in SEVERITIES:
        return text.upper()
    compact = text.lower().replace("-", "").replace("_", "").replace(" ", "")
    if compact.startswith("sev"):
        compact = compact[3:]
    return SEVERITY_ALIASES.get(compact)
