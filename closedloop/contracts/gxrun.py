"""Validate targets through Great Expectations' pandas path in an ephemeral context (GX on DuckDB SQL is broken)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import warnings
from typing import Any

import duckdb

from closedloop.contracts.rules import Target
from collectors.runner import quote


def _gx():
    """Import GX only when contracts run: it costs ~2 s, and the CLI and app should not pay it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    # GX imports pyspark when it is installed (the spark engine): pyspark warns about pandas 3 and, without its
    # Spark Connect extras, prints to stdout, where `closedloop run --json` writes its one JSON document
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

    # in memory, no temporary docs site (the default leaves a /tmp directory behind per run), no progress bars
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    return gx, gxe, config


def _exception(info: Any) -> str | None:
    """GX reports an erroring expectation as success=False with empty results; the reason is in here."""
    if not isinstance(info, dict):
        return None
    if "raised_exception" in info:
        return (info.get("exception_message") or "error") if info.get("raised_exception") else None
    for value in info.values():
        msg = _exception(value)
        if msg:
            return msg
    return None


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


# Rows per frame GX validates. GX's pandas metrics hold several copies of a frame while they run (a 183 MB
# frame of 3.3M time entries peaked the process at 1.7 GB), so a bigger relation is validated in frames of
# this many rows, streamed from DuckDB, and each rule's results are summed over them.
CHUNK_ROWS = 1_000_000
# Rules judged over the whole relation, not row by row: over a chunked relation GX sees only the rows whose
# key occurs more than once (found by DuckDB), so a duplicate is one wherever its twin lies.
UNIQUE = frozenset({"ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique"})


def validate_targets(
    con: duckdb.DuckDBPyConnection,
    targets: list[Target],
    *,
    sample_keys: int = 10,
    chunk_rows: int = CHUNK_ROWS,
) -> list[dict[str, Any]]:
    """One suite per target, validated on pandas frames of just the columns the rules read."""
    gx, gxe, config = _gx()
    ctx = gx.get_context(mode="ephemeral", project_config=config)
    run = _Validator(gx, gxe, ctx.data_sources.add_pandas("closedloop"), sample_keys)
    rows: list[dict[str, Any]] = []
    for i, t in enumerate(targets):
        if not t.rules:
            continue
        if (
            not any(r.kind == "exists" for r in t.rules)
            and not con.sql(f"SELECT 1 FROM {t.relation} LIMIT 1").fetchone()
        ):
            continue  # an empty relation breaks no row rule: spare GX the ~50 ms per suite
        base = {"source": t.source, "stream": t.stream}
        try:
            total = con.sql(f"SELECT count(*) FROM {t.relation}").fetchone()[0]
            if total <= chunk_rows:
                parts = run.frame(f"t{i}", t, list(enumerate(t.rules)), con.sql(t.select_sql()).df())
            else:
                parts = _chunked(con, run, f"t{i}", t, chunk_rows, total)
        except Exception as exc:  # a target that cannot even be read or validated is reported, not fatal
            msg = f"{type(exc).__name__}: {exc}"[:1000]
            rows += [_row(base, r, False, 0, 0, [], msg) for r in t.rules]
            continue
        for n, rule in enumerate(t.rules):
            part = parts.get(n)
            if part is None:
                rows.append(_row(base, rule, False, 0, 0, [], "Great Expectations returned no result"))
            else:
                rows.append(
                    _row(base, rule, part.success, part.unexpected, part.element, part.samples, part.exc)
                )
    return rows


class _Part:
    """One rule's result over the frames seen so far."""

    def __init__(self) -> None:
        self.success, self.unexpected, self.element = True, 0, 0
        self.samples: list[dict] = []
        self.exc: str | None = None

    def add(self, success: bool, unexpected: int, element: int, samples: list, exc: str | None, keep: int):
        self.success = self.success and success
        self.unexpected += int(unexpected or 0)
        self.element += int(element or 0)
        self.samples += samples[: max(keep - len(self.samples), 0)]
        self.exc = self.exc or exc


