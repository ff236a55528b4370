"""Issue 13, acceptance 1 (documents): stored text is data in every exported document.

An incident is lived through the store, then every text a person, an alert or a restored
backup can put there — the title, service, who declared it, timeline actors and summaries
(notes), role names and holders, checklist steps and who ticked them, remediation, the RCA's
fields, action items, the review's people, notes and lessons — is overwritten straight in
the database (as a teammate with database access or a restore would, past every check) with
hostile text: Rich/Textual markup and click actions, terminal escapes, C1 and bidi controls,
line separators, HTML, Markdown that forges sections and timeline lines.

Then each document is read back as its reader would read it:
- Markdown (handover, RCA, PIR, monthly report) is parsed by a real CommonMark parser
  (markdown-it, tables on): its blocks (headings, lists, items, paragraphs, tables) are
  exactly those of the same document made from plain text, and no link, image, emphasis, code
  or raw HTML beyond that document's own comes from the data; the title reads back exactly as stored (control characters
  shown as their escapes).
- HTML (handover, RCA, PIR, monthly report) is parsed with html.parser: no element or
  attribute that the plain document does not have, the Content-Security-Policy is there and
  allows no script, and the title is shown as text.
- SVG (the war room's snapshot) parses as XML with no element or attribute the plain
  snapshot lacks, and HTML in a title is text in it.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections import Counter
from datetime import datetime
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from sqlalchemy import text as sql

from reports.handover import handover_markdown
from reports.markdown import visible
from reports.monthly import read_monthly_report
from reports.pir import render_pir
from reports.rca import render_rca
from reports.report_formats import render
from store import review
from playbooks.clock import iso_z
from store.database import open_database
from store.operations import IncidentStore
from store.queries import read_incident
from store.review_queries import read_pir, read_rca
from tests.properties.common import property_settings
from tests.support.hostile_text import HOSTILE, hostile_text
from tui.export import handover_html

# A plain value for the reference document: two lines, so the reference has the hard breaks
# a multi-line value makes, and no character Markdown or HTML gives meaning to.
PLAIN = "plain words\nsecond line"
# The slots a drawn text goes into, each a column (or a JSON list/dict column) of one table.
SLOTS = ("title", "service", "declared_by", "actor", "summary", "role", "person", "step", "done_by",
         "remediation", "started_by", "impact", "root_cause", "detail", "factor", "rca_by", "item_title",
         "item_owner", "facilitator", "attendee", "agenda_note", "lesson", "regime", "requirement")
INLINE_MARKUP = {"link_open", "image", "html_inline", "html_block", "code_inline", "code_block", "fence", "em_open",
                 "strong_open", "s_open", "hr"}
CSP = "default-src 'none'"


@pytest.fixture
def lived(tmp_path, policy, clock):
    """An incident with something in every slot, resolved with an RCA, review and an action
    item completed in January 2024 (so the monthly report lists it)."""
    db = open_database(f"sqlite:///{tmp_path / 'documents.db'}")
    store = IncidentStore(db, policy, clock)
    clock.moment = datetime(2024, 1, 18, 14, 30)
    incident = store.declare("critical", "outage", "production", actor="alice", title="Checkout down",
                             service="checkout")
    store.acknowledge(incident.id, actor="bob")
    store.assign_role(incident.id, "incident_commander", "carol", actor="bob")
    store.add_note(incident.id, "Database connection issues identified", actor="bob")
    store.tick(incident.id, ["1"], actor="bob")
    store.start_remediation(incident.id, "Increase the pool", actor="bob")
    clock.moment = datetime(2024, 1, 18, 15, 45)
    store.resolve(incident.id, actor="bob")
    review.update_rca(store, incident.id, actor="carol", root_cause="Pool misconfiguration", add_details=["a detail"],
                      add_factors=["a factor"], impact="all users", customers_affected=10, estimated_cost=100)
    item = review.add_action_item(store, incident.id, "Alert on the pool", actor="carol", category="immediate",
                                  owner="alice", due="2024-01-25")
    review.complete_action_item(store, item.id, actor="alice")
    review.update_review(store, incident.id, actor="carol", scheduled_at="2024-01-22T15:00:00Z", facilitator="erin",
                         add_attendees=["alice"], notes={1: "first notes"}, add_lessons=["a lesson"])
    yield store, incident.id
    db.dispose()


def plant(store: IncidentStore, incident_id: str, texts: dict[str, str]) -> None:
    """Write each slot's text straight into the database, past every check."""
    t = texts.get
    statements = [
        ("UPDATE incident SET title = :title, service = :service, declared_by = :declared_by WHERE id = :id",
         {"title": t("title"), "service": t("service"), "declared_by": t("declared_by")}),
        ("UPDATE timeline_event SET actor = :actor, summary = :summary WHERE incident_id = :id",
         {"actor": t("actor"), "summary": t("summary")}),
        ("UPDATE role_assignment SET role = :role, person = :person WHERE incident_id = :id",
         {"role": t("role"), "person": t("person")}),
        ("UPDATE checklist_step SET text = :step WHERE incident_id = :id", {"step": t("step")}),
        ("UPDATE checklist_step SET done_by = :done_by WHERE incident_id = :id AND done_at IS NOT NULL",
         {"done_by": t("done_by")}),
        ("UPDATE remediation_action SET description = :remediation, started_by = :started_by WHERE incident_id = :id",
         {"remediation": t("remediation"), "started_by": t("started_by")}),
        ("UPDATE root_cause_analysis SET impact = :impact, root_cause = :root_cause, root_cause_details = :details, "
         "contributing_factors = :factors, updated_by = :rca_by WHERE incident_id = :id",
         {"impact": t("impact"), "root_cause": t("root_cause"), "details": json.dumps([t("detail")]),
          "factors": json.dumps([t("factor")]), "rca_by": t("rca_by")}),
        ("UPDATE action_item SET title = :item_title, owner = :item_owner WHERE incident_id = :id",
         {"item_title": t("item_title"), "item_owner": t("item_owner")}),
        ("UPDATE post_incident_review SET facilitator = :facilitator, attendees = :attendees, "
         "agenda_notes = :notes, lessons_learned = :lessons WHERE incident_id = :id",
         {"facilitator": t("facilitator"), "attendees": json.dumps([t("attendee")]),
          "notes": json.dumps({"1": t("agenda_note")}), "lessons": json.dumps([t("lesson")])}),
    ]
    with store.db.write() as session:
        for statement, values in statements:
            session.execute(sql(statement), {**values, "id": incident_id})


