"""The exception pack's two files: one CSV (formula cells escaped) and one self-contained HTML page.

The CSV has one row per case, then its findings (evidence) and its audit entries, told apart by `record`; every
row carries its case key and document so a spreadsheet filter keeps them together. The HTML has no script and
no external asset, and every value in it is HTML-escaped: notes, evidence and names are text, never markup.
"""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from closedloop.access import MASKED
from closedloop.csvsafe import to_csv

if TYPE_CHECKING:
    from closedloop.pack import Pack

CASE_COLUMNS = (
    "group", "status", "severity", "check_id", "title", "money_type", "document", "client", "owner_team",
    "assignee", "break_date", "closed_on", "age_days", "age_bucket", "leakage_rc", "leakage_expected_rc",
    "exposure_rc", "cash_rc", "cash_cost_rc", "compliance_findings", "check_ids", "resolved_by", "reason",
)  # fmt: skip
FINDING_COLUMNS = ("finding_key", "finding_check_id", "finding_severity", "kind", "amount_rc", "second_rc",
                   "entity_type", "entity_id", "evidence")  # fmt: skip
AUDIT_COLUMNS = ("at", "actor", "action", "note")
HEADER = ("record", "case_key", *CASE_COLUMNS, *FINDING_COLUMNS, *AUDIT_COLUMNS)


def _case_cells(c: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: c.get(k) for k in CASE_COLUMNS},
        "check_id": c["root_check_id"],
        "client": c["client_name"] or c["client_id"],
    }


def audit_note(payload: dict[str, Any] | None) -> str:
    """What an audit entry says besides its action: reason, assignee, note, comment, allowlist expiry."""
    p = payload or {}
    parts = [f"{k}: {p[k]}" for k in ("reason", "assignee", "until", "note", "text") if p.get(k)]
    if isinstance(p.get("bulk"), dict):
        parts.append(f"bulk: {p['bulk'].get('scope') or p['bulk'].get('size')}")
    return "; ".join(str(x) for x in parts)


def to_csv_bytes(pack: Pack) -> bytes:
    """The pack as one CSV: case rows, each followed by its findings and its audit entries."""
    rows = []
    for c in pack.cases:
        key, base = c["case_key"], {"case_key": c["case_key"], "document": c["document"]}
        rows.append({"record": "case", "case_key": key, **_case_cells(c)})
        for f in pack.evidence.get(key, []):
            rows.append(
                {
                    "record": "finding",
                    **base,
                    "finding_key": f["finding_key"],
                    "finding_check_id": f["check_id"],
                    "finding_severity": f["severity"],
                    "kind": f["impact_kind"],
                    "amount_rc": f["impact_rc"],
                    "second_rc": f["expected_loss_rc"],
                    "entity_type": f["entity_type"],
                    "entity_id": f["entity_id"],
                    "evidence": f["evidence"],
                }
            )
        for a in pack.audit.get(key, []):
            rows.append(
                {
                    "record": "audit",
                    **base,
                    "at": a["at"].isoformat(timespec="seconds"),
                    "actor": a["actor"],
                    "action": a["action"],
                    "note": audit_note(a.get("payload")),
                }
            )
    return to_csv(HEADER, ([r.get(h) for h in HEADER] for r in rows))


# ---- HTML ---------------------------------------------------------------------------------------------------

