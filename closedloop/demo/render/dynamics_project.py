"""Dynamics 365 Project Operations exports: each Dataverse table as the Web API's rows, one JSON lines file each."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._dataverse import write_currencies, write_entity
from closedloop.demo.render._fmt import FirmLike, as_of_ts, table
from collectors.dynamics_project import CORRELATION
from collectors.dynamics_project.entities import ENTITIES

# which rows of a canonical table the ERP holds (the rest live in the CRM or CLM)
ROWS = {
    "client": (pl.col("erp_customer_id").is_not_null() | pl.col("crm_account_id").is_null()),
    "milestone": pl.col("source_system") == "netsuite",  # PSA-owned milestones; the CLM's come from the CLM
}
OVERRIDES = {  # an ERP customer is keyed by its ERP id
    "client": {
        "client_id": pl.coalesce("erp_customer_id", "client_id"),
        "erp_customer_id": pl.coalesce("erp_customer_id", "client_id"),
    }
}


def render(firm: FirmLike, out: Path, cfg: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    now, corr = as_of_ts(firm), str(cfg.get("correlation_field") or CORRELATION)
    counts: dict[str, int] = {}
    symbols: list[str] = []
    clients = table(firm, "client").select("client_id", pl.coalesce("erp_customer_id", "client_id"))
    customer_ids = dict(clients.drop_nulls().unique("client_id", keep="first").iter_rows())
    for i, entity in enumerate(ENTITIES):
        frame = table(firm, entity.canon)
        if entity.canon in ROWS:
            frame = frame.filter(ROWS[entity.canon])
        for column, target in entity.lookups.items():
            if target == "transactioncurrency":
                symbols += frame[column].drop_nulls().unique().to_list()
            if target == "account":  # a customer lookup points at the ERP customer of the canonical client
                frame = frame.with_columns(
                    pl.col(column).replace_strict(
                        customer_ids, default=pl.col(column), return_dtype=pl.String
                    )
                )
        counts[entity.stream] = write_entity(
            entity,
            frame,
            out,
            correlation_attr=corr,
            now=now,
            base=9_000_000_000 + i * 100_000_000,
            overrides=OVERRIDES.get(entity.canon),
        )
    counts["transactioncurrency"] = write_currencies(symbols, out, now)
    return counts
