"""Commands for supervision and assessment: supervise, score, deduct, sheets, the rectification ledger."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, Optional

import typer

from compliance.cli import (
    AS_OF_OPTION, FORMAT_OPTION, JOBS_OPTION, Format, _date_option, _id_argument, _rules, app, console, deduction_app, fails_cleanly,
    make_folder, rectify_app, session, sheet_app, jobs_count, workdays_notice,
)
from compliance import tracking
from compliance.access import SUPERVISORS, default_scope, deny, require_read, require_write
from compliance.errors import Cancelled, ComplianceError, InputError, NotFound, os_reason
from compliance.store.audit import LOCAL_ADMIN
from compliance.report import catalogs as catalog_report
from compliance.report.findings import write_csv


@app.command()
@fails_cleanly
def supervise(
    under: str = typer.Option(..., "--under", help="督查范围：乡镇党委等上级党组织。"),
    month: str = typer.Option(..., "--month", help="督查月份，如 2026-11 或 2026年11月。"),
    as_of: Optional[str] = typer.Option(None, "--as-of", help="督查日期，须在督查月份内且不晚于今天；默认今天，过去的月份为该月最后一天。"),
    out: Optional[Path] = typer.Option(None, "--out", help="通报输出目录（Markdown、XLSX、DOCX、PNG）。"),
    publish: bool = typer.Option(False, "--publish", help="发布并冻结本次督查；之后再运行为新版本。"),
    fmt: Format = FORMAT_OPTION,
    jobs: int = JOBS_OPTION,
) -> None:
    """每月督查：检查范围内各党组织，保存快照，建立和销号整改台账，生成通报。"""
    from rich.progress import Progress

    from compliance.report import assessments
    from compliance.supervision import early_notice, moved_notice, supervise as run_supervision

    store, actor = session()
    require_write(store, actor, "supervise", [tracking.org_path(store, under)], SUPERVISORS)
    day = _date_option(as_of, "--as-of")
    if day is not None and day > store.today():
        # A run is the record of a check: its ledger items would be gaps that have not happened yet.
        raise InputError(f"--as-of：督查日期「{day.isoformat()}」晚于今天（{store.today().isoformat()}），督查只能检查已经发生的情况")
    made = out is not None and not out.exists()
    if out is not None:
        check_writable(out)
    workbook: list[Any] = []      # the bulletin's XLSX, begun in another process once the run is saved
    saved_runs: list[Any] = []

    def saved(scope: Any, paths: dict[int, str], run: Any) -> None:
        saved_runs.append(run)
        if out is not None and jobs_count(jobs) > 1:
            from compliance.report.bulletin import LedgerXlsx, bulletin_stem

            workbook.append(LedgerXlsx.start(store, out / f"{bulletin_stem(scope.name, run)}.xlsx", scope.path, paths, run))

    try:
        if fmt is Format.table:
            # Refreshed by hand, not by rich's own thread: worker processes are forked during the run.
            # Not on a pipe or a file: there it left only a blank first line.
            with Progress(console=console, transient=True, auto_refresh=False, disable=not console.is_terminal) as bar:
                task = bar.add_task("正在检查各党组织…", total=None)
                result = run_supervision(store, _rules(), under, month, day, publish, jobs=jobs_count(jobs), saved=saved,
                                         progress=lambda done, total: bar.update(task, completed=done, total=total, refresh=True))
        else:
            result = run_supervision(store, _rules(), under, month, day, publish, jobs=jobs_count(jobs), saved=saved)
        files = [str(p) for p in _write_bulletin(result, out, workbook[0] if workbook else None)] if out else []
    except (KeyboardInterrupt, ComplianceError) as exc:
        if made:
            _remove_if_empty(out)
        if not saved_runs:
            raise       # nothing was saved
        # Saved, the run stood with a bulletin half written, or none, and nothing said so (try-out): a full disk said
        # 无法写入 alone.
        run = saved_runs[-1]
        saved = (f"{run.month} 督查结果已保存（第{run.revision}版）" + ("，通报未写出" if out else "") + "；再次运行同一命令即可"
                 + ("写出通报" if out else "查看结果") + "（结果相同时不会重复保存）")
        if isinstance(exc, KeyboardInterrupt):
            raise Cancelled(f"已取消：{saved}") from None
        exc.args = (f"{exc}。{saved}", *exc.args[1:])
        raise
    finally:
        if workbook and workbook[0] is not None:
            workbook[0].close()
    notices = [n for n in (early_notice(result.run.as_of), moved_notice(store, result)) if n]
    workdays_notice(tracking.year_start(result.run.as_of), result.run.as_of, actor, store)
    if fmt is Format.json:
        sys.stdout.write(json.dumps({**assessments.run_dict(result, files), "warnings": notices},
                                    ensure_ascii=False, indent=2) + "\n")
    elif fmt is Format.csv:
        write_csv(result.snapshot.gaps(), sys.stdout)
        for notice in notices:
            sys.stderr.write(f"提示：{notice}\n")
    else:
        assessments.print_run(console, result, files)
        for notice in notices:
            console.print(f"提示：{notice}", style="yellow", markup=False, soft_wrap=True)
        if publish and out is None:
            # Files a draft run wrote before still said （草稿） once it was published, and nothing said so (try-out).
            console.print("提示：已发布，但没有写出通报文件；此前写出的草稿通报仍标为（草稿），请加 --out 目录 再运行一次写出发布的通报"
                          "（结果相同时不会重复保存）", style="yellow", markup=False, soft_wrap=True)


def _remove_if_empty(folder: Path | None) -> None:
    """Remove `folder` (made by this command) when nothing is in it."""
    try:
        if folder is not None and not any(folder.iterdir()):
            folder.rmdir()
    except OSError:
        pass


def check_writable(out: Path) -> None:
    """Fail before a run is saved (and perhaps published) when its bulletin could not be written."""
    try:
        make_folder(out)
        probe = out / ".compliance-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise InputError(f"--out：无法写入 {out}：{os_reason(exc)}") from None


def _write_scores(scores: list[Any], warnings: list[str], out: Path, root: str, period: str, day: date) -> list[Path]:
    """Write the period's score files into `out`, each branch named below `root` as the table names it, as of `day`."""
    from compliance.report.scoresheets import write_scores
    from compliance.report.tables import shown_path

    rules = _rules()
    titles = {name: sheet.title for name, sheet in rules.sheets.sheets.items()}
    try:
        return write_scores(scores, warnings, out, root, period, day, titles, lambda path: shown_path(path, root))
    except OSError as exc:
        raise InputError(f"--out：无法写入 {out}：{os_reason(exc)}") from None


