"""Dataverse (Dynamics 365) tables as data: one Entity per canonical table, shared by both Dynamics kinds.

Every Dataverse row has a GUID primary key; references between rows are lookups, sent by the Web API as
`_<attribute>_value` (the referenced row's GUID). The firm's own identifiers (the ones its CLM, middleware and
people use: project numbers, invoice ids) live in a key attribute of each table, so the canonical model keys rows
by that business key and resolves every lookup to the referenced row's key. Option sets are read through their
formatted value (`<attr>@OData.Community.Display.V1.FormattedValue`), the label a person sees, which the value
maps turn into canonical words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from closedloop.valuemaps import DOMAINS
from collectors._source import cols
from collectors.base import Stream

FORMATTED = "@OData.Community.Display.V1.FormattedValue"
MODIFIED = "modifiedon"
LINEAGE = ("source_system", "source_id", "snapshot_ts", "correlation_id")
SCHEMA = Path(__file__).parents[2] / "closedloop" / "canon" / "schema.sql"
_RAW = {"INTEGER": "BIGINT", "DECIMAL(9,2)": "DECIMAL(18,2)", "DECIMAL(12,2)": "DECIMAL(18,2)"}


@cache
def canon_columns() -> dict[str, dict[str, str]]:
    """canon table -> {column: raw type}, read from closedloop/canon/schema.sql (one truth for the types)."""
    out: dict[str, dict[str, str]] = {}
    for table, body in re.findall(r"CREATE TABLE canon\.(\w+)\((.*?)\);", SCHEMA.read_text(), re.S):
        columns = {}
        for part in re.split(r",\s*(?![^()]*\))", body):
            name, typ = part.strip().split(None, 1)
            columns[name] = _RAW.get(typ.strip(), typ.strip())
        out[table] = columns
    return out


@dataclass(frozen=True)
class Entity:
    """One Dataverse table read as one stream, filling one canonical table column for column.

    renames: canonical column -> attribute where the attribute is not cl_<column without underscores>;
    lookups: canonical column -> the stream whose key it holds (sent as _<attribute>_value, that row's GUID);
    key: the canonical id column this row's key attribute fills (None: the table has no id, source_id is its key).
    """

    stream: str
    entity_set: str
    canon: str
    key: str | None
    key_attr: str = "cl_externalid"
    renames: Mapping[str, str] = field(default_factory=dict)
    lookups: Mapping[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ()  # canonical columns this table does not hold

    @property
    def pk(self) -> str:
        return f"{self.stream}id"

    def attr(self, column: str) -> str:
        """The Dataverse attribute of a canonical column (its logical name; a lookup's is wrapped _x_value)."""
        if column == self.key:
            return self.key_attr
        if column == "currency" and self.lookups.get(column) == "transactioncurrency":
            return "transactioncurrencyid"  # the standard currency lookup of every money-bearing table
        if column == "project_id" and self.lookups.get(column) == "msdyn_project":
            return "msdyn_project"  # Project Operations' project lookup on its tables
        return self.renames.get(column) or "cl_" + column.replace("_", "")

    def columns(self) -> dict[str, str]:
        """Canonical columns this table fills -> raw type (lineage columns are filled from lineage)."""
        skip = {*LINEAGE, *self.skip}
        if self.canon == "invoice_line":  # its source_id is data: the time entry or expense a line bills
            skip.discard("source_id")
        return {c: t for c, t in canon_columns()[self.canon].items() if c not in skip}

    def is_option(self, column: str) -> bool:
        return f"{self.canon}.{column}" in DOMAINS and column not in self.lookups

    def wire(self, column: str) -> str:
        """The JSON key a record carries for a canonical column."""
        if column in self.lookups:
            return f"_{self.attr(column)}_value"
        if self.is_option(column):
            return self.attr(column) + FORMATTED
        return self.attr(column)

    def has_correlation(self) -> bool:
        return "correlation_id" in canon_columns()[self.canon]


CURRENCY = Entity(
    "transactioncurrency",
    "transactioncurrencies",
    "fx_rate",
    None,
    key_attr="isocurrencycode",
    skip=tuple(canon_columns()["fx_rate"]),
)


def stream_of(entity: Entity, correlation_attr: str) -> Stream:
    """The stream reading an entity: its GUID, key, attributes as the Web API sends them, modifiedon."""
    if entity is CURRENCY:
        specs = ["transactioncurrencyid", "isocurrencycode", "currencyname", f"{MODIFIED}:TIMESTAMPTZ"]
    else:
        specs = [entity.pk, entity.key_attr]
        for column, typ in entity.columns().items():
            if column == entity.key:
                continue
            wire = entity.wire(column)
            specs.append(wire if column in entity.lookups or entity.is_option(column) else f"{wire}:{typ}")
        if entity.has_correlation():
            specs.append(correlation_attr)
        specs.append(f"{MODIFIED}:TIMESTAMPTZ")
    return Stream(
        entity.stream,
        cols(*specs, required=(entity.pk,)),
        primary_key=(entity.pk,),
        cursor_field=MODIFIED,
        file_pattern=f"{entity.entity_set}.jsonl",
        description=f"Web API: GET /api/data/v9.2/{entity.entity_set}",
    )


def mapping_sql(entities: list[Entity], header: str, where: Mapping[str, str] | None = None) -> str:
    """raw -> canon SQL of every entity: the key attribute as the id, lookups resolved to their row's key."""
    by = {e.stream: e for e in [*entities, CURRENCY]}
    out = [header.rstrip(), ""]
    for e in entities:
        columns = list(e.columns())
        selects, joins = [], []
        for i, column in enumerate(columns):
            if column in e.lookups:
                target = by[e.lookups[column]]
                alias = f"k{i}"
                joins.append(
                    f"LEFT JOIN raw.${{source}}__{target.stream} {alias}"
                    f' ON {alias}."{target.pk}" = r."{e.wire(column)}"'
                )
                selects.append(f'{alias}."{target.key_attr}"')
            elif column == e.key:
                selects.append(f'r."{e.key_attr}"')
            else:
                selects.append(f'r."{e.wire(column)}"')
        lineage = [c for c in LINEAGE if c in canon_columns()[e.canon] and c not in columns]
        values = {
            "source_system": "'${source}'",
            "source_id": f'r."{e.key_attr}"',
            "snapshot_ts": "r._extracted_at",
            "correlation_id": 'r."${correlation_field}"',
        }
        cols_sql = ", ".join([*columns, *lineage])
        sel_sql = ",\n       ".join([*selects, *(values[c] for c in lineage)])
        out.append(f"INSERT INTO canon.{e.canon} ({cols_sql})")
        out.append(f"SELECT {sel_sql}")
        out.append(f"FROM raw.${{source}}__{e.stream} r")
        out += joins
        cond = (where or {}).get(e.stream)
        out[-1] += ";" if not cond else f"\nWHERE {cond};"
        out.append("")
    return "\n".join(out)


def names(defaults: Mapping[str, str], cfg: Mapping[str, Any] | None) -> dict[str, str]:
    cfg = cfg or {}
    return {k: str(cfg.get(k) or v) for k, v in defaults.items()}
