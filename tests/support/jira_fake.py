"""A contract fake of Jira Cloud's REST API v3 (issues, comments, JQL search) on 127.0.0.1.

  with JiraFake() as fake:                        # knows EMAIL / API_TOKEN and project INC
      notifier = JiraNotifier(url=fake.url)
      ...
      fake.issues        # key -> {"id", "key", "fields", "comments": [ADF bodies]}
      fake.requests      # every accepted write (method, path, parsed JSON body), in order
      fake.received      # every request that reached the server, accepted or not

What it enforces (Jira Cloud platform REST API v3; answers copy Jira's shape
{"errorMessages": [...], "errors": {field: message}} and, where known, its wording):
- Basic auth with base64(email:api_token) of a known account, else 401 "Client must be
  authenticated to access this resource."; JSON bodies need Content-Type application/json
  (415 otherwise).
- POST /rest/api/3/issue {"fields": {...}}: project {key|id} of a known project, summary
  required, at most 255 characters and without line breaks, issuetype {name|id} the project
  has, priority {name|id} one the site has (and only when the create screen has the field:
  `priority_on_screen = False` answers "Field 'priority' cannot be set..."), labels a list
  of strings without spaces, at most 255 characters, description an Atlassian Document
  Format document: a plain string is answered 400 {"errors": {"description": "Operation
  value must be an Atlassian Document (see the Atlassian Document Format)"}} as Jira does.
  Unknown fields: "Field 'x' cannot be set. It is not on the appropriate screen, or unknown."
  201 {"id", "key", "self"}; keys run PROJECT-1, PROJECT-2, ...
- POST /rest/api/3/issue/{key}/comment {"body": ADF} -> 201 {"id", "self", "body", ...};
  404 "Issue does not exist or you do not have permission to see it." for an unknown key.
- Workflow (Jira's classic one): a new issue is Open; GET /rest/api/3/issue/{key}/transitions
  lists the transitions from its status ({"transitions": [{"id", "name", "to": {"name",
  "statusCategory": {"key"}}}]}), POST .../transitions {"transition": {"id"}, "update":
  {"comment": [{"add": {"body": ADF}}]}} moves it -> 204; a transition not available from the
  current status is 400 "Transition id 'N' is not valid for this issue." (what Jira answers
  to a transition sent twice); a comment in `update` must be ADF like any other.
- GET /rest/api/3/issue/{key} (fields.status included); GET /rest/api/3/search/jql?jql=... understands the JQL the
  notifier sends (`project = "X" AND labels = "Y"`, either clause alone) and answers
  {"issues": [{"id", "key"}], "isLast": true}; other JQL is a 400 as an unparsable query.

Failure switches (same as the PagerDuty fake): `fail_next(n, status=500 | 429 | 401 | 403 |
400..., retry_after=None, body=None)`, `down()` / `up()` (refuse connections;
`down(refuse=False)` answers 503), `garbage = True` (200 with an HTML page),
`delay = seconds` (the request is applied, its answer comes that late: a lost answer when
the client times out first; `delay_only = "POST"` limits it to one method).
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any, Iterable
from urllib.parse import unquote

from tests.support.statuspage_fake import LoopbackFake, Received

EMAIL = "oncall-bot@example.com"
API_TOKEN = "ATATT3xFfGF0FAKEjiraTOKEN0123456789abcdef"
PROJECTS = ("INC", "OPS")
ISSUE_TYPES = ("Incident", "Bug", "Task", "Story")
PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")
SUMMARY_MAX = 255
LABEL_MAX = 255
TEXT_MAX = 32_767

NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
UNAUTHENTICATED = b"Client must be authenticated to access this resource."
NO_ISSUE = "Issue does not exist or you do not have permission to see it."

Answer = tuple[int, dict[str, str], bytes]


def json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    return status, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})}, json.dumps(body).encode()


def basic_credentials(headers: dict[str, str]) -> tuple[str, str] | None:
    """(user, secret) from an Authorization: Basic header; None if absent or malformed."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        user, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, secret) if sep else None


def content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


class VendorFake(LoopbackFake):
    """The loopback fake (server, request log, failure switches) answering as Atlassian's and
    ServiceNow's APIs do; subclasses implement `answer`. A delayed request is applied first
    and answered late: a lost answer when the client times out first."""

    delay_after_apply = True

    @property
    def delay_only(self) -> str | None:
        """Delay only this method's answers ("POST"), or all (None)."""
        return self.delay_method

    @delay_only.setter
    def delay_only(self, method: str | None) -> None:
        self.delay_method = method

    def answer(self, request: Received) -> Answer:  # pragma: no cover - overridden
        raise NotImplementedError

    def contract(self, request: Received) -> Answer:
        return self.answer(request)

    def failure_body(self, status: int) -> Any:
        return {"error": f"HTTP {status}"}


