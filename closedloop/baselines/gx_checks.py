"""The ten checks as Great Expectations validations, as far as GX can express them.

What is installed (great_expectations 1.24.1) decides the form. UnexpectedRowsExpectation, the one GX
expectation that takes a whole SQL query, has metric implementations only for SQLAlchemy and Spark execution
engines, not pandas; GX's SQL datasource on DuckDB needs duckdb-engine (not a dependency here) and fails every
expectation anyway (GX issues #10738, #11579; DESIGN.md). So the check SQL cannot run inside GX on this stack.
What GX can do is validate one DataFrame at a time, row by row (column, column-pair, multicolumn expectations
with row conditions): an analyst does the cross-table work in pandas (the same prep_* frames as the pandas
baseline: GX has no join), hands GX the frame, and GX expresses the failing condition. A check whose condition
is itself a pairwise self-join or a 'every copy after the first' rule (Q2C-100) has no GX form: the analyst
falls back to pandas, and the benchmark charges that pandas time to the GX method.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from closedloop.baselines import pandas_billing as pb
from closedloop.baselines import pandas_time as pt
from closedloop.baselines.frames import Data


@dataclass
class Part:
    """One expectation over one frame; `key` builds the check's entity id from the unexpected row's columns."""

    frame: pd.DataFrame
    expectation: Any
    index: list[str]
    key: Callable[[dict], str]


def _gx() -> tuple[Any, Any, Any, Any]:
    """Import GX lazily and build an in-memory context config (as closedloop.contracts.gxrun does)."""
    from closedloop.contracts.gxrun import _gx as contracts_gx

    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    gx, gxe, config = contracts_gx()
    from great_expectations.expectations.row_conditions import Column

    return gx, gxe, config, Column


def _id(col: str) -> Callable[[dict], str]:
    return lambda row: str(row[col])


def _pair(a: str, b: str) -> Callable[[dict], str]:
    return lambda row: f"{row[a]}:{'' if row[b] is None else row[b]}"


def parts(check_id: str, d: Data, gxe: Any, Column: Any) -> list[Part] | None:
    """The GX form of one check (None: not expressible in GX)."""
    if check_id == "Q2C-056":
        f = pb.prep_056(d)[["invoice_line_id", "line_type", "source_found", "reason_code", "approved_by"]]
        lt = Column("line_type")
        return [
            Part(f, gxe.ExpectColumnValuesToBeInSet(column="source_found", value_set=[True],
                                                    row_condition=lt.is_in(list(pb.SOURCED))),
                 ["invoice_line_id"], _id("invoice_line_id")),
            Part(f, gxe.ExpectColumnValuesToNotBeNull(column="reason_code", row_condition=lt == "adjustment"),
                 ["invoice_line_id"], _id("invoice_line_id")),
            Part(f, gxe.ExpectColumnValuesToNotBeNull(column="approved_by", row_condition=lt == "adjustment"),
                 ["invoice_line_id"], _id("invoice_line_id")),
        ]  # fmt: skip
    if check_id == "Q2C-037":
        f = pt.prep_037(d)[
            ["time_entry_id", "work_date", "start_date", "eff_end_date", "uses_assignments", "covered"]
        ]
        key = _id("time_entry_id")
        return [
            Part(f, gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="eff_end_date", column_B="work_date",
                 or_equal=True, ignore_row_if="either_value_is_missing"), ["time_entry_id"], key),
            Part(f, gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="work_date", column_B="start_date",
                 or_equal=True, ignore_row_if="either_value_is_missing"), ["time_entry_id"], key),
            Part(f, gxe.ExpectColumnValuesToBeInSet(column="covered", value_set=[True],
                 row_condition=Column("uses_assignments") == True), ["time_entry_id"], key),  # noqa: E712
        ]  # fmt: skip
    if check_id == "Q2C-038":  # one row per (item, invoice): an item on two invoices is not unique
        f = pb.prep_038(d)[["line_type", "source_id", "invoice_id"]].drop_duplicates()
        return [Part(f, gxe.ExpectCompoundColumnsToBeUnique(column_list=["line_type", "source_id"]),
                     ["invoice_id"], _pair("line_type", "source_id"))]  # fmt: skip
    if check_id == "Q2C-033":
        f = pt.prep_033(d)[["invoice_line_id", "rate_dev"]]
        return [Part(f, gxe.ExpectColumnValuesToBeBetween(column="rate_dev", max_value=0.005),
                     ["invoice_line_id"], _id("invoice_line_id"))]  # fmt: skip
    if check_id == "Q2C-023":
        f = pt.prep_023(d)[["time_entry_id", "project_id", "role", "rate_scope"]]
        return [Part(f, gxe.ExpectColumnValuesToBeInSet(column="rate_scope", value_set=["SOW", "MSA"]),
                     ["project_id", "role"], _pair("project_id", "role"))]  # fmt: skip
    if check_id == "Q2C-061":
        f = pb.prep_061(d)
        key = _id("amendment_id")
        return [
            Part(f["schedule"][["amendment_id", "sched_dev_c"]],
                 gxe.ExpectColumnValuesToBeBetween(column="sched_dev_c", max_value=1), ["amendment_id"], key),
            Part(f["rate"][["amendment_id", "invoice_id", "rate_dev_c"]],
                 gxe.ExpectColumnValuesToBeBetween(column="rate_dev_c", max_value=1), ["amendment_id"], key),
            # eff_cap is never NULL here (the latest cap amendment sets it), so 'neither' = SQL's NULL rule
            Part(f["cap"][["amendment_id", "project_id", "br_cap_c", "eff_cap_c"]],
                 gxe.ExpectColumnPairValuesToBeEqual(column_A="br_cap_c", column_B="eff_cap_c", ignore_row_if="neither"),
                 ["amendment_id"], key),
            Part(f["end"][["amendment_id", "project_id", "end_date", "eff_end_date"]],
                 gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="end_date", column_B="eff_end_date",
                 or_equal=True, ignore_row_if="either_value_is_missing"), ["amendment_id"], key),
        ]  # fmt: skip
    if check_id == "Q2C-064":
        f = pt.prep_064(d)[["project_id", "hours", "overrun_limit"]]
        return [Part(f, gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="overrun_limit", column_B="hours",
                     or_equal=True), ["project_id"], _id("project_id"))]  # fmt: skip
    if check_id == "Q2C-034":
        f = pt.prep_034(d)[["task_id", "nonbill_hours"]].drop_duplicates("task_id")
        return [Part(f, gxe.ExpectColumnValuesToBeBetween(column="nonbill_hours", max_value=4), ["task_id"],
                     _id("task_id"))]  # fmt: skip
    if check_id == "Q2C-032":
        f = pt.prep_032(d)[["time_entry_id", "project_id", "invoice_line_id"]]
        return [Part(f, gxe.ExpectColumnValuesToNotBeNull(column="invoice_line_id"), ["project_id"],
                     _id("project_id"))]  # fmt: skip
    return None


NOT_EXPRESSIBLE = {
    "Q2C-100": "a duplicate is a pair of invoices matched by a self-join (client, currency, amount, a 3-day window, "
    "shared reference) whose later one's sourced lines are all on the earlier one, and a technical duplicate is "
    "every copy after the first: GX validates rows or columns of one batch; ExpectCompoundColumnsToBeUnique flags "
    "the originals too, and UnexpectedRowsExpectation (a SQL query) has no pandas implementation",
}


class GxRunner:
    """One ephemeral context per pass; each expressible check validated as one suite over its frames."""

    def __init__(self) -> None:
        self.gx, self.gxe, config, self.Column = _gx()
        self.context = self.gx.get_context(mode="ephemeral", project_config=config)
        self.source = self.context.data_sources.add_pandas("baselines")
        self.n = 0

    def run(self, check_id: str, d: Data) -> dict[str, Any] | None:
        """Validate one check, one suite per frame; None when GX cannot express it."""
        from closedloop.contracts.gxrun import _exception

        ps = parts(check_id, d, self.gxe, self.Column)
        if ps is None:
            return None
        failing: set[str] = set()
        unexpected, errors, validate = 0, [], 0.0
        frames: dict[int, list[Part]] = {}
        for p in ps:
            frames.setdefault(id(p.frame), []).append(p)
        for group in frames.values():
            self.n += 1
            t0 = time.perf_counter()
            asset = self.source.add_dataframe_asset(f"{check_id}_{self.n}")
            batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": group[0].frame}
            )
            suite = self.gx.ExpectationSuite(name=f"{check_id}_{self.n}")
            for i, p in enumerate(group):
                p.expectation.meta = {"part": i}
                suite.add_expectation(p.expectation)
            fmt = {"result_format": "COMPLETE", "unexpected_index_column_names": group[0].index}
            res = batch.validate(suite, result_format=fmt)
            validate += time.perf_counter() - t0
            for er in res.results:
                doc = er.to_json_dict()
                error = _exception(doc.get("exception_info"))
                if error:  # GX reports an erroring expectation as failed with empty results
                    errors.append(error[:300])
                    continue
                p = group[int(doc["expectation_config"]["meta"]["part"])]
                result = doc.get("result") or {}
                unexpected += int(result.get("unexpected_count") or 0)
                failing.update(p.key(row) for row in result.get("unexpected_index_list") or [])
        return {"ids": failing, "unexpected_rows": unexpected, "errors": errors, "validate_seconds": validate}
