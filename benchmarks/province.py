"""Time import, overdue and supervise on generated provinces against SQL floors; print a table, write JSON.

    python -m benchmarks.province --branches 1000 10000 50000 [--json out.json] [--keep DIR]

For each size a province is generated (benchmarks.generate_province: two years of records up
to 2026-11-20) and loaded into a fresh SQLite database with the CLI (orgs, members, dues; timed
apart, not measured). Then, each as a whole `python -m compliance` process whose own peak
resident memory comes from wait4(), and whose process tree (the command and the worker
processes it forks: one per core by default) has its summed PSS sampled four times a second;
the memory target is judged on the larger of the two:

- `record import records.csv`, against the floor: sqlite3 `executemany` of the same rows, read
  back from the imported `record` table in chunks (untimed), into an empty table created with
  the same CREATE TABLE and CREATE INDEX statements; only the inserts and the commit are timed;
  and, shown beside it as its second floor, the same inserts into a database in WAL mode, the
  journal the app keeps so that other commands read while an import writes (`import_floor`);
- `overdue --under <province> --since <first year> --format json`, against the floor: one query
  counting records per branch, kind and month over the same table, all rows fetched; `--since`
  is the first day of the records, so the evaluation covers what the floor reads; and, shown
  beside it as its second floor (not the issue's target), against its read floor: sqlite3
  fetching the columns the rules judge of every current record (`READ_QUERY`), making no object;
- `overdue` as a library call (compliance.tracking.overdue with one process per core, no
  rendering) in its own process;
- `supervise --under <province> --month 2026-10` (the month before, as of its last day), then
  `--month 2026-11`, which compares with it and finds its ledger items open, as a team's monthly
  run does (no floor; target under 120 s), then November again: that run's ledger items are open
  too, and those from before the year are evaluated again for the ones made good;
- what is done every day, which should not grow with the province (no floor): `status` of the
  first branch, `overdue` of the township it is in, and `log` of one meeting there.

The commands load compiled bytecode, as an installed tool does: `pip install .` compiles the
modules it installs, and Python writes a module's bytecode beside it on first import. Where
PYTHONDONTWRITEBYTECODE is set, every command would compile the project's own modules again
(0.2-0.3 s of each start on the README's machine), so it is unset for the commands and the
project is compiled before anything is timed (`compiled_bytecode`).

The app sets its own pragmas (WAL). The floor database keeps SQLite's default rollback journal
and takes the page size of the app's database. The journal matters: with WAL every page is
written twice, to the WAL and then by the checkpoint at commit; at 10,000 branches the floor's
inserts and commit took 12.7 s with the rollback journal and 19.4 s with WAL (on the README's
machine, one run each), hence the import's second floor.
Floors are the best of three runs; the measured commands run once (--repeat for more, median).
The count floor of `overdue` is measured just before its two measures and again just after them,
as this machine's speed can change by 40% within minutes: both are shown, with the ratio to each,
and the ratio and its target are to their mean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import obligations.rules
from benchmarks.generate_province import generate_province
from compliance import evaluate

AS_OF = date(2026, 11, 20)
MONTH = "2026-11"
PREVIOUS_MONTH, PREVIOUS_AS_OF = "2026-10", date(2026, 10, 31)
ROOT = "江淮省委"
TIMEOUT = 1800.0
# The targets.
IMPORT_RATE, IMPORT_RATIO, OVERDUE_RATIO, SUPERVISE_SECONDS, PEAK_MB, SCALING = 50_000, 3.0, 3.0, 120.0, 1024.0, 5.5
WAIT4 = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
code = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{seconds} {usage.ru_maxrss} {code}")
sys.exit(min(abs(code), 255))
"""
LIBRARY_OVERDUE = """
import sys, time
from datetime import date
from compliance.store import Store, resolve_url
from compliance.blocks import default_jobs
from compliance.tracking import Window, overdue
from obligations.rules import default_rules
db, root, since, as_of = sys.argv[1:5]
store, rules = Store(resolve_url(db)), default_rules()
window = Window(date.fromisoformat(since), date.fromisoformat(as_of), date.fromisoformat(as_of))
start = time.perf_counter()
found = overdue(store, rules, root, window, default_jobs())
print(time.perf_counter() - start, len(found))
"""


