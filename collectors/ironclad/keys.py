"""Keys and links of Ironclad records, chosen in config: which property is a record's business key, and
whether a reference carries the parent's business key or the parent's Ironclad record id.

Tenants differ: in one the record id is the SOW number; in another record ids are opaque and the number
is a property, and an amendment may point at its SOW by the SOW's record id. The canonical model always
holds business keys (the ids NetSuite and Salesforce know), so the mapping resolves record ids to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from collectors.ironclad.streams import property_keys, record_types

# Streams whose business key may be a property (rate cards: the card id is already the rateCardId property).
KEYED = ("msa", "sow", "amendment", "milestone")
# "<stream>.<reference property>" -> the parent stream it points at.
LINKS = {
    "sow.contract_id": "msa",
    "amendment.sow_id": "sow",
    "milestone.sow_id": "sow",
    "rate_card.sow_id": "sow",
    "rate_card.contract_id": "msa",
}
BUSINESS_KEY, RECORD_ID = "business_key", "record_id"
LINK_MODES = (BUSINESS_KEY, RECORD_ID)
_PROPERTY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # an Ironclad property key; also keeps the SQL safe


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    """Refuse unknown streams, links and modes in keys/links, naming the key and the allowed values."""
    for stream, prop in (cfg.get("keys") or {}).items():
        if stream not in KEYED:
            raise ValueError(f"unknown key '{prefix}.keys.{stream}' (allowed: {', '.join(KEYED)})")
        if not isinstance(prop, str) or not _PROPERTY.fullmatch(prop):
            raise ValueError(
                f"key '{prefix}.keys.{stream}': {prop!r} is not a property key (e.g. 'sowNumber')"
            )
    for link, mode in (cfg.get("links") or {}).items():
        if link not in LINKS:
            raise ValueError(f"unknown key '{prefix}.links.\"{link}\"' (allowed: {', '.join(LINKS)})")
        if mode not in LINK_MODES:
            raise ValueError(
                f"key '{prefix}.links.\"{link}\"': {mode!r} is not one of {', '.join(LINK_MODES)}"
            )


def key_property(cfg: Mapping[str, Any] | None, stream: str) -> str | None:
    """The property holding a stream's business key; None: the record id is the business key."""
    return ((cfg or {}).get("keys") or {}).get(stream) or None


def link_mode(cfg: Mapping[str, Any] | None, link: str) -> str:
    return ((cfg or {}).get("links") or {}).get(link) or BUSINESS_KEY


def _prop(alias: str, key: str) -> str:
    return f"json_extract_string({alias}.properties, '$.\"{key}\".value')"


def key_sql(cfg: Mapping[str, Any] | None, stream: str, alias: str = "r") -> str:
    """SQL for a raw record's business key."""
    prop = key_property(cfg, stream)
    return _prop(alias, prop) if prop else f"{alias}.id"


def link_sql(cfg: Mapping[str, Any] | None, source: str, link: str, alias: str = "r") -> str:
    """SQL for a reference as the parent's business key; a record id no parent has is kept as it is."""
    logical = link.split(".")[1]
    ref = _prop(alias, property_keys(cfg)[logical])
    parent = LINKS[link]
    if link_mode(cfg, link) == BUSINESS_KEY or key_property(cfg, parent) is None:
        return ref  # the reference already is the business key (or record id = business key)
    return (
        f"coalesce((SELECT min({key_sql(cfg, parent, 'par')}) FROM raw.{source}__{parent} par"
        f" WHERE par.id = {ref}), {ref})"
    )


def guards_sql(cfg: Mapping[str, Any] | None, source: str) -> str:
    """Statements that stop the mapping with the setting to fix, instead of keying or linking wrongly."""
    out, rtypes = [], record_types(cfg)
    for stream in KEYED:
        prop = key_property(cfg, stream)
        if prop:
            msg = (
                f"sources.{source}.keys.{stream} = ''{prop}'': ' || n || ' of ' || t || ' {rtypes[stream]}"
                f" records have no property ''{prop}'' (the business key must be on every record;"
                f" see GET /records/metadata for the tenant''s property keys)"
            )
            out.append(
                f"SELECT error('{msg}') FROM (SELECT count(*) FILTER (WHERE {_prop('r', prop)} IS NULL) AS n,"
                f" count(*) AS t FROM raw.{source}__{stream} r) WHERE n > 0;"
            )
    for link, parent in LINKS.items():
        stream, logical = link.split(".")
        mode = link_mode(cfg, link)
        other = RECORD_ID if mode == BUSINESS_KEY else BUSINESS_KEY
        col = {BUSINESS_KEY: "by_key", RECORD_ID: "by_id"}
        where = f"sources.{source}.links.\"{link}\" = ''{mode}''"
        msg = (
            f"{where}: none of the ' || n || ' {stream} references match a {parent} record''s {mode}"
            f" but ' || {col[other]} || ' match its {other}: set it to ''{other}''"
        )
        none = (
            f"{where}: none of the ' || n || ' {stream} references match a {parent} record''s id or business"
            f" key (check sources.{source}.keys.{parent}, properties.{logical} and this link)"
        )
        ref = _prop("r", property_keys(cfg)[logical])
        out.append(
            f"SELECT CASE WHEN {col[other]} > 0 THEN error('{msg}') ELSE error('{none}') END FROM ("
            f"SELECT count(*) AS n, count(*) FILTER (WHERE ref IN (SELECT id FROM raw.{source}__{parent})) AS by_id,"
            f" count(*) FILTER (WHERE ref IN (SELECT {key_sql(cfg, parent)} FROM raw.{source}__{parent} r))"
            f" AS by_key FROM (SELECT DISTINCT {ref} AS ref FROM raw.{source}__{stream} r) WHERE ref IS NOT NULL)"
            f" WHERE n > 0 AND {col[mode]} = 0 AND (SELECT count(*) FROM raw.{source}__{parent}) > 0;"
        )
    return "\n".join(out)


def mapping_params(cfg: Mapping[str, Any] | None, source: str) -> dict[str, str]:
    """${key_<stream>}, ${link_<stream>_<property>} and ${key_guards} of mapping.sql."""
    params = {f"key_{s}": key_sql(cfg, s) for s in KEYED}
    params |= {f"link_{link.replace('.', '_')}": link_sql(cfg, source, link) for link in LINKS}
    params["key_guards"] = guards_sql(cfg, source)
    return params
