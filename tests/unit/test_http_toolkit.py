"""The shared HTTP toolkit (integrations/http.py): one reading of a vendor's answer for every notifier."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from integrations import http as toolkit
from integrations.http import (delivery_for, is_retryable, json_or_none, parse_retry_after, reply_reason,
                               request_or_retry, sanitize)
from integrations.notifier import Delivery

SECRET = "s3cr3t-token-0123456789"


def answer(status: int, body: bytes | str = b"", *, content_type: str = "application/json",
           headers: dict[str, str] | None = None) -> httpx.Response:
    data = body.encode() if isinstance(body, str) else body
    return httpx.Response(status, content=data, headers={"content-type": content_type, **(headers or {})},
                          request=httpx.Request("POST", "http://127.0.0.1:9/hook"))


def outcome(status: int, body: str = "", **kwargs) -> Delivery:
    return delivery_for(answer(status, body, headers=kwargs.pop("headers", None)), vendor="Teams",
                        what="the declared card for INC-1", sent="Teams accepted the card.",
                        secrets=[SECRET], **kwargs)


# -- status -> outcome ----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_2xx_is_sent_with_the_callers_detail_and_reference(status):
    delivery = outcome(status, reference="thread-1")
    assert delivery == Delivery("sent", "Teams accepted the card.", reference="thread-1")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_408_429_and_5xx_are_retried(status):
    delivery = outcome(status)
    assert delivery.outcome == "retry"
    assert str(status) in delivery.detail and "INC-1" in delivery.detail


@pytest.mark.parametrize("status", [400, 404, 405, 409, 413, 415, 422])
def test_other_4xx_are_rejected_with_the_vendors_reason(status):
    delivery = outcome(status, '{"error": {"code": "InvalidRequestContent", "message": "The card is invalid."}}')
    assert delivery.outcome == "rejected"
    assert delivery.detail == f"Teams rejected the declared card for INC-1 ({status}): The card is invalid."
    assert delivery.retry_after is None


@pytest.mark.parametrize("status,kind", [(401, "credentials"), (403, "permission")])
def test_401_and_403_are_rejected_naming_what_to_check(status, kind):
    delivery = outcome(status, credentials="TEAMS_WEBHOOK_URL")
    assert delivery == Delivery("rejected", f"Teams refused the {kind} ({status}) for the declared card for INC-1; "
                                            "check TEAMS_WEBHOOK_URL.")


def test_a_redirect_is_retried_naming_the_url_setting():
    delivery = outcome(302, setting="integrations.teams.webhook_url_env")
    assert delivery.outcome == "retry"
    assert delivery.detail.endswith("check integrations.teams.webhook_url_env.")


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_is_honoured(status):
    assert outcome(status, headers={"Retry-After": "17"}).retry_after == 17.0


def test_retry_after_as_an_http_date_is_honoured():
    when = datetime.now(timezone.utc) + timedelta(seconds=120)
    delay = outcome(429, headers={"Retry-After": format_datetime(when, usegmt=True)}).retry_after
    assert delay is not None and 100 <= delay <= 120


def test_no_retry_after_means_the_outboxs_own_backoff():
    assert outcome(503).retry_after is None


def test_a_reason_the_caller_read_is_used_instead_of_the_body():
    delivery = outcome(400, '{"message": "ignored"}', reason="21211 Invalid 'To' Phone Number")
    assert delivery.detail.endswith("(400): 21211 Invalid 'To' Phone Number.")


def test_is_retryable_matches_delivery_for():
    for status in range(300, 600):
        retried = delivery_for(answer(status), vendor="V", what="w", sent="s").outcome == "retry"
        assert is_retryable(status) == retried, status


# -- Retry-After ----------------------------------------------------------------------------------

def test_parse_retry_after_reads_seconds_and_dates():
    now = datetime(2024, 1, 18, 15, 0, tzinfo=timezone.utc)
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "nan", "inf", "Thu, 99 Foo 2024"])
def test_parse_retry_after_gives_none_for_what_it_cannot_read(value):
    assert parse_retry_after(value) is None


def test_negative_seconds_mean_now():
    assert parse_retry_after("-5") == 0.0


def test_pagerduty_still_exports_the_same_parse_retry_after():
    from integrations import pagerduty

    assert pagerduty.parse_retry_after is toolkit.parse_retry_after


# -- what a vendor said, fit for a detail ---------------------------------------------------------

def test_sanitize_removes_secrets_control_characters_and_line_breaks():
    text = f"bad token {SECRET}\nsecond line\r\x1b[31mred\x07 \u2028next."
    cleaned = sanitize(text, [SECRET])
    assert SECRET not in cleaned
    assert cleaned == "bad token [redacted] second line [31mred next"
    assert "\x1b" not in cleaned and "\n" not in cleaned


def test_sanitize_redacts_a_secret_that_contains_another_whole():
    url = "https://hooks.example/workflows/abc?sig=XYZ123"
    assert sanitize(f"posting to {url} failed", ["XYZ123", url]) == "posting to [redacted] failed"


def test_sanitize_is_bounded():
    cleaned = sanitize("x" * 5000)
    assert len(cleaned) == toolkit.DETAIL_MAX and cleaned.endswith("\u2026")
    assert len(sanitize("y" * 100, limit=10)) == 10


def test_sanitize_ignores_empty_secrets():
    assert sanitize("nothing secret here", ["", "  "]) == "nothing secret here"


def test_reply_reason_reads_the_usual_error_shapes():
    assert reply_reason(answer(400, '{"error": {"code": "X", "message": "Card too big"}}')) == "Card too big"
    assert reply_reason(answer(400, '{"code": 21211, "message": "Invalid To"}')) == "Invalid To"
    assert reply_reason(answer(400, '{"errors": ["one", "two"]}')) == "one; two"
    assert reply_reason(answer(400, '{"errorMessages": ["Issue does not exist"]}')) == "Issue does not exist"
    assert reply_reason(answer(400, '{"code": 20003}')) == "20003"
    assert reply_reason(answer(400, "plain words", content_type="text/plain")) == "plain words"
    assert reply_reason(answer(502, "<html><b>Bad gateway</b></html>", content_type="text/html")) == ""
    assert reply_reason(answer(400, '{"unrelated": true}')) == ""


def test_a_vendors_reply_with_the_secret_never_reaches_the_detail():
    delivery = outcome(400, '{"message": "token %s is not valid\\nat line 2"}' % SECRET)
    assert SECRET not in delivery.detail and "\n" not in delivery.detail
    assert "[redacted]" in delivery.detail


def test_json_or_none():
    assert json_or_none(answer(200, '{"a": 1}')) == {"a": 1}
    assert json_or_none(answer(200, "not json", content_type="text/plain")) is None
    assert json_or_none(answer(200, b"\xff\xfe\xfa", content_type="application/json")) is None
    assert json_or_none(answer(200, "")) is None


# -- the network ----------------------------------------------------------------------------------

def test_request_or_retry_is_the_notifiers_own():
    from integrations import notifier

    assert request_or_retry is notifier.request_or_retry


def test_network_trouble_is_a_retry_naming_the_setting():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as client:
        delivery = request_or_retry(client, "POST", "http://127.0.0.1:9/hook", vendor="Teams",
                                    setting="TEAMS_WEBHOOK_URL", what="declared card")
    assert delivery == Delivery("retry", "Could not reach Teams for the declared card (ConnectError).")
    with httpx.Client(transport=httpx.MockTransport(slow)) as client:
        delivery = request_or_retry(client, "POST", "http://127.0.0.1:9/hook", vendor="Teams",
                                    setting="TEAMS_WEBHOOK_URL", what="declared card")
    assert delivery == Delivery("retry", "Teams did not answer the declared card in time.")
    with httpx.Client() as client:
        delivery = request_or_retry(client, "POST", "http://\x00host/", vendor="Teams",
                                    setting="TEAMS_WEBHOOK_URL", what="declared card")
    assert delivery.outcome == "retry" and "TEAMS_WEBHOOK_URL" in delivery.detail
