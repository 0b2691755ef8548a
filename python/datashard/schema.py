"""The table schema as the original package spelled it.

``Schema(schema_id, fields=[{"id", "name", "type", "required"}])`` with Iceberg
primitive type names. The engine owns the Iceberg <-> Arrow mapping; this module
only validates the user's field list, writes it as Iceberg schema JSON, and asks
``_core`` for the Arrow form.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from . import _core
from ._lazy import lazy_module
from .errors import SchemaError

if TYPE_CHECKING:
    import pyarrow as pa
else:
    pa = lazy_module("pyarrow")

__all__ = ["Schema", "PRIMITIVE_TYPES", "normalize_type"]

#: Iceberg primitive type names (besides ``decimal(P, S)`` and ``fixed[L]``), for reference:
#: the engine decides which type names a schema may use (see :func:`normalize_type`).
PRIMITIVE_TYPES: frozenset[str] = frozenset(
    {
        "boolean",
        "int",
        "long",
        "float",
        "double",
        "date",
        "time",
        "timestamp",
        "timestamptz",
        "string",
        "uuid",
        "binary",
    }
)

_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_FIXED = re.compile(r"^fixed\[\s*(\d+)\s*\]$")

# Spellings the engine has accepted (a schema's types are checked once per process).
_ENGINE_TYPES: set[str] = set()


def normalize_type(type_name: Any, field_name: str = "?") -> str:
    """Return the canonical Iceberg spelling of a primitive type name, checked by the engine.

    ``"Long"`` -> ``"long"``, ``"decimal(10,2)"`` -> ``"decimal(10, 2)"``,
    ``"fixed[ 16 ]"`` -> ``"fixed[16]"``. Raises :class:`SchemaError` for a name the
    engine does not take (an unknown type, a decimal precision outside 1..38, a fixed
    length of 0), in the engine's words.
    """
    if not isinstance(type_name, str):
        raise SchemaError(
            f'field "{field_name}": type must be a string such as "long" or "decimal(10, 2)", '
            f"got {type(type_name).__name__} {type_name!r} (nested types are not supported yet)"
        )
    t = type_name.strip().lower()
    m = _DECIMAL.match(t)
    if m:
        t = f"decimal({int(m.group(1))}, {int(m.group(2))})"
    m = _FIXED.match(t)
    if m:
        t = f"fixed[{int(m.group(1))}]"
    if t not in _ENGINE_TYPES:
        field = {"id": 1, "name": field_name, "type": t, "required": False}
        try:
            _core.arrow_schema_capsule(json.dumps({"type": "struct", "schema-id": 0, "fields": [field]}))
        except SchemaError as e:
            if "(" in t or "[" in t:
                raise
            # The original package's wording, which its users match on, then the engine's.
            raise SchemaError(f"Invalid schema: Unknown field type '{type_name}': {e}") from None
        _ENGINE_TYPES.add(t)
    return t


class Schema:
    """A flat table schema.

    Args:
        schema_id: the schema's id (any non-negative int; the table records it).
        fields: one dict per column: ``{"id": int, "name": str, "type": str,
            "required": bool}``; ``required`` defaults to False. Ids and names
            must be unique.
        schema_string: free text kept for compatibility with the original package.

    Raises:
        SchemaError: (a ``ValueError``) for a malformed field list.
    """

    __slots__ = ("schema_id", "fields", "schema_string", "_arrow")

    def __init__(self, schema_id: int, fields: Sequence[Mapping[str, Any]], schema_string: str = "") -> None:
        if isinstance(schema_id, bool) or not isinstance(schema_id, int) or schema_id < 0:
            raise SchemaError(f"schema_id must be a non-negative int, got {schema_id!r}")
        if isinstance(fields, (str, bytes)) or not isinstance(fields, Sequence):
            raise SchemaError(f"fields must be a list of dicts, got {type(fields).__name__}")
        normalized: list[dict[str, Any]] = []
        ids: set[int] = set()
        names: set[str] = set()
        for i, f in enumerate(fields):
            if not isinstance(f, Mapping):
                raise SchemaError(f"field {i} must be a dict with id, name, type, required; got {f!r}")
            for key in ("id", "name", "type"):
                if key not in f:
                    raise SchemaError(  # the original's wording, then which field
                        f"Invalid schema: Field missing required property {key!r}: "
                        f"field {i} ({f.get('name', '?')!r}) needs id, name and type"
                    )
            unknown = set(f) - {"id", "name", "type", "required", "doc"}
            if unknown:
                raise SchemaError(f"field {i} ({f['name']!r}) has unknown keys {sorted(unknown)}")
            fid, name = f["id"], f["name"]
            if isinstance(fid, bool) or not isinstance(fid, int) or fid <= 0:
                raise SchemaError(f'field "{name}": id must be a positive int, got {fid!r}')
            if not isinstance(name, str) or not name:
                raise SchemaError(f"field {i}: name must be a non-empty string, got {name!r}")
            if fid in ids:
                raise SchemaError(f'field "{name}": duplicate field id {fid}')
            if name in names:
                raise SchemaError(f'duplicate field name "{name}"')
            required = f.get("required", False)
            if not isinstance(required, bool):
                raise SchemaError(f'field "{name}": required must be True or False, got {required!r}')
            ids.add(fid)
            names.add(name)
            entry: dict[str, Any] = {
                "id": fid,
                "name": name,
                "type": normalize_type(f["type"], name),
                "required": required,
            }
            if f.get("doc") is not None:
                entry["doc"] = str(f["doc"])
            normalized.append(entry)
        self.schema_id: int = schema_id
        self.fields: list[dict[str, Any]] = normalized
        self.schema_string: str = schema_string
        self._arrow: pa.Schema | None = None

    # -- conversions -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The Iceberg schema JSON object (spec Appendix C)."""
        return {"type": "struct", "schema-id": self.schema_id, "fields": [dict(f) for f in self.fields]}

    def to_json(self) -> str:
        """The Iceberg schema JSON text (spec Appendix C)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> "Schema":
        """Build a Schema from Iceberg schema JSON (text or an already-parsed dict)."""
        obj = json.loads(text) if isinstance(text, (str, bytes)) else text
        if not isinstance(obj, Mapping) or not isinstance(obj.get("fields"), list):
            raise SchemaError("Iceberg schema JSON must be an object with a fields list")
        keep = ("id", "name", "type", "required", "doc")
        fields = [{k: f[k] for k in keep if k in f} for f in obj["fields"]]
        return cls(int(obj.get("schema-id", 0)), fields)

    def to_arrow(self) -> pa.Schema:
        """The Arrow schema the engine reads and writes for this schema."""
        if self._arrow is None:
            self._arrow = pa.schema(_core.arrow_schema_capsule(self.to_json()))
        return self._arrow

    @classmethod
    def from_arrow(cls, schema: Any, schema_id: int = 0) -> "Schema":
        """A Schema from a ``pyarrow.Schema`` (or anything with ``__arrow_c_schema__``).

        Field ids are assigned 1..n in column order; non-nullable Arrow fields become
        ``required``. Raises :class:`SchemaError` for Arrow types Iceberg has no
        equivalent for.
        """
        if not hasattr(schema, "__arrow_c_schema__"):
            raise SchemaError(f"expected a pyarrow.Schema, got {type(schema).__name__}")
        parsed = cls.from_json(_core.schema_from_arrow(schema))
        return cls(schema_id, parsed.fields)

    # -- convenience -------------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def field(self, name: str) -> dict[str, Any]:
        """The field dict named ``name``; ``KeyError`` if absent."""
        for f in self.fields:
            if f["name"] == name:
                return f
        raise KeyError(name)

    def signature(self) -> dict[str, tuple[str, bool]]:
        """``{name: (type, required)}``: what two schemas must share for the same data to fit
        both (field ids and order are not part of it)."""
        return {f["name"]: (f["type"], f["required"]) for f in self.fields}

    def difference(self, other: "Schema") -> str | None:
        """A sentence naming how ``other`` differs from this schema by column names, types and
        required flags, or None if they agree."""
        mine, theirs = self.signature(), other.signature()
        problems: list[str] = []
        for name in [n for n in other.names if n not in mine]:
            problems.append(f'column "{name}" is not in the table')
        for name in [n for n in self.names if n not in theirs]:
            problems.append(f'table column "{name}" is missing')
        for name in self.names:
            if name in theirs and mine[name] != theirs[name]:
                (t1, r1), (t2, r2) = mine[name], theirs[name]
                if t1 != t2:
                    problems.append(f'column "{name}" is {t1} in the table, {t2} in the given schema')
                if r1 != r2:
                    req = {True: "required", False: "optional"}
                    problems.append(f'column "{name}" is {req[r1]} in the table, {req[r2]} in the given schema')
        return "; ".join(problems) if problems else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schema):
            return NotImplemented
        return self.schema_id == other.schema_id and self.fields == other.fields

    def __hash__(self) -> int:
        return hash(self.to_json())

    def __repr__(self) -> str:
        cols = ", ".join(
            f"{f['id']}:{f['name']} {f['type']}{' required' if f['required'] else ''}" for f in self.fields
        )
        return f"Schema(schema_id={self.schema_id}, fields=[{cols}])"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Schema, (self.schema_id, self.fields, self.schema_string))
