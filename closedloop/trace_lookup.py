"""The trace's forgiving lookup: whatever ID a person pastes → the records it names and their flows.

A person copies an ID from an e-mail, a PDF, a CRM list view or a ticket: in lower case, with dashes or spaces
the system does not store, as a 15-character Salesforce ID where the warehouse holds the 18-character one, or
without the document prefix ("10" for INV0000010). Matching tries, best first:

  exact       the value as stored (a 15- or 18-character Salesforce ID in either form counts as exact: the
              18-character form is the 15 plus a checksum of its letters' case, so both name one record)
  case        the same letters in another case
  loose       the same letters and digits once dashes, spaces, underscores, dots and slashes are dropped, or a
              document number typed without its prefix or its leading zeros, where the run's own numbers show
              which prefixes and widths exist (INV + 7 digits, CM + 7 digits)

and keeps only the best level that found something, so an exact hit is never crowded by looser ones.

Pure functions over a DuckDB connection (the published warehouse, read-only). What a person typed is only ever
a bound parameter; table and column names come from closedloop.trace.ENTITIES.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from closedloop.trace import ENTITIES, MAX_ID_LEN, clean_id

# ---- Salesforce IDs -------------------------------------------------------------------------------------

SF_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SF_BODY = re.compile(r"[0-9A-Za-z]{15}")


def sf_checksum(id15: str) -> str:
    """The 3 characters Salesforce appends to a 15-character ID to make it case-insensitive.

    Each block of 5 characters gives one: bit i is set when the block's i-th character is an upper-case
    letter, and the 5-bit number indexes A–Z0–5."""
    if not _SF_BODY.fullmatch(id15):
        raise ValueError(f"not a 15-character Salesforce ID: {id15!r}")
    out = []
    for block in range(3):
        chunk = id15[block * 5 : block * 5 + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out.append(SF_CHECKSUM_ALPHABET[bits])
    return "".join(out)


def sf_forms(text: str) -> tuple[str, str] | None:
    """(15-character, 18-character) forms of a Salesforce ID, or None when the text is not one.

    A 15-character ID is case-sensitive and taken as typed. An 18-character one carries its case in its
    checksum, so it is recognised in any case (pasted in lower case from a case-folding tool, say) and its
    first 15 characters are put back in their true case; a checksum that does not decode is not an ID."""
    if len(text) == 15 and _SF_BODY.fullmatch(text):
        return text, text + sf_checksum(text)
    if len(text) != 18 or not _SF_BODY.fullmatch(text[:15]) or not text[15:].isalnum():
        return None
    suffix = text[15:].upper()
    body = []
    for block, ch in enumerate(suffix):
        bits = SF_CHECKSUM_ALPHABET.find(ch)
        if bits < 0:
            return None
        for i, c in enumerate(text[block * 5 : block * 5 + 5]):
            upper = bool(bits >> i & 1)
            if upper and not c.isalpha():
                return None  # the checksum says "capital" where there is a digit: not a Salesforce ID
            body.append(c.upper() if upper else c.lower())
    id15 = "".join(body)
    return id15, id15 + suffix


# ---- the loose form -------------------------------------------------------------------------------------

# Characters that format an ID for people and that no format here relies on to tell two records apart.
SEPARATORS = ("-", " ", "_", ".", "/")
_PREFIXED = re.compile(r"([A-Za-z]+)([-_ ./]?)([0-9]+)")


def loose(text: str) -> str:
    """An ID with its separators dropped and its letters in upper case: INV-0000010 and inv0000010 alike."""
    out = text.upper()
    for sep in SEPARATORS:
        out = out.replace(sep, "")
    return out


def _loose_sql(col: str) -> str:
    """loose() in SQL, over a column name from ENTITIES (never over a person's text)."""
    expr = f"upper({col})"
    for sep in SEPARATORS:
        expr = f"replace({expr}, '{sep}', '')"
    return expr


# ---- what the run's IDs look like -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """How a column's values are written, learned from the run, so a loose key can be written back the same
    way and looked up by plain equality (fast on any size) instead of by rewriting every stored value."""

    case: str  # "upper", "lower", "none" (digits only) or "mixed" (case carries meaning: no rewriting)
    separators: tuple[tuple[int, str], ...] = ()  # (position, character) in every value, e.g. a UUID's dashes
    length: int | None = None  # every value's length, when it has separators

    def render(self, key: str) -> str | None:
        """A loose key as this column would store it, or None when the column cannot hold it."""
        if self.case == "mixed" or (self.case == "none" and not key.isdigit()):
            return None
        text = key.lower() if self.case == "lower" else key
        if not self.separators:
            return text
        if self.length is None or len(text) + len(self.separators) != self.length:
            return None
        chars = list(text)
        for pos, sep in self.separators:
            chars.insert(pos, sep)
        return "".join(chars)


@dataclass(frozen=True)
class Column:
    """A column a person may search by, and what its values look like in this run."""

    entity_type: str  # 'flow' for a correlation ID
    table: str
    column: str
    label: str
    example: str | None = None
    shape: Shape | None = None  # None: values written too many ways; searched by rewriting each (slower)
    # (letters, separator, digits) of document numbers like INV0000010: a prefix and a zero-padded width
    numbering: tuple[tuple[str, str, int], ...] = ()
    salesforce: bool = False


LABELS = {  # (entity type, column) -> what people call it
    ("flow", "correlation_id"): "correlation ID",
    ("opportunity", "opportunity_id"): "opportunity ID",
    ("crm_invoice_status", "crm_record_id"): "CRM invoice record ID",
    ("contract", "contract_id"): "contract ID",
    ("sow", "sow_id"): "SOW ID",
    ("amendment", "amendment_id"): "amendment ID",
    ("milestone", "milestone_id"): "milestone ID",
    ("project", "project_id"): "project ID",
    ("billing_schedule", "schedule_line_id"): "billing schedule line ID",
    ("invoice", "invoice_id"): "invoice ID",
    ("invoice", "erp_invoice_no"): "invoice number",
    ("payment", "payment_id"): "payment ID",
    ("revenue_schedule", "rev_line_id"): "revenue line ID",
    ("integration_event", "event_id"): "event ID",
    ("integration_event", "idempotency_key"): "idempotency key",
}
SAMPLE_ROWS = 500


def _lookup_columns(have: set[str]) -> list[tuple[str, str, str]]:
    """(entity type, table, column) of every searchable column present, the correlation ID first."""
    present = [e for e in ENTITIES if f"canon.{e.table}" in have]
    cols = [("flow", present[0].table, "correlation_id")] if present else []
    for e in present:
        cols += [(e.entity_type, e.table, c) for c in (e.id_col, *e.lookup)]
    return cols


def learn_shape(values: list[str]) -> Shape | None:
    """The one way a column's values are written, or None when they are written several ways."""
    if not values:
        return None
    letters = "".join(ch for v in values for ch in v if ch.isalpha())
    if not letters:
        case = "none"
    elif letters == letters.upper():
        case = "upper"
    elif letters == letters.lower():
        case = "lower"
    else:
        case = "mixed"
    if any(not loose(v).isalnum() for v in values):
        return None  # other punctuation (an idempotency key's ':'): not a shape to write keys into
    seps = {tuple((i, ch) for i, ch in enumerate(v) if ch in SEPARATORS) for v in values}
    if seps == {()}:
        return Shape(case)
    lengths = {len(v) for v in values}
    if len(seps) == 1 and len(lengths) == 1:
        return Shape(case, seps.pop(), lengths.pop())
    return None


def learn_numbering(values: list[str]) -> tuple[tuple[str, str, int], ...]:
    """Document-number schemes among a column's values: each prefix with its one digit width.

    A column mostly not of this shape, or a prefix seen with several widths, gives none: then a bare
    number could mean too many things for the lookup to put a prefix in front of it."""
    shapes: dict[tuple[str, str], set[int]] = {}
    fits = 0
    for v in values:
        if m := _PREFIXED.fullmatch(v):
            fits += 1
            shapes.setdefault((m[1], m[2]), set()).add(len(m[3]))
    if not values or fits < 0.9 * len(values):
        return ()
    return tuple(sorted((p, s, next(iter(w))) for (p, s), w in shapes.items() if len(w) == 1))


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables()").fetchall()
    return {r[0] for r in rows}


def columns(con: duckdb.DuckDBPyConnection) -> list[Column]:
    """The searchable columns of this run: the shape of their values, an example, their numbering.

    Learned from a repeatable sample of each column (the same on every call for a run: callers cache it per
    run). Examples come from the flow of the run's largest open case where it has such a record, so the
    hint leads somewhere worth looking."""
    have = _tables(con)
    focus = _largest_open_flow(con, have)
    out = []
    for etype, table, col in _lookup_columns(have):
        values = [
            r[0]
            for r in con.execute(
                f"SELECT CAST({col} AS VARCHAR) FROM canon.{table} WHERE {col} IS NOT NULL "
                f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)"
            ).fetchall()
        ]
        numbering = learn_numbering(values)
        on_focus = []
        if focus is not None:
            on_focus = [
                r[0]
                for r in con.execute(
                    f"SELECT DISTINCT CAST({col} AS VARCHAR) FROM canon.{table} "
                    f"WHERE correlation_id = ? AND {col} IS NOT NULL ORDER BY 1 LIMIT 50",
                    [focus],
                ).fetchall()
            ]
        long_ones = [v for v in values if len(v) == 18]
        sf = bool(long_ones) and all(sf_forms(v) == (v[:15], v) for v in long_ones)
        label = LABELS.get((etype, col), f"{etype.replace('_', ' ')} {col.replace('_', ' ')}")
        example = _typical(on_focus, values) or _typical(sorted(values), values)
        out.append(Column(etype, table, col, label, example, learn_shape(values), numbering, sf))
    return out


