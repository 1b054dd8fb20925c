"""Vendor-native ids from disjoint ranges, vectorised, so one id always names one record of one type."""

from __future__ import annotations

import numpy as np
import polars as pl

B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
CROCKFORD = np.frombuffer(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ", dtype=np.uint8)
SF_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)

# NetSuite internal ids: one numeric range per record type (transactions share NetSuite's one sequence,
# split here into sub-ranges per transaction type).
NS_RANGE = {
    "subsidiary": 1,
    "customer": 1_000_000,
    "employee": 2_000_000,
    "job": 3_000_000,
    "vendor": 4_000_000,
    "projecttask": 5_000_000,
    "milestone": 6_000_000,
    "billingschedule": 7_000_000,
    "billingrule": 7_900_000,
    "revenueline": 8_000_000,
    "invoice": 10_000_000,
    "creditmemo": 17_000_000,
    "payment": 20_000_000,
    "vendorbill": 25_000_000,
    "purchaseorder": 28_000_000,
    "writedown": 29_000_000,
    "expense": 30_000_000,
    "invoiceline": 50_000_000,
    "timebill": 100_000_000,
}
# Salesforce key prefixes (first 3 chars of an Id name the object).
SF_PREFIX = {"account": "001", "opportunity": "006", "user": "005", "invoice_status": "a0A"}
# Ironclad record ids are 24-hex (Mongo-style); the 4th byte names the record type here.
IC_TYPE = {"msa": 1, "sow": 2, "amendment": 3, "ratecard": 4, "milestone": 5}


def _scramble(n: np.ndarray, salt: int, bits: int) -> np.ndarray:
    """Bijective mixing of counters within 2**bits, so sequential ids look random but never collide."""
    m = np.uint64((1 << bits) - 1)
    x = (n.astype(np.uint64) + np.uint64(salt)) & m
    x = (x * np.uint64(0x9E3779B97F4A7C15 & ((1 << bits) - 1) | 1)) & m
    x ^= x >> np.uint64(bits // 2)
    x = (x * np.uint64(0xBF58476D1CE4E5B9 & ((1 << bits) - 1) | 1)) & m
    return x


def _encode(x: np.ndarray, alphabet: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width base-len(alphabet) digits as an (n, width) uint8 array."""
    base = np.uint64(len(alphabet))
    out = np.empty((len(x), width), dtype=np.uint8)
    v = x.astype(np.uint64).copy()
    for i in range(width - 1, -1, -1):
        out[:, i] = alphabet[(v % base).astype(np.int64)]
        v //= base
    return out


def _to_str(chars: np.ndarray) -> list[str]:
    return chars.view(f"S{chars.shape[1]}").ravel().astype(str).tolist()


def ns_ids(kind: str, n: int, start: int = 0) -> pl.Series:
    """NetSuite internal ids (numeric strings) for n records of one type."""
    return pl.Series(np.arange(start, start + n, dtype=np.int64) + NS_RANGE[kind]).cast(pl.String)


def sf_ids(kind: str, n: int, start: int = 0) -> pl.Series:
    """Salesforce 18-char ids: prefix + pod '5g' + '000' + 7 base62 + 3-char case-safe checksum."""
    body = _encode(_scramble(np.arange(start, start + n), salt=len(kind) * 7919, bits=40), B62, 7)
    head = np.frombuffer((SF_PREFIX[kind] + "5g000").encode(), dtype=np.uint8)
    raw = np.hstack([np.broadcast_to(head, (n, 8)), body])  # 15 chars
    upper = (raw >= ord("A")) & (raw <= ord("Z"))
    w = (1 << np.arange(5)).astype(np.int64)
    suffix = np.stack([SF_SUFFIX[(upper[:, 5 * k : 5 * k + 5] * w).sum(axis=1)] for k in range(3)], axis=1)
    return pl.Series(_to_str(np.hstack([raw, suffix])))


def ironclad_ids(kind: str, n: int, start: int = 0) -> pl.Series:
    """Ironclad record ids: 24 lowercase hex chars, type byte after a fixed epoch-like prefix."""
    head = np.frombuffer(f"65a1{IC_TYPE[kind]:02x}".encode(), dtype=np.uint8)
    body = _encode(_scramble(np.arange(start, start + n), salt=IC_TYPE[kind] * 104729, bits=64), HEX, 18)
    return pl.Series(_to_str(np.hstack([np.broadcast_to(head, (n, 6)), body])))


def event_ids(n: int, start: int = 0) -> pl.Series:
    """Deterministic uuid-shaped middleware event ids (version nibble 4)."""
    a = _encode(_scramble(np.arange(start, start + n), salt=17, bits=64), HEX, 16)
    b = _encode(_scramble(np.arange(start, start + n), salt=31, bits=60), HEX, 15)
    dash = np.full((n, 1), ord("-"), dtype=np.uint8)
    four = np.full((n, 1), ord("4"), dtype=np.uint8)
    parts = [a[:, :8], dash, a[:, 8:12], dash, four, a[:, 12:15], dash, b[:, :4], dash, b[:, 4:15], a[:, 15:]]
    return pl.Series(_to_str(np.hstack(parts)))


def correlation_ids(n: int, start: int = 0) -> pl.Series:
    """One correlation id per commercial flow: 'CL-' + 10 Crockford base32 chars."""
    body = _encode(_scramble(np.arange(start, start + n), salt=99991, bits=50), CROCKFORD, 10)
    head = np.broadcast_to(np.frombuffer(b"CL-", dtype=np.uint8), (n, 3))
    return pl.Series(_to_str(np.hstack([head, body])))


def tranids(prefix: str, n: int, start: int = 0) -> pl.Series:
    """Human document numbers like 'INV0012345'."""
    return prefix + pl.Series(np.arange(start + 1, start + n + 1)).cast(pl.String).str.zfill(7)
