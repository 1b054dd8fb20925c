"""Conga CLM exports: the Apttus agreement and line item objects exactly as Salesforce REST /query returns them.

Agreements (MSAs, SOWs, amendments, standard rate-card agreements) share one object, told apart by the category
field; an amendment's parent is the SOW it amends, a SOW's its MSA. Record Ids are Salesforce Ids; the firm's
contract and SOW numbers (what NetSuite and Salesforce hold) sit in the agreement number field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render import vendor_values
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
from collectors.conga.streams import categories, line_types, names, streams

TS = "%Y-%m-%dT%H:%M:%S%.3f+0000"
# canonical status -> (Apttus__Status__c, Apttus__Status_Category__c) as a standard Conga org words them
STATUS = {
    "draft": ("Author Contract", "In Authoring"),
    "in_review": ("Other Party Review", "In Authoring"),
    "executed": ("Activated", "In Effect"),
    "expired": ("Expired", "Expired"),
    "terminated": ("Terminated", "Terminated"),
    "cancelled": ("Cancelled Request", "Cancelled"),
}
_NULL = pl.lit(None, pl.String)


def sf_ids(prefix: str, n: int, offset: int = 0) -> pl.Expr:
    """18-character Salesforce record Ids with the object's key prefix, numbered in export order."""
    return pl.lit(f"{prefix}5g0000") + (pl.int_range(0, n) + offset + 1).cast(pl.String).str.zfill(6) + "QAA"


def _attrs(api: str, sobject: str) -> pl.Expr:
    url = pl.lit(f'"/services/data/{api}/sobjects/{sobject}/') + pl.col("Id") + pl.lit('"')
    return json_object([("type", pl.lit(f'"{sobject}"')), ("url", url)], keep_nulls=True)


def _write(frame: pl.DataFrame, stream, api: str, sobject: str, out: Path) -> int:
    values = {c: pl.col(c) for c in frame.columns if not c.startswith("_")}
    check_fields(stream, values)
    pairs = [("attributes", _attrs(api, sobject))]
    pairs += [(c.name, json_value(values[c.name], c.type, TS)) for c in stream.columns]
    return write_lines(frame, json_object(pairs, keep_nulls=True), out / (stream.file_pattern or ""))


def _status(col: str, which: int) -> pl.Expr:
    words = {k: v[which] for k, v in STATUS.items()}
    return pl.col(col).replace_strict(words, default=pl.col(col), return_dtype=pl.String)


def _own_status(cfg: Mapping[str, Any] | None) -> pl.Expr:
    """Apttus__Status__c in the org's words: the firm's `values` map where it has one, else Conga's standard."""
    own = vendor_values.inverse((cfg or {}).get("values") or {})
    out = _status("_status", 0)
    for kind, canon_table in (("msa", "contract"), ("sow", "sow"), ("amendment", "amendment")):
        words = own.get(f"{canon_table}.status")
        if words:
            mine = pl.col("_status").replace_strict(words, default=None, return_dtype=pl.String)
            out = pl.when((pl.col("_kind") == kind) & mine.is_not_null()).then(mine).otherwise(out)
    return out


