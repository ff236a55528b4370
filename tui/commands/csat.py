"""`incident-response csat`: record the customer satisfaction score of an incident.

  incident-response csat ID SCORE [--as NAME]      SCORE: a number from 1.0 to 5.0, like 4.2

The monthly report gives the mean of the month's scores and its change against the
previous month. Recording one is a timeline event (who, when, the score before), so
`audit verify` covers it; a closed incident takes a score too (surveys come back later).
"""
from __future__ import annotations

import argparse

HELP = {"csat": "record an incident's customer satisfaction score (1.0 to 5.0) for the monthly report"}


def add_arguments(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id")
    parser.add_argument("score", help="a number from 1.0 to 5.0, like 4.2")


def run(name: str, ctx, args: argparse.Namespace) -> int:
    from store.satisfaction import checked_score, record_satisfaction, score_text

    score = checked_score(args.score)  # a bad score is refused before a database is opened
    recorded = record_satisfaction(ctx.store, args.id, score, actor=ctx.actor)
    if not recorded.changed:
        print(f"No change: {recorded.incident_id} already has customer satisfaction {score_text(recorded.score)}")
        return 0
    was = f" (was {score_text(recorded.previous)})" if recorded.previous is not None else ""
    print(f"{recorded.incident_id} customer satisfaction {score_text(recorded.score)}{was}, recorded by {ctx.actor}")
    return 0
