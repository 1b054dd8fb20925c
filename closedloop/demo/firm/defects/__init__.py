"""Defect families: plan (before work is simulated), inject (mutate the clean truth), evaluate (answer key)."""

from __future__ import annotations

import polars as pl

from ..ctx import Ctx

FAMILIES: list = []  # filled at the bottom (modules import this package's base helpers)

KEY_SCHEMA = {
    "defect_id": pl.String,
    "check_id": pl.String,
    "entity_type": pl.String,
    "entity_id": pl.String,
    "correlation_id": pl.String,
    "impact_rc": pl.Decimal(18, 2),
    "detail": pl.String,
    # the second, labelled figure beside the amount at stake (checks/runner.py SECOND_FIGURE); null where none
    "expected_loss_rc": pl.Decimal(18, 2),
}


def plan_all(ctx: Ctx) -> None:
    """Run every family's pre-simulation decisions (e.g. late project creation)."""
    for f in FAMILIES:
        if ctx.defect_scale > 0 and hasattr(f, "plan"):
            f.plan(ctx)


def inject_all(ctx: Ctx) -> None:
    """Mutate the clean truth, family by family, in catalog priority order."""
    for f in FAMILIES:
        if ctx.defect_scale > 0 and hasattr(f, "inject"):
            f.inject(ctx)


def evaluate_all(ctx: Ctx) -> pl.DataFrame:
    """The answer key: every check's failing entities on the final truth, with catalog $-impact."""
    frames = [f.evaluate(ctx) for f in FAMILIES if hasattr(f, "evaluate")]
    frames = [x for x in frames if x is not None and x.height]
    if not frames:
        return pl.DataFrame(schema=KEY_SCHEMA)
    key = pl.concat([x.select(list(KEY_SCHEMA)) for x in frames]).sort("check_id", "entity_type", "entity_id")
    return key


from . import (  # noqa: E402
    amend,
    ar,
    bill,
    billing,
    crm,
    delivery,
    gaps,
    integ,
    mdm,
    opp,
    revrec,
    scope,
    setup,
    subk,
    trace,
)

FAMILIES.extend([setup, crm, amend, billing, opp, ar])
# amendments / cash-CRM / revenue / master data / subcontract / integration owner
FAMILIES.extend([scope, revrec, subk, mdm, integ, trace])
FAMILIES.extend(
    [gaps, bill, delivery]
)  # setup gaps, delivery→bill, bill↔contract, header, milestones, window, cap
