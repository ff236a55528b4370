"""Inside the rooms (issue 15, acceptance 3): no application module grows past ~500 lines,
and screens, widgets and reports read typed read models by attribute — no `detail["..."]`
dict plumbing. Both are read from the source with `ast`, like the house test.

The dict rule names the words the read models used to travel under as dicts (`detail`,
`report`, `rca`, ...): a string-keyed read of any of them, as a name or an attribute
(`self.detail["status"]`), fails. Dicts that are genuinely dicts stay legal: a form's
typed-in fields, a draft kept as JSON between runs, a constant lookup table.
"""
from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("tui", "automation", "reports", "integrations", "store", "playbooks")
MAX_LINES = 500
# Where read models are consumed.
READERS = ("tui/screens", "tui/widgets", "reports")
# The names the incident detail, the RCA/PIR, the report and their parts went by as dicts.
READ_MODEL_NAMES = frozenset({
    "detail", "report", "rca", "pir", "review", "row", "step", "phase", "item", "incident", "event", "entry",
    "told", "group", "obligation", "exposure", "update", "action", "figures", "period", "month", "policy",
    "pinned", "role", "summary", "shown", "series", "week",
})


def _modules():
    for package in PACKAGES:
        yield from sorted((REPO / package).rglob("*.py"))


def test_no_application_module_is_over_500_lines():
    long = {str(path.relative_to(REPO)): n for path in _modules()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"split these by job (issue 15: no application module over ~{MAX_LINES} lines): {long}"


def _subscripted_name(node: ast.Subscript) -> str | None:
    """`detail` for `detail["x"]` and `self.detail["x"]`; None for anything else."""
    value = node.value
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute):
        return value.attr
    return None


def string_keyed_reads(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
                and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)):
            name = _subscripted_name(node)
            if name is not None and name.lower() in READ_MODEL_NAMES:
                found.append((node.lineno, f'{name}["{node.slice.value}"]'))
    return found


def test_the_check_finds_dict_plumbing_and_leaves_real_dicts_alone():
    source = ('a = detail["status"]\nb = self.report["total"]\nc = STATE_STYLE["dead"]\n'
              'd = written["summary"]\ndetail = {"status": "x"}\ne = detail.status\n')
    assert string_keyed_reads(source) == [(1, 'detail["status"]'), (2, 'report["total"]')]


def test_screens_widgets_and_reports_read_typed_models_by_attribute():
    found = {}
    for folder in READERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            reads = string_keyed_reads(path.read_text())
            if reads:
                found[str(path.relative_to(REPO))] = reads
    assert found == {}, f"read the typed read model by attribute (store/read_models, reports/report_model.py): {found}"
