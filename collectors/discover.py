"""Discover: what a source really has (tables, fields, values) against what the product wants, and a draft config.

Every firm names its custom fields, objects and picklist values its own way. The vendor modules
(collectors/<kind>/discover.py) introspect a source into TableProfiles and say which columns they want
(Wanted: the name in force, the setting that renames it); this module matches the two by name similarity and
value profile, and drafts the [sources.<key>] section that would make the collectors read what is there.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from collectors import _valuemaps as vm

SAMPLE_ROWS = 1000  # rows sampled per table: NetSuite omits null columns, so a few rows miss sparse ones
PICKLIST_MAX = 25  # a column with at most this many distinct sampled values is treated as enumerated
NAME_THRESHOLD = 0.6  # difflib ratio of normalized names needed for a proposal on name alone

_CUSTOM_PREFIX = re.compile(r"^(custentity|custbody|custcol|custevent|custrecord|customrecord)_", re.I)
_NAMESPACE = re.compile(r"^[a-z0-9]+__(?=.)", re.I)  # managed-package namespace (blng__Invoice__c)
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$|^\d{1,2}/\d{1,2}/\d{4}$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d|^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_BOOL = {"t", "f", "true", "false"}


def name_words(name: str) -> list[str]:
    """The words of a field name: custom prefixes/suffixes and namespace gone, camelCase split, lower case."""
    n = _CUSTOM_PREFIX.sub("", name)
    n = re.sub(r"__[cr]$", "", n, flags=re.I)
    n = _NAMESPACE.sub("", n)
    n = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", n)  # camelCase -> camel_case before lower-casing
    return [w for w in re.split(r"[^a-z0-9]+", n.lower()) if w]


def normalize_name(name: str) -> str:
    """The comparable core of a field name: custom prefixes/suffixes, namespace, case and separators gone."""
    return "".join(name_words(name))


def name_similarity(a: str, b: str) -> float:
    """Spelling similarity, raised where every word of one name is a word of the other: an admin's name
    usually adds a qualifier (role -> resource_role, region -> sales_region) rather than respelling."""
    ratio = difflib.SequenceMatcher(None, normalize_name(a), normalize_name(b)).ratio()
    short, long_ = sorted((name_words(a), name_words(b)), key=len)
    if short and set(short) <= set(long_):
        ratio = max(ratio, 0.8 + 0.2 * len(short) / len(long_))
    return ratio


def family(name: str) -> str:
    """NetSuite custom field family (custbody, custentity...), '__c' for Salesforce custom fields, else ''."""
    m = _CUSTOM_PREFIX.match(name)
    if m:
        return m.group(1).lower()
    return "__c" if name.lower().endswith("__c") else ""


# --- profiles: what the source has ------------------------------------------------------------------------
@dataclass
class ColumnProfile:
    """One column as sampled: value kind, distinct values (up to PICKLIST_MAX + 1), how many rows had one."""

    name: str
    kind: str = "empty"  # empty, bool, number, date, datetime, json, text
    distinct: list[str] = field(default_factory=list)
    many: bool = False  # more distinct values than kept
    non_null: int = 0
    vendor_type: str = ""  # what the vendor's metadata says (describe type, Ironclad property type)
    label: str = ""
    references: tuple[str, ...] = ()  # the objects a lookup field points at (Salesforce describe referenceTo)

    @property
    def enumerated(self) -> bool:
        declared = self.vendor_type == "picklist"  # describe lists the values even where none was sampled
        return bool(self.distinct) and not self.many and (declared or self.kind in ("text", "number", "bool"))


@dataclass
class TableProfile:
    """A stream's table/object/record type as the source has it; absent when the role cannot read it."""

    stream: str
    table: str
    present: bool = True
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the sample, for value maps with a row filter
    note: str = ""


def value_kind(value: Any) -> str:
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (dict, list)):
        return "json"
    text = str(value).strip()
    if text.lower() in _BOOL:
        return "bool"
    if _NUMBER.match(text):
        return "number"
    if _DATETIME.match(text):
        return "datetime"
    if _DATE.match(text):
        return "date"
    return "text"


