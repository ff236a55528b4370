"""Issue 12, the engineer's words end to end: a status update typed at the shell reaches
Statuspage, Slack, e-mail and the signed webhook word for word — the text, Affected and Next
Update — through the real `watch` process delivering the outbox (each side of that seam was
tested alone before, and Statuspage got its stock sentence)."""
from __future__ import annotations

import email
import json
import os
import signal
import sys
import time
from email import policy as email_policy
from pathlib import Path

from reports.configuration import toml_key, toml_value
from tests.integrations.test_comms_end_to_end import every_channel, vendors  # noqa: F401 (a fixture)
from tests.support import lifetime, statuspage_fake

IR = str(Path(sys.executable).parent / "incident-response")
NOW = "2024-01-18T15:00:00Z"  # SEV-1 updates every 30 minutes: the next one is due 15:30
WORDS = "Fix deployed, monitoring recovery"
AFFECTED = "All users"
PUBLISHED = f"{WORDS}\n\nAffected: {AFFECTED}\nNext Update: 2024-01-18 15:30 UTC"


def toml_of(config: dict) -> str:
    """config.toml for a dict of {section: {name: table}} (integrations, contacts, groups)."""
    lines = []
    for section, named in config.items():
        for name, table in named.items():
            lines.append(f"[{section}.{toml_key(name)}]")
            lines += [f"{toml_key(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n[sources.host]\nenabled = false\n"


def ir(*args, env):
    result = lifetime.run([IR, *args], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_status_update_typed_at_the_shell_arrives_word_for_word(vendors, tmp_path):  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text(toml_of(every_channel(vendors)))
    env = dict(os.environ, IR_CONFIG=str(config), IR_NOW=NOW,
               IR_DATABASE_URL=f"sqlite:///{tmp_path / 'incidents.db'}")
    incident = ir("critical", "outage", "production", "--title", "Checkout down", "--service", "checkout",
                  "--no-tui", env=env).strip()
    ir("update", incident, WORDS, "--affected", AFFECTED, env=env)

    page = vendors["statuspage"]
    watch = lifetime.popen([IR, "watch", "--seconds", "60"], env=env, stdout=lifetime.subprocess.PIPE,
                           stderr=lifetime.subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            published = [u["body"] for i in page.incidents.values() for u in i["incident_updates"]]
            if PUBLISHED in published and len(vendors["smtp"].mailbox.envelopes) >= 2 \
                    and any(json.loads(r["body"]).get("event") == "status_update"
                            for r in vendors["webhook"].requests):
                break
            time.sleep(0.1)
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.communicate(timeout=30)

    # Statuspage: the public incident's update is the engineer's text, Affected and Next Update.
    (public,) = page.incidents.values()
    # Named by the outage playbook's public headline; the internal title stays inside.
    assert public["name"] == "Service Outage"
    assert not any("Checkout down" in json.dumps(request["body"]) for request in page.requests)
    assert public["incident_updates"][0]["body"] == PUBLISHED
    assert public["page_id"] == statuspage_fake.PAGE_ID

    # Slack: the update message carries the same words.
    slack_texts = [json.dumps(body) for _path, body in vendors["slack"].api_calls]
    assert any(json.dumps(PUBLISHED)[1:-1] in text for text in slack_texts), slack_texts

    # E-mail: each group's message body holds the same block.
    bodies = [email.message_from_bytes(envelope.original_content, policy=email_policy.default)
              .get_body(("plain",)).get_content().replace("\r\n", "\n")  # SMTP's line ends
              for envelope in vendors["smtp"].mailbox.envelopes]
    updates = [body for body in bodies if "Event: status update" in body]
    assert updates and all(PUBLISHED in body for body in updates), bodies

    # The signed webhook: the words as fields of their own.
    hooks = [json.loads(request["body"]) for request in vendors["webhook"].requests if request["valid"]]
    updates = [hook["payload"] for hook in hooks if hook["event"] == "status_update"]
    assert updates  # one per group the webhook carries (Security Team, Legal/Compliance)
    assert {(u["message"], u["affected"], u["next_update_due_at"]) for u in updates} == {
        (WORDS, AFFECTED, "2024-01-18T15:30:00Z")}