def _write_bulletin(result: Any, out: Path, xlsx: Any = None) -> list[Path]:
    from compliance.report.bulletin import write_bulletin

    try:
        return write_bulletin(result, out, xlsx)
    except OSError as exc:
        raise InputError(f"--out：无法写入 {out}：{os_reason(exc)}") from None


@app.command()
@fails_cleanly
def score(
    under: Optional[str] = typer.Option(None, "--under", help="考核范围：乡镇党委等上级党组织；默认为操作用户的范围。"),
    period: str = typer.Option(..., "--period", help="考核周期：2026-Q3、2026-H1 或 2026。"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="评分表（默认按规则集或领域选择）；只为某些领域指定的写作 "
                                        "领域=评分表，如 机关=village-2020（多个用逗号分开）。"),
    as_of: Optional[str] = AS_OF_OPTION,
    fmt: Format = FORMAT_OPTION,
    jobs: int = JOBS_OPTION,
    out: Optional[Path] = typer.Option(None, "--out", help="得分表输出目录：XLSX（得分汇总、得分明细）和每个党支部一页的 DOCX 得分表（留有签字栏），可打印。"),
) -> None:
    """考核打分：各党支部按评分表得分、等次、合格与否和乡镇内排名，并检查等次比例。"""
    from compliance.assessment import judged_day, score_scope
    from compliance.report import assessments

    store, actor = session()
    # A branch secretary's own score needed --under, where status takes her branch (county try-out).
    under = default_scope(actor, under)
    if under is None:
        raise InputError("--under：请指明考核范围，如乡镇党委（县级用户和本地管理员没有默认范围）")
    root = tracking.org_path(store, under)
    require_read(store, actor, root)
    made = out is not None and not out.exists()
    if out is not None:
        check_writable(out)
    day = _date_option(as_of, "--as-of")
    try:
        scores, warnings = score_scope(store, _rules(), under, period, sheet, day, jobs_count(jobs))
        files = _write_scores(scores, warnings, out, root, period.strip(), judged_day(period.strip(), day, store.today())) \
            if out is not None else []
    except BaseException:
        if made:
            _remove_if_empty(out)       # a folder left empty by a scope that could not be scored (review)
        raise
    skipped = ""
    if out is not None and len(files) == 1:
        from compliance.report.scoresheets import DOCX_BRANCHES

        skipped = (f"党支部超过 {DOCX_BRANCHES} 个，没有写出每个党支部一页的 DOCX 得分表；"
                   "各党支部的得分表见 XLSX 的「得分明细」，或按乡镇分别导出")
    if fmt is Format.table:
        assessments.print_scores(console, scores, warnings, root)
        for path in files:
            console.print(f"  已写出 {path}", markup=False, soft_wrap=True)
        if skipped:
            console.print(f"提示：{skipped}", style="yellow", markup=False, soft_wrap=True)
        return
    rows = (assessments.score_dict(s) for s in scores)
    if fmt is Format.json:
        assessments.emit_json({"scores": rows, "warnings": warnings, **({"files": [str(p) for p in files]} if out else {})})
    else:
        assessments.emit_rows(({**row, "vetoes": "；".join(row["vetoes"])} for row in rows), "csv", assessments.SCORE_HEADINGS)
        # A file sent upward from the CSV alone said nothing of a period not over, the quotas or the branches left
        # unscored (try-out): said where the table says them.
        for w in warnings:
            sys.stderr.write(f"提醒：{w}\n")
        for path in files:
            sys.stderr.write(f"已写出 {path}\n")
    if skipped:
        sys.stderr.write(f"提示：{skipped}\n")


