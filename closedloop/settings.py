"""Settings declared once, as data: loaded from closedloop.toml, validated, documented by a test."""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from closedloop import access, checkparams, valuemaps
from closedloop.engines import KINDS as ENGINE_KINDS

CONFIG_NAME = "closedloop.toml"
ENV_CONFIG = "CLOSEDLOOP_CONFIG"


class ConfigError(Exception):
    """A configuration problem, always naming the key and the file."""


@dataclass(frozen=True)
class Setting:
    """One setting: its dotted name within its section, type, default and the line that documents it."""

    name: str
    type: type
    default: Any = None
    doc: str = ""
    required: bool = False
    secret: bool = False
    choices: tuple = ()
    check: Callable[[Any], str | None] | None = None  # returns what is wrong with a value, or None


def at_least(minimum: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= minimum else f"{v!r} is below the minimum {minimum}"


def amount_bounds_problem(value: dict) -> str | None:
    """[contracts] amounts: '<source>.<stream>.<column>' -> {min, max} numbers, min <= max."""
    for key, bounds in value.items():
        if len(str(key).split(".", 2)) != 3:
            return f"{key!r} is not '<source>.<stream>.<column>' (or 'canon.<table>.<column>')"
        if not isinstance(bounds, dict) or set(bounds) - {"min", "max"}:
            return f"{key!r}: expected {{min = <number>, max = <number>}}, got {bounds!r}"
        for name, v in bounds.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                return f"{key!r}: {name} must be a number, got {v!r}"
        if bounds.get("min") is not None and bounds.get("max") is not None and bounds["min"] > bounds["max"]:
            return f"{key!r}: min {bounds['min']} is above max {bounds['max']}"
    return None


_MEMORY = re.compile(r"\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", re.IGNORECASE)


def memory_size(value: str) -> str | None:
    """DuckDB's memory_limit syntax, checked when the config loads rather than when a run opens its file."""
    if _MEMORY.fullmatch(value):
        return None
    return f"{value!r} is not a memory size (a number and a unit: '4GB', '512MB', '2GiB')"


# Top-level sections. Source sections ([sources.<key>]) add their module's SETTINGS to SOURCE_COMMON.
SECTIONS: dict[str, list[Setting]] = {
    "closedloop": [
        Setting("data_dir", str, "data", "Directory for warehouse runs, the ops store and demo exports."),
        Setting("reporting_currency", str, "USD", "Currency every $ impact and KPI is reported in."),
        Setting("as_of", dt.date, None, "Business date the checks evaluate; empty means today (UTC)."),
    ],
    "warehouse": [
        Setting(
            "retention_runs",
            int,
            10,
            "How many run files to keep; the published run and the one it replaced are always kept.",
            check=at_least(0),
        ),
        Setting(
            "publish_partial",
            bool,
            False,
            "Publish a run even when a source failed (default: keep the last good).",
        ),
        Setting("threads", int, 2, "DuckDB worker threads for a run.", check=at_least(1)),
        Setting(
            "memory_limit",
            str,
            "4GB",
            "DuckDB memory limit for a run; past it DuckDB spills to disk instead of growing.",
            check=memory_size,
        ),
    ],
    "ops": [
        Setting(
            "url", str, "", "SQLAlchemy URL of the ops store; empty means SQLite at <data_dir>/ops.sqlite."
        ),
    ],
    "app": [
        Setting(
            "default_user",
            str,
            "analyst",
            "Name written to the audit log when nobody is signed in (env CLOSEDLOOP_APP_USER overrides).",
        ),
    ],
    # Who may see and do what (closedloop/access.py validates the tables and documents the roles).
    "access": [
        Setting(
            "roles_claim",
            str,
            "groups",
            "ID token claim listing the signed-in person's groups or roles (sign-in: .streamlit/secrets.toml [auth]).",
        ),
        Setting(
            "groups",
            dict,
            {},
            "Claim value -> role or roles, e.g. {'q2c-finance' = 'finance'}; a role's own name maps to itself."
            " Roles: executive, finance, support, admin.",
        ),
        Setting("users", dict, {}, "E-mail -> role or roles, for providers that send no roles claim."),
        Setting(
            "masking",
            dict,
            {},
            "Kind of value -> roles it is masked for (amounts, rates, margins, contacts, people); unset kinds keep"
            " the defaults (amounts: support; rates, margins, contacts: support, executive; people: executive).",
        ),
        Setting(
            "scopes",
            dict,
            {},
            "E-mail or group -> what they see: {'fred@corp.test' = {legal_entities = ['LE-US'], regions = ['EMEA'],"
            " clients = ['C-100']}}; unset: the whole firm.",
        ),
        Setting(
            "local_roles",
            list,
            ["executive", "finance", "support", "admin"],
            "Roles of the one person using the app in local mode (no [auth] configured: 127.0.0.1 only).",
        ),
        Setting("session_hours", float, 12.0, "A sign-in lasts this long; then the person signs in again."),
    ],
    "checks": [
        Setting(
            "params",
            dict,
            {},
            "Per-firm values of the rule and KPI parameters each SQL file's header declares, by name (every file"
            " declaring it) or as 'Q2C-010.name' / 'K01.name' (that file), plus coc (cost of capital) and"
            " materiality_rc (reporting-currency amount from which a finding's severity escalates), e.g."
            " {sla_sow_to_project_bd = 7, materiality_rc = 25000}.",
        ),
        Setting(
            "disabled", list, [], "Check ids not to run, e.g. ['Q2C-063']: reported 'disabled', never passed."
        ),
    ],
    # Where the checks and KPIs run (closedloop/engines, checks/remote.py); README "Running on your warehouse".
    "engine": [
        Setting(
            "kind",
            str,
            "duckdb",
            "Where the checks and KPIs run: duckdb (the run's own file), postgres or spark. Only findings, cases"
            " and KPI values come back to the run file the app reads.",
            choices=ENGINE_KINDS,
        ),
        Setting(
            "url",
            str,
            "",
            "postgres: a SQLAlchemy URL (postgresql+psycopg://user@host:5432/db, the password in"
            " CLOSEDLOOP_ENGINE_PASSWORD); spark: local[N] (a local session) or a Spark Connect URL"
            " sc://host:443/;use_ssl=true (Databricks; the token in CLOSEDLOOP_ENGINE_PASSWORD).",
        ),
        Setting(
            "canonical",
            str,
            "copy",
            "copy: the run's canonical model is copied into canonical_schema on the engine; build: the run's raw"
            " tables are sent (raw_<source>__<stream> in work_schema) and the model is built in canonical_schema"
            " by the same mapping SQL, transpiled; existing: the rules read canonical_schema as the firm"
            " maintains it there (nothing sent).",
            choices=("copy", "build", "existing"),
        ),
        Setting(
            "canonical_schema",
            str,
            "canon",
            "Schema on the engine holding the canonical tables (catalog.schema names a catalog too, as in"
            " Databricks' Unity Catalog).",
        ),
        Setting(
            "work_schema",
            str,
            "closedloop",
            "Schema on the engine the run writes: the rules' helper views (chk_*) and the findings the KPIs"
            " read (results_*), replaced each run.",
        ),
    ],
    # Trust and operations (closedloop/contracts, monitors.py, scheduler.py, alerts.py).
    "contracts": [
        Setting(
            "enabled", bool, True, "Validate raw streams and canonical tables (Great Expectations) every run."
        ),
        Setting(
            "allowed_values",
            dict,
            {},
            "Allowed values per column: {'salesforce.opportunity.StageName' = [...], 'canon.sow.status' = [...]}"
            " (a canon entry replaces the built-in domain).",
        ),
        Setting(
            "references",
            dict,
            {},
            "Extra referential rules: {'crm.deals.account_id' = 'crm.accounts.id'} (child column → parent column).",
        ),
        Setting(
            "primary_keys",
            dict,
            {},
            "Keys of streams that declare none (files, sql kinds): {'crm.accounts' = ['id']}.",
        ),
        Setting("non_negative", list, [], "Extra '<source>.<stream>.<column>' amounts that must be >= 0."),
        Setting(
            "max_amount",
            float,
            1_000_000_000.0,
            "Largest absolute value of any canonical money column, in the record's currency (beyond it the"
            " source fails its contract: a -$5B amount is a data error); 0 = no ceiling.",
            check=at_least(0),
        ),
        Setting(
            "amounts",
            dict,
            {},
            "Bounds per amount column, raw or canonical: {'canon.opportunity.amount' = {min = 0, max = 5e8},"
            " 'crm.deals.amount' = {min = 0}}; a canon entry replaces the built-in bounds ({} switches them off).",
            check=amount_bounds_problem,
        ),
        Setting(
            "date_order",
            list,
            [],
            "Extra [start, end] column pairs ('<source>.<stream>.<column>') with start <= end.",
        ),
        Setting(
            "severity",
            dict,
            {},
            "Severity overrides by rule kind (key, required, allowed, references, non_negative, date_order)"
            " or rule id: {references = 'critical'}.",
        ),
        Setting(
            "skip", list, [], "Streams or tables not validated: ['netsuite.records_metadata', 'canon.task']."
        ),
        Setting("sample_keys", int, 10, "Failing keys kept per expectation (results.contract_result)."),
    ],
    "monitors": [
        Setting("volume_window", int, 10, "Recent good runs a stream's row count is compared with."),
        Setting("volume_min_history", int, 3, "Runs needed before the volume monitor judges a stream."),
        Setting(
            "volume_low_ratio",
            float,
            0.5,
            "Below this share of the recent median: a partial extract; the source fails the run and Q2C-106"
            " suppresses its checks.",
        ),
        Setting(
            "volume_high_ratio",
            float,
            3.0,
            "Above this multiple of the recent median: a warning (double load?), reported by Q2C-106 at S4.",
        ),
        Setting(
            "drift_removed",
            str,
            "critical",
            "Severity of a field the source stopped sending since the last published run.",
            choices=("critical", "warning"),
        ),
    ],
    "schedule": [
        Setting(
            "run",
            str,
            "0 */6 * * *",
            "Cron (5 fields) for the whole run under `closedloop serve`; '' disables.",
        ),
        Setting("timezone", str, "UTC", "Time zone the cron expressions are read in."),
        Setting(
            "misfire_grace_seconds", int, 900, "A run missed by less than this (server down) still starts."
        ),
        Setting("poll_seconds", int, 5, "How often the scheduler picks up 'run now' requests from the app."),
        Setting(
            "run_nice",
            int,
            10,
            "CPU niceness (0-19) of runs under `closedloop serve`, so the app beside them stays responsive.",
        ),
        Setting(
            "run_threads",
            int,
            1,
            "DuckDB worker threads of a run under `closedloop serve`; 0 means [warehouse] threads.",
        ),
        Setting(
            "run_memory_limit",
            str,
            "2GB",
            "DuckDB memory limit of a run under `closedloop serve` (it spills past it); '' means [warehouse]'s.",
        ),
        Setting(
            "retry_attempts",
            int,
            2,
            "Retries of a failed or partial scheduled run (0: none); each failure alerts once, not per retry.",
        ),
        Setting(
            "retry_base_seconds",
            float,
            60.0,
            "First retry delay of a failed scheduled run; doubles each retry (60, 120, ...), at most 6 hours.",
        ),
    ],
    "alerts": [
        Setting(
            "webhooks",
            list,
            [],
            "Digest targets: [{name = 'finance', format = 'slack'}]; the URL comes from the secret"
            " CLOSEDLOOP_ALERTS_<NAME>_URL (or [alerts] <name>_url in .streamlit/secrets.toml).",
        ),
        Setting("severities", list, ["S1"], "New cases of these severities are alerted, in every kind."),
        Setting(
            "min_leakage_rc",
            float,
            50000.0,
            "A case whose leakage reaches this amount is alerted (new or worse).",
        ),
        Setting(
            "min_exposure_rc",
            float,
            50000.0,
            "A case whose exposure (amount at risk) reaches this amount is alerted (new or worse).",
        ),
        Setting(
            "min_cash_rc",
            float,
            50000.0,
            "A case whose delayed or invisible cash reaches this amount is alerted (new or worse); compliance"
            " cases have no amount and alert by severity alone.",
        ),
        Setting("timeout_seconds", float, 10.0, "Per-attempt HTTP timeout for a webhook."),
        Setting("retries", int, 3, "Attempts per webhook beyond the first (connection errors, 429, 5xx)."),
        Setting("backoff_seconds", float, 2.0, "First retry delay; doubles each attempt."),
        Setting("app_url", str, "", "Link to the app in the digest (optional)."),
    ],
}

# Source kinds the example config documents (a test checks every setting of each appears there).
DOCUMENTED_KINDS = (
    "salesforce",
    "ironclad",
    "netsuite",
    "middleware",
    "reference",
    "files",
    "sql",
    "oracle_fusion",
    "sap_s4",
    "dynamics_project",
    "dynamics_sales",
    "docusign_clm",
    "icertis",
    "rest_generic",
    "conga",
)

SOURCE_COMMON: list[Setting] = [
    Setting(
        "kind",
        str,
        None,
        "Collector module; defaults to the source key (salesforce, netsuite, files, sql ...).",
    ),
    Setting("enabled", bool, True, "Collect this source in `closedloop run`."),
    Setting(
        "transport",
        str,
        "files",
        "How to collect: 'files' (exports) or 'api' (the vendor API).",
        choices=("files", "api"),
    ),
    Setting("path", str, None, "Directory holding this source's export files (transport = 'files')."),
    Setting(
        "incremental",
        bool,
        False,
        "Pull only what changed since the last published run's cursor and merge it by primary key.",
    ),
    Setting(
        "freshness_sla_hours",
        float,
        72.0,
        "The source's freshness SLA: its newest change (or last snapshot) older than this at the business"
        " date fails the source for the run and is reported by Q2C-105; 0 = off.",
    ),
    Setting("schedule", str, "", "Cron to refresh this source alone (`collect`) under `closedloop serve`."),
    Setting(
        "retry_max_attempts",
        int,
        5,
        "API transports: attempts per request (429, 5xx, connection errors) before the stream fails.",
    ),
    Setting(
        "retry_deadline_seconds",
        float,
        120.0,
        "API transports: the source gives up once it has answered nothing usable for this long (retries and"
        " Retry-After waits included); its remaining streams fail at once, naming the last status.",
    ),
    Setting(
        "values",
        dict,
        {},
        "Value map per canonical column: {'sow.status' = {'Fully Signed' = 'executed'}}; matching ignores case"
        " and spacing, canonical values map to themselves (closedloop/valuemaps.py lists the columns).",
    ),
]


@dataclass
class Config:
    """The validated configuration; `path` is where it came from, for messages."""

    path: Path | None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)

    def get(self, section: str, name: str) -> Any:
        return self.values[section][name]

    @property
    def data_dir(self) -> Path:
        base = self.path.parent if self.path else Path.cwd()
        return (base / self.values["closedloop"]["data_dir"]).resolve()

    @property
    def as_of(self) -> dt.date:
        return self.values["closedloop"]["as_of"] or dt.datetime.now(dt.UTC).date()

    @property
    def ops_url(self) -> str:
        return self.values["ops"]["url"] or f"sqlite:///{self.data_dir / 'ops.sqlite'}"


