"""The `compliance` command: parse, call one library function, render. The only place that exits."""

from __future__ import annotations

import functools
import json
import shutil
import sys
import tempfile
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console

from compliance import importing, store as store_mod, tracking
from compliance.orgs import OrgIndex
from compliance.report import catalogs as catalog_report
from compliance.errors import ComplianceError, InputError, NotFound
from compliance.report.findings import print_findings, to_csv, to_json
from compliance.tabular import CellError, parse_date
from obligations.catalog import CatalogError
from obligations.paths import data_dir
from obligations.rules import Rules, default_rules, load_rules

app = typer.Typer(help="基层党组织组织生活合规台账：三会一课、主题党日、固定学习日等按期提醒与督查。", no_args_is_help=True, add_completion=False)
org_app = typer.Typer(help="党组织：导入与列表。", no_args_is_help=True)
member_app = typer.Typer(help="党员花名册：导入。", no_args_is_help=True)
record_app = typer.Typer(help="会议与活动记录：导入。", no_args_is_help=True)
catalog_app = typer.Typer(help="规则集（执行规定）：列表、查看、检查。", no_args_is_help=True)
sheet_app = typer.Typer(help="考核评分表：列表、检查。", no_args_is_help=True)
rectify_app = typer.Typer(help="整改台账：列表、销号。", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(sheet_app, name="sheet")
app.add_typer(rectify_app, name="rectify")
app.add_typer(member_app, name="member")
app.add_typer(record_app, name="record")
app.add_typer(catalog_app, name="catalog")

console = Console()
DEMO_AS_OF = date(2026, 11, 25)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


# Options shared by the listing commands.
FORMAT_OPTION = typer.Option(Format.table, "--format", help="table（表格）、json 或 csv。")
AS_OF_OPTION = typer.Option(None, "--as-of", help="判断日期，默认今天。")
KNOWN_AT_OPTION = typer.Option(None, "--known-at", help="只看此前录入的记录，复现当时结果。")


class State:
    db: str | None = None


state = State()


def fails_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ComplianceError or CatalogError into a one-line message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ComplianceError as exc:
            typer.echo(f"错误：{exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (CatalogError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            typer.echo(f"错误：{message}", err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.callback()
def main_options(
    db: Optional[str] = typer.Option(None, "--db", help="数据库：SQLAlchemy URL 或 SQLite 文件路径；默认取 COMPLIANCE_DB，否则用户数据目录下的 compliance.db。"),
) -> None:
    state.db = db


def _rules() -> Rules:
    return default_rules()


def _date_option(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return parse_date(value)
    except CellError as exc:
        raise InputError(f"{option}：值「{value}」{exc}") from None


def _known_at(value: str | None) -> datetime | None:
    """Return --known-at as a wall-clock datetime; a bare date means the end of that day."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        day = _date_option(value, "--known-at")
        assert day is not None
        return datetime.combine(day, time(23, 59, 59), tzinfo=store_mod.TZ)
    if len(value) == 10:
        return datetime.combine(moment.date(), time(23, 59, 59), tzinfo=store_mod.TZ)
    return moment if moment.tzinfo else moment.replace(tzinfo=store_mod.TZ)


def _today() -> date:
    return datetime.now(store_mod.TZ).date()


def _emit(findings: list[Any], fmt: Format, title: str, show_org: bool = True, root: str | None = None,
          year: int | None = None) -> None:
    if fmt is Format.json:
        sys.stdout.write(to_json(findings) + "\n")
    elif fmt is Format.csv:
        sys.stdout.write(to_csv(findings))
    else:
        print_findings(console, findings, title, show_org, root, year)


@app.command()
@fails_cleanly
def init(catalog: str = typer.Option(tracking.DEFAULT_CATALOG, "--catalog", help="默认规则集（未指定执行规定的党组织使用）。")) -> None:
    """创建数据库或升级到最新结构（数据不丢失）。"""
    rules = _rules()
    rules.catalog(catalog)
    store = store_mod.open_store(state.db, must_exist=False)
    store.upgrade()
    store.set_setting("default_catalog", catalog)
    console.print(f"数据库已就绪：{store.url}（默认规则集：{catalog}）")


def _report_import(what: str, result: importing.ImportResult) -> None:
    console.print(f"{what}：新增 {result.added} 条，更新 {result.updated} 条，未变 {result.unchanged} 条。")


@org_app.command("import")
@fails_cleanly
def org_import(file: Path = typer.Argument(..., help="CSV 或 XLSX 文件。")) -> None:
    """导入党组织（列：名称、上级、类型、代码、领域、执行规定、成立日期、启用日期、书记、有支委会）。"""
    store = store_mod.open_store(state.db)
    _report_import("党组织", importing.import_orgs(store, _rules(), file))


@org_app.command("list")
@fails_cleanly
def org_list(under: Optional[str] = typer.Option(None, "--under", help="只列出此党组织及其下级。"),
             fmt: Format = FORMAT_OPTION) -> None:
    """列出党组织（路径、代码、类型、领域、执行规定）。"""
    store = store_mod.open_store(state.db)
    index = OrgIndex(store.orgs())
    orgs = index.subtree(index.resolve(under)) if under else sorted(index.by_id.values(), key=lambda o: o.path)
    catalog_report.print_orgs(console, index, orgs, tracking.default_catalog(store), fmt.value)


@member_app.command("import")
@fails_cleanly
def member_import(file: Path = typer.Argument(..., help="CSV 或 XLSX 文件。")) -> None:
    """导入党员（列：姓名、党组织、党小组、类别、流动党员、联系人、入党日期、出生日期、性别）。"""
    store = store_mod.open_store(state.db)
    _report_import("党员", importing.import_members(store, file))


@record_app.command("import")
@fails_cleanly
def record_import(file: Path = typer.Argument(..., help="CSV 或 XLSX 文件。")) -> None:
    """导入会议与活动记录；同一行再次导入不会重复，内容变化的行成为新版本。"""
    store = store_mod.open_store(state.db)
    _report_import("记录", importing.import_records(store, _rules(), file))


@app.command()
@fails_cleanly
def log(
    kind: str = typer.Argument(..., help="类型：名称或代码，如 党员大会、支委会、主题党日、固定学习日。"),
    org: str = typer.Option(..., "--org", help="党组织：代码、路径或唯一名称。"),
    held_on: str = typer.Option(..., "--date", help="召开日期，如 2026-11-10。"),
    expected: Optional[str] = typer.Option(None, "--expected", help="应到人数（党员大会为正式党员人数）。"),
    present: Optional[str] = typer.Option(None, "--present", help="实到人数。"),
    topic: Optional[str] = typer.Option(None, "--topic", help="主题。"),
    recorder: Optional[str] = typer.Option(None, "--recorder", help="记录人。"),
    secretary_signed: Optional[str] = typer.Option(None, "--secretary-signed", help="书记签字：是/否。"),
    recorder_signed: Optional[str] = typer.Option(None, "--recorder-signed", help="记录人签字：是/否。"),
    member: Optional[str] = typer.Option(None, "--member", help="党员（按人计的记录，如流动党员汇报）。"),
    group: Optional[str] = typer.Option(None, "--group", help="党小组（党小组会）。"),
    lecturer: Optional[str] = typer.Option(None, "--lecturer", help="主讲人（党课）。"),
    attendees: Optional[str] = typer.Option(None, "--attendees", help="参会人员，用顿号或逗号分隔。"),
    excused: Optional[str] = typer.Option(None, "--excused", help="请假人员。"),
    counterpart: Optional[str] = typer.Option(None, "--counterpart", help="谈话对象（谈心谈话）。"),
    hours: Optional[str] = typer.Option(None, "--hours", help="学时。"),
    photos: Optional[str] = typer.Option(None, "--photos", help="图片（文件名或链接）。"),
    recorded_on: Optional[str] = typer.Option(None, "--recorded-on", help="录入日期（补录纸质记录时填写）。"),
) -> None:
    """登记一条会议或活动记录。"""
    store = store_mod.open_store(state.db)
    values = {
        "org": org, "kind": kind, "date": held_on, "expected": expected, "present": present, "topic": topic,
        "recorder": recorder, "secretary_signed": secretary_signed, "recorder_signed": recorder_signed,
        "member": member, "group": group, "lecturer": lecturer, "attendees": attendees, "excused": excused,
        "counterpart": counterpart, "hours": hours, "photos": photos, "recorded_on": recorded_on,
    }
    result = importing.log_record(store, _rules(), values)
    if result.unchanged:
        console.print("这条记录已经登记过，未重复添加。")
    else:
        word = "已登记" if result.added else "已更新为新版本"
        console.print(f"{word}：记录编号 {result.ids[0]}")


@app.command()
@fails_cleanly
def status(
    org: str = typer.Option(..., "--org", help="党组织：代码、路径或唯一名称。"),
    year: Optional[int] = typer.Option(None, "--year", help="列出这一整年（含未开始的周期）。"),
    as_of: Optional[str] = AS_OF_OPTION,
    known_at: Optional[str] = KNOWN_AT_OPTION,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """一个党组织本年度到当前周期的各项完成情况。"""
    store = store_mod.open_store(state.db)
    day = _date_option(as_of, "--as-of") or _today()
    if year is not None and not 1900 < year < 3000:
        raise InputError(f"--year：值「{year}」不是有效年份")
    target = year or day.year
    last = day if year is None else date(target, 12, 31)
    window = tracking.Window(date(target, 1, 1), last, day, _known_at(known_at))
    path = tracking.org_path(store, org)
    findings = tracking.org_status(store, _rules(), org, window)
    _emit(findings, fmt, f"{path} 组织生活完成情况（截至 {day.isoformat()}）", show_org=False, year=target)


@app.command()
@fails_cleanly
def overdue(
    under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级（默认全部）。"),
    since: Optional[str] = typer.Option(None, "--since", help="从此日期起（默认当年1月1日）。"),
    as_of: Optional[str] = AS_OF_OPTION,
    known_at: Optional[str] = KNOWN_AT_OPTION,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """逾期未完成、无效和待完成的事项，最严重、最早的在前。"""
    store = store_mod.open_store(state.db)
    day = _date_option(as_of, "--as-of") or _today()
    first = _date_option(since, "--since") or date(day.year, 1, 1)
    if first > day:
        raise InputError(f"--since：值「{since}」晚于判断日期 {day.isoformat()}")
    findings = tracking.overdue(store, _rules(), under, tracking.Window(first, day, day, _known_at(known_at)))
    _emit(findings, fmt, f"{under or '全部'} 待办与逾期事项（截至 {day.isoformat()}）", root=under and tracking.org_path(store, under), year=day.year)


@catalog_app.command("list")
@fails_cleanly
def catalog_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有规则集。"""
    catalog_report.print_catalogs(console, _rules(), fmt.value)


@catalog_app.command("show")
@fails_cleanly
def catalog_show(name: str = typer.Argument(..., help="规则集名称，如 tuhe-2021。"),
                 fmt: Format = FORMAT_OPTION) -> None:
    """查看一个规则集的全部事项、周期、证据要求和出处。"""
    catalog_report.print_catalog(console, _rules().catalog(name), fmt.value)


@catalog_app.command("check")
@fails_cleanly
def catalog_check(file: Path = typer.Argument(..., help="规则集 TOML 文件。")) -> None:
    """检查一个规则集文件；有错时指出行号和原因。"""
    if not file.is_file():
        raise InputError(f"{file}: 文件不存在")
    from obligations.catalog import read_raw

    name = read_raw(file).data.get("name")
    rules = load_rules(extra_catalog=file)
    catalog = rules.catalog(name)
    console.print(f"{file}：规则集 {catalog.name} 检查通过，共 {len(catalog.obligations)} 项事项。")


@app.command()
@fails_cleanly
def demo(as_of: Optional[str] = typer.Option(None, "--as-of", help=f"按此日期判断（默认 {DEMO_AS_OF.isoformat()}，演示数据的督查日）。"),
         fmt: Format = FORMAT_OPTION) -> None:
    """在临时数据库中载入示例乡镇（图河镇），列出逾期与待办事项，并完成一次月度督查、生成通报。"""
    day = _date_option(as_of, "--as-of") or DEMO_AS_OF
    folder = Path(tempfile.mkdtemp(prefix="compliance-demo-"))
    db_path = folder / "demo.db"
    store = store_mod.Store(store_mod.resolve_url(str(db_path)))
    store.upgrade()
    store.set_setting("default_catalog", "tuhe-2021")
    rules = _rules()
    demo_dir = data_dir() / "demo"
    importing.import_orgs(store, rules, demo_dir / "orgs.csv")
    importing.import_members(store, demo_dir / "members.csv")
    result = importing.import_records(store, rules, demo_dir / "records.csv")
    window = tracking.Window(date(day.year, 1, 1), day, day)
    findings = tracking.overdue(store, rules, None, window)
    if fmt is not Format.table:
        _emit(findings, fmt, "")
        shutil.rmtree(folder, ignore_errors=True)
        return
    console.print(f"[bold]示例：图河镇党委[/]（规则集 tuhe-2021，{result.added} 条记录，判断日期 {day.isoformat()}）")
    catalog_report.print_overdue_summary(console, findings, root="图河镇党委")
    print_findings(console, findings, f"图河镇党委 待办与逾期事项（截至 {day.isoformat()}）", root="图河镇党委", year=day.year)
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
    console.print(f"\n演示数据库保留在 {db_path}，可继续查看，例如：", soft_wrap=True)
    console.print(f"  {program} --db {db_path} status --org 朱庄村党总支/第一党支部 --as-of {day.isoformat()}", soft_wrap=True)


@app.command()
@fails_cleanly
def supervise(
    under: str = typer.Option(..., "--under", help="督查范围：乡镇党委等上级党组织。"),
    month: str = typer.Option(..., "--month", help="督查月份，如 2026-11。"),
    as_of: Optional[str] = AS_OF_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", help="通报输出目录（Markdown、XLSX、DOCX、PNG）。"),
    publish: bool = typer.Option(False, "--publish", help="发布并冻结本次督查；之后再运行为新版本。"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """每月督查：检查范围内各党组织，保存快照，建立和销号整改台账，生成通报。"""
    from rich.progress import Progress

    from compliance.report import assessments
    from compliance.supervision import supervise as run_supervision

    store = store_mod.open_store(state.db)
    day = _date_option(as_of, "--as-of")
    if out is not None:
        _check_writable(out)
    if fmt is Format.table:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("正在检查各党组织…", total=None)
            result = run_supervision(store, _rules(), under, month, day, publish,
                                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        result = run_supervision(store, _rules(), under, month, day, publish)
    files = [str(p) for p in _write_bulletin(result, out)] if out else []
    if fmt is Format.json:
        sys.stdout.write(json.dumps(assessments.run_dict(result, files), ensure_ascii=False, indent=2) + "\n")
    elif fmt is Format.csv:
        sys.stdout.write(to_csv(result.gaps))
    else:
        assessments.print_run(console, result, files)


def _check_writable(out: Path) -> None:
    """Fail before a run is saved (and perhaps published) when its bulletin could not be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".compliance-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"--out：无法写入 {out}：{exc.strerror or exc}") from None


def _write_bulletin(result: Any, out: Path) -> list[Path]:
    from compliance.report.bulletin import write_bulletin

    try:
        return write_bulletin(result, out)
    except OSError as exc:
        raise InputError(f"--out：无法写入 {out}：{exc.strerror or exc}") from None


@app.command()
@fails_cleanly
def score(
    under: str = typer.Option(..., "--under", help="考核范围：乡镇党委等上级党组织。"),
    period: str = typer.Option(..., "--period", help="考核周期：2026-Q3、2026-H1 或 2026。"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="评分表（默认按规则集或领域选择）。"),
    as_of: Optional[str] = AS_OF_OPTION,
    fmt: Format = FORMAT_OPTION,
) -> None:
    """考核打分：各党支部按评分表得分、等次、合格与否和乡镇内排名，并检查等次比例。"""
    from compliance.assessment import score_scope
    from compliance.report import assessments

    store = store_mod.open_store(state.db)
    scores, warnings = score_scope(store, _rules(), under, period, sheet, _date_option(as_of, "--as-of"))
    if fmt is Format.table:
        assessments.print_scores(console, scores, warnings, tracking.org_path(store, under))
        return
    rows = [assessments.score_dict(s) for s in scores]
    if fmt is Format.json:
        sys.stdout.write(json.dumps({"scores": rows, "warnings": warnings}, ensure_ascii=False, indent=2) + "\n")
    else:
        assessments.emit_rows(rows, "csv", assessments.SCORE_HEADINGS)


@app.command()
@fails_cleanly
def deduct(
    org: str = typer.Option(..., "--org", help="被考核的党组织。"),
    sheet: str = typer.Option(..., "--sheet", help="评分表名称，如 village-2020。"),
    period: str = typer.Option(..., "--period", help="考核周期：2026-Q3、2026-H1 或 2026。"),
    reason: str = typer.Option(..., "--reason", help="扣分原因。"),
    item: Optional[str] = typer.Option(None, "--item", help="评分表条目编号，如 二.2。"),
    points: Optional[float] = typer.Option(None, "--points", help="扣分数。"),
    veto: Optional[str] = typer.Option(None, "--veto", help="一票否决情形，如 secretary_disciplined。"),
    self_assessed: bool = typer.Option(False, "--self", help="党支部自评扣分（有自评分的评分表，如 wujin-2016）。"),
) -> None:
    """登记检查组的人工扣分（或一票否决情形）。"""
    from compliance.assessment import add_deduction

    if (item is None) == (veto is None):
        raise InputError("请给出 --item 和 --points（扣分），或 --veto（否决情形），二者选一")
    store = store_mod.open_store(state.db)
    deduction_id = add_deduction(store, _rules(), org, sheet, item, veto, period, points, reason, self_assessed)
    console.print(f"已登记：编号 {deduction_id}")


@sheet_app.command("list")
@fails_cleanly
def sheet_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有评分表及其分值。"""
    rules = _rules()
    rows = [{"name": s.name, "title": s.title, "sectors": "、".join(s.sectors), "total": s.total, "items": s.max_points,
             "bar": s.bar, "warnings": len(rules.sheets.warnings[s.name])} for s in sorted(rules.sheets.sheets.values(), key=lambda s: s.name)]
    catalog_report.print_sheets(console, rows, fmt.value)


@sheet_app.command("check")
@fails_cleanly
def sheet_check(file: Path = typer.Argument(..., help="评分表 TOML 文件。")) -> None:
    """检查一个评分表文件：有错时指出行号和原因；分值合计不符只提醒。"""
    from obligations.scoresheet import read_sheet

    if not file.is_file():
        raise InputError(f"{file}：文件不存在")
    sheet, warnings = read_sheet(file, set(_rules().kinds))
    console.print(f"{file}：评分表 {sheet.name} 检查通过，共 {len(sheet.items)} 个条目，合计 {sheet.max_points:g} 分。")
    for w in warnings:
        console.print(f"[yellow]提醒：{w}[/]", soft_wrap=True)


@rectify_app.command("list")
@fails_cleanly
def rectify_list(
    under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
    only_open: bool = typer.Option(False, "--open", help="只看未销号的事项。"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """整改台账：组织、整改事项、整改措施、整改时限、责任人、完成销号时间；超期的标红。"""
    from compliance.report import assessments

    store = store_mod.open_store(state.db)
    index = OrgIndex(store.orgs())
    root = index.resolve(under) if under else None
    ids = [o.id for o in index.subtree(root)] if root else None
    today = store.today()
    rows = [assessments.rectification_dict(r, index.by_id[r.org_id].path, today) for r in store.rectifications(ids, only_open)]
    if fmt is Format.table:
        assessments.print_ledger(console, rows, root.path if root else None)
    else:
        assessments.emit_rows(rows, fmt.value, assessments.RECTIFY_HEADINGS | ({"overdue": "超期"} if fmt is Format.csv else {}))


@rectify_app.command("close")
@fails_cleanly
def rectify_close(
    item_id: int = typer.Argument(..., help="整改事项编号。"),
    note: str = typer.Option(..., "--note", help="销号说明（回头看核实情况）。"),
    on: Optional[str] = typer.Option(None, "--on", help="销号日期（默认今天）。"),
) -> None:
    """回头看核实后，手工销号一项整改事项。"""
    store = store_mod.open_store(state.db)
    if not note.strip():
        raise InputError("--note：销号须写明说明")
    day = _date_option(on, "--on") or store.today()
    row = store.close_rectification(item_id, note.strip(), day)
    if row is None:
        raise NotFound(f"没有编号为 {item_id} 的整改事项")
    if row.close_note != note.strip() or row.closed_on != day:
        raise InputError(f"整改事项 {item_id} 已于 {row.closed_on} 销号（{row.close_note}），未重复销号")
    console.print(f"已销号：整改事项 {item_id}（{row.matter}），{day.isoformat()}")


def main() -> None:
    """Entry point of the console script."""
    app()
