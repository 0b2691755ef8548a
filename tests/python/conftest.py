"""Shared fixtures: temporary tables built through the public API only."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

import datashard
from datashard import Schema, Table, create_table

EVENTS_FIELDS = [
    {"id": 1, "name": "id", "type": "long", "required": True},
    {"id": 2, "name": "name", "type": "string", "required": False},
    {"id": 3, "name": "score", "type": "double", "required": False},
    {"id": 4, "name": "group", "type": "int", "required": True},
]


@pytest.fixture
def schema() -> Schema:
    """The schema most tests use: id long required, name string, score double, group int required."""
    return Schema(schema_id=1, fields=EVENTS_FIELDS)


@pytest.fixture
def table_path(tmp_path: Path) -> str:
    return str(tmp_path / "table")


@pytest.fixture
def table(table_path: str, schema: Schema) -> Table:
    """An empty table with ``schema``."""
    return create_table(table_path, schema)


def make_rows(start: int, n: int) -> list[dict[str, Any]]:
    """Rows with ids start..start+n-1; every 5th name and every 7th score is None."""
    return [
        {
            "id": i,
            "name": None if i % 5 == 4 else f"name-{i}",
            "score": None if i % 7 == 6 else i / 2,
            "group": i % 3,
        }
        for i in range(start, start + n)
    ]


@pytest.fixture
def rows() -> Callable[[int, int], list[dict[str, Any]]]:
    return make_rows


@pytest.fixture
def filled(table: Table) -> Table:
    """The table with 3 commits of 10 rows each (ids 0..29)."""
    for start in (0, 10, 20):
        assert table.append_records(make_rows(start, 10)) is True
    return table


def files_under(path: str) -> set[str]:
    """Every file below ``path`` (to show that a failed call wrote nothing)."""
    out = set()
    for root, _, names in os.walk(path):
        out.update(os.path.join(root, n) for n in names)
    return out


def by_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r["id"])


@pytest.fixture(scope="session")
def datashard_version() -> str:
    return datashard.__version__


def python_env() -> dict[str, str]:
    """The environment for a child Python that must import this same datashard."""
    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(datashard.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    return env


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (for calls that may crash the process)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=python_env(),
    )
