"""The answer key's cases: each key row's money, its case, and per case each kind's amount counted once.

The same definition as checks/cases.py, computed independently: over the generator's truth tables with polars,
not from what the rules output. A key row's money is the document whose amount it is about, followed through the
flow's links in the truth: the invoice (an invoice itself, a line's invoice, an applied payment's invoice, the
invoice an integration event carries, the invoice that bills an item again, the invoice an unapplied payment was
for), an unapplied payment, an amendment, a time entry, else the SOW (the row's own SOW, else its project's), else the project, else the entity itself.
Per case and kind, each check's rows add up (two rows of a check on the same piece of money, once); checks measuring the same part of the money (rule header `money`)
count it once, the largest figure; different parts add up; kinds are never added together. The root is the row
at the earliest stage of the flow (rule header `stage`), then the lowest check id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl

from checks.loader import MONEY_KINDS, STAGES, Check, load_checks
from collectors.netsuite.keys import ENTITY_ID

from .firm.build import Firm
from .render.netsuite import project_entityids

# Entity types that are money of their own when no invoice is linked (the list; checks/cases.py OWN_MONEY).
OWN_MONEY = ("payment", "amendment", "time_entry")
# (truth table, its id column, its project and SOW columns) for entities that reach a SOW or project.
_PLACED = {
    "milestone": ("milestone", "milestone_id", "project_id", "sow_id"),
    "schedule_line": ("billing_schedule", "schedule_line_id", "project_id", "sow_id"),
    "task": ("task", "task_id", "project_id", None),
    "expense": ("expense", "expense_id", "project_id", None),
    "rev_line": ("revenue_schedule", "rev_line_id", "project_id", "sow_id"),
    "vendor_bill": ("vendor_bill", "vendor_bill_id", "project_id", None),
    "subcontract": ("subcontract", "subcontract_id", "project_id", "sow_id"),
}
_DUPLICABLE = ("time", "expense", "milestone", "fixed", "retainer", "subcontract")
# The truth tables whose links place a row on its money.
LINK_TABLES = (
    "invoice",
    "invoice_line",
    "payment",
    "project",
    "sow",
    "integration_event",
    "time_entry",
    *sorted({table for table, *_ in _PLACED.values()}),
)
_STR = pl.String


@dataclass(frozen=True)
class CaseKey:
    """The key's rows placed on their money (`rows`), the cases they form (`cases`) and the per-kind totals."""

    rows: pl.DataFrame
    cases: pl.DataFrame
    totals: dict[str, Decimal | int]


def case_key_of(money_type: str, money_id: str) -> str:
    """A case's key: the same hash checks/cases.py stores (md5 of 'money_type|money_id')."""
    return hashlib.md5(f"{money_type}|{money_id}".encode()).hexdigest()


def _pairs(df: pl.DataFrame, id_col: str, **cols: str | None) -> pl.DataFrame:
    """A link table: entity_id plus the named link columns (NULL where the table has none)."""
    return df.select(
        pl.col(id_col).cast(_STR).alias("entity_id"),
        *[(pl.col(src).cast(_STR) if src else pl.lit(None, _STR)).alias(name) for name, src in cols.items()],
    ).unique("entity_id", keep="first")