class _Validator:
    """GX over one pandas frame at a time, under one ephemeral context."""

    def __init__(self, gx, gxe, ds, sample_keys: int) -> None:
        self.gx, self.gxe, self.ds, self.keep = gx, gxe, ds, max(sample_keys, 20)

    def frame(
        self, name: str, t: Target, rules: list[tuple[int, Any]], df, into: dict[int, _Part] | None = None
    ) -> dict[int, _Part]:
        """Validate `rules` (numbered as in t.rules) on `df`; add each one's result to `into`."""
        into = {} if into is None else into
        asset = self.ds.add_dataframe_asset(name)
        try:
            batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": df}
            )
            suite = self.gx.ExpectationSuite(name=f"{t.source}.{t.stream}")
            for n, rule in rules:
                suite.add_expectation(getattr(self.gxe, rule.expectation)(**rule.kwargs, meta={"rule": n}))
            index = [c for c in t.index if c in df.columns]
            fmt: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": self.keep}
            if index:
                fmt["unexpected_index_column_names"] = index
            res = batch.validate(suite, result_format=fmt)
        finally:
            self.ds.delete_asset(name)  # the next frame of this target gets the name; nothing held
        for er in res.results:
            doc = er.to_json_dict()
            n = int(doc["expectation_config"]["meta"]["rule"])
            result = doc.get("result") or {}
            exc = _exception(doc.get("exception_info"))
            samples = [
                {k: _clean(v) for k, v in entry.items() if k in index}
                for entry in (result.get("partial_unexpected_index_list") or [])
                if isinstance(entry, dict)
            ]
            element = result.get("element_count", len(df))
            unexpected = result.get("unexpected_count") or (0 if doc["success"] else element)
            ok = bool(doc["success"]) and not exc
            into.setdefault(n, _Part()).add(ok, unexpected, element, samples, exc, self.keep)
        return into


def _chunked(con, run: _Validator, name: str, t: Target, chunk_rows: int, total: int) -> dict[int, _Part]:
    """A relation over chunk_rows: row rules frame by frame as DuckDB streams it, then each key rule on the
    rows whose key occurs more than once (GX flags every occurrence, as it would over the whole relation)."""
    numbered = list(enumerate(t.rules))
    row_rules = [(n, r) for n, r in numbered if r.expectation not in UNIQUE]
    parts: dict[int, _Part] = {}
    if row_rules:
        # DuckDB hands a result over in vectors of 2,048 rows; nothing else may use `con` while it streams
        result = con.execute(t.select_sql())
        while True:
            df = result.fetch_df_chunk(max(chunk_rows // 2048, 1))
            if df.empty:
                break
            run.frame(name, t, row_rules, df, parts)
            del df
    for n, rule in numbered:
        if rule.expectation not in UNIQUE:
            continue
        run.frame(name, t, [(n, rule)], con.sql(_repeated_keys_sql(t, rule)).df(), parts)
        if n in parts:  # a rule GX gave no result for is reported as such by validate_targets
            parts[n].element = total  # of the whole relation, as GX counts it there
    return parts


def _repeated_keys_sql(t: Target, rule) -> str:
    """The target's rows whose key value (or value tuple) occurs more than once; NULL keys as GX treats them:
    a single column's are ignored, a compound key's count unless all its parts are NULL."""
    cols = [quote(c) for c in (rule.kwargs.get("column_list") or [rule.kwargs["column"]])]
    keep = (
        " AND ".join(f"{c} IS NOT NULL" for c in cols)
        if len(cols) == 1
        else ("NOT (" + " AND ".join(f"{c} IS NULL" for c in cols) + ")")
    )
    on = " AND ".join(f"s.{c} IS NOT DISTINCT FROM d.{c}" for c in cols)
    return (
        f"WITH s AS ({t.select_sql()}), d AS (SELECT {', '.join(cols)} FROM s WHERE {keep}"
        f" GROUP BY ALL HAVING count(*) > 1) SELECT s.* FROM s JOIN d ON {on}"
    )


def _row(
    base: dict, rule, success: bool, unexpected: int, element: int, samples: list, exc: str | None
) -> dict:
    return {
        **base,
        "expectation": rule.expectation,
        "column_name": rule.column,
        "success": success,
        "severity": rule.severity,
        "unexpected_count": int(unexpected or 0),
        "element_count": int(element or 0),
        "samples": samples,
        "sample_failing_keys": json.dumps(samples, default=str),
        "exception": exc,
        "kind": rule.kind,
        "label": rule.label,
    }
