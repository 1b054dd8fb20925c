"""A real Spark Connect server on 127.0.0.1 (the one pyspark ships: SparkConnectServer under spark-submit, local[2])
for the tests that reach Spark as a Databricks cluster is reached, over sc://."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.processes import free_port, stop


@contextlib.contextmanager
def connect_server(root: Path, seconds: float = 180) -> Iterator[str]:
    """Yields sc://127.0.0.1:port once the server accepts connections; its log in root/spark-connect.log."""
    import pyspark

    home = Path(pyspark.__file__).parent
    port = free_port()
    command = [
        str(home / "bin" / "spark-submit"),
        "--class",
        "org.apache.spark.sql.connect.service.SparkConnectServer",
        "--master",
        "local[2]",
        *("--conf", f"spark.connect.grpc.binding.port={port}"),
        *("--conf", "spark.connect.grpc.binding.address=127.0.0.1"),
        *("--conf", "spark.ui.enabled=false"),
        *("--conf", f"spark.sql.warehouse.dir={root / 'warehouse'}"),
        *("--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={root}"),
        "spark-internal",
    ]
    log = root / "spark-connect.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            command,
            cwd=root,
            env={**os.environ, "SPARK_HOME": str(home)},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + seconds
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(
                    f"Spark Connect never listened on {port}: {log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        stop(proc)
