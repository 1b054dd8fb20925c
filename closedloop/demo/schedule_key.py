"""The answer key of an estate whose billing schedules or milestones are modeled differently (NetSuite
billing_schedules, milestone_schedules, milestone_acceptance): what changes when a variant moves records.

The generator injects defects into the records of the default estate. A variant that has no such records
(milestone-billed SOWs whose only schedule is the CLM's milestone plan) cannot hold the defects injected
there, nor their co-trips: its key says so, entity by entity, and says which checks it cannot judge.
Charges keep every schedule line's id and acceptance on project tasks keeps every milestone's values, so
their key is the firm's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from closedloop.demo.render._fmt import table
from closedloop.demo.render.variants import EstateFirm, milestone_plan

# Checks that read the schedule's total or existence per SOW, keyed by an entity of that SOW.
SCHEDULE_TOTAL_CHECKS = {"Q2C-020": "project", "Q2C-021": "sow", "Q2C-061": "amendment"}
# Checks a variant cannot judge (coverage reports them not covered): their key rows are not expected.
NOT_JUDGED = {"clm_milestones": ("Q2C-022",)}


def not_judged(config: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Check ids the estate's variants leave unjudged (coverage: not covered, naming the setting)."""
    return set(NOT_JUDGED["clm_milestones"]) if _clm_milestones(config) else set()


def schedule_key(firm: Any, key: pl.DataFrame, config: Mapping[str, Mapping[str, Any]]) -> pl.DataFrame:
    """`key` as the estate `config` (render_exports / closedloop.toml sections) holds schedules and milestones."""
    if _clm_milestones(config):
        key = _clm_milestone_key(firm, key)
    elif (config.get("netsuite") or {}).get("milestone_acceptance") == "project_task":
        _acceptance_needs_a_task(firm)  # the key stands: every accepted PSA milestone has its task
    return key


def _clm_milestones(config: Mapping[str, Mapping[str, Any]]) -> bool:
    return ((config.get("netsuite") or {}).get("milestone_schedules") or "erp") == "clm_milestones"


def _clm_milestone_key(firm: Any, key: pl.DataFrame) -> pl.DataFrame:
    """milestone_schedules = 'clm_milestones': the schedule of a milestone-billed SOW is its milestone plan.

    - Q2C-022 (schedule vs milestones) compares the plan with itself: not judged, its rows go.
    - Where the ERP's milestone lines differed from the plan (an injected drift or gap), that difference does
      not exist in this estate, so the SOW's schedule-total findings (020 project, 021 SOW, 061 amendment)
      are the ones its milestone plan gives: those SOWs are re-judged on the estate's truth, straight from the
      canonical tables (closedloop.demo.answer's fast path), every other SOW keeps the generator's key.
    """
    erp = table(firm, "billing_schedule").filter(pl.col("milestone_id").is_not_null())
    plan = milestone_plan(firm)
    cols = ["milestone_id", "sow_id", "amount", "bill_date", "currency"]
    diff = erp.select(cols).join(
        plan.select(cols), on="milestone_id", how="full", coalesce=True, nulls_equal=True
    )
    changed = diff.filter(
        pl.col("sow_id").ne_missing(pl.col("sow_id_right"))
        | pl.col("amount").cast(pl.Decimal(18, 2)).ne_missing(pl.col("amount_right").cast(pl.Decimal(18, 2)))
        | pl.col("bill_date").ne_missing(pl.col("bill_date_right"))
        | pl.col("currency").ne_missing(pl.col("currency_right"))
    )
    affected = set(changed["sow_id"].drop_nulls()) | set(changed["sow_id_right"].drop_nulls())
    key = key.filter(~pl.col("check_id").is_in(list(NOT_JUDGED["clm_milestones"])))
    if not affected:
        return key
    sow_of = _sow_of(firm)
    schedule_checks = pl.col("check_id").is_in(list(SCHEDULE_TOTAL_CHECKS))

    def on_affected(frame: pl.DataFrame) -> pl.DataFrame:
        """The frame's rows with the SOW their entity belongs to (_sow, _cid) and whether it is affected (_hit)."""
        out = frame.join(sow_of, on=["entity_type", "entity_id"], how="left")
        return out.with_columns(_hit=schedule_checks & pl.col("_sow").is_in(sorted(affected)))

    kept = on_affected(key).filter(~pl.col("_hit")).select(key.columns)
    rejudged = on_affected(_fast_path(firm, plan)).filter("_hit")
    rejudged = rejudged.with_columns(
        defect_id=pl.lit("estate:clm_milestones"), correlation_id=pl.col("_cid"), detail=pl.lit("")
    )
    return pl.concat([kept, rejudged.select(key.columns).cast(key.schema)]).sort(
        "check_id", "entity_type", "entity_id"
    )


def _sow_of(firm: Any) -> pl.DataFrame:
    """[entity_type, entity_id, _sow, _cid]: the SOW (and its flow) of the entities the schedule-total checks name."""
    sow = table(firm, "sow").select("sow_id", _cid=pl.col("correlation_id"))
    parts = [
        table(firm, "sow").select(entity_type=pl.lit("sow"), entity_id="sow_id", _sow="sow_id"),
        table(firm, "project").select(entity_type=pl.lit("project"), entity_id="project_id", _sow="sow_id"),
        table(firm, "amendment").select(
            entity_type=pl.lit("amendment"), entity_id="amendment_id", _sow="sow_id"
        ),
    ]
    out = pl.concat(parts).unique(["entity_type", "entity_id"], keep="first")
    return out.join(sow, left_on="_sow", right_on="sow_id", how="left")


def _fast_path(firm: Any, plan: pl.DataFrame) -> pl.DataFrame:
    """Findings of the estate's truth: the ERP's non-milestone lines plus the milestone plan as the schedule."""
    from closedloop.demo import answer

    erp = table(firm, "billing_schedule").filter(pl.col("milestone_id").is_null())
    tables = dict(firm.tables) | {"billing_schedule": pl.concat([erp, plan], how="diagonal_relaxed")}
    estate = EstateFirm(tables=tables, params=firm.params)
    con, _ = answer.run(estate, run_id="estate")  # type: ignore[arg-type]
    return answer.findings(con, "estate")


def _acceptance_needs_a_task(firm: Any) -> None:
    """milestone_acceptance = 'project_task': acceptance lives on the milestone's project task, so a milestone
    without a project cannot hold any. The generator never accepts one (its SOW was never delivered); if it
    did, this key would not be the estate's, so say so instead of scoring against it."""
    ms = table(firm, "milestone").filter(
        (pl.col("source_system") == "netsuite") & pl.col("project_id").is_null()
    )
    held = ms.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in ("completed_date", "accepted_date")))
    if held.height:
        raise ValueError(
            f"milestones {held['milestone_id'].to_list()[:5]} are accepted without a project task"
        )