@dataclass
class Run:
    """One run of a command: wall seconds, its peak resident memory, how it ended, what it printed."""

    seconds: float
    peak_mb: float
    status: str                  # "ok", "timeout" or "exit N"
    stdout: str = ""
    tree_mb: float = 0.0         # the largest sampled sum of PSS over the command and its worker processes

    @property
    def memory_mb(self) -> float:
        """Return the memory the target is judged on: the process's peak RSS or its tree's sampled PSS, the larger."""
        return max(self.peak_mb, self.tree_mb)


def _descendants(pid: int) -> list[int]:
    """Return the processes below `pid` (from /proc: Linux only; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _pss_mb(pids: list[int]) -> float:
    """Return the summed proportional set size of `pids` (pages shared after a fork counted once in all)."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError):
            continue
    return total / 1024


class TreeMemory(threading.Thread):
    """Sample the memory of a command's process tree every `interval` seconds; keep the peak."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_mb = pid, interval, 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak_mb = max(self.peak_mb, _pss_mb(_descendants(self.pid)))


@dataclass
class Measure:
    """One row of the table."""

    branches: int
    records: int
    measure: str
    seconds: float | None
    floor_seconds: float | None
    peak_mb: float | None
    status: str
    target: str
    tree_mb: float | None = None
    # The second floor: for `overdue` the read floor (`read_floor`), for `record import` the WAL floor (`import_floor`).
    floor2_seconds: float | None = None
    floor2: str | None = None                     # "read" or "WAL"
    # For `overdue`, the count floor measured just before the command and again just after it: `floor_seconds` is their
    # mean, and the table shows the ratio to each (this machine's speed can change by 40% within minutes).
    floor_before: float | None = None
    floor_after: float | None = None

    @property
    def ratio2(self) -> float | None:
        return self.seconds / self.floor2_seconds if self.seconds and self.floor2_seconds else None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor_seconds if self.seconds and self.floor_seconds else None

    @property
    def ratios(self) -> tuple[float, float] | None:
        """Return the ratios to the larger and to the smaller of the floors measured before and after the command (the
        smaller ratio first), when both were."""
        if not self.seconds or not self.floor_before or not self.floor_after:
            return None
        return self.seconds / max(self.floor_before, self.floor_after), self.seconds / min(self.floor_before, self.floor_after)

    @property
    def records_per_s(self) -> float | None:
        return self.records / self.seconds if self.seconds else None


def compliance(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "compliance", "--db", str(db), *args]


def run(command: list[str], timeout: float | None = TIMEOUT, stdout: Path | None = None) -> Run:
    """Run `command`; return its time and its own peak RSS, stopping it after `timeout` seconds.

    The command runs under a small Python parent (WAIT4) that times it and reads its rusage with
    wait4(): a child forked straight from this process would count this process's own pages in its
    ru_maxrss until it execs.
    """
    stopped = threading.Event()
    with tempfile.TemporaryFile() as err, (open(stdout, "w+b") if stdout else tempfile.TemporaryFile()) as out, \
            tempfile.NamedTemporaryFile("r") as usage:
        child = subprocess.Popen([sys.executable, "-c", WAIT4, usage.name, *command], stdout=out, stderr=err,
                                 start_new_session=True)

        def stop() -> None:
            stopped.set()
            os.killpg(child.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, stop) if timeout else None
        if timer:
            timer.start()
        sampler = TreeMemory(child.pid)     # below the WAIT4 wrapper: the command and its workers
        sampler.start()
        code = child.wait()
        sampler.done.set()
        sampler.join()
        if timer:
            timer.cancel()
        figures = usage.read().split()
        if code and not stopped.is_set():
            err.seek(0)
            sys.stderr.write(err.read()[-2000:].decode("utf-8", "replace"))
        out.seek(0)
        printed = out.read(4096).decode("utf-8", "replace") if not stdout else ""
    if stopped.is_set() or not figures:
        return Run(timeout or 0.0, 0.0, "timeout" if stopped.is_set() else f"exit {code}", printed)
    seconds, peak_kb, code = float(figures[0]), int(figures[1]), int(figures[2])
    return Run(seconds, peak_kb / 1024, "ok" if code == 0 else f"exit {code}", printed, sampler.peak_mb)


def repeated(command: list[str], repeat: int, timeout: float | None, stdout: Path | None = None) -> Run:
    """Run `command` `repeat` times; return the median time and the largest peak (the first failure stops)."""
    runs = []
    for _ in range(repeat):
        runs.append(run(command, timeout, stdout))
        if runs[-1].status != "ok":
            return runs[-1]
    return Run(statistics.median(r.seconds for r in runs), max(r.peak_mb for r in runs), "ok", runs[-1].stdout,
               max(r.tree_mb for r in runs))


def best_of(func, times: int = 3) -> float:
    results = []
    for _ in range(times):
        start = time.perf_counter()
        func()
        results.append(time.perf_counter() - start)
    return min(results)


def import_floor(db: Path, floor_db: Path, chunk: int = 50_000, wal: bool = False) -> float:
    """Return the seconds executemany takes to insert the `record` rows of `db` into an empty copy of the table.

    With `wal`, the floor database is in WAL mode, as the app's is, and the timed commit checkpoints the WAL into it.
    """
    source = sqlite3.connect(db)
    ddl = [sql for (sql,) in source.execute("SELECT sql FROM sqlite_master WHERE tbl_name = 'record' AND sql IS NOT NULL "
                                            "ORDER BY type DESC")]          # the table first, then its indexes
    page_size = source.execute("PRAGMA page_size").fetchone()[0]
    columns = [row[1] for row in source.execute("PRAGMA table_info(record)")]
    floor_db.unlink(missing_ok=True)
    target = sqlite3.connect(floor_db)
    target.execute(f"PRAGMA page_size = {page_size}")
    if wal:
        target.execute("PRAGMA journal_mode = WAL")
    for sql in ddl:
        target.execute(sql)
    target.commit()
    insert = f"INSERT INTO record ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    cursor = source.execute(f"SELECT {', '.join(columns)} FROM record ORDER BY id")
    seconds = 0.0
    while rows := cursor.fetchmany(chunk):
        start = time.perf_counter()
        target.executemany(insert, rows)
        seconds += time.perf_counter() - start
    start = time.perf_counter()
    target.commit()
    seconds += time.perf_counter() - start
    source.close()
    target.close()
    floor_db.unlink()         # closed, the last connection took the WAL's files with it
    return seconds


def overdue_floor(db: Path) -> float:
    """Return the best seconds of one query counting records per branch, kind and month, all rows fetched."""
    con = sqlite3.connect(db)
    query = "SELECT org_id, kind, strftime('%Y-%m', held_on), count(*) FROM record GROUP BY 1, 2, 3"
    seconds = best_of(lambda: con.execute(query).fetchall())
    con.close()
    return seconds


# Every column the rules judge, of every current record, in organization order: what the evaluation's
# own query (`ScopeQueries.scope_records`) reads for the whole province when its window starts with
# the records, without the join that limits it to a scope.
READ_QUERY = ("SELECT r.record_id, r.org_id, r.kind, r.held_on, r.first_recorded_at, r.expected, r.present, r.topic, "
              "r.recorder, r.lecturer, r.secretary_signed, r.recorder_signed, r.group_name, m.name, r.attendees, "
              "r.counterpart, r.hours, r.photos, r.excused FROM record r LEFT JOIN member m ON m.id = r.member_id "
              "WHERE r.superseded_at IS NULL AND r.voided_at IS NULL ORDER BY r.org_id")


def read_floor(db: Path, chunk: int = 10_000) -> float:
    """Return the best seconds of fetching, with sqlite3, what evaluation reads of the records (`READ_QUERY`); no object is made.

    Not the issue's floor, which counts records and so returns none of the values the rules
    judge (quorums, lecturers, attendance lists): shown beside it, as what any evaluation in
    Python must at least spend to have its records in hand.
    """
    con = sqlite3.connect(db)

    def read() -> None:
        cursor = con.execute(READ_QUERY)
        while cursor.fetchmany(chunk):
            pass

    seconds = best_of(read)
    con.close()
    return seconds


def everyday_scopes(db: Path) -> tuple[str, str]:
    """Return the path of the province's first branch and of the township (or street) it is in: four levels down."""
    con = sqlite3.connect(db)
    try:
        branch = con.execute("SELECT path FROM org WHERE type = '党支部' ORDER BY id LIMIT 1").fetchone()[0]
    finally:
        con.close()
    return branch, "/".join(branch.split("/")[:4])


