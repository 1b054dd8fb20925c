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
class Column:
    """A column a person may search by, and what its values look like in this run."""

    entity_type: str  # 'flow' for a correlation ID
    table: str
    column: str
    label: str
    example: str | None = None
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
# The kinds a support engineer is most often handed, in the order the hint lists them.
HINT_ORDER = (
    ("flow", "correlation_id"),
    ("invoice", "erp_invoice_no"),
    ("opportunity", "opportunity_id"),
    ("sow", "sow_id"),
    ("project", "project_id"),
    ("integration_event", "event_id"),
)
SAMPLE_ROWS = 400


def _lookup_columns(have: set[str]) -> list[tuple[str, str, str]]:
    """(entity type, table, column) of every searchable column present, correlation IDs first."""
    present = [e for e in ENTITIES if f"canon.{e.table}" in have]
    cols = [("flow", present[0].table, "correlation_id")] if present else []
    for e in present:
        cols += [(e.entity_type, e.table, c) for c in (e.id_col, *e.lookup)]
    return cols


def _numbering(values: list[str]) -> tuple[tuple[str, str, int], ...]:
    """Document-number schemes among a column's values: a prefix seen often enough, with one digit width.

    A prefix with mixed widths, or a column mostly not of this shape, has none: then a bare number could
    mean too many things for the lookup to add a prefix to it."""
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
    """The searchable columns of this run with an example value each and the shape of their numbers.

    Read from a repeatable sample of each column (cheap, and the same examples on every call for a run);
    examples come from the flow of the run's largest open case where it has such a record, so the hint
    leads somewhere worth looking."""
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
        example = None
        if focus is not None:
            row = con.execute(
                f"SELECT min(CAST({col} AS VARCHAR)) FROM canon.{table} WHERE correlation_id = ?", [focus]
            ).fetchone()
            example = row[0] if row else None
        example = example or (min(values) if values else None)
        sf = bool(values) and all(sf_forms(v) == (v[:15], v) for v in values if len(v) == 18)
        sf = sf and any(len(v) == 18 for v in values)
        label = LABELS.get((etype, col), f"{etype.replace('_', ' ')} {col.replace('_', ' ')}")
        out.append(Column(etype, table, col, label, example, _numbering(values), sf))
    return out


def _largest_open_flow(con: duckdb.DuckDBPyConnection, have: set[str]) -> str | None:
    if "results.cases" not in have:
        return None
    row = con.execute(
        "SELECT correlation_id FROM results.cases WHERE correlation_id IS NOT NULL "
        "AND coalesce(status, 'open') IN ('open', 'reopened') AND run_id = (SELECT max(run_id) FROM results.cases) "
        "ORDER BY greatest(coalesce(leakage_rc, 0), coalesce(exposure_rc, 0), coalesce(cash_rc, 0)) DESC, "
        "case_key LIMIT 1"
    ).fetchone()
    return row[0] if row else None


# ---- the lookup -----------------------------------------------------------------------------------------

EXACT, CASE, LOOSE = 0, 1, 2
HOW = {EXACT: "exact", CASE: "case-insensitive", LOOSE: "loose"}
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
        rest = [h.correlation_id for h in self.hits if h.entity_type != "flow"]
        return [c for c in dict.fromkeys(first + sorted(c for c in rest if c)) if c]

    @property
    def records(self) -> list[Hit]:
        """The matched records (not flows)."""
        return [h for h in self.hits if h.entity_type != "flow"]

    @property
    def level(self) -> int | None:
        return min((h.level for h in self.hits), default=None)


def candidates(text: str, cols: list[Column] | None = None) -> tuple[list[str], list[str]]:
    """(exact values, loose keys) to look for: the text itself and its Salesforce forms; its loose form and
    the document numbers it can stand for under the run's numbering (prefix and leading zeros optional)."""
    exact = [text]
    squeezed = text.replace(" ", "")
    for form in (text, squeezed):
        if forms := sf_forms(form):
            exact += list(forms)
    key = loose(text)
    keys = [key] if key else []
    m = re.fullmatch(r"([A-Z]*)([0-9]+)", key)
    if m and cols:
        letters, digits = m[1], m[2].lstrip("0") or "0"
        for c in cols:
            for prefix, _sep, width in c.numbering:
                if (not letters or letters == prefix.upper()) and len(digits) <= width:
                    keys.append(prefix.upper() + digits.zfill(width))
    return list(dict.fromkeys(exact)), list(dict.fromkeys(keys))


