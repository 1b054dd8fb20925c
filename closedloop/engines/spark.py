"""Apache Spark through PySpark: `local[N]` starts a local session, `sc://host:port` is a Spark Connect server
(what Databricks clusters serve). Tables in via Arrow (saved as tables of the session's catalog), rows out as Arrow.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import warnings

import pyarrow as pa

from closedloop.engines import EngineUnreachable, redact, redact_url

# pyspark 4 warns, on import and again on Spark Connect's, that pandas 3 is newer than it was tested with; the
# engine uses Arrow, not pandas, and the warning would land in every run's log
warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)

# Spark's defaults are for a cluster: a handful of partitions suit what one run sends, and the session answers in
# UTC with ANSI SQL semantics (an overflow or a bad cast is an error, as in DuckDB, not a silent NULL). A session
# may set these over Spark Connect too.
SQL_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.legacy.createHiveTableByDefault": "false",
}
# Only a session that starts its own Spark (local[N]) sets these: a server fixes them at its start.
LOCAL_CONF = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}

PROBE_SECONDS = 10  # to open a TCP connection to a Spark Connect server
SEND_BYTES = 64 << 20  # of Arrow per slice of a table sent


class SparkEngine:
    kind = "spark"
    dialect = "spark"

    def __init__(self, url: str, password: str | None = None) -> None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineUnreachable(
                "the spark engine needs pyspark: pip install 'pyspark[connect]>=4'"
            ) from None
        self.url, self._warehouse = url, None
        builder = SparkSession.builder
        try:
            if url.startswith("local"):
                self._warehouse = tempfile.mkdtemp(prefix="closedloop-spark-")
                builder = builder.master(url).config("spark.sql.warehouse.dir", self._warehouse)
                builder = builder.config(
                    "spark.driver.extraJavaOptions", "-Dderby.system.home=" + self._warehouse
                )
            elif url.startswith("sc://"):
                _probe(url)
                # Databricks' personal access token rides in the URL as Spark Connect expects; it comes from
                # CLOSEDLOOP_ENGINE_PASSWORD, never the TOML, and every message shows the URL redacted
                token = f";token={password}" if password and "token=" not in url else ""
                # Spark Connect's own builder, and a session of our own (create, not getOrCreate): the generic
                # builder refuses a remote session in a process that runs a local Spark already
                from pyspark.sql.connect.session import SparkSession as ConnectSession

                builder = ConnectSession.builder.remote(url + token)
            else:
                raise EngineUnreachable(
                    f"[engine] url {redact_url(url)!r}: expected local[N] or a Spark Connect URL sc://host:port"
                )
            conf = {**SQL_CONF, **(LOCAL_CONF if url.startswith("local") else {})}
            for key, value in conf.items():
                builder = builder.config(key, value)
            self.session = builder.getOrCreate() if url.startswith("local") else builder.create()
            if url.startswith("local"):
                self.session.sparkContext.setLogLevel("ERROR")  # Spark's WARN lines would bury the run's log
        except EngineUnreachable:
            raise
        except Exception as exc:  # Py4J, Spark Connect (gRPC) or a missing Java runtime
            reason = redact(
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, password
            )
            raise EngineUnreachable(f"cannot reach Spark at {redact_url(url)}: {reason}") from None

    def execute(self, sql: str) -> None:
        self.session.sql(sql).collect()

    def fetch_arrow(self, sql: str) -> pa.Table:
        return self.session.sql(sql).toArrow()

    def create_table(self, name: str, table: pa.Table) -> int:
        schema = name.rsplit(".", 1)[0]  # [catalog.]schema
        self.session.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
        self.session.sql(f"DROP TABLE IF EXISTS {name}")
        table = _spark_ready(table)
        # in slices: the whole of a large table at once does not fit a local driver's default 1 GB heap (tier m's
        # time entries), and Spark Connect takes one message of at most 128 MB
        step = max(1, table.num_rows * SEND_BYTES // max(table.nbytes, 1))
        for offset in range(0, max(table.num_rows, 1), step):
            mode = "overwrite" if offset == 0 else "append"
            part = table.slice(offset, step)
            self.session.createDataFrame(part).write.mode(mode).saveAsTable(name)
        return table.nbytes

    def create_as(self, name: str, select: str, *, materialize: bool) -> None:
        if materialize:
            self.session.sql(f"DROP TABLE IF EXISTS {name}")
            self.session.sql(f"CREATE TABLE {name} USING parquet AS\n{select}")
        else:
            self.session.sql(f"CREATE OR REPLACE VIEW {name} AS\n{select}")

    def analyze(self, name: str) -> None:
        """Nothing: Spark plans the rules without table statistics, as it does for tables sent to it."""

    def close(self) -> None:
        """Stops a local Spark and removes its warehouse; over Spark Connect, ends this client's session only."""
        self.session.stop()
        if self._warehouse:
            shutil.rmtree(self._warehouse, ignore_errors=True)


def _probe(url: str) -> None:
    """Connect to a Spark Connect URL's host and port first: the client retries an unreachable server with
    backoff for minutes before it gives up, and a run should say at once that its engine is not there."""
    hostport = url.removeprefix("sc://").split("/", 1)[0].split(";", 1)[0]
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "15002")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except (OSError, ValueError) as exc:
        raise EngineUnreachable(f"cannot reach Spark at {redact_url(url)}: {exc}") from None


def _spark_ready(table: pa.Table) -> pa.Table:
    """Arrow types Spark takes as they are: timestamps in microseconds (Spark's precision), UTC-aware kept aware."""
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_timestamp(t) and t.unit != "us":
            t = pa.timestamp("us", tz=t.tz)
        elif pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))
