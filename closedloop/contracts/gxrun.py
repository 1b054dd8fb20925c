"""Validate targets through Great Expectations' pandas path in an ephemeral context (GX on DuckDB SQL is broken)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import duckdb

from closedloop.contracts.rules import Target


def _gx():
    """Import GX only when contracts run: it costs ~2 s, and the CLI and app should not pay it."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
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


def validate_targets(
    con: duckdb.DuckDBPyConnection, targets: list[Target], *, sample_keys: int = 10
) -> list[dict[str, Any]]:
    """One suite per target, validated on a pandas frame of just the columns the rules read."""
    gx, gxe, config = _gx()
    ctx = gx.get_context(mode="ephemeral", project_config=config)
    ds = ctx.data_sources.add_pandas("closedloop")
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
            df = con.sql(t.select_sql()).df()
            asset = ds.add_dataframe_asset(f"target_{i}")
            batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
                batch_parameters={"dataframe": df}
            )
            suite = gx.ExpectationSuite(name=f"{t.source}.{t.stream}")
            for n, rule in enumerate(t.rules):
                suite.add_expectation(getattr(gxe, rule.expectation)(**rule.kwargs, meta={"rule": n}))
            index = [c for c in t.index if c in df.columns]
            fmt = {"result_format": "SUMMARY", "partial_unexpected_count": max(sample_keys, 20)}
            if index:
                fmt["unexpected_index_column_names"] = index
            res = batch.validate(suite, result_format=fmt)
        except Exception as exc:  # a target that cannot even be read or validated is reported, not fatal
            msg = f"{type(exc).__name__}: {exc}"[:1000]
            rows += [_row(base, r, False, 0, 0, [], msg) for r in t.rules]
            continue
        for er in res.results:
            doc = er.to_json_dict()
            rule = t.rules[int(doc["expectation_config"]["meta"]["rule"])]
            result = doc.get("result") or {}
            exc = _exception(doc.get("exception_info"))
            samples = [
                {k: _clean(v) for k, v in entry.items() if k in index}
                for entry in (result.get("partial_unexpected_index_list") or [])
                if isinstance(entry, dict)
            ]
            element = result.get("element_count", len(df))
            unexpected = result.get("unexpected_count") or (0 if doc["success"] else element)
            rows.append(_row(base, rule, bool(doc["success"]) and not exc, unexpected, element, samples, exc))
    return rows


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
