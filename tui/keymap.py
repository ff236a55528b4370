"""`[tui.keymap]` checked before it is applied. Textual gives a remapped key to its binding
and silently drops whatever had that key on the same screen (or shadows an app-wide key
with a screen's), so a remap that collides would quietly take a key away from another
action. A colliding remap is refused instead: both bindings keep their own keys, and the
refusal is one sentence naming both (a notice at start-up, a finding in `config check`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from textual.keys import _character_to_key


@dataclass(frozen=True)
class BoundKey:
    """One binding as the keymap sees it: its id (or, for Textual's own, its action), keys, label."""

    name: str
    keys: tuple[str, ...]
    description: str
    remappable: bool = True  # Textual's own bindings have no id: nothing can remap them


@dataclass(frozen=True)
class KeyCollision:
    """A remap refused: `remapped` would get `key`, which `taken_by` has on `screen`."""

    remapped: str
    key: str
    written: str  # the remap's keys as the user wrote them
    taken_by: BoundKey
    screen: str
    own: BoundKey  # the remapped binding as it was

    def sentence(self) -> str:
        kept = ",".join(self.own.keys) or "no key"
        other = self.taken_by
        label = f"{other.description} ({other.name})" if other.description else other.name
        return (f'keymap "{self.remapped}" = "{self.written}" is refused: {self.key} is already {label} '
                f"on the {self.screen}, so both keep their keys ({self.own.description or self.remapped} stays "
                f"on {kept}); accepted: a key nothing else on that screen or app-wide uses")


def normalize_keys(keys: str) -> tuple[str, ...]:
    """Keys as Textual names them ("?" -> "question_mark"), the way `App.set_keymap` does."""
    return tuple(_character_to_key(key) if len(key) == 1 else key
                 for key in (part.strip() for part in keys.split(",")) if key)


def keymap_collisions(keymap: Mapping[str, str], screens: Mapping[str, Sequence[BoundKey]]) -> list[KeyCollision]:
    """Every remap that would give a binding a key another binding already has on one of
    `screens` (each screen's list holds its own, its widgets' and the app-wide bindings).
    Two defaults sharing a key are the design (a screen's `q` over the app's), not a collision."""
    remaps = {binding_id: normalize_keys(keys) for binding_id, keys in keymap.items()}
    found: dict[tuple[str, str], KeyCollision] = {}
    for screen, bindings in screens.items():
        holders: dict[str, list[BoundKey]] = {}
        for binding in bindings:
            for key in remaps.get(binding.name, binding.keys) if binding.remappable else binding.keys:
                holders.setdefault(key, []).append(binding)
        for binding in bindings:
            if not binding.remappable or binding.name not in remaps:
                continue
            for key in remaps[binding.name]:
                if key in binding.keys:
                    continue  # a key it had anyway
                others = [other for other in holders.get(key, ()) if other.name != binding.name]
                if others and (binding.name, key) not in found:
                    found[(binding.name, key)] = KeyCollision(binding.name, key, keymap[binding.name], others[0],
                                                              screen, binding)
    return list(found.values())


def usable_keymap(keymap: Mapping[str, str],
                  screens: Mapping[str, Sequence[BoundKey]]) -> tuple[dict[str, str], list[KeyCollision]]:
    """The remaps that collide with nothing, and the refused ones. Refusing one can expose
    another (a swap of two keys, half refused), so this repeats until nothing collides."""
    kept, refused = dict(keymap), []
    while collisions := keymap_collisions(kept, screens):
        refused += collisions
        for collision in collisions:
            kept.pop(collision.remapped, None)
    return kept, refused


def unknown_binding_ids(keymap: Mapping[str, str], screens: Mapping[str, Sequence[BoundKey]]) -> list[str]:
    """Remaps naming no binding (Textual ignores them), one sentence each."""
    known = {binding.name for bindings in screens.values() for binding in bindings if binding.remappable}
    return [f'keymap "{name}" names no binding, so it changes nothing; accepted: a binding id, '
            "as ? lists them beside each key in the command center at 120 columns or wider"
            for name in keymap if name not in known]


# -- the command center's screens ---------------------------------------------------------------
def _bound_keys(classes: Iterable[type]) -> list[BoundKey]:
    result = []
    for cls in classes:
        by_name: dict[str, BoundKey] = {}
        # Textual's merged BINDINGS of the class (its bases' too), as each instance starts with them.
        for key, bindings in cls._merged_bindings.key_to_bindings.items():
            for binding in bindings:
                name = binding.id or binding.action
                known = by_name.get(name)
                by_name[name] = BoundKey(name, (known.keys if known else ()) + (key,), binding.description,
                                         remappable=binding.id is not None)
        result += by_name.values()
    return result


def command_center_screens() -> dict[str, list[BoundKey]]:
    """Each screen's bindings with the widgets it holds and the app-wide ones (ctrl+p too)."""
    from tui.app import CommandCenter
    from tui.screens.action_items import ActionItemsScreen
    from tui.screens.command_line import CommandLine
    from tui.screens.compliance import ComplianceScreen, ObligationList
    from tui.screens.dashboard import DashboardScreen
    from tui.screens.help import HelpScreen
    from tui.screens.oncall import OnCallScreen
    from tui.screens.outbox import OutboxScreen, OutboxTable
    from tui.screens.post_incident import PostIncidentScreen
    from tui.screens.reports import ReportsScreen
    from tui.screens.similar import SimilarIncidentsScreen
    from tui.screens.timeline_event import TimelineEventScreen
    from tui.screens.war_room import WarRoomScreen
    from tui.widgets.checklist import Checklist
    from tui.widgets.incident_table import IncidentTable
    from tui.widgets.oncall import OnCallTable
    from tui.widgets.timeline import Timeline

    app_wide = _bound_keys([CommandCenter]) + [
        BoundKey("command_palette", (CommandCenter.COMMAND_PALETTE_BINDING,), "Palette", remappable=False)]
    # Dialogs that take typing (declare, prompts, the update composer) are left out: their
    # inputs take the letters first, whatever the keymap says.
    screens = {
        "dashboard": [DashboardScreen, IncidentTable],
        "war room": [WarRoomScreen, Checklist, Timeline],
        "post-incident screen": [PostIncidentScreen],
        "reports screen": [ReportsScreen],
        "compliance screen": [ComplianceScreen, ObligationList],
        "outbox": [OutboxScreen, OutboxTable],
        "on-call screen": [OnCallScreen, OnCallTable],
        "action items screen": [ActionItemsScreen],
        "similar incidents list": [SimilarIncidentsScreen],
        "timeline event": [TimelineEventScreen],
        "command line": [CommandLine],
        "help": [HelpScreen],
    }
    return {name: _bound_keys(classes) + app_wide for name, classes in screens.items()}



def keymap_findings(keymap: Mapping[str, str]) -> list:
    """`config check`'s lines for `[tui.keymap]`: each remap applied, or refused and why."""
    from automation.readiness import Finding

    screens = command_center_screens()
    usable, refused = usable_keymap(keymap, screens)
    unknown = dict(zip([name for name in keymap if name not in {b.name for s in screens.values() for b in s}],
                       unknown_binding_ids(keymap, screens)))
    why = {collision.remapped: collision.sentence() for collision in refused}
    return [Finding(name, False, unknown[name]) if name in unknown
            else Finding(name, False, why[name]) if name in why
            else Finding(name, True, f"on {keys}") for name, keys in keymap.items()]
