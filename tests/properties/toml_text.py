"""TOML documents for property tests: a small writer (the standard library only reads TOML),
strategies for random values and documents, and mutations of real files.

The writer puts every top-level key on its own line and nests with inline tables, which
TOML reads back as the same data. Values TOML cannot hold (a lone surrogate, an integer
past 64 bits) are still written: the document is then broken, which is one more hostile
input.
"""
from __future__ import annotations

import copy
import math
from datetime import date, datetime, time
from typing import Any

from hypothesis import strategies as st


def _string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_string(str(k))} = {value_text(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def dumps(document: dict[str, Any]) -> str:
    return "".join(f"{_string(str(key))} = {value_text(value)}\n" for key, value in document.items())


# -- random values --------------------------------------------------------------------------
WEIRD_STRINGS = [
    "", " ", "0m", "-5m", "0s", "59s", "1m", "1h30", "1.5h", "15", "3650d", "3651d", "99999999999w", "1e400h",
    "Mars/Olympus", "../../../etc/localtime", "UTC", "Europe/Berlin", "25:00", "09:00+02:00", "17:00",
    "SEV-1", "SEV-5", "sev1", "critical", "wall", "business_days", "business_hours", "any", "all", "mon", "sun",
    "personal_data", "GDPR", "{service}", "{unknown}", "x\ny", "\x1b[31m", "\u2028", "名前", "🔥", "a" * 300,
    "metric > 5", "error_rate > 5% for 5m", "create_incident(critical)", "notify(", "choice", "ip", "int",
]
EXTREME_NUMBERS = [0, -1, 1, 2**31, 2**63 - 1, -(2**63), 10**30, 1e308, -1e308, float("nan"), float("inf"), 0.5]
SCALARS = st.one_of(
    st.sampled_from(WEIRD_STRINGS),
    st.text(max_size=20),
    st.sampled_from(EXTREME_NUMBERS),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
)
KEY = st.one_of(st.text(max_size=12), st.sampled_from(["id", "name", "type", "levels", "aliases", "within",
                                                       "clock", "phases", "steps", "rules", "enabled", "url"]))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEY, inner, max_size=4),
    max_leaves=12,
)


def documents(keys=KEY) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(keys, VALUES, max_size=6)


# -- mutations of real data -------------------------------------------------------------------
def _slots(node: Any, into: list) -> list:
    """Every (container, key) pair in a parsed document, depth first."""
    if isinstance(node, dict):
        for key in list(node):
            into.append((node, key))
            _slots(node[key], into)
    elif isinstance(node, list):
        for index in range(len(node)):
            into.append((node, index))
            _slots(node[index], into)
    return into


@st.composite
def mutated(draw, original: dict[str, Any], values: st.SearchStrategy = VALUES, keys: st.SearchStrategy = KEY,
            extremes: list | None = None) -> dict[str, Any]:
    """The document with one to three edits: a key dropped, a value of another type or out
    of range, an unknown key added, a list emptied or an item repeated. `values`, `keys`
    and `extremes` default to TOML's; pass JSON ones for a JSON document."""
    extremes = EXTREME_NUMBERS + WEIRD_STRINGS if extremes is None else extremes
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data, [])
        if not slots:
            break
        container, key = slots[draw(st.integers(0, len(slots) - 1))]
        action = draw(st.sampled_from(["drop", "replace", "replace", "extreme", "unknown", "empty", "repeat"]))
        if action == "drop":
            del container[key]
        elif action == "replace":
            container[key] = draw(values)
        elif action == "extreme":
            container[key] = draw(st.sampled_from(extremes))
        elif action == "unknown":
            target = container[key] if isinstance(container[key], dict) else container
            if isinstance(target, dict):
                target[draw(keys)] = draw(values)
            else:
                target.append(draw(values))
        elif action == "empty":
            container[key] = type(container[key])() if isinstance(container[key], (list, dict, str)) else None
            if container[key] is None:
                del container[key]
        elif action == "repeat" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return data


SNIPPETS = [b"[", b"]", b"=", b'"', b"'''", b"\n[[levels]]\n", b"\xff\xfe", b"\x00", b"key = ", b"\n", b"\r",
            b"\n[calendar]\n", b"\ninvalid line\n", b"{", b"}", b",", b"#", b"\\", b"\x1b", "é".encode("latin-1")]


@st.composite
def broken_bytes(draw, original: bytes) -> bytes:
    """The file's bytes cut short, with a snippet inserted, a line repeated or removed, or
    bytes that are not UTF-8."""
    action = draw(st.sampled_from(["truncate", "insert", "insert", "repeat_line", "drop_line", "latin1"]))
    position = draw(st.integers(0, len(original)))
    if action == "truncate":
        return original[:position]
    if action == "insert":
        return original[:position] + draw(st.sampled_from(SNIPPETS) | st.binary(max_size=8)) + original[position:]
    lines = original.split(b"\n")
    index = draw(st.integers(0, len(lines) - 1))
    if action == "repeat_line":
        lines.insert(index, lines[index])
        return b"\n".join(lines)
    if action == "drop_line":
        del lines[index]
        return b"\n".join(lines)
    return original[:position] + b"\xe9\xff" + original[position:]
