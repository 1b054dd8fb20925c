"""`[checks] params` and `[checks] disabled` validated when the config loads, against the rule and KPI headers.

A parameter is declared once, in its SQL file's header (checks/params.py); the config may only set what some
header declares, with a value of the kind its default has. TOML's dotted keys (`"Q2C-010".grace = 7` or a
`[checks.params.Q2C-010]` table) arrive nested and are flattened to the 'Q2C-010.grace' form the runner reads.
"""

from __future__ import annotations

import difflib
from typing import Any

# Names that are not check parameters, and where what they mean is set.
NOT_PARAMS = {
    "vol_low_ratio": "the volume anomaly's thresholds are [monitors] volume_low_ratio",
    "vol_high_ratio": "the volume anomaly's thresholds are [monitors] volume_high_ratio",
    "vol_window": "the volume anomaly's history is [monitors] volume_window",
    "vol_min_history": "the volume anomaly's history is [monitors] volume_min_history",
    "sla_min": "a source's freshness SLA is [sources.<key>] freshness_sla_hours",
    "reporting_ccy": "the reporting currency is [closedloop] reporting_currency",
}


def flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'Q2C-010': {'grace': 7}} -> {'Q2C-010.grace': 7}; flat keys stay as they are."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _default(declared: dict[str, dict[str, Any]], key: str) -> Any:
    """The header default a key sets (the first file declaring a bare name; the context values' own)."""
    from checks.params import CONTEXT_DEFAULTS

    item_id, _, name = key.rpartition(".")
    if item_id:
        return declared.get(item_id, {}).get(name)
    if name in CONTEXT_DEFAULTS:
        return CONTEXT_DEFAULTS[name]
    return next((ps[name] for ps in declared.values() if name in ps), None)


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return default is None or isinstance(value, type(default))


def validate(values: dict[str, Any], file: str) -> None:
    """Check the [checks] section in place (params flattened); raise ValueError naming the key and the file."""
    from closedloop.settings import ConfigError

    params, disabled = flatten(values["params"]), values["disabled"]
    if not params and not disabled:
        return  # nothing to check: the rule headers are not even read
    from checks.params import declared, known, rule_ids

    decl = declared()
    names = known(decl)
    for key, value in params.items():
        where = f"{file}: key 'checks.params.{key}'"
        moved = NOT_PARAMS.get(key.rpartition(".")[2])
        if moved and key not in names:
            raise ConfigError(f"{where}: not a check parameter; {moved}")
        if key not in names:
            near = difflib.get_close_matches(key, sorted(names), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(f"{where}: no rule or KPI header declares this parameter{hint}")
        default = _default(decl, key)
        if not _same_kind(value, default):
            raise ConfigError(f"{where}: expected a value like its default {default!r}, got {value!r}")
    ids = rule_ids()
    for cid in disabled:
        if not isinstance(cid, str) or cid not in ids:
            near = difflib.get_close_matches(str(cid), sorted(ids), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ConfigError(f"{file}: key 'checks.disabled': unknown check id {cid!r}{hint}")
    values["params"] = params
