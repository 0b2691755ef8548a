"""Transaction: several appends published as one snapshot, with the original package's
begin/commit/rollback protocol and context manager."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pyarrow as pa

from .errors import InvalidArgumentError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .schema import Schema
    from .table import Table

__all__ = ["Transaction"]


class Transaction:
    """Appends that become visible together, in one snapshot, or not at all.

    Each append writes its Parquet file at once; ``commit()`` publishes them all;
    ``rollback()`` deletes them and leaves the table untouched. Used as a context
    manager it begins on entry, rolls back if the block raises (and re-raises),
    and otherwise commits if still active::

        with table.new_transaction() as tx:
            tx.append_data(rows_a, schema)
            tx.append_data(rows_b, schema)
        # committed here

    Appending before ``begin()`` raises ``RuntimeError``.
    """

    def __init__(self, table: "Table") -> None:
        self._table = table
        self._core_tx: Any = None
        #: id of the snapshot the last commit() created (None for an empty transaction)
        self.snapshot_id: int | None = None

    def begin(self) -> "Transaction":
        """Start the transaction. ``RuntimeError`` if it is already active."""
        if self._core_tx is not None:
            raise RuntimeError("Transaction already active")
        self._core_tx = self._table._core.new_transaction()
        self.snapshot_id = None
        return self

    def is_active(self) -> bool:
        return self._core_tx is not None

    def _active(self) -> Any:
        if self._core_tx is None:
            raise RuntimeError("Transaction is not active: call begin() or use it in a with block")
        return self._core_tx

    def append_data(
        self,
        records: Sequence[Mapping[str, Any]],
        schema: "Schema | pa.Schema | None" = None,
        partition_values: Mapping[str, Any] | None = None,
    ) -> "Transaction":
        """Write row dicts now; publish them at commit. Same checks as ``Table.append_records``
        (SchemaError naming row and field, nothing written)."""
        tx = self._active()
        tx.append(self._table._records_to_arrow(records, schema))
        return self

    append_records = append_data

    def append_pandas(self, df: "pd.DataFrame", schema: "Schema | pa.Schema | None" = None) -> "Transaction":
        """Write a pandas DataFrame now; publish it at commit."""
        from .table import _is_pandas_frame

        tx = self._active()
        if not _is_pandas_frame(df):
            raise InvalidArgumentError(f"Expected a pandas DataFrame, got {type(df).__name__}")
        self._table._check_given_schema(schema)
        tx.append(pa.Table.from_pandas(df, preserve_index=False))
        return self

    def append(self, data: Any) -> "Transaction":
        """Write Arrow data (anything ``Table.append`` takes) now; publish it at commit."""
        tx = self._active()
        tx.append(self._table._to_arrow_input(data))
        return self

    append_arrow = append

    def commit(self) -> bool:
        """Publish everything appended as one snapshot. Returns True (an empty transaction
        commits nothing). ``RuntimeError`` if not active.

        If the commit raises, the transaction ends without deleting its files: after an
        :class:`AmbiguousCommitError` they may be part of the table.
        """
        tx = self._active()
        self._core_tx = None
        sid = tx.commit()
        self.snapshot_id = None if sid is None else int(sid)
        return True

    def rollback(self) -> bool:
        """Delete the files written so far and end the transaction; the table is untouched.
        Returns False if the transaction was not active."""
        if self._core_tx is None:
            return False
        tx, self._core_tx = self._core_tx, None
        tx.rollback()
        return True

    def __enter__(self) -> "Transaction":
        if self._core_tx is None:
            self.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.rollback()
            return None
        if self._core_tx is not None:
            self.commit()
        return None

    def __repr__(self) -> str:
        state = "active" if self._core_tx is not None else "inactive"
        return f"<Transaction {state} on {self._table.location!r}>"
