"""Who may see and do what: roles, the pages and actions each allows, the firm's scope and the values masked.

Pure: no Streamlit. The app (app/access_ui.py) turns the signed-in identity into a Principal; the query
layer builds every query with `principal.scope` and passes every result through `mask_frame` /
`mask_record`, so what a role may not see never leaves the server. The CLI builds one with `--as ROLE`.

Configured in closedloop.toml `[access]` (settings.SECTIONS documents each key):

    [access]
    roles_claim = "groups"                            # the ID token claim listing the user's groups or roles
    groups = { "q2c-finance" = "finance" }            # claim value -> role (a role's own name maps to itself)
    users = { "fred@corp.test" = ["finance"] }        # e-mail -> roles, when the provider sends no claim
    masking = { amounts = ["support"], ... }          # value kind -> roles it is masked for
    scopes = { "fred@corp.test" = { legal_entities = ["LE-US"] } }   # e-mail or group -> what they may see
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

ROLES: dict[str, str] = {
    "executive": "the overview and KPIs, totals only",
    "finance": "cases and findings with their amounts, the workflow and exports",
    "support": "trace and data health, amounts and rates masked",
    "admin": "runs, the scheduler, configuration views, allowlists and the audit log",
}

# Pages by the name of their file in app/views (the router registers every page; a page a role may not open
# answers "not allowed" at its own URL and is audited, so a typed URL is refused the same way a click is).
PAGES: dict[str, str] = {
    "overview": "Overview",
    "findings": "Findings",
    "trace": "Trace",
    "data_health": "Data health",
    "checks_catalog": "Checks catalog",
    "audit": "Audit log",
}
# What a person may do. `allowlist` silences a check on a case for a while: a control, so it is the admins'.
ACTIONS: dict[str, str] = {
    "assign": "assign a case or finding to someone",
    "acknowledge": "acknowledge a case",
    "resolve": "resolve a case (reason code and note required)",
    "comment": "comment on a case",
    "reopen": "reopen a resolved case",
    "allowlist": "allowlist a case until a date",
    "export": "download cases, findings and the exception pack",
    "run_request": "request a run now",
}
WORKFLOW_ACTIONS = ("assign", "acknowledge", "resolve", "comment", "reopen", "allowlist")

ROLE_PAGES: dict[str, frozenset[str]] = {
    "executive": frozenset({"overview"}),
    "finance": frozenset({"overview", "findings", "trace", "checks_catalog"}),
    "support": frozenset({"trace", "data_health", "checks_catalog"}),
    "admin": frozenset(PAGES),
}
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "executive": frozenset(),
    "finance": frozenset({"assign", "acknowledge", "resolve", "comment", "reopen", "export"}),
    "support": frozenset(),
    "admin": frozenset({"allowlist", "reopen", "comment", "run_request"}),
}
# Roles that see individual cases, findings and records; the others see totals only.
DETAIL_ROLES = frozenset({"finance", "support", "admin"})

# Kinds of value a firm may mask, each recognised by column name (and by key inside evidence documents).
MASKS: dict[str, str] = {
    "amounts": "money amounts: impacts, invoice and contract values, totals",
    "rates": "billing and cost rates",
    "margins": "margins",
    "contacts": "contact e-mail addresses and phone numbers",
    "people": "named people: assignees, approvers, resources, owners",
}
DEFAULT_MASKING: dict[str, tuple[str, ...]] = {
    "amounts": ("support",),
    "rates": ("support", "executive"),
    "margins": ("support", "executive"),
    "contacts": ("support", "executive"),
    "people": ("executive",),
}
_PATTERNS: dict[str, re.Pattern[str]] = {
    # fx_rate is a market rate, not a price: it stays visible so a masked amount's conversion can be explained.
    # A transaction price is a contract's total (an amount), not a unit price.
    "rates": re.compile(r"(?<!fx_)rate(?!_date)|(?<!transaction)(^|_)price(_|$)|unit_cost", re.I),
    "margins": re.compile(r"margin|markup", re.I),
    "contacts": re.compile(r"e_?mail|phone|mobile", re.I),
    "people": re.compile(
        r"(^|_)(assignee|approver|approved_by|resource|resource_name|employee|employee_name|person|"
        r"owner_name|submitted_by|signer|signed_by|contact_name|actor)(_|$)",
        re.I,
    ),
    # Evidence names from checks/rules/*/*.sql and the trace's record fields (closedloop/trace.py): besides the
    # obvious ones, running sums (bill_cum, cum_rev), what was invoiced, scheduled or spent, a difference of
    # amounts and a rule's expected amount are money too.
    "amounts": re.compile(
        r"(_rc$|_ccy$|(^|_)(amount|impact|leakage|exposure|cash|expected_loss|total|value|revenue|wip|gross|net|tax|"
        r"balance|paid|due|under_billed|over_billed|unbilled|billed|cost|budget|price|fee|acv|tcv|cum|rev|asset|"
        r"invoiced|scheduled|spent|diff|expected|cap|transaction_price)(_|$))",
        re.I,
    ),
}
# Names that look like money or people but are not (a count, a date, a team, hours, a currency or tax code, the
# statutory tax rate of Q2C-042: public, and what a support person needs to explain a tax break).
_NEVER = re.compile(
    r"(_count$|^n_|_date$|_at$|_days$|(^|_)days(_|$)|_hours$|_id$|_code$|^currency$|_currency$|owner_team|fx_rate|"
    r"_findings$|^(tax|expected)_rate$|^(contract|sow|opp|invoice|project|functional|from|to|reporting)_ccy$)",
    re.I,
)
MASKED = "•••"


class AccessError(ValueError):
    """An [access] configuration problem, naming the key."""


@dataclass(frozen=True)
class Scope:
    """What part of the firm a person sees; an empty tuple means no limit on that dimension."""

    legal_entities: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()

    @property
    def limited(self) -> bool:
        return bool(self.legal_entities or self.regions or self.clients)

    def describe(self) -> str:
        parts = [
            f"{label} {', '.join(values)}"
            for label, values in (
                ("legal entities", self.legal_entities),
                ("regions", self.regions),
                ("clients", self.clients),
            )
            if values
        ]
        return "; ".join(parts) or "the whole firm"

    def sql(
        self, client_col: str | None = "client_id", entity_col: str | None = "legal_entity_id"
    ) -> tuple[str, list]:
        """A predicate (with its parameters) limiting rows to the scope: 'TRUE' when unlimited.

        Regions are a client's: the predicate looks them up in canon.client, so a table without a region
        column is scoped the same way. A dimension the table cannot be scoped by shows no rows (fail closed).
        """
        terms: list[str] = []
        params: list[Any] = []
        if self.legal_entities:
            if entity_col is None:
                return "FALSE", []
            terms.append(f"{entity_col} IN ({', '.join('?' * len(self.legal_entities))})")
            params += list(self.legal_entities)
        if (self.clients or self.regions) and client_col is None:
            return "FALSE", []
        if self.clients:
            terms.append(f"{client_col} IN ({', '.join('?' * len(self.clients))})")
            params += list(self.clients)
        if self.regions:
            marks = ", ".join("?" * len(self.regions))
            terms.append(f"{client_col} IN (SELECT client_id FROM canon.client WHERE region IN ({marks}))")
            params += list(self.regions)
        return (" AND ".join(f"({t})" for t in terms) or "TRUE"), params


@dataclass(frozen=True)
class Principal:
    """A person (or a CLI `--as ROLE`) with their roles, scope and masked kinds of value. Hashable, so the
    app's cached queries key on it: two roles never share a cached, differently masked result."""

    actor: str
    roles: frozenset[str] = frozenset()
    scope: Scope = field(default_factory=Scope)
    masked: frozenset[str] = frozenset()
    local: bool = False

    @property
    def pages(self) -> frozenset[str]:
        return frozenset().union(*(ROLE_PAGES[r] for r in self.roles)) if self.roles else frozenset()

    @property
    def actions(self) -> frozenset[str]:
        return frozenset().union(*(ROLE_ACTIONS[r] for r in self.roles)) if self.roles else frozenset()

    @property
    def detail(self) -> bool:
        """Whether individual cases, findings and records may be shown (executives see totals only)."""
        return bool(self.roles & DETAIL_ROLES)

    def can_see(self, page: str) -> bool:
        return page in self.pages

    def can(self, action: str) -> bool:
        return action in self.actions

    def masks(self, kind: str) -> bool:
        return kind in self.masked

    def describe(self) -> str:
        roles = ", ".join(sorted(self.roles)) or "no role"
        masked = f"; masked: {', '.join(sorted(self.masked))}" if self.masked else ""
        return f"{roles}; sees {self.scope.describe()}{masked}"


