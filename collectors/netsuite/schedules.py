"""Where a NetSuite account keeps its billing schedules: the modeling variants `billing_schedules` selects.

- billing_schedule (default): billing-schedule records, a header per project and SOW with its lines
  (billingschedule + billingschedule_line, custom fields for the SOW, milestone and line type).
- charges: SuiteBilling / charge-based project billing. Every amount to bill is a `charge` record (project,
  chargedate, amount, currency, chargetype, stage, rule = the project's charge rule); the SOW is the
  project's. Retainer fees are fixed-date charges like any other: canon calls them `fixed`, and the checks
  treat fixed and retainer schedule lines alike.

`milestone_schedules = 'clm_milestones'` is for a firm whose only schedule for milestone-billed SOWs is the
milestone plan in its CLM (Ironclad milestone records with amounts and due dates): the mapping derives one
canon.billing_schedule line per milestone of a project (its id, amount, due date, the project's currency),
after the CLM is mapped. Checks that total or age the schedule judge the same money as before (the milestone
plan is what the firm bills); the one that compares the schedule with the milestones (Q2C-022) reads the
derived milestone link and coverage reports it not covered.

`milestone_acceptance = 'project_task'` is for a PSA that records a milestone's acceptance on the milestone's
project task (a task with ismilestone set and custevent_milestone_id naming the milestone record): status,
completion and acceptance dates come from that task's custom fields; the custom record keeps the plan.

The mapping (mapping.sql) guards each variant's statement with `-- when billing_schedules = '...'`; the
streams of the variants not chosen are not declared, so an account without them is not asked for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from closedloop.settings import Setting

BILLING_SCHEDULES = ("billing_schedule", "charges")
MILESTONE_SCHEDULES = ("erp", "clm_milestones")
MILESTONE_ACCEPTANCE = ("milestone_record", "project_task")
# custom fields (custevent_: project tasks) holding a milestone's acceptance when it lives on its project task
ACCEPTANCE_FIELDS = {
    "custevent_milestone_status": "",
    "custevent_completed_date": "DATE",
    "custevent_accepted_date": "DATE",
}
# the SuiteQL tables each variant reads; the others are not declared for that account
VARIANT_STREAMS = {
    "billing_schedule": ("billingschedule", "billingschedule_line"),
    "charges": ("charge",),
}
# charge stages (REST enumeration values): a NON_BILLABLE charge is not something to bill
CHARGE_STAGES = ("NOT_READY", "READY_FOR_BILLING", "PROCESSED", "NON_BILLABLE")

SETTINGS = [
    Setting(
        "billing_schedules",
        str,
        "billing_schedule",
        "Where billing schedules live: 'billing_schedule' (billing-schedule records and their lines) or 'charges'"
        " (SuiteBilling charge records: chargedate, amount, currency, chargetype, stage; the SOW is the"
        " project's; a charge's milestone in custom_fields.custrecord_milestone_id).",
        choices=BILLING_SCHEDULES,
    ),
    Setting(
        "milestone_schedules",
        str,
        "erp",
        "Where milestone-billed SOWs keep their billing schedule: 'erp' (schedule lines or charges like any other)"
        " or 'clm_milestones' (the CLM's milestones are the schedule: one line per milestone of a project, its"
        " amount on its due date; the ERP holds none, and Q2C-022 schedule vs milestones cannot be judged).",
        choices=MILESTONE_SCHEDULES,
    ),
    Setting(
        "milestone_acceptance",
        str,
        "milestone_record",
        "Where a PSA milestone's status, completion and acceptance dates live: 'milestone_record' (the custom"
        " milestone record) or 'project_task' (the milestone's project task: ismilestone, custevent_milestone_id,"
        " custevent_milestone_status, custevent_completed_date, custevent_accepted_date; renamable in"
        " custom_fields); the record keeps the plan (amount, due date, trigger).",
        choices=MILESTONE_ACCEPTANCE,
    ),
]


def variant(cfg: Mapping[str, Any] | None) -> str:
    """The billing-schedule variant in force (the default when the section leaves it out)."""
    value = (cfg or {}).get("billing_schedules") or "billing_schedule"
    if value not in BILLING_SCHEDULES:
        raise ValueError(f"billing_schedules = {value!r} is not one of {', '.join(BILLING_SCHEDULES)}")
    return value


def undeclared(cfg: Mapping[str, Any] | None) -> set[str]:
    """Streams of the billing-schedule variants this account does not use."""
    chosen = variant(cfg)
    return {s for v, names in VARIANT_STREAMS.items() if v != chosen for s in names}


def acceptance(cfg: Mapping[str, Any] | None) -> str:
    """Where milestone acceptance lives in this account (the default when the section leaves it out)."""
    value = (cfg or {}).get("milestone_acceptance") or "milestone_record"
    if value not in MILESTONE_ACCEPTANCE:
        raise ValueError(f"milestone_acceptance = {value!r} is not one of {', '.join(MILESTONE_ACCEPTANCE)}")
    return value


def variant_specs(
    specs: dict[str, tuple[str, ...]], n: Mapping[str, str], cfg: Mapping[str, Any] | None
) -> dict[str, tuple[str, ...]]:
    """The streams' column specs for this account's variants: charges or schedule records, acceptance fields."""
    skip = undeclared(cfg)
    out = {k: v for k, v in (specs | charge_specs(n)).items() if k not in skip}
    if acceptance(cfg) == "project_task":
        extra = tuple(f"{n[f]}:{t}" if t else n[f] for f, t in ACCEPTANCE_FIELDS.items())
        out["projecttask"] = out["projecttask"] + extra
    return out


def charge_specs(n: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    """The charge table's columns (SuiteQL names; custom fields are 'other record' fields, custrecord_...)."""
    return {
        "charge": (
            "id",
            "project",
            "billto",
            "chargedate:DATE",
            "amount:DECIMAL(18,2)",
            "currency",
            "chargetype",
            "stage",
            "description",
            "rule",
            n["custrecord_milestone_id"],
            n["correlation_record_field"],
            "lastmodifieddate:TIMESTAMPTZ",
        )
    }


def variant_value_columns(cfg: Mapping[str, Any] | None) -> dict[str, tuple[str, str, None]]:
    """Enumerated canonical columns whose vendor values another variant reads elsewhere (discover's value maps)."""
    out: dict[str, tuple[str, str, None]] = {}
    if variant(cfg) == "charges":
        out["billing_schedule.line_type"] = ("charge", "chargetype", None)
    if acceptance(cfg) == "project_task":
        out["milestone.status"] = ("projecttask", "custevent_milestone_status", None)
    return out