def _coerce(value: Any, setting: Setting, where: str) -> Any:
    t = setting.type
    ok = (
        (t is bool and isinstance(value, bool))
        or (t is int and isinstance(value, int) and not isinstance(value, bool))
        or (t is float and isinstance(value, (int, float)) and not isinstance(value, bool))
        or (t in (str, dict, list) and isinstance(value, t))
        or (t is dt.date and isinstance(value, (dt.date, str)))
    )
    if not ok:
        raise ConfigError(f"{where}: expected {t.__name__}, got {type(value).__name__} {value!r}")
    if t is dt.date and isinstance(value, str):
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc
    if t is float:
        value = float(value)
    if setting.choices and value not in setting.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(str, setting.choices))}")
    problem = setting.check(value) if setting.check else None
    if problem:
        raise ConfigError(f"{where}: {problem}")
    return value


def did_you_mean(name: str, known) -> str:
    """' (did you mean 'x'?)' for a near miss among the known names, else ''."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# Keys that were settings once, and where what they meant is set now.
MOVED = {
    "app.admins": "admins are the people with the admin role: [access] users = {'ada@corp.test' = 'admin'} or groups",
    "closedloop.tier_floor": "the severity escalation floor is [checks] params = {materiality_rc = ...}",
}


# Source keys and stream names become table names (raw.<source>__<stream>) in SQL: only plain identifiers.
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NAME_RULE = "a name is letters, digits and underscores, not starting with a digit"


def _validate_section(raw: dict, settings: list[Setting], prefix: str, file: str) -> dict[str, Any]:
    known = {s.name: s for s in settings}
    for key in raw:
        if f"{prefix}.{key}" in MOVED:
            raise ConfigError(f"{file}: unknown key '{prefix}.{key}': {MOVED[f'{prefix}.{key}']}")
        if key not in known:
            hint = did_you_mean(key, known) or f" (known: {', '.join(sorted(known))})"
            raise ConfigError(f"{file}: unknown key '{prefix}.{key}'{hint}")
    out: dict[str, Any] = {}
    for s in settings:
        where = f"{file}: key '{prefix}.{s.name}'"
        if s.secret and s.name in raw:
            raise ConfigError(
                f"{where} is a secret; set it in the environment or .streamlit/secrets.toml, not here"
            )
        if s.name in raw:
            out[s.name] = _coerce(raw[s.name], s, where)
        elif s.required:
            raise ConfigError(f"{where} is required")
        else:
            out[s.name] = s.default.copy() if isinstance(s.default, (dict, list)) else s.default
    return out


def source_module(kind: str):
    """The collector module for a source kind; one name for one thing: kind = module name."""
    try:
        return importlib.import_module(f"collectors.{kind}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"collectors.{kind}"):
            raise ConfigError(f"unknown source kind {kind!r} (no module collectors.{kind})") from exc
        raise


def source_settings(kind: str) -> list[Setting]:
    return SOURCE_COMMON + list(getattr(source_module(kind), "SETTINGS", []))


def parse(doc: dict, path: Path | None) -> Config:
    """Validate a parsed TOML document against the declared settings."""
    file = str(path) if path else "<defaults>"
    known = set(SECTIONS) | {"sources"}
    for key in doc:
        if key not in known:
            hint = did_you_mean(key, known) or f" (known: {', '.join(sorted(known))})"
            raise ConfigError(f"{file}: unknown section '{key}'{hint}")
    cfg = Config(path=path)
    for section, settings in SECTIONS.items():
        raw = doc.get(section, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: '{section}' must be a table")
        cfg.values[section] = _validate_section(raw, settings, section, file)
    checkparams.validate(cfg.values["checks"], file)
    try:
        access.policy(cfg.values["access"], f"{file}: [access]")
    except access.AccessError as exc:
        raise ConfigError(str(exc)) from None
    if not isinstance(doc.get("sources", {}), dict):
        raise ConfigError(f"{file}: 'sources' must be a table of [sources.<key>] sections")
    for key, raw in (doc.get("sources") or {}).items():
        if not isinstance(raw, dict):
            raise ConfigError(f"{file}: 'sources.{key}' must be a table")
        if not IDENTIFIER.fullmatch(key):
            raise ConfigError(
                f"{file}: section 'sources.{key}': {NAME_RULE} (it names the tables raw.{{key}}__*)"
            )
        kind = raw.get("kind") or key
        try:
            settings = source_settings(kind)
        except ConfigError as exc:
            raise ConfigError(f"{file}: key 'sources.{key}.kind': {exc}") from exc
        values = _validate_section(raw, settings, f"sources.{key}", file)
        values["kind"] = kind
        streams = values.get("streams")
        bad = [n for n in streams if not IDENTIFIER.fullmatch(str(n))] if isinstance(streams, dict) else []
        if bad:
            raise ConfigError(
                f"{file}: key 'sources.{key}.streams': stream name {bad[0]!r}: {NAME_RULE}"
                f" (it names the table raw.{key}__<stream>)"
            )
        # a source module may check the shape of its own table-valued settings (keys, links, ...)
        check = getattr(source_module(kind), "check_settings", None)
        if check is not None:
            try:
                check(values, f"sources.{key}")
            except ValueError as exc:
                raise ConfigError(f"{file}: {exc}") from None
        try:
            values["values"] = valuemaps.validate(values["values"], f"key 'sources.{key}.values'")
        except ValueError as exc:
            raise ConfigError(f"{file}: {exc}") from None
        if values["transport"] == "files" and not values["path"]:
            raise ConfigError(f"{file}: key 'sources.{key}.path' is required when transport = 'files'")
        for key_ in ("path", "bulk_path"):  # directories are relative to the config file
            if values.get(key_):
                base = path.parent if path else Path.cwd()
                values[key_] = str((base / values[key_]).resolve())
        cfg.sources[key] = values
    return cfg


def locate(path: str | Path | None = None) -> Path | None:
    """Where the config is: --config, then $CLOSEDLOOP_CONFIG, then ./closedloop.toml; None if nowhere."""
    candidate = Path(path) if path else (Path(os.environ[ENV_CONFIG]) if os.environ.get(ENV_CONFIG) else None)
    if candidate is None and Path(CONFIG_NAME).exists():
        candidate = Path(CONFIG_NAME)
    return candidate


NO_CONFIG = (
    f"no configuration: pass --config, set ${ENV_CONFIG} or create ./{CONFIG_NAME}"
    " (closedloop.example.toml documents every key; `closedloop demo` needs none)"
)


def load(path: str | Path | None = None, *, required: bool = False) -> Config:
    """Find and load the config (see locate), else the defaults; `required` refuses the defaults, for the
    commands that write a warehouse: without a config they would publish an empty one as if it were good."""
    candidate = locate(path)
    if candidate is None:
        if required:
            raise ConfigError(NO_CONFIG)
        return parse({}, None)
    candidate = candidate.absolute()  # messages name the file wherever the command ran
    if not candidate.is_file():
        raise ConfigError(f"{candidate}: config file not found")
    try:
        text = candidate.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:  # a binary file, or another encoding: never echo its bytes
        raise ConfigError(
            f"{candidate}: not a TOML text file (not UTF-8 at byte {exc.start}); closedloop.toml is UTF-8 text"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{candidate}: cannot be read ({exc.strerror})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{candidate}: not valid TOML: {exc}") from None
    return parse(doc, candidate.resolve())


def secret(source: str, name: str) -> str | None:
    """A source's secret from CLOSEDLOOP_<SOURCE>_<NAME>, then .streamlit/secrets.toml [<source>] <name>."""
    env = f"CLOSEDLOOP_{source}_{name}".upper()
    if os.environ.get(env):
        return os.environ[env]
    secrets_file = Path(".streamlit/secrets.toml")
    if secrets_file.is_file():
        try:
            doc = tomllib.loads(secrets_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            # never echo the file's content: it holds secrets
            raise ConfigError(
                f"{secrets_file}: not valid TOML (line {getattr(exc, 'lineno', '?')})"
            ) from None
        value = (doc.get(source) or {}).get(name)
        return str(value) if value is not None else None
    return None