def value_kind(name: str) -> str | None:
    """The kind of value a column or evidence key holds, when it is one a firm may mask."""
    if _NEVER.search(name):
        return None
    for kind in ("rates", "margins", "contacts", "people", "amounts"):
        if _PATTERNS[kind].search(name):
            return kind
    return None


def masked_columns(columns: Iterable[str], principal: Principal) -> set[str]:
    return {c for c in columns if (k := value_kind(c)) is not None and principal.masks(k)}


def mask_frame(df, principal: Principal):
    """A polars frame with the principal's masked columns set to null (their types kept: the app labels them)."""
    cols = masked_columns(df.columns, principal)
    if not cols:
        return df
    import polars as pl

    return df.with_columns([pl.lit(None, dtype=df.schema[c]).alias(c) for c in cols])


def mask_record(record: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
    """A record (or an evidence document, nested) with masked values replaced by MASKED."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            out[key] = mask_record(value, principal)
        elif (k := value_kind(str(key))) is not None and principal.masks(k) and value is not None:
            out[key] = MASKED
        else:
            out[key] = value
    return out


def mask_json(text: Any, principal: Principal) -> Any:
    """An evidence document (JSON text, as results.finding.details holds it) with its masked keys replaced."""
    if not isinstance(text, str) or not principal.masked:
        return text
    import json

    try:
        doc = json.loads(text)
    except ValueError:
        return text
    return json.dumps(mask_record(doc, principal), ensure_ascii=False) if isinstance(doc, dict) else text


@dataclass(frozen=True)
class Policy:
    """The firm's [access] configuration, validated."""

    roles_claim: str = "groups"
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    users: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    masking: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_MASKING))
    scopes: Mapping[str, Scope] = field(default_factory=dict)
    local_roles: tuple[str, ...] = tuple(ROLES)
    session_hours: float = 12.0

    def roles_for(self, email: str | None, claim: Any) -> frozenset[str]:
        """Roles from the roles claim (each value through `groups`, or a role's own name), then the e-mail map."""
        roles: set[str] = set()
        values = (
            [claim] if isinstance(claim, str) else list(claim) if isinstance(claim, (list, tuple)) else []
        )
        for v in values:
            v = str(v)
            roles.update(self.groups.get(v, ()) or ((v,) if v in ROLES else ()))
        if email:
            roles.update(self.users.get(email.strip().lower(), ()))
        return frozenset(roles)

    def scope_for(self, email: str | None, claim: Any) -> Scope:
        """The person's scope: their e-mail's, else the union of their groups' (none configured: the firm)."""
        if email and email.strip().lower() in self.scopes:
            return self.scopes[email.strip().lower()]
        values = (
            [claim] if isinstance(claim, str) else list(claim) if isinstance(claim, (list, tuple)) else []
        )
        found = [self.scopes[str(v)] for v in values if str(v) in self.scopes]
        if not found:
            return Scope()
        if any(not s.limited for s in found):
            return Scope()  # one of their groups sees everything
        return Scope(
            *(
                tuple(sorted({x for s in found for x in getattr(s, dim)}))
                for dim in ("legal_entities", "regions", "clients")
            )
        )

    def masked_for(self, roles: frozenset[str]) -> frozenset[str]:
        """Kinds masked for someone with these roles: masked for every one of them (one role that sees it, sees it)."""
        if not roles:
            return frozenset(MASKS)
        return frozenset(k for k, masked_roles in self.masking.items() if roles <= set(masked_roles))

    def principal(self, actor: str, email: str | None, claim: Any) -> Principal:
        roles = self.roles_for(email, claim)
        return Principal(actor, roles, self.scope_for(email, claim), self.masked_for(roles))

    def as_role(self, role: str, actor: str = "cli") -> Principal:
        """The CLI's `--as ROLE`: that role's pages, actions and masking over the whole firm."""
        if role not in ROLES:
            raise AccessError(f"--as {role!r}: not a role (roles: {', '.join(ROLES)})")
        roles = frozenset({role})
        return Principal(f"{actor} (as {role})", roles, Scope(), self.masked_for(roles))

    def local(self, actor: str) -> Principal:
        """The one person using the app in local mode (no sign-in configured, loopback only)."""
        roles = frozenset(self.local_roles)
        return Principal(actor, roles, Scope(), self.masked_for(roles), local=True)