@app.command()
@fails_cleanly
def deduct(
    org: str = typer.Option(..., "--org", help="被考核的党组织。"),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="评分表名称，如 village-2020；默认为 score 考核该党组织所用的评分表。"),
    period: str = typer.Option(..., "--period", help="考核周期：2026-Q3、2026-H1 或 2026。"),
    reason: str = typer.Option(..., "--reason", help="扣分原因。"),
    item: Optional[str] = typer.Option(None, "--item", help="评分表条目编号，如 二.2。"),
    points: Optional[float] = typer.Option(None, "--points", help="扣分数。"),
    veto: Optional[str] = typer.Option(None, "--veto", help="一票否决情形：评分表上的文字或代码，如 党支部书记缺职 或 secretary_vacant。"),
    self_assessed: bool = typer.Option(False, "--self", help="党支部自评扣分（有自评分的评分表，如 wujin-2016）。"),
) -> None:
    """登记检查组的人工扣分（或一票否决情形）。"""
    from compliance.assessment import add_deduction, deduction_notes, own_sheet

    if (item is None) == (veto is None):
        raise InputError("请给出 --item 和 --points（扣分），或 --veto（否决情形），二者选一")
    store, actor = session()
    # A branch enters its own self-assessment (自评分); the assessors' deductions are theirs.
    require_write(store, actor, "deduct", [tracking.org_path(store, org)], () if self_assessed else SUPERVISORS)
    own = own_sheet(store, _rules(), org)
    if sheet is None:
        # `score` picks a branch's sheet itself; `deduct` made the assessor name it (county try-out).
        if own is None:
            raise InputError(f"--sheet：「{tracking.org_path(store, org)}」没有按领域或规则集适用的评分表，请用 --sheet 指定（sheet list 可查看）")
        sheet = own
    deduction_id = add_deduction(store, _rules(), org, sheet, item, veto, period, points, reason, self_assessed)
    # The sheet it counts on, given or taken: a deduction on the branch's own sheet did not count in a score made with
    # --sheet 农村=grid-2023, and nothing named the sheet (review).
    console.print(f"已登记：编号 {deduction_id}（评分表 {sheet.strip()}，只计入按此评分表的得分）")
    for note in deduction_notes(store, _rules(), deduction_id):
        console.print(note, style="yellow", markup=False, soft_wrap=True)
    shape = period.strip()
    if not shape.isdigit():
        # Each period is scored on its own entries: a quarter's deduction was left out of the half year's and the year's
        # scores without a word (try-out).
        wider = "半年和年度" if shape[5:6].upper() == "Q" else "年度"
        console.print(f"提示：这条{'否决' if veto else '扣分'}只计入考核周期 {shape} 的得分，不计入{wider}考核；"
                      f"{wider}考核也应{'否决' if veto else '扣分'}的，请以相应的 --period 另行登记",
                      style="yellow", markup=False, soft_wrap=True)
    if own is not None and own != sheet.strip():
        console.print(f"提示：「{tracking.org_path(store, org)}」按评分表 {own} 考核，这条扣分只在 score --sheet {sheet.strip()} 时计入",
                      style="yellow", markup=False, soft_wrap=True)


