"""Typed read models: what the store's reads hand to screens, reports and the CLI.

Frozen dataclasses with real datetimes, built by the store's queries and turned into JSON
only at `--json` and exports (each has `as_json()`). This package imports no SQLAlchemy or
SQLModel, so a widget may take these types without loading the database layer on the paint
path (tests/unit/test_house.py).
"""
