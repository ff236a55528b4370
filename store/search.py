""""This happened before": full-text search over every incident's title, notes, status
updates and root cause analysis, and the past incidents most like a given one.

The index is schema 8's (store/migrations/v0008_incident_search.py): an FTS5 table kept by
triggers on SQLite, GIN indexes over to_tsvector on PostgreSQL. Either way every writer
(the store, import, restore) indexes in its own transaction, so there is nothing to rebuild.
A SQLite without FTS5 is searched with LIKE instead (slow on a large store; `method` says so).

What the user typed is never query syntax: it is cut into words (letters and digits), each
quoted for FTS5 or handed to plainto_tsquery/websearch_to_tsquery, so `"`, `NEAR(`, `-` or
`*` are just text. Results carry stored text as it is; the renderers make it safe.
"""
from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, text
from sqlmodel import Session

from store.errors import StoreError

MAX_WORDS = 24
# The title's and service's words come first; past ten, an any-word query matches most of a
# large store and says little more about likeness.
SIMILAR_WORDS = 10
MAX_LIMIT = 1000
# similar_incidents ranks every text holding any of the incident's words, and ranking costs
# per text: on 100,000 incidents one common word ("replication", a busy service's name) is in
# tens of thousands. It ranks about this many at most (see _distinctive), within a frame.
SIMILAR_RANKED = 1500
SNIPPET_WIDTH = 80
# How much a match in each kind of text counts: a title says what the incident was, a root
# cause what it turned out to be; one note among fifty says less.
KIND_WEIGHT = {"title": 3.0, "rca": 2.0, "update": 1.2, "note": 1.0}
# Words too common to say two incidents are alike (similar_incidents only: a search for
# "the" is what the user asked for).
_COMMON = frozenset("""a an and are as at be been but by for from has have in into is it its no not of on or
our so than that the their then there this to up was we were when with after before all any down
incident issue problem still now""".split())
_WORD = re.compile(r"\w+", re.UNICODE)

_KIND_SOURCES_PG = """
  SELECT i.id AS incident_id, 'title' AS kind, i.title AS body,
         ts_rank(to_tsvector('english', i.title), q.q) * 3.0 AS score
    FROM incident i, q WHERE to_tsvector('english', i.title) @@ q.q
  UNION ALL
  SELECT e.incident_id, 'note', e.summary, ts_rank(to_tsvector('english', e.summary), q.q) * 1.0
    FROM timeline_event e, q WHERE e.kind = 'note' AND to_tsvector('english', e.summary) @@ q.q
  UNION ALL
  SELECT s.incident_id, 'update', s.message, ts_rank(to_tsvector('english', s.message), q.q) * 1.2
    FROM status_update s, q WHERE to_tsvector('english', s.message) @@ q.q
  UNION ALL
  SELECT r.incident_id, 'rca', coalesce(root_cause, '') || ' ' || coalesce(root_cause_details, ''),
         ts_rank(to_tsvector('english', coalesce(root_cause, '') || ' ' || coalesce(root_cause_details, '')), q.q)
         * 2.0
    FROM root_cause_analysis r, q
   WHERE to_tsvector('english', coalesce(root_cause, '') || ' ' || coalesce(root_cause_details, '')) @@ q.q
"""

# The best-ranked pieces of text (at most :pieces), with their incident's row; search_hits
# then sums them per incident. Ranking pieces stays inside the index (FTS5's ORDER BY rank,
# weighted by column; PostgreSQL's ts_rank over the GIN-found rows), so a query matching
# thousands of texts costs about what the index's own ranked query costs.
_PIECE_COLUMNS = "i.severity, i.status, i.title AS incident_title, i.type, i.service"

# On SQLite the ranked part reads nothing but each match's rowid and score: the texts and
# incident ids (stored beside the index, one lookup each) are read for the best pieces only,
# not for every one of thousands of matches. bm25's weights are the table's rank (schema 8)
# by column: title, note, status_update, root_cause — KIND_WEIGHT.
_SQLITE_PIECES = f"""
SELECT t.incident_id, t.kind, coalesce(t.title, t.note, t.status_update, t.root_cause) AS body,
       r.score, {_PIECE_COLUMNS}
  FROM (SELECT rowid, -bm25(incident_text, 3.0, 1.0, 1.2, 2.0) AS score FROM incident_text
         WHERE incident_text MATCH :query ORDER BY score DESC LIMIT :pieces) r
  JOIN incident_text t ON t.rowid = r.rowid
  JOIN incident i ON i.id = t.incident_id
"""

_COUNT = text("SELECT count(*) FROM incident_text WHERE incident_text MATCH :query")
_COUNT_AMONG = text("SELECT count(*) FROM incident_text WHERE incident_text MATCH :query AND rowid IN :rowids"
                    ).bindparams(bindparam("rowids", expanding=True))