def profile_rows(
    stream: str, table: str, rows: Iterable[Mapping[str, Any]], limit: int = SAMPLE_ROWS
) -> TableProfile:
    """Profile sampled records: the union of keys, each column's kind and distinct values."""
    prof = TableProfile(stream, table)
    seen: dict[str, dict[str, None]] = {}
    kinds: dict[str, set[str]] = {}
    for i, row in enumerate(rows):
        if i >= limit:
            break
        prof.rows.append(dict(row))
        for key, value in row.items():
            col = prof.columns.setdefault(key, ColumnProfile(key))
            k = value_kind(value)
            if k == "empty":
                continue
            col.non_null += 1
            kinds.setdefault(key, set()).add(k)
            if k == "json":
                continue
            vals = seen.setdefault(key, {})
            if len(vals) <= PICKLIST_MAX:
                vals[str(value)] = None
    for key, col in prof.columns.items():
        col.kind = _merge_kinds(kinds.get(key, set()))
        col.distinct = list(seen.get(key, {}))[:PICKLIST_MAX]
        col.many = len(seen.get(key, {})) > PICKLIST_MAX
    return prof


def _merge_kinds(kinds: set[str]) -> str:
    if not kinds:
        return "empty"
    if len(kinds) == 1:
        return next(iter(kinds))
    if kinds <= {"date", "datetime"}:
        return "datetime"
    if kinds <= {"number", "bool"}:
        return "number"
    return "text"


# --- what the product wants -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Wanted:
    """A column a stream reads: the name in force, its default, the setting that renames it (None: fixed)."""

    stream: str
    column: str
    default: str
    setting: tuple[str, ...] | None = None  # ("correlation_field",) or ("custom_fields", "custentity_region")
    kind: str = "text"  # expected value kind, from the declared column type
    domain: tuple[str, ...] = ()  # the canonical values of the enumerated column it fills (value evidence)


def kind_of_type(sql_type: str) -> str:
    t = sql_type.upper()
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "datetime"
    if t.startswith(("DECIMAL", "DOUBLE", "BIGINT", "INT")):
        return "number"
    return {"BOOLEAN": "bool", "JSON": "json"}.get(t, "text")


def compatible(wanted: str, found: str) -> bool:
    """Whether a sampled value kind can feed a wanted one (text takes ids and numbers; dates take datetimes)."""
    if found == "empty":
        return False
    if wanted == "text":
        return found in ("text", "number")
    if wanted in ("date", "datetime"):
        return found in ("date", "datetime")
    return wanted == found


# --- the match ------------------------------------------------------------------------------------------
@dataclass
class Finding:
    """One wanted column's outcome: found, proposed (with the name and why), or absent."""

    wanted: Wanted
    status: str  # found | proposed | absent
    name: str | None = None
    evidence: str = ""


def sample_text(col: ColumnProfile) -> str:
    if not col.non_null:
        return f"declared {col.vendor_type or col.kind}, no value in the sampled rows"
    vals = ", ".join(repr(v[:24]) for v in col.distinct[:3])
    spread = "many distinct" if col.many else f"{len(col.distinct)} distinct"
    return f"{col.kind} values ({spread}) e.g. {vals}" if vals else f"{col.kind} values"


ELIMINATED = "the only unclaimed"  # how an elimination proposal's evidence begins
VALUE_SHARE = 0.6  # share of a column's distinct values in a canonical domain that makes it that column


def reference_kind(values: list[str], pools: Mapping[str, set[str]]) -> tuple[str | None, dict[str, float]]:
    """Which kind of key sampled reference values are: the pool (record ids, business numbers, entity ids...)
    holding at least half of them and more than any other, with every pool's share as evidence."""
    shares = (
        {kind: sum(v in pool for v in values) / len(values) for kind, pool in pools.items()} if values else {}
    )
    best = max(shares, key=lambda k: shares[k], default=None)
    if best is None or shares[best] < 0.5 or list(shares.values()).count(shares[best]) > 1:
        return None, shares
    return best, shares


def domain_share(col: ColumnProfile, domain: tuple[str, ...]) -> float:
    """The share of a column's distinct values that are canonical values of `domain` (up to case/spacing)."""
    if not domain or not col.distinct or col.many:
        return 0.0
    words = {vm.normalize(d) for d in domain}
    return sum(vm.normalize(v) in words for v in col.distinct) / len(col.distinct)


