"""Ironclad exports: repository records as GET /records returns them, one JSON-lines file per record type."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import FirmLike, as_of_ts, json_object, jstr, modstamp, table, write_lines
from collectors.ironclad.keys import KEYED, LINKS, RECORD_ID, key_property, link_mode
from collectors.ironclad.streams import PROPERTIES, property_keys, record_types

TS = "%Y-%m-%dT%H:%M:%S%.3fZ"

# Canonical table, stream, record display name, id column, canonical columns feeding lastUpdated.
RECORDS = [
    ("contract", "msa", "Master Services Agreement", "contract_id", ("signed_date", "effective_date")),
    ("sow", "sow", "Statement of Work", "sow_id", ("signed_date", "start_date")),
    ("amendment", "amendment", "Amendment", "amendment_id", ("signed_date", "effective_date")),
    ("rate_card", "rate_card", "Rate Card Line", "rate_card_id", ("valid_from",)),
    ("milestone", "milestone", "Milestone", "milestone_id", ("completed_date", "accepted_date")),
]
# Per stream: the logical properties written (canonical column of the same name unless mapped here).
PROPS = {
    "msa": [
        "client_id",
        "counterparty",
        "legal_entity",
        "opportunity_id",
        "contract_type",
        "status",
        "signed_date",
        "effective_date",
        "end_date",
        "currency",
        "payment_terms_days",
        "po_required",
        "tax_terms",
        "expense_policy_id",
        "correlation_id",
    ],
    "sow": [
        "contract_id",
        "client_id",
        "counterparty",
        "legal_entity",
        "opportunity_id",
        "status",
        "signed_date",
        "start_date",
        "end_date",
        "currency",
        "value",
        "cap_amount",
        "billing_type",
        "payment_terms_days",
        "po_number",
        "expense_rebillable",
        "expense_markup_pct",
        "expense_cap",
        "expense_policy_id",
        "work_at_risk_approved",
        "multi_currency_billing",
        "over_time_criteria",
        "correlation_id",
    ],
    "amendment": [
        "sow_id",
        "amendment_no",
        "status",
        "signed_date",
        "effective_date",
        "value_delta",
        "new_end_date",
        "new_cap_amount",
        "new_rate_card_id",
        "change_type",
        "correlation_id",
    ],
    "rate_card": [
        "rate_card_id",
        "scope",
        "sow_id",
        "contract_id",
        "role",
        "currency",
        "bill_rate",
        "discount_pct",
        "cost_rate",
        "valid_from",
        "valid_to",
        "correlation_id",
    ],
    "milestone": [
        "sow_id",
        "project_id",
        "amount",
        "due_date",
        "status",
        "completed_date",
        "accepted_date",
        "billing_trigger",
        "correlation_id",
    ],
}
SOURCE_COLUMN = {"counterparty": "_counterparty", "legal_entity": "_le_name"}


def _value(e: pl.Expr, ptype: str, ccy: pl.Expr) -> pl.Expr:
    """The JSON `value` of a property of an Ironclad type; null when the record has no value."""
    if ptype == "date":
        return jstr(e.dt.strftime("%Y-%m-%d"))
    if ptype == "number":
        return e.cast(pl.String)
    if ptype == "boolean":
        return pl.when(e).then(pl.lit("true")).when(e.not_()).then(pl.lit("false"))
    if ptype == "monetaryAmount":
        # assumed shape, unconfirmed (vendor-apis.md 4a); the mapping also reads a plain-number value
        body = json_object([("amount", e.cast(pl.String)), ("currency", jstr(ccy))], keep_nulls=True)
        return pl.when(e.is_not_null()).then(body)
    return jstr(e)


def _properties(
    stream: str, keys: dict[str, str], ccy: pl.Expr, extra: list[tuple[str, pl.Expr]] = ()
) -> pl.Expr:
    """The `properties` object: every property {"type", "value"}; unset properties are left out.

    `extra` adds string properties by tenant key (the business key of a tenant keyed by a property).
    """
    pairs = []
    for logical in PROPS[stream]:
        ptype = PROPERTIES[logical][1]
        source = f"_link_{logical}" if f"{stream}.{logical}" in LINKS else SOURCE_COLUMN.get(logical, logical)
        val = _value(pl.col(source), ptype, ccy)
        prop = json_object([("type", pl.lit(f'"{ptype}"')), ("value", val)], keep_nulls=True)
        pairs.append((keys[logical], pl.when(val.is_not_null()).then(prop)))
    for key, e in extra:
        prop = json_object([("type", pl.lit('"string"')), ("value", jstr(e))], keep_nulls=True)
        pairs.append((key, pl.when(e.is_not_null()).then(prop)))
    return json_object(pairs, keep_nulls=False)


def _opaque_ids(stream: str, ids: pl.Series) -> dict[str, str]:
    """Business id -> an opaque record id (UUID-like), derived from it so exports stay deterministic."""
    return {
        b: str(uuid.uuid5(uuid.NAMESPACE_URL, f"ironclad:{stream}:{b}")) for b in ids.drop_nulls().unique()
    }


def _record_ids(cfg: Mapping[str, Any] | None, frames: dict[str, pl.DataFrame]) -> dict[str, dict[str, str]]:
    """Per keyed stream whose business key is a property (sources.ironclad.keys): business id -> record id."""
    out = {}
    for canon, stream, _, id_col, _ in RECORDS:
        if stream in KEYED and key_property(cfg, stream):
            out[stream] = _opaque_ids(stream, frames[canon][id_col])
    return out


def _links(cfg: Mapping[str, Any] | None, stream: str, recids: dict[str, dict[str, str]]) -> list[pl.Expr]:
    """_link_<property> per reference of the stream: the parent's record id where the tenant links by it.

    A reference to a record the repository does not hold stays the business id it is (no record id exists).
    """
    out = []
    for link, parent in LINKS.items():
        child, logical = link.split(".")
        if child != stream:
            continue
        col = pl.col(logical)
        if link_mode(cfg, link) == RECORD_ID and recids.get(parent):
            col = col.replace_strict(recids[parent], default=col, return_dtype=pl.String)
        out.append(col.alias(f"_link_{logical}"))
    return out


def _child_ids(links: pl.DataFrame, id_col: str) -> pl.DataFrame:
    """Parent id -> JSON array text of its children's ids (sorted, so bytes are deterministic)."""
    return (
        links.drop_nulls()
        .with_columns(j=jstr(pl.col("child")))
        .group_by("parent")
        .agg(pl.col("j").sort())
        .select(
            pl.col("parent").alias(id_col),
            (pl.lit("[") + pl.col("j").list.join(",") + pl.lit("]")).alias("_children"),
        )
    )