def _agreements(
    firm: FirmLike, n: dict[str, str], cats: dict[str, str], now, cfg: Mapping[str, Any] | None
) -> pl.DataFrame:
    """One frame of every agreement with Conga's columns (the business id kept as _key, parents as _parent)."""
    le = (
        table(firm, "legal_entity")
        .select("legal_entity_id", pl.col("name").alias("_le"))
        .unique("legal_entity_id", keep="first")
    )
    clients = (
        table(firm, "client")
        .select("client_id", pl.col("name").alias("_client"))
        .unique("client_id", keep="first")
    )

    def base(df: pl.DataFrame, kind: str, key: str, parent: pl.Expr, label: str) -> pl.DataFrame:
        if "legal_entity_id" in df.columns:
            df = df.join(le, on="legal_entity_id", how="left")
        else:
            df = df.with_columns(_le=_NULL, legal_entity_id=_NULL)
        df = df.join(clients, on="client_id", how="left") if "client_id" in df.columns else df
        return df.with_columns(
            _key=pl.col(key), _parent=parent, _kind=pl.lit(kind), _label=pl.lit(label + " - ")
        )

    contract = base(table(firm, "contract"), "msa", "contract_id", _NULL, "Master Services Agreement")
    sow = base(table(firm, "sow"), "sow", "sow_id", pl.col("contract_id"), "Statement of Work")
    amendment = base(table(firm, "amendment"), "amendment", "amendment_id", pl.col("sow_id"), "Amendment")
    # standard rate cards (no SOW or MSA) are rate-card agreements of their own, holding their lines
    std = (
        table(firm, "rate_card")
        .filter(pl.col("sow_id").is_null() & pl.col("contract_id").is_null())
        .group_by("rate_card_id", maintain_order=True)
        .agg(pl.col("currency").first(), pl.col("valid_from").min())
    )
    std = base(std, "rate_card", "rate_card_id", _NULL, "Standard Rates")
    frames = []
    for kind, df in (("msa", contract), ("sow", sow), ("amendment", amendment), ("rate_card", std)):
        has = set(df.columns)

        def col(c: str, has: set[str] = has) -> pl.Expr:
            return pl.col(c) if c in has else _NULL

        def typed(c: str, t: pl.DataType, has: set[str] = has) -> pl.Expr:
            return (pl.col(c) if c in has else pl.lit(None)).cast(t)

        end = "new_end_date" if kind == "amendment" else "end_date"
        start = {"msa": "effective_date", "sow": "start_date", "amendment": "effective_date"}.get(
            kind, "valid_from"
        )
        cap = "new_cap_amount" if kind == "amendment" else "cap_amount"
        frames.append(
            df.select(
                "_key",
                "_parent",
                "_kind",
                pl.concat_str(pl.col("_label"), pl.coalesce(col("_client"), pl.col("_key"))).alias("Name"),
                pl.lit(cats[kind]).alias(n["category_field"]),
                col("contract_type").alias(n["subtype_field"]),
                col("status").alias("_status"),
                col("client_id").alias(n["account_field"]),
                col("opportunity_id").alias(n["opportunity_field"]),
                typed("amendment_no", pl.Int64).alias(n["version_field"]),
                typed("signed_date", pl.Date).alias(n["signed_date_field"]),
                typed(start, pl.Date).alias(n["start_date_field"]),
                typed(end, pl.Date).alias(n["end_date_field"]),
                typed("value", pl.Decimal(18, 2)).alias(n["value_field"]),
                col("correlation_id").alias(n["correlation_field"]),
                pl.coalesce(col("_le"), col("legal_entity_id")).alias(n["legal_entity_field"]),
                typed("payment_terms_days", pl.Int64).alias(n["payment_terms_field"]),
                typed("po_required", pl.Boolean).alias(n["po_required_field"]),
                col("tax_terms").alias(n["tax_terms_field"]),
                col("expense_policy_id").alias(n["expense_policy_field"]),
                typed(cap, pl.Decimal(18, 2)).alias(n["cap_field"]),
                col("billing_type").alias(n["billing_type_field"]),
                col("po_number").alias(n["po_number_field"]),
                typed("expense_rebillable", pl.Boolean).alias(n["expense_rebillable_field"]),
                typed("expense_markup_pct", pl.Float64).alias(n["expense_markup_field"]),
                typed("expense_cap", pl.Decimal(18, 2)).alias(n["expense_cap_field"]),
                typed("work_at_risk_approved", pl.Boolean).alias(n["work_at_risk_field"]),
                typed("multi_currency_billing", pl.Boolean).alias(n["multi_currency_field"]),
                col("over_time_criteria").alias(n["over_time_field"]),
                typed("value_delta", pl.Decimal(18, 2)).alias(n["value_change_field"]),
                col("change_type").alias(n["change_type_field"]),
                col("new_rate_card_id").alias(n["new_rate_card_field"]),
                col("currency").alias("CurrencyIsoCode"),
                modstamp(now, *[c for c in ("signed_date", start) if c in has]).alias("SystemModstamp"),
            )
        )
    agr = pl.concat(frames, how="vertical_relaxed")
    agr = agr.with_columns(Id=sf_ids("a0K", agr.height), IsDeleted=pl.lit(False))
    ids = dict(zip(agr["_key"].to_list(), agr["Id"].to_list(), strict=True))
    return agr.with_columns(
        pl.col("_key").alias(n["number_field"]),
        pl.col("_parent").replace_strict(ids, default=None, return_dtype=pl.String).alias(n["parent_field"]),
        _own_status(cfg).alias(n["status_field"]),
        _status("_status", 1).alias(n["status_category_field"]),
    )


