"""CRM mirror, cash application and the middleware log: Q2C-071, Q2C-076, Q2C-101, Q2C-104, Q2C-107.

Injection: 071 — 0.3 % of CRM invoice records carry the net amount (the sync mapped amount_net; §D.2 #27);
076 — 0.5 % of applied payments were received by the other legal entity or paid by another client (parent pays);
101 — 0.05 % of invoice.posted events were replayed with the same idempotency key onto a second CRM record (§D.2 #44);
104 — 1 % of events failed once and then succeeded (no finding), and a fifth of the invoices lost on the way to
CRM (Q2C-070) have a dead-lettered invoice.posted event (§D.2 #47); 107 — 0.2 % of approved time entries carry a
back-dated approval (approved_at before submitted_at; §D.2 #50). Evaluators state each card on the final tables:
071 — non-cancelled invoice whose CRM record (erp_invoice_no) differs in gross, currency or due date:
  round(|gross − crm amount| × fx(ccy, invoice_date), 2) (whole gross if currencies differ); entity invoice.
076 — payment applied to an invoice of another client or legal entity: round(amount × fx(ccy, received_date), 2).
101 — successful events of one idempotency key and target system with > 1 target: impact 0; entity
  idempotency_key ('key:target_system').
104 — failed / dead_letter / retrying event created > 24 h before as_of_ts with no other successful event of its
  key: the money the event carries — invoice events round(gross × fx(ccy, invoice_date), 2), payment events
  round(amount × fx(ccy, received_date), 2), else 0; entity integration_event.
107 — the card's five impossibilities (invoice before SOW signature, payment before invoice, acceptance before
  completion, approval before submission, project created > 90 days before its opportunity): impact 0.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .. import ids
from ..calc import DAY
from ..ctx import Ctx
from ..frames import replace_rows
from ..params import CHECK_PARAMS
from .base import key, pick, rc

INT_SLA = CHECK_PARAMS["int_sla_hours"] * 3600
REPLAY_START = 10**9  # id counters for added events/records, disjoint from the clean firm's


def inject(ctx: Ctx) -> None:
    """CRM amounts, cross-entity cash, replayed / failed events, back-dated approvals."""
    rng = ctx.child_rng("inject-integ")
    crm = ctx.t["crm_invoice_status"]
    inv = ctx.t["invoice"].select(
        pl.col("invoice_id").alias("_invoice_id"), "type", "status", "amount_net", "tax_amount"
    )
    c = crm.join(inv, on="_invoice_id", how="left", maintain_order="left")
    el = c.filter(
        (pl.col("type") == "invoice") & (pl.col("status") != "cancelled") & (pl.col("tax_amount") > 0)
    )
    a = pick(ctx, el, "Q2C-071")
    net = dict(zip(a["crm_record_id"].to_list(), a["amount_net"].to_list(), strict=True))
    ctx.t["crm_invoice_status"] = crm.with_columns(
        amount=pl.col("crm_record_id").replace_strict(net, default=pl.col("amount"), return_dtype=pl.Int64)
    )
    _cash(ctx, rng)
    _events(ctx, rng)
    # the pick runs over row numbers of the eligible entries (same rows, same order); the few picked are fetched
    te = ctx.t["time_entry"]
    ok = te.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_ri"),
        (pl.col("approved_at").is_not_null() & pl.col("submitted_at").is_not_null()).alias("_ok"),
    ).filter("_ok")
    d = pick(ctx, ok, "Q2C-107", p=min(1.0, 0.002 * ctx.defect_scale))
    d = te.select(pl.col("time_entry_id", "submitted_at").gather(d["_ri"]))
    del te
    back = dict(
        zip(
            d["time_entry_id"].to_list(),
            (d["submitted_at"].to_numpy() - rng.integers(3600, 20 * 3600, d.height)).tolist(),
            strict=True,
        )
    )
    del ok
    replace_rows(ctx.t, "time_entry", "time_entry_id", back, "approved_at", pl.Int64)


def _cash(ctx: Ctx, rng: np.random.Generator) -> None:
    """076: half received in another legal entity's account, half paid by another client."""
    pay = ctx.t["payment"]
    b = pick(ctx, pay.filter(pl.col("invoice_id").is_not_null()), "Q2C-076")
    les = sorted(ctx.t["legal_entity"]["legal_entity_id"].to_list())
    cls = sorted(ctx.t["client"]["client_id"].to_list())
    half = rng.random(b.height) < 0.5
    le_map, cl_map = {}, {}
    for pid, le, cl, h in zip(b["payment_id"], b["legal_entity_id"], b["client_id"], half, strict=True):
        if h and len(les) > 1:
            le_map[pid] = les[(les.index(le) + 1) % len(les)] if le in les else les[0]
        else:
            cl_map[pid] = cls[(cls.index(cl) + 1) % len(cls)] if cl in cls else cls[0]
    ctx.t["payment"] = pay.with_columns(
        legal_entity_id=pl.col("payment_id").replace_strict(le_map, default=pl.col("legal_entity_id")),
        client_id=pl.col("payment_id").replace_strict(cl_map, default=pl.col("client_id")),
    )


