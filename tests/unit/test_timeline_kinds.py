"""TimelineKind is the whole vocabulary of the timeline, and its values are the strings the
timeline has always held (stored rows, the audit chain's hashes and JSON exports depend on them).

The code base is parsed, not run: every kind handed to `record_event` (directly, through a
constant, a table of kinds, a conditional, or a helper that passes its `kind` parameter on)
must be a TimelineKind member."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from playbooks.timeline import TimelineKind

ROOT = Path(__file__).resolve().parents[2]
WRITERS = ["store", "automation", "tui", "reports", "integrations"]

# The kinds written before the enum existed, as stored: a value changed here is a data migration.
HISTORICAL = [
    "declared", "acknowledged", "status_changed", "severity_changed", "role_assigned", "role_released",
    "step_done", "step_undone", "note", "status_update", "remediation_started", "remediation_finished",
    "remediation_cancelled", "summary_pinned", "customer_satisfaction", "imported", "data_exposed",
    "compliance_clock_started", "compliance_met", "compliance_reminder", "condition_firing", "condition_cleared",
    "escalated", "update_overdue", "oncall_page", "status_page_update", "war_room_start", "security_alert",
    "runbook_proposed", "evidence_collected", "notification_retried", "rca_updated", "review_held",
    "review_updated", "action_item_added", "action_item_done", "action_item_reopened", "action_item_updated",
    "action_item_ticket", "action_item_ticketed", "oncall_override", "oncall_override_cancelled",
    "silence_added", "silence_expired", "escalation_step",
]


def test_the_values_are_the_historical_strings():
    assert sorted(kind.value for kind in TimelineKind) == sorted(HISTORICAL)
    assert len(HISTORICAL) == len(set(HISTORICAL))


@pytest.mark.parametrize("kind", list(TimelineKind))
def test_a_member_is_its_string(kind):
    # What the column, the hash material and JSON see is the plain string, never "TimelineKind.X".
    assert kind == kind.value and str(kind) == kind.value and f"{kind}" == kind.value
    assert json.dumps({"kind": kind}) == json.dumps({"kind": kind.value})
    assert TimelineKind(kind.value) is kind


class _KindsWritten:
    """The kinds one module hands to record_event, as (line, kind) — kind is a string, or
    None where the value cannot be worked out from the source (the test then fails)."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                          for t in node.targets if isinstance(t, ast.Name)}
        self.parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        # Helpers whose `kind` parameter goes on to record_event: name -> its position after self.
        self.carriers: dict[str, int] = {"record_event": 4}
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name != "record_event":
                params = [a.arg for a in fn.args.args if a.arg not in ("self", "cls")]
                if "kind" in params and any(self._kind_arg(call, 4, "record_event") == ("kind",)
                                            for call in ast.walk(fn) if isinstance(call, ast.Call)):
                    self.carriers[fn.name] = params.index("kind")

    @staticmethod
    def _called(call: ast.Call) -> str | None:
        func = call.func
        return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None

    def _kind_arg(self, call: ast.Call, index: int, name: str):
        if self._called(call) != name:
            return None
        node = next((k.value for k in call.keywords if k.arg == "kind"), None)
        if node is None and len(call.args) > index:
            node = call.args[index]
        return (node.id,) if isinstance(node, ast.Name) else node

    def _function_of(self, node: ast.AST):
        while node in self.parents:
            node = self.parents[node]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return node
        return None

    def values(self, node: ast.expr, where: ast.AST) -> list[str | None]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "TimelineKind"):
            return [TimelineKind[node.attr].value]  # KeyError: not a member
        if isinstance(node, ast.IfExp):
            return self.values(node.body, where) + self.values(node.orelse, where)
        if isinstance(node, ast.Dict):
            return [v for value in node.values for v in self.values(value, where)]
        if isinstance(node, ast.Subscript):  # TABLE[key]: any of the table's kinds
            return self.values(node.value, where)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"):
            return self.values(node.func.value, where) + [v for a in node.args[1:] for v in self.values(a, where)]
        if isinstance(node, ast.Name):
            fn = self._function_of(where)
            if fn is not None:
                if node.id in [a.arg for a in fn.args.args + fn.args.kwonlyargs]:
                    return []  # a parameter: its callers are checked as carriers' calls
                local = [a.value for a in ast.walk(fn) if isinstance(a, ast.Assign)
                         for t in a.targets if isinstance(t, ast.Name) and t.id == node.id]
                if local:
                    return [v for value in local for v in self.values(value, where)]
            if node.id in self.constants:
                return self.values(self.constants[node.id], where)
        return [None]

    def written(self) -> list[tuple[int, str | None]]:
        out = []
        for call in ast.walk(self.tree):
            if not isinstance(call, ast.Call):
                continue
            for name, index in self.carriers.items():
                arg = self._kind_arg(call, index, name)
                if arg is None:
                    continue
                node = ast.Name(id=arg[0]) if isinstance(arg, tuple) else arg
                out += [(call.lineno, value) for value in self.values(node, call)]
            out += [(call.lineno, value) for node in self._sealed_kinds(call) for value in self.values(node, call)]
        return out

    def _sealed_kinds(self, call: ast.Call) -> list[ast.expr]:
        """record_sealed(session, incident, now, actor, events, state): each event a tuple
        (kind, summary, data), in a list or a list comprehension."""
        if self._called(call) != "record_sealed":
            return []
        events = next((k.value for k in call.keywords if k.arg == "events"), None)
        if events is None and len(call.args) > 4:
            events = call.args[4]
        tuples = [events.elt] if isinstance(events, ast.ListComp) else getattr(events, "elts", [events])
        return [t.elts[0] if isinstance(t, ast.Tuple) else ast.Constant(value=None) for t in tuples]


