"""The shape every table of config.toml shares: the Table base (strict, frozen, unknown keys
refused), the value patterns the tables check addresses with, and a number of seconds."""
from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field


HTTP_URL = r"^https?://[^\s/?#]+([/?#]\S*)?$"
E164 = r"^\+[1-9][0-9]{6,14}$"  # an international phone number: +, country code, at most 15 digits
EMAIL = r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$"  # one bare address; no display name, no list
SLACK_MEMBER = r"^[UW][A-Z0-9]{2,20}$"  # a Slack member id (U…/W…), not a display name


class Table(BaseModel):
    """Base of every table: unknown keys and non-finite numbers are refused, and a value must
    already be of its type (a quoted number is not a number)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True, frozen=True)
    # `_env` keys whose secret may be left unset (a login that is optional, say).
    OPTIONAL_SECRETS: ClassVar[frozenset[str]] = frozenset()

    def required_secrets(self) -> list[str]:
        """The `_env` keys of this table whose variable must hold a secret for it to work."""
        return [name for name in type(self).model_fields
                if name.endswith("_env") and name not in self.OPTIONAL_SECRETS]


Seconds = float


def seconds_field(default: float | None, low: float, high: float, what: str) -> Any:
    """A number of seconds from `low` (0: above 0) to `high`."""
    if low == 0:
        return Field(default, gt=0, le=high, description=f"{what} (seconds, above 0, at most {high:g})")
    return Field(default, ge=low, le=high, description=f"{what} (seconds, {low:g} to {high:g})")
