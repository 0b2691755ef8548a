"""Names of the original package's internal machinery, kept importable and nothing more.

The original exposed its managers (``MetadataManager``, storage backends, its disk guard)
at module paths that code written for it may import, if only for type hints or
``isinstance`` checks. datashard has no such objects: the engine owns metadata, storage
and commits. Importing these names works; using one raises :class:`NotImplementedError`
that says what to use instead (docs/compatibility.md lists them).
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["original_internal", "original_internal_function"]


def _refuse(qualname: str, instead: str) -> NoReturn:
    raise NotImplementedError(
        f"{qualname} is internal machinery of the original pure-Python datashard; this datashard "
        f"has no such object (the engine owns it). Instead: {instead}."
    )


def original_internal(module: str, name: str, instead: str) -> Any:
    """A class named ``name`` whose construction raises, naming ``instead``."""
    qualname = f"datashard.{module}.{name}"

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        _refuse(qualname, instead)

    return type(name, (), {"__init__": __init__, "__module__": f"datashard.{module}",
                           "__doc__": f"Not available: {qualname} was internal to the original package. {instead}."})


def original_internal_function(module: str, name: str, instead: str) -> Any:
    """A function named ``name`` that raises, naming ``instead``."""
    qualname = f"datashard.{module}.{name}"

    def refused(*args: Any, **kwargs: Any) -> NoReturn:
        _refuse(qualname, instead)

    refused.__name__ = refused.__qualname__ = name
    refused.__module__ = f"datashard.{module}"
    refused.__doc__ = f"Not available: {qualname} was internal to the original package. {instead}."
    return refused