def _events(ctx: Ctx, rng: np.random.Generator) -> None:
    """101 replays, 104 transient failures and dead letters for invoices lost on the way to CRM."""
    ev = ctx.t["integration_event"]
    posted = ev.filter(pl.col("event_type") == "invoice.posted")
    r = pick(
        ctx, posted, "Q2C-101", p=min(1.0, 0.0005 * ctx.defect_scale * ev.height / max(posted.height, 1))
    )
    r = r.with_columns(
        target_entity_id=ids.sf_ids("invoice_status", r.height, start=REPLAY_START),
        created_at=pl.col("created_at") + 3600,
        processed_at=pl.col("processed_at") + 3600,
    )
    f = pick(ctx, ev, "Q2C-104", p=min(1.0, 0.01 * ctx.defect_scale)).with_columns(
        status=pl.lit("failed"),
        error_message=pl.lit("HTTP 503 Service Unavailable"),
        attempt=pl.lit(1, pl.Int32),
        processed_at=pl.col("created_at") + 30,
    )
    crm = ctx.t["crm_invoice_status"]["_invoice_id"].implode()
    inv = ctx.t["invoice"]
    lost = inv.filter((pl.col("posted_at") < ctx.as_of_ts - INT_SLA) & ~pl.col("invoice_id").is_in(crm))
    lost = lost.filter(pl.Series(rng.random(lost.height) < 0.2))
    dl = lost.select(
        "correlation_id",
        entity_id=pl.col("invoice_id"),
        target_entity_id=pl.lit(None, pl.String),
        created_at=pl.col("posted_at") + 60,
        source_system=pl.lit("netsuite"),
        target_system=pl.lit("salesforce"),
        entity_type=pl.lit("invoice"),
        event_type=pl.lit("invoice.posted"),
        idempotency_key=pl.concat_str([pl.lit("invoice.posted:"), "invoice_id"]),
        status=pl.lit("dead_letter"),
        attempt=pl.lit(6, pl.Int32),
        error_message=pl.lit("INVALID_FIELD: Account__c not found"),
        processed_at=pl.col("posted_at") + 6 * 3600,
    )
    add = pl.concat(
        [
            r.select(ev.columns),
            f.select(ev.columns),
            dl.with_columns(event_id=pl.lit(""), source_id=pl.lit("")).select(ev.columns),
        ],
        how="vertical_relaxed",  # an empty pick carries Null-typed columns
    ).cast(dict(ev.schema))
    new_ids = ids.event_ids(add.height, start=REPLAY_START)
    add = add.with_columns(event_id=new_ids, source_id=new_ids)
    ctx.t["integration_event"] = pl.concat([ev, add]).sort("created_at", "event_id")


def evaluate(ctx: Ctx) -> pl.DataFrame:
    """Rows for 071, 076, 101, 104, 107."""
    inv = ctx.t["invoice"]
    out = []
    c = ctx.t["crm_invoice_status"].select(
        "erp_invoice_no",
        pl.col("amount").alias("_ca"),
        pl.col("currency").alias("_cc"),
        pl.col("due_date").alias("_cd"),
    )
    j = inv.filter(pl.col("status") != "cancelled").join(c, on="erp_invoice_no")
    j = j.filter(
        ((pl.col("amount_gross") - pl.col("_ca")).abs() > 1)
        | (pl.col("currency") != pl.col("_cc"))
        | (pl.col("due_date") != pl.col("_cd"))
    )
    rows = [
        (
            r["invoice_id"],
            r["correlation_id"],
            rc(
                ctx,
                abs(r["amount_gross"] - r["_ca"]) if r["currency"] == r["_cc"] else r["amount_gross"],
                r["currency"],
                r["invoice_date"],
            ),
            f"erp={r['amount_gross']} crm={r['_ca']}",
        )
        for r in j.sort("invoice_id").iter_rows(named=True)
    ]
    out.append(key("Q2C-071", "invoice", rows))
    p = ctx.t["payment"].join(
        inv.select("invoice_id", pl.col("client_id").alias("_ic"), pl.col("legal_entity_id").alias("_il")),
        on="invoice_id",
    )
    p = p.filter((pl.col("client_id") != pl.col("_ic")) | (pl.col("legal_entity_id") != pl.col("_il")))
    rows = [
        (r["payment_id"], r["correlation_id"], rc(ctx, r["amount"], r["currency"], r["received_date"]), "")
        for r in p.sort("payment_id").iter_rows(named=True)
    ]
    out.append(key("Q2C-076", "payment", rows))
    out.extend([_101(ctx), _104(ctx), _107(ctx)])
    return pl.concat(out)