def _lines(firm: FirmLike, n: dict[str, str], kinds: dict[str, str], ids: pl.DataFrame, now) -> pl.DataFrame:
    """Rate-card lines (on their SOW, MSA or standard rate-card agreement) and CLM-owned milestones."""
    rc = table(firm, "rate_card").with_columns(
        _on=pl.coalesce(
            "sow_id", pl.when(pl.col("scope") == "MSA").then(pl.col("contract_id")), "rate_card_id"
        )
    )
    ms = table(firm, "milestone").filter(pl.col("source_system").fill_null("") != "netsuite")
    rate = rc.select(
        pl.col("_on"),
        pl.col("contract_id").alias("_msa"),
        pl.col("source_id").fill_null(pl.col("rate_card_id")).alias("_name"),
        pl.lit(kinds["rate_card"]).alias(n["line_type_field"]),
        pl.col("role").alias(n["line_description_field"]),
        pl.col("bill_rate").alias(n["line_list_price_field"]),
        pl.lit(None, pl.Decimal(18, 2)).alias(n["line_net_price_field"]),
        pl.col("rate_card_id").alias(n["line_rate_card_field"]),
        pl.col("scope").alias(n["line_scope_field"]),
        pl.col("discount_pct").alias(n["line_discount_field"]),
        pl.col("cost_rate").alias(n["line_cost_rate_field"]),
        pl.col("valid_from").alias(n["line_valid_from_field"]),
        pl.col("valid_to").alias(n["line_valid_to_field"]),
        pl.lit(None, pl.Date).alias(n["line_due_date_field"]),
        _NULL.alias(n["line_status_field"]),
        pl.lit(None, pl.Date).alias(n["line_completed_field"]),
        pl.lit(None, pl.Date).alias(n["line_accepted_field"]),
        _NULL.alias(n["line_trigger_field"]),
        _NULL.alias(n["line_project_field"]),
        pl.col("correlation_id").alias(n["line_correlation_field"]),
        pl.col("currency").alias("CurrencyIsoCode"),
        modstamp(now, "valid_from").alias("SystemModstamp"),
    )
    sow_ccy = table(firm, "sow").select("sow_id", pl.col("currency").alias("_ccy"))
    ms = ms.join(sow_ccy, on="sow_id", how="left")
    mile = ms.select(
        pl.col("sow_id").alias("_on"),
        _NULL.alias("_msa"),
        pl.col("milestone_id").alias("_name"),
        pl.lit(kinds["milestone"]).alias(n["line_type_field"]),
        pl.col("name").alias(n["line_description_field"]),
        pl.lit(None, pl.Decimal(18, 2)).alias(n["line_list_price_field"]),
        pl.col("amount").alias(n["line_net_price_field"]),
        _NULL.alias(n["line_rate_card_field"]),
        _NULL.alias(n["line_scope_field"]),
        pl.lit(None, pl.Float64).alias(n["line_discount_field"]),
        pl.lit(None, pl.Decimal(18, 2)).alias(n["line_cost_rate_field"]),
        pl.lit(None, pl.Date).alias(n["line_valid_from_field"]),
        pl.lit(None, pl.Date).alias(n["line_valid_to_field"]),
        pl.col("due_date").alias(n["line_due_date_field"]),
        pl.col("status").alias(n["line_status_field"]),
        pl.col("completed_date").alias(n["line_completed_field"]),
        pl.col("accepted_date").alias(n["line_accepted_field"]),
        pl.col("billing_trigger").alias(n["line_trigger_field"]),
        pl.col("project_id").alias(n["line_project_field"]),
        pl.col("correlation_id").alias(n["line_correlation_field"]),
        pl.col("_ccy").alias("CurrencyIsoCode"),
        modstamp(now, "completed_date", "accepted_date").alias("SystemModstamp"),
    )
    lines = pl.concat([rate, mile], how="vertical_relaxed")
    lines = lines.join(ids, left_on="_on", right_on="_key", how="left", maintain_order="left")
    msa = ids.rename({"_key": "_msa", "_agr": "_msa_id"})
    lines = lines.join(msa, on="_msa", how="left", maintain_order="left")
    return lines.with_columns(
        Id=sf_ids("a0L", lines.height),
        Name=pl.col("_name"),
        IsDeleted=pl.lit(False),
    ).rename({"_agr": n["line_agreement_field"], "_msa_id": n["line_contract_field"]})


def render(
    firm: FirmLike, out: Path, cfg: Mapping[str, Any] | None = None, config: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Write the agreement and agreement line item objects under out/ (one JSON-lines file each)."""
    n, cats, kinds = names(cfg), categories(cfg), line_types(cfg)
    api = (cfg or {}).get("api_version") or "v66.0"
    s_agr, s_line = streams(cfg)
    now = as_of_ts(firm)
    agr = _agreements(firm, n, cats, now, cfg)
    ids = agr.select("_key", pl.col("Id").alias("_agr"))
    lines = _lines(firm, n, kinds, ids, now)
    return {
        "agreement": _write(agr, s_agr, api, n["agreement_object"], out),
        "line_item": _write(lines, s_line, api, n["line_item_object"], out),
    }
