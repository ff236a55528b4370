"""The tables a backup holds and how each column's values are written as JSON and read back.

Values: datetimes are naive UTC written as ISO 8601 with microseconds and a Z
("2024-01-18T14:30:00.000000Z"); floats are written exactly (shortest repr; NaN and
infinities as the strings "NaN", "Infinity", "-Infinity"); text as is; null is null.
Both JSON forms (JSON Lines, and the older single document) use these encodings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterator

from sqlalchemy import Table
from sqlalchemy import types as sqltypes
from sqlmodel import SQLModel

BATCH = 1000
# The schema version row is the target's own (it is already at the program's version);
# a backup's version is its header's (JSON) or its schema_version row (SQLite).
KEPT_BY_TARGET = frozenset({"schema_version"})


def schema_tables() -> list[Table]:
    """Every table of the schema, parents before children (new models are included as they appear)."""
    import store.models  # noqa: F401 - registers every table on SQLModel.metadata

    return list(SQLModel.metadata.sorted_tables)


def base_type(column) -> sqltypes.TypeEngine:
    kind = column.type
    while isinstance(kind, sqltypes.TypeDecorator):
        kind = kind.impl_instance
    return kind


def pk_order(table: Table) -> list:
    return list(table.primary_key.columns) or list(table.columns)


def value_kind(column) -> str:
    """The JSON forms' name for a column's type."""
    kind = base_type(column)
    # Order matters: DateTime before Date, Boolean and Float before the broader classes.
    for cls, name in ((sqltypes.DateTime, "datetime"), (sqltypes.Date, "date"), (sqltypes.Boolean, "boolean"),
                      (sqltypes.Integer, "integer"), (sqltypes.Float, "float"), (sqltypes.JSON, "json"),
                      (sqltypes.String, "string"), (sqltypes.NullType, "string")):
        if isinstance(kind, cls):
            return name
    raise TypeError(f"column {column.table.name}.{column.name} has type {kind!r}, which the backup cannot write")


@dataclass
class TableRows:
    """One table as a JSON backup holds it: its columns, their kinds, and its rows as lists
    in column order (read lazily, so a big table never sits in memory)."""
    name: str
    columns: list[str]
    kinds: list[str]
    rows: Iterator[list]


def encoder(kind: str) -> Callable[[Any], Any]:
    if kind == "datetime":
        def encode_datetime(value):
            if value is None:
                return None
            if value.tzinfo is not None:
                value = value.astimezone(timezone.utc).replace(tzinfo=None)
            return value.isoformat(timespec="microseconds") + "Z"
        return encode_datetime
    if kind == "date":
        return lambda value: None if value is None else value.isoformat()
    if kind == "float":
        def encode_float(value):
            if value is None or math.isfinite(value):
                return value
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return encode_float
    if kind == "boolean":
        return lambda value: None if value is None else bool(value)
    return lambda value: value


class BadValue(ValueError):
    """A value that is not of its column's kind; the message is the tail of a sentence."""


def decoder(kind: str) -> Callable[[Any], Any]:
    def check(ok: bool, value: Any, what: str) -> None:
        if not ok:
            raise BadValue(f"holds {value!r}, not {what}")

    if kind == "datetime":
        def decode_datetime(value):
            if value is None:
                return None
            check(isinstance(value, str), value, "an ISO 8601 time")
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise BadValue(f"holds {value!r}, not an ISO 8601 time") from None
            if moment.tzinfo is not None:
                moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
            return moment
        return decode_datetime
    if kind == "date":
        def decode_date(value):
            if value is None:
                return None
            try:
                return date.fromisoformat(value)
            except (TypeError, ValueError):
                raise BadValue(f"holds {value!r}, not a date") from None
        return decode_date
    if kind == "integer":
        def decode_integer(value):
            check(value is None or (isinstance(value, int) and not isinstance(value, bool)), value, "a whole number")
            return value
        return decode_integer
    if kind == "float":
        def decode_float(value):
            if value is None:
                return None
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return float(value)
            check(isinstance(value, (int, float)) and not isinstance(value, bool), value, "a number")
            return float(value)
        return decode_float
    if kind == "boolean":
        def decode_boolean(value):
            check(value is None or isinstance(value, bool), value, "true or false")
            return value
        return decode_boolean
    if kind == "string":
        def decode_string(value):
            check(value is None or isinstance(value, str), value, "text")
            return value
        return decode_string
    if kind == "json":
        return lambda value: value
    raise BadValue(f"has the unknown type {kind!r}")