def _kinds_written_in(source: str) -> list[tuple[int, str | None]]:
    return _KindsWritten(ast.parse(source)).written()


def test_the_parser_follows_each_way_a_kind_is_given():
    source = (
        "KIND = 'compliance_reminder'\n"
        "TABLE = {'page': 'oncall_page', 'war': 'war_room_start'}\n"
        "def a(store, s, i, done):\n"
        "    store.record_event(s, i, 0, 'x', TimelineKind.NOTE, 'n')\n"
        "    store.record_event(s, i, 0, 'x', 'step_done' if done else 'step_undone', 'n')\n"
        "    store.record_event(s, i, 0, 'x', KIND, 'n')\n"
        "class R:\n"
        "    def _record(self, incident_id, kind, summary):\n"
        "        self.store.record_event(s, i, 0, 'x', kind, summary)\n"
        "    def tell(self, name):\n"
        "        self._record('INC', TABLE[name], 'told')\n"
        "        self._record('INC', kind='not_a_kind', summary='x')\n"
        "        self._record('INC', mystery(), 'x')\n"
    )
    assert sorted(_kinds_written_in(source), key=str) == sorted([
        (4, "note"), (5, "step_done"), (5, "step_undone"), (6, "compliance_reminder"),
        (11, "oncall_page"), (11, "war_room_start"), (12, "not_a_kind"), (13, None)], key=str)


def test_every_kind_written_is_a_member():
    found, unknown = set(), []
    for package in WRITERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, kind in _kinds_written_in(path.read_text(encoding="utf-8")):
                where = f"{path.relative_to(ROOT)}:{line}"
                if kind is None:
                    unknown.append(f"{where}: a kind the source does not spell out")
                elif kind not in TimelineKind.__members__.values():
                    unknown.append(f"{where}: {kind!r} is not a TimelineKind")
                else:
                    found.add(kind)
    assert unknown == []
    # The parse saw the writers (a parse that finds nothing would pass the check above).
    assert found == set(HISTORICAL)