def documents(store: IncidentStore, incident_id: str, texts: dict[str, str]) -> dict[str, str]:
    """Every Markdown and HTML document of the incident, as the exports make them."""
    clocks = [{"regime": texts["regime"], "requirement": texts["requirement"], "due_at": "2024-01-21T14:30:00Z"}]
    with store.db.read() as session:
        now = store.now()
        detail = read_incident(session, store.policy, incident_id, now)
        rca = read_rca(session, store.policy, incident_id, now)
        pir = read_pir(session, store.policy, incident_id, now)
    handover = handover_markdown(detail, iso_z(now), clocks)
    report = read_monthly_report(store, "2024-01")
    return {
        "handover.md": handover,
        "handover.html": handover_html(handover, "<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>",
                                       f"Handover {detail.id}"),
        "rca.md": render_rca(rca, "md"), "rca.html": render_rca(rca, "html"),
        "pir.md": render_pir(pir, "md"), "pir.html": render_pir(pir, "html"),
        "monthly.md": render(report, "md"), "monthly.html": render(report, "html"),
    }


# -- reading Markdown back -----------------------------------------------------------------

PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")  # raw HTML on: any would be seen


def markdown_shape(document: str) -> tuple[list[tuple[str, str, int]], Counter]:
    """(the block tokens in order: type, tag, nesting level; the inline markup tokens counted)."""
    tokens = PARSER.parse(document)
    blocks = [(token.type, token.tag, token.level) for token in tokens if token.type != "inline"]
    marks = Counter(child.type for token in tokens if token.type == "inline" for child in token.children or ()
                    if child.type in INLINE_MARKUP)
    marks.update(token.type for token in tokens if token.type in INLINE_MARKUP)
    return blocks, marks


def first_heading_text(document: str) -> str:
    tokens = PARSER.parse(document)
    inline = tokens[tokens.index(next(t for t in tokens if t.type == "heading_open")) + 1]
    return "".join(child.content for child in inline.children if child.type in ("text", "text_special"))


# -- reading HTML back -----------------------------------------------------------------------