DEDUCTION_HEADINGS = {"id": "编号", "org": "党组织", "period": "考核周期", "sheet": "评分表", "item": "条目", "veto": "一票否决",
                      "points": "扣分", "reason": "原因", "self": "自评", "entered": "登记时间", "entered_by": "登记人",
                      "voided": "撤销时间", "void_reason": "撤销原因"}


def _listed_scope(store: Any, actor: Any, under: str | None) -> tuple[Any, Any, list[int] | None]:
    """Return what a listing of the ledger or the deductions covers: the index, the scope asked for (else the actor's own, else
    everything: None) and its organizations' ids (None for everything), once the actor may read it."""
    under = default_scope(actor, under)
    index = store.index_around(under)
    root = index.resolve(under) if under else None
    if root:
        require_read(store, actor, root.path)
    return index, root, [o.id for o in index.subtree(root)] if root else None


@deduction_app.command("list")
@fails_cleanly
def deduction_list(
    under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
    period: Optional[str] = typer.Option(None, "--period", help="只看此考核周期，如 2026-Q3。"),
    all_: bool = typer.Option(False, "--all", help="也列出已撤销的扣分（撤销时间和原因）。"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """列出登记的人工扣分和否决情形及其编号、登记人（--all 连同已撤销的）。"""
    from compliance.assessment import VETO_PREFIX, period_bounds, veto_text
    from compliance.report import assessments
    from compliance.report.tables import shown_path, titled_table
    from compliance.store import TZ

    if period is not None:
        period_bounds(period)
    store, actor = session()
    index, root, ids = _listed_scope(store, actor, under)
    found = store.list_deductions(ids, period, voided=all_)
    # Who entered each, from the log: an assessor asked who had deducted what, and the listing did not say (county try-out).
    by = store.done_by_each("deduct", "deduction", [d["id"] for d in found])
    # A veto takes no points: it fails the branch whatever its score (null in JSON, blank in CSV; it was 0).
    rows = [{"id": d["id"], "org": index.by_id[d["org_id"]].path, "period": d["period"], "sheet": d["sheet"],
             "item": "否决：" + veto_text(_rules(), d["sheet"], d["item"]) if (veto := d["item"].startswith(VETO_PREFIX)) else d["item"],
             "veto": veto, "points": None if veto else d["points"], "reason": d["reason"], "self": bool(d["self_assessed"]),
             "entered": d["created_at"].astimezone(TZ).isoformat(timespec="seconds"), "entered_by": by.get(str(d["id"])),
             "voided": d["voided_at"].astimezone(TZ).isoformat(timespec="seconds") if d["voided_at"] else None,
             "void_reason": d["void_reason"]}
            for d in found]
    if fmt is not Format.table:
        assessments.emit_rows(rows, fmt.value, DEDUCTION_HEADINGS)
        return
    if not rows:
        console.print("没有人工扣分。" if not all_ else "没有登记过人工扣分。")
        return
    table = titled_table("人工扣分", ("编号", "党组织", "考核周期", "评分表", "条目", "扣分", "原因", "登记人", *(("状态",) if all_ else ())),
                         whole=("编号", "考核周期", "评分表"))
    for r in rows:
        state = (f"已撤销（{r['voided'][:10]}，{r['void_reason']}）" if r["voided"] else "有效",) if all_ else ()
        table.add_row(str(r["id"]), shown_path(r["org"], root.path if root else None), r["period"], r["sheet"], r["item"],
                      "—" if r["veto"] else f"{r['points']:g}" + ("（自评）" if r["self"] else ""), r["reason"],
                      r["entered_by"] or "—", *state)
    console.print(table)


@deduction_app.command("void")
@fails_cleanly
def deduction_void(
    deduction_id_text: str = typer.Argument(..., metavar="ID", help="扣分编号（deduction list 可查）。"),
    reason: str = typer.Option(..., "--reason", help="撤销原因。"),
) -> None:
    """撤销一条登记错的人工扣分：记录保留并注明原因，不再计入得分。"""
    from compliance.assessment import VETO_PREFIX, veto_text
    from compliance.store import TZ

    deduction_id = _id_argument(deduction_id_text, "扣分编号")
    if not reason.strip():
        raise InputError("--reason：撤销须写明原因")
    store, actor = session()
    found = store.deduction(deduction_id)
    if found is None:
        raise NotFound(f"没有编号为 {deduction_id} 的扣分")
    # Who may enter it may withdraw it: the assessors theirs, a branch its own self-assessment.
    path = store.org_path(found["org_id"])
    require_write(store, actor, "void", [path], () if found["self_assessed"] else SUPERVISORS)
    entered = _entered_scope(store, deduction_id)
    if entered is not False and actor.role is not None and not (actor.scope is None or (entered is not None and actor.covers(entered))):
        # A township withdrew the county's veto of one of its branches (county try-out): a deduction is withdrawn at the
        # level that entered it, or above.
        # One the local administrator entered before there were users was said to be a county user's (try-out).
        by = store.done_by("deduct", "deduction", deduction_id) if entered is None else None
        level = ("本地管理员，设置用户之前登记，视同县级用户" if by == LOCAL_ADMIN else "县级用户") if entered is None else entered
        raise deny(store, actor, "void", f"{actor.describe()}无权撤销扣分 {deduction_id}：由上级"
                   f"（{level}）登记，须由登记的一级或其上级撤销", [path])
    if not store.void_deduction(deduction_id, reason.strip()):
        again = store.deduction(deduction_id) or found
        raise InputError(f"扣分 {deduction_id} 已于 {again['voided_at'].astimezone(TZ):%Y-%m-%d} 撤销（{again['void_reason']}），未重复撤销")
    item = ("否决：" + veto_text(_rules(), found["sheet"], found["item"])) if found["item"].startswith(VETO_PREFIX) \
        else f"{found['item']}，{found['points']:g} 分"
    console.print(f"已撤销：扣分 {deduction_id}（{found['period']} {found['sheet']} {item}）")


def _entered_scope(store: Any, deduction_id: int) -> str | None | bool:
    """Return the scope of the user who entered a deduction: None for a county user or the local administrator, False when no
    user is known (entered by a name no longer listed, or with no entry in the log)."""
    name = store.done_by("deduct", "deduction", deduction_id)
    if name == LOCAL_ADMIN:
        # Before there were users: the first user is a county user, and so the administrator was the county (review).
        return None
    user = next((u for u in store.users() if u.name == name), None) if name else None
    if user is None:
        return False
    return None if user.role == "county" else store.org_path(user.org_id)


@sheet_app.command("list")
@fails_cleanly
def sheet_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有评分表及其分值。"""
    rules = _rules()
    rows = [{"name": s.name, "title": s.title, "sectors": "、".join(s.sectors), "total": s.total, "items": s.max_points,
             "bar": s.bar, "warnings": len(rules.sheets.warnings[s.name])} for s in sorted(rules.sheets.sheets.values(), key=lambda s: s.name)]
    catalog_report.print_sheets(console, rows, fmt.value)
    for sector in rules.sheets.shared if fmt is Format.table else ():
        console.print(f"提示：{rules.sheets.shared_text(sector)}", style="yellow", markup=False)


@sheet_app.command("show")
@fails_cleanly
def sheet_show(name: str = typer.Argument(..., metavar="名称", help="评分表名称，如 village-2020（sheet list 可查看）。"),
               fmt: Format = FORMAT_OPTION) -> None:
    """查看一个评分表：各部分和条目的编号、分值、自动扣分规则，一票否决情形，以及分值合计不符等提醒。"""
    rules = _rules()
    try:
        sheet = rules.sheet(name)
    except KeyError as exc:
        raise InputError(str(exc.args[0])) from None
    # Deductions name an item by its number (deduct --item 一.1): no command showed them, nor the warnings sheet list counted (try-out).
    catalog_report.print_sheet(console, sheet, rules.sheets.warnings[sheet.name], rules, fmt.value)


@sheet_app.command("check")
@fails_cleanly
def sheet_check(file: Path = typer.Argument(..., metavar="文件", help="评分表 TOML 文件。")) -> None:
    """检查一个评分表文件：有错时指出行号和原因；分值合计不符只提醒。"""
    from obligations.scoresheet import read_sheet

    if not file.is_file():
        # An installed sheet's name, given as a file, was only 文件不存在 (try-out).
        installed = f"；已安装的评分表请用 compliance sheet show {file} 查看" if str(file) in _rules().sheets.sheets else ""
        raise InputError(f"{file}：{'是文件夹，不是文件' if file.is_dir() else '文件不存在'}{installed}")
    sheet, warnings = read_sheet(file, set(_rules().kinds))
    for other in _rules().sheets.sheets.values():
        shared = [s for s in sheet.sectors if s in other.sectors]
        if shared and other.name != sheet.name:       # the same name: a new version of an installed sheet
            raise InputError(f"{file}：评分表 {sheet.name} 与已安装的 {other.name}（{other.path}）都按领域适用于{'、'.join(shared)}："
                             "一个领域只能有一份；只给部分党组织用的评分表请去掉 sectors，由其规则集的 default_sheet 或 score --sheet 选用")
    console.print(f"{file}：评分表 {sheet.name} 检查通过，共 {len(sheet.items)} 个条目，合计 {sheet.max_points:g} 分。")
    for w in warnings:
        console.print(f"[yellow]提醒：{w}[/]", soft_wrap=True)


@rectify_app.command("list")
@fails_cleanly
def rectify_list(
    under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
    only_open: bool = typer.Option(False, "--open", help="只看未销号的事项。"),
    overdue: bool = typer.Option(False, "--overdue", help="只看超期未销号的事项。"),
    opened: Optional[str] = typer.Option(None, "--opened", help="只看此月份列入台账的事项，如 2026-10。"),
    closed: Optional[str] = typer.Option(None, "--closed", help="只看此月份销号的事项，如 2026-11。"),
    obligation: Optional[list[str]] = typer.Option(None, "--obligation", help="只看这些事项（可重复），如 --obligation 支委会。"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """整改台账：组织、整改事项、整改措施、列入台账日期、整改时限、责任人、完成销号时间；超期未销号和逾期销号的标红。"""
    from compliance.report import assessments
    from compliance.store.runs import LedgerFilter
    from compliance.supervision import parse_month

    # 「十月督查的问题还有哪些没销号」, 「本月新增和销号的是哪些」 took a script over the CSV (supervision team's try-out).
    def month(text: str | None, option: str) -> tuple[date, date] | None:
        try:
            return None if text is None else parse_month(text)
        except InputError:
            raise InputError(f"{option}：值「{text}」不是月份（应写作 2026-10）") from None

    listed_in, closed_in = month(opened, "--opened"), month(closed, "--closed")
    if closed_in is not None and (only_open or overdue):
        raise InputError(f"--closed 与 {'--open' if only_open else '--overdue'} 不能同时使用：前者列出已销号的事项，后者只列未销号的")
    slugs = tracking.obligation_slugs(_rules(), obligation) if obligation else None
    store, actor = session()
    index, root, ids = _listed_scope(store, actor, under)
    today = store.today()
    # A dict per item only as it is written: a province's ledger is hundreds of thousands of items.
    # Chosen in SQL: a province's ledger is hundreds of thousands of items, read to print a few (review).
    narrow = LedgerFilter(listed_in, closed_in, slugs, today if overdue else None)
    rows = (assessments.rectification_dict(r, index.by_id[r.org_id].path, today) for r in store.rectifications(ids, only_open, narrow=narrow))
    if fmt is Format.table:
        assessments.print_ledger(console, list(rows), root.path if root else None)
    else:
        assessments.emit_rows(rows, fmt.value, assessments.RECTIFY_HEADINGS | ({"overdue": "超期", "closed_late": "逾期销号"} if fmt is Format.csv else {}))


def _ledger_item(item_id_text: str, action: str) -> tuple[Any, int, Any]:
    """Return the store, the id and the ledger item typed, once the acting user (乡镇 or 县, over its organization) may change it."""
    item_id = _id_argument(item_id_text, "整改事项编号")
    store, actor = session()
    item = store.rectification(item_id)
    if item is None:
        raise NotFound(f"没有编号为 {item_id} 的整改事项")
    require_write(store, actor, action, [store.org_path(item.org_id)], SUPERVISORS)
    return store, item_id, item


@rectify_app.command("close")
@fails_cleanly
def rectify_close(
    item_id_text: str = typer.Argument(..., metavar="ID", help="整改事项编号。"),
    note: str = typer.Option(..., "--note", help="销号说明（回头看核实情况）。"),
    on: Optional[str] = typer.Option(None, "--on", help="销号日期（默认今天）。"),
) -> None:
    """回头看核实后，手工销号一项整改事项。"""
    if not note.strip():
        raise InputError("--note：销号须写明说明")
    from compliance.membership import REASON_LIMIT

    if len(note.strip()) > REASON_LIMIT:
        # As the other reasons: the bulletin's workbook cut a cell past 32,767 characters without a word (review).
        raise InputError(f"--note：销号说明最多 {REASON_LIMIT} 字（现为 {len(note.strip())} 字）")
    store, item_id, item = _ledger_item(item_id_text, "rectify_close")
    day = _date_option(on, "--on") or store.today()
    # An item opened again keeps the day it was first listed: a closing dated before the reopening showed the gap rectified
    # before the run found it again (review).
    reopened = store.reopened_on(item_id)
    if reopened is not None and reopened > item.opened_on:
        if not reopened <= day <= store.today():
            raise InputError(f"--on：值「{day.isoformat()}」应在重新打开日期 {reopened.isoformat()} 与今天之间")
    elif not item.opened_on <= day <= store.today():
        raise InputError(f"--on：值「{day.isoformat()}」应在开立日期 {item.opened_on.isoformat()} 与今天之间")
    row = store.close_rectification(item_id, note.strip(), day)
    if row is None:
        raise NotFound(f"没有编号为 {item_id} 的整改事项")
    if row.close_note != note.strip() or row.closed_on != day:
        raise InputError(f"整改事项 {item_id} 已于 {row.closed_on} 销号（{row.close_note}），未重复销号")
    console.print(f"已销号：整改事项 {item_id}（{row.matter}），{day.isoformat()}", markup=False)


@rectify_app.command("add")
@fails_cleanly
def rectify_add(
    org: str = typer.Option(..., "--org", help="党组织：代码、路径或唯一名称。"),
    matter: str = typer.Option(..., "--matter", help="整改事项：检查发现的问题，如 会议记录不完整、公示栏未更新。"),
    measure: str = typer.Option(..., "--measure", help="整改措施。"),
    deadline_text: Optional[str] = typer.Option(None, "--deadline", help="整改时限（默认发现次月的月底）。"),
    responsible: Optional[str] = typer.Option(None, "--responsible", help="责任人（默认该党组织书记）。"),
    on: Optional[str] = typer.Option(None, "--on", help="发现日期（默认今天），即列入整改台账的日期。"),
) -> None:
    """登记督查中现场发现的问题为整改事项（不是日历上的缺项）：列入整改台账和通报，回头看核实后用 rectify close 销号。"""
    from obligations.cadence import next_month_end

    texts = {"--matter": matter.strip(), "--measure": measure.strip(), "--responsible": (responsible or "").strip()}
    for option, text in texts.items():
        if option != "--responsible" and not text:
            raise InputError(f"{option}：不能为空")
        if len(text) > (100 if option == "--responsible" else 500):
            raise InputError(f"{option}：不能超过{100 if option == '--responsible' else 500}个字（现有 {len(text)} 个）")
    store, actor = session()
    index = store.index_around(org)
    found = index.resolve(org)
    require_write(store, actor, "rectify_add", [found.path], SUPERVISORS)
    today = store.today()
    # Found on a visit and entered some days later: a November visit entered in December belongs to November's ledger.
    found_on = _date_option(on, "--on") or today
    if found_on > today:
        raise InputError(f"--on：值「{on}」晚于今天（{today.isoformat()}）")
    # Found while the organization was there and tracked: 1921-07-01 made an item 超期 in every bulletin after (review).
    starts = index.starts_of(found)
    if starts is not None and found_on < starts:
        raise InputError(f"--on：值「{found_on.isoformat()}」早于「{found.path}」成立或启用跟踪的日期（{starts.isoformat()}）")
    if found.dissolved is not None and found_on > found.dissolved:
        raise InputError(f"--on：值「{found_on.isoformat()}」晚于「{found.path}」撤销的日期（{found.dissolved.isoformat()}）")
    deadline = _date_option(deadline_text, "--deadline") or next_month_end(found_on.replace(day=1))
    if deadline < found_on:
        raise InputError(f"--deadline：值「{deadline_text}」早于发现日期（{found_on.isoformat()}）")
    from compliance.supervision import responsible_of

    who = texts["--responsible"] or responsible_of(found)       # as a run's item names it
    row = store.add_rectification(found.id, texts["--matter"], texts["--measure"], deadline, who, found_on)
    console.print(f"已登记整改事项 {row.id}：{found.path} {row.matter}；整改措施：{row.measure}；"
                  f"整改时限 {row.deadline.isoformat()}，责任人 {row.responsible}", soft_wrap=True, markup=False)
    if deadline < today:
        console.print(f"提示：整改时限 {deadline.isoformat()} 已过，台账将显示为超期未销号", style="yellow", markup=False)


@rectify_app.command("reopen")
@fails_cleanly
def rectify_reopen(
    item_id_text: str = typer.Argument(..., metavar="ID", help="整改事项编号。"),
    reason: str = typer.Option(..., "--reason", help="恢复原因（如 回头看发现未整改到位、误销号）。"),
    deadline_text: Optional[str] = typer.Option(None, "--deadline", help="新的整改时限（默认沿用原时限）。"),
) -> None:
    """撤销手工销号：误销号或回头看发现未整改到位的事项恢复为未销号；原销号情况记入审计日志。"""
    from compliance.store.runs import AUTO_NOTES

    if not reason.strip():
        raise InputError("--reason：撤销销号须写明原因")
    store, item_id, item = _ledger_item(item_id_text, "rectify_reopen")
    if item.closed_on is None:
        raise InputError(f"整改事项 {item_id} 尚未销号，无需撤销")
    if item.close_note in AUTO_NOTES:
        raise InputError(f"整改事项 {item_id} 是督查时自动销号的（{item.close_note}）：所依据的记录更正或作废、免除撤销后，"
                         "下次督查会自动重新打开，无需手工撤销")
    deadline = _date_option(deadline_text, "--deadline")
    today = store.today()
    if deadline is not None and deadline < today:
        raise InputError(f"--deadline：值「{deadline_text}」早于今天（{today.isoformat()}）")
    row = store.reopen_rectification(item_id, reason.strip(), deadline)
    if row is None:
        raise NotFound(f"没有编号为 {item_id} 的整改事项")
    if row.closed_on is not None:
        raise InputError(f"整改事项 {item_id} 已于 {row.closed_on} 另行销号（{row.close_note}），未撤销")
    console.print(f"已撤销销号：整改事项 {item_id}（{row.matter}），原于 {item.closed_on.isoformat()} 销号（{item.close_note}），"
                  f"整改时限 {row.deadline.isoformat()}", soft_wrap=True, markup=False)
    if row.deadline < today:
        console.print(f"提示：整改时限 {row.deadline.isoformat()} 已过，台账将显示为超期未销号；可用 --deadline 另定整改时限",
                      style="yellow", soft_wrap=True, markup=False)