# -- Atlassian Document Format ---------------------------------------------------------------------

_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "blockquote", "rule",
           "panel", "table", "tableRow", "tableHeader", "tableCell", "mediaSingle", "mediaGroup", "expand"}
_INLINE = {"text", "hardBreak", "mention", "emoji", "inlineCard", "date", "status"}
_MARKS = {"strong", "em", "code", "link", "strike", "underline", "textColor", "subsup", "backgroundColor"}


def adf_errors(document: Any) -> list[str]:
    """What is wrong with an ADF document (root doc, version 1, known nodes, non-empty text); [] if valid."""
    if not isinstance(document, dict) or document.get("type") != "doc":
        return ["the value is not an ADF document (type 'doc')"]
    if document.get("version") != 1:
        return ["an ADF document needs version 1"]
    content = document.get("content")
    if not isinstance(content, list):
        return ["an ADF document needs a content array"]
    errors: list[str] = []
    for node in content:
        errors += _node_errors(node, inline=False)
    return errors


def _node_errors(node: Any, inline: bool) -> list[str]:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return ["an ADF node must be an object with a type"]
    kind = node["type"]
    if inline and kind not in _INLINE:
        return [f"'{kind}' is not allowed inside a paragraph or heading"]
    if not inline and kind not in _BLOCKS:
        return [f"'{kind}' is not allowed at block level"]
    if kind == "text":
        errors = [] if isinstance(node.get("text"), str) and node["text"] else ["a text node needs non-empty text"]
        marks = node.get("marks", [])
        if not isinstance(marks, list):
            return errors + ["marks must be an array"]
        for mark in marks:
            if not isinstance(mark, dict) or mark.get("type") not in _MARKS:
                errors.append("unknown mark")
            elif mark["type"] == "link" and not isinstance((mark.get("attrs") or {}).get("href"), str):
                errors.append("a link mark needs attrs.href")
        return errors
    content = node.get("content", [])
    if not isinstance(content, list):
        return [f"'{kind}' content must be an array"]
    if kind == "heading" and (node.get("attrs") or {}).get("level") not in range(1, 7):
        return ["a heading needs attrs.level 1..6"]
    errors = []
    for child in content:
        errors += _node_errors(child, inline=kind in ("paragraph", "heading"))
    return errors


def adf_text(document: dict[str, Any]) -> str:
    """The text of an ADF document, one line per block."""
    lines = []
    for block in document.get("content", []):
        lines.append("".join(node.get("text", "") for node in block.get("content", []) if isinstance(node, dict)))
    return "\n".join(lines)


# -- Jira ------------------------------------------------------------------------------------------

_ISSUE_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)$")
_COMMENT_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)/comment$")
_TRANSITIONS_PATH = re.compile(r"^/rest/api/3/issue/([^/]+)/transitions$")
# Jira's classic workflow: status -> category, and transition id -> (name, from statuses, to status).
STATUS_CATEGORIES = {"Open": "new", "In Progress": "indeterminate", "Reopened": "new", "Resolved": "done",
                     "Closed": "done"}
WORKFLOW = {"4": ("Start Progress", ("Open", "Reopened"), "In Progress"),
            "5": ("Resolve Issue", ("Open", "In Progress", "Reopened"), "Resolved"),
            "2": ("Close Issue", ("Open", "In Progress", "Reopened", "Resolved"), "Closed"),
            "3": ("Reopen Issue", ("Resolved", "Closed"), "Reopened")}
_JQL_CLAUSE = re.compile(r'^\s*(project|labels)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z0-9_.-]+))\s*$', re.IGNORECASE)
_SETTABLE = {"project", "summary", "issuetype", "priority", "labels", "description", "components", "assignee",
             "reporter", "duedate", "environment", "parent", "fixVersions", "versions"}


def _errors(errors: dict[str, str] | None = None, messages: list[str] | None = None, status: int = 400) -> Answer:
    return json_answer(status, {"errorMessages": messages or [], "errors": errors or {}})