class Elements(HTMLParser):
    """The (element, attribute names) pairs of a page, its CSP and the text of its first h1."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.seen: set[tuple[str, tuple[str, ...]]] = set()
        self.csp: list[str] = []
        self.h1: list[str] = []
        self._in_h1 = False
        self._h1_done = False

    def handle_starttag(self, tag, attrs):
        self.seen.add((tag, tuple(sorted(name for name, _ in attrs))))
        values = dict(attrs)
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "content-security-policy":
            self.csp.append(values.get("content") or "")
        if tag == "h1" and not self._h1_done:
            self._in_h1 = True

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "h1" and self._in_h1:
            self._in_h1, self._h1_done = False, True

    def handle_data(self, data):
        if self._in_h1:
            self.h1.append(data)


def read_html(page: str) -> Elements:
    reader = Elements()
    reader.feed(page)
    reader.close()
    return reader


def check_csp(policy_text: str) -> None:
    directives = {part.split()[0]: part.split()[1:] for part in policy_text.split(";") if part.strip()}
    assert directives.get("default-src") == ["'none'"], policy_text
    assert "script-src" not in directives and "'unsafe-eval'" not in policy_text, policy_text


# -- the reference and the property ---------------------------------------------------------

@pytest.fixture
def reference(lived):
    store, incident_id = lived
    plain = dict.fromkeys(SLOTS, PLAIN)
    plant(store, incident_id, plain)
    made = documents(store, incident_id, plain)
    return {name: markdown_shape(text) if name.endswith(".md") else read_html(text).seen
            for name, text in made.items()}


def check_documents(store, incident_id, texts, reference) -> None:
    plant(store, incident_id, texts)
    made = documents(store, incident_id, texts)
    for name, document in made.items():
        if name.endswith(".md"):
            blocks, marks = markdown_shape(document)
            ref_blocks, ref_marks = reference[name]
            assert blocks == ref_blocks, f"{name}: the data changed the document's blocks\n{document}"
            # No markup the plain document lacks (a blank name can only unbold the document's own "**").
            assert not marks - ref_marks, f"{name}: markup from the data: {marks - ref_marks}\n{document}"
        else:
            page = read_html(document)
            extra = page.seen - reference[name]
            assert not extra, f"{name}: elements or attributes from the data: {extra}"
            assert len(page.csp) == 1, f"{name}: no Content-Security-Policy"
            check_csp(page.csp[0])
    # The title reads back as stored (hidden characters as their escapes), in Markdown and HTML.
    title = visible(texts["title"]).strip()
    assert first_heading_text(made["handover.md"]).strip() == f"Handover: {incident_id} — {title}".strip()
    assert first_heading_text(made["rca.md"]).strip() == f"Root Cause Analysis: {incident_id} — {title}".strip()
    for name in ("handover.html", "rca.html", "pir.html"):
        assert title in "".join(read_html(made[name]).h1), name


@property_settings(100)
@given(drawn=st.lists(hostile_text(), min_size=4, max_size=4))
def test_hostile_text_in_every_slot_stays_text_in_markdown_and_html(lived, reference, drawn):
    store, incident_id = lived
    texts = {slot: drawn[i % len(drawn)] for i, slot in enumerate(SLOTS)}
    check_documents(store, incident_id, texts, reference)


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_each_hostile_class_in_every_slot(lived, reference, case):
    store, incident_id = lived
    check_documents(store, incident_id, dict.fromkeys(SLOTS, HOSTILE[case]), reference)


def test_a_multi_line_note_forges_no_section_and_no_timeline_line(lived, reference):
    """The issue's case: a note whose lines look like a heading and a timeline line."""
    store, incident_id = lived
    texts = dict.fromkeys(SLOTS, "x")
    texts["summary"] = "ok\n## Forged section\n- 2024-01-18 14:00 UTC **mallory** forged timeline line"
    check_documents(store, incident_id, texts, reference)
    with store.db.read() as session:
        detail = read_incident(session, store.policy, incident_id, store.now())
    handover = handover_markdown(detail, iso_z(store.now()))
    assert not any(line.startswith("## Forged") for line in handover.splitlines())
    timeline = [line for line in handover.splitlines() if re.match(r"- \d{4}-\d\d-\d\d \d\d:\d\d UTC ", line)]
    assert len(timeline) == len(detail.timeline[-20:])  # one line per event, none forged
    assert "\n  \\## Forged section\\\n" in handover  # the note's line, escaped, under its item


# -- SVG ---------------------------------------------------------------------------------------

def svg_shape(svg: str) -> tuple[set[tuple[str, tuple[str, ...]]], str]:
    root = ElementTree.fromstring(svg)
    shape = {(element.tag, tuple(sorted(element.attrib))) for element in root.iter()}
    return shape, "".join(root.itertext()).replace("\xa0", " ")


def test_the_war_room_svg_parses_with_no_element_from_the_data(lived):
    from tui.export import war_room_svg

    store, incident_id = lived
    plant(store, incident_id, dict.fromkeys(SLOTS, "plain words"))
    plain_shape, _ = svg_shape(war_room_svg(store, incident_id, "tester"))
    cases = sorted(HOSTILE.items())
    texts = {slot: cases[i % len(cases)][1] for i, slot in enumerate(SLOTS)}
    texts["title"] = "<script>alert(1)</script><svg onload=alert(2)>"
    plant(store, incident_id, texts)
    svg = war_room_svg(store, incident_id, "tester")
    shape, shown = svg_shape(svg)
    extra = shape - plain_shape
    assert not extra, f"elements or attributes from the data: {extra}"
    assert not any(tag.rsplit("}", 1)[-1] in ("script", "foreignObject", "a", "image", "use") for tag, _ in shape)
    assert "<script>alert(1)</script><svg onload=alert(2)>" in shown  # the title, as text
