"""The answer key of an estate rendered with modeling variants (render_exports config = the TOML sections).

Most variants change how a fact is held, not which entity a finding names, so the key stays the firm's. Where a
variant merges entities a check reports on, the key is translated here, and each translation says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from collectors.netsuite.keys import ENTITY_ID
from collectors.netsuite.variants import choice

from .firm.build import Firm
from .render.netsuite import project_entityids
from .render.netsuite_lines import line_map
from .schedule_key import schedule_key


def answer_key(firm: Firm, config: Mapping[str, Mapping[str, Any]] | None = None) -> pl.DataFrame:
    """firm.answer_key as the estate `config` renders it."""
    key = firm.answer_key
    netsuite = (config or {}).get("netsuite") or {}
    if choice(netsuite, "invoice_lines") == "aggregated":
        key = aggregated_lines_key(firm, key)
    # schedules and milestones first: their translation reads the firm's own project ids (schedule_key.py)
    key = schedule_key(firm, key, config or {})
    if netsuite.get("project_key") == ENTITY_ID:
        key = projects_by_entityid(firm, key)
    return key


def projects_by_entityid(firm: Firm, key: pl.DataFrame) -> pl.DataFrame:
    """Projects keyed by entity id (project_key = 'entityid'): a project finding names the project by the key
    the canonical model holds (PRJ000001, ...) instead of its internal id; nothing else changes."""
    ids = project_entityids(firm)
    return key.with_columns(
        entity_id=pl.when(pl.col("entity_type") == "project")
        .then(pl.col("entity_id").replace_strict(ids, default=pl.col("entity_id"), return_dtype=pl.String))
        .otherwise(pl.col("entity_id"))
    )


def aggregated_lines_key(firm: Firm, key: pl.DataFrame) -> pl.DataFrame:
    """Findings on time lines, when one line bills many entries.

    Checks about entries keep their entities (Q2C-037, 107 name the entry; Q2C-038 the billed entry; Q2C-061 the
    amendment; Q2C-032 the project), since chk.time_line judges each entry on its own. Checks whose entity is the
    invoice line name the aggregated line: it is the line the firm credits and re-bills, and the one it can find.
    Q2C-033 judges each entry at its own work date and sums their impacts, so the aggregated line's impact is the
    sum of its members'. Q2C-042 judges the line's tax: its members share invoice, tax rate and category, so
    they share the issue, and a rate issue's impact is recomputed on the summed amount (the rule rounds once).
    """
    lines, entries = firm.tables["invoice_line"], firm.tables["time_entry"]
    m = line_map(lines, entries)
    on_lines = key.filter(pl.col("entity_type") == "invoice_line")
    rest = key.filter(pl.col("entity_type") != "invoice_line")
    moved = on_lines.join(m, left_on="entity_id", right_on="invoice_line_id", how="left").with_columns(
        entity_id=pl.coalesce("line_id", "entity_id")
    )
    merged = (
        moved.sort("defect_id")
        .group_by("check_id", "entity_type", "entity_id", maintain_order=True)
        .agg(
            pl.col("defect_id").first(),
            pl.col("correlation_id").first(),
            pl.col("impact_rc").sum(),
            pl.col("detail").first(),
            # the members' second figures add up too; none when no member has one
            pl.when(pl.col("expected_loss_rc").is_not_null().any())
            .then(pl.col("expected_loss_rc").sum())
            .alias("expected_loss_rc"),
            pl.len().alias("_n"),
        )
    )
    tax = merged.filter((pl.col("check_id") == "Q2C-042") & (pl.col("detail") == "rate") & (pl.col("_n") > 1))
    if tax.height:
        redo = _tax_impacts(firm, m, tax["entity_id"])
        merged = merged.join(redo, on="entity_id", how="left").with_columns(
            impact_rc=pl.when((pl.col("check_id") == "Q2C-042") & pl.col("_tax").is_not_null())
            .then(pl.col("_tax"))
            .otherwise(pl.col("impact_rc"))
        )
    merged = merged.select(key.columns).cast(key.schema)
    return pl.concat([rest, merged]).sort("check_id", "entity_type", "entity_id")


def _tax_impacts(firm: Firm, m: pl.DataFrame, line_ids: pl.Series) -> pl.DataFrame:
    """[entity_id, _tax]: |Σ amount x (tax_rate - expected)| x fx on the invoice date, as the generator's
    Q2C-042 evaluator computes it per line (float, half up to cents), for the aggregated lines given."""
    t = firm.tables
    lines = (
        t["invoice_line"]
        .join(m.filter(pl.col("line_id").is_in(line_ids.implode())), on="invoice_line_id")
        .group_by("line_id")
        .agg(
            pl.col("amount").sum(),
            pl.col("tax_rate").first(),
            pl.col("service_category").first(),
            pl.col("invoice_id").first(),
        )
    )
    inv = t["invoice"].select("invoice_id", "client_id", "legal_entity_id", "invoice_date", "currency")
    cl = t["client"].select("client_id", "tax_exempt", _buyer=pl.coalesce("bill_to_country", "country"))
    le = t["legal_entity"].select("legal_entity_id", _seller=pl.col("country"))
    tm = (
        t["tax_matrix"]
        .filter("buyer_is_business")
        .select(
            _seller=pl.col("seller_country"),
            _buyer=pl.col("buyer_country"),
            service_category="service_category",
            expected_rate="expected_rate",
            valid_from="valid_from",
            valid_to="valid_to",
        )
    )
    j = (
        lines.join(inv, on="invoice_id")
        .join(cl, on="client_id")
        .join(le, on="legal_entity_id")
        .join(tm, on=["_seller", "_buyer", "service_category"])
        .filter(
            (pl.col("invoice_date") >= pl.col("valid_from"))
            & (pl.col("invoice_date") <= pl.col("valid_to").fill_null(pl.date(9999, 12, 31)))
        )
    )
    expected = np.where(j["tax_exempt"].fill_null(False).to_numpy(), 0.0, j["expected_rate"].to_numpy())
    cents = (j["amount"].cast(pl.Decimal(38, 2)) * 100).cast(pl.Int64).to_numpy()
    fx = np.array(
        [float(_fx_rate(firm, c, d)) for c, d in zip(j["currency"], j["invoice_date"], strict=True)]
    )
    raw = np.abs(cents / 100 * (j["tax_rate"].fill_null(0.0).to_numpy() - expected)) * fx * 100
    out = np.floor(raw + 0.5).astype(np.int64)
    return pl.DataFrame(
        {"entity_id": j["line_id"], "_tax": [Decimal(int(c)) / 100 for c in out]},
        schema={"entity_id": pl.String, "_tax": pl.Decimal(18, 2)},
    )


def _fx_rate(firm: Firm, ccy: str, day) -> Decimal:
    """Rate to the reporting currency on a day, as chk.fx reads canon.fx_rate (latest on or before it)."""
    rc = str(firm.params.get("reporting_currency", "USD"))
    if ccy == rc:
        return Decimal(1)
    fx = (
        firm.tables["fx_rate"]
        .filter((pl.col("from_ccy") == ccy) & (pl.col("to_ccy") == rc))
        .sort("rate_date")
    )
    before = fx.filter(pl.col("rate_date") <= day)
    return (before if before.height else fx)["rate"][-1 if before.height else 0]
