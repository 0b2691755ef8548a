"""Maintenance as methods of ``Table``: expiry, orphan removal, compaction, verification.

Each operation is an ordinary commit in the engine, so it is safe while other processes
write: a concurrent append is never lost, and files a writer has written but not yet
committed are protected by the grace period of ``remove_orphan_files`` /
``garbage_collect``. Typical upkeep of a table that takes many small commits::

    t.compact()                                          # small files -> large ones
    t.compact(sort=True)                                 # ... sorted by the table's sort order
    t.expire_snapshots(older_than=timedelta(days=7), retain_last=10)
    t.remove_orphan_files()                              # files no snapshot uses, > 3 days old

The original package's ``rewrite_data_files()``, ``compact_manifests()`` and ``verify()``
are here too (the modern API uses them as well); ``garbage_collect(grace_period_ms)``, the
original's name for ``remove_orphan_files``, is in :mod:`datashard.compat`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Sequence

from ._convert import positive_int
from ._when import NO_AGE_LIMIT_MS, When, epoch_ms
from .compat import CompactManifestsResult, ExpireSnapshotsResult
from .errors import CorruptDataError, InvalidArgumentError
from .partitioning import SortTermLike, sort_terms
from .progress import activity

__all__ = ["TableMaintenance", "DEFAULT_TARGET_FILE_SIZE"]

#: compact()'s default target size of a data file
DEFAULT_TARGET_FILE_SIZE = 128 * 1024 * 1024


# expire_snapshots() with no criterion: what 0.11.2 expired (snapshots older than five days).
_DEFAULT_MAX_SNAPSHOT_AGE = timedelta(days=5)


class TableMaintenance:
    """Maintenance operations; mixed into :class:`~datashard.table.Table`."""

    _core: Any  # provided by Table
    if TYPE_CHECKING:  # provided by Table

        @property
        def location(self) -> str: ...

    def expire_snapshots(
        self,
        older_than: When | None = None,
        retain_last: int | None = None,
        dry_run: bool = False,
        *,
        older_than_ms: int | None = None,
        compact_manifests: bool = False,
    ) -> ExpireSnapshotsResult:
        """Forget old snapshots and delete the files only they used, in one commit.

        A snapshot expires when it was committed before ``older_than`` *and* is not among the
        newest ``retain_last``; the current snapshot, tagged snapshots and branch heads never
        expire. ``older_than``: a datetime (naive = local time), epoch milliseconds, an ISO
        string, or a ``timedelta`` meaning "older than now minus this"; ``None`` sets no age
        limit when ``retain_last`` is given, so ``expire_snapshots(retain_last=10)`` keeps
        exactly the newest 10 (the 0.11.2 call). With neither (``expire_snapshots()``), as in
        0.11.2: snapshots older than five days expire, the newest always stays. Expired versions
        can no longer be read (time travel stops at the oldest snapshot kept).

        ``dry_run``: report what would expire and be deleted, change nothing.

        0.11.2's keywords: ``older_than_ms`` (an absolute epoch-ms cut-off, instead of
        ``older_than``), ``retain_last=None`` (no count limit: the current snapshot still
        stays), and ``compact_manifests=True``, which then merges the manifests
        (:meth:`compact_manifests`, a commit of its own; 0.11.2 did it by default, in the same
        commit) and adds its ``"manifests_snapshot_id"`` to the result.

        Returns the report ``{"expired_snapshot_ids": [...], "deleted_data_files",
        "deleted_manifests", "deleted_manifest_lists", "deleted_metadata_files"}`` (counts; on
        a dry run, what would be deleted, old metadata files excepted), which is also the
        ``int`` 0.11.2 returned, the number of snapshots expired
        (:class:`~datashard.compat.ExpireSnapshotsResult`). Once the expiry is committed
        nothing raises: if the expired snapshots' manifests cannot be read then, no file is
        deleted and the report carries ``"cleanup_skipped"`` (why); ``remove_orphan_files``
        collects them later.
        """
        if older_than_ms is not None:
            if older_than is not None:
                raise InvalidArgumentError("give older_than or older_than_ms (0.11.2's name), not both")
            if isinstance(older_than_ms, bool) or not isinstance(older_than_ms, (int, float)):
                raise InvalidArgumentError(f"older_than_ms must be epoch milliseconds, got {older_than_ms!r}")
            older_than = int(older_than_ms)
        if older_than is None and retain_last is None:
            older_than = _DEFAULT_MAX_SNAPSHOT_AGE  # 0.11.2's default: older than five days
        retain_last = 1 if retain_last is None else positive_int(retain_last, "retain_last")
        cutoff = NO_AGE_LIMIT_MS if older_than is None else epoch_ms(older_than, "older_than")
        with activity("expiring snapshots"):
            result = dict(self._core.expire_snapshots(cutoff, retain_last, bool(dry_run)))
        result["expired_snapshot_ids"] = [int(i) for i in result["expired_snapshot_ids"]]
        if not result["cleanup_skipped"]:
            del result["cleanup_skipped"]
        if compact_manifests and not dry_run:
            result["manifests_snapshot_id"] = self.compact_manifests()["snapshot_id"]
        return ExpireSnapshotsResult(result)

    def remove_orphan_files(
        self, older_than: When = timedelta(days=3), dry_run: bool = False
    ) -> dict[str, Any]:
        """Delete files under the table's ``data/`` and ``metadata/`` that no snapshot still
        reachable uses, and that were last modified before ``older_than`` (default: more than
        3 days ago; a ``timedelta`` is an age, a datetime / epoch ms / ISO string an absolute
        cut-off). The grace period protects files a writer has written but not yet committed:
        keep it longer than any transaction may take.

        Returns ``{"orphans": [paths], "data_files", "manifest_files", "manifest_lists",
        "other_files"}`` (counts; ``other_files`` are temporary files of crashed writers). On
        a dry run nothing is deleted and ``orphans`` lists what would be.
        """
        cutoff = epoch_ms(older_than, "older_than")
        # Files that vanish between the listing and their deletion (a writer that lost a
        # commit race removes its manifest list) are skipped by the engine.
        with activity("looking for orphan files"):
            return dict(self._core.remove_orphan_files(cutoff, bool(dry_run)))

    def compact(
        self,
        target_file_size: int = DEFAULT_TARGET_FILE_SIZE,
        *,
        manifests: bool = True,
        sort: bool | Sequence[SortTermLike] | None = None,
        zorder: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Rewrite small data files into files of up to ``target_file_size`` bytes (per
        partition; rows are unchanged), then, with ``manifests`` (default), merge the
        manifests. Each step is one commit (operation ``replace``): reads give the same rows
        before and after, a concurrent append is never lost, and old snapshots keep their
        files until they expire.

        Laying data out for selective reads: ``sort=True`` rewrites all the files of each
        partition as one run sorted by the table's sort order (:meth:`replace_sort_order`),
        ``sort=[...]`` by the order given (terms as ``replace_sort_order`` takes them), and
        ``zorder=["x", "y"]`` in z-order over two or more columns (rows close in all of them
        end up in the same files). The run is cut into files of about ``target_file_size``,
        so each file covers a narrow range of the sort columns and filters on them skip most
        files; a partition already sorted that way is left alone, so a second ``sort=True``
        commits nothing. A partition's rows are held in memory while they are ordered. Sorted files
        record the sort order's id when the table has that order; z-ordered files record
        none (z-order is no Iceberg sort order; Spark does the same).

        Returns ``{"rewritten_files", "added_files", "snapshot_id", "manifests_snapshot_id"}``
        (``snapshot_id``: the data rewrite's commit, None if no file needed rewriting).
        """
        result = self._rewrite(target_file_size, sort, zorder)
        result["committed"] = result["snapshot_id"] is not None  # as rewrite_data_files reports it
        result["manifests_snapshot_id"] = self.compact_manifests()["snapshot_id"] if manifests else None
        return result

    def rewrite_data_files(
        self,
        target_file_size: int = DEFAULT_TARGET_FILE_SIZE,
        *,
        target_file_size_bytes: int | None = None,
        partition: Any = None,
        min_input_files: int | None = None,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """The data-file half of :meth:`compact` (the 0.11.2 name). Returns
        ``{"rewritten_files", "added_files", "snapshot_id"}``.

        0.11.2's keywords: ``target_file_size_bytes`` is ``target_file_size``;
        ``min_input_files`` is accepted and not needed (the engine leaves files already near
        the target alone, so a second pass commits nothing); ``partition=`` and
        ``dry_run=True`` raise ``NotImplementedError`` (the engine rewrites every partition and
        has no plan-only mode) rather than rewriting more than asked."""
        if target_file_size_bytes is not None:
            target_file_size = target_file_size_bytes
        if partition is not None or dry_run:
            raise NotImplementedError(
                "rewrite_data_files(partition=..., dry_run=True) is not supported: the rewrite "
                "covers every partition and commits; a second pass over a compacted table commits nothing"
            )
        if min_input_files is not None:
            positive_int(min_input_files, "min_input_files")
        report = self._rewrite(target_file_size, None, None)
        report["committed"] = report["snapshot_id"] is not None  # 0.11.2's key
        return report

    def _rewrite(
        self, target_file_size: int, sort: bool | Sequence[SortTermLike] | None, zorder: Sequence[str] | None
    ) -> dict[str, Any]:
        size = positive_int(target_file_size, "target_file_size")
        terms: list[tuple[str, str, str, str]] | None = None
        columns: list[str] | None = None
        if sort is not None and sort is not False:
            if zorder is not None:
                raise InvalidArgumentError("give sort= or zorder=, not both")
            if sort is True:
                terms = []  # the table's own order
            elif isinstance(sort, (str, tuple)) or not isinstance(sort, Sequence):
                raise InvalidArgumentError(f"sort must be True or a list of sort terms, got {sort!r}")
            else:
                terms = sort_terms(list(sort))
                if not terms:
                    raise InvalidArgumentError("sort=[] names no column: use sort=True for the table's sort order")
        elif zorder is not None:
            if isinstance(zorder, str) or not all(isinstance(c, str) for c in zorder):
                raise InvalidArgumentError(f"zorder must be a list of column names, got {zorder!r}")
            columns = list(zorder)
        with activity("compacting data files"):
            result = dict(self._core.rewrite(size, terms, columns))
        return {k: result[k] for k in ("rewritten_files", "added_files", "snapshot_id")}

    def compact_manifests(self) -> CompactManifestsResult:
        """Merge the current snapshot's manifests into one per partition spec, in one commit.
        Returns ``{"snapshot_id", "rewritten_manifests", "added_manifests"}``; when there is
        nothing to merge (one manifest per spec already, or an empty table) nothing is
        committed and ``snapshot_id`` is None. The result is true exactly when a merge was
        committed, as 0.11.2's bool (:class:`~datashard.compat.CompactManifestsResult`)."""
        with activity("merging manifests"):
            result = self._core.rewrite(None)
        return CompactManifestsResult(
            {k: result[k] for k in ("snapshot_id", "rewritten_manifests", "added_manifests")}
        )

    def verify(
        self,
        snapshot_id: int | None = None,
        raise_on_error: bool = True,
        *,
        deep: bool = False,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """Re-read every file of a snapshot (default: the current one), all of it, with Parquet
        page checksums, and check sizes and row counts against what the metadata recorded.

        Returns ``{"snapshot_id", "data_files", "manifests", "rows", "bytes", "problems": [{"path",
        "problem"}], "ok"}`` plus 0.11.2's ``"errors"`` (``"path: problem"`` strings),
        ``"checked_files"`` and ``"deep"``. With problems and ``raise_on_error`` (default) it
        raises :class:`CorruptDataError` naming each damaged file instead (``e.problems``,
        ``e.report``, ``e.path``: the first damaged file); 0.11.2 never raised, pass
        ``raise_on_error=False`` for that. 0.11.2's ``deep`` and ``limit`` are accepted: every
        file is always read in full (what ``deep`` asked for, short of re-hashing it against a
        checksum datashard does not record), and ``limit`` does not shorten the check.
        """
        if limit is not None:
            positive_int(limit, "limit", minimum=0)
        if snapshot_id is not None and (isinstance(snapshot_id, bool) or not isinstance(snapshot_id, int)):
            raise InvalidArgumentError(f"snapshot_id must be an int, got {snapshot_id!r}")
        self._core.refresh()
        with activity("verifying"):
            raw = self._core.verify(snapshot_id)
        report = {k: v for k, v in raw.items() if k != "problems"}
        report["problems"] = [{"path": str(p), "problem": str(m)} for p, m in raw["problems"]]
        report["ok"] = not report["problems"]
        report["errors"] = [f"{p['path']}: {p['problem']}" for p in report["problems"]]  # 0.11.2's keys
        report["checked_files"] = report["data_files"]
        report["deep"] = bool(deep)
        if report["problems"] and raise_on_error:
            problems = report["problems"]
            listed = "; ".join(f"{p['path']}: {p['problem']}" for p in problems[:10])
            more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
            err = CorruptDataError(
                f"verify found {len(problems)} damaged file(s) in {self.location} "
                f"(snapshot {report['snapshot_id']}): {listed}{more}"
            )
            err.problems = problems  # type: ignore[attr-defined]
            err.report = report  # type: ignore[attr-defined]
            err.path = problems[0]["path"]  # type: ignore[attr-defined]
            raise err
        return report
