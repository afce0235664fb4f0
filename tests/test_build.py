"""The build under test is the one meant: pure sources, or (COMPLIANCE_COMPILED=1) the compiled modules.

.ci/run runs the suite twice, against the sources and against the opt-in mypyc build; this test
makes sure neither run silently tested the other build (stale compiled files beside the sources
would shadow them).
"""

from __future__ import annotations

import importlib
import os
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _compiled_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    files = config["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["mypyc"]["include"]
    return [f.removesuffix(".py").replace("/", ".") for f in files]


def test_the_modules_under_test_are_of_the_build_meant():
    modules = _compiled_modules()
    assert "compliance.evaluate" in modules
    compiled = os.environ.get("COMPLIANCE_COMPILED") == "1"
    for name in modules:
        path = importlib.import_module(name).__file__ or ""
        assert path.endswith(".py") != compiled, f"{name} was loaded from {path}"


def test_the_benchmark_names_the_build_it_measured():
    from benchmarks.province import machine

    assert machine()["build"] == ("mypyc" if os.environ.get("COMPLIANCE_COMPILED") == "1" else "pure")
