"""``datashard.iceberg``: where the original package kept ``create_table``/``load_table``."""

from .table import Table, create_table, load_table

__all__ = ["Table", "create_table", "load_table"]
