"""`compliance demo`: the sample township in a temporary database, with its bulletin."""

from __future__ import annotations

import shutil
import sys
import tempfile
from datetime import date, timedelta
from operator import attrgetter
from pathlib import Path
from typing import Optional

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
from obligations.paths import data_dir

DEMO_AS_OF = date(2026, 11, 25)


@app.command()
@fails_cleanly
def demo(as_of: Optional[str] = typer.Option(None, "--as-of", help=f"按此日期判断（默认 {DEMO_AS_OF.isoformat()}，演示数据的督查日）。"),
         fmt: Format = FORMAT_OPTION) -> None:
    """载入示例乡镇（图河镇），列出逾期与待办事项，并完成一次月度督查、生成通报。

    默认用临时 SQLite 数据库；给出 --db 时载入该数据库（须为空库，如新建的 PostgreSQL 数据库）。
    """
    day = _date_option(as_of, "--as-of") or DEMO_AS_OF
    folder = Path(tempfile.mkdtemp(prefix="compliance-demo-"))
    target = state.db or str(folder / "demo.db")
    store = store_mod.Store(store_mod.resolve_url(target))
    store.upgrade()
    if store.orgs() or store.users():
        raise InputError(f"数据库 {store.url} 已有党组织或用户：演示只载入空数据库")
    store.set_setting("default_catalog", "tuhe-2021")
    rules = _rules()
    demo_dir = data_dir() / "demo"
    importing.import_orgs(store, rules, demo_dir / "orgs.csv")
    importing.import_members(store, demo_dir / "members.csv")
    result = importing.import_records(store, rules, demo_dir / "records.csv")
    from compliance import membership

    membership.import_dues(store, demo_dir / "dues.csv")
    window = tracking.Window(date(day.year, 1, 1), day, day)
    findings = tracking.overdue(store, rules, None, window)
    if fmt is not Format.table:
        _emit(findings, fmt, "")
        shutil.rmtree(folder, ignore_errors=True)
        return
    console.print(f"[bold]示例：图河镇党委[/]（规则集 tuhe-2021，{result.added} 条记录，判断日期 {day.isoformat()}）")
    catalog_report.print_overdue_summary(console, findings, root="图河镇党委")
    print_findings(console, findings, f"图河镇党委 待办与逾期事项（截至 {day.isoformat()}）", root="图河镇党委", year=day.year)
    flagged = membership.member_watch(store, "图河镇党委", day, keep=attrgetter("level"))
    if flagged:
        console.print(f"\n[bold]党员六个月提示[/]（连续3个月关注、6个月提请支部审查；共 {len(flagged)} 人）：")
        for r in flagged:
            level = "提请支部审查" if r.level == "review" else "关注"
            console.print(f"  {r.org.removeprefix('图河镇党委/')} {r.member}{'（流动）' if r.mobile else ''}：{'；'.join(r.reasons)}（{level}）", soft_wrap=True)
    from compliance.report import assessments
    from compliance.supervision import supervise as run_supervision

    # Last month's run was published; this month's is compared with it.
    previous = (day.replace(day=1) - timedelta(days=1)).replace(day=25)
    run_supervision(store, rules, "图河镇党委", f"{previous:%Y-%m}", previous, publish=True)
    result = run_supervision(store, rules, "图河镇党委", f"{day:%Y-%m}", day)
    files = [str(p) for p in _write_bulletin(result, folder / "通报")]
    console.print()
    assessments.print_run(console, result, files)
    program = sys.argv[0] if Path(sys.argv[0]).name == "compliance" else "compliance"
    console.print(f"\n演示数据库保留在 {target}，可继续查看，例如：", soft_wrap=True)
    console.print(f"  {program} --db {target} status --org 朱庄村党总支/第一党支部 --as-of {day.isoformat()}", soft_wrap=True)
