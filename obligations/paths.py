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
