"""The package imports one way (scripts/check_imports.py): no runtime import cycle, no upward
import, no import of another module's underscore names. CI runs the script from
scripts/lint.sh; this runs it with the Python suite too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_imports.py"


def test_package_imports_one_way() -> None:
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_checker_catches_a_cycle_an_upward_import_and_a_private_name(tmp_path: Path) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import check_imports
    finally:
        sys.path.remove(str(SCRIPT.parent))
    (tmp_path / "errors.py").write_text("from .filters import FilterOp\n")  # layer 0 -> 1: upward
    (tmp_path / "filters.py").write_text("from .errors import SchemaError\n")  # ... and a cycle
    (tmp_path / "scan.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .table import Table\n"  # typing only: fine
        "def f():\n    from .table import _threads\n"  # lazy, upward, private
    )
    (tmp_path / "table.py").write_text("from . import scan\nx = scan._private\n")
    problems = "\n".join(check_imports.check(tmp_path))
    assert "upward import: errors.py:1" in problems
    assert "import cycle at run time: errors <-> filters" in problems
    assert "private name: scan.py:5 imports _threads from table" in problems
    assert "upward import: scan.py:5" in problems and "scan.py:3" not in problems
    assert "import cycle at run time: scan <-> table" in problems
    assert "private name: table.py:2 uses scan._private" in problems
