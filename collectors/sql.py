"""The `sql` source kind: tables or queries from any SQLAlchemy database, read-only and chunked."""

from __future__ import annotations

import re
from collections.abc import Iterator

import sqlalchemy as sa

from closedloop.settings import Setting
from collectors.base import Batch, CollectorError, Column, Stream, StreamState

SYSTEM = "SQL"
SETTINGS = [
    Setting(
        "url",
        str,
        None,
        "SQLAlchemy URL; put the password in CLOSEDLOOP_<SOURCE>_PASSWORD, not here.",
        required=True,
    ),
    Setting("streams", dict, {}, "Stream name → table name or SELECT query."),
    Setting("chunk_rows", int, 50_000, "Rows fetched per round trip."),
    Setting("mapping", str, "", "SQL file mapping raw.<source>__<stream> into canon (optional)."),
]
_IDENT = re.compile(r"^[A-Za-z_][\w.]*$")


def streams(cfg: dict) -> list[Stream]:
    return [Stream(name=n, columns=()) for n in sorted(cfg["streams"])]


def MAPPING(cfg: dict) -> str:
    return cfg.get("mapping") or ""


def files_collector(cfg: dict):
    raise CollectorError("a sql source has no files transport; set transport = 'api' or omit it")


def api_collector(cfg: dict, secret) -> SqlCollector:
    return SqlCollector(cfg, password=secret("password"))


class SqlCollector:
    """Reads each stream in chunks inside a transaction that is read-only where the database allows it."""

    def __init__(self, cfg: dict, password: str | None = None) -> None:
        self.source = "sql"
        url = sa.engine.make_url(cfg["url"])
        if password:
            url = url.set(password=password)
        self._url = url
        self._cfg = cfg
        self._columns: dict[str, tuple[Column, ...]] = {}

    @property
    def safe_url(self) -> str:
        return self._url.render_as_string(hide_password=True)

    def _engine(self) -> sa.Engine:
        url = self._url
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            # SQLite read-only through a URI, so the source file can never be written
            url = url.set(database=f"file:{url.database}?mode=ro", query={**url.query, "uri": "true"})
        return sa.create_engine(url)

    def streams(self) -> list[Stream]:
        out = []
        try:
            engine = self._engine()
            with engine.connect() as conn:
                for name, target in sorted(self._cfg["streams"].items()):
                    sql = self._select(name, target)
                    cols = conn.execute(sa.text(f"SELECT * FROM ({sql}) AS q WHERE 1 = 0")).keys()
                    out.append(Stream(name=name, columns=tuple(Column(c) for c in cols)))
        except sa.exc.SQLAlchemyError as exc:
            raise CollectorError(
                f"database {self.safe_url}: {str(exc.orig or exc).splitlines()[0]}"
            ) from None
        return out

    @staticmethod
    def _select(name: str, target: str) -> str:
        if target.strip().lower().startswith(("select", "with")):
            return target
        if not _IDENT.match(target):
            raise CollectorError(f"stream {name!r}: {target!r} is neither a table name nor a SELECT")
        return f"SELECT * FROM {target}"

    def read(self, stream: Stream, state: StreamState) -> Iterator[Batch]:
        sql = self._select(stream.name, self._cfg["streams"][stream.name])
        engine = self._engine()
        try:
            with engine.connect() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SET TRANSACTION READ ONLY"))
                result = conn.execution_options(stream_results=True).execute(sa.text(sql))
                keys = list(result.keys())
                row_no = 1
                for part in result.partitions(self._cfg["chunk_rows"]):
                    records = [dict(zip(keys, r, strict=True)) for r in part]
                    yield Batch(records=records, source_file=None, first_row=row_no)
                    row_no += len(records)
                conn.rollback()
        except sa.exc.SQLAlchemyError as exc:
            raise CollectorError(
                f"database {self.safe_url}: {str(exc.orig or exc).splitlines()[0]}"
            ) from None
