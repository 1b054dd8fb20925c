"""Salesforce on the sandbox: the OAuth token endpoint and SOQL /query with nextRecordsUrl locators."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import re
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import jwt
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from closedloop.sandbox import sf_describe
from closedloop.sandbox.sf_bulk import BulkJobs
from closedloop.sandbox.state import SandboxState, bearer, form_of, json_response, unauthorized
from collectors.http.cursor import parse_timestamp

VENDOR = "salesforce"
_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?"
    r"(?:\s+ORDER\s+BY\s+(?P<order>[\w.]+)(?:\s+(?P<dir>ASC|DESC))?)?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_COND = re.compile(r"^\s*(?P<field>[\w.]+)\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<lit>'(?:[^'\\]|\\.)*'|\S+)\s*$")
_FIELD = re.compile(r"^[A-Za-z]\w*(\.[A-Za-z]\w*)?$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def error(_status: int, code: str, message: str) -> list[dict[str, str]]:
    """Salesforce REST errors are a JSON array of {message, errorCode}."""
    return [{"message": message, "errorCode": code}]


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _at(query: str, token: str, sentence: str) -> str:
    """/query's parse errors: the query line, a caret under the token, its row and column, then the sentence."""
    line = " ".join(query.split())
    col = max(0, line.find(token))
    return f"\n{line}\n{' ' * col}^\nERROR at Row:1:Column:{col + 1}\n{sentence}"


def invalid_field(query: str, field: str, sobject: str) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        _at(
            query,
            field,
            f"No such column '{field}' on entity '{sobject}'. If you are attempting to use a custom field, be"
            " sure to append the '__c' after the custom field name. Please reference your WSDL or the describe"
            " call for the appropriate names.",
        ),
    )


def invalid_type(query: str, sobject: str) -> SoqlError:
    return SoqlError(
        "INVALID_TYPE",
        _at(
            query,
            sobject,
            f"sObject type '{sobject}' is not supported. If you are attempting to use a custom object, be sure"
            " to append the '__c' after the entity name. Please reference your WSDL or the describe call for"
            " the appropriate names.",
        ),
    )


@dataclass
class Query:
    """The SOQL subset the collector sends: fields, object, AND-ed comparisons, one ORDER BY, LIMIT."""

    fields: list[str]
    sobject: str
    conditions: list[tuple[str, str, Any]]
    order: str | None
    descending: bool
    limit: int | None
    text: str = ""  # as sent, for the error messages that quote it
    count: bool = False  # SELECT COUNT() FROM ...: totalSize only


def _literal(text: str) -> Any:
    if text.startswith("'"):
        return text[1:-1].replace("\\'", "'")
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    if _DATETIME.match(text):
        return parse_timestamp(text)
    if _DATE.match(text):
        return dt.date.fromisoformat(text)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text}'") from None


def parse_soql(text: str) -> Query:
    m = _SOQL.match(text)
    if not m:
        raise SoqlError("MALFORMED_QUERY", "unexpected token: query is not SELECT ... FROM ...")
    fields = [f.strip() for f in m["fields"].split(",")]
    count = [f.upper().replace(" ", "") for f in fields] == ["COUNT()"]
    fields = [] if count else fields
    all_fields = [f.upper().replace(" ", "") for f in fields] == ["FIELDS(ALL)"]
    if all_fields and not (m["limit"] and int(m["limit"]) <= 200):
        raise SoqlError("MALFORMED_QUERY", "The SOQL FIELDS function must have a LIMIT of at most 200")
    for f in [] if all_fields else fields:
        if not _FIELD.match(f):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{f}'")
    conditions = []
    if m["where"]:
        if re.search(r"\bOR\b", m["where"], re.IGNORECASE):
            raise SoqlError("MALFORMED_QUERY", "the sandbox answers AND-ed comparisons only")
        for part in re.split(r"\s+AND\s+", m["where"], flags=re.IGNORECASE):
            c = _COND.match(part)
            if not c:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token near: '{part.strip()[:40]}'")
            conditions.append((c["field"], c["op"], _literal(c["lit"])))
    limit = int(m["limit"]) if m["limit"] else None
    q = Query(fields, m["obj"], conditions, m["order"], (m["dir"] or "").upper() == "DESC", limit)
    q.text, q.count = text, count
    return q


def _comparable(value: Any, like: Any) -> Any:
    """A record value in the literal's terms (timestamps as datetimes, numbers as Decimal)."""
    if value is None:
        return None
    if isinstance(like, dt.datetime):
        return parse_timestamp(value)
    if isinstance(like, dt.date):
        try:
            return dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            return None
    if isinstance(like, Decimal) and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return value


def _sort_key(value: Any) -> tuple:
    when = parse_timestamp(value) if isinstance(value, str) else None
    if value is None:
        return (0, 0)  # ASC NULLS FIRST, as SOQL sorts
    return (1, when.timestamp()) if when else (2, str(value))


