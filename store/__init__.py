"""Incident state: SQLModel tables, the database, operations, audit chain. No textual."""
