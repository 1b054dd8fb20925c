"""Contract rules derived from stream declarations, vendor defaults and config: data, not GX objects yet."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb

from closedloop import settings as cfgmod
from closedloop.contracts import defaults as d
from collectors.runner import quote, raw_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """One expectation on one column (or column pair): GX class name, its kwargs, and how bad a failure is."""

    kind: str
    expectation: str
    column: str
    kwargs: dict[str, Any]
    severity: str
    label: str
    helper: str | None = None  # SQL for a derived column the expectation reads (referential checks)


@dataclass
class Target:
    """A relation to validate: a raw stream or a canonical table, with the rules that apply to it."""

    source: str
    stream: str
    relation: str
    index: tuple[str, ...]  # columns that identify a failing row in samples
    rules: list[Rule] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # present column -> DuckDB type
    absent: set[str] = field(default_factory=set)  # declared but not sent by the source this run

    def select_sql(self) -> str:
        """Only the columns the rules read (plus the index): money as DOUBLE is fine for sign checks."""
        cols = list(
            dict.fromkeys([*self.index, *(c for r in self.rules for c in _cols(r) if c in self.columns)])
        )
        casts = {c: r.kind for r in self.rules if r.kind in _CASTS for c in _cols(r)}
        parts = [
            f"TRY_CAST({quote(c)} AS {_CASTS[casts[c]]}) AS {quote(c)}"
            if c in casts and self.columns.get(c) == "VARCHAR"
            else quote(c)
            for c in cols
        ] + [f"{r.helper} AS {quote(r.column + '__ref')}" for r in self.rules if r.helper]
        return f"SELECT {', '.join(parts) or '1 AS _none'} FROM {self.relation} AS t"


# Undeclared (generic files/sql) columns arrive as text: compare them as numbers and dates, not strings.
_CASTS = {"non_negative": "DOUBLE", "amount": "DOUBLE", "date_order": "TIMESTAMP"}


def _cols(rule: Rule) -> list[str]:
    kw = rule.kwargs
    if "column_list" in kw:
        return list(kw["column_list"])
    if "column_A" in kw:
        return [kw["column_A"], kw["column_B"]]
    return [kw["column"]] if "column" in kw and not rule.helper else []


def _severity(cfg: cfgmod.Config, kind: str, rule_id: str) -> str:
    over = cfg.get("contracts", "severity")
    return str(over.get(rule_id) or over.get(kind) or d.SEVERITY[kind])


def _rule(cfg, kind: str, where: str, expectation: str, col: str, label: str, helper=None, **kw) -> Rule:
    sev = _severity(cfg, kind, f"{where}.{col}:{kind}")
    if "column" not in kw and "column_list" not in kw and "column_A" not in kw:
        kw["column"] = col
    return Rule(kind, expectation, col, kw, sev, label, helper)


def _split(key: str) -> tuple[str, str, str]:
    parts = key.split(".", 2)
    if len(parts) != 3:
        raise cfgmod.ConfigError(f"contracts: {key!r} is not '<source>.<stream>.<column>'")
    return parts[0], parts[1], parts[2]


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()
    return dict(rows)


def _key_rules(
    cfg, where: str, keys: tuple[str, ...], present: dict, nullable: frozenset = frozenset()
) -> list[Rule]:
    """Keys not null and unique; a compound key's part may be declared nullable (a global calendar row)."""
    out = [
        _rule(cfg, "key", where, "ExpectColumnValuesToNotBeNull", k, f"{k} not null")
        for k in keys
        if len(keys) == 1 or k not in nullable
    ]
    if len(keys) == 1:
        out.append(_rule(cfg, "key", where, "ExpectColumnValuesToBeUnique", keys[0], f"{keys[0]} unique"))
    elif keys:
        out.append(
            _rule(
                cfg,
                "key",
                where,
                "ExpectCompoundColumnsToBeUnique",
                ",".join(keys),
                f"({', '.join(keys)}) unique",
                column_list=list(keys),
            )
        )
    return out


def _ref_helper(col: str, parent_rel: str, parent_col: str) -> str:
    return (
        f"({quote(col)} IS NULL OR EXISTS (SELECT 1 FROM {parent_rel} AS p"
        f" WHERE p.{quote(parent_col)} = t.{quote(col)}))"
    )


