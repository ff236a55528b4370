"""Issue 13, acceptance 5 (config): every table of config.toml refuses a key it does not know
and a number that is not finite, in one sentence naming the key and the file; a document
nested past any sane depth is one sentence too, never an internal error.

Documents start from the full example (`incident-response init`'s template, every table
set) and one table is changed: a drawn unknown key added, or one of its number keys set to
nan/inf/-inf."""
from __future__ import annotations

import math
import tomllib
import typing
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from playbooks.config import load_configuration, parse_configuration
from playbooks.errors import PlaybookError
from reports.configuration import example_toml, keys, tables
from tests.properties.common import property_settings

SETTINGS = property_settings(150)
EXAMPLE = tomllib.loads(example_toml())


def _split(dotted: str) -> list[str]:
    """"groups.Executive Team" -> ["groups", "Executive Team"]: a map's NAME is one part."""
    head, _, rest = dotted.partition(".")
    if head in ("contacts", "groups", "environments") and rest:
        return [head, rest]
    return dotted.split(".")


def _at(document: dict, dotted: str) -> dict | None:
    """The table at `dotted` in the example (a map's first entry for NAME), or None."""
    node: typing.Any = document
    for part in _split(dotted):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, list):
        node = node[0] if node and isinstance(node[0], dict) else None
    return node if isinstance(node, dict) else None


def _paths() -> list[tuple[str, type]]:
    """Every table of the model with a place in the example document; for a map
    ([contacts.NAME], [environments.NAME]...) its first example entry."""
    found = []
    for dotted, header, cls in tables():
        table = _at(EXAMPLE, dotted)
        if table is not None and header.endswith(".NAME]"):
            if not table:
                continue
            first = next(iter(table))
            dotted, table = f"{dotted}.{first}", table[first]
        if isinstance(table, dict):
            found.append((dotted, cls))
    return found


TABLES = _paths()
NUMBER_KEYS = [(dotted, name) for dotted, cls in TABLES for name, info in keys(cls)
               if float in typing.get_args(info.annotation) or info.annotation in (float, int)
               or int in typing.get_args(info.annotation)]


def test_the_example_reaches_every_kind_of_table():
    assert len(TABLES) >= 25 and NUMBER_KEYS  # the property below covers them, not a handful


def _copy_with(dotted: str, key: str, value) -> dict:
    import copy

    document = copy.deepcopy(EXAMPLE)
    table = _at(document, dotted)
    assert table is not None, dotted
    table[key] = value
    return document


def _one_sentence(exc: PlaybookError, key: str, where: str) -> str:
    text = str(exc)
    assert "\n" not in text and text.startswith(where) and "accepted:" in text, text
    assert key in text, (key, text)
    return text


@SETTINGS
@given(table=st.sampled_from(TABLES), key=st.from_regex(r"[a-z][a-z0-9_]{0,20}", fullmatch=True))
def test_an_unknown_key_in_any_table_is_one_sentence_naming_it(table, key):
    dotted, cls = table
    if key in cls.model_fields:
        return  # a known key: not this property
    document = _copy_with(dotted, key, "x")
    with pytest.raises(PlaybookError) as raised:
        parse_configuration(document, Path("config.toml"))
    _one_sentence(raised.value, key, "config.toml")


@SETTINGS
@given(number=st.sampled_from(NUMBER_KEYS), value=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_non_finite_number_in_any_table_is_refused_naming_the_key(number, value):
    dotted, key = number
    document = _copy_with(dotted, key, value)
    with pytest.raises(PlaybookError) as raised:
        parse_configuration(document, Path("config.toml"))
    _one_sentence(raised.value, key, "config.toml")


@pytest.mark.parametrize("depth", [100, 5000, 100_000])
def test_a_deeply_nested_document_is_one_sentence(tmp_path, depth):
    path = tmp_path / "config.toml"
    path.write_text("x = " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(PlaybookError) as raised:
        load_configuration(path)
    text = str(raised.value)
    assert "\n" not in text and text.startswith(str(path)) and "accepted:" in text
