"""Check and KPI parameters: each declared once, in its SQL file's header, and overridden per firm by name.

An override names a parameter bare (`grace_amend_bd`: every rule and KPI declaring it) or with one file's id
(`Q2C-060.grace_amend_bd`, `K01.sla_sow_to_project_bd`); the id form wins over the bare one. The run-wide
context values (checks/loader.py CONTEXT_DEFAULTS: coc, materiality_rc) are overridden by bare name.
`[checks] params` in closedloop.toml is validated against these declarations when the config loads
(closedloop/settings.py), and the same values reach the rules (checks/runner.py) and the KPIs (checks/kpis.py).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from checks.loader import CONTEXT_DEFAULTS, ID_RE, KPIS_DIR, RULES_DIR

CONTEXT_PARAMS = tuple(CONTEXT_DEFAULTS)


def known(declared: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Every name an override may use: bare names, `<ID>.name` and the context values."""
    out = set(CONTEXT_PARAMS)
    for item_id, params in declared.items():
        for name in params:
            out.update({name, f"{item_id}.{name}"})
    return out


def split_context(overrides: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(context overrides, parameter overrides); reporting_ccy is the run's setting, never a parameter."""
    rest = {k: v for k, v in (overrides or {}).items() if k != "reporting_ccy"}
    return {k: rest.pop(k) for k in CONTEXT_PARAMS if k in rest}, rest


def resolve(
    declared: Mapping[str, Mapping[str, Any]],
    overrides: Mapping[str, Any] | None,
    *,
    also_known: Iterable[str] = (),
) -> dict[str, dict[str, Any]]:
    """Per item id: its declared defaults, overridden by `<ID>.name`, else by `name`.

    A name that nothing declares raises ValueError; `also_known` are names of the other family (the KPIs'
    when resolving the rules', and back), which one `[checks] params` table holds together.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - known(declared) - set(also_known))
    if unknown:
        raise ValueError(f"unknown check parameter(s): {unknown}")
    out: dict[str, dict[str, Any]] = {}
    for item_id, params in declared.items():
        values = dict(params)
        for name in params:
            if f"{item_id}.{name}" in overrides:
                values[name] = overrides[f"{item_id}.{name}"]
            elif name in overrides:
                values[name] = overrides[name]
        out[item_id] = values
    return out


@functools.lru_cache(maxsize=8)
def _declared(rules_dir: Path, kpis_dir: Path) -> tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]:
    from checks.kpis import load_kpis
    from checks.loader import load_checks

    items = [(c.id, c.params) for c in load_checks(rules_dir)] + [
        (k.id, k.params) for k in load_kpis(kpis_dir)
    ]
    return tuple((item_id, tuple(params.items())) for item_id, params in items)


def declared(rules_dir: Path = RULES_DIR, kpis_dir: Path = KPIS_DIR) -> dict[str, dict[str, Any]]:
    """Every rule's and KPI's parameters with their header defaults, by id (parsed once per process)."""
    return {item_id: dict(params) for item_id, params in _declared(Path(rules_dir), Path(kpis_dir))}


def rule_ids(rules_dir: Path = RULES_DIR) -> set[str]:
    """The ids of the rule files (what `[checks] disabled` may name)."""
    return {item_id for item_id in declared(rules_dir) if ID_RE.match(item_id)}


def defaults(rules_dir: Path = RULES_DIR, kpis_dir: Path = KPIS_DIR) -> dict[str, Any]:
    """One default per parameter name over every rule and KPI, plus the context values.

    A bare override sets a name in every file declaring it, so those files must agree on its default;
    a disagreement raises ValueError naming them.
    """
    out: dict[str, Any] = dict(CONTEXT_DEFAULTS)
    where: dict[str, str] = {}
    for item_id, params in declared(rules_dir, kpis_dir).items():
        for name, value in params.items():
            if name in where and out[name] != value:
                raise ValueError(
                    f"parameter {name!r} has two defaults: {out[name]!r} in {where[name]}, {value!r} in {item_id}"
                )
            out[name], where[name] = value, where.get(name, item_id)
    return out