_OWN_ROWIDS = text("""
SELECT rowid * 4 FROM incident WHERE id = :id
UNION ALL SELECT seq * 4 + 1 FROM timeline_event WHERE incident_id = :id AND kind = 'note'
UNION ALL SELECT id * 4 + 2 FROM status_update WHERE incident_id = :id
UNION ALL SELECT rowid * 4 + 3 FROM root_cause_analysis WHERE incident_id = :id
""")
_SQLITE_PIECES_SQL = text(_SQLITE_PIECES)  # one TextClause: SQLAlchemy compiles it once and caches it

_PG_PIECES = f"""
SELECT h.incident_id, h.kind, h.body, h.score, {_PIECE_COLUMNS}
  FROM (SELECT * FROM hits ORDER BY score DESC LIMIT :pieces) h JOIN incident i ON i.id = h.incident_id
"""


class SearchRefused(StoreError):
    """Search text that holds nothing to search for; the message is one sentence."""


@dataclass(frozen=True)
class SearchHit:
    """One incident that matched, with the piece of its text that matched best."""

    id: str
    severity: str
    status: str
    title: str
    type: str
    service: str | None
    kind: str  # where the best match is: title, note, update or rca
    snippet: str
    score: float

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "severity": self.severity, "status": self.status, "title": self.title,
                "type": self.type, "service": self.service, "matched_in": self.kind, "snippet": self.snippet,
                "score": round(self.score, 6)}


@dataclass(frozen=True)
class SearchResults:
    hits: list[SearchHit]
    # fts5 | postgresql | like: how the store was searched (like: no FTS5 in this SQLite)
    method: str

    @property
    def note(self) -> str | None:
        if self.method == "like":
            return ("this Python's SQLite has no FTS5: searched with LIKE (slower, unranked); "
                    "a Python built with FTS5 indexes the store on its next start")
        return None


@dataclass(frozen=True)
class SimilarIncident:
    """A past incident like the one in hand, with what it turned out to be and what was done."""

    hit: SearchHit
    same_service: bool
    same_type: bool
    root_cause: str | None
    corrective_actions: list[str] = field(default_factory=list)