def _typical(candidates: list[str], sample: list[str]) -> str | None:
    """The first candidate of the column's most common kind (INV… over CM… when invoices outnumber credit notes)."""
    if not candidates:
        return None
    counts: dict[str, int] = {}
    for v in sample:
        counts[_lead(v)] = counts.get(_lead(v), 0) + 1
    return max(candidates, key=lambda v: (counts.get(_lead(v), 0), -candidates.index(v)))


def _lead(value: str) -> str:
    """A document number's letters (INV of INV0000010), else ''."""
    return m[1] if (m := _PREFIXED.fullmatch(value)) else ""


def _largest_open_flow(con: duckdb.DuckDBPyConnection, have: set[str]) -> str | None:
    if "results.cases" not in have:
        return None
    row = con.execute(
        "SELECT correlation_id FROM results.cases WHERE correlation_id IS NOT NULL "
        "AND coalesce(status, 'open') IN ('open', 'reopened') "
        "AND run_id = (SELECT max(run_id) FROM results.cases) "
        "ORDER BY greatest(coalesce(leakage_rc, 0), coalesce(exposure_rc, 0), coalesce(cash_rc, 0)) DESC, "
        "case_key LIMIT 1"
    ).fetchone()
    return row[0] if row else None


# ---- the lookup -----------------------------------------------------------------------------------------

