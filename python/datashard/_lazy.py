"""pyarrow's Python modules, loaded on first use rather than at ``import datashard``.

A short-lived process that opens a table and appends a few row dicts needs none of them:
the engine reads its own metadata and converts plain rows itself
(``_core.rows_to_arrow``). Importing pyarrow (and the numpy it loads) would cost such a
process more than its commit, so the package's modules name pyarrow through
:func:`lazy_module`, and type checkers see the real module::

    if TYPE_CHECKING:
        import pyarrow as pa
    else:
        pa = lazy_module("pyarrow")
"""

from __future__ import annotations

import importlib
import types
from typing import Any

__all__ = ["lazy_module"]


class _LazyModule(types.ModuleType):
    """Stands in for a module until an attribute is asked for; then imports it and takes its
    namespace, so later lookups cost what they cost on the module itself."""

    def __getattr__(self, name: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, name)


def lazy_module(name: str) -> types.ModuleType:
    """The module ``name``, imported when one of its attributes is first used."""
    return _LazyModule(name)
