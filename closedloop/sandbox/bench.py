"""Benchmark: each API collector against the local sandbox, beside a bare httpx loop over the same pages.

`python -m closedloop.sandbox.bench --tier s --dir DIR` prints JSON (closedloop bench's `collectors` stage).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import httpx

from closedloop.sandbox.data import ensure_exports, find_exports
from closedloop.sandbox.server import Sandbox
from closedloop.sandbox.state import Credentials
from closedloop.sandbox.vendors import PLUGINS
from closedloop.sandbox.vendors import module as vendor_module
from closedloop.settings import source_module
from collectors import ironclad, netsuite, salesforce
from collectors.netsuite.api import is_bulk, suiteql, table_of
from collectors.runner import collect_source
from collectors.salesforce.api import sobject_of, soql

VENDORS = ("salesforce", "netsuite", "ironclad")


def _collector(sb: Sandbox, vendor: str):
    module = {"salesforce": salesforce, "netsuite": netsuite, "ironclad": ironclad}[vendor]
    env = sb.secrets()
    cfg = {"kind": vendor, **sb.source_config()[vendor]}
    return module.api_collector(cfg, lambda n: env.get(f"CLOSEDLOOP_{vendor.upper()}_{n.upper()}")), cfg


def _api_streams(collector, vendor: str) -> set[str]:
    """The streams a vendor serves over its API (NetSuite's bulk CSV streams are files, not pages)."""
    return {s.name for s in collector.streams() if not (vendor == "netsuite" and is_bulk(s))}


def time_collector(sb: Sandbox, vendor: str) -> tuple[int, float]:
    collector, _ = _collector(sb, vendor)
    con = duckdb.connect()
    t0 = time.perf_counter()
    res = collect_source(
        con,
        collector,
        run_id="bench",
        extracted_at=dt.datetime.now(dt.UTC),
        only_streams=_api_streams(collector, vendor),
    )
    seconds = time.perf_counter() - t0
    if res.status != "ok":
        raise RuntimeError(f"{vendor}: {res.errors[:2]}")
    return res.rows, seconds


def _token(client: httpx.Client, url: str, form: dict[str, str]) -> str:
    return client.post(url, data=form).json()["access_token"]


def bare_salesforce(sb: Sandbox, client: httpx.Client) -> int:
    collector, cfg = _collector(sb, "salesforce")
    creds = sb.state.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.salesforce_client_id,
        "client_secret": creds.salesforce_client_secret,
    }
    headers = {"Authorization": "Bearer " + _token(client, cfg["token_url"], form)}
    n = 0
    for stream in collector.streams():
        params: dict[str, str] | None = {"q": soql(stream, sobject_of(stream, cfg), None, cfg)}
        url: str | None = f"{sb.base_url}/services/data/v66.0/query"
        while url:
            doc = json.loads(client.get(url, params=params, headers=headers).content)
            n += len(doc["records"])
            url, params = (None, None) if doc["done"] else (sb.base_url + doc["nextRecordsUrl"], None)
    return n


def bare_netsuite(sb: Sandbox, client: httpx.Client) -> int:
    collector, cfg = _collector(sb, "netsuite")
    auth = collector.http.httpx_client.auth  # the same M2M (or TBA) credentials: pages are what is timed
    n = 0
    for stream in collector.streams():
        if is_bulk(stream):
            continue
        body = {"q": suiteql(stream, table_of(stream, cfg))}
        offset, more = 0, True
        while more:
            r = client.post(
                f"{sb.base_url}/services/rest/query/v1/suiteql",
                params={"limit": 1000, "offset": offset},
                json=body,
                headers={"Prefer": "transient"},
                auth=auth,
            )
            doc = json.loads(r.content)
            n += len(doc["items"])
            more, offset = doc["hasMore"], offset + 1000
    return n


def bare_ironclad(sb: Sandbox, client: httpx.Client) -> int:
    _, cfg = _collector(sb, "ironclad")
    creds = sb.state.credentials
    form = {
        "grant_type": "client_credentials",
        "client_id": creds.ironclad_client_id,
        "client_secret": creds.ironclad_client_secret,
    }
    headers = {
        "Authorization": "Bearer " + _token(client, cfg["token_url"], form),
        "x-as-user-email": creds.ironclad_user_email,
    }
    base = cfg["base_url"]
    client.get(f"{base}/records/metadata", headers=headers).json()
    n = 1  # the metadata document is the records_metadata stream's one record
    for rtype in ironclad.record_types(cfg).values():
        page = 0
        while True:
            params = {
                "types": rtype,
                "page": page,
                "pageSize": 100,
                "sortField": "lastUpdated",
                "sortDirection": "ASC",
            }
            doc = json.loads(client.get(f"{base}/records", params=params, headers=headers).content)
            n += len(doc["list"])
            page += 1
            if not doc["list"] or page * 100 >= doc["count"]:
                break
    return n


