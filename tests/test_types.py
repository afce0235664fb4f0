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