def search_words(query: str) -> list[str]:
    """The words of `query` (letters and digits), lower-cased, in order, without repeats."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(str(query)):
        word = word.lower().strip("_")
        if word:
            seen.setdefault(word, None)
    return list(seen)[:MAX_WORDS]


def _fts5_query(words: list[str], any_word: bool) -> str:
    # Each word quoted: FTS5 reads it as a plain term whatever it spells (AND, NEAR, OR).
    return (" OR " if any_word else " ").join(f'"{word}"' for word in words)


# How each database is searched, found once per engine: the index is made by a migration,
# never dropped, so asking sqlite_master on every keystroke's search would only cost time.
_METHODS: "weakref.WeakKeyDictionary[Engine, str]" = weakref.WeakKeyDictionary()
_HAS_INDEX = text("SELECT 1 FROM sqlite_master WHERE name = 'incident_text'")


def _method(conn: Connection) -> str:
    if conn.dialect.name != "sqlite":
        return "postgresql"
    method = _METHODS.get(conn.engine)
    if method is None:
        method = "fts5" if conn.execute(_HAS_INDEX).first() else "like"
        if method == "fts5":  # (a store still without its index may get one at its next migration)
            _METHODS[conn.engine] = method
    return method


def snippet(body: str, words: list[str], width: int = SNIPPET_WIDTH) -> str:
    """About `width` characters of `body` around the first of `words` it holds (by the
    word's stem: "failing" finds "failed"), newlines as spaces; the start when none is seen."""
    flat = " ".join(str(body).split())
    lowered = flat.lower()
    at = -1
    for word in words:
        stem = word[:max(3, len(word) - 3)]
        found = lowered.find(stem)
        if found >= 0 and (at < 0 or found < at):
            at = found
    if len(flat) <= width:
        return flat
    start = 0 if at < width // 3 else at - width // 3
    piece = flat[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(flat) else "")


def _hits(conn: Connection, words: list[str], *, any_word: bool, exclude: str, limit: int,
          method: str) -> list[SearchHit]:
    pieces = min(5 * limit, 1000)  # enough for the sums to order the shown incidents
    if method == "fts5":
        rows = conn.execute(_SQLITE_PIECES_SQL, {"query": _fts5_query(words, any_word), "pieces": pieces}).all()
        return _per_incident(rows, words, exclude, limit)
    params: dict[str, Any]
    if method == "postgresql":
        maker = ("websearch_to_tsquery('english', :query)" if any_word
                 else "plainto_tsquery('english', :query)")
        sql = f"WITH q AS (SELECT {maker} AS q), hits AS ({_KIND_SOURCES_PG})" + _PG_PIECES
        params = {"query": " or ".join(words) if any_word else " ".join(words)}
    else:
        sql = _like_pieces(words, any_word)
        params = {f"w{n}": "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                  for n, w in enumerate(words)}
    rows = conn.execute(text(sql), {**params, "pieces": pieces}).all()
    return _per_incident(rows, words, exclude, limit)


def _per_incident(rows, words: list[str], exclude: str, limit: int) -> list[SearchHit]:
    """Pieces (best first) summed per incident: one that matches in its title and its root
    cause beats one stray note; the snippet is its best piece."""
    best: dict[str, Any] = {}
    totals: dict[str, float] = {}
    for row in sorted(rows, key=lambda r: -float(r.score)):
        if row.incident_id is None or row.incident_id == exclude:
            continue
        best.setdefault(row.incident_id, row)
        totals[row.incident_id] = totals.get(row.incident_id, 0.0) + float(row.score)
    order = sorted(best, reverse=True)  # newer ids first among equals (ids carry the date)
    order.sort(key=lambda incident_id: -totals[incident_id])
    return [SearchHit(id=r.incident_id, severity=r.severity, status=r.status, title=r.incident_title, type=r.type,
                      service=r.service, kind=r.kind, snippet=snippet(r.body, words), score=totals[r.incident_id])
            for r in (best[incident_id] for incident_id in order[:limit])]


def _like_pieces(words: list[str], any_word: bool) -> str:
    """The fallback without FTS5: every piece of text whose lower case holds the words (all,
    or any for similarity); slow on a large store, but it finds."""
    sources = ("SELECT id AS incident_id, 'title' AS kind, title AS body FROM incident "
               "UNION ALL SELECT incident_id, 'note', summary FROM timeline_event WHERE kind = 'note' "
               "UNION ALL SELECT incident_id, 'update', message FROM status_update "
               "UNION ALL SELECT incident_id, 'rca', coalesce(root_cause, '') || ' ' || root_cause_details "
               "FROM root_cause_analysis")
    joiner = " OR " if any_word else " AND "
    # ESCAPE: a % or _ the user typed is that character, not a wildcard.
    where = joiner.join(f"lower(body) LIKE :w{n} ESCAPE '\\'" for n in range(len(words)))
    return (f"WITH hits AS (SELECT incident_id, kind, body, CASE kind WHEN 'title' THEN 3.0 WHEN 'rca' THEN 2.0 "
            f"WHEN 'update' THEN 1.2 ELSE 1.0 END AS score FROM ({sources}) WHERE {where})" + _PG_PIECES)


def _connection(session: Session | Connection) -> Connection:
    return session.connection() if isinstance(session, Session) else session


def search_incidents(session: Session | Connection, query: str, *, limit: int = 20) -> SearchResults:
    """Incidents whose title, a note, a status update or the root cause analysis holds every
    word of `query` (in one piece of text; stems match: "failed" finds "failing"), best first."""
    words = search_words(query)
    if not words:
        raise SearchRefused(f"{query!r} holds no word to search for; accepted: text with letters or digits, "
                            "like 'database connection pool'")
    conn = _connection(session)
    method = _method(conn)
    return SearchResults(_hits(conn, words, any_word=False, exclude="", limit=max(1, min(limit, MAX_LIMIT)),
                               method=method), method)


def _incident_words(conn: Connection, incident_id: str) -> tuple[list[str], str | None, str]:
    row = conn.execute(text("SELECT title, service, type FROM incident WHERE id = :id"), {"id": incident_id}).first()
    if row is None:
        return [], None, ""
    pieces = [row.title, row.service or ""]
    # When the title says enough, a routine update's words would only match half the store.
    if len([w for w in search_words(" ".join(pieces)) if len(w) > 2 and w not in _COMMON]) < 3:
        pieces += _first_texts(conn, incident_id)
    words = [w for w in search_words(" ".join(pieces)) if len(w) > 2 and w not in _COMMON and not w.isdigit()]
    return words[:SIMILAR_WORDS], row.service, row.type


def _first_texts(conn: Connection, incident_id: str) -> list[str]:
    """The first notes and updates: what is going on when the title is only "Checkout down"."""
    pieces: list[str] = []
    pieces += [r[0] for r in conn.execute(text(
        "SELECT summary FROM timeline_event WHERE incident_id = :id AND kind = 'note' ORDER BY seq LIMIT 3"),
        {"id": incident_id})]
    pieces += [r[0] for r in conn.execute(text(
        "SELECT message FROM status_update WHERE incident_id = :id ORDER BY id LIMIT 2"), {"id": incident_id})]
    return pieces


def _own_rowids(conn: Connection, incident_id: str) -> list[int]:
    """The index rows of the incident's own texts (schema 8 numbers them from their source
    rows: rowid * 4 + kind), so its own words are not counted as others' likeness."""
    return [row[0] for row in conn.execute(_OWN_ROWIDS, {"id": incident_id})]


def _distinctive(conn: Connection, incident_id: str, words: list[str]) -> tuple[list[str], bool]:
    """The words that say most about likeness, and whether any one of them is enough (else
    every one must be in the same text), so that at most about SIMILAR_RANKED texts are
    ranked: the rarest words, any of them; when even the rarest is that common, the texts
    holding it together with the next rarest, and so on. Counting a word's texts costs
    little (the index's lists, no ranking); ranking costs per text."""
    own = _own_rowids(conn, incident_id)

    def others(query_words: list[str]) -> int:  # texts of other incidents holding every one of the words
        query = _fts5_query(query_words, False)
        total = conn.execute(_COUNT, {"query": query}).scalar_one()
        if not total or not own or total - len(own) > SIMILAR_RANKED:
            return total  # (past the budget either way: which of its texts are the incident's own changes nothing)
        return total - conn.execute(_COUNT_AMONG, {"query": query, "rowids": own}).scalar_one()

    counts = {word: others([word]) for word in words}
    found = sorted((word for word in words if counts[word]), key=lambda word: counts[word])
    if not found:
        return words, True
    chosen, total = [found[0]], counts[found[0]]
    for word in found[1:]:
        if total + counts[word] > SIMILAR_RANKED:
            break
        chosen.append(word)
        total += counts[word]
    if total <= SIMILAR_RANKED:
        return chosen, True
    together = [found[0]]
    for word in found[1:]:
        count = others([*together, word])
        if count:  # a pair never said together would leave nothing to compare
            together.append(word)
            if count <= SIMILAR_RANKED:
                break
    return together, len(together) == 1


def similar_incidents(session: Session | Connection, incident_id: str, *, limit: int = 5) -> list[SimilarIncident]:
    """The other incidents most like `incident_id`: closest text (any of its title's,
    service's and first notes' words), lifted for the same service and the same type, each
    with its root cause and corrective actions (its action items)."""
    conn = _connection(session)
    words, service, incident_type = _incident_words(conn, incident_id)
    if not words:
        return []
    method = _method(conn)
    any_word = True
    if method == "fts5":
        words, any_word = _distinctive(conn, incident_id, words)
    candidates = _hits(conn, words, any_word=any_word, exclude=incident_id, limit=max(20, limit * 4),
                       method=method)
    if not candidates:
        return []
    top = max(hit.score for hit in candidates) or 1.0

    def weight(hit: SearchHit) -> float:
        lift = 1.0
        if service and hit.service and hit.service.lower() == service.lower():
            lift += 1.0
        if incident_type and hit.type == incident_type:
            lift += 0.5
        return hit.score / top * lift

    chosen = sorted(candidates, key=lambda hit: (-weight(hit), hit.id))[:limit]
    ids = [hit.id for hit in chosen]
    causes = _root_causes(conn, ids)
    actions = _corrective_actions(conn, ids)
    return [SimilarIncident(hit=hit, same_service=bool(service and hit.service
                                                       and hit.service.lower() == service.lower()),
                            same_type=hit.type == incident_type, root_cause=causes.get(hit.id),
                            corrective_actions=actions.get(hit.id, []))
            for hit in chosen]


def _in_clause(ids: list[str]) -> tuple[str, dict[str, str]]:
    return ", ".join(f":i{n}" for n in range(len(ids))), {f"i{n}": v for n, v in enumerate(ids)}


def _root_causes(conn: Connection, ids: list[str]) -> dict[str, str]:
    marks, params = _in_clause(ids)
    found: dict[str, str] = {}
    for row in conn.execute(text(f"SELECT incident_id, root_cause, root_cause_details FROM root_cause_analysis "
                                 f"WHERE incident_id IN ({marks})"), params):
        cause = (row.root_cause or "").strip()
        if not cause:
            try:
                details = json.loads(row.root_cause_details or "[]")
            except ValueError:
                details = []
            cause = "; ".join(str(d) for d in details if str(d).strip()) if isinstance(details, list) else ""
        if cause:
            found[row.incident_id] = cause
    return found


def _corrective_actions(conn: Connection, ids: list[str]) -> dict[str, list[str]]:
    marks, params = _in_clause(ids)
    found: dict[str, list[str]] = {}
    for row in conn.execute(text(f"SELECT incident_id, title FROM action_item WHERE incident_id IN ({marks}) "
                                 "ORDER BY id"), params):
        found.setdefault(row.incident_id, []).append(row.title)
    return found