def _roles_list(value: Any, where: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise AccessError(f"{where}: expected a role or a list of roles, got {value!r}")
    unknown = [v for v in values if v not in ROLES]
    if unknown:
        raise AccessError(f"{where}: unknown role {unknown[0]!r} (roles: {', '.join(ROLES)})")
    return tuple(values)


def _scope(value: Any, where: str) -> Scope:
    if not isinstance(value, dict):
        raise AccessError(
            f"{where}: expected a table like {{legal_entities = [...], regions = [...], clients = [...]}}"
        )
    dims = ("legal_entities", "regions", "clients")
    for key, v in value.items():
        if key not in dims:
            raise AccessError(f"{where}: unknown key {key!r} (known: {', '.join(dims)})")
        if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
            raise AccessError(f"{where}.{key}: expected a non-empty list of ids, got {v!r}")
    return Scope(*(tuple(value.get(d, ())) for d in dims))


def policy(section: Mapping[str, Any], where: str = "[access]") -> Policy:
    """Validate the [access] section (already type-checked by settings) into a Policy; errors name the key."""
    groups = {str(k): _roles_list(v, f"{where} groups.{k}") for k, v in section.get("groups", {}).items()}
    users = {
        str(k).strip().lower(): _roles_list(v, f"{where} users.{k}")
        for k, v in section.get("users", {}).items()
    }
    masking = dict(DEFAULT_MASKING)
    for kind, roles in section.get("masking", {}).items():
        if kind not in MASKS:
            raise AccessError(f"{where} masking.{kind}: unknown kind of value (known: {', '.join(MASKS)})")
        masking[kind] = _roles_list(roles, f"{where} masking.{kind}") if roles != [] else ()
    scopes = {
        (str(k).strip().lower() if "@" in str(k) else str(k)): _scope(v, f"{where} scopes.{k}")
        for k, v in section.get("scopes", {}).items()
    }
    local_roles = _roles_list(section.get("local_roles", list(ROLES)), f"{where} local_roles")
    hours = float(section.get("session_hours", 12.0))
    if not 0 < hours <= 24 * 30:
        raise AccessError(f"{where} session_hours: {hours} is not between 0 and 720")
    return Policy(
        roles_claim=str(section.get("roles_claim", "groups")),
        groups=groups,
        users=users,
        masking=masking,
        scopes=scopes,
        local_roles=local_roles,
        session_hours=hours,
    )