EXACT, CASE, LOOSE = 0, 1, 2
HOW = {EXACT: "exact", CASE: "in another case", LOOSE: "ignoring separators, prefix or leading zeros"}
HIT_CAP = 200


@dataclass(frozen=True)
class Hit:
    """A record (or a flow, entity_type 'flow') the typed text names, and how it matched."""

    lane: str
    entity_type: str
    entity_id: str
    correlation_id: str | None
    column: str
    value: str  # the value as stored: what to show, and what to search for to land on this record alone
    level: int

    @property
    def how(self) -> str:
        return HOW[self.level]


@dataclass(frozen=True)
class Result:
    """What a lookup found: its records and flows at the best level that found anything."""

    query: str  # the text searched for (clean_id of what was typed)
    hits: tuple[Hit, ...] = ()
    truncated: bool = False  # the text was longer than MAX_ID_LEN and was cut

    @property
    def flows(self) -> list[str]:
        """The flows the ID leads to: a matched correlation ID first, then the records' flows, each once."""
        first = [h.correlation_id for h in self.hits if h.entity_type == "flow"]
        rest = sorted(h.correlation_id for h in self.hits if h.entity_type != "flow" and h.correlation_id)
        return [c for c in dict.fromkeys(first + rest) if c]

    @property
    def records(self) -> list[Hit]:
        """The matched records (not flows)."""
        return [h for h in self.hits if h.entity_type != "flow"]


def keys(text: str, cols: list[Column]) -> list[str]:
    """The loose keys the text can stand for: its own, and the document numbers it names under the run's
    numbering (INV + 7 digits: `inv 10`, `10` and `0000010` all name INV0000010)."""
    key = loose(text)
    out = [key] if key else []
    if m := re.fullmatch(r"([A-Z]*)([0-9]+)", key):
        letters, digits = m[1], m[2].lstrip("0") or "0"
        for c in cols:
            for prefix, _sep, width in c.numbering:
                if (not letters or letters == prefix.upper()) and len(digits) <= width:
                    out.append(prefix.upper() + digits.zfill(width))
    return list(dict.fromkeys(out))