def match(profile: TableProfile, wanted: list[Wanted], known: Iterable[str] = ()) -> list[Finding]:
    """Found where the name in force exists; else the best unclaimed column of a compatible value kind, by
    name similarity first, then by elimination (the only compatible candidate left for the only wanted left).

    known: names the source module already gives a meaning (any stream's wanted or default names): never
    proposed for something else, so counterpartyName is not taken for a missing correlation property.
    """
    if not profile.present:
        return [
            Finding(w, "absent", evidence=profile.note or f"{profile.table} is not readable") for w in wanted
        ]
    if not profile.rows and not any(c.vendor_type for c in profile.columns.values()):
        why = f"{profile.table} returned no rows: its columns cannot be seen"
        return [Finding(w, "absent", evidence=why) for w in wanted]
    cols = profile.columns
    present = {n for n, c in cols.items() if c.non_null or c.vendor_type}
    out: dict[Wanted, Finding] = {}
    for w in wanted:
        if w.column in present:
            out[w] = Finding(w, "found", w.column, sample_text(cols[w.column]))
    claimed = {w.column for w in wanted} | {w.default for w in wanted} | set(known)
    missing = [w for w in wanted if w not in out and w.setting is not None]
    candidates = [n for n in present if n not in claimed]

    def fits(w: Wanted, n: str) -> bool:
        return compatible(w.kind, cols[n].kind or "text") and family(n) == family(w.default)

    def scored(w: Wanted, n: str) -> tuple[float, str]:
        """Name similarity, or (for an enumerated column) the share of the candidate's values that are the
        canonical column's own words: 'contractStatus' holding executed/draft is the status by its values."""
        name = name_similarity(w.default, n)
        share = domain_share(cols[n], w.domain)
        if share >= VALUE_SHARE and 0.7 + 0.25 * share > name:
            return 0.7 + 0.25 * share, f"values: {share:.0%} are canonical {'/'.join(w.domain[:4])}… words"
        return name, f"name ~{name:.2f} to {w.default!r}"

    pairs = sorted(
        ((*scored(w, n), w, n) for w in missing for n in candidates if fits(w, n)),
        key=lambda p: (-p[0], p[2].column, p[3]),
    )
    taken: set[str] = set()
    for score, why, w, n in pairs:
        if score >= NAME_THRESHOLD and w not in out and n not in taken:
            out[w] = Finding(w, "proposed", n, f"{why}; {sample_text(cols[n])}")
            taken.add(n)
    left = [w for w in missing if w not in out]
    for w in left:
        options = [n for n in candidates if n not in taken and fits(w, n)]
        rivals = [v for v in left if v not in out and len(options) == 1 and fits(v, options[0])]
        if len(options) == 1 and rivals == [w]:
            n = options[0]
            out[w] = Finding(
                w,
                "proposed",
                n,
                f"{ELIMINATED} {family(n) or 'plain'} {cols[n].kind} column left for it"
                f" (name ~{name_similarity(w.default, n):.2f}); {sample_text(cols[n])}",
            )
            taken.add(n)
    for w in wanted:
        if w not in out:
            why = "no non-null value in the sampled rows" if w.column in cols else "no such column"
            if w.setting is not None:  # say what could be it when the evidence was not enough to choose
                maybe = [n for n in candidates if n not in taken and fits(w, n)][:3]
                why += f"; unclaimed candidates (ambiguous): {', '.join(maybe)}" if maybe else ""
            out[w] = Finding(w, "absent", evidence=why)
    return [out[w] for w in wanted]


# --- the report and the draft -----------------------------------------------------------------------------
@dataclass
class ValueMap:
    """A canonical enumerated column fed by a vendor column: each distinct vendor value -> canonical or TODO."""

    canonical: str  # "sow.status"
    stream: str
    column: str
    pairs: dict[str, str]


