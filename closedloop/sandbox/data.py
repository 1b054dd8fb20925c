"""The firm the sandbox serves: vendor export files, loaded lazily and read-only, one loader per vendor."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

VENDOR_DIRS = ("salesforce", "netsuite", "ironclad")


def find_exports(directory: Path) -> Path | None:
    """The exports root under a directory: DIR/exports/<source> (write_demo's layout) or DIR/<source>. Every
    estate has the middleware's and the reference files beside its own vendors (an estate without Salesforce
    has no salesforce/)."""
    directory = Path(directory)
    for root in (directory / "exports", directory):
        if all((root / v).is_dir() for v in VENDOR_DIRS) or all(
            (root / v).is_dir() for v in ("middleware", "reference")
        ):
            return root
    return None


def ensure_exports(directory: Path, tier: str = "s", seed: int = 42, say=print, profile=None) -> Path:
    """The exports under directory, generating and rendering a demo firm there first when there are none
    (as the estate profile holds it, closedloop.demo.profiles; the demo estate by default)."""
    found = find_exports(directory)
    if found is not None:
        return found
    from closedloop.demo import generate_firm, write_demo
    from closedloop.demo.profiles import DEFAULT

    profile = profile or DEFAULT
    say(
        f"no exports in {directory}: generating a tier-{tier} firm (seed {seed}, estate profile {profile.name})"
    )
    write_demo(generate_firm(tier, seed), directory, profile)
    found = find_exports(directory)
    if found is None:
        raise FileNotFoundError(f"rendering the demo firm left no vendor exports under {directory}")
    return found


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class Exports:
    """Parsed export files, each loaded once on first use (a sandbox for one vendor never reads the rest)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _once(self, key: tuple[str, str], load) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = load()
            return self._cache[key]

    # --- Salesforce: one JSON-lines file of /query records per SObject ---------------------------------
    def salesforce_files(self) -> list[Path]:
        """The org's object files: its own, then those of packages installed in it (Conga's Apttus objects)."""
        from closedloop.sandbox.vendors import SALESFORCE_ORG

        dirs = [self.root / "salesforce", *(self.root / k for k in SALESFORCE_ORG)]
        return [p for d in dirs for p in sorted(d.glob("*.jsonl"))]

    def salesforce_object(self, name: str) -> list[dict[str, Any]] | None:
        """Records of an SObject (None when the org has no such object); the file name is the API name."""
        files = self.salesforce_files()
        path = next((p for p in files if p.stem == name), None)
        path = path or next((p for p in files if p.stem.lower() == name.lower()), None)
        if path is None:
            return None
        return self._once(("salesforce", path.stem), lambda: list(read_jsonl(path)))

    def salesforce_schema(self) -> dict[str, set[str]] | None:
        """The org's manifest (salesforce/_schema.json, {object: [fields]}, keys lower-cased), if the estate has one.

        Without one, an object is its export file and its fields the records' keys (/query keeps nulls).
        """
        path = self.root / "salesforce" / "_schema.json"
        if not path.is_file():
            return None

        def load() -> dict[str, set[str]]:
            schema = {k.lower(): set(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
            for p in self.salesforce_files():  # a package's objects, not in the org manifest: as exported
                if p.stem.lower() not in schema and p.parent.name != "salesforce":
                    schema[p.stem.lower()] = {k for r in read_jsonl(p) for k in r if k != "attributes"}
            return schema

        return self._once(("salesforce", "_schema"), load)

    # --- NetSuite: JSON lines of SuiteQL items, CSV saved-search exports for the bulk tables -----------
    def netsuite_path(self, table: str) -> Path | None:
        for ext in ("jsonl", "csv"):
            path = self.root / "netsuite" / f"{table}.{ext}"
            if path.is_file():
                return path
        return None

    # --- Ironclad: records per type, the tenant's metadata, workflows when exported ---------------------
    def ironclad_records(self) -> list[dict[str, Any]]:
        """Every repository record, across the record-type files, in file order."""

        def load() -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            for path in sorted((self.root / "ironclad" / "records").glob("*.jsonl")):
                out.extend(read_jsonl(path))
            return out

        return self._once(("ironclad", "records"), load)

    def ironclad_metadata(self) -> dict[str, Any]:
        path = self.root / "ironclad" / "records" / "metadata.json"
        return self._once(
            ("ironclad", "metadata"),
            lambda: json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {},
        )

    def ironclad_workflows(self) -> list[dict[str, Any]]:
        path = self.root / "ironclad" / "workflows.jsonl"
        return self._once(("ironclad", "workflows"), lambda: list(read_jsonl(path)) if path.is_file() else [])
