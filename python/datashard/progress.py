"""A progress indicator on stderr for long work, used by the command line.

The engine does maintenance in one call without callbacks, so for those the indicator
shows what is running and for how long; scans count the rows as they stream. It draws
nothing unless stderr is a terminal, nothing when turned off (``--quiet``, or
``DATASHARD_DISABLE_PROGRESS_BARS=1``), and nothing for work that ends within half a
second. It uses tqdm when it is installed and a plain one-line counter otherwise.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from types import TracebackType
from typing import IO, Any

__all__ = ["Progress", "activity", "progress_enabled"]

_DELAY_S = 0.5
_TICK_S = 0.2


def progress_enabled(quiet: bool = False, stream: IO[str] | None = None) -> bool:
    """Whether to draw: not ``quiet``, not disabled by the environment, and a terminal."""
    if quiet or os.environ.get("DATASHARD_DISABLE_PROGRESS_BARS", "").strip() not in ("", "0"):
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """``with Progress("verifying", enabled) as p: ...; p.update(rows)``."""

    def __init__(self, description: str, enabled: bool, unit: str = "", stream: IO[str] | None = None) -> None:
        self.description = description
        self.enabled = enabled
        self.unit = unit
        self.count = 0
        self._stream = sys.stderr if stream is None else stream
        self._start = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None
        self._drawn = False
        self._lock = threading.Lock()

    def __enter__(self) -> "Progress":
        if not self.enabled:
            return self
        self._start = time.monotonic()
        try:
            from tqdm import tqdm  # optional
        except ImportError:
            tqdm = None
        if tqdm is not None:
            self._bar = tqdm(
                desc=self.description, unit=self.unit or "it", file=self._stream, leave=False,
                delay=_DELAY_S, dynamic_ncols=True,
            )
        self._thread = threading.Thread(target=self._tick, name="datashard-progress", daemon=True)
        self._thread.start()
        return self

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.count += n
            if self._bar is not None:
                self._bar.update(n)

    def _line(self) -> str:
        elapsed = time.monotonic() - self._start
        counted = f" {self.count:,} {self.unit}" if self.unit else ""
        return f"{self.description}...{counted} {elapsed:.1f}s"

    def _tick(self) -> None:
        while not self._stop.wait(_TICK_S):
            if time.monotonic() - self._start < _DELAY_S:
                continue
            with self._lock:
                if self._bar is not None:
                    self._bar.refresh()
                else:
                    self._stream.write("\r" + self._line() + "\x1b[K")
                    self._stream.flush()
                    self._drawn = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.enabled:
            return None
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._bar is not None:
            self._bar.close()
        elif self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
        return None


def activity(description: str, progress: bool | None = None, unit: str = "") -> Progress:
    """A progress indicator for long work done through the Python API: ``progress=None``
    (the default) draws only when stderr is a terminal, as the command line does; ``True``
    draws anyway (a notebook), ``False`` never. ``DATASHARD_DISABLE_PROGRESS_BARS=1`` turns
    every indicator off. Nothing is drawn for work that ends within half a second."""
    if os.environ.get("DATASHARD_DISABLE_PROGRESS_BARS", "").strip() not in ("", "0"):
        enabled = False
    elif progress is None:
        enabled = progress_enabled()
    else:
        enabled = bool(progress)
    return Progress(description, enabled, unit)
