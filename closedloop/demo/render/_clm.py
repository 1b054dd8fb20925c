"""The firm's CLM records as any CLM renderer starts from: the canonical frames the Ironclad renderer reads, with
the counterparty and contracting entity names joined on and milestones the PSA owns left out."""

from __future__ import annotations

import uuid

import polars as pl

from closedloop.demo.render._fmt import FirmLike, table

# canonical table -> its id column
ENTITIES = {
    "contract": "contract_id",
    "sow": "sow_id",
    "amendment": "amendment_id",
    "rate_card": "rate_card_id",
    "milestone": "milestone_id",
}


def clm_frames(firm: FirmLike) -> dict[str, pl.DataFrame]:
    """contract, sow, amendment, rate_card, milestone; `_counterparty` and `_le_name` (the entity's name, as a
    CLM holds it: canon resolves names to ids) where the table has a client or legal entity."""
    frames = {name: table(firm, name) for name in ENTITIES}
    # milestones the PSA owns (source_system netsuite) are the ERP renderer's
    frames["milestone"] = frames["milestone"].filter(pl.col("source_system").fill_null("") != "netsuite")
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
    for name in ("contract", "sow"):
        frames[name] = (
            frames[name]
            .join(names, on="client_id", how="left")
            .join(le, on="legal_entity_id", how="left")
            .with_columns(_le_name=pl.coalesce("_le_name", "legal_entity_id"))
        )
    return frames


def opaque_ids(vendor: str, kind: str, ids: pl.Series) -> dict[str, str]:
    """Business id -> a UUID the vendor would assign, derived from it so exports stay deterministic."""
    return {b: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{vendor}:{kind}:{b}")) for b in ids.drop_nulls().unique()}


def mapped(col: str, ids: dict[str, str]) -> pl.Expr:
    """The UUID of a business id column (null stays null; an id with no record stays as it is)."""
    return pl.col(col).replace_strict(ids, default=pl.col(col), return_dtype=pl.String)
