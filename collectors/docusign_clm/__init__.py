"""DocuSign CLM through the Navigator (Agreements) API: MSAs, SOWs, amendments and rate schedules as agreement
documents; the account's custom provisions carry what Navigator's standard provisions do not."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.docusign_clm.api import API_SETTINGS, api_collector
from collectors.docusign_clm.streams import (
    AGREEMENT_TYPES,
    CUSTOM_PROVISIONS,
    agreement_types,
    custom_keys,
    streams,
)
from collectors.files import FilesCollector

SYSTEM = "CLM"
SETTINGS: list[Setting] = [
    Setting(
        "correlation_provision",
        str,
        CUSTOM_PROVISIONS["correlation_id"],
        "Custom provision holding the correlation ID.",
    ),
    Setting(
        "agreement_types",
        dict,
        {},
        f"The account's agreement `type` of each canonical entity, over the defaults {AGREEMENT_TYPES}.",
    ),
    Setting(
        "custom_provisions",
        dict,
        {},
        "The account's custom provision keys by logical name (collectors/docusign_clm/streams.py"
        " CUSTOM_PROVISIONS): business numbers, CRM ids, rate lines, milestones and the terms Navigator's"
        " standard provisions lack.",
    ),
    *API_SETTINGS,
]
MAPPING = Path(__file__).with_name("mapping.sql")
# Navigator's payment_terms_due_date enum, read when the account keeps no day count of its own
_TERMS = {
    "SEVEN_DAYS": 7,
    "FIFTEEN_DAYS": 15,
    "THIRTY_DAYS": 30,
    "FORTY_FIVE_DAYS": 45,
    "SIXTY_DAYS": 60,
    "NINETY_DAYS": 90,
    "ON_RECEIPT": 0,
}

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "api_collector", "files_collector", "mapping_params", "streams"]


def _custom(alias: str, key: str) -> str:
    return f"json_extract_string({alias}.custom_provisions, '$.\"{key}\"')"


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """${c_<logical>} / ${pc_<logical>}: a custom provision of the document / its parent; ${t_<entity>}: types."""
    keys = custom_keys(cfg)
    params = {f"c_{k}": _custom("r", v) for k, v in keys.items()}
    params |= {f"pc_{k}": _custom("p", v) for k, v in keys.items()}
    params |= {f"k_{k}": v for k, v in keys.items()}
    params |= {f"t_{k}": v.replace("'", "''") for k, v in agreement_types(cfg).items()}
    whens = " ".join(f"WHEN '{name}' THEN {days}" for name, days in _TERMS.items())
    params["payment_terms_enum"] = (
        f"CASE json_extract_string(r.provisions, '$.payment_terms_due_date') {whens} END"
    )
    return params


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    """Refuse unknown logical names in agreement_types / custom_provisions, naming the key."""
    for setting, known in (("agreement_types", AGREEMENT_TYPES), ("custom_provisions", CUSTOM_PROVISIONS)):
        for name, value in (cfg.get(setting) or {}).items():
            if name not in known:
                raise ValueError(f"unknown key '{prefix}.{setting}.{name}' (allowed: {', '.join(known)})")
            if not isinstance(value, str) or not value or '"' in value:
                raise ValueError(f"key '{prefix}.{setting}.{name}': {value!r} is not a name")


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads agreements.jsonl: the listing's `data` items, one agreement per line."""
    return _files("docusign_clm", cfg, streams(cfg))
