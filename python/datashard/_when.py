"""Points in time and durations as users write them, converted to epoch milliseconds.

One rule everywhere (time travel, expiry cut-offs, the CLI): an ``int``/``float`` is epoch
milliseconds; a ``datetime`` is that instant, a naive one read as local time (as
``Table.snapshots()`` returns naive local datetimes); a ``timedelta`` means "that long
before now"; a ``str`` is ISO 8601 (``"2024-01-31"``, ``"2024-01-31T10:00:00+00:00"``).
"""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from typing import Union

from .errors import InvalidArgumentError

__all__ = ["When", "epoch_ms", "now_ms", "parse_duration", "parse_size"]

When = Union[int, float, datetime, date, timedelta, str]

#: what expire_snapshots(older_than=None) passes: every snapshot is old enough
NO_AGE_LIMIT_MS = 2**63 - 1


def now_ms() -> int:
    return int(time.time() * 1000)


def epoch_ms(when: When, what: str = "time") -> int:
    """``when`` (see the module docstring) as epoch milliseconds."""
    if isinstance(when, bool):
        raise InvalidArgumentError(f"{what} must be a time, not a bool: got {when!r}")
    if isinstance(when, timedelta):
        if when < timedelta(0):
            raise InvalidArgumentError(
                f"{what}: a timedelta means 'that long ago' and must not be negative, got {when!r}"
            )
        return now_ms() - int(when.total_seconds() * 1000)
    if isinstance(when, datetime):
        return int(when.timestamp() * 1000)  # naive = local time
    if isinstance(when, date):
        return int(datetime(when.year, when.month, when.day).timestamp() * 1000)
    if isinstance(when, (int, float)):
        return int(when)
    if isinstance(when, str):
        try:
            return int(datetime.fromisoformat(when.strip()).timestamp() * 1000)
        except ValueError:
            raise InvalidArgumentError(
                f'{what}: {when!r} is not an ISO 8601 time such as "2024-01-31" or "2024-01-31T10:00:00"'
            ) from None
    raise InvalidArgumentError(
        f"{what} must be a datetime, epoch milliseconds, a timedelta or an ISO 8601 string, got {type(when).__name__}"
    )


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)", re.IGNORECASE)
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_duration(text: str) -> timedelta:
    """``"3d"``, ``"12h"``, ``"90m"``, ``"30s"``, ``"500ms"``, ``"2w"``, ``"1d12h"`` -> timedelta."""
    s = text.strip().replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_MS[m.group(2).lower()]
        pos = m.end()
    if pos != len(s) or not s:
        raise InvalidArgumentError(f'{text!r} is not a duration such as "3d", "12h", "30m", "45s" or "1d12h"')
    return timedelta(milliseconds=total)


def parse_when(text: str) -> When:
    """The CLI's time argument: a duration ("2h": two hours ago), epoch milliseconds (all
    digits) or an ISO 8601 time."""
    s = text.strip()
    if s.isdigit():
        return int(s)
    try:
        return parse_duration(s)
    except InvalidArgumentError:
        pass
    epoch_ms(s, "time")  # validates
    return s


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024, "m": 1000**2, "mb": 1000**2,
               "mib": 1024**2, "mi": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3,
               "t": 1000**4, "tb": 1000**4, "tib": 1024**4, "ti": 1024**4}


def parse_size(text: str) -> int:
    """``"128MiB"``, ``"64MB"``, ``"1GiB"``, ``"1048576"`` -> bytes."""
    m = _SIZE.match(text)
    unit = (m.group(2) or "").lower() if m else ""
    if m is None or unit not in _SIZE_UNITS:
        raise InvalidArgumentError(f'{text!r} is not a size such as "128MiB", "64MB" or "1048576"')
    size = int(float(m.group(1)) * _SIZE_UNITS[unit])
    if size <= 0:
        raise InvalidArgumentError(f"a size must be positive, got {text!r}")
    return size