def setup(folder: Path, db: Path, timeout: float | None) -> dict[str, float]:
    """Load orgs, members and dues with the CLI into a fresh `db`; return the seconds of each step."""
    db.unlink(missing_ok=True)
    times = {}
    for name, args in (("init", ["init", "--catalog", "tuhe-2021"]), ("org import", ["org", "import", str(folder / "orgs.csv")]),
                       ("member import", ["member", "import", str(folder / "members.csv")]),
                       ("dues import", ["dues", "import", str(folder / "dues.csv")])):
        result = run(compliance(db, *args), timeout)
        if result.status != "ok":
            raise SystemExit(f"setup failed: {name}: {result.status}")
        times[name] = round(result.seconds, 2)
    return times


def target_text(met: bool | None) -> str:
    return "-" if met is None else "yes" if met else "NO"


def measure_size(branches: int, work: Path, args: argparse.Namespace) -> dict[str, object]:
    """Generate one province and measure it; return its figures."""
    folder = work / f"province{branches}"
    start = time.perf_counter()
    counts = generate_province(folder, branches, seed=args.seed, years=args.years, as_of=AS_OF, dues_share=args.dues_share)
    generate_s = time.perf_counter() - start
    print(f"{branches} branches: generated {counts} in {generate_s:.1f} s", file=sys.stderr, flush=True)
    db = folder / "province.db"
    setup_s = setup(folder, db, args.timeout)
    print(f"  setup {setup_s}", file=sys.stderr, flush=True)
    records = counts["records"]
    since = date(AS_OF.year - args.years + 1, 1, 1).isoformat()
    rows: list[Measure] = []

    def add(name: str, result: Run, floor: float | None, met: bool | None, floor2: float | None = None,
            floor2_name: str | None = None, floors: tuple[float, float] | None = None) -> Measure:
        ok = result.status == "ok"
        row = Measure(counts["branches"], records, name, round(result.seconds, 3) if ok else None,
                      None if floor is None else round(floor, 4), round(result.peak_mb, 1), result.status,
                      target_text(met if ok else False), round(result.tree_mb, 1), None if floor2 is None else round(floor2, 4),
                      floor2_name if floor2 is not None else None,
                      *((None, None) if floors is None else (round(floors[0], 4), round(floors[1], 4))))
        rows.append(row)
        shown = f"{floors[0]:.3f} s before, {floors[1]:.3f} s after" if floors else f"{floor:.3f} s" if floor else ""
        print(f"  {name}: {result.status} {result.seconds:.2f} s, peak {result.peak_mb:.0f} MB, tree PSS {result.tree_mb:.0f} MB"
              + (f", floor {shown}" if shown else "") + (f", {floor2_name} floor {floor2:.3f} s" if floor2 else ""),
              file=sys.stderr, flush=True)
        return row

    startup = repeated([sys.executable, "-m", "compliance", "--help"], args.repeat, args.timeout)
    add("startup (--help)", startup, None, None)
    imported = run(compliance(db, "record", "import", str(folder / "records.csv")), args.timeout)
    floor = import_floor(db, folder / "floor.db") if imported.status == "ok" else None
    wal_floor = import_floor(db, folder / "floor.db", wal=True) if imported.status == "ok" else None
    rate = records / imported.seconds
    add("record import", imported, floor, rate >= IMPORT_RATE and imported.seconds <= IMPORT_RATIO * (floor or 0)
        and imported.memory_mb < PEAK_MB, wal_floor, "WAL")
    # The count floor just before the two measures of `overdue` and again just after them; each is judged on the mean.
    read = read_floor(db)
    floor_first = overdue_floor(db)
    found = repeated(compliance(db, "overdue", "--under", ROOT, "--since", since, "--as-of", AS_OF.isoformat(),
                                "--format", "json"), args.repeat, args.timeout, folder / "overdue.json")
    library = repeated([sys.executable, "-c", LIBRARY_OVERDUE, str(db), ROOT, since, AS_OF.isoformat()], args.repeat,
                       args.timeout)
    floors = floor_first, overdue_floor(db)
    floor = statistics.mean(floors)
    if library.status == "ok":
        library.seconds = float(library.stdout.split()[0])        # the call alone, without start-up
    add("overdue", found, floor, found.seconds <= OVERDUE_RATIO * floor and found.memory_mb < PEAK_MB, read, "read", floors)
    add("overdue (library call)", library, floor, library.seconds <= OVERDUE_RATIO * floor and library.memory_mb < PEAK_MB,
        read, "read", floors)
    # The month before, first: a team's monthly run compares with the month before's snapshot
    # (and its ledger has that month's items), as a province's first run ever does not.
    before = run(compliance(db, "supervise", "--under", ROOT, "--month", PREVIOUS_MONTH, "--as-of", PREVIOUS_AS_OF.isoformat(),
                            "--out", str(folder / "bulletin-month-before"), "--format", "json"), args.timeout,
                 folder / "supervise-month-before.json")
    add("supervise (month before)", before, None, before.seconds < SUPERVISE_SECONDS and before.memory_mb < PEAK_MB)
    supervised = run(compliance(db, "supervise", "--under", ROOT, "--month", MONTH, "--as-of", AS_OF.isoformat(),
                                "--out", str(folder / "bulletin"), "--format", "json"), args.timeout, folder / "supervise.json")
    add("supervise", supervised, None, supervised.seconds < SUPERVISE_SECONDS and supervised.memory_mb < PEAK_MB)
    # The same month again (a team checks after corrections): the first run's ledger items are
    # open now, and those from before the year (outstanding elections) are evaluated again.
    again = run(compliance(db, "supervise", "--under", ROOT, "--month", MONTH, "--as-of", AS_OF.isoformat(),
                           "--out", str(folder / "bulletin-again"), "--format", "json"), args.timeout,
                folder / "supervise-again.json")
    add("supervise (again)", again, None, again.seconds < SUPERVISE_SECONDS and again.memory_mb < PEAK_MB)
    # What a branch secretary and a township office do every day; no floor, and no target but
    # that they do not grow with the province.
    branch, township = everyday_scopes(db)
    add("status (one branch)", repeated(compliance(db, "status", "--org", branch, "--as-of", AS_OF.isoformat(), "--format", "json"),
                                        args.repeat, args.timeout), None, None)
    add("overdue (one township)", repeated(compliance(db, "overdue", "--under", township, "--as-of", AS_OF.isoformat(),
                                                      "--format", "json"), args.repeat, args.timeout), None, None)
    add("log (one meeting)", run(compliance(db, "log", "主题党日", "--org", branch, "--date", AS_OF.isoformat(), "--topic", "基准测试",
                                            "--photos", "bench.jpg"), args.timeout), None, None)
    if not args.keep:
        for name in ("records.csv", "dues.csv", "members.csv"):
            (folder / name).unlink()
    return {"branches": counts["branches"], "generated": counts, "generate_s": round(generate_s, 2), "setup_s": setup_s,
            "db_mb": round(db.stat().st_size / 2**20, 1),
            "measures": [asdict(r) | {"ratio": r.ratio and round(r.ratio, 2),
                                      "ratio2": r.ratio2 and round(r.ratio2, 2),
                                      "ratios": r.ratios and [round(x, 2) for x in r.ratios],
                                      "records_per_s": r.records_per_s and round(r.records_per_s)} for r in rows]}


