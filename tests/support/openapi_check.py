"""Check a recorded request against the vendor's own published OpenAPI description.

The contract fakes encode what we read in each vendor's docs; this is a second, independent
check of the requests our notifiers send: tests/support/openapi/<vendor>.json holds the part
of the vendor's published OpenAPI (3.x) or Swagger (2.0) document that describes the
operations we call, copied from the repository, path and commit named in its "x-source".

  problems = check_request("pagerduty", "POST", "/v2/enqueue", body=raw_bytes,
                           content_type="application/json")
  assert problems == []

What is checked, for the operation whose method and path template match the request:
- the request body against the operation's body schema with `jsonschema` (Draft 4, the
  dialect OpenAPI 3.0 and Swagger 2.0 build on; `$ref`s resolve inside the vendor file;
  `format` is an annotation, as JSON Schema has it). OpenAPI 3 `requestBody.content` picks
  the schema by the request's media type (application/json, or a form-encoded body whose
  fields are read with the schema's types: booleans, numbers, arrays from repeated keys);
  Swagger 2 takes the `in: body` parameter's schema, or builds an object schema from the
  `in: formData` parameters (names, types, required). A JSON body sent to a formData
  operation is read in its form representation: arrays and objects become their JSON text,
  which is how Slack documents `blocks` and `attachments` ("a JSON-based array ...
  presented as a URL-encoded string");
- path and query parameters against their schemas (values read from text with their types);
- Twilio's `x-twilio.conditional` groups: at least one field of each group is present;
- the media type against the operation's `consumes` / `requestBody.content`;
- `undocumented_fields`: body fields (also inside nested objects the schema describes
  property by property) that the vendor's description does not mention at all.
Header parameters are not checked (Slack describes its token as a header named `token`;
the Web API takes it as `Authorization: Bearer`).

A request whose method and path match no operation in the file is reported as such:
`operation_for` returns None, and `check_request` says so.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_DIR = Path(__file__).parent / "openapi"
VENDORS = ("pagerduty", "opsgenie", "slack", "twilio")

_SCHEMA_KEYS = ("type", "enum", "format", "items", "pattern", "minLength", "maxLength", "minimum", "maximum",
                "minItems", "maxItems", "default")


@dataclass
class Operation:
    """One operation of a vendor file, ready to check requests with."""

    vendor: str
    method: str
    template: str                 # the full path template, server/basePath prefix included
    operation_id: str
    pointer: str                  # JSON pointer of the operation object in the vendor file
    regex: re.Pattern
    parameters: list[dict[str, Any]]          # path / query / header parameters, $refs resolved
    media_types: list[str]                    # what the body may be sent as
    body_schema: dict[str, Any] | None        # None: the operation takes no body
    body_required: bool
    form_fields: bool = False                 # Swagger 2 formData: body fields are parameters
    conditional: list[list[str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.vendor} {self.operation_id} ({self.method} {self.template})"


class Spec:
    """A vendor file (tests/support/openapi/<vendor>.json) and its operations."""

    def __init__(self, vendor: str) -> None:
        self.vendor = vendor
        self.document: dict[str, Any] = json.loads((SPEC_DIR / f"{vendor}.json").read_text())
        self.uri = f"urn:openapi:{vendor}"
        resource = Resource.from_contents(self.document, default_specification=DRAFT4)
        self.registry = Registry().with_resource(self.uri, resource)
        self.swagger = "swagger" in self.document
        self.operations = [self._operation(path, method, item[method])
                           for path, item in self.document["paths"].items()
                           for method in ("get", "put", "post", "delete", "patch") if method in item]

    @property
    def source(self) -> Any:
        return self.document["x-source"]

    # -- reading the document -----------------------------------------------------------------

    def resolve(self, node: Any) -> Any:
        """`node` with a local "$ref" followed (repeatedly)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
            target: Any = self.document
            for part in node["$ref"][2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
            node = target
        return node

    def _prefix(self, path_item: dict[str, Any]) -> str:
        if self.swagger:
            return (self.document.get("basePath") or "").rstrip("/")
        servers = path_item.get("servers") or self.document.get("servers") or [{"url": ""}]
        return urlsplit(servers[0]["url"]).path.rstrip("/")

    def _operation(self, path: str, method: str, op: dict[str, Any]) -> Operation:
        item = self.document["paths"][path]
        template = self._prefix(item) + path
        pattern = "^" + re.sub(r"\\\{([^}]+)\\\}", lambda m: f"(?P<{_group(m.group(1))}>[^/]+)", re.escape(template)) + "$"
        pointer = f"/paths/{_escape(path)}/{method}"
        params = [self.resolve(p) for p in item.get("parameters", []) + op.get("parameters", [])]
        media_types: list[str] = []
        schema: dict[str, Any] | None = None
        required = False
        form_fields = False
        if self.swagger:
            body = [p for p in params if p.get("in") == "body"]
            form = [p for p in params if p.get("in") == "formData"]
            media_types = list(op.get("consumes") or self.document.get("consumes") or ["application/json"])
            if body:
                # Point at the body parameter where the document has it (the operation's list,
                # or the shared parameters its $ref names), so the schema's own $refs resolve.
                for index, raw in enumerate(op.get("parameters", [])):
                    if self.resolve(raw) is body[0]:
                        where = raw["$ref"][1:] if "$ref" in raw else f"{pointer}/parameters/{index}"
                        schema = {"$ref": f"{self.uri}#{where}/schema"}
                required = bool(body[0].get("required"))
            elif form:
                form_fields = True
                schema = {"type": "object",
                          "properties": {p["name"]: {k: p[k] for k in _SCHEMA_KEYS if k in p} for p in form},
                          "required": [p["name"] for p in form if p.get("required")]}
                if not schema["required"]:
                    del schema["required"]
                required = bool(schema.get("required"))
        elif "requestBody" in op:
            request_body = self.resolve(op["requestBody"])
            media_types = list(request_body.get("content", {}))
            required = bool(request_body.get("required"))
            schema = {}  # chosen per media type in check()
        params = [p for p in params if p.get("in") in ("path", "query", "header")]
        conditional = [list(group) for group in (op.get("x-twilio") or {}).get("conditional", [])]
        return Operation(self.vendor, method.upper(), template, op.get("operationId", f"{method} {path}"), pointer,
                         re.compile(pattern), params, media_types, schema, required, form_fields, conditional)

    # -- matching and checking ------------------------------------------------------------------

    def operation_for(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation a request goes to, with its path parameters; None if the file describes none."""
        for operation in self.operations:
            match = operation.regex.match(path)
            if operation.method == method.upper() and match:
                names = {_group(p["name"]): p["name"] for p in operation.parameters if p.get("in") == "path"}
                return operation, {names.get(k, k): v for k, v in match.groupdict().items()}
        return None

    def body_schema(self, operation: Operation, media_type: str) -> dict[str, Any] | None:
        if operation.body_schema is None:
            return None
        if self.swagger:
            return operation.body_schema
        if media_type not in operation.media_types:
            return None
        return {"$ref": f"{self.uri}#{operation.pointer}/requestBody/content/{_escape(media_type)}/schema"}

    def check(self, method: str, path: str, *, body: bytes = b"", content_type: str = "",
              query: dict[str, list[str]] | None = None) -> list[str]:
        """Every way the request differs from the vendor's description; [] if it conforms."""
        found = self.operation_for(method, path)
        if found is None:
            return [f"{self.vendor}: {method.upper()} {path} is not an operation of the vendor's description"]
        operation, path_params = found
        problems = [f"{operation.name}: {problem}" for problem in
                    self._check_parameters(operation, path_params, query or {})]
        parsed = self.parse_body(operation, body, content_type)
        if isinstance(parsed, str):
            return problems + [f"{operation.name}: {parsed}"]
        if parsed is None:
            return problems
        schema = self.body_schema(operation, _media_type(content_type) or "application/json")
        validator = Draft4Validator(schema, registry=self.registry)
        for error in sorted(validator.iter_errors(parsed), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(part) for part in error.absolute_path) or "(body)"
            problems.append(f"{operation.name}: {where}: {error.message}")
        for group in operation.conditional:
            names = [_pascal(name) for name in group]
            if isinstance(parsed, dict) and not any(name in parsed for name in names):
                problems.append(f"{operation.name}: one of {', '.join(names)} is required (x-twilio conditional)")
        return problems

    def parse_body(self, operation: Operation, body: bytes, content_type: str) -> Any:
        """The body as the description's schema reads it; None if there is none to check; a str if unreadable."""
        if not body.strip():
            if operation.body_required:
                return "the request body is required but empty"
            return None
        media_type = _media_type(content_type)
        if operation.body_schema is None:
            return "the operation takes no request body"
        if media_type not in operation.media_types:
            return f"Content-Type {media_type or '(none)'} is not one it takes ({', '.join(operation.media_types)})"
        if media_type == "application/json":
            try:
                value = json.loads(body)
            except ValueError as error:
                return f"the body is not JSON ({error})"
            if operation.form_fields and isinstance(value, dict):
                value = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
            return value
        if media_type == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode(), keep_blank_values=True)
            schema = self._properties(self.body_schema(operation, media_type) or {})
            return {name: _form_value(values, self.resolve(schema.get(name, {}))) for name, values in fields.items()}
        return f"bodies of type {media_type} are not checked here"

    def _check_parameters(self, operation: Operation, path_params: dict[str, str],
                          query: dict[str, list[str]]) -> list[str]:
        problems = []
        for parameter in operation.parameters:
            where, name = parameter.get("in"), parameter["name"]
            if where == "header":
                continue
            values = [path_params[name]] if where == "path" and name in path_params else query.get(name, [])
            if not values:
                if parameter.get("required"):
                    problems.append(f"{where} parameter {name} is required")
                continue
            schema = parameter.get("schema") or {k: parameter[k] for k in _SCHEMA_KEYS if k in parameter}
            value = _form_value(values, self.resolve(schema))
            for error in Draft4Validator(schema, registry=self.registry).iter_errors(value):
                problems.append(f"{where} parameter {name}: {error.message}")
        described = {p["name"] for p in operation.parameters if p.get("in") == "query"}
        problems += [f"query parameter {name} is not described" for name in query if name not in described]
        return problems

    # -- fields the description does not mention ------------------------------------------------

    def _properties(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Property name -> schema, over $ref and allOf; {} if the schema names no properties."""
        schema = self._deref(schema)
        found: dict[str, Any] = {}
        for part in schema.get("allOf", []):
            found.update(self._properties(part))
        found.update(schema.get("properties", {}))
        return found

    def _deref(self, schema: Any) -> Any:
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref.startswith(self.uri):
                ref = ref[len(self.uri):]
            schema = self.resolve({"$ref": ref})
        return schema

    def undocumented_fields(self, method: str, path: str, *, body: bytes, content_type: str = "") -> list[str]:
        """Body fields (dotted paths) the vendor's description does not mention."""
        found = self.operation_for(method, path)
        if found is None:
            return []
        operation = found[0]
        parsed = self.parse_body(operation, body, content_type)
        schema = self.body_schema(operation, _media_type(content_type) or "application/json")
        if not isinstance(parsed, dict) or schema is None:
            return []
        return self._undocumented(parsed, schema, "")

    def _undocumented(self, value: Any, schema: Any, prefix: str) -> list[str]:
        schema = self._deref(schema)
        if isinstance(value, list) and isinstance(schema, dict) and isinstance(schema.get("items"), dict):
            return [name for item in value for name in self._undocumented(item, schema["items"], prefix + "[]")]
        properties = self._properties(schema) if isinstance(schema, dict) else {}
        if not isinstance(value, dict) or not properties or "additionalProperties" in schema:
            return []
        names = []
        for key, item in value.items():
            if key not in properties:
                names.append(f"{prefix}{key}")
            else:
                names += self._undocumented(item, properties[key], f"{prefix}{key}.")
        return sorted(set(names))


@lru_cache(maxsize=None)
def spec(vendor: str) -> Spec:
    return Spec(vendor)


def check_request(vendor: str, method: str, path: str, *, body: bytes = b"", content_type: str = "",
                  query: dict[str, list[str]] | None = None) -> list[str]:
    """Every way a request differs from `vendor`'s published description; [] if it conforms."""
    return spec(vendor).check(method, path, body=body, content_type=content_type, query=query)


def _media_type(content_type: str) -> str:
    return content_type.split(";")[0].strip().lower()


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _pascal(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def _form_value(values: list[str], schema: Any) -> Any:
    """A form field's value(s) read with the schema's type (repeated keys make an array)."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [_scalar(v, items.get("type")) for v in values]
    return _scalar(values[-1], kind)


def _scalar(text: str, kind: Any) -> Any:
    if kind == "boolean" and text in ("true", "false"):
        return text == "true"
    if kind == "integer" and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    return text