def _wanted(text: str, col: Column, loose_keys: list[str]) -> list[str]:
    """The stored values that would match the text in this column: as typed, its Salesforce forms, and
    each loose key written in the column's shape."""
    out = [text]
    for form in (text, text.replace(" ", "")):
        if forms := sf_forms(form):
            out += forms
    if col.shape is not None:
        out += [v for k in loose_keys if (v := col.shape.render(k))]
    return list(dict.fromkeys(out))


def find(con: duckdb.DuckDBPyConnection, typed: object, cols: list[Column] | None = None) -> Result:
    """Every record and flow the typed text names, at the best matching level (see the module's note).

    `cols` is columns(con), which a caller may cache per run. First every column is asked for the exact
    values the text can stand for (plain equality); only when that finds nothing are the columns with no
    single shape searched by rewriting their values (case folded, separators dropped)."""
    raw = "" if typed is None else str(typed)
    text = clean_id(raw)
    truncated = len("".join(ch for ch in raw if ch.isprintable()).strip()) > MAX_ID_LEN
    if not text:
        return Result(text, (), truncated)
    have = _tables(con)
    cols = columns(con) if cols is None else cols
    loose_keys = keys(text, cols)
    parts: list[str] = []
    params: list[object] = []
    for c in cols:
        wanted = _wanted(text, c, loose_keys)
        _part(c, have, f"{c.column} IN ({_marks(len(wanted))})", wanted, parts, params)
    hits = _run(con, parts, params, text)
    if not hits:
        parts, params = [], []
        sf15 = [text.upper()] if len(text) == 15 and sf_forms(text) else []
        for c in cols:
            if c.shape is None or c.shape.case == "mixed":
                cond, p = _rewriting(c.column, loose_keys, sf15 if c.salesforce else [])
                _part(c, have, cond, p, parts, params)
        hits = _run(con, parts, params, text)
    best = min((h.level for h in hits), default=None)
    return Result(text, tuple(h for h in hits if h.level == best), truncated)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _part(
    c: Column, have: set[str], cond: str, p: list[object], parts: list[str], params: list[object]
) -> None:
    """One SELECT per table a column is searched in (a correlation ID: every table, as a flow may lack any)."""
    if c.entity_type == "flow":
        for e in ENTITIES:
            if f"canon.{e.table}" in have:
                parts.append(
                    "SELECT '', 'flow', correlation_id, correlation_id, 'correlation_id', correlation_id "
                    f"FROM canon.{e.table} WHERE {cond}"
                )
                params += p
        return
    e = next(e for e in ENTITIES if e.entity_type == c.entity_type)
    parts.append(
        f"SELECT '{e.lane}', '{e.entity_type}', CAST({e.id_col} AS VARCHAR), correlation_id, '{c.column}', "
        f"CAST({c.column} AS VARCHAR) FROM canon.{c.table} WHERE {cond}"
    )
    params += p


def _run(con: duckdb.DuckDBPyConnection, parts: list[str], params: list[object], text: str) -> list[Hit]:
    if not parts:
        return []
    sql = f"SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)}) LIMIT {HIT_CAP}"
    hits = [Hit(*r, level=_level(text, r[5])) for r in con.execute(sql, params).fetchall()]
    return sorted(hits, key=lambda h: (h.level, h.entity_type != "flow", h.entity_type, h.entity_id))


def _level(text: str, stored: str) -> int:
    if stored == text or ((forms := sf_forms(text)) and stored in forms):
        return EXACT
    if stored.upper() == text.upper() or (len(text) == 15 and stored[:15].upper() == text.upper()):
        return CASE
    return LOOSE


def _rewriting(col: str, loose_keys: list[str], sf15: list[str]) -> tuple[str, list[object]]:
    """A condition that rewrites every stored value (upper case, no separators), for a column whose values
    are written too many ways to write the key into. Rows whose length cannot match are skipped first; a
    value equal in another case is equal loosely too, so no separate case-insensitive test is needed."""
    where: list[str] = []
    params: list[object] = []
    if sf15:  # a Salesforce 15 in the wrong case: the 18-character form shares its first 15, any case
        where.append(f"(length({col}) = 18 AND upper(left({col}, 15)) IN ({_marks(len(sf15))}))")
        params += sf15
    if loose_keys:
        shortest, longest = min(map(len, loose_keys)), max(map(len, loose_keys))
        where.append(
            f"(length({col}) BETWEEN {shortest} AND {longest + 8} "
            f"AND {_loose_sql(col)} IN ({_marks(len(loose_keys))}))"
        )
        params += loose_keys
    return "(" + (" OR ".join(where) or "FALSE") + ")", params