def scaling(sizes: list[dict[str, object]], column: str = "seconds") -> dict[str, float]:
    """Return, per measure, its time at the largest size over its time at the one before; with `column` "floor_seconds", its floor's.

    The floors are plain sqlite3 on the same data, timed in the same spell as their measures:
    how they scale tells how much of a measure's scaling is the machine's. (This machine's speed
    changes by a third within minutes; one run's 50,000-branch half ran in a faster spell than
    its 10,000-branch half, and its floors scaled 3.75–4.76× for 5× the records.)
    """
    if len(sizes) < 2:
        return {}
    small, large = sizes[-2], sizes[-1]
    times = {m["measure"]: m[column] for m in small["measures"]}
    return {f"{m['measure']} {large['branches']}/{small['branches']}": round(m[column] / times[m["measure"]], 2)
            for m in large["measures"] if m[column] and times.get(m["measure"])}


# Measures that do not read the whole province: records per second means nothing for them.
NOT_PER_RECORD = frozenset({"startup (--help)", "status (one branch)", "overdue (one township)", "log (one meeting)"})


def _spread(m: dict[str, Any], column: str) -> str:
    """Return " (before, after)" of a measure's two count floors, or " (low–high)" of its ratios to them; "" when it has one floor."""
    first, last = m.get("floor_before"), m.get("floor_after")
    if not first or not last or not m["seconds"]:
        return ""
    if column == "floor":
        return f" ({first:.3f}, {last:.3f})"
    return f" ({m['seconds'] / max(first, last):.2f}–{m['seconds'] / min(first, last):.2f}x)"


