"""Dynamics 365 Sales exports: accounts, opportunities and CRM invoices as the Web API's rows (JSON lines)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from closedloop.demo.render._dataverse import render_all
from closedloop.demo.render._fmt import FirmLike, table
from collectors.dynamics_sales import CORRELATION
from collectors.dynamics_sales.entities import ENTITIES

ROWS = {"client": pl.col("crm_account_id").is_not_null()}  # ERP-only customers are not in the CRM
OVERRIDES = {"client": {"client_id": pl.col("crm_account_id")}}


def render(firm: FirmLike, out: Path, cfg: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, int]:
    # the org keeps an opportunity's contracting entity as the ERP company's name; resolve.sql maps it to the id
    names = table(firm, "legal_entity").select("legal_entity_id", pl.col("name").alias("_le_name"))
    opp = table(firm, "opportunity").join(names.unique("legal_entity_id"), on="legal_entity_id", how="left")
    opp = opp.with_columns(legal_entity_id=pl.coalesce("_le_name", "legal_entity_id")).drop("_le_name")
    corr = str(cfg.get("correlation_field") or CORRELATION)
    frames = {"opportunity": opp}
    return render_all(
        "dynamics_sales",
        firm,
        out,
        ENTITIES,
        correlation_attr=corr,
        rows=ROWS,
        overrides=OVERRIDES,
        frames=frames,
    )
