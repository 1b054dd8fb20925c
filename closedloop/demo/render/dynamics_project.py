"""Dynamics 365 Project Operations exports: each Dataverse table as the Web API's rows, one JSON lines file each."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._dataverse import render_all
from closedloop.demo.render._fmt import FirmLike, table
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
    clients = table(firm, "client").select("client_id", pl.coalesce("erp_customer_id", "client_id"))
    customer_ids = dict(clients.drop_nulls().unique("client_id", keep="first").iter_rows())
    frames = {}
    for entity in ENTITIES:  # a customer lookup points at the ERP customer of the canonical client
        refs = [c for c, target in entity.lookups.items() if target == "account"]
        if refs:
            frames[entity.canon] = table(firm, entity.canon).with_columns(
                pl.col(c).replace_strict(customer_ids, default=pl.col(c), return_dtype=pl.String)
                for c in refs
            )
    corr = str(cfg.get("correlation_field") or CORRELATION)
    return render_all(
        "dynamics_project",
        firm,
        out,
        ENTITIES,
        correlation_attr=corr,
        rows=ROWS,
        overrides=OVERRIDES,
        frames=frames,
    )