def _structure_rules(cfg, where: str, table_of, spec: dict, cols: dict) -> list[Rule]:
    """Allowed values, references, amounts and date order for one relation from a spec of column rules."""
    out: list[Rule] = []
    for col, values in spec.get("allowed", {}).items():
        out.append(
            _rule(
                cfg,
                "allowed",
                where,
                "ExpectColumnValuesToBeInSet",
                col,
                f"{col} in {len(values)} allowed values",
                value_set=list(values),
            )
        )
    for col, parent in spec.get("references", {}).items():
        rel, pcol = table_of(parent)
        if rel is None:
            continue
        out.append(
            _rule(
                cfg,
                "references",
                where,
                "ExpectColumnValuesToBeInSet",
                col,
                f"{col} resolves to {parent}",
                helper=_ref_helper(col, rel, pcol),
                column=col + "__ref",
                value_set=[True],
            )
        )
    for col in spec.get("non_negative", []):
        out.append(
            _rule(
                cfg, "non_negative", where, "ExpectColumnValuesToBeBetween", col, f"{col} >= 0", min_value=0
            )
        )
    for col, bounds in spec.get("amounts", {}).items():
        if bounds.get("min") is None and bounds.get("max") is None:
            continue  # bounds switched off for this column
        out.append(
            _rule(
                cfg,
                "amount",
                where,
                "ExpectColumnValuesToBeBetween",
                col,
                f"{col} {_bounds_label(bounds)}",
                min_value=bounds.get("min"),
                max_value=bounds.get("max"),
            )
        )
    for a, b in spec.get("date_order", []):
        out.append(
            _rule(
                cfg,
                "date_order",
                where,
                "ExpectColumnPairValuesAToBeGreaterThanB",
                f"{a},{b}",
                f"{a} <= {b}",
                column_A=b,
                column_B=a,
                or_equal=True,
                ignore_row_if="either_value_is_missing",
            )
        )
    return [r for r in out if (r.column in cols if r.helper else all(c in cols for c in _cols(r)))]


def _bounds_label(bounds: dict) -> str:
    lo, hi = bounds.get("min"), bounds.get("max")
    if lo is not None and hi is not None:
        return f"between {lo:,.0f} and {hi:,.0f}"
    return f">= {lo:,.0f}" if lo is not None else f"<= {hi:,.0f}"


def amount_bounds(cfg: cfgmod.Config, where: str, cols: dict[str, str]) -> dict[str, dict]:
    """Bounds per money column of a canon table: +/- max_amount for every DECIMAL(18,2) column (the signs are
    the non_negative rules'), replaced column by column by [contracts] amounts ('canon.<table>.<column>')."""
    ceiling = cfg.get("contracts", "max_amount")
    out: dict[str, dict] = {}
    for col, dtype in cols.items():
        if dtype == d.MONEY_TYPE and ceiling:
            out[col] = {"min": -ceiling, "max": ceiling}
    for key, bounds in cfg.get("contracts", "amounts").items():
        s, t, col = _split(key)
        if f"{s}.{t}" == where and col in cols:
            out[col] = dict(bounds)
    return out


def _config_spec(cfg: cfgmod.Config, source: str) -> dict[str, dict]:
    """[contracts] entries for one source, regrouped per stream."""
    c = cfg.values["contracts"]
    spec: dict[str, dict] = {}
    for key, values in c["allowed_values"].items():
        s, st, col = _split(key)
        if s == source:
            spec.setdefault(st, {}).setdefault("allowed", {})[col] = values
    for key, parent in c["references"].items():
        s, st, col = _split(key)
        if s == source:
            spec.setdefault(st, {}).setdefault("references", {})[col] = str(parent)
    for key in c["non_negative"]:
        s, st, col = _split(key)
        if s == source:
            spec.setdefault(st, {}).setdefault("non_negative", []).append(col)
    for key, bounds in c["amounts"].items():
        s, st, col = _split(key)
        if s == source:
            spec.setdefault(st, {}).setdefault("amounts", {})[col] = dict(bounds)
    for pair in c["date_order"]:
        (s, st, a), (_, _, b) = _split(pair[0]), _split(pair[1])
        if s == source:
            spec.setdefault(st, {}).setdefault("date_order", []).append((a, b))
    return spec


def _vendor_spec(kind: str, scfg: dict, module) -> dict[str, dict]:
    """Vendor defaults and the module's own optional CONTRACTS declaration, per stream."""
    spec: dict[str, dict] = {}
    declared = getattr(module, "CONTRACTS", None)
    for rules in (d.vendor_rules(kind, scfg), declared(scfg) if callable(declared) else declared or {}):
        for key, parent in rules.get("references", {}).items():
            st, col = key.split(".", 1)
            spec.setdefault(st, {}).setdefault("references", {})[col] = parent
        for key in rules.get("non_negative", []):
            st, col = key.split(".", 1)
            spec.setdefault(st, {}).setdefault("non_negative", []).append(col)
        for a, b in rules.get("date_order", []):
            st, ca = a.split(".", 1)
            spec.setdefault(st, {}).setdefault("date_order", []).append((ca, b.split(".", 1)[1]))
        for key, values in rules.get("allowed_values", {}).items():
            st, col = key.split(".", 1)
            spec.setdefault(st, {}).setdefault("allowed", {})[col] = values
    return spec


def _merge(a: dict, b: dict) -> dict:
    out = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in a.items()}
    for k, v in b.items():
        if isinstance(v, dict):
            out.setdefault(k, {}).update(v)
        else:
            out.setdefault(k, []).extend(v)
    return out


