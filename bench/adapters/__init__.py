"""One adapter module per system, each used only inside that system's own process.

Every adapter exposes the same small surface, written the way a user of that library
would write it (its public API, its defaults):

* ``versions() -> dict``: the versions that matter for this system.
* ``create(path, schema)``: an empty table at ``path`` (a directory the adapter owns).
* ``bulk_write(path, table)``: create the table and write ``table`` in one commit.
* ``open_writer(path) -> writer``: ``writer.append(table)`` commits ``table`` and returns a
  version token (or None); ``writer.version()`` returns the current version token.
* ``read(path, id_range=None, columns=None, version=None) -> pyarrow.Table``: a full scan,
  or the rows with ``lo <= id <= hi``, or an older version (a token from the writer).
* ``stream(path, batch_size) -> iterator``: the library's streaming read; each item has
  ``num_rows`` or ``len()``.
* ``lookup_write(path, table)``: the lookup table, written as a user who looks rows up by
  ``key`` would (datashard: a bloom filter on it); ``lookup(path, query) -> pyarrow.Table``:
  ``{"ranges": [[lo, hi], [lo, hi]]}`` (an OR of two ``id`` ranges) or ``{"key": k}``.
* ``UNSUPPORTED``: workload name -> why this system cannot do it ("n/a: <reason>").

Adapters are imported by ``bench/worker.py`` by name, so importing one must not import any
other system.
"""

SYSTEMS = ("datashard", "original", "pyiceberg", "deltalake", "lance", "pyarrow")
