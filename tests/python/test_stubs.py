"""The engine module's type stubs (_core.pyi) describe the module that is installed.

The build generates them with nanobind's stubgen (python/bindings/CMakeLists.txt);
here they are generated again from the installed module and must come out the
same, so a stub that missed a rebuild, or a wheel without one, fails. nanobind is
a build requirement (scripts/install-deps.sh installs it), so it is required here.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import datashard
from datashard import _core

from conftest import python_env

PACKAGE = Path(datashard.__file__).parent
STUB = PACKAGE / "_core.pyi"


def test_package_ships_the_stub_and_py_typed() -> None:
    assert STUB.is_file(), f"{STUB} is missing: the build did not install it"
    assert (PACKAGE / "py.typed").is_file()


def test_stub_matches_the_installed_module(tmp_path: Path) -> None:
    import nanobind  # noqa: F401  (a build requirement: its absence is an error, not a skip)

    out = tmp_path / "_core.pyi"
    # A child interpreter in an empty directory: it imports the installed
    # datashard._core, as the build's stubgen imported the freshly built one.
    r = subprocess.run(
        [sys.executable, "-m", "nanobind.stubgen", "-q", "-m", "datashard._core", "-o", str(out)],
        cwd=tmp_path,
        env=python_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert out.read_text() == STUB.read_text(), (
        f"{STUB} differs from the stub nanobind generates for {_core.__file__}; rebuild (pip install .)"
    )


def test_stub_names_every_public_function_and_class() -> None:
    tree = ast.parse(STUB.read_text())
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {name for name in dir(_core) if not name.startswith("_")}
    assert public <= top, f"missing from the stub: {sorted(public - top)}"
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        members = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
        real = {name for name, _ in inspect.getmembers(getattr(_core, cls.name)) if not name.startswith("__")}
        assert real <= members, f"{cls.name}: missing from the stub: {sorted(real - members)}"
