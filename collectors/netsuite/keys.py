"""The project's key and the project references of NetSuite, chosen in config.

A project (job) has an internal id and an entity id ("PRJ-…"). The canonical project key is the internal id
by default; a firm whose other systems know projects only by entity id sets project_key = 'entityid'. And a
stream may reference the project by either: SuiteQL returns internal ids, but a saved-search CSV or a
custom field often holds the entity id. The mapping translates every reference to the canonical key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from collectors.netsuite.schedules import undeclared  # a billing-schedule variant's streams the account lacks

INTERNAL_ID, ENTITY_ID = "id", "entityid"
PROJECT_KEYS = (INTERNAL_ID, ENTITY_ID)
# Stream -> its column referencing the project (a custom field named by its default name, renamed by config).
PROJECT_REFS = {
    "projecttask": "project",
    "resourceallocation": "project",
    "chargerule": "project",
    "billingschedule": "project",
    "timebill": "customer",
    "expense_line": "customer",
    "transaction": "job",
    "revenueplan_line": "job",
    "write_down": "custrecord_project",
    "milestone": "custrecord_project",
    "charge": "project",  # billing_schedules = 'charges' (schedules.py)
}


def check_settings(cfg: Mapping[str, Any], prefix: str) -> None:
    """Refuse unknown streams and values in project_links, naming the key and the allowed values."""
    for stream, mode in (cfg.get("project_links") or {}).items():
        if stream not in PROJECT_REFS:
            raise ValueError(
                f"unknown key '{prefix}.project_links.{stream}' (allowed: {', '.join(PROJECT_REFS)})"
            )
        if mode not in PROJECT_KEYS:
            raise ValueError(
                f"key '{prefix}.project_links.{stream}': {mode!r} is not one of {', '.join(PROJECT_KEYS)}"
            )


def project_key(cfg: Mapping[str, Any] | None) -> str:
    return (cfg or {}).get("project_key") or INTERNAL_ID


def project_link(cfg: Mapping[str, Any] | None, stream: str) -> str:
    return ((cfg or {}).get("project_links") or {}).get(stream) or INTERNAL_ID


def _column(names: Mapping[str, str], stream: str) -> str:
    col = PROJECT_REFS[stream]
    return names.get(col, col)


def guards_sql(cfg: Mapping[str, Any] | None, names: Mapping[str, str]) -> str:
    """Stop the mapping when a stream's project references match no project by the configured field but do
    by the other one (a wrong project_links entry would otherwise orphan every row of the stream)."""
    out = []
    for stream in sorted(set(PROJECT_REFS) - undeclared(cfg), key=list(PROJECT_REFS).index):
        mode = project_link(cfg, stream)
        other = ENTITY_ID if mode == INTERNAL_ID else INTERNAL_ID
        col = f'"{_column(names, stream)}"'
        msg = (
            f"sources.${{source}}.project_links.{stream} = ''{mode}'': none of the ' || n || ' project"
            f" references of {stream} match a project''s {mode} but ' || by_other || ' match its {other}:"
            f" set it to ''{other}''"
        )
        out.append(
            f"SELECT error('{msg}') FROM (SELECT count(*) AS n,"
            f" count(*) FILTER (WHERE ref IN (SELECT {mode} FROM raw.${{source}}__job)) AS by_mode,"
            f" count(*) FILTER (WHERE ref IN (SELECT {other} FROM raw.${{source}}__job)) AS by_other"
            f" FROM (SELECT DISTINCT {col} AS ref FROM raw.${{source}}__{stream}) WHERE ref IS NOT NULL)"
            f" WHERE n > 0 AND by_mode = 0 AND by_other > 0;"
        )
    return "\n".join(out)


def mapping_params(cfg: Mapping[str, Any] | None, names: Mapping[str, str]) -> dict[str, str]:
    """${project_key}, ${project_from_<stream>} (a translating macro's name, or nothing) and ${project_guards}.

    ${project_from_<stream>}(ref) is then either (ref) as it is, or the macro that looks the reference up.
    """
    key = project_key(cfg)
    params = {"project_key": key, "project_guards": guards_sql(cfg, names)}
    for stream in PROJECT_REFS:
        link = project_link(cfg, stream)
        params[f"project_from_{stream}"] = "" if link == key else f"netsuite_project_from_{link}"
    return params
