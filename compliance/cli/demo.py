"""`compliance demo`: the sample township in a temporary database, with its bulletin."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from functools import partial
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import Any, Optional

import typer

from compliance import importing, tracking
from compliance import store as store_mod
from compliance.cli import (
    FORMAT_OPTION,
    Format,
    _date_option,
    _emit,
    _rules,
    app,
    console,
    fails_cleanly,
    state,
)
from compliance.cli.supervision import _write_bulletin
from compliance.errors import InputError
from compliance.report import catalogs as catalog_report
from compliance.report.findings import print_findings
from compliance.store import TZ, shown_url
from compliance.supervision import SupervisionResult
from compliance.tabular import Table, read_table
from obligations.paths import data_dir

DEMO_AS_OF = date(2026, 11, 25)
DEMO_START = date(2025, 12, 31)     # the day the sample township moved its books into the tool


@app.command()
@fails_cleanly
def demo(as_of: Optional[str] = typer.Option(None, "--as-of", help=f"示例数据录入至此日期，并按此日期判断（默认 {DEMO_AS_OF.isoformat()}，演示数据的督查日）。"),
         fmt: Format = FORMAT_OPTION) -> None:
    """载入示例乡镇（图河镇），列出逾期与待办事项，并完成一次月度督查、生成通报。

    默认用临时 SQLite 数据库（不用 COMPLIANCE_DB 所指的数据库，以免示例数据混入工作库）；给出 --db 时载入该数据库（须为空库，如新建的 PostgreSQL 数据库）。
    """
    day = _date_option(as_of, "--as-of") or DEMO_AS_OF
    if day <= DEMO_START:
        raise InputError(f"--as-of：值「{day.isoformat()}」须晚于示例乡镇启用本工具的日期 {DEMO_START.isoformat()}")
    # Without --db, a folder of its own holds the database and the bulletin; with a database file, the
    # bulletin goes beside it (it went to a temporary folder the user was never told of but in passing).
    folder = None if state.db else Path(tempfile.mkdtemp(prefix="compliance-demo-"))
    target = state.db or str(folder / "demo.db")
    store = store_mod.Store(store_mod.resolve_url(target))
    store.upgrade()
    if store.orgs() or store.users():
        raise InputError(f"数据库 {shown_url(store.url)} 已有党组织或用户：演示只载入空数据库")
    rules = _rules()
    demo_dir = data_dir() / "demo"
    from compliance import membership
    from compliance.supervision import supervise as run_supervision

    real_clock = store.clock
    now = real_clock()

    def at(day: date, hour: int) -> datetime:
        return min(datetime.combine(day, time(hour), tzinfo=TZ), now)

    def by_day(table: Table, column: str) -> dict[date, list[tuple[int, dict[str, Any]]]]:
        days: dict[date, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
        for number, row in table.rows:
            days[max(date.fromisoformat(row[column]), DEMO_START)].append((number, row))
        return days

    records = read_table(demo_dir / "records.csv", importing.RECORD_COLUMNS)
    dues = read_table(demo_dir / "dues.csv", membership.DUES_COLUMNS)
    added: list[int] = []
    runs: list[SupervisionResult] = []

    def load_records(rows: list[tuple[int, dict[str, Any]]]) -> None:
        added.append(importing.load_records(store, rules, replace(records, rows=rows), "import:records.csv").added)

    def load_dues(rows: list[tuple[int, dict[str, Any]]]) -> None:
        part = replace(dues, rows=rows, count=len(rows))
        membership.load_dues(store, part, lambda: importing.file_meta(demo_dir / "dues.csv", part))

    def setup() -> None:
        store.set_setting("default_catalog", "tuhe-2021")
        importing.import_orgs(store, rules, demo_dir / "orgs.csv")
        importing.import_members(store, demo_dir / "members.csv")

    def supervise(month_day: date, publish: bool) -> None:
        runs.append(run_supervision(store, rules, "图河镇党委", f"{month_day:%Y-%m}", month_day, publish=publish))

    # The year is replayed in the order it happened, each step at its own time: the township's
    # tree, roster and earlier records moved in on DEMO_START; each later record entered at noon
    # of its 录入日期 and each due at noon of its 交纳日期 (as if logged then); last month's run
    # published and this month's made at 18:00 of their check days. So the runs see what had
    # been entered by then, and `--known-at` shows a past day's records as the database had them.
    previous = (day.replace(day=1) - timedelta(days=1)).replace(day=25)
    steps = [(at(DEMO_START, 9), setup)]
    steps += [(at(d, 12), partial(load_dues, rows)) for d, rows in by_day(dues, "paid_on").items()]
    steps += [(at(d, 12), partial(load_records, rows)) for d, rows in by_day(records, "recorded_on").items()]
    if previous > DEMO_START:
        steps.append((at(previous, 18), partial(supervise, previous, True)))
    steps.append((at(day, 18), partial(supervise, day, False)))
    # Replayed up to the run on its day: what was entered later was not yet there, for the
    # lists and the watch below as for the runs.
    try:
        for stamp, step in sorted((s for s in steps if s[0] <= at(day, 18)), key=itemgetter(0)):
            store.clock = lambda stamp=stamp: stamp
            step()
    finally:
        store.clock = real_clock
    window = tracking.Window(date(day.year, 1, 1), day, day)
    findings = tracking.overdue(store, rules, None, window)
    if fmt is not Format.table:
        _emit(findings, fmt, "")
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return
    console.print(f"[bold]示例：图河镇党委[/]（规则集 tuhe-2021，{sum(added)} 条记录，判断日期 {day.isoformat()}）")
    catalog_report.print_overdue_summary(console, findings, root="图河镇党委")
    print_findings(console, findings, f"图河镇党委 待办与逾期事项（截至 {day.isoformat()}）", root="图河镇党委", year=day.year)
    flagged = membership.member_watch(store, "图河镇党委", day, keep=attrgetter("level"), rules=rules)
    if flagged:
        console.print(f"\n[bold]党员六个月提示[/]（连续3个月关注、6个月提请支部审查；共 {len(flagged)} 人）：")
        for r in flagged:
            level = "提请支部审查" if r.level == "review" else "关注"
            console.print(f"  {r.org.removeprefix('图河镇党委/')} {r.member}{'（流动）' if r.mobile else ''}：{'；'.join(r.reasons)}（{level}）", soft_wrap=True)
    from compliance.report import assessments

    result = runs[-1]
    if folder is None:
        # A file named as a path or as a sqlite:/// URL (which went to a temporary folder: try-out); else a server's.
        url = store_mod.resolve_url(target)
        file = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        folder = Path(file).resolve().parent if file and file != ":memory:" else Path(tempfile.mkdtemp(prefix="compliance-demo-"))
    files = [str(p) for p in _write_bulletin(result, folder / "通报")]
    console.print()
    assessments.print_run(console, result, files)
    program = sys.argv[0] if Path(sys.argv[0]).name == "compliance" else "compliance"
    shown = shown_url(target) if "://" in target else target
    console.print(f"\n演示数据库保留在 {shown}，可继续查看，例如：", soft_wrap=True)
    console.print(f"  {program} --db {shown} status --org 朱庄村党总支/第一党支部 --as-of {day.isoformat()}", soft_wrap=True)
    if previous > DEMO_START:
        console.print(f"  {program} --db {shown} status --org 朱庄村党总支/第一党支部 --as-of {previous.isoformat()} "
                      f"--known-at {previous.isoformat()}  # {previous.month}月督查日所见", soft_wrap=True)