@dataclass
class Report:
    source: str
    kind: str
    transport: str
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    profiles: dict[str, TableProfile] = field(default_factory=dict)
    settings: dict[tuple[str, ...], tuple[str, str]] = field(default_factory=dict)  # key -> (value, evidence)
    value_maps: list[ValueMap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # canonical column -> every distinct vendor value, where the vendor module could ask for all of them
    distinct: dict[str, list[str]] = field(default_factory=dict)

    def propose(self, key: tuple[str, ...], value: str, evidence: str, *, a_name: bool = True) -> None:
        """A setting to draft; a second stream proposing the same value adds its evidence. One vendor name is
        drafted for one setting only: a stream that saw less of it must not give it a second meaning
        (a_name=False: the value is a mode, such as a link's 'record_id', that many settings may share)."""
        other = next((k for k, (v, _) in self.settings.items() if v == value and k != key), None)
        if a_name and other is not None:
            self.notes.append(
                f"{'.'.join(key)}: {value!r} is already drafted for {'.'.join(other)}; not drafted twice"
            )
            return
        if key in self.settings:
            old, why = self.settings[key]
            if old == value:
                self.settings[key] = (old, why if evidence in why else f"{why}; {evidence}")
            else:
                self.notes.append(f"{'.'.join(key)}: {old!r} and {value!r} both proposed; drafted {old!r}")
            return
        self.settings[key] = (value, evidence)


def settle(report: Report, wanted: Mapping[str, list[Wanted]], known: Iterable[str] = ()) -> None:
    """Match every stream's profile and turn proposals into settings of the report."""
    names = {w.column for ws in wanted.values() for w in ws} | {
        w.default for ws in wanted.values() for w in ws
    }
    names |= set(known)
    for stream, ws in wanted.items():
        prof = report.profiles.get(stream) or TableProfile(
            stream, stream, present=False, note="not introspected"
        )
        report.findings[stream] = match(prof, ws, names)
    # by name first, then by elimination: a name proposed on its own evidence in one stream is not taken for
    # something else by elimination in another, where its own column happened to be empty in the sample
    proposals = [
        (stream, f)
        for stream, found in report.findings.items()
        for f in found
        if f.status == "proposed" and f.wanted.setting and f.name
    ]
    for stream, f in sorted(proposals, key=lambda p: p[1].evidence.startswith(ELIMINATED)):
        report.propose(f.wanted.setting, f.name, f"{stream}: {f.evidence}")


def draft_values(
    report: Report, columns: Mapping[str, tuple[str, str, Mapping[str, Iterable[str]] | None]]
) -> None:
    """Value-map drafts for each canonical enumerated column the source feeds: vendor value -> canonical or TODO.

    columns: canonical "table.column" -> (stream, vendor column in force, optional row filter {column: values}).
    """
    for canonical, (stream, column, where) in columns.items():
        domain = vm.domain(canonical)
        prof = report.profiles.get(stream)
        if not domain or prof is None or not prof.present:
            continue
        if where:  # only the rows the mapping reads (invoices among all transactions)
            rows = [r for r in prof.rows if all(str(r.get(k)) in set(v) for k, v in where.items())]
            col = profile_rows(stream, prof.table, rows).columns.get(column)
        else:
            col = prof.columns.get(column)
        if col is None or not col.enumerated:
            continue
        values = report.distinct.get(canonical) or col.distinct
        report.value_maps.append(
            ValueMap(
                canonical, stream, column, {v: vm.canonical_of(report.kind, canonical, v) for v in values}
            )
        )


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _str(k)


def _str(s: str) -> str:
    # a JSON string is a valid TOML basic string (json.dumps never emits the one escape TOML lacks, \/)
    import json

    return json.dumps(s, ensure_ascii=False)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _comment(text: str) -> str:
    return "\n".join("# " + line for line in text.splitlines() if line.strip())


def draft_toml(report: Report, current: Mapping[str, Any], defaults: Mapping[str, Any]) -> str:
    """[sources.<key>] with the current non-default keys plus the proposals, each under its evidence."""
    lines = [
        f"# Draft by `closedloop discover {report.source}` on {dt.date.today().isoformat()}: review every line.",
        "# Proposals carry their evidence above them; value maps say TODO where no canonical value matched.",
        f"[sources.{report.source}]",
    ]
    nested: dict[str, dict[str, Any]] = {}
    comments: dict[tuple[str, ...], str] = {}
    flat: dict[str, Any] = {}
    for k, v in current.items():
        if k == "values" or v is None or v == defaults.get(k) or (k == "kind" and v == report.source):
            continue
        if isinstance(v, Mapping):
            nested[k] = dict(v)
        else:
            flat[k] = v
    for key, (value, evidence) in report.settings.items():
        comments[key] = evidence
        if len(key) == 1:
            flat[key[0]] = value
        else:
            nested.setdefault(key[0], {})[key[1]] = value
    for k, v in flat.items():
        if (k,) in comments:
            lines.append(
                _comment(f"{v}: proposed for {k} ({defaults.get(k)!r} by default): {comments[(k,)]}")
            )
        lines.append(f"{_key(k)} = {_value(v)}")
    for table, entries in nested.items():
        lines += ["", f"[sources.{report.source}.{_key(table)}]"]
        for k, v in entries.items():
            if (table, k) in comments:
                lines.append(_comment(f"{v}: proposed for {table}.{k}: {comments[(table, k)]}"))
            lines.append(f"{_key(str(k))} = {_value(v)}")
    if report.value_maps:
        lines += ["", f"[sources.{report.source}.values]"]
        mine = current.get("values") or {}  # what the firm already mapped beats a fresh TODO
        for m in report.value_maps:
            m.pairs |= {k: v for k, v in (mine.get(m.canonical) or {}).items() if k in m.pairs}
            lines.append(
                f"# {m.canonical} <- {m.stream}.{m.column}; canonical: {', '.join(vm.domain(m.canonical))}"
            )
            lines.append(f"{_str(m.canonical)} = {_value(m.pairs)}")
    return "\n".join(lines) + "\n"