def rebilled_invoices(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per item billed on more than one posted, uncredited invoice ('line_type:source_id'), the invoice that
    billed it last (latest invoice date, then id): the one that billed it again, whose money it is."""
    inv = tables["invoice"]
    credited = inv.filter((pl.col("type") == "credit_note") & (pl.col("status") != "cancelled"))["source_ref"]
    posted = inv.filter(
        (pl.col("type") == "invoice")
        & ~pl.col("status").is_in(["draft", "cancelled"])
        & ~pl.col("invoice_id").is_in(credited.drop_nulls().implode())
    ).select("invoice_id", "invoice_date")
    lines = (
        tables["invoice_line"]
        .filter(pl.col("line_type").is_in(_DUPLICABLE) & pl.col("source_id").is_not_null())
        .select("invoice_id", (pl.col("line_type") + ":" + pl.col("source_id")).alias("entity_id"))
        .join(posted, on="invoice_id")
    )
    entries = (  # time billed through its entries' link too (one line for many entries)
        tables["time_entry"]
        .filter(pl.col("invoice_line_id").is_not_null())
        .join(tables["invoice_line"].select("invoice_line_id", "invoice_id"), on="invoice_line_id")
        .select("invoice_id", ("time:" + pl.col("time_entry_id")).alias("entity_id"))
        .join(posted, on="invoice_id")
    )
    return (
        pl.concat([lines, entries])
        .unique()
        .sort("entity_id", "invoice_date", "invoice_id")
        .group_by("entity_id")
        .agg(pl.col("invoice_id").n_unique().alias("_n"), pl.col("invoice_id").last())
        .filter(pl.col("_n") > 1)
        .drop("_n")
    )


def _carried(type_col: str, id_col: str) -> list[pl.Expr]:
    """The links of the record an integration event carries: the invoice, project or SOW it names (even one the
    system lacks). A payment or opportunity it carries links it to nothing: naming a payment's invoice would make
    the rule read payments."""
    return [
        pl.when(pl.col(type_col) == kind).then(pl.col(id_col)).otherwise(None).cast(_STR).alias(f"{kind}_id")
        for kind in ("invoice", "project", "sow")
    ]


def _event_links(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """A failed event's money: the record it carries."""
    ev = tables["integration_event"]
    return ev.select(pl.col("event_id").cast(_STR).alias("entity_id"), *_carried("entity_type", "entity_id"))


def _replay_links(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """A reused idempotency key's money ('key:target_system'): the one record its successful events carry."""
    ev = tables["integration_event"].filter(
        (pl.col("status") == "success") & pl.col("idempotency_key").is_not_null()
    )
    g = (
        ev.filter(pl.col("entity_id").is_not_null())
        .group_by("idempotency_key", "target_system")
        .agg(
            pl.struct("entity_type", "entity_id").n_unique().alias("_n"),
            pl.col("entity_type").first(),
            pl.col("entity_id").first(),
        )
        .filter(pl.col("_n") == 1)
    )
    return g.select(
        (pl.col("idempotency_key") + ":" + pl.col("target_system").fill_null("")).alias("entity_id"),
        *_carried("entity_type", "entity_id"),
    )


def links(tables: dict[str, pl.DataFrame], key: pl.DataFrame) -> pl.DataFrame:
    """Per key entity (entity_type, entity_id): the invoice, project and SOW the truth links it to."""
    parts = [
        _pairs(
            tables["invoice"], "invoice_id", invoice_id="invoice_id", project_id=None, sow_id=None
        ).with_columns(entity_type=pl.lit("invoice")),
        _pairs(
            tables["invoice_line"], "invoice_line_id", invoice_id="invoice_id", project_id=None, sow_id=None
        ).with_columns(entity_type=pl.lit("invoice_line")),
        _pairs(
            tables["payment"], "payment_id", invoice_id="invoice_id", project_id=None, sow_id=None
        ).with_columns(entity_type=pl.lit("payment")),
        _pairs(
            tables["project"], "project_id", invoice_id=None, project_id="project_id", sow_id=None
        ).with_columns(entity_type=pl.lit("project")),
        _pairs(tables["sow"], "sow_id", invoice_id=None, project_id=None, sow_id="sow_id").with_columns(
            entity_type=pl.lit("sow")
        ),
        _event_links(tables).with_columns(entity_type=pl.lit("integration_event")),
        _replay_links(tables).with_columns(entity_type=pl.lit("idempotency_key")),
        rebilled_invoices(tables).with_columns(
            project_id=pl.lit(None, _STR), sow_id=pl.lit(None, _STR), entity_type=pl.lit("billed_item")
        ),
    ]
    for etype, (table, id_col, prj, sow) in _PLACED.items():
        parts.append(
            _pairs(tables[table], id_col, invoice_id=None, project_id=prj, sow_id=sow).with_columns(
                entity_type=pl.lit(etype)
            )
        )
    roles = key.filter(pl.col("entity_type") == "project_role").select(
        "entity_type", "entity_id", pl.col("entity_id").str.split(":").list.first().alias("project_id")
    )
    parts.append(roles.with_columns(invoice_id=pl.lit(None, _STR), sow_id=pl.lit(None, _STR)))
    cols = ["entity_type", "entity_id", "invoice_id", "project_id", "sow_id"]
    wanted = key.select("entity_type", "entity_id").unique()
    found = pl.concat([p.select(cols) for p in parts]).join(
        wanted, on=["entity_type", "entity_id"], how="semi"
    )
    return found.unique(["entity_type", "entity_id"], keep="first")


def _noted(key: pl.DataFrame, notes: Mapping[str, Any]) -> pl.DataFrame:
    """The generator's notes on the key: the invoice an unapplied payment was for (`unapplied_for`) and the piece
    of money a row is about when two rows of one check are the same money (`money_piece`, 'check|type|id')."""
    unapplied = notes.get("unapplied_for") or {}
    pieces = notes.get("money_piece") or {}
    tag = pl.concat_str("check_id", "entity_type", "entity_id", separator="|")
    return key.with_columns(
        _paid_for=pl.when(pl.col("entity_type") == "payment")
        .then(pl.col("entity_id").replace_strict(unapplied, default=None, return_dtype=_STR))
        .otherwise(None),
        money_piece=tag.replace_strict(pieces, default=None, return_dtype=_STR),
    )


def place(
    firm_or_tables: Firm | dict[str, pl.DataFrame],
    key: pl.DataFrame,
    notes: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """The key's rows with the money each is about (money_type, money_id), the piece of it (money_piece, NULL when
    the row is a piece of its own) and its case_key. `notes`: the generator's (default the firm's)."""
    if isinstance(firm_or_tables, Firm):
        tables = firm_or_tables.tables
        notes = firm_or_tables.params.get("notes", {}) if notes is None else notes
    else:
        tables = firm_or_tables
    key = _noted(key, notes or {})
    project_sow = (
        tables["project"]
        .select(pl.col("project_id").cast(_STR).alias("_prj"), pl.col("sow_id").cast(_STR).alias("_prj_sow"))
        .unique("_prj", keep="first")
    )
    j = (
        key.join(links(tables, key), on=["entity_type", "entity_id"], how="left")
        .join(project_sow, left_on="project_id", right_on="_prj", how="left")
        .with_columns(
            sow_id=pl.coalesce("sow_id", "_prj_sow"), invoice_id=pl.coalesce("invoice_id", "_paid_for")
        )
        .drop("_prj_sow", "_paid_for")
    )
    own = pl.col("entity_type").is_in(OWN_MONEY)
    placed = j.with_columns(
        money_type=pl.when(pl.col("invoice_id").is_not_null())
        .then(pl.lit("invoice"))
        .when(own)
        .then(pl.col("entity_type"))
        .when(pl.col("sow_id").is_not_null())
        .then(pl.lit("sow"))
        .when(pl.col("project_id").is_not_null())
        .then(pl.lit("project"))
        .otherwise(pl.col("entity_type")),
        money_id=pl.when(pl.col("invoice_id").is_not_null())
        .then(pl.col("invoice_id"))
        .when(own)
        .then(pl.col("entity_id"))
        .when(pl.col("sow_id").is_not_null())
        .then(pl.col("sow_id"))
        .when(pl.col("project_id").is_not_null())
        .then(pl.col("project_id"))
        .otherwise(pl.col("entity_id")),
    )
    return placed.with_columns(
        case_key=pl.Series(
            [case_key_of(t, i) for t, i in zip(placed["money_type"], placed["money_id"], strict=True)],
            dtype=_STR,
        )
    )


def headers(checks: list[Check] | None = None) -> pl.DataFrame:
    """Per check: its kind, stage (and the stage's rank in the flow) and the part of the money it measures."""
    checks = checks if checks is not None else load_checks()
    return pl.DataFrame(
        {
            "check_id": [c.id for c in checks],
            "impact_kind": [c.impact_kind for c in checks],
            "stage": [c.stage for c in checks],
            "stage_rank": [STAGES.index(c.stage) for c in checks],
            "money": [c.money for c in checks],
        }
    )


def amounts(rows: pl.DataFrame) -> pl.DataFrame:
    """Per case and money kind, the amount counted once: a check's rows on the same piece of money once (the
    largest), its pieces added; per part of the money the largest check's sum; the parts added. `rows` has
    case_key, check_id, impact_kind, money, money_piece, entity_type, entity_id and impact_rc."""
    piece = pl.coalesce("money_piece", pl.concat_str("entity_type", "entity_id", separator="|"))
    per_piece = rows.group_by("case_key", "impact_kind", "money", "check_id", piece.alias("_piece")).agg(
        pl.col("impact_rc").max()
    )
    per_check = per_piece.group_by("case_key", "impact_kind", "money", "check_id").agg(
        pl.col("impact_rc").sum()
    )
    per_part = per_check.group_by("case_key", "impact_kind", "money").agg(pl.col("impact_rc").max())
    per_kind = (
        per_part.filter(pl.col("impact_kind").is_in(MONEY_KINDS))
        .group_by("case_key", "impact_kind")
        .agg(pl.col("impact_rc").sum())
    )
    wide = per_kind.pivot(on="impact_kind", index="case_key", values="impact_rc")
    for kind in MONEY_KINDS:
        if kind not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Decimal(18, 2)).alias(kind))
    return wide.select(
        "case_key", *[pl.col(k).cast(pl.Decimal(18, 2)).fill_null(0).alias(f"{k}_rc") for k in MONEY_KINDS]
    )


def estate_tables(
    firm: Firm, config: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, pl.DataFrame]:
    """The truth as an estate's config keys it (closedloop/demo/variants.py): projects known by their entity id
    are named so in every table that links to them. Other variants keep the ids the links use (an aggregated time
    line is named by its first member, on the same invoice)."""
    netsuite = (config or {}).get("netsuite") or {}
    if netsuite.get("project_key") != ENTITY_ID:
        return firm.tables
    ids = project_entityids(firm)

    def renamed(df: pl.DataFrame) -> pl.DataFrame:
        if "project_id" not in df.columns:
            return df
        return df.with_columns(
            project_id=pl.col("project_id").replace_strict(
                ids, default=pl.col("project_id"), return_dtype=_STR
            )
        )

    return {name: renamed(df) for name, df in firm.tables.items()}


def build(
    firm: Firm,
    key: pl.DataFrame | None = None,
    checks: list[Check] | None = None,
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> CaseKey:
    """The cases of `key` (default: the firm's own answer key; an estate's key with that estate's `config`) on
    the firm's truth, with per-kind totals."""
    key = firm.answer_key if key is None else key
    rows = place(estate_tables(firm, config), key, firm.params.get("notes", {})).join(
        headers(checks), on="check_id", how="left"
    )
    unknown = rows.filter(pl.col("impact_kind").is_null())["check_id"].unique().to_list()
    if unknown:
        raise ValueError(f"answer-key check id(s) with no rule file: {sorted(unknown)}")
    root = (
        rows.sort(
            "case_key", "stage_rank", "check_id", pl.col("impact_rc"), descending=[False, False, False, True]
        )
        .group_by("case_key", maintain_order=True)
        .first()
        .select("case_key", "money_type", "money_id", pl.col("check_id").alias("root_check_id"), "stage")
    )
    agg = rows.group_by("case_key").agg(
        pl.len().alias("findings"),
        (pl.col("impact_kind") == "compliance").sum().cast(pl.Int64).alias("compliance_findings"),
        pl.col("check_id").unique().sort().str.join(",").alias("check_ids"),
    )
    cases = (
        root.join(agg, on="case_key")
        .join(amounts(rows), on="case_key", how="left")
        .with_columns(*[pl.col(f"{k}_rc").fill_null(Decimal("0.00")) for k in MONEY_KINDS])
        .sort("money_type", "money_id")
    )
    totals: dict[str, Decimal | int] = {
        f"{k}_rc": Decimal(cases[f"{k}_rc"].sum() or 0).quantize(Decimal("0.01")) for k in MONEY_KINDS
    }
    totals["compliance_findings"] = int(cases["compliance_findings"].sum())
    return CaseKey(rows=rows, cases=cases, totals=totals)
