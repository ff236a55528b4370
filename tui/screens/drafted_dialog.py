"""What every dialog that takes typing shares about drafts (notes, status updates, the pinned
summary): esc keeps what was written, ctrl+d discards it, and with no draft slot ctrl+d is
left to the text field (delete to the right), as in any editor."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui.drafts import DraftSlot


class DraftKeeping:
    """Mixed into a ModalScreen before it: the screen sets `draft` and says what was written."""

    draft: "DraftSlot | None"

    def _written(self) -> dict[str, str]:
        raise NotImplementedError

    def _worth_keeping(self, written: dict[str, str]) -> bool:
        """Whether the fields hold something of the engineer's own (overridden where it differs)."""
        return written != getattr(self, "prefill", None)

    def _keep_draft(self) -> None:
        if self.draft is None:
            return
        written = self._written()
        if self._worth_keeping(written):
            self.draft.keep(written)
        else:
            self.draft.discard()  # nothing of their own: the next time starts afresh

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "discard" and self.draft is None:
            return False  # no draft here: ctrl+d deletes to the right, as in any text field
        return True

    def action_cancel(self) -> None:
        self._keep_draft()
        self.dismiss(None)

    def action_discard(self) -> None:
        self.draft.discard()
        self.notify("Draft discarded.", timeout=3)
        self.dismiss(None)
