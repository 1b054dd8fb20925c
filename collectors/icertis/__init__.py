"""Icertis Contract Intelligence (CLM): MSAs, SOWs, amendments, rate cards and milestones from the tenant's REST
API through the generic REST source (collectors/rest_generic), or from its scheduled CSV exports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from closedloop.settings import Setting
from collectors._source import files_collector as _files
from collectors.auth import SecretSource
from collectors.base import Stream
from collectors.files import FilesCollector
from collectors.icertis.streams import CONTRACT_TYPES, FIELDS, contract_types, field_names, streams
from collectors.rest_generic import GenericREST, rest_settings

SYSTEM = "CLM"
# An Icertis tenant's API as the sandbox (and the tenants seen) answer: {"Data": [...], "TotalCount": n}
# paged by skip/top, an Entra ID app's client-credentials token. Every one is a setting.
API_DEFAULTS: dict[str, Any] = {
    "auth": "client_credentials",
    "paging": "offset",
    "page_size": 100,
    "record_path": "Data",
    "total_path": "TotalCount",
    "limit_param": "top",
    "offset_param": "skip",
}
ENDPOINT = "/api/v1/agreements/{type}"
SETTINGS: list[Setting] = [
    Setting(
        "contract_types",
        dict,
        {},
        f"The tenant's contract type name of each stream, over the defaults {CONTRACT_TYPES}.",
    ),
    Setting(
        "fields",
        dict,
        {},
        "The tenant's attribute name (a dotted path for a nested one) by logical field, over the defaults in"
        " collectors/icertis/streams.py FIELDS.",
    ),
    Setting("endpoint", str, ENDPOINT, "Listing path of a contract type, relative to base_url ({type})."),
    *rest_settings(API_DEFAULTS),
]
MAPPING = Path(__file__).with_name("mapping.sql")

__all__ = ["MAPPING", "SETTINGS", "SYSTEM", "api_collector", "files_collector", "mapping_params", "streams"]


def mapping_params(cfg: Mapping[str, Any]) -> dict[str, str]:
    """${f_<logical>}: the quoted raw column of each logical field."""
    return {f"f_{k}": '"' + v.replace('"', '""') + '"' for k, v in field_names(cfg).items()}


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    for setting, known in (("contract_types", CONTRACT_TYPES), ("fields", FIELDS)):
        for name, value in (cfg.get(setting) or {}).items():
            if name not in known:
                raise ValueError(f"unknown key '{prefix}.{setting}.{name}' (allowed: {', '.join(known)})")
            if not isinstance(value, str) or not value:
                raise ValueError(f"key '{prefix}.{setting}.{name}': {value!r} is not a name")


def api_collector(cfg: Mapping[str, Any], secrets: SecretSource) -> GenericREST:
    types = contract_types(cfg)
    template = str(cfg.get("endpoint") or ENDPOINT)

    def endpoint(stream: Stream) -> str:
        return template.replace("{type}", types[stream.name])

    return GenericREST("icertis", cfg, secrets, streams(cfg), endpoint, defaults=API_DEFAULTS)


def files_collector(cfg: Mapping[str, Any]) -> FilesCollector:
    """Reads the scheduled exports: <contract type>.csv per stream, the attributes as headers."""
    return _files("icertis", cfg, streams(cfg))
