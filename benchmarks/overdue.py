"""Time `overdue` on the demo township and on generated townships; print a table, write JSON.

    python -m benchmarks.overdue [--branches 200 1000] [--repeat 5] [--json results.json]

For each township: the import of its records, `overdue` as a library call (evaluation with
its queries, no rendering) and `compliance overdue --format json` as a whole process. Figures are
medians of --repeat runs on this machine; compare them as ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.generate import TUHE_VILLAGES, generate
from compliance import importing
from compliance.store import Store, resolve_url
from compliance.tracking import Window, overdue
from obligations.rules import default_rules

AS_OF = date(2026, 11, 25)


def _median(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, folder: Path, repeat: int) -> dict[str, object]:
    db = folder / "bench.db"
    store = Store(resolve_url(str(db)))
    store.upgrade()
    store.set_setting("default_catalog", "tuhe-2021")
    rules = default_rules()
    importing.import_orgs(store, rules, folder / "orgs.csv")
    importing.import_members(store, folder / "members.csv")
    start = time.perf_counter()
    records = importing.import_records(store, rules, folder / "records.csv").added
    import_seconds = time.perf_counter() - start
    branches = sum(1 for o in store.orgs() if o.type == "党支部")
    window = Window(date(AS_OF.year, 1, 1), AS_OF, AS_OF)
    found = overdue(store, rules, "图河镇党委", window)
    library = _median(lambda: overdue(store, rules, "图河镇党委", window), repeat)
    command = [sys.executable, "-m", "compliance", "--db", str(db), "overdue", "--under", "图河镇党委",
               "--as-of", AS_OF.isoformat(), "--format", "json"]
    process = _median(lambda: subprocess.run(command, check=True, capture_output=True), repeat)
    return {"township": name, "branches": branches, "records": records, "findings": len(found),
            "import_s": round(import_seconds, 3), "overdue_library_s": round(library, 4),
            "overdue_command_s": round(process, 3), "records_per_s_import": round(records / import_seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, nargs="*", default=[200])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        demo = Path(tmp) / "demo"
        generate(demo, 14, seed=20211012, villages=TUHE_VILLAGES)
        results.append(measure("demo 图河镇", demo, args.repeat))
        for n in args.branches:
            folder = Path(tmp) / f"gen{n}"
            generate(folder, n, seed=n)
            results.append(measure(f"generated {n}", folder, args.repeat))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    header = ["township", "branches", "records", "findings", "import_s", "overdue_library_s", "overdue_command_s"]
    print(" | ".join(header))
    for r in results:
        print(" | ".join(str(r[h]) for h in header))
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
