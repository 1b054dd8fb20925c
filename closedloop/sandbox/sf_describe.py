"""Salesforce describe on the sandbox: /sobjects and /sobjects/{Object}/describe derived from the export records.

An export line carries every field of its object (nulls kept), so the field list is the records' keys; the
type is inferred from the values the way the org would have declared it, and a text field with few distinct
values is served as a picklist with those values, as a real org's describe lists its picklist entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

PICKLIST_MAX = 25
_ID = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")
_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_MONEY = re.compile(r"amount|balance|paid|price|total|revenue|value", re.I)
# standard key prefixes of the objects the demo org has (what a reference field's id starts with)
_PREFIXES = {"001": "Account", "006": "Opportunity", "005": "User", "800": "Contract"}
# standard fields whose describe type is not what their values suggest
_STANDARD = {
    "Name": "string",
    "OwnerId": "reference",
    "CurrencyIsoCode": "picklist",
    "StageName": "picklist",
    "Type": "picklist",
    "ForecastCategoryName": "picklist",
}
_ENUM_NAME = re.compile(r"status|stage|type|category", re.I)  # what admins declare as picklists


def sobject_entry(name: str, version: str) -> dict[str, Any]:
    """One /sobjects list entry (the keys the collectors and tooling read; a real one has ~30)."""
    custom = name.endswith("__c")
    return {
        "name": name,
        "label": label(name),
        "labelPlural": label(name) + "s",
        "custom": custom,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "createable": True,
        "deprecatedAndHidden": False,
        "keyPrefix": None if custom else next((p for p, o in _PREFIXES.items() if o == name), None),
        "urls": {
            "sobject": f"/services/data/{version}/sobjects/{name}",
            "describe": f"/services/data/{version}/sobjects/{name}/describe",
        },
    }


def label(name: str) -> str:
    """A field or object label as an admin would have typed it: Invoice_Number__c -> Invoice Number."""
    core = re.sub(r"__[cr]$", "", name)
    core = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", core.replace("_", " "))
    return "Record ID" if name == "Id" else core.strip()


def describe(name: str, records: list[dict[str, Any]], fields: Iterable[str], version: str) -> dict[str, Any]:
    """The describe document of an object: its fields with types, picklist values and references."""
    custom = name.endswith("__c")
    out = []
    for field in fields:
        values = [r.get(field) for r in records]
        if any(isinstance(v, dict) for v in values):  # a relationship (Account, Opportunity__r), not a field
            continue
        related = next(
            (r.get(_relationship(field)) for r in records if isinstance(r.get(_relationship(field)), dict)),
            None,
        )
        out.append(_field(field, values, related))
    return {
        "name": name,
        "label": label(name),
        "custom": custom,
        "queryable": True,
        "keyPrefix": sobject_entry(name, version)["keyPrefix"],
        "urls": sobject_entry(name, version)["urls"],
        "fields": out,
        "childRelationships": [],
        "recordTypeInfos": [],
    }


def _relationship(field: str) -> str:
    return field[:-3] + "__r" if field.endswith("__c") else field.removesuffix("Id")


def _field(name: str, values: list[Any], related: dict[str, Any] | None) -> dict[str, Any]:
    present = [v for v in values if v is not None]
    ftype = _STANDARD.get(name) or _type(name, present, related)
    distinct = list(dict.fromkeys(str(v) for v in present))
    picklist = ftype == "picklist" or (
        ftype == "string"
        and 0 < len(distinct) <= PICKLIST_MAX
        and (len(present) >= 2 * len(distinct) or _ENUM_NAME.search(name) is not None)
    )
    if picklist:
        ftype = "picklist"
    reference_to: list[str] = []
    if ftype == "reference":
        target = (related or {}).get("attributes", {}).get("type") if related else None
        target = target or next((_PREFIXES[str(v)[:3]] for v in present if str(v)[:3] in _PREFIXES), None)
        reference_to = [target] if target else []
    length = max((len(str(v)) for v in present), default=0)
    return {
        "name": name,
        "label": label(name),
        "type": ftype,
        "custom": name.endswith("__c"),
        "nillable": name != "Id",
        "length": {"string": 255, "picklist": 255, "id": 18, "reference": 18}.get(ftype, 0),
        "byteLength": 3 * max(length, 18) if ftype in ("string", "picklist", "id", "reference") else 0,
        "precision": 18 if ftype in ("currency", "double") else 0,
        "scale": 2 if ftype in ("currency", "double") else 0,
        "externalId": False,
        "unique": name == "Id",
        "calculated": False,
        "filterable": True,
        "sortable": True,
        "updateable": name not in ("Id", "SystemModstamp", "IsDeleted", "CreatedDate"),
        "relationshipName": _relationship(name) if reference_to else None,
        "referenceTo": reference_to,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in distinct
        ]
        if picklist
        else [],
        "soapType": _SOAP.get(ftype, "xsd:string"),
    }


_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "double": "xsd:double",
    "currency": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def _type(name: str, present: list[Any], related: dict[str, Any] | None) -> str:
    if name == "Id":
        return "id"
    if not present:
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "boolean"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "currency" if _MONEY.search(name) else "double"
    texts = [str(v) for v in present]
    if all(_DATETIME.match(t) for t in texts):
        return "datetime"
    if all(_DATE.match(t) for t in texts):
        return "date"
    if related is not None or (
        (name.endswith("Id") or name.endswith("__c"))
        and all(_ID.match(t) and t[:3] in _PREFIXES for t in texts)
    ):
        return "reference"
    return "string"
