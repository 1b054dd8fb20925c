"""Deterministic faults for the sandbox: every Nth or the first K data requests of a vendor misbehave."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

from closedloop.sandbox.vendors import SALESFORCE_ORG
from closedloop.sandbox.vendors import VENDORS as _SERVED

# a package inside the Salesforce org (Conga) has no host of its own: fault it as @salesforce (stream=<object>)
VENDORS = tuple(v for v in _SERVED if v not in SALESFORCE_ORG)

# name -> (vendors it applies to, what it does); the sandbox's --fault help and docs come from here
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "concurrent_limit": (
        ("salesforce", "netsuite"),
        "Salesforce 403 REQUEST_LIMIT_EXCEEDED ConcurrentRequests / NetSuite 400 CONCURRENCY_LIMIT_EXCEEDED"
        " (retryable)",
    ),
    "total_requests": (("salesforce",), "Salesforce 403 REQUEST_LIMIT_EXCEEDED TotalRequests (fatal)"),
    "rate_limit": (VENDORS, "HTTP 429 with Retry-After: <seconds> (retryable)"),
    "server_error": (VENDORS, "HTTP <status, default 503> bursts (retryable unless it never ends)"),
    "token_expiry": (VENDORS, "the bearer token is revoked before the page: 401 (INVALID_SESSION_ID ...)"),
    "stale_nonce": (
        ("netsuite",),
        "token-based auth: the request's OAuth 1.0a nonce is refused as already used (as a timestamp outside"
        " the window is): 401 INVALID_LOGIN; signing afresh recovers",
    ),
    "slow": (VENDORS, "the page is answered after <seconds>"),
    "echo_credentials": (
        VENDORS,
        "HTTP 400 whose error body quotes the request's Authorization header and token back (as some gateways"
        " do): the error is fatal, and must reach no log, ledger or warehouse row unredacted",
    ),
    "truncated": (VENDORS, "the page body is cut in half: malformed JSON"),
    "drift": (VENDORS, "field <field> renamed to <to> (empty: dropped) in every record"),
    "duplicates": (
        (
            "netsuite",
            "ironclad",
            "oracle_fusion",
            "dynamics_project",
            "sap_s4",
            "docusign_clm",
            "icertis",
            "salesforce",
        ),
        "offset/page-number/continuation pages overlap by one record; Salesforce Bulk API 2.0 results hand back the"
        " page's own Sforce-Locator (the same page again)",
    ),
    "job_failed": (
        ("salesforce",),
        "Salesforce Bulk API 2.0 query jobs (on <stream>, an object; '' = all) end Failed with an errorMessage",
    ),
    "permission_denied": (
        ("salesforce", "netsuite", "sap_s4"),
        "the integration role may not read <stream> (a table/object): NetSuite 403 INSUFFICIENT_PERMISSION,"
        " Salesforce 400 INVALID_TYPE (an object the user cannot see does not exist for it), SAP S/4HANA 403 on an entity"
        " set whose service the communication arrangement does not grant",
    ),
}
# Faults that are properties of the estate, not of a request: in force on every matching request.
STANDING = ("drift", "duplicates", "permission_denied", "job_failed")


class FaultError(ValueError):
    """A --fault spec that cannot be read; the message names the spec and what is wrong."""


@dataclass
class Fault:
    """One switchable fault: which vendor, when it fires (every Nth or first K matching requests), its knobs."""

    kind: str
    vendor: str | None = None  # None: every vendor the kind applies to
    every: int = 0
    first: int = 0
    seconds: float = 0.0
    status: int = 503
    field: str = ""
    to: str = ""
    stream: str = ""  # restrict to one object/table/record type (drift, duplicates), '' = all
    _counts: dict[str, int] = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def applies_to(self, vendor: str) -> bool:
        return vendor in KINDS[self.kind][0] and (self.vendor in (None, vendor))

    def fires(self, vendor: str) -> bool:
        """Count one matching request of this vendor and say whether the fault fires on it."""
        if not self.applies_to(vendor):
            return False
        n = self._counts[vendor] = self._counts.get(vendor, 0) + 1
        if self.first and n <= self.first:
            return True
        return bool(self.every) and n % self.every == 0

    def always(self) -> bool:
        """Drift and duplicates are properties of the data, not of a request: no every/first means always."""
        return not self.every and not self.first


def parse_fault(spec: str) -> Fault:
    """'KIND[@vendor][:key=value,...]', e.g. 'rate_limit@ironclad:every=3,seconds=0.01'."""
    head, _, opts = spec.partition(":")
    kind, _, vendor = head.partition("@")
    kind = kind.strip().replace("-", "_")
    if kind not in KINDS:
        raise FaultError(f"fault {spec!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
    if vendor and vendor not in KINDS[kind][0]:
        raise FaultError(f"fault {spec!r}: {kind} applies to {', '.join(KINDS[kind][0])}, not {vendor!r}")
    fault = Fault(kind, vendor or None)
    for part in filter(None, (p.strip() for p in opts.split(","))):
        key, eq, value = part.partition("=")
        if not eq or key not in ("every", "first", "seconds", "status", "field", "to", "stream"):
            raise FaultError(
                f"fault {spec!r}: bad option {part!r} (every, first, seconds, status, field, to, stream)"
            )
        try:
            setattr(fault, key, type(getattr(fault, key))(value))
        except ValueError:
            raise FaultError(
                f"fault {spec!r}: {key} = {value!r} is not a {type(getattr(fault, key)).__name__}"
            ) from None
    if kind == "drift" and not fault.field:
        raise FaultError(f"fault {spec!r}: drift needs field=<name>")
    if kind == "permission_denied" and not fault.stream:
        raise FaultError(f"fault {spec!r}: permission_denied needs stream=<table or object>")
    if kind not in STANDING and fault.always():
        # a request fault with no schedule: the daily limit and slowness persist, the rest strike once
        if kind in ("total_requests", "slow"):
            fault.every = 1
        else:
            fault.first = 1
    return fault


class FaultBook:
    """The sandbox's active faults; thread-safe counting so a fault fires on the same request every run."""

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self.faults = list(faults or [])
        self._lock = threading.Lock()

    def firing(self, vendor: str, *kinds: str) -> list[Fault]:
        """The faults of these kinds that fire on this data request (each counts the request once)."""
        with self._lock:
            return [f for f in self.faults if f.kind in kinds and f.fires(vendor)]

    def standing(self, vendor: str, kind: str, stream: str = "") -> list[Fault]:
        """Data faults (drift, duplicates, permission_denied) in force for this vendor and stream."""
        return [
            f
            for f in self.faults
            if f.kind == kind
            and f.applies_to(vendor)
            and (not f.stream or f.stream.lower() == stream.lower())
        ]
