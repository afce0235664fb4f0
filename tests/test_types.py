"""The pure core type-checks: its annotations are what a compiled build (mypyc) enforces at run time."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not (ROOT / "compliance").is_dir(),
                    reason="the run against the compiled build has no sources; the run against the sources checks them")
def test_the_pure_core_type_checks(tmp_path: Path):
    config = ROOT / "pyproject.toml"
    files = tomllib.loads(config.read_text(encoding="utf-8"))["tool"]["mypy"]["files"]
    assert {"obligations", "compliance/evaluate.py", "compliance/scoring.py"} <= set(files)
    out, err, status = api.run(["--config-file", str(config), "--cache-dir", str(tmp_path / "cache"),
                                *(str(ROOT / f) for f in files)])
    assert status == 0, out + err
    assert "Success" in out


@pytest.mark.skipif(not (ROOT / "compliance").is_dir(),
                    reason="the run against the compiled build has no sources; the run against the sources checks them")
def test_the_compiled_modules_type_check_as_the_build_checks_them(tmp_path: Path):
    """The compiled build (hatch-mypyc) type-checks its modules and every module they import, in an isolated build
    environment: the project is not installed there, nor are its dependencies. mypy run where the project is installed
    (editable, as the README's test command installs it) takes the project for an installed package and keeps quiet
    about the modules it was not given: a type error in compliance/tabular.py was found only by CI's compiled build."""
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]["build"]
    hook = build["targets"]["wheel"]["hooks"]["mypyc"]
    assert "--ignore-missing-imports" in hook["mypy-args"]
    config = tmp_path / "mypy.ini"      # the hook hides pyproject.toml from mypy: none of [tool.mypy] applies
    config.write_text("[mypy]\n", encoding="utf-8")
    out, err, status = api.run(["--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), "--no-site-packages",
                                *hook["mypy-args"], *(str(ROOT / f) for f in hook["include"])])
    assert status == 0, out + err
    assert f"in {len(hook['include'])} source files" in out
