"""Where the rule files (catalogs, working days, scoresheets, demo) live."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Return the data folder: $COMPLIANCE_DATA, the wheel's copy, or the source tree's data/."""
    override = os.environ.get("COMPLIANCE_DATA")
    if override:
        return Path(override)
    bundled = Path(__file__).parent / "_data"
    if bundled.is_dir():
        return bundled
    return Path(__file__).resolve().parent.parent / "data"


def example_file(name: str) -> Path:
    """Return the commented example `name` (compliance.toml, workdays.toml, catalog.toml) that messages point users to.

    From the data folder in use, else from the copy this installation carries: a folder of one's
    own (COMPLIANCE_DATA) may have been copied before the examples were added.
    """
    own = data_dir() / "examples" / name
    if own.is_file():
        return own
    bundled = Path(__file__).parent / "_data"
    return (bundled if bundled.is_dir() else Path(__file__).resolve().parent.parent / "data") / "examples" / name
