"""The value-map vocabulary discover drafts against: closedloop.valuemaps when present, else the contract domains.

closedloop.valuemaps (DOMAINS keyed "table.column", normalize(), VENDOR_DEFAULTS) is being built alongside;
until it lands, the canonical domains come from closedloop/contracts/defaults.py CANON_DOMAINS and
matching ignores case, surrounding space and space/underscore/hyphen differences the same way.
"""

from __future__ import annotations

import re
from typing import Any

TODO = "TODO"

try:  # pragma: no cover - which branch runs depends on whether the module has landed
    from closedloop import valuemaps as _vm

    DOMAINS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _vm.DOMAINS.items()}
    normalize = _vm.normalize
    _DEFAULTS: dict[str, dict[str, dict[str, str]]] = getattr(_vm, "VENDOR_DEFAULTS", {})
    SOURCE = "closedloop.valuemaps"
except ImportError:  # pragma: no cover
    from closedloop.contracts.defaults import CANON_DOMAINS

    DOMAINS = {f"{t}.{c}": tuple(vals) for t, cols in CANON_DOMAINS.items() for c, vals in cols.items()}
    _DEFAULTS = {}
    SOURCE = "closedloop.contracts.defaults.CANON_DOMAINS"

    def normalize(value: Any) -> str:
        return re.sub(r"[\s_\-]+", " ", str(value).strip().lower())


def domain(column: str) -> tuple[str, ...]:
    """The canonical values of "table.column" (empty when the column is not enumerated)."""
    return DOMAINS.get(column, ())


def canonical_of(kind: str, column: str, vendor_value: str) -> str:
    """The canonical value a vendor value matches (itself normalized, or a vendor default), else TODO."""
    wanted = normalize(vendor_value)
    for value in domain(column):
        if normalize(value) == wanted:
            return value
    for value, canonical in _DEFAULTS.get(kind, {}).get(column, {}).items():
        if normalize(value) == wanted:
            return canonical
    return TODO