STYLE = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#0F172A;margin:2rem;max-width:1200px}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #CBD5E1}
h3{font-size:1rem;margin:.2rem 0}table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #E2E8F0;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#F1F5F9}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.case{border:1px solid #CBD5E1;border-radius:6px;padding:.6rem .9rem;margin:.8rem 0;page-break-inside:avoid}
.meta,.small{color:#475569;font-size:.85rem}.code{font-family:ui-monospace,Menlo,monospace;font-size:.8rem}
"""


def e(value: Any) -> str:
    """Any value as HTML text (quotes too): names, notes and evidence never become markup."""
    return html.escape("" if value is None else str(value), quote=True)


def money(value: Any, currency: str) -> str:
    """An exact amount with its currency (the pack is for accountants: no rounding to $1.2M)."""
    if value is None:
        return "—"
    if value == MASKED:
        return MASKED
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{d:,.2f} {currency}"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A table from cells that are already HTML (escaped by the caller)."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{v}</td>' if i in numeric else f"<td>{v}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _by(pack: Pack, kind: str, dim: str, labels: list[str]) -> str:
    """One kind's open and resolved cases (and amount) by owner or age bucket."""
    from closedloop.pack import MONEY_KINDS, has_kind, total

    rows = []
    for label in labels:
        mine = [c for c in pack.cases if has_kind(c, kind) and (c[dim] or "(none)") == label]
        cells = [e(label)]
        for group in ("open", "resolved"):
            g = [c for c in mine if c["group"] == group]
            cells.append(f"{len(g):,}")
            if kind in MONEY_KINDS:
                cells.append(e(money(total(c[f"{kind}_rc"] for c in g), pack.currency)))
        rows.append(cells)
    money_kind = kind in MONEY_KINDS
    head = [e(dim.replace("_", " "))] + (
        ["open cases", "open amount", "resolved cases", "resolved amount"]
        if money_kind
        else ["open cases", "resolved cases"]
    )
    return _table(head, rows, numeric=set(range(1, len(head))))


def _summary(pack: Pack) -> str:
    from closedloop.pack import AGE_BUCKETS, IMPACT_MEANING, SECOND, has_kind, summary

    parts = []
    for kind, per in summary(pack).items():
        parts.append(
            f"<h3>{e(kind.capitalize())} <span class='small'>— {e(IMPACT_MEANING[kind])}</span></h3>"
        )
        rows = []
        for group in ("open", "resolved"):
            r = per[group]
            if kind == "compliance":
                sev = " · ".join(f"{s} {n:,}" for s, n in r["by_severity"].items())
                rows.append([e(group), f"{r['cases']:,}", e(sev)])
            else:
                cells = [e(group), f"{r['cases']:,}", e(money(r["amount_rc"], pack.currency))]
                if kind in SECOND:
                    cells.append(e(money(r[SECOND[kind][1]], pack.currency)))
                rows.append(cells)
        if kind == "compliance":
            head = ["", "cases", "by severity (no money figure)"]
        else:
            head = ["", "cases", "amount at stake"] + ([e(SECOND[kind][1])] if kind in SECOND else [])
        parts.append(_table(head, rows, numeric={1, 2, 3} if kind != "compliance" else {1}))
        mine = [c for c in pack.cases if has_kind(c, kind)]
        if mine:
            owners = sorted({c["owner_team"] or "(none)" for c in mine})
            parts.append("<p class='small'>By owner</p>" + _by(pack, kind, "owner_team", owners))
            ages = [b for b, _ in AGE_BUCKETS if any(c["age_bucket"] == b for c in mine)]
            parts.append(
                "<p class='small'>By age (days since the break)</p>" + _by(pack, kind, "age_bucket", ages)
            )
    return "".join(parts)


def _case(pack: Pack, c: dict[str, Any]) -> str:
    from closedloop.pack import MONEY_KINDS, SECOND

    amounts = []
    for kind in MONEY_KINDS:
        if c[f"{kind}_rc"] is not None:
            line = f"{kind} {money(c[f'{kind}_rc'], pack.currency)}"
            if kind in SECOND and c.get(SECOND[kind][0]) is not None:
                line += f" ({SECOND[kind][1]} {money(c[SECOND[kind][0]], pack.currency)})"
            amounts.append(line)
    if c.get("compliance_findings"):
        amounts.append(f"compliance {c['compliance_findings']} finding(s)")
    who = c["client_name"] or c["client_id"] or "no client"
    head = (
        f"<h3>{e(c['status'])} · {e(c['severity'])} · {e(c['title'] or c['root_check_id'])}</h3>"
        f"<div class='meta'>{e(c['money_type'])} {e(c['document'])} · {e(who)} · owner {e(c['owner_team'] or '—')}"
        f"{' · assigned to ' + e(c['assignee']) if c.get('assignee') else ''} · break {e(c['break_date'])}"
        f" · {e(c['age_days'])} days{' · closed on ' + e(c['closed_on']) if c.get('closed_on') else ''}</div>"
        f"<div>{e(' · '.join(amounts) or 'no money figure')}</div>"
        f"<div class='small code'>case {e(c['case_key'])} · checks {e(c['check_ids'])}</div>"
    )
    ev = pack.evidence.get(c["case_key"], [])
    body = ""
    if ev:
        body += _table(
            ["check", "severity", "kind", "amount", "record", "evidence"],
            [
                [
                    e(f"{f['check_id']} {f['title'] or ''}"),
                    e(f["severity"]),
                    e(f["impact_kind"]),
                    e(money(f["impact_rc"], pack.currency)),
                    e(f"{f['entity_type']} {f['entity_id']}"),
                    e(f["evidence"]),
                ]
                for f in ev
            ],
            numeric={3},
        )
    elif c["lifecycle"] == "closed":
        body += "<p class='small'>Closed: the data no longer shows this case; its findings are in earlier runs.</p>"
    trail = pack.audit.get(c["case_key"], [])
    if trail:
        body += _table(
            ["when (UTC)", "who", "action", "details"],
            [
                [
                    e(f"{a['at']:%Y-%m-%d %H:%M}"),
                    e(a["actor"]),
                    e(a["action"]),
                    e(audit_note(a.get("payload"))),
                ]
                for a in trail
            ],
        )
    else:
        body += "<p class='small'>No one has acted on this case.</p>"
    return f"<div class='case'>{head}{body}</div>"


def to_html(pack: Pack) -> str:
    """The pack as one self-contained HTML page (inline style, no script, no external asset)."""
    from closedloop.pack import IMPACT_MEANING

    month = dt.date.fromisoformat(f"{pack.period}-01").strftime("%B %Y")
    open_cases = [c for c in pack.cases if c["group"] == "open"]
    done = [c for c in pack.cases if c["group"] == "resolved"]
    kinds = "".join(f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in IMPACT_MEANING.items())
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Exception pack {e(pack.period)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Exception pack — {e(month)} <span class='small'>({e(pack.period)})</span></h1>"
        f"<p class='meta'>Run {e(pack.run_id)} · business date {e(pack.as_of)} · generated {e(pack.generated_at)}"
        f" · amounts in {e(pack.currency)}</p>"
        + (
            f"<p class='meta'>Prepared for a view limited to {e(pack.scope)}"
            + (f"; masked ({e(MASKED)}): {e(', '.join(pack.masked))}" if pack.masked else "")
            + ".</p>"
            if pack.masked or pack.scope != "the whole firm"
            else ""
        )
        + "<p class='small'>A case belongs to the period when its break happened in that month (its event date, else "
        "the date it was first seen). Open: the published run still finds it. Resolved: a run closed it (the data "
        "no longer shows it) or a person marked it resolved and the next run will confirm it. Each case's money is "
        "counted once per kind; kinds are never added together.</p>"
        f"<ul class='small'>{kinds}</ul>"
        f"<h2>Summary by kind</h2>{_summary(pack)}"
        f"<h2>Open cases ({len(open_cases):,})</h2>{''.join(_case(pack, c) for c in open_cases) or '<p>None.</p>'}"
        f"<h2>Resolved cases ({len(done):,})</h2>{''.join(_case(pack, c) for c in done) or '<p>None.</p>'}"
        "</body></html>"
    )