class JiraFake(VendorFake):
    """Jira Cloud REST v3 on a free loopback port; see the module docstring."""

    def __init__(self, accounts: dict[str, str] | None = None, projects: Iterable[str] = PROJECTS,
                 issue_types: Iterable[str] = ISSUE_TYPES, priorities: Iterable[str] = PRIORITIES,
                 priority_on_screen: bool = True) -> None:
        self.accounts = dict(accounts or {EMAIL: API_TOKEN})
        self.projects = set(projects)
        self.issue_types = set(issue_types)
        self.priorities = set(priorities)
        self.priority_on_screen = priority_on_screen
        self.issues: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self._counters: dict[str, int] = {}
        self._next_id = 10000
        super().__init__()

    def failure_body(self, status: int) -> Any:
        messages = {401: "Client must be authenticated to access this resource.",
                    403: "You do not have permission to create issues in this project.",
                    404: NO_ISSUE, 429: "Rate limit exceeded.", 400: "Bad request"}
        return {"errorMessages": [messages.get(status, "Internal server error")], "errors": {}}

    def comments(self, key: str) -> list[str]:
        """The text of each comment on issue `key`, in order."""
        with self._lock:
            return [adf_text(body) for body in self.issues[key]["comments"]]

    # -- the contract -----------------------------------------------------------------------------

    def answer(self, request: Received) -> Answer:
        credentials = basic_credentials(request.headers)
        if credentials is None or self.accounts.get(credentials[0]) != credentials[1]:
            return 401, {"Content-Type": "text/plain;charset=UTF-8",
                         "WWW-Authenticate": 'Basic realm="protected-area"'}, UNAUTHENTICATED
        path = unquote(request.path)
        if request.method == "POST" and path == "/rest/api/3/issue":
            return self._with_json(request, self._create)
        match = _COMMENT_PATH.match(path)
        if match and request.method == "POST":
            return self._with_json(request, lambda body: self._comment(match.group(1), body))
        match = _TRANSITIONS_PATH.match(path)
        if match and request.method == "GET":
            return self._transitions(match.group(1))
        if match and request.method == "POST":
            return self._with_json(request, lambda body: self._transition(match.group(1), body))
        if path == "/rest/api/3/search/jql" and request.method == "GET":
            return self._search(request.query)
        match = _ISSUE_PATH.match(path)
        if match and request.method == "GET":
            issue = self.issues.get(match.group(1))
            if issue is None:
                return _errors(messages=[NO_ISSUE], status=404)
            return json_answer(200, self._public(issue))
        if path.startswith("/rest/api/3/issue") or path == "/rest/api/3/search/jql":
            return 405, {"Allow": "GET, POST"}, b""
        return _errors(messages=["null for uri: " + request.path], status=404)

    def _with_json(self, request: Received, handler) -> Answer:
        if content_type(request.headers) != "application/json":
            return 415, {"Content-Type": "text/plain"}, b"Unsupported Media Type"
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return _errors(messages=["Unexpected character: the request body is not JSON."])
        status, headers, payload = handler(body)
        if 200 <= status < 300:
            self.requests.append((request.method, request.path, body))
        return status, headers, payload

    def _create(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
            return _errors(messages=["Issue must have 'fields'"])
        fields = body["fields"]
        errors: dict[str, str] = {}
        for name in fields:
            if name not in _SETTABLE or (name == "priority" and not self.priority_on_screen):
                errors[name] = f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
        project = fields.get("project")
        key = project.get("key") if isinstance(project, dict) else None
        if key not in self.projects:
            errors["project"] = "Specify a valid project ID or key"
        summary = fields.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors["summary"] = "You must specify a summary of the issue."
        elif len(summary) > SUMMARY_MAX:
            errors["summary"] = "Summary must be less than 255 characters."
        elif "\n" in summary or "\r" in summary:
            errors["summary"] = "The summary is invalid because it contains newline characters."
        issuetype = fields.get("issuetype")
        if not isinstance(issuetype, dict) or not (issuetype.get("name") or issuetype.get("id")):
            errors["issuetype"] = "Specify an issue type"
        elif issuetype.get("name") not in self.issue_types:
            errors["issuetype"] = "Specify a valid issue type"
        if "priority" in fields and "priority" not in errors:
            priority = fields["priority"]
            if not isinstance(priority, dict) or priority.get("name") not in self.priorities:
                errors["priority"] = "Specify the Priority (id or name) in the string format"
        labels = fields.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            errors["labels"] = "Field 'labels' must be an array of strings."
        else:
            for label in labels:
                if not label or re.search(r"\s", label):
                    errors["labels"] = f"The label '{label}' contains spaces which is invalid."
                elif len(label) > LABEL_MAX:
                    errors["labels"] = f"The label '{label[:20]}...' is too long: maximum 255 characters."
        if "description" in fields and fields["description"] is not None:
            description = fields["description"]
            if adf_errors(description):
                errors["description"] = NOT_ADF
            elif len(json.dumps(description)) > TEXT_MAX * 2:
                errors["description"] = "You have exceeded the maximum length allowed for this field."
        if errors:
            return _errors(errors)
        self._counters[key] = self._counters.get(key, 0) + 1
        issue_key = f"{key}-{self._counters[key]}"
        self._next_id += 1
        issue = {"id": str(self._next_id), "key": issue_key, "fields": fields, "comments": [], "status": "Open",
                 "statuses": ["Open"]}
        self.issues[issue_key] = issue
        return json_answer(201, {"id": issue["id"], "key": issue_key, "self": f"{self.url}/rest/api/3/issue/{issue['id']}"})

    def _comment(self, key: str, body: Any) -> Answer:
        issue = self.issues.get(key)
        if issue is None:
            return _errors(messages=[NO_ISSUE], status=404)
        if not isinstance(body, dict) or "body" not in body:
            return _errors({"comment": "Comment body can not be empty!"})
        if adf_errors(body["body"]):
            return _errors({"comment": NOT_ADF})
        issue["comments"].append(body["body"])
        self._next_id += 1
        comment_id = str(self._next_id)
        return json_answer(201, {"id": comment_id, "self": f"{self.url}/rest/api/3/issue/{issue['id']}/comment/{comment_id}",
                                 "body": body["body"], "created": "2024-01-18T14:30:00.000+0000"})

    @staticmethod
    def _status(name: str) -> dict[str, Any]:
        return {"name": name, "statusCategory": {"key": STATUS_CATEGORIES[name]}}

    def _transitions(self, key: str) -> Answer:
        issue = self.issues.get(key)
        if issue is None:
            return _errors(messages=[NO_ISSUE], status=404)
        offered = [{"id": tid, "name": name, "to": self._status(to)}
                   for tid, (name, sources, to) in WORKFLOW.items() if issue["status"] in sources]
        return json_answer(200, {"expand": "transitions", "transitions": offered})

    def _transition(self, key: str, body: Any) -> Answer:
        issue = self.issues.get(key)
        if issue is None:
            return _errors(messages=[NO_ISSUE], status=404)
        transition = body.get("transition") if isinstance(body, dict) else None
        tid = str(transition.get("id")) if isinstance(transition, dict) and transition.get("id") is not None else ""
        if not tid:
            return _errors(messages=["Missing 'transition' identifier"])
        step = WORKFLOW.get(tid)
        if step is None or issue["status"] not in step[1]:
            return _errors(messages=[f"Transition id '{tid}' is not valid for this issue."])
        update = body.get("update") or {}
        if not isinstance(update, dict) or set(update) - {"comment"}:
            return _errors({name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                            for name in (update if isinstance(update, dict) else {"update": 1})})
        comments = []
        for operation in update.get("comment", []):
            added = operation.get("add") if isinstance(operation, dict) else None
            if not isinstance(added, dict) or adf_errors(added.get("body")):
                return _errors({"comment": NOT_ADF})
            comments.append(added["body"])
        issue["comments"].extend(comments)
        issue["status"] = step[2]
        issue["statuses"].append(step[2])
        return 204, {}, b""

    def _search(self, query: dict[str, list[str]]) -> Answer:
        jql = (query.get("jql") or [""])[-1]
        wanted: dict[str, str] = {}
        for clause in re.split(r"\s+AND\s+", jql, flags=re.IGNORECASE) if jql.strip() else []:
            match = _JQL_CLAUSE.match(clause)
            if match is None:
                return _errors(messages=[f"Error in the JQL Query: the query '{jql}' could not be parsed."])
            value = match.group(2) if match.group(2) is not None else match.group(3)
            wanted[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        if not wanted:
            return _errors(messages=["Unbounded JQL queries are not allowed here. Please add a search restriction."])
        try:
            limit = int((query.get("maxResults") or ["50"])[-1])
        except ValueError:
            return _errors(messages=["maxResults must be a number."])
        found = [issue for issue in self.issues.values()
                 if ("project" not in wanted or issue["key"].split("-")[0] == wanted["project"])
                 and ("labels" not in wanted or wanted["labels"] in issue["fields"].get("labels", []))]
        wanted_fields = [name for name in (query.get("fields") or [""])[-1].split(",") if name]
        issues = [{"id": issue["id"], "key": issue["key"], "self": f"{self.url}/rest/api/3/issue/{issue['id']}",
                   **({"fields": {name: issue["fields"].get(name) for name in wanted_fields}} if wanted_fields else {})}
                  for issue in found[:max(0, limit)]]
        return json_answer(200, {"issues": issues, "isLast": True})

    def _public(self, issue: dict[str, Any]) -> dict[str, Any]:
        return {"id": issue["id"], "key": issue["key"], "fields": {**issue["fields"], "status": self._status(issue["status"])}}
