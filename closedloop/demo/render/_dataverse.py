"""Dataverse rows as the Web API returns them, vectorised: GUID keys, lookups as _x_value, option sets with
their formatted-value label, money as JSON numbers, dates ISO, DateTimeOffset in UTC with Z."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from closedloop.demo.render._fmt import json_object, json_value, jstr, modstamp, synthetic_ids, write_lines
from closedloop.valuemaps import DOMAINS, VENDOR_DEFAULTS
from collectors._dataverse import CURRENCY, FORMATTED, MODIFIED, Entity

OPTION_BASE = 192_350_000  # option values of a publisher's option sets start here (prefix 19235)
TS = "%Y-%m-%dT%H:%M:%SZ"


def guid(table: str, key: pl.Expr) -> pl.Expr:
    """A row's GUID, stable for (table, key): two seeded 64-bit hashes written as 8-4-4-4-12 (null stays null)."""
    text = pl.lit(table + ":") + key.cast(pl.String)
    digits = pl.concat_str(
        text.hash(seed=11).cast(pl.String).str.zfill(20), text.hash(seed=29).cast(pl.String).str.zfill(20)
    )
    parts = [digits.str.slice(a, n) for a, n in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))]
    return pl.when(key.is_not_null()).then(pl.concat_str(parts, separator="-"))


def option_value(entity: Entity, column: str) -> pl.Expr:
    """An option set's integer value: the position of its label in the canonical vocabulary."""
    words = DOMAINS[f"{entity.canon}.{column}"]
    mapping = {w: OPTION_BASE + i for i, w in enumerate(words)}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.Int64)


def labels(kind: str, entity: Entity, column: str) -> pl.Expr:
    """An option set's label as the environment shows it: the product's vendor default word, else the canonical."""
    words = VENDOR_DEFAULTS.get(kind, {}).get(f"{entity.canon}.{column}", {})
    inverse: dict[str, str] = {}
    for label, canonical in words.items():
        inverse.setdefault(canonical, label)
    return pl.col(column).replace(inverse) if inverse else pl.col(column)


def record_key(entity: Entity, frame: pl.DataFrame, base: int) -> pl.Expr:
    """The business key: the canonical id, else the firm's source id, else a synthetic one."""
    if entity.key:
        return pl.col(entity.key)
    keys = [c for c in frame.columns if c not in ("source_id", "snapshot_ts", "source_system")][:4]
    return pl.coalesce(pl.col("source_id"), synthetic_ids(base, keys))


def write_entity(
    kind: str,
    entity: Entity,
    frame: pl.DataFrame,
    out: Path,
    *,
    correlation_attr: str,
    now: dt.datetime,
    base: int,
    overrides: Mapping[str, pl.Expr] | None = None,
) -> int:
    """Write one table's rows as <entity set>.jsonl: the JSON objects of the Web API's `value` array."""
    overrides = dict(overrides or {})
    key = overrides.pop(entity.key or "", None)
    frame = frame.with_columns(_key=record_key(entity, frame, base) if key is None else key)
    if entity.key:
        frame = frame.with_columns(pl.col("_key").alias(entity.key))
    frame = frame.with_columns(**overrides) if overrides else frame
    pairs: list[tuple[str, pl.Expr]] = [
        (
            "@odata.etag",
            jstr(pl.lit('W/"') + pl.int_range(1000, 1000 + pl.len()).cast(pl.String) + pl.lit('"')),
        ),
        (entity.pk, jstr(guid(entity.stream, pl.col("_key")))),
        (entity.key_attr, jstr(pl.col("_key"))),
    ]
    for column, typ in entity.columns().items():
        if column == entity.key:
            continue
        if column in entity.lookups:
            target = entity.lookups[column]
            pairs.append((entity.wire(column), jstr(guid(target, pl.col(column)))))
        elif entity.is_option(column):
            attr = entity.attr(column)
            pairs.append((attr, option_value(entity, column).cast(pl.String)))
            pairs.append((attr + FORMATTED, jstr(labels(kind, entity, column))))
        else:
            pairs.append((entity.attr(column), json_value(pl.col(column), typ, TS)))
    if entity.has_correlation():
        pairs.append((correlation_attr, jstr(pl.col("correlation_id"))))
    # a row was last modified at its latest own timestamp (created, submitted, approved, posted), else at export
    stamps = [c for c, t in entity.columns().items() if t == "TIMESTAMPTZ"]
    pairs.append((MODIFIED, jstr(modstamp(now, *stamps).dt.strftime(TS))))
    path = out / f"{entity.entity_set}.jsonl"
    return write_lines(frame, json_object(pairs, keep_nulls=True), path)


def write_currencies(symbols: list[str], out: Path, now: dt.datetime) -> int:
    """transactioncurrency: one row per ISO code the firm's money is in."""
    frame = pl.DataFrame({"iso": sorted(set(symbols))}, schema={"iso": pl.String})
    pairs = [
        ("@odata.etag", jstr(pl.lit('W/"1"'))),
        ("transactioncurrencyid", jstr(guid(CURRENCY.stream, pl.col("iso")))),
        ("isocurrencycode", jstr(pl.col("iso"))),
        ("currencyname", jstr(pl.col("iso"))),
        (MODIFIED, jstr(pl.lit(now.strftime(TS)))),
    ]
    return write_lines(frame, json_object(pairs, keep_nulls=True), out / f"{CURRENCY.entity_set}.jsonl")


def render_all(
    kind: str,
    firm,
    out: Path,
    entities: list[Entity],
    *,
    correlation_attr: str,
    rows: Mapping[str, pl.Expr],
    overrides: Mapping[str, Mapping[str, pl.Expr]],
    frames: Mapping[str, pl.DataFrame] | None = None,
) -> dict[str, int]:
    """Every entity's table from the firm's canonical frames (`rows` filters the ones this system holds,
    `overrides` replaces column values, `frames` replaces a whole frame), then the currencies they name."""
    from closedloop.demo.render._fmt import as_of_ts, table

    out.mkdir(parents=True, exist_ok=True)
    now, counts, symbols = as_of_ts(firm), {}, []
    for i, entity in enumerate(entities):
        frame = (frames or {}).get(entity.canon)
        frame = table(firm, entity.canon) if frame is None else frame
        if entity.canon in rows:
            frame = frame.filter(rows[entity.canon])
        for column, target in entity.lookups.items():
            if target == CURRENCY.stream:
                symbols += frame[column].drop_nulls().unique().to_list()
        counts[entity.stream] = write_entity(
            kind,
            entity,
            frame,
            out,
            correlation_attr=correlation_attr,
            now=now,
            base=9_000_000_000 + i * 100_000_000,
            overrides=overrides.get(entity.canon),
        )
    counts[CURRENCY.stream] = write_currencies(symbols, out, now)
    return counts