BARE: dict[str, Callable[[Sandbox, httpx.Client], int]] = {
    "salesforce": bare_salesforce,
    "netsuite": bare_netsuite,
    "ironclad": bare_ironclad,
}


def _timed(rows: int, seconds: float, bare_rows: int, bare: float) -> dict[str, Any]:
    return {
        "records": rows,
        "collector_seconds": round(seconds, 3),
        "collector_records_per_s": round(rows / seconds) if seconds else None,
        "bare_httpx_records": bare_rows,
        "bare_httpx_seconds": round(bare, 3),
        "bare_httpx_records_per_s": round(bare_rows / bare) if bare else None,
        "collector_vs_bare": round(seconds / bare, 2) if bare else None,
    }


def run(tier: str, directory: Path, seed: int = 42) -> dict[str, Any]:
    """One sandbox, each vendor twice: through its collector (into DuckDB), then a bare httpx loop. Every other
    vendor (closedloop/sandbox/vendors.py) is timed the same way on the first estate profile that has it."""
    t0 = time.perf_counter()
    root = ensure_exports(directory, tier, seed, say=lambda _m: None)
    prepared = time.perf_counter() - t0
    out: dict[str, Any] = {"tier": tier, "exports": str(root), "prepare_seconds": round(prepared, 2)}
    with Sandbox(root, credentials=Credentials.with_keypair()) as sb, httpx.Client(timeout=300) as client:
        for vendor in VENDORS:
            BARE[vendor](sb, client)  # warm the sandbox's caches (loads, SuiteQL results) for both sides
            rows, seconds = time_collector(sb, vendor)
            b0 = time.perf_counter()
            bare_rows = BARE[vendor](sb, client)
            out[vendor] = _timed(rows, seconds, bare_rows, time.perf_counter() - b0)
    for kind in PLUGINS:
        try:
            out[kind] = _plugin(kind, tier, Path(directory), seed)
        except Exception as exc:  # one vendor's failure is its row's error, not the whole stage's
            out[kind] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def _plugin(kind: str, tier: str, directory: Path, seed: int) -> dict[str, Any]:
    """A vendor beyond the three built in, on the first estate profile that has it (rendered once, beside the
    demo: DIR/../estates/<profile>)."""
    from closedloop.demo.profiles import PROFILES

    prof = next((p for p in PROFILES.values() if kind in p.systems), None)
    if prof is None:
        raise LookupError(f"no estate profile has {kind} among its systems")
    estate = directory.parent / "estates" / prof.name
    t0 = time.perf_counter()
    root = find_exports(estate) or ensure_exports(estate, tier, seed, say=lambda _m: None, profile=prof)
    prepared = time.perf_counter() - t0
    vendor = vendor_module(kind)
    with Sandbox(root, credentials=Credentials.with_keypair()) as sb, httpx.Client(timeout=300) as client:
        creds = sb.state.credentials
        vendor.bare_loop(client, sb.base_url, creds)  # warm the sandbox's caches for both sides
        env = sb.secrets()
        cfg = {"kind": kind, **sb.source_config()[kind], **prof.config_sections().get(kind, {})}
        collector = source_module(kind).api_collector(
            cfg, lambda n: env.get(f"CLOSEDLOOP_{kind.upper()}_{n.upper()}")
        )
        con = duckdb.connect()
        c0 = time.perf_counter()
        res = collect_source(con, collector, run_id="bench", extracted_at=dt.datetime.now(dt.UTC))
        seconds = time.perf_counter() - c0
        if res.status != "ok":
            raise RuntimeError(f"{kind}: {res.errors[:2]}")
        b0 = time.perf_counter()
        bare_rows = vendor.bare_loop(client, sb.base_url, creds)
        timed = _timed(res.rows, seconds, bare_rows, time.perf_counter() - b0)
    return timed | {"estate": prof.name, "prepare_seconds": round(prepared, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", default="s")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(run(args.tier, args.dir, args.seed)))


if __name__ == "__main__":
    main()