def table(sizes: list[dict[str, object]]) -> str:
    header = ["branches", "records", "measure", "seconds", "floor s", "ratio", "floor 2 s", "ratio 2", "records/s",
              "peak MB", "tree PSS MB", "target met"]
    lines = [header]
    for size in sizes:
        for m in size["measures"]:
            seconds = m["status"] if m["seconds"] is None else f"{m['seconds']:.2f}"
            lines.append([f"{m['branches']:,}", f"{m['records']:,}", m["measure"], seconds,
                          "-" if m["floor_seconds"] is None else f"{m['floor_seconds']:.3f}" + _spread(m, "floor"),
                          "-" if m["ratio"] is None else f"{m['ratio']:.2f}x" + _spread(m, "ratio"),
                          "-" if m.get("floor2_seconds") is None else f"{m['floor2_seconds']:.3f} ({m['floor2']})",
                          "-" if m.get("ratio2") is None else f"{m['ratio2']:.2f}x",
                          "-" if m["records_per_s"] is None or m["measure"] in NOT_PER_RECORD else f"{m['records_per_s']:,}",
                          f"{m['peak_mb']:.0f}", "-" if not m.get("tree_mb") else f"{m['tree_mb']:.0f}", m["target"]])
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(" | ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines)


def compiled_bytecode() -> None:
    """Let the measured commands load the project's compiled bytecode instead of compiling it at each start (see the module's note).

    The packages compiled are the ones imported here, which the measured commands import too
    (the same interpreter, from the same folder): the sources, or an installed build.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    folders = [str(Path(module.__file__ or "").parent) for module in (evaluate, obligations.rules)]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)


def build() -> str:
    """Return "mypyc" when the evaluation's modules are the opt-in compiled build (README), else "pure"."""
    return "pure" if (evaluate.__file__ or "").endswith(".py") else "mypyc"


def machine() -> dict[str, object]:
    return {"platform": platform.platform(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "build": build()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, nargs="+", default=[1000, 10000, 50000])
    parser.add_argument("--years", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--dues-share", type=float, default=0.1, help="share of townships that record dues (default 0.1)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of overdue and startup; the median is shown")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds before a command is stopped as 'timeout'")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", type=Path, help="keep the generated files and databases in this folder")
    args = parser.parse_args()
    compiled_bytecode()
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        for branches in args.branches:
            sizes.append(measure_size(branches, work, args))
    info = machine()
    print(f"machine: {info['machine']}, {info['cpus']} cores, Python {info['python']}, SQLite {info['sqlite']}, "
          f"{info['build']} build; "
          f"as of {AS_OF}, {args.years} years, dues in {args.dues_share:.0%} of townships")
    print(table(sizes))
    ratios, floors = scaling(sizes), scaling(sizes, "floor_seconds")
    if len(sizes) >= 2:
        # The issue allows 5.5x the time for 5x the branches: 1.1 times linear.
        allowed = SCALING / 5 * sizes[-1]["branches"] / sizes[-2]["branches"]
        for name, ratio in ratios.items():
            print(f"scaling {name}: {ratio}x (target ≤ {allowed:.1f}x, 1.1 times linear)"
                  + (f"; its floor in the same run {floors[name]}x" if name in floors else ""))
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "as_of": AS_OF.isoformat(), "years": args.years,
                                         "dues_share": args.dues_share, "sizes": sizes, "scaling": ratios,
                                         "floor_scaling": floors},
                                        ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
