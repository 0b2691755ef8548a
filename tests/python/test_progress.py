"""Progress indicators on long work through the Python API: drawn on a terminal only."""

from __future__ import annotations

import io
import sys

import pyarrow as pa
import pytest

import datashard
from datashard import progress as progress_module


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch):
    """A fake terminal as stderr. Installed by the test body itself (``terminal()``): pytest's
    output capture puts its own stderr back between fixture set-up and the test."""
    screen = FakeTerminal()

    def install() -> FakeTerminal:
        monkeypatch.setattr(sys, "stderr", screen)
        return screen

    monkeypatch.setattr(progress_module, "_DELAY_S", 0.0)  # draw at once, however quick the work
    monkeypatch.setattr(progress_module, "_TICK_S", 0.001)
    monkeypatch.delenv("DATASHARD_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # the plain counter, whose text we can read
    return install


def _slow(monkeypatch, table, method):
    """Make one engine call last long enough for the indicator's thread to draw."""
    import time

    core = table._core
    original = getattr(core, method)

    class Slow:
        def __getattr__(self, name):
            return getattr(core, name)

    slow = Slow()

    def call(*args, **kwargs):
        time.sleep(0.05)
        return original(*args, **kwargs)

    setattr(slow, method, call)
    monkeypatch.setattr(table, "_core", slow)


def test_maintenance_shows_progress_on_a_terminal(tmp_path, terminal, monkeypatch):
    terminal = terminal()
    table = datashard.create_table(str(tmp_path / "t"), pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": list(range(1000))}))
    _slow(monkeypatch, table, "verify")
    table.verify()
    assert "verifying..." in terminal.getvalue()
    _slow(monkeypatch, table, "expire_snapshots")
    table.expire_snapshots(retain_last=1)
    assert "expiring snapshots..." in terminal.getvalue()


def test_no_progress_when_not_a_terminal_or_when_disabled(tmp_path, monkeypatch):
    screen = io.StringIO()  # not a terminal
    monkeypatch.setattr(sys, "stderr", screen)
    monkeypatch.setattr(progress_module, "_DELAY_S", 0.0)
    table = datashard.create_table(str(tmp_path / "t"), pa.schema([("id", pa.int64())]))
    table.append(pa.table({"id": [1, 2, 3]}))
    assert table.to_arrow().num_rows == 3
    table.verify()
    assert screen.getvalue() == ""
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("DATASHARD_DISABLE_PROGRESS_BARS", "1")
    table.verify()
    assert terminal.getvalue() == ""
