"""Issue 12, acceptance 1 (TUI): a status update typed in the war room's composer reaches the
stand-in vendors word for word — the text, Affected and Next Update on Statuspage, Slack and
e-mail; the members' numbers on SMS — and the composer said who would get it before it posted.
The public page is named by the playbook's headline unless the engineer typed another."""
from __future__ import annotations

import json
from email import message_from_bytes, policy as email_policy

from automation.delivery import Deliverer
from automation.notifiers import notifiers_from_config
from automation.routing import route_by_matrix
from playbooks.config import parse_configuration
from tests.integrations.test_comms_end_to_end import EXECUTIVE_SMS, ONCALL, every_channel, vendors  # noqa: F401
from tests.tui.conftest import settle, text_of

WORDS = "Fix deployed, monitoring recovery"
AFFECTED = "All users"
# SEV-1 updates every 30 minutes: posted at the frozen 14:30, the next is due 15:00.
PUBLISHED = f"{WORDS}\n\nAffected: {AFFECTED}\nNext Update: 2024-01-18 15:00 UTC"


def routed(tui_store, vendors):
    configuration = parse_configuration(every_channel(vendors))
    notifiers = notifiers_from_config(configuration)
    tui_store.router = route_by_matrix(tui_store.policy, set(notifiers), configuration)
    return Deliverer(tui_store, notifiers, timeout=5)


async def compose(pilot, *, headline: str | None = None) -> str:
    """u, then type as a person does: replace the prefilled words, tab back to Affected."""
    from tui.screens.update_composer import UpdateComposer

    await pilot.press("u")
    await settle(pilot)
    composer = pilot.app.screen
    assert isinstance(composer, UpdateComposer)
    audience = text_of(composer.query_one("#audience"))
    await pilot.press("f7", *WORDS)            # select the template's words and type over them
    await pilot.press("shift+tab", *AFFECTED)   # Affected
    if headline is not None:
        await pilot.press("shift+tab", "ctrl+u", *headline)  # the public headline, cleared and typed
    await pilot.press("ctrl+s")
    await settle(pilot)
    return audience


async def test_an_update_typed_in_the_composer_arrives_word_for_word(make, tui_store, vendors):  # noqa: F811
    deliverer = routed(tui_store, vendors)
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down",
                                 service="checkout")
    deliverer.deliver_due()
    vendors["twilio"].messages.clear()
    app = make(open_incident=incident.id)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        audience = await compose(pilot)
    # Before posting, the composer named who gets it (groups sharing Slack as one message).
    assert "Engineering Leads, Customer Support: slack" in audience
    assert "External Customers: statuspage" in audience
    assert "Executive Team, On-Call Engineers: sms" in audience
    deliverer.deliver_due()

    page = vendors["statuspage"]
    (public,) = page.incidents.values()
    assert public["incident_updates"][0]["body"] == PUBLISHED
    assert public["name"] == "Service Outage"  # the playbook's headline: the title stays inside
    assert not any("Checkout down" in json.dumps(request["body"]) for request in page.requests)

    slack = [json.dumps(body) for _path, body in vendors["slack"].api_calls]
    assert any(json.dumps(PUBLISHED)[1:-1] in text for text in slack)

    mails = [message_from_bytes(envelope.original_content, policy=email_policy.default)
             for envelope in vendors["smtp"].mailbox.envelopes]
    updates = [m.get_body(("plain",)).get_content().replace("\r\n", "\n") for m in mails
               if "status update" in m["Subject"]]
    assert updates and all(PUBLISHED in body for body in updates)

    # SMS: the Executive Team's member and the on-call list, each once, with the words.
    texts = vendors["twilio"].messages
    assert sorted(text["to"] for text in texts) == sorted([EXECUTIVE_SMS, *ONCALL])
    assert all(WORDS in text["body"] for text in texts)


async def test_a_headline_the_engineer_types_renames_the_public_page(make, tui_store, vendors):  # noqa: F811
    deliverer = routed(tui_store, vendors)
    incident = tui_store.declare("critical", "outage", "production", actor="alice", title="Checkout down",
                                 service="checkout")
    deliverer.deliver_due()
    app = make(open_incident=incident.id)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await compose(pilot, headline="Checkout errors for some customers")
    deliverer.deliver_due()
    (public,) = vendors["statuspage"].incidents.values()
    assert public["name"] == "Checkout errors for some customers"
    assert public["incident_updates"][0]["body"] == PUBLISHED