def raw_targets(
    con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config, source: str, missing: dict[str, set[str]]
) -> list[Target]:
    """Targets for one collected source: every declared stream with a raw table in this run."""
    scfg = cfg.sources[source]
    module = cfgmod.source_module(scfg["kind"])
    try:
        streams = module.streams(scfg)
    except Exception as exc:  # undeclarable (e.g. the export directory vanished): collection already failed
        log.info("contracts: no declarations for %s: %s", source, exc)
        return []
    skip = set(cfg.get("contracts", "skip"))
    vendor, conf = _vendor_spec(scfg["kind"], scfg, module), _config_spec(cfg, source)
    out = []
    for stream in streams:
        where = f"{source}.{stream.name}"
        cols = table_columns(con, "raw", f"{source}__{stream.name}")
        if where in skip or not cols:
            continue
        absent = set(missing.get(stream.name, ()))
        present = {c: t for c, t in cols.items() if c not in absent}
        pk = tuple(cfg.get("contracts", "primary_keys").get(where) or stream.primary_key)
        index = (*tuple(k for k in pk if k in present), "_source_row")
        t = Target(source, stream.name, raw_table(source, stream.name), index, columns=present, absent=absent)
        declared_pk = not cfg.get("contracts", "primary_keys").get(where)
        nullable = frozenset(c.name for c in stream.columns if not c.required) if declared_pk else frozenset()
        t.rules += _key_rules(cfg, where, pk, present, nullable)
        for c in stream.columns:
            if c.required and c.name not in pk:
                t.rules.append(
                    _rule(
                        cfg, "required", where, "ExpectColumnValuesToNotBeNull", c.name, f"{c.name} not null"
                    )
                )
        spec = _merge(vendor.get(stream.name, {}), conf.get(stream.name, {}))
        allowed = getattr(stream, "allowed_values", None) or {}
        spec["allowed"] = {**allowed, **spec.get("allowed", {})}

        def table_of(ref: str, _src=source):
            st, col = ref.rsplit(".", 1)
            src, st = st.split(".", 1) if "." in st else (_src, st)
            return (raw_table(src, st), col) if table_columns(con, "raw", f"{src}__{st}") else (None, None)

        t.rules += _structure_rules(cfg, where, table_of, spec, cols)
        required = {c.name for c in stream.columns if c.required}
        t.rules = _absent_to_exists(cfg, where, t.rules, absent, required)
        out.append(t)
    return out


def _absent_to_exists(
    cfg, where: str, rules: list[Rule], absent: set[str], required: set[str] = frozenset()
) -> list[Rule]:
    """A rule on a column the source does not send becomes one 'column exists' expectation.

    Only a required column's absence is critical: an optional one the firm's estate lacks is NULL by
    design (DESIGN.md "Every firm is configured differently"), reported as a warning, never a failed
    source. A column that was sent before and stopped is schema drift's to judge (monitors.schema_drift).
    """
    kept, gone = [], {}
    for r in rules:
        hit = [c for c in (_cols(r) or [r.column]) if c in absent]
        if hit:
            for c in hit:
                gone.setdefault(c, r.severity)
                if r.severity == "critical":
                    gone[c] = "critical"
        else:
            kept.append(r)
    for c, sev in sorted(gone.items()):
        sev = sev if c in required else ("warning" if sev == "critical" else sev)
        kept.append(Rule("exists", "ExpectColumnToExist", c, {"column": c}, sev, f"{c} sent by the source"))
    return kept


def canon_targets(con: duckdb.DuckDBPyConnection, cfg: cfgmod.Config) -> list[Target]:
    """Targets for the canonical model: keys unique, domains known, references resolve, money and dates sane."""
    skip = set(cfg.get("contracts", "skip"))
    overrides: dict[str, dict[str, list]] = {}
    for key, values in cfg.get("contracts", "allowed_values").items():
        s, table, col = _split(key)
        if s == "canon":
            overrides.setdefault(table, {})[col] = values
    tables = set(d.CANON_KEYS) | set(d.CANON_DOMAINS) | set(d.CANON_NON_NEGATIVE) | set(d.CANON_DATE_ORDER)
    tables |= {k.split(".")[0] for k in d.CANON_REFERENCES}
    out = []
    for table in sorted(tables):
        where = f"canon.{table}"
        cols = table_columns(con, "canon", table)
        if where in skip or not cols:
            continue
        keys = d.CANON_KEYS.get(table, ())
        index = tuple(keys) + (("source_system",) if "source_system" in cols else ())
        t = Target("canon", where, where, index, columns=cols)
        t.rules += _key_rules(cfg, where, keys, cols)
        spec = {
            "allowed": {**d.CANON_DOMAINS.get(table, {}), **overrides.get(table, {})},
            "references": {
                k.split(".", 1)[1]: v for k, v in d.CANON_REFERENCES.items() if k.split(".")[0] == table
            },
            "non_negative": d.CANON_NON_NEGATIVE.get(table, []),
            "amounts": amount_bounds(cfg, where, cols),
            "date_order": d.CANON_DATE_ORDER.get(table, []),
        }

        def table_of(ref: str):
            ptable, pcol = ref.split(".", 1)
            return (f"canon.{ptable}", pcol) if table_columns(con, "canon", ptable) else (None, None)

        t.rules += _structure_rules(cfg, where, table_of, spec, cols)
        out.append(t)
    return out