class SalesforceAPI:
    """Routes and locators of the Salesforce sandbox (locators are server-side cursors, as in the org)."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.locators: dict[str, tuple[Query, list[dict[str, Any]], int, str]] = {}
        self._ids = itertools.count(1)
        self.api_usage = 0
        self.bulk = BulkJobs(self)  # Bulk API 2.0 query jobs (closedloop/sandbox/sf_bulk.py)

    def routes(self) -> list[Route]:
        return [
            Route("/services/oauth2/token", self.token, methods=["POST"]),
            Route("/services/data/{version}/query", self.query, methods=["GET"]),
            Route("/services/data/{version}/queryAll", self.query, methods=["GET"]),
            Route("/services/data/{version}/query/{locator}", self.more, methods=["GET"]),
            Route("/services/data/{version}/queryAll/{locator}", self.more, methods=["GET"]),
            Route("/services/data/{version}/sobjects", self.sobjects, methods=["GET"]),
            Route("/services/data/{version}/sobjects/{name}/describe", self.describe, methods=["GET"]),
            *self.bulk.routes(),
        ]

    # --- OAuth ------------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        form = await form_of(request)
        creds = self.state.credentials
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
            basic = request.headers.get("authorization", "")
            if basic.lower().startswith("basic "):
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            if client_id != creds.salesforce_client_id:
                return self._oauth_error("invalid_client_id", "client identifier invalid")
            if secret != creds.salesforce_client_secret:
                return self._oauth_error("invalid_client", "invalid client credentials")
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            problem = self._check_assertion(form.get("assertion", ""))
            if problem:
                return self._oauth_error("invalid_grant", problem)
        else:
            return self._oauth_error("unsupported_grant_type", "grant type not supported")
        base = str(request.base_url).rstrip("/")
        token = self.state.tokens.issue(VENDOR, prefix="00DSB0000000001!")
        doc = {
            "access_token": token,
            "signature": base64.b64encode(hashlib.sha256(token.encode()).digest()).decode(),
            "scope": "api",
            "instance_url": base,
            "id": f"{base}/id/00DSB0000000001EAA/005SB0000000001AAA",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
        }
        return self.state.count(VENDOR, json_response(doc))

    def _check_assertion(self, assertion: str) -> str | None:
        """RS256 signature against the configured public key when there is one; claims always."""
        creds = self.state.credentials
        try:
            if creds.public_key_pem:
                claims = jwt.decode(
                    assertion,
                    creds.public_key_pem,
                    algorithms=["RS256"],
                    options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
                )
            else:
                claims = jwt.decode(assertion, options={"verify_signature": False, "require": ["exp"]})
        except jwt.PyJWTError as exc:
            return f"invalid assertion ({type(exc).__name__})"
        if claims.get("iss") != creds.salesforce_client_id:
            return "invalid assertion: iss is not a known consumer key"
        if not claims.get("sub"):
            return "invalid assertion: no sub (username)"
        if int(claims["exp"]) > time.time() + 300:
            return "invalid assertion: exp is more than 3 minutes ahead"
        return None

    def _oauth_error(self, code: str, description: str) -> Response:
        status = 401 if code in ("invalid_client_id", "invalid_client") else 400
        doc = {"error": code, "error_description": description}
        return self.state.count(VENDOR, json_response(doc, status))

    # --- SOQL -------------------------------------------------------------------------------------
    async def _guard(self, request: Request) -> Response | None:
        self.api_usage += 1
        token = bearer(request)
        if not token or not self.state.tokens.valid(VENDOR, token):
            return self.state.count(VENDOR, unauthorized(VENDOR, error))
        return await self.state.request_faults(VENDOR, error, request)

    async def query(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        text = request.query_params.get("q", "")
        try:
            q = parse_soql(text)
            rows = self._select(q, include_deleted=request.url.path.endswith("/queryAll"))
        except SoqlError as exc:
            return self.state.count(VENDOR, json_response(error(400, exc.code, str(exc)), 400))
        if q.count:  # SELECT COUNT(): the number of rows, no records
            doc = {"totalSize": len(rows), "done": True, "records": []}
            return self.state.finish(VENDOR, json_response(doc))
        batch = self._batch_size(request)
        locator = f"01gSB{next(self._ids):013d}"
        self.locators[locator] = (q, rows, batch, request.path_params["version"])
        while len(self.locators) > 256:  # the org keeps a bounded number of open cursors per user
            self.locators.pop(next(iter(self.locators)))
        return self._page(locator, 0)

    async def more(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        locator, _, offset = request.path_params["locator"].rpartition("-")
        if locator not in self.locators or not offset.isdigit():
            body = error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
            return self.state.count(VENDOR, json_response(body, 400))
        return self._page(locator, int(offset))

    # --- describe (closedloop/sandbox/sf_describe.py derives it from the exports) -----------------------
    def _object_names(self) -> list[str]:
        return sorted(p.stem for p in self.state.exports.salesforce_files())

    async def sobjects(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        version = request.path_params["version"]
        doc = {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [sf_describe.sobject_entry(n, version) for n in self._object_names()],
        }
        return self.state.finish(VENDOR, json_response(doc))

    async def describe(self, request: Request) -> Response:
        denied = await self._guard(request)
        if denied is not None:
            return denied
        name = request.path_params["name"]
        records = self.state.exports.salesforce_object(name)
        if records is None:
            body = error(404, "NOT_FOUND", f"The requested resource does not exist: sObject type '{name}'")
            return self.state.count(VENDOR, json_response(body, 404))
        fields = sorted(self._fields_of(records, name) or (), key=_field_order(records))
        doc = sf_describe.describe(
            name, [self._drifted(r, name) for r in records], fields, request.path_params["version"]
        )
        return self.state.finish(VENDOR, json_response(doc))

    def _batch_size(self, request: Request) -> int:
        """Sforce-Query-Options batchSize (200..2000), never above the sandbox's cap."""
        m = re.search(r"batchSize=(\d+)", request.headers.get("sforce-query-options", ""))
        asked = max(200, min(2000, int(m.group(1)))) if m else 2000
        return max(1, min(asked, self.state.caps.salesforce))

    def _fields_of(self, records: list[dict[str, Any]], sobject: str) -> set[str] | None:
        """The object's fields: the estate's manifest, else the records' keys (/query keeps nulls)."""
        schema = self.state.exports.salesforce_schema()
        if schema is not None:
            fields = set(schema.get(sobject.lower(), ()))
        else:
            fields = {k for r in records for k in r if k != "attributes"}
        for fault in self.state.faults.standing(VENDOR, "drift", sobject):
            if fault.field in fields:
                fields.discard(fault.field)
                if fault.to:
                    fields.add(fault.to)
        return fields or None  # an empty object: nothing to check fields against

    def _select(self, q: Query, *, include_deleted: bool) -> list[dict[str, Any]]:
        schema = self.state.exports.salesforce_schema()
        records = self.state.exports.salesforce_object(q.sobject)
        if schema is not None and q.sobject.lower() in schema and records is None:
            records = []  # in the org, never exported: no rows
        if (
            records is None
            or (schema is not None and q.sobject.lower() not in schema)
            or self.state.faults.standing(VENDOR, "permission_denied", q.sobject)
        ):
            raise invalid_type(q.text, q.sobject)
        known = self._fields_of(records, q.sobject)
        if [f.upper().replace(" ", "") for f in q.fields] == ["FIELDS(ALL)"]:
            q.fields = sorted(known or {k for r in records for k in r if k != "attributes"})
        for f in [*q.fields, *(c[0] for c in q.conditions), *([q.order] if q.order else [])]:
            if known is not None and f.split(".")[0] not in known:
                raise invalid_field(q.text, f, q.sobject)
        rows = records if include_deleted else [r for r in records if r.get("IsDeleted") is not True]
        rows = [self._drifted(r, q.sobject) for r in rows]
        for field, op, lit in q.conditions:
            rows = [r for r in rows if _matches(_comparable(r.get(field), lit), op, lit)]
        if q.order:
            rows = sorted(rows, key=lambda r: _sort_key(r.get(q.order)), reverse=q.descending)
        return rows[: q.limit] if q.limit is not None else rows

    def _drifted(self, record: dict[str, Any], sobject: str) -> dict[str, Any]:
        for fault in self.state.faults.standing(VENDOR, "drift", sobject):
            if fault.field in record:
                record = dict(record)
                value = record.pop(fault.field)
                if fault.to:
                    record[fault.to] = value
        return record

    def _page(self, locator: str, offset: int) -> Response:
        q, rows, batch, version = self.locators[locator]
        chunk = rows[offset : offset + batch]
        doc: dict[str, Any] = {
            "totalSize": len(rows),
            "done": offset + batch >= len(rows),
            "records": [_project(r, q.fields) for r in chunk],
        }
        if not doc["done"]:
            doc["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{offset + batch}"
        headers = {"Sforce-Limit-Info": f"api-usage={self.api_usage}/15000"}
        return self.state.finish(VENDOR, json_response(doc, headers=headers))


def _field_order(records: list[dict[str, Any]]):
    """Fields in the export's order (Id first), a drift-renamed field last; relationship objects are not fields."""
    order = {k: i for i, k in enumerate(records[0] if records else {})}
    return lambda f: (order.get(f, len(order)), f)


def _matches(value: Any, op: str, lit: Any) -> bool:
    if value is None or lit is None:
        return (op == "=" and value is lit) or (op == "!=" and (value is None) != (lit is None))
    try:
        return _OPS[op](value, lit)
    except TypeError:
        return False


def _project(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The record as /query returns it: attributes, then the selected fields; Rel.Field nests."""
    out: dict[str, Any] = {"attributes": record.get("attributes")}
    for f in fields:
        rel, _, sub = f.partition(".")
        if not sub:
            out[f] = record.get(f)
            continue
        parent = record.get(rel)
        if not isinstance(parent, dict):
            out[rel] = None
            continue
        nested = out.get(rel) or {"attributes": parent.get("attributes")}
        nested[sub] = parent.get(sub)
        out[rel] = nested
    return out