def _101(ctx: Ctx) -> pl.DataFrame:
    ev = ctx.t["integration_event"].filter(
        (pl.col("status") == "success") & pl.col("idempotency_key").is_not_null()
    )
    g = (
        ev.group_by("idempotency_key", "target_system")
        .agg(pl.col("target_entity_id").drop_nulls().n_unique().alias("_n"), pl.col("correlation_id").min())
        .filter(pl.col("_n") > 1)
        .with_columns(_k=pl.col("idempotency_key") + ":" + pl.col("target_system").fill_null(""))
    )
    return key(
        "Q2C-101",
        "idempotency_key",
        [(r["_k"], r["correlation_id"], 0, "") for r in g.sort("_k").iter_rows(named=True)],
    )


def _104(ctx: Ctx) -> pl.DataFrame:
    ev = ctx.t["integration_event"]
    ok = ev.filter(pl.col("status") == "success").select("idempotency_key").unique()
    bad = ev.filter(
        pl.col("status").is_in(["failed", "dead_letter", "retrying"])
        & (pl.col("created_at") < ctx.as_of_ts - INT_SLA)
    ).join(ok, on="idempotency_key", how="anti")  # a failed event is never itself the success
    inv = ctx.t["invoice"].select(
        pl.col("invoice_id").alias("entity_id"),
        "amount_gross",
        pl.col("currency").alias("_c"),
        "invoice_date",
    )
    pay = ctx.t["payment"].select(
        pl.col("payment_id").alias("entity_id"),
        pl.col("amount").alias("_pa"),
        pl.col("currency").alias("_pc"),
        "received_date",
    )
    bad = (
        bad.join(inv.with_columns(_inv=pl.lit(True)), on="entity_id", how="left")
        .join(pay.with_columns(_pay=pl.lit(True)), on="entity_id", how="left")
        .with_columns(
            _hit=(pl.col("entity_type") == "invoice") & pl.col("_inv").fill_null(False),
            _paid=(pl.col("entity_type") == "payment") & pl.col("_pay").fill_null(False),
        )
    )

    def carried(r: dict) -> object:
        """The money the event carries: its invoice's gross or its payment's amount."""
        if r["_hit"]:
            return rc(ctx, r["amount_gross"], r["_c"], r["invoice_date"])
        return rc(ctx, r["_pa"], r["_pc"], r["received_date"]) if r["_paid"] else 0

    rows = [
        (r["event_id"], r["correlation_id"], carried(r), r["status"])
        for r in bad.sort("event_id").iter_rows(named=True)
    ]
    return key("Q2C-104", "integration_event", rows)


def _107(ctx: Ctx) -> pl.DataFrame:
    t = ctx.t
    inv = (
        t["invoice"]
        .filter(pl.col("status") != "cancelled")
        .join(t["sow"].select("sow_id", pl.col("signed_date").alias("_s")), on="sow_id")
    )
    a = inv.filter(pl.col("invoice_date") < pl.col("_s"))
    pay = t["payment"].join(t["invoice"].select("invoice_id", "invoice_date"), on="invoice_id")
    b = pay.filter(pl.col("received_date") < pl.col("invoice_date"))
    ms = t["milestone"].filter(pl.col("accepted_date") < pl.col("completed_date"))
    te = t["time_entry"].filter(pl.col("approved_at") < pl.col("submitted_at"))
    pr = (
        t["project"]
        .join(t["sow"].select("sow_id", "opportunity_id"), on="sow_id")
        .join(
            t["opportunity"].select("opportunity_id", pl.col("created_at").alias("_oc")), on="opportunity_id"
        )
        .filter(pl.col("_oc") // DAY - pl.col("created_at") // DAY > 90)
    )
    parts = [
        ("invoice", a, "invoice_id"),
        ("payment", b, "payment_id"),
        ("milestone", ms, "milestone_id"),
        ("time_entry", te, "time_entry_id"),
        ("project", pr, "project_id"),
    ]
    return pl.concat(
        [
            key(
                "Q2C-107",
                et,
                [(e, c, 0, "") for e, c in df.select(col, "correlation_id").unique().sort(col).iter_rows()],
            )
            for et, df, col in parts
        ]
    )
