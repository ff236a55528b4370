"""Customer satisfaction, pure: the score check shared by `csat` and the import, the
month's mean and its change in points, and the report's line in the spec's words."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest

from playbooks.errors import PolicyValueError
from reports.monthly import build_period_report
from reports.periods import parse_month, parse_year
from reports.report_formats import satisfaction_line
from reports.report_model import CustomerSatisfaction, PeriodReport
from reports.statistics import satisfaction
from store.reporting import EMPTY, PeriodTotals
from store.satisfaction import checked_score, score_problem, score_text

NO_SCORES = PeriodTotals(4, None, None, None)  # incidents, none of them scored


def previous(mean: float | None, scored: int) -> PeriodTotals:
    return PeriodTotals(scored + 1, None, None, None, mean, scored)


@pytest.mark.parametrize("given,kept", [
    ("4.5", 4.5), ("1", 1.0), ("5", 5.0), (" 3.25 ", 3.25), ("4.567", 4.57), ("1.0000001", 1.0), (4, 4.0),
    (2.5, 2.5), ("５", 5.0),  # a full-width digit is still the number five
])
def test_a_score_from_1_to_5_is_kept_to_two_decimals(given, kept):
    assert checked_score(given) == kept


@pytest.mark.parametrize("given,problem", [
    ("0.99", "is out of range"), ("5.001", "is out of range"), ("-4", "is out of range"), ("0", "is out of range"),
    ("nan", "is not a finite number"), ("-inf", "is not a finite number"), ("1e400", "is not a finite number"),
    ("four", "is not a number"), ("4,5", "is not a number"), ("", "is not a number"), ("0x4", "is not a number"),
    (True, "is not a number"), (None, "is not a number"), (10**400, "is out of range"),
])
def test_anything_else_is_one_sentence_naming_what_is_accepted(given, problem):
    with pytest.raises(PolicyValueError) as refused:
        checked_score(given)
    message = str(refused.value)
    assert message == f"customer satisfaction {given!r} {problem}; accepted: a number from 1.0 to 5.0, like 4.2"
    assert len(message.splitlines()) == 1


def test_score_problem_takes_json_values_as_they_are():
    """The import's check: numbers only (a string or a boolean is not a score there)."""
    assert score_problem(4) is None and score_problem(1.0) is None and score_problem(5) is None
    assert score_problem("4").startswith("is not a number")
    assert score_problem(False).startswith("is not a number")
    assert score_problem(math.nan).startswith("is not a finite number")
    assert score_problem(5.5).startswith("is out of range")


@pytest.mark.parametrize("score,text", [(4.5, "4.5/5.0"), (4.0, "4.0/5.0"), (4.25, "4.25/5.0"), (1.0, "1.0/5.0")])
def test_score_text(score, text):
    assert score_text(score) == text


def test_mean_and_change_against_the_previous_month():
    figure = satisfaction([4.0, 4.5, 4.1], previous(3.9, 2), "2023-12")
    assert figure == {"mean": 4.2, "scored_incidents": 3, "previous_mean": 3.9, "change": 0.3, "vs": "2023-12"}


def test_the_change_is_taken_before_rounding():
    # 4.333.. - 3.666.. = 0.666.. -> 0.67; the rounded means (4.33 - 3.67) would give 0.66.
    figure = satisfaction([4.0, 4.5, 4.5], previous(11 / 3, 3), "2023-12")
    assert (figure["mean"], figure["previous_mean"], figure["change"]) == (4.33, 3.67, 0.67)


def test_no_score_this_month_or_last():
    assert satisfaction([], previous(3.9, 2), "2023-12") == {
        "mean": None, "scored_incidents": 0, "previous_mean": 3.9, "change": None, "vs": "2023-12"}
    assert satisfaction([3.0], NO_SCORES, "2023-12") == {
        "mean": 3.0, "scored_incidents": 1, "previous_mean": None, "change": None, "vs": "2023-12"}


def report(figure: dict, month: str = "2024-01") -> PeriodReport:
    return replace(build_period_report(parse_month(month), [EMPTY], NO_SCORES, []),
                   customer_satisfaction=CustomerSatisfaction(**figure))


def test_the_line_is_the_spec_line():
    figure = satisfaction([4.0, 4.5, 4.1], previous(3.9, 2), "2023-12")
    assert satisfaction_line(report(figure)) == "Customer satisfaction: 4.2/5.0 (+0.3 vs. December 2023)"


def test_a_fall_has_a_minus_and_no_change_is_plus_zero():
    down = satisfaction([3.5], previous(4.25, 4), "2023-12")
    assert satisfaction_line(report(down)) == "Customer satisfaction: 3.5/5.0 (-0.8 vs. December 2023)"
    same = satisfaction([4.0, 4.2], previous(4.1, 1), "2023-12")
    assert satisfaction_line(report(same)) == "Customer satisfaction: 4.1/5.0 (+0.0 vs. December 2023)"
    # A change that rounds to zero from below is not shown as "-0.0".
    tiny = satisfaction([4.0, 4.18], previous(4.1, 1), "2023-12")
    assert tiny["change"] == -0.01
    assert satisfaction_line(report(tiny)) == "Customer satisfaction: 4.1/5.0 (+0.0 vs. December 2023)"


def test_without_a_previous_score_the_change_is_left_out():
    figure = satisfaction([4.0, 4.5], NO_SCORES, "2023-12")
    assert satisfaction_line(report(figure)) == "Customer satisfaction: 4.2/5.0"


def test_without_a_score_it_says_so():
    figure = satisfaction([], previous(3.9, 2), "2024-01")
    assert satisfaction_line(report(figure, "2024-02")) == (
        "Customer satisfaction: no scores recorded for the incidents of February 2024")


def test_a_year_compares_with_the_year_before():
    figure = satisfaction([4.0], previous(3.5, 10), "2023")
    year = replace(build_period_report(parse_year("2024"), [EMPTY] * 12, NO_SCORES, []),
                   customer_satisfaction=CustomerSatisfaction(**figure))
    assert satisfaction_line(year) == "Customer satisfaction: 4.0/5.0 (+0.5 vs. 2023)"
