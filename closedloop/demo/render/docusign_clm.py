"""DocuSign Navigator exports: every agreement document as GET /v1/accounts/{id}/agreements returns it, one JSON
line per agreement in agreements.jsonl (the sandbox pages over this file; the files transport reads it)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._clm import clm_frames, mapped, opaque_ids
from closedloop.demo.render._fmt import FirmLike, as_of_ts, json_object, json_value, jstr, modstamp
from collectors.docusign_clm.streams import agreement_types, custom_keys

TS = "%Y-%m-%dT%H:%M:%SZ"
# Navigator's payment_terms_due_date enum by day count (other counts: OTHER; the custom provision is exact)
TERMS = {
    7: "SEVEN_DAYS",
    15: "FIFTEEN_DAYS",
    30: "THIRTY_DAYS",
    45: "FORTY_FIVE_DAYS",
    60: "SIXTY_DAYS",
    90: "NINETY_DAYS",
    0: "ON_RECEIPT",
}
# custom provisions written per entity: (logical name, canonical column, raw type)
CUSTOM = {
    "contract": [
        ("contract_id", "contract_id", "VARCHAR"),
        ("client_id", "client_id", "VARCHAR"),
        ("legal_entity", "_le_name", "VARCHAR"),
        ("opportunity_id", "opportunity_id", "VARCHAR"),
        ("contract_type", "contract_type", "VARCHAR"),
        ("status", "status", "VARCHAR"),
        ("payment_terms_days", "payment_terms_days", "BIGINT"),
        ("po_required", "po_required", "BOOLEAN"),
        ("tax_terms", "tax_terms", "VARCHAR"),
        ("expense_policy_id", "expense_policy_id", "VARCHAR"),
        ("correlation_id", "correlation_id", "VARCHAR"),
    ],
    "sow": [
        ("sow_id", "sow_id", "VARCHAR"),
        ("client_id", "client_id", "VARCHAR"),
        ("legal_entity", "_le_name", "VARCHAR"),
        ("opportunity_id", "opportunity_id", "VARCHAR"),
        ("status", "status", "VARCHAR"),
        ("cap_amount", "cap_amount", "DECIMAL(18,2)"),
        ("billing_type", "billing_type", "VARCHAR"),
        ("payment_terms_days", "payment_terms_days", "BIGINT"),
        ("po_number", "po_number", "VARCHAR"),
        ("expense_rebillable", "expense_rebillable", "BOOLEAN"),
        ("expense_markup_pct", "expense_markup_pct", "DOUBLE"),
        ("expense_cap", "expense_cap", "DECIMAL(18,2)"),
        ("expense_policy_id", "expense_policy_id", "VARCHAR"),
        ("work_at_risk_approved", "work_at_risk_approved", "BOOLEAN"),
        ("multi_currency_billing", "multi_currency_billing", "BOOLEAN"),
        ("over_time_criteria", "over_time_criteria", "VARCHAR"),
        ("correlation_id", "correlation_id", "VARCHAR"),
        ("milestones", "_milestones", "JSON"),
    ],
    "amendment": [
        ("amendment_id", "amendment_id", "VARCHAR"),
        ("amendment_no", "amendment_no", "BIGINT"),
        ("status", "status", "VARCHAR"),
        ("value_delta", "value_delta", "DECIMAL(18,2)"),
        ("new_end_date", "new_end_date", "DATE"),
        ("new_cap_amount", "new_cap_amount", "DECIMAL(18,2)"),
        ("new_rate_card_id", "new_rate_card_id", "VARCHAR"),
        ("change_type", "change_type", "VARCHAR"),
        ("correlation_id", "correlation_id", "VARCHAR"),
    ],
    "rate_card": [
        ("rate_card_id", "rate_card_id", "VARCHAR"),
        ("scope", "scope", "VARCHAR"),
        ("contract_id", "contract_id", "VARCHAR"),
        ("correlation_id", "correlation_id", "VARCHAR"),
        ("rate_lines", "_lines", "JSON"),
    ],
}
# standard provisions per entity: (provision, canonical column, raw type)
PROVISIONS = {
    "contract": [
        ("execution_date", "signed_date"),
        ("effective_date", "effective_date"),
        ("expiration_date", "end_date"),
    ],
    "sow": [
        ("execution_date", "signed_date"),
        ("effective_date", "start_date"),
        ("expiration_date", "end_date"),
    ],
    "amendment": [("execution_date", "signed_date"), ("effective_date", "effective_date")],
    "rate_card": [],
}
DISPLAY = {
    "contract": "Master Service Agreement",
    "sow": "Statement of Work",
    "amendment": "Amendment",
    "rate_card": "Rate Schedule",
}
RATE_LINE = [
    ("line_id", "_line_id", "VARCHAR"),
    ("role", "role", "VARCHAR"),
    ("bill_rate", "bill_rate", "DECIMAL(18,2)"),
    ("discount_pct", "discount_pct", "DOUBLE"),
    ("cost_rate", "cost_rate", "DECIMAL(18,2)"),
    ("valid_from", "valid_from", "DATE"),
    ("valid_to", "valid_to", "DATE"),
]
MILESTONE = [
    ("milestone_id", "milestone_id", "VARCHAR"),
    ("project_id", "project_id", "VARCHAR"),
    ("name", "name", "VARCHAR"),
    ("amount", "amount", "DECIMAL(18,2)"),
    ("due_date", "due_date", "DATE"),
    ("status", "status", "VARCHAR"),
    ("completed_date", "completed_date", "DATE"),
    ("accepted_date", "accepted_date", "DATE"),
    ("billing_trigger", "billing_trigger", "VARCHAR"),
    ("correlation_id", "correlation_id", "VARCHAR"),
]
ENTITY_TYPE = {"contract": "msa", "sow": "sow", "amendment": "amendment", "rate_card": "rate_card"}


def _obj(fields: list[tuple[str, str, str]], keys: Mapping[str, str] | None = None) -> pl.Expr:
    """A JSON object of typed values; absent values are left out (Navigator omits unset provisions)."""
    return json_object(
        [((keys or {}).get(k, k), json_value(pl.col(c), t, TS)) for k, c, t in fields], keep_nulls=False
    )


def _array(frame: pl.DataFrame, by: str, item: pl.Expr, alias: str) -> pl.DataFrame:
    """Parent id -> JSON array text of its items, in a stable order."""
    return (
        frame.with_columns(_item=item)
        .group_by(by)
        .agg(pl.col("_item").sort())
        .select(pl.col(by), (pl.lit("[") + pl.col("_item").list.join(",") + pl.lit("]")).alias(alias))
    )


def _status(col: str) -> pl.Expr:
    """Navigator's own three-valued status (the account's detailed status is a custom provision)."""
    s = pl.col(col).fill_null("")
    return (
        pl.when(s.is_in(["executed", "completed"]))
        .then(pl.lit("COMPLETE"))
        .when(s.is_in(["draft", "in_review"]))
        .then(pl.lit("PENDING"))
        .otherwise(pl.lit("INACTIVE"))
    )


def render(
    firm: FirmLike, out: Path, cfg: Mapping[str, Any] | None = None, config: Mapping | None = None
) -> dict[str, int]:
    """Write agreements.jsonl under out/: MSAs, SOWs (with their CLM milestones), amendments, rate schedules."""
    cfg = cfg or {}
    keys, types, now = custom_keys(cfg), agreement_types(cfg), as_of_ts(firm)
    f = clm_frames(firm)
    uuids = {e: opaque_ids("docusign", e, f[e][f"{e}_id"]) for e in ("contract", "sow", "amendment")}
    ms = f["milestone"]
    sow = f["sow"]
    if ms.height:
        sow = sow.join(_array(ms, "sow_id", _obj(MILESTONE), "_milestones"), on="sow_id", how="left")
    sow = sow.with_columns(
        _milestones=pl.col("_milestones") if "_milestones" in sow.columns else pl.lit(None, pl.String)
    )
    rc = f["rate_card"].with_columns(_line_id=pl.coalesce("source_id", "rate_card_id"))
    group = ["rate_card_id", "scope", "sow_id", "contract_id", "currency", "correlation_id"]
    lines = (
        rc.with_columns(_item=_obj(RATE_LINE))
        .group_by(group, maintain_order=True)
        .agg(pl.col("_item").sort())
    )
    rc_docs = lines.with_columns(
        _lines=pl.lit("[") + pl.col("_item").list.join(",") + pl.lit("]"),
        _key=pl.concat_str([pl.col(c).fill_null("") for c in group], separator="|"),
    )
    uuids["rate_card"] = opaque_ids("docusign", "rate_card", rc_docs["_key"])
    frames = {
        "contract": f["contract"].with_columns(
            _id=mapped("contract_id", uuids["contract"]),
            _parent=pl.lit(None, pl.String),
            _value=pl.lit(None, pl.String),
        ),
        "sow": sow.with_columns(
            _id=mapped("sow_id", uuids["sow"]),
            _parent=mapped("contract_id", uuids["contract"]),
            _value=pl.col("value").cast(pl.String),
        ),
        "amendment": f["amendment"].with_columns(
            _id=mapped("amendment_id", uuids["amendment"]),
            _parent=mapped("sow_id", uuids["sow"]),
            _value=pl.lit(None, pl.String),
            currency=pl.lit(None, pl.String),
        ),
        "rate_card": rc_docs.with_columns(
            _id=mapped("_key", uuids["rate_card"]),
            _parent=pl.when(pl.col("sow_id").is_not_null())
            .then(mapped("sow_id", uuids["sow"]))
            .otherwise(mapped("contract_id", uuids["contract"])),
            _value=pl.lit(None, pl.String),
        ),
    }
    parts = []
    for entity, df in frames.items():
        id_col = f"{entity}_id"
        if "_counterparty" not in df.columns:
            df = df.with_columns(_counterparty=pl.lit(None, pl.String), client_id=pl.lit(None, pl.String))
        days = pl.col("payment_terms_days") if "payment_terms_days" in df.columns else pl.lit(None, pl.Int64)
        provisions = json_object(
            [(p, json_value(pl.col(c), "DATE", TS)) for p, c in PROVISIONS[entity]]
            + [
                ("total_agreement_value", pl.col("_value")),
                ("total_agreement_value_currency_code", jstr(pl.col("currency"))),
                (
                    "payment_terms_due_date",
                    jstr(
                        pl.when(days.is_not_null()).then(
                            days.replace_strict(TERMS, default="OTHER", return_dtype=pl.String)
                        )
                    ),
                ),
            ],
            keep_nulls=False,
        )
        title = pl.lit(DISPLAY[entity] + " - ") + pl.coalesce(pl.col("_counterparty"), pl.col(id_col))
        parties = (
            pl.when(pl.col("_counterparty").is_not_null())
            .then(
                pl.lit("[")
                + json_object(
                    [
                        ("id", jstr(pl.col("client_id"))),
                        ("name_in_agreement", jstr(pl.col("_counterparty"))),
                        ("preferred_name", jstr(pl.col("_counterparty"))),
                    ],
                    keep_nulls=False,
                )
                + pl.lit("]")
            )
            .otherwise(pl.lit("[]"))
        )
        dates = [c for p, c in PROVISIONS[entity] if p != "expiration_date"] or (
            ["valid_from"] if "valid_from" in df.columns else []
        )
        stamp = jstr(modstamp(now, *dates).dt.strftime(TS))
        record = json_object(
            [
                ("id", jstr(pl.col("_id"))),
                ("title", jstr(title)),
                ("file_name", jstr(title + pl.lit(".pdf"))),
                ("type", jstr(pl.lit(types[ENTITY_TYPE[entity]]))),
                ("category", jstr(pl.lit("Services"))),
                ("status", jstr(_status("status") if "status" in df.columns else pl.lit("COMPLETE"))),
                ("review_status", jstr(pl.lit("COMPLETE"))),
                ("parties", parties),
                ("provisions", provisions),
                ("custom_provisions", _obj(CUSTOM[entity], keys)),
                (
                    "related_agreement_documents",
                    pl.when(pl.col("_parent").is_not_null())
                    .then(
                        json_object(
                            [("parent_agreement_document_id", jstr(pl.col("_parent")))], keep_nulls=False
                        )
                    )
                    .otherwise(pl.lit("{}")),
                ),
                ("source_name", jstr(pl.lit("eSignature"))),
                ("metadata", json_object([("created_at", stamp), ("modified_at", stamp)], keep_nulls=False)),
            ],
            keep_nulls=True,
        )
        parts.append(df.select(record.alias("line")))
    out.mkdir(parents=True, exist_ok=True)
    lines_df = pl.concat(parts)
    lines_df.write_csv(out / "agreements.jsonl", include_header=False, quote_style="never")
    return {"agreements": lines_df.height}