def render(
    firm: FirmLike,
    out: Path,
    cfg: Mapping[str, Any] | None = None,
    project_ids: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Write records/<type>.jsonl per record type and records/metadata.json under out/.

    cfg keys/links shape record ids and references (collectors/ironclad/keys.py); project_ids maps the
    milestone's NetSuite project reference to the key the ERP is configured to know projects by.
    """
    keys, rtypes, now = property_keys(cfg), record_types(cfg), as_of_ts(firm)
    frames = {canon: table(firm, canon) for canon, *_ in RECORDS}
    # milestones the PSA owns (source_system netsuite) are rendered by the NetSuite renderer instead
    frames["milestone"] = frames["milestone"].filter(pl.col("source_system").fill_null("") != "netsuite")
    if project_ids:
        frames["milestone"] = frames["milestone"].with_columns(
            project_id=pl.col("project_id").replace_strict(
                dict(project_ids), default=pl.col("project_id"), return_dtype=pl.String
            )
        )
    # a rate card has one record per line (role): the line is the record, the card id a property
    frames["rate_card"] = frames["rate_card"].with_columns(_rid=pl.coalesce("source_id", "rate_card_id"))
    recids = _record_ids(cfg, frames)
    for canon, stream, _, id_col, _ in RECORDS:
        rid = pl.col("_rid") if canon == "rate_card" else pl.col(id_col)
        if recids.get(stream):
            rid = rid.replace_strict(recids[stream], default=rid, return_dtype=pl.String)
        frames[canon] = frames[canon].with_columns(rid.alias("_recid"), *_links(cfg, stream, recids))
    names = (
        table(firm, "client")
        .select("client_id", pl.col("name").alias("_counterparty"))
        .unique("client_id", keep="first")
    )
    le = (
        table(firm, "legal_entity")
        .select("legal_entity_id", pl.col("name").alias("_le_name"))
        .unique("legal_entity_id", keep="first")
    )
    sow_ccy = frames["sow"].select("sow_id", pl.col("currency").alias("_sow_ccy"))
    links = {  # parent business id -> children's record ids (childIds)
        "contract_id": frames["sow"].select(
            pl.col("contract_id").alias("parent"), pl.col("_recid").alias("child")
        ),
        "sow_id": pl.concat(
            [
                frames[t].select(pl.col("sow_id").alias("parent"), pl.col("_recid").alias("child"))
                for t in ("amendment", "milestone", "rate_card")
            ]
        ),
    }
    counts: dict[str, int] = {}
    for k, (canon, stream, display, id_col, dates) in enumerate(RECORDS):
        df = frames[canon]
        if "client_id" in df.columns:
            df = df.join(names, on="client_id", how="left")
        if "legal_entity_id" in df.columns:
            df = df.join(le, on="legal_entity_id", how="left").with_columns(
                _le_name=pl.coalesce("_le_name", "legal_entity_id")
            )
        if "currency" not in df.columns:
            df = df.join(sow_ccy, on="sow_id", how="left").with_columns(currency=pl.col("_sow_ccy"))
        df = (
            df.with_columns(_counterparty=pl.lit(None, pl.String))
            if "_counterparty" not in df.columns
            else df
        )
        df = df.with_columns(_le_name=pl.lit(None, pl.String)) if "_le_name" not in df.columns else df
        if id_col in links:
            df = df.join(_child_ids(links[id_col], id_col), on=id_col, how="left")
        df = df.with_columns(
            _children=pl.col("_children").fill_null("[]") if "_children" in df.columns else pl.lit("[]")
        )
        ironclad_id = pl.lit(f"IC-{k + 1}") + pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)
        name = (
            pl.col("name")
            if canon == "milestone"
            else pl.lit(display + " - ") + pl.coalesce(pl.col("_counterparty"), pl.col(id_col))
        )
        key_prop = key_property(cfg, stream)
        extra = [(key_prop, pl.col(id_col))] if key_prop else []
        record = json_object(
            [
                ("id", jstr(pl.col("_recid"))),
                ("ironcladId", jstr(ironclad_id)),
                ("type", jstr(pl.lit(rtypes[stream]))),
                ("name", jstr(name)),
                ("lastUpdated", jstr(modstamp(now, *dates).dt.strftime(TS))),
                ("properties", _properties(stream, keys, pl.col("currency").fill_null("USD"), extra)),
                ("childIds", pl.col("_children")),
            ],
            keep_nulls=True,
        )
        counts[stream] = write_lines(df, record, out / "records" / f"{rtypes[stream]}.jsonl")
    key_props = {key_property(cfg, s): s for s in KEYED if key_property(cfg, s)}
    _metadata(out / "records" / "metadata.json", keys, rtypes, key_props)
    return counts


def _metadata(path: Path, keys: dict[str, str], rtypes: dict[str, str], key_props: Mapping[str, str]) -> None:
    """GET /records/metadata: record type and property keys with display names and types."""
    displays = {stream: display for _, stream, display, _, _ in RECORDS}
    props = {
        keys[logical]: {"displayName": logical.replace("_", " ").title(), "type": ptype}
        for logical, (_, ptype) in PROPERTIES.items()
    }
    for prop, stream in key_props.items():
        props[prop] = {"displayName": f"{displays[stream]} Number", "type": "string"}
    doc = {"recordTypes": {rtypes[s]: {"displayName": displays[s]} for s in rtypes}, "properties": props}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
