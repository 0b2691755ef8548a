"""Fixtures of the engine interop suite: a Hadoop-catalog warehouse and one local Spark session
for the whole run (helpers: interop_support.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from interop_support import SPARK_RUNTIME_JAR


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Hadoop catalog's warehouse: table ``ds.db.NAME`` is the directory ``warehouse/db/NAME``."""
    wh = tmp_path_factory.mktemp("warehouse")
    (wh / "db").mkdir()
    return wh


@pytest.fixture(scope="session")
def spark(warehouse: Path):
    """Local Spark 3.5 with iceberg-spark-runtime, loopback only, no UI; catalog ``ds`` is a
    Hadoop catalog over ``warehouse`` (table caching off, so every query sees the latest
    version, datashard's commits included)."""
    if not SPARK_RUNTIME_JAR.exists():
        pytest.fail(f"{SPARK_RUNTIME_JAR} missing: run scripts/interop.sh (mvn package copies it)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("datashard-interop")
        .config("spark.jars", str(SPARK_RUNTIME_JAR))
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        .config("spark.sql.catalog.ds", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.ds.type", "hadoop")
        .config("spark.sql.catalog.ds.warehouse", str(warehouse))
        .config("spark.sql.catalog.ds.cache-enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
