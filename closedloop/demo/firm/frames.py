"""Memory-frugal equivalents of polars steps on the working tables (tens of millions of rows at tier l).

Each function gives exactly the frame its plain polars counterpart gives, named in its docstring; they differ in
what is held at once. Two polars behaviours drive them: a select/filter on a frame whose columns are split into
chunks first copies the whole frame into single chunks, and a constant column (a literal) costs nothing until
something materialises it, e.g. df[c] or stacking it under other rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import polars as pl

SLICE_ROWS = 1_000_000


def only(df: pl.DataFrame, c: str) -> pl.DataFrame:
    """df.select(c) without the select: drop leaves the other columns alone whatever their chunks."""
    return df.drop([x for x in df.columns if x != c])


def stack(frames: list[pl.DataFrame], how: str = "vertical_relaxed") -> pl.DataFrame:
    """pl.concat(frames, how=how) (vertical/diagonal, relaxed or not), built a column at a time in one chunk.

    The list is consumed: each input column is dropped from its frame once stacked, so with no other reference
    to the frames the inputs are released as the output grows. A text or flag column holding one value in every
    frame stays a literal.
    """
    schema = pl.concat([f.head(0) for f in frames], how=how).schema  # the concat's supertypes and columns
    cols = []
    for c, dt in schema.items():
        parts = [_column(f, c, dt) for f in frames]
        one = _single_value(parts, c, dt)
        if one is not None:
            cols.append(pl.concat([p.with_columns(one) for p in parts]))
        else:
            cols.append(pl.concat(parts).rechunk())
        del parts
        for i, f in enumerate(frames):
            if c in f.columns:
                frames[i] = f.drop(c)
    frames.clear()
    return pl.concat(cols, how="horizontal")


def _column(df: pl.DataFrame, c: str, dt: pl.DataType) -> pl.DataFrame:
    """Column c of df as dt, or typed nulls where df lacks it (as a diagonal concat fills it)."""
    if c in df.columns:
        return only(df, c).select(pl.col(c).cast(dt))
    return df.with_columns(pl.lit(None, dt).alias(c)).select(c)


def _single_value(parts: list[pl.DataFrame], c: str, dt: pl.DataType) -> pl.Expr | None:
    """A literal for column c stacked from parts when every row holds one text/flag value, else None."""
    if dt not in (pl.String, pl.Boolean):
        return None
    values = set()
    for part in parts:
        if not part.height:
            continue
        col, n = pl.first(), pl.first().null_count()
        if not part.select(((n == 0) & (col == col.first()).all()) | (n == pl.len())).item():
            return None
        values.add(part.select(col.first()).item())
    if len(values) > 1:
        return None
    return pl.lit(values.pop() if values else None, dt).alias(c)


def by_slices(df: pl.DataFrame, fn: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """pl.concat([fn(s) for s in slices(df)]) = fn(df) for row-wise steps (filters, joins to a side unique on the
    key), up to row order where the step reorders: so the wide joined rows exist one slice at a time. Callers
    sort or aggregate the result order-free, or keep the slice's order (left joins, probe-side inner joins)."""
    if df.height <= SLICE_ROWS:
        return fn(df)
    return stack([fn(part) for part in slices(df)], how="vertical")


def slices(df: pl.DataFrame) -> Iterator[pl.DataFrame]:
    """Consecutive row slices of df, SLICE_ROWS each (zero-copy views)."""
    for off in range(0, df.height, SLICE_ROWS):
        yield df.slice(off, SLICE_ROWS)


def hash_parts(key: str, rows: int, slices_per_part: int = 1) -> list[pl.Expr]:
    """Predicates splitting rows by a hash of key into parts of about slices_per_part × SLICE_ROWS rows: all rows
    of a key value fall in one part, so group-wise steps (group_by, anti-join) run a part at a time with the same
    result."""
    k = max(1, -(-rows // (slices_per_part * SLICE_ROWS)))
    if k == 1:
        return [pl.lit(True)]
    return [pl.col(key).hash() % k == i for i in range(k)]


def positions(df: pl.DataFrame, key: str, m: pl.DataFrame) -> pl.DataFrame:
    """Row numbers (_ri) of df whose key is in m, with m's columns: an inner join of df's key column to m, a slice
    of df at a time (the joined rows are few; hashing every key at once is not)."""
    return by_slices(only(df, key).with_row_index("_ri"), lambda x: x.join(m, on=key))


def attach(df: pl.DataFrame, right: pl.DataFrame, on: str | list[str]) -> pl.DataFrame:
    """df.join(right, on=on, how="left", maintain_order="left"), joining only df's key columns when it can.

    With a right side unique on the key and no clashing column names, the left join keeps df row for row, so its
    result is df beside the looked-up columns; this skips the copy of every column of a wide df the join makes.
    """
    keys = [on] if isinstance(on, str) else list(on)
    extra = [c for c in right.columns if c not in keys]
    if any(c in df.columns for c in extra) or right.select(keys).is_duplicated().any():
        return df.join(right, on=on, how="left", maintain_order="left")
    got = df.drop([x for x in df.columns if x not in keys]).join(
        right, on=keys, how="left", maintain_order="left"
    )
    return df.hstack(got.select(extra).rechunk())


def set_rows(
    tables: dict[str, pl.DataFrame], name: str, key: str, m: pl.DataFrame, cols: dict[str, str]
) -> None:
    """tables[name] = tables[name].join(m, on=key, how="left") with col = coalesce(src, col) per src → col, src
    dropped.

    m must be unique on key. Only the rows whose key is in m are written, into one column copy at a time (the
    frame is taken out of tables, so each replaced column is let go at once): the join would copy every column
    and the coalesce every target column again.
    """
    df = tables.pop(name)
    same = all(m.schema[src] == df.schema[col] for src, col in cols.items())
    if not same or m.select(pl.col(key).is_duplicated().any()).item():
        out = df.join(m.select(key, *cols), on=key, how="left", maintain_order="left")
        tables[name] = out.with_columns(pl.coalesce(src, col).alias(col) for src, col in cols.items()).drop(
            *cols
        )
        return
    pos = positions(df, key, m.select(key, *cols))
    for src, col in cols.items():
        hit = pos.filter(pl.col(src).is_not_null())
        if hit.height:
            df = df.with_columns(df[col].scatter(hit["_ri"], hit[src]))
    tables[name] = df


def replace_rows(
    tables: dict[str, pl.DataFrame], name: str, key: str, mapping: dict, col: str, dtype: pl.DataType
) -> None:
    """tables[name] with col = pl.col(key).replace_strict(mapping, default=pl.col(col), return_dtype=dtype).

    For a mapping of a few keys into a big table this writes only the matched rows into one copy of col; the
    expression builds several full-length temporaries.
    """
    df = tables.pop(name)
    if df.schema[col] != dtype or df.schema[key] != pl.String:
        expr = pl.col(key).replace_strict(mapping, default=pl.col(col), return_dtype=dtype).alias(col)
        tables[name] = df.with_columns(expr)
        return
    m = pl.DataFrame({key: list(mapping), "_v": list(mapping.values())}, schema={key: pl.String, "_v": dtype})
    pos = positions(df, key, m)
    if pos.height:
        df = df.with_columns(df[col].scatter(pos["_ri"], pos["_v"]))
    tables[name] = df