def find(con: duckdb.DuckDBPyConnection, typed: object, cols: list[Column] | None = None) -> Result:
    """Every record and flow the typed text names, at the best matching level (see the module's note).

    `cols` (columns(con), which a caller may cache per run) adds the run's numbering; without it the lookup
    still matches exactly, in any case and ignoring separators."""
    raw = "" if typed is None else str(typed)
    text = clean_id(raw)
    truncated = len("".join(ch for ch in raw if ch.isprintable()).strip()) > MAX_ID_LEN
    if not text:
        return Result(text, (), truncated)
    have = _tables(con)
    exact, keys = candidates(text, cols)
    uppers = list(dict.fromkeys(v.upper() for v in exact))
    # a Salesforce 15 typed in the wrong case: its 18-character form shares the first 15 letters, any case
    sf15 = [v.upper() for v in exact if len(v) == 15 and sf_forms(v)]
    parts: list[str] = []
    params: list[object] = []
    lanes = {e.entity_type: e.lane for e in ENTITIES}
    for etype, table, col in _lookup_columns(have):
        cond, level, p = _conditions(col, exact, uppers, keys, sf15)
        if etype == "flow":  # a correlation ID may be on any table; one per table is enough to know it
            for e in ENTITIES:
                if f"canon.{e.table}" in have:
                    parts.append(
                        f"SELECT * FROM (SELECT DISTINCT '' AS lane, 'flow' AS entity_type, correlation_id, "
                        f"correlation_id, 'correlation_id', correlation_id, {level} FROM canon.{e.table} "
                        f"WHERE {cond})"
                    )
                    params += p
            continue
        e_id = next(e.id_col for e in ENTITIES if e.entity_type == etype)
        parts.append(
            f"SELECT '{lanes[etype]}', '{etype}', CAST({e_id} AS VARCHAR), correlation_id, '{col}', "
            f"CAST({col} AS VARCHAR), {level} FROM canon.{table} WHERE {cond}"
        )
        params += p
    if not parts:
        return Result(text, (), truncated)
    rows = con.execute(
        f"SELECT DISTINCT * FROM ({' UNION ALL '.join(parts)}) ORDER BY 7, 2, 3 LIMIT {HIT_CAP}", params
    ).fetchall()
    hits = [Hit(*r) for r in rows]
    best = min((h.level for h in hits), default=None)
    return Result(text, tuple(h for h in hits if h.level == best), truncated)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _conditions(
    col: str, exact: list[str], uppers: list[str], keys: list[str], sf15: list[str]
) -> tuple[str, str, list[object]]:
    """The WHERE condition for one column, the SQL of the level a row matched at, and their parameters (the
    level's first: it sits in the SELECT list, before the WHERE).

    The loose comparison (the costly one: string work on every row) runs only on rows whose length could
    match, which skips most of a large table."""
    is_exact = f"{col} IN ({_marks(len(exact))})"
    is_case = f"upper({col}) IN ({_marks(len(uppers))})"
    exact_p: list[object] = [*exact]
    case_p: list[object] = [*uppers]
    if sf15:  # a Salesforce 15 in the wrong case: the 18-character form shares its first 15 letters, any case
        is_case = f"({is_case} OR (length({col}) = 18 AND upper(left({col}, 15)) IN ({_marks(len(sf15))})))"
        case_p += sf15
    where, where_p = [is_exact, is_case], exact_p + case_p
    if keys:
        shortest, longest = min(map(len, keys)), max(map(len, keys))
        where.append(
            f"(length({col}) BETWEEN {shortest} AND {longest + 8} AND {_loose_sql(col)} IN ({_marks(len(keys))}))"
        )
        where_p += keys
    level = f"CASE WHEN {is_exact} THEN {EXACT} WHEN {is_case} THEN {CASE} ELSE {LOOSE} END"
    return "(" + " OR ".join(where) + ")", level, exact_p + case_p + where_p
