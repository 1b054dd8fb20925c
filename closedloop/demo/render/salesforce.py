"""Salesforce exports: SOQL records exactly as REST /query returns them, one JSON-lines file per object."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import (
    FirmLike,
    as_of_ts,
    check_fields,
    json_object,
    json_value,
    modstamp,
    table,
    write_lines,
)
from collectors.base import Stream
from collectors.salesforce.streams import names, relationship, streams

TS = "%Y-%m-%dT%H:%M:%S%.3f+0000"


def _attributes(api_version: str, sobject: str, id_col: str = "Id") -> pl.Expr:
    url = pl.lit(f'"/services/data/{api_version}/sobjects/{sobject}/') + pl.col(id_col) + pl.lit('"')
    return json_object([("type", pl.lit(f'"{sobject}"')), ("url", url)], keep_nulls=True)


def _related(api_version: str, sobject: str, id_col: str, fields: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """A relationship field: the parent's attributes and selected fields, or null for an empty lookup."""
    body = json_object([("attributes", _attributes(api_version, sobject, id_col)), *fields], keep_nulls=True)
    return pl.when(pl.col(id_col).is_not_null()).then(body)


def _write(frame: pl.DataFrame, stream: Stream, values: dict[str, pl.Expr], attrs: pl.Expr, out: Path) -> int:
    """One SOQL record per line: attributes first, then the selected fields in declared order."""
    check_fields(stream, values)
    pairs = [("attributes", attrs)]
    pairs += [(c.name, json_value(values[c.name], c.type, TS)) for c in stream.columns]
    return write_lines(frame, json_object(pairs, keep_nulls=True), out / (stream.file_pattern or ""))


def render(firm: FirmLike, out: Path, cfg: Mapping[str, Any] | None = None) -> dict[str, int]:
    """Write Account, Opportunity and the invoice-status object under out/."""
    n, (s_acc, s_opp, s_inv) = names(cfg), streams(cfg)
    api = (cfg or {}).get("api_version") or "v66.0"
    now = as_of_ts(firm)
    corr = n["correlation_field"]
    counts: dict[str, int] = {}

    # CRM accounts are the clients with a CRM id; ERP-only customers live in NetSuite alone
    client = table(firm, "client").filter(pl.col("crm_account_id").is_not_null())
    values = {
        "Id": pl.col("crm_account_id"),
        "Name": pl.col("name"),
        "Type": pl.lit("Customer"),
        "BillingCountry": pl.col("country"),
        n["region_field"]: pl.col("region"),
        n["erp_customer_field"]: pl.col("erp_customer_id"),
        corr: pl.col("correlation_id"),
        "IsDeleted": pl.lit(False),
        "SystemModstamp": modstamp(now),
    }
    counts["account"] = _write(client, s_acc, values, _attributes(api, "Account", "crm_account_id"), out)

    le_names = (
        table(firm, "legal_entity")
        .select(pl.col("legal_entity_id"), pl.col("name").alias("_le_name"))
        .unique("legal_entity_id", keep="first")
    )
    opp = (
        table(firm, "opportunity")
        .join(le_names, on="legal_entity_id", how="left")
        .join(
            client.select(pl.col("client_id"), pl.col("name").alias("_acc_name")), on="client_id", how="left"
        )
    )
    values = {
        "Id": pl.col("opportunity_id"),
        "Name": pl.col("name"),
        "AccountId": pl.col("client_id"),
        "Account": _related(
            api, "Account", "client_id", [("Name", json_value(pl.col("_acc_name"), "VARCHAR", TS))]
        ),
        "StageName": pl.col("stage"),
        "IsWon": pl.col("is_won"),
        "IsClosed": pl.col("is_won") | pl.col("stage").str.starts_with("Closed"),
        "CreatedDate": pl.col("created_at"),
        "CloseDate": pl.col("close_date"),
        "Amount": pl.col("amount"),
        "CurrencyIsoCode": pl.col("currency"),
        "Type": pl.col("deal_type"),
        "OwnerId": pl.col("owner_id"),
        # the org keeps the contracting entity as its ERP subsidiary name; resolve.sql maps it to the id
        n["legal_entity_field"]: pl.coalesce("_le_name", "legal_entity_id"),
        n["parent_sow_field"]: pl.col("parent_sow_id"),
        corr: pl.col("correlation_id"),
        "IsDeleted": pl.lit(False),
        "SystemModstamp": modstamp(now, "created_at"),
    }
    counts["opportunity"] = _write(opp, s_opp, values, _attributes(api, "Opportunity", "opportunity_id"), out)

    obj = n["invoice_status_object"]
    opp_names = table(firm, "opportunity").select("opportunity_id", pl.col("name").alias("_opp_name"))
    inv = table(firm, "crm_invoice_status").join(opp_names, on="opportunity_id", how="left")
    inv = inv.with_columns(_no=pl.int_range(1, pl.len() + 1))
    rel = relationship(n["inv_opportunity_field"])
    values = {
        "Id": pl.col("crm_record_id"),
        "Name": pl.lit("INVS-") + pl.col("_no").cast(pl.String).str.zfill(6),
        n["inv_opportunity_field"]: pl.col("opportunity_id"),
        rel: _related(
            api, "Opportunity", "opportunity_id", [("Name", json_value(pl.col("_opp_name"), "VARCHAR", TS))]
        ),
        n["inv_account_field"]: pl.col("crm_account_id"),
        n["inv_number_field"]: pl.col("erp_invoice_no"),
        n["inv_status_field"]: pl.col("status"),
        n["inv_amount_field"]: pl.col("amount"),
        n["inv_paid_field"]: pl.col("paid_amount"),
        n["inv_balance_field"]: pl.col("amount") - pl.col("paid_amount"),
        n["inv_due_date_field"]: pl.col("due_date"),
        "CurrencyIsoCode": pl.col("currency"),
        n["inv_synced_field"]: pl.col("last_synced_at"),
        corr: pl.col("correlation_id"),
        "IsDeleted": pl.lit(False),
        "SystemModstamp": modstamp(now, "last_synced_at"),
    }
    counts["invoice_status"] = _write(inv, s_inv, values, _attributes(api, obj, "crm_record_id"), out)
    return counts
