"""`closedloop discover` for dynamics_sales: the Dataverse tables sampled over the Web API (collectors/_dataverse/discover.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors._dataverse import discover as _dv
from collectors.discover import Report, Wanted
from collectors.dynamics_sales import CORRELATION, KIND, api_collector, streams
from collectors.dynamics_sales.entities import ALL, ENTITIES


def wanted(cfg: Mapping[str, Any]) -> dict[str, list[Wanted]]:
    corr = str(cfg.get("correlation_field") or CORRELATION)
    return _dv.wanted(streams(cfg), ALL, CORRELATION, corr)


def value_columns(cfg: Mapping[str, Any]) -> dict[str, tuple[str, str, None]]:
    return _dv.value_columns(ENTITIES)


def introspect(report: Report, cfg: Mapping[str, Any], secrets) -> None:
    api = api_collector({"kind": KIND, **cfg}, secrets)
    _dv.introspect(report, api, api.streams())
