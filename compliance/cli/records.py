"""Commands for the everyday records: init, imports, log, status, overdue, catalogs."""

from __future__ import annotations

import re
import sys
from datetime import date
from enum import Enum
from pathlib import Path
from itertools import groupby
from operator import attrgetter
from typing import Any, Callable, Optional, Sequence

import typer

from compliance.cli import (
    AS_OF_OPTION, FORMAT_OPTION, JOBS_OPTION, KNOWN_AT_OPTION, SHEET_OPTION, Format, _as_of_option, _date_option, _emit, _known_at, _rules, as_of_words,
    ORG_HELP, jobs_count, known_at_alone, known_before_records, orgs_named, own_org, say_skipped,
    workdays_notice,
    app, catalog_app, console, fails_cleanly, member_app, org_app, record_app, session, state,
)
from compliance.access import Actor, default_scope, require_administrator, require_read
from compliance import importing, store as store_mod, tracking
from compliance.errors import InputError
from compliance.evaluate import path_order
from compliance.orgs import OrgIndex, OrgRow
from compliance.report import catalogs as catalog_report
from compliance.report import tables
from compliance.report.labels import FLAG_LABELS, STATUS_LABELS, a_meeting as _a_meeting
from compliance.report.assessments import emit_rows
from compliance.report.tables import titled_table
from compliance.report.findings import (JSON_END, binary_out, csv_encoder, evidence_key, json_encoder, print_counts, write_csv_bytes,
                                        write_json_bytes)
from obligations.cadence import month_end, parse_period_key
from obligations.paths import example_file
from obligations.rules import load_rules


@app.command()
@fails_cleanly
def init(catalog: Optional[str] = typer.Option(None, "--catalog", help=f"默认规则集（未指定执行规定的党组织使用；新建时默认 {tracking.DEFAULT_CATALOG}，升级时不变）。"),
         watch_months: Optional[int] = typer.Option(None, "--watch-months", help="连续几个月未参加组织生活或未交党费即列为“关注”（默认3；满6个月提请支部审查）。"),
         dues_advance_months: Optional[int] = typer.Option(None, "--dues-advance-months", help="预交党费最多可覆盖今后几个月（默认6）。")) -> None:
    """创建数据库或升级到最新结构（数据不丢失）。"""
    rules = _rules()
    if catalog is not None:
        rules.catalog(catalog)
    if watch_months is not None and not 1 <= watch_months <= 5:
        raise InputError(f"--watch-months：须是1到5之间的整数（值：{watch_months}）")
    if dues_advance_months is not None and not 0 <= dues_advance_months <= 12:
        raise InputError(f"--dues-advance-months：须是0到12之间的整数（值：{dues_advance_months}）")
    store_mod.open_store(state.db, must_exist=False).upgrade()
    store, actor = session()
    require_administrator(store, actor, "init")
    # Upgrading without --catalog keeps the rule set chosen before: every organization without
    # rules of its own follows it.
    chosen = catalog is None and store.setting("default_catalog") is None     # a new database given no --catalog
    if catalog is not None or chosen:
        store.set_setting("default_catalog", catalog or tracking.DEFAULT_CATALOG)
    if watch_months is not None:
        store.set_setting("watch_months", str(watch_months))
    if dues_advance_months is not None:
        store.set_setting("dues_advance_months", str(dues_advance_months))
    console.print(f"数据库已就绪：{store_mod.shown_url(store.url)}（默认规则集：{tracking.default_catalog(store)}；满{tracking.watch_months(store)}个月列为关注）")
    if chosen:
        # The national baseline was taken without a word of the local rule sets, nor of how to choose one (clerk's try-out).
        console.print(f"提示：未用 --catalog 指定，默认规则集为全国基线 {tracking.DEFAULT_CATALOG}；本地的规则集见 compliance catalog list，"
                      "可用 compliance init --catalog 名称 更改（各党组织也可在组织文件的「执行规定」列各自指定）",
                      style="yellow", markup=False, soft_wrap=True)


def _report_import(what: str, result: importing.ImportResult) -> None:
    # A workbook's sheet is named: the one read among several may not be the one meant.
    sheet = f"（{result.where}）" if "「" in result.where else ""
    console.print(f"{what}{sheet}：新增 {result.added} 条，更新 {result.updated} 条，未变 {result.unchanged} 条。", markup=False)
    say_skipped(result.skipped)
    if result.title_year is not None:
        # Said whether or not a day lacked its year: the rows may have been checked in another process.
        console.print(f"标题「{result.title_year[1]}」：日期没有写年份的（如 9月10日），按 {result.title_year[0]} 年。",
                      markup=False, soft_wrap=True)
    if result.repeated:
        shown = "，".join(f"第{row}行同第{earlier}行" for row, earlier in result.repeated_rows)
        console.print(f"提示：文件中有 {result.repeated} 行与前面的行是同一条记录（党组织、类型、日期、党小组、党员、主题相同，"
                      f"内容也相同），只导入一次：{shown}{'等' if result.repeated > len(result.repeated_rows) else ''}。",
                      style="yellow", markup=False, soft_wrap=True)


@org_app.command("import")
@fails_cleanly
def org_import(file: Path = typer.Argument(..., metavar="文件", help="CSV 或 XLSX 文件。"), sheet: Optional[str] = SHEET_OPTION) -> None:
    """导入党组织（列：名称、上级、类型、代码、领域、执行规定、成立日期、启用日期、书记、有支委会、撤销日期、编号）。"""
    from compliance.orgs import OrgIndex, dissolved_apart

    store, actor = session()
    earlier = store.orgs()
    before = {o.id: o.founded for o in earlier}
    _report_import("党组织", importing.import_orgs(store, _rules(), file, actor, sheet))
    # A branch's rules are its catalog's for every period, past ones too: a new 执行规定 rejudges its history.
    fallback = tracking.default_catalog(store)
    old, new = OrgIndex(earlier), OrgIndex(store.orgs())
    # A code is how other files name an organization: one changed is said, not taken silently (a code Excel rounded, try-out).
    recoded = [f"{o.path}（{old.by_id[o.id].code} → {o.code or '已清除'}）" for o in new.by_id.values()
               if o.id in old.by_id and old.by_id[o.id].code and old.by_id[o.id].code != o.code]
    if recoded:
        console.print(f"提示：{len(recoded)} 个党组织的代码已更改：{'、'.join(recoded[:5])}{'等' if len(recoded) > 5 else ''}；"
                      "以原代码填写的党员、记录等文件须改用现在的代码或路径", style="yellow", markup=False, soft_wrap=True)
    # A superior dissolved with organizations below it still at work (try-out), or one's 撤销日期 cleared below a superior
    # still dissolved (review): they are checked, under one that is no more.
    ended, cleared = dissolved_apart(old, new)
    for o, gone in cleared:
        console.print(f"提示：「{o.path}」已清除撤销日期，但其上级「{gone.path}」已于 {gone.dissolved} 撤销；"
                      "如已划归他处，请用 compliance org move 移动", style="yellow", markup=False, soft_wrap=True)
    for o, below in ended:
        console.print(f"提示：「{o.path}」的撤销日期为 {o.dissolved}，但其下级「{below[0]}」"
                      f"{f'等 {len(below)} 个党组织' if len(below) > 1 else ''}没有同时撤销，仍按期检查；如已一并撤销，"
                      "请为其填写撤销日期；如已划归他处，请用 compliance org move 移动", style="yellow", markup=False, soft_wrap=True)
    moved = [(o.path, old.catalog_of(old.by_id[o.id], fallback), new.catalog_of(o, fallback)) for o in new.by_id.values()
             if o.id in old.by_id and old.catalog_of(old.by_id[o.id], fallback) != new.catalog_of(o, fallback)]
    if moved:
        path, was, now = moved[0]
        more = f"等{len(moved)}个党组织" if len(moved) > 1 else ""
        console.print(f"提示：「{path}」{more}的执行规定由 {was} 改为 {now}：以往各期（包括已督查的月份）也将按 {now} 重新判断；"
                      f"如只从某日起执行新规定，请让新规则集 extends = \"{was}\" 并以 valid_from 写明起始日期（写法见示例 {example_file('catalog.toml')}）",
                      style="yellow", markup=False, soft_wrap=True)
    # One may be registered ahead of its founding; until then it owes nothing, and a mistyped year
    # (2062 for 2026) would keep it out of every check for decades. Named once, by the import that dates it.
    today = store.today()
    later = [f"{o.path}（{o.founded.isoformat()}）" for o in store.orgs()
             if o.founded is not None and o.founded > today and before.get(o.id, date.min) != o.founded]
    if later:
        console.print(f"提示：{orgs_named(later)}的成立日期晚于今天，"
                      "成立之前不检查其组织生活；如为笔误，请改正后重新导入。", style="yellow", markup=False, soft_wrap=True)
    # A village's or community's branch with no 领域, its own or its superior's: its committee's term was taken as 3 years,
    # not 5, without a word (clerk's try-out). Named once, by the import that adds it.
    villages = [o.path for o in new.by_id.values() if o.id not in before and o.type in ("党支部", "党总支", "党委")
                and not new.sector_of(o) and re.search(r"(村|社区|居委会)(党总支|党支部|党委)$", o.name)]
    if villages:
        console.print(f"提示：{orgs_named(villages)}的名称像村或社区的党组织，但没有填写领域（本级和上级都没有）：换届按3年检查，"
                      "村和社区为5年；请在组织文件的「领域」列填写 农村 或 社区 后重新导入", style="yellow", markup=False, soft_wrap=True)
    midyear = _yearly_let_off(old, new, fallback)
    if midyear:
        (path, day, names), more = midyear[0], len(midyear) - 1
        console.print(f"提示：「{path}」{f'等{more + 1}个党组织' if more else ''}的启用日期 {day.isoformat()} 在年中：此前开始的各期不检查，"
                      f"包括{day.year}年的{'、'.join(names)}；如{day.year}年全年都要检查，请把启用日期改为 {day.year}-01-01，"
                      "并补录此前的记录", style="yellow", markup=False, soft_wrap=True)
    # Named once, by the import that adds it (status names it each time).
    untracked = tracking.terms_untracked(store, _rules(), new, [o for o in new.by_id.values() if o.id not in before])
    if untracked:
        console.print(_untracked_words(untracked), style="yellow", markup=False, soft_wrap=True)
    lapsed = tracking.terms_lapsed(store, _rules(), new, [o for o in new.by_id.values() if o.id not in before])
    if lapsed:
        (first, due), more = lapsed[0], len(lapsed) - 1
        console.print(f"提示：「{first.path}」{f'等{more + 1}个党组织' if more else ''}按成立日期推算，第一届任期已于 {due.isoformat()} 届满"
                      "，还没有换届选举记录，将列为逾期未换届：请导入最近一次换届选举的记录（类型「换届」，日期为选举日）",
                      style="yellow", markup=False, soft_wrap=True)
    if not before:
        # A township's first import without 启用日期: every period of the year was judged, and its first `status` showed
        # 55 items overdue from January on, without a word of why (clerk's try-out).
        undated = [o.path for o in new.by_id.values() if new.tracked_from_of(o) is None and o.founded is None]
        if undated:
            console.print(f"提示：「{'」「'.join(undated[:3])}」{'等' if len(undated) > 3 else ''}{len(undated)}个党组织"
                          f"没有填写启用日期（本级和上级都没有）或成立日期，自{today.year}年1月起的各期都会检查；"
                          "如从某日起才用本工具登记，请在「启用日期」列填写该日后重新导入（此前开始的各期不检查）。",
                          style="yellow", markup=False, soft_wrap=True)
    if before:
        # Added to a tree already tracked: without dates of its own, it owes every period its
        # superior's 启用日期 (or January) reaches back to, at once.
        added = [o for o in store.orgs() if o.id not in before and o.founded is None and o.tracked_from is None]
        # A new top of the tree (a county above the townships) has no superior to be checked as (try-out).
        for undated, how in (([o.path for o in added if o.parent_id is not None], "将与上级党组织一样检查以往各期的组织生活"),
                             ([o.path for o in added if o.parent_id is None], "将检查以往各期的组织生活")):
            if undated:
                console.print(f"提示：新增的党组织「{'」「'.join(undated[:3])}」{'等' if len(undated) > 3 else ''}{len(undated)}个"
                              f"没有填写成立日期或启用日期，{how}；新成立或新纳入管理的，"
                              "请在「成立日期」或「启用日期」列填写后重新导入。", style="yellow", markup=False, soft_wrap=True)


@org_app.command("list")
@fails_cleanly
def org_list(under: Optional[str] = typer.Option(None, "--under", help="只列出此党组织及其下级。"),
             fmt: Format = FORMAT_OPTION) -> None:
    """列出党组织（路径、代码、类型、领域、执行规定）。"""
    store, actor = session()
    scope = default_scope(actor, under)
    index = store.index_around(scope)
    if scope:
        root = index.resolve(scope)
        require_read(store, actor, root.path)
    orgs = index.subtree(root) if scope else sorted(index.by_id.values(), key=lambda o: path_order(o.path))
    catalog_report.print_orgs(console, index, orgs, tracking.default_catalog(store), fmt.value, root.path if scope else None)


@org_app.command("terms")
@fails_cleanly
def org_terms(under: Optional[str] = typer.Option(None, "--under", help="只列出此党组织及其下级。"),
              as_of: Optional[str] = AS_OF_OPTION, jobs: int = JOBS_OPTION, fmt: Format = FORMAT_OPTION) -> None:
    """换届台账：各党组织现任一届的起止日期、换届期限和状态（任期内、待完成、逾期未完成）。"""
    from compliance.report.findings import status_label

    store, actor = session()
    scope = default_scope(actor, under)
    path = tracking.org_path(store, scope) if scope else None
    if path:
        require_read(store, actor, path)
    day = _as_of_option(as_of)
    slugs = {ob.slug for catalog in _rules().catalogs.values() for ob in catalog.every_obligation() if ob.cadence == "term"}
    # Every term overlapping the year: an organization's latest is the one running (or the one overdue).
    window = tracking.Window(tracking.year_start(day), day, day)
    found = tracking.overdue(store, _rules(), path, window, jobs_count(jobs), keep=("missed", "invalid", "due", "upcoming", "met"),
                             only=slugs)
    latest: dict[int, Any] = {}
    for f in found:
        if "/" in f.period and (f.org_id not in latest or f.period > latest[f.org_id].period):
            latest[f.org_id] = f
    rows = [{"org": f.org, "term": f.period.replace("/", "至"), "due": f.due.isoformat(), "status": f.status,
             "shown": status_label(f), "days_left": (f.due - day).days if f.status in ("due", "upcoming", "missed") else None,
             "flags": list(f.flags)} for f in sorted(latest.values(), key=lambda f: (f.due, f.org))]
    # Those whose terms cannot be followed are listed too: left out, the 台账 read as complete (review).
    index = store.index_around(path)
    scoped = index.subtree(index.resolve(path)) if path else list(index.by_id.values())
    rows += [{"org": o.path, "term": None, "due": None, "status": "untracked", "shown": "无法跟踪", "days_left": None,
              "flags": ["no_founding_or_election"]} for o in tracking.terms_untracked(store, _rules(), index, scoped)]
    if fmt is not Format.table:
        emit_rows(rows, fmt.value, {"org": "党组织", "term": "任期", "due": "换届期限", "shown": "状态", "days_left": "剩余天数"})
        return
    if not rows:
        console.print("范围内没有可跟踪换届的党组织（没有成立日期，也没有换届选举记录）。")
        return
    table = titled_table(f"换届台账（{as_of_words(day, None)}，按换届期限）", ("党组织", "任期", "换届期限", "状态", "说明"), ("换届期限",))
    for r in rows:
        if r["status"] == "untracked":
            table.add_row(tables.shown_path(r["org"], path), "—", "—", r["shown"],
                          "没有成立日期，也没有换届选举记录：请在组织文件填写成立日期，或补录最近一次换届选举")
            continue
        note = "；".join(FLAG_LABELS.get(flag, flag) for flag in r["flags"])
        if r["days_left"] is not None:
            left = r["days_left"]
            note = (f"剩{left}天" if left >= 0 else f"已逾期{-left}天") + (f"；{note}" if note else "")
        table.add_row(tables.shown_path(r["org"], path), r["term"] or "—", r["due"] or "—", r["shown"], note or "—")
    console.print(table)


@org_app.command("export")
@fails_cleanly
def org_export(file: Path = typer.Argument(..., metavar="文件", help="写出的 CSV 或 XLSX 文件（按扩展名）。"),
               under: Optional[str] = typer.Option(None, "--under", help="只导出此党组织及其下级。")) -> None:
    """导出党组织，列与 org import 相同（各党组织自己填写的值，继承的留空）：可在 Excel 中修改后用 org import 重新导入。"""
    from compliance.orgs import OrgIndex
    from compliance.report.orgfile import excel_may_change, org_file_rows, write_org_file

    store, actor = session()
    scope = default_scope(actor, under)
    index = OrgIndex(store.orgs())      # the whole tree: each 上级 is written as the import will find it
    if scope:
        root = index.resolve(scope)
        require_read(store, actor, root.path)
    orgs = index.subtree(root) if scope else list(index.by_id.values())
    rows = org_file_rows(index, orgs)
    existed = file.exists()
    write_org_file(rows, file)
    console.print(f"已导出 {len(orgs)} 个党组织到 {file}{'（已覆盖原文件）' if existed else ''}；修改后可用 compliance org import "
                  "重新导入：空白单元格保留原值，写「清除」清空原值，书记写「空缺」表示书记空缺，删去的行不撤销党组织（撤销请填撤销日期），"
                  "「编号」列请勿改动（新增的党组织留空）", markup=False, soft_wrap=True)
    if file.suffix.lower() == ".csv" and excel_may_change(rows):
        console.print("提示：有以 0 开头或 12 位以上的数字代码，或以 = + - @ 开头的内容，用 Excel 打开 CSV 会改写它们"
                      "（0012 变成 12，长数字变成 1.23E+17）：请导出为 .xlsx 文件编辑", style="yellow", markup=False, soft_wrap=True)


@org_app.command("move")
@fails_cleanly
def org_move(org: str = typer.Argument(..., metavar="党组织", help="要移动的党组织（其下级随之移动）。"),
             to: str = typer.Option(..., "--to", metavar="党组织", help="新的上级党组织。"),
             reason: Optional[str] = typer.Option(None, "--reason", help="原因，如 撤并村合并。")) -> None:
    """调整隶属关系：把党组织连同其下级移到另一上级下（如村并入新镇、县委设在已有的乡镇党委之上）；记录、花名册、整改台账随之移动。"""
    from compliance import reorg

    store, actor = session()
    done = reorg.move_org(store, org, to, reason, actor, tracking.default_catalog(store))
    below = f"（连同下级共 {done['moved']} 个党组织）" if done["moved"] > 1 else ""
    console.print(f"已移动：「{done['from']}」→「{done['to']}」{below}；其记录、花名册、党费和整改事项随之移动，"
                  "已发布的通报和审计日志保留原路径", markup=False, soft_wrap=True)
    pinned = done["pinned"]
    if "tracked_from" in pinned:
        kept, there = pinned["tracked_from"].isoformat(), done["inherited"]
        since = f"为 {there.isoformat()}" if there is not None else "未填写"
        if done["founding"]:
            console.print(f"提示：新上级的启用日期{since}；「{done['to']}」以其成立日期 {kept} 作为启用日期，"
                          "成立以来各期仍然检查", style="yellow", markup=False, soft_wrap=True)
        elif there is not None and there > pinned["tracked_from"]:
            console.print(f"提示：新上级的启用日期{since}；「{done['to']}」保留原启用日期 {kept}，{kept} 以来各期仍然检查",
                          style="yellow", markup=False, soft_wrap=True)
        else:
            console.print(f"提示：新上级的启用日期{since}；「{done['to']}」保留原启用日期 {kept}，此前各期仍不检查",
                          style="yellow", markup=False, soft_wrap=True)
    if done["untracked"]:
        console.print(f"提示：「{done['to']}」没有成立日期和启用日期，移动后随新上级从 {done['untracked'].isoformat()} 起检查，"
                      "此前各期不再检查；如需检查，请在「启用日期」列填写后用 org import 重新导入",
                      style="yellow", markup=False, soft_wrap=True)
    if "catalog" in pinned:
        was, there = pinned["catalog"], done["catalog_there"]
        console.print(f"提示：「{done['to']}」保留原执行规定 {was}（新上级为 {there}），以往各期的判断不变；如今后按 {there}，"
                      f"请在「执行规定」列填写 {there} 后用 org import 导入（以往各期也将按 {there} 重新判断；只从某日起执行的，"
                      f"写法见示例 {example_file('catalog.toml')}）", style="yellow", markup=False, soft_wrap=True)
    if done["sector_taken"]:
        console.print(f"提示：「{done['to']}」原未填领域，移动后随新上级为 {done['sector_taken']}，换届年限等按此判断；"
                      "如不是，请在「领域」列填写后用 org import 导入", style="yellow", markup=False, soft_wrap=True)
    if "sector" in pinned:
        console.print(f"提示：「{done['to']}」保留原领域 {pinned['sector']}（新上级为 {done['sector_there'] or '未填'}），"
                      "换届年限等仍按原领域判断", style="yellow", markup=False, soft_wrap=True)
    if done["skipped"]:
        place = "村" if done["skipped"] == "农村" else "社区"
        console.print(f"提示：「{done['to']}」是{place}党组织，现直接隶属县委，中间没有乡镇党委或街道党工委；"
                      f"如 --to 写错，请再用 org move 移到所属{'乡镇党委' if place == '村' else '街道党工委'}下",
                      style="yellow", markup=False, soft_wrap=True)
    if done["emptied"]:
        left, kind = done["emptied"]
        jobs = "，并用 scheduler jobs 查看、scheduler remove 删除其督查任务" if kind in importing.TOP_TYPES else ""
        console.print(f"提示：「{left}」下已没有党支部，对其督查将没有党支部可查；如已撤销，请在「撤销日期」列填写后用 org import 导入{jobs}",
                      style="yellow", markup=False, soft_wrap=True)
    for old, new in done["jobs"]:
        console.print(f"定时任务已随之更改：{old} → {new}（时间和输出目录不变）", markup=False, soft_wrap=True)
    if done["jobs_error"]:
        console.print(f"注意：党组织已移动，但定时督查任务未能随之更改（{done['jobs_error']}）：请用 compliance scheduler jobs 查看，"
                      f"对「{done['from']}」及其下级的督查任务用 scheduler remove 删除后，以新路径 scheduler add-supervision 重新设置",
                      style="yellow", markup=False, soft_wrap=True)
    # Reminders' recipients named by the old path are found no more: the scheduler would skip them with a line of output.
    from compliance.config import load_settings

    try:
        settings = load_settings(obligations=_rules().kinds)
    except InputError:
        settings = None         # a settings file that cannot be read is said by the commands that use it
    stale = [r.org for r in (settings.recipients if settings else ()) if r.org == done["from"] or r.org.startswith(done["from"] + "/")]
    if stale:
        console.print(f"注意：提醒配置（{settings.path}）中的收件党组织「{'」「'.join(stale)}」写的是原路径，移动后找不到，"
                      f"请改为新路径（如「{done['to'] + stale[0][len(done['from']):]}」）或代码",
                      style="yellow", markup=False, soft_wrap=True)


@member_app.command("import")
@fails_cleanly
def member_import(file: Path = typer.Argument(..., metavar="文件", help="CSV 或 XLSX 文件。"), sheet: Optional[str] = SHEET_OPTION) -> None:
    """导入党员（列：姓名、党组织、党小组、类别、流动党员、联系人、入党日期、出生日期、性别、离开日期、离开原因、转入日期；序号列不读，备注只看是否写有离开）。"""
    store, actor = session()
    result = importing.import_members(store, file, actor, sheet)
    _report_import("党员", result)
    for number, path, who in result.strange_liaisons[:importing.PROBLEMS_SHOWN]:
        console.print(f"提示：{file.name} 第{number}行「联系人」列：「{who}」不在「{path}」的花名册上；挂钩联系人一般是本支部的支委，请核对",
                      style="yellow", markup=False, soft_wrap=True)
    if len(result.strange_liaisons) > importing.PROBLEMS_SHOWN:
        console.print(f"（另有 {len(result.strange_liaisons) - importing.PROBLEMS_SHOWN} 行的联系人不在花名册上）", style="yellow", markup=False)
    if result.added_midway:
        named = _some_of([f"第{number}行「{path}」{name}" for number, path, name in result.added_midway_named], result.added_midway)
        console.print(f"提示：{named}是新加入已有花名册的党员，没有填写「转入日期」：以往各月也按其在本党组织计，"
                      "以往的参会名单和党费中没有他们，六个月提示和督查会计为未参加、未交纳党费。如是新转入，请在文件中填写转入日期后重新导入；"
                      "如一直在本党组织只是漏登，请用 record correct 补正以往的参会名单、用 dues log 补登党费",
                      style="yellow", markup=False, soft_wrap=True)
    if result.noted_left:
        named = _some_of([f"第{number}行「{path}」{name}（备注：{note}）" for number, path, name, note in result.noted_left_named],
                         result.noted_left)
        console.print(f"提示：{named}的备注写有离开的情况，但没有填写「离开日期」，仍在花名册上（计入应到、党费和督查）；"
                      "如已离开，请在文件中填写「离开日期」和「离开原因」后重新导入，或用 compliance member leave 登记",
                      style="yellow", markup=False, soft_wrap=True)
    if result.still_left:
        # A roster file of before the departures, read again: its rows bring no one back, and said so.
        named = _some_of([f"「{path}」{name}（{left.isoformat()}{reason or '离开'}）" for path, name, left, reason in result.still_left_named],
                         result.still_left)
        console.print(f"提示：文件中的{named}已离开花名册，仍按已离开处理；如离开是误登记，"
                      "请用 compliance member unleave 撤销，转出的人员在转入的党组织花名册上。",
                      style="yellow", markup=False, soft_wrap=True)


def _some_of(named: list[str], count: int) -> str:
    """Return the first few of `count` members named (顿号-separated), and 等N人 when there are more."""
    return "、".join(named) + (f"等{count}人" if count > len(named) else "")


@record_app.command("import")
@fails_cleanly
def record_import(file: Path = typer.Argument(..., metavar="文件", help="CSV 或 XLSX 文件。"),
                  org: Optional[str] = typer.Option(None, "--org", help="文件没有「党组织」列时（一个党支部自己的记录表），各行都记在这个党组织。"),
                  sheet: Optional[str] = SHEET_OPTION) -> None:
    """导入会议与活动记录（列：党组织、类型、日期、应到、实到、参会情况（如「应到20人，实到17人」，可代替应到、实到两列）、主题、记录人、书记签字、记录人签字、党员、党小组、主讲人、参会人员、请假人员、谈话对象、学时、图片、录入日期；序号、备注列不读）；同一行再次导入不会重复，内容变化的行成为新版本。"""
    store, actor = session()
    result = importing.import_records(store, _rules(), file, actor, org, sheet)
    _report_import("记录", result)
    # Which: a row repeating a record with other content makes a new version of it, not a second record (try-out); those
    # whose correction it replaced are named below.
    updated = [i for i in result.updated_records if i not in result.overrode]
    if updated:
        changed = result.updated - len(result.overrode) - result.redated
        more = f" 等{changed}条" if changed > len(updated) else ""
        console.print(f"更新的记录：{'、'.join(map(str, updated))}{more}（文件中的行与已登记的记录党组织、类型、日期、党小组、"
                      "党员、主题相同而内容不同，成为其新版本；文件中没有的列保留原值；record show 编号 --history 可查看各版本）",
                      markup=False, soft_wrap=True)
    if result.redated:
        console.print(f"其中 {result.redated} 条记录内容未变，按文件的「录入日期」改为更早的录入日期", markup=False, soft_wrap=True)
    if result.voided:
        shown = "、".join(map(str, result.voided[:10])) + (f" 等{len(result.voided)}条" if len(result.voided) > 10 else "")
        console.print(f"注意：文件中有已作废的记录 {shown} 的行（党组织、类型、日期、党小组、党员、主题相同），这些记录仍为作废、不计入完成情况；"
                      "如是误作废，请用 compliance record restore 编号 --reason 原因 恢复", style="yellow", markup=False, soft_wrap=True)
    if result.corrected_away:
        shown = "、".join(f"第{number}行（记录 {record_id}）" for number, record_id in result.corrected_away)
        console.print(f"注意：{shown}是记录用 record correct 更正前的内容（日期、主题等），未重复添加；"
                      "请按更正后的内容改正文件（record show 编号 --history 可查看）", style="yellow", markup=False, soft_wrap=True)
    if result.overrode:
        # A correction (with its reason) is replaced by the file's older content without a word otherwise.
        shown = "、".join(map(str, result.overrode[:10])) + (f" 等{len(result.overrode)}条" if len(result.overrode) > 10 else "")
        console.print(f"注意：记录 {shown} 曾用 record correct 更正，本次导入按文件内容生成了新版本，更正的内容被覆盖"
                      "（record show 编号 --history 可查看各版本）；如更正无误，请改正文件后再导入，或再次 record correct",
                      style="yellow", markup=False, soft_wrap=True)
    written = result.added + result.updated
    if written > IMPORT_NOTES_LIMIT:
        console.print(f"提示：本次新增或更新 {written} 条记录，未逐条说明哪些不计入；可用 overdue 或 status 查看各项完成情况",
                      style="yellow", markup=False, soft_wrap=True)
    elif written:
        notes, late, unsigned = _import_notes(store, result.ids, file.name, result.row_of, actor, result.where or file.name)
        for note in notes:
            console.print(note, style="yellow", markup=False, soft_wrap=True)
        if unsigned and not result.signed:
            # A file without the columns: its meetings were counted 未签字, and every branch told to 补签 (migration try-out).
            console.print(f"提示：文件没有「书记签字」「记录人签字」列，{unsigned} 条须签字的记录计为未签字；如纸质记录已由书记和记录人签字，"
                          "可在文件中加这两列填「是」后重新导入", style="yellow", markup=False, soft_wrap=True)
        if late and not result.dated:
            # Paper records brought in all came out 逾期录入, with no word of the column that says when they were entered (try-out).
            console.print(f"提示：{late} 条记录按今天录入计为逾期录入；如是补录以往的纸质记录，可在文件中加「录入日期」列，"
                          "填写纸质记录当时登记的日期（如会议当天）后重新导入", style="yellow", markup=False, soft_wrap=True)
    if result.dated and 0 < written <= IMPORT_NOTES_LIMIT:
        _backdated_notice(store, result.ids, result.row_of)


def _backdated_notice(store: store_mod.Store, record_ids: list[int], row_of: Any) -> None:
    """Say which records are dated as entered before a supervision run found their period without one (`Store.backdated_records`).

    A 录入日期 given by hand, before the day a run listed the gap in the ledger, was taken without a word: the record then
    counted as entered in time (no 逾期录入) and closed its item as made good (supervision team's try-out). It is kept, as
    a paper record's date may be true, and said, for the office to check against the paper.
    """
    from compliance.supervision import kinds_of

    found = store.backdated_records(record_ids, kinds_of(_rules(), lambda: store.index_around(None), tracking.default_catalog(store)))
    if not found:
        return
    shown = []
    for record_id, version_id, entered, item_id, looked in found[:5]:
        row = row_of(version_id) if row_of is not None else None
        shown.append(f"{f'第{row}行' if row else ''}记录 {record_id}（录入日期 {entered.isoformat()}；{looked.isoformat()} 督查时该期没有记录，"
                     f"列入整改台账第{item_id}项）")
    more = f"等{len(found)}处" if len(found) > 5 else ""
    console.print(f"注意：{'；'.join(shown)}{more}的录入日期早于督查发现该期缺少记录的日期，督查时系统中并无这条记录；"
                  "已按所填录入日期登记（不计逾期录入），请核对纸质记录原件，如录入日期有误请更正", style="yellow", markup=False, soft_wrap=True)


# An import of up to this many new or changed records says, record by record, what does not count
# (as `log` does); each organization's records and roster are read once for them.
IMPORT_NOTES_LIMIT = 2000


def _import_notes(store: store_mod.Store, record_ids: Sequence[int], file: str | None = None,
                  row_of: Callable[[int], int | None] | None = None, actor: Actor | None = None,
                  sheet: str | None = None) -> tuple[list[str], int, int]:
    """Return `_alone_notes` of each of `record_ids`, each naming its record (at most `PROBLEMS_SHOWN`, then how many more),
    how many of the records are entered late (`late_entry`), and how many are not signed where they should be (`unsigned`).

    With `file` (the imported file's name), `row_of` (`ImportResult.row_of`) and `actor`, a record whose copy another
    organization has, from an earlier import of a file of that name that this one has no row of, is pointed out (`_left_behind`);
    with `sheet` too (the file, and of a workbook of several sheets the sheet: `ImportResult.where`), a record of the file's
    earlier import that a re-import of it no longer has (`_dropped_rows`).
    """
    orgs = _Orgs(store)
    alones = [alone for _, alone in tracking.records_alone(store, _rules(), record_ids, store.today())]
    late = sum(1 for alone in alones if any("late_entry" in f.flags for f in alone.findings))
    unsigned = sum(1 for alone in alones if any("unsigned" in f.flags for f in alone.findings))
    found = [(alone.record, note) for alone in alones for note in _alone_notes(alone, orgs, filed=True) if alone.record is not None]
    # A row whose topic was mended (学习 to 学习。) is a new record beside the old one: twice the hours, twice the attendance.
    for org_id, group in groupby(sorted((a.record for a in alones if a.record is not None), key=attrgetter("org_id", "id")),
                                 attrgetter("org_id")):
        rows = store.org_records(org_id)
        records = list(group)
        found.extend((r, twin) for r in records if (twin := _twin_note(r, rows, earlier=True)))
        if sheet is not None and row_of is not None:
            found.extend(_dropped_rows(records, rows, sheet, row_of))
    if file is not None and row_of is not None:
        found.extend(_left_behind(store, [a.record for a in alones if a.record is not None], file, row_of, actor))
    found.sort(key=lambda pair: not pair[1].startswith("注意"))     # what does not count first, then what counts with a flag
    paths = store.org_paths({record.org_id for record, _ in found})
    notes = []
    for record, note in found[:importing.PROBLEMS_SHOWN]:
        named = f"记录 {record.id}（{paths[record.org_id]} {_rules().kind_name(record.kind)} {record.held_on.isoformat()}）"
        note = note.replace("（--counterpart）", "")
        head, _, body = note.partition("：")
        notes.append(f"{head}：{body.replace('这条记录', named, 1)}" if "这条记录" in body else f"{head}：{named}{body}")
    if len(found) > importing.PROBLEMS_SHOWN:
        notes.append(f"（另有 {len(found) - importing.PROBLEMS_SHOWN} 条提示未列出，可用 record show 编号 或 status 查看）")
    return notes, late, unsigned


@app.command()
@fails_cleanly
def log(
    kind: str = typer.Argument(..., metavar="类型", help="类型：名称或代码，如 党员大会、支委会、主题党日、固定学习日。"),
    org: Optional[str] = typer.Option(None, "--org", help=ORG_HELP),
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
    attendees: Optional[str] = typer.Option(None, "--attendees", "--attendee", help="参会人员（花名册上的姓名，用顿号、逗号或空格分隔）；给出时实到人数按名单计。"),
    excused: Optional[str] = typer.Option(None, "--excused", help="请假人员。"),
    counterpart: Optional[str] = typer.Option(None, "--counterpart", help="谈话对象（谈心谈话）。"),
    hours: Optional[str] = typer.Option(None, "--hours", help="学时。"),
    photos: Optional[str] = typer.Option(None, "--photos", help="图片（文件名或链接）。"),
    recorded_on: Optional[str] = typer.Option(None, "--recorded-on", help="录入日期（补录纸质记录时填写）。"),
) -> None:
    """登记一条会议或活动记录。"""
    store, actor = session()
    values = {
        "org": own_org(actor, org), "kind": kind, "date": held_on, "expected": expected, "present": present, "topic": topic,
        "recorder": recorder, "secretary_signed": secretary_signed, "recorder_signed": recorder_signed,
        "member": member, "group": group, "lecturer": lecturer, "attendees": attendees, "excused": excused,
        "counterpart": counterpart, "hours": hours, "photos": photos, "recorded_on": recorded_on,
    }
    if _rules().kind(kind) == "dues" and member:
        # Counted for the month in `status`, while dues unpaid, dues list and the watch said it unpaid, a hint notwithstanding
        # (secretary's try-out): a member's payment is entered as one, with its amount and day.
        raise InputError(f"党员交纳党费请用 compliance dues log --member {member.strip()} --month 月份 --amount 金额 [--paid-on 交纳日期] 登记"
                         "（log 党费 不记金额和交纳日期，未交统计和六个月提示仍视为未交），未登记")
    result = importing.log_record(store, _rules(), values, actor)
    if result.unchanged:
        console.print("这条记录已经登记过，未重复添加。")
    else:
        word = "已登记" if result.added else "已更新为新版本"
        console.print(f"{word}：记录编号 {result.ids[0]}")
        alone = tracking.record_alone(store, _rules(), result.ids[0], store.today())
        for note in record_notes(store, result.ids[0], alone):
            console.print(note, style="yellow", markup=False, soft_wrap=True)
        if recorded_on:
            _backdated_notice(store, result.ids, None)
        typed = re.match(r"\s*(\d{4})年", kind)
        if typed and alone.record is not None and int(typed.group(1)) != alone.record.held_on.year:
            # 2025年度组织生活会 held in January 2026 counted for 2026, and nothing said 2025's stayed missed (review).
            year, held = int(typed.group(1)), alone.record.held_on.year
            console.print(f"提示：类型写的是{year}年度，但按召开日期计入{held}年的周期；{year}年的仍按当时的记录判断"
                          f"（补开不计入{year}年），如已列入整改台账，由乡镇核实后销号（compliance rectify close）",
                          style="yellow", markup=False, soft_wrap=True)
        # Held on fixed days moved off holidays (固定学习日): a year whose holidays the rules lack is judged by weekends alone.
        r = alone.record
        if r is not None and any(ob.days and ob.shift_to_workday and r.kind in ob.kinds
                                 for catalog in _rules().catalogs.values() for ob in catalog.every_obligation()):
            workdays_notice(tracking.year_start(r.held_on), r.held_on, actor, store)     # judged from there (`record_alone`)


class _Orgs(dict):
    """Organization id -> (its row, its catalog's name), each read once: an import's notes name hundreds of organizations."""

    def __init__(self, store: store_mod.Store):
        super().__init__()
        self.store = store

    def __missing__(self, org_id: int) -> tuple[OrgRow, str]:
        path = self.store.org_path(org_id)
        index = self.store.index_around(path)
        org = index.resolve(path)
        found = self[org_id] = (org, index.catalog_of(org, tracking.default_catalog(self.store)))
        return found


WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def _fixed_days(orgs: _Orgs, f: tracking.Finding, held: date | None = None) -> str:
    """Return the days of the month an obligation held on fixed days is held (10日、20日, and the shift to a working day where the rule has it), "" for another.

    With `held` (a record's day), its month's fixed days on a weekend that were working days (调休上班日) are said: held
    on the Monday after 20 September 2026, a Sunday worked, the record was told the rule's shift, and its secretary
    thought the rule ignored (try-out).
    """
    catalog = _rules().catalogs.get(orgs[f.org_id][1])
    ob = catalog.obligation(f.obligation) if catalog is not None else None
    if ob is None or not ob.days:
        return ""
    words = "、".join(f"{d}日" for d in ob.days) + ("，遇休息日顺延至下一个工作日" if ob.shift_to_workday else "")
    if held is not None and ob.shift_to_workday and catalog is not None:
        worked = []
        for d in ob.days:
            try:
                day = held.replace(day=d)
            except ValueError:      # a 31st in a shorter month
                continue
            if day.weekday() >= 5 and catalog.calendar.is_workday(day):
                worked.append(f"{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）")
        if worked:
            words += f"；{'、'.join(worked)}是调休上班日，当天即为{f.name}，不顺延"
    return words


def _lacking(text: str, orgs: _Orgs, f: tracking.Finding, record: tracking.Record | None) -> str:
    """Return flags' words with 材料不全 saying what the record lacks of what its obligation requires (缺主题、图片): it said
    材料不全 alone, and a secretary had to guess (try-out)."""
    if "材料不全" not in text or record is None:
        return text
    lacking = _missing_evidence(orgs, f, [lambda name: getattr(record, name, None)])
    return text.replace("材料不全", f"材料不全（缺{lacking}）", 1) if lacking else text


def _missing_evidence(orgs: _Orgs, f: tracking.Finding, records: Sequence[Callable[[str], Any]]) -> str:
    """Return what of the evidence its obligation requires (主题、图片) the records of `f` lack (each record a field's value by
    its name): of a period met, what the record lacking least lacks (the best valid one speaks for it, `evaluate._judge`);
    of another, what any lacks."""
    catalog = _rules().catalogs.get(orgs[f.org_id][1])
    ob = catalog.version_at(f.obligation, parse_period_key(f.period)[0]) if catalog is not None else None
    if ob is None or not records:
        return ""
    each = [[name for name in ob.require if not value(name)] for value in records]
    lacking = set(min(each, key=len)) if f.status == "met" else {name for names in each for name in names}
    return "、".join(importing.RECORD_LABELS.get(name, name) for name in ob.require if name in lacking)


def _evidence_lacking(store: store_mod.Store, findings: Sequence[tracking.Finding]) -> dict[tuple[str, str, str, str], str]:
    """Return what the records of each finding flagged 材料不全 lack (主题、图片), by `evidence_key`: the status table said
    材料不全 alone, and a secretary had to open each record (try-out)."""
    wanted = [f for f in findings if "incomplete_evidence" in f.flags and any(i > 0 for i in f.records)]
    orgs = _Orgs(store)
    rows: dict[int, dict[str, Any]] = {}
    for org_id in sorted({f.org_id for f in wanted}):
        rows.update((r["record_id"], r) for r in store.org_records(org_id))
    found = {}
    for f in wanted:
        lacking = _missing_evidence(orgs, f, [rows[i].get for i in f.records if i in rows])
        if lacking:
            found[evidence_key(f)] = lacking
    return found


def _window_words(orgs: _Orgs, f: tracking.Finding) -> str:
    """Return the part of the year a yearly obligation is held in (第四季度（年底）), "" for one without."""
    from compliance.report.catalogs import WINDOW_LABELS

    catalog = _rules().catalogs.get(orgs[f.org_id][1])
    ob = catalog.version_at(f.obligation, parse_period_key(f.period)[0]) if catalog is not None else None
    return WINDOW_LABELS.get(ob.window, ob.window) if ob is not None and ob.window else ""


def _yearly_let_off(old: OrgIndex, new: OrgIndex, fallback: str) -> list[tuple[str, date, list[str]]]:
    """Return (path, day tracked from, names) of the organizations whose 启用日期 (their own or a superior's) this import
    set or changed to a day after 1 January, with the yearly and half-yearly obligations of their catalog that day lets off for its year: the year's
    组织生活会 and 民主评议 of a branch tracked from June were 免除, and nothing said so (try-out)."""
    rules = _rules()
    found = []
    for o in sorted(new.by_id.values(), key=lambda o: o.path):
        day = new.tracked_from_of(o)        # its own, or its superior's
        if day is None or (day.month, day.day) == (1, 1) or (o.id in old.by_id and old.tracked_from_of(old.by_id[o.id]) == day):
            continue
        catalog = rules.catalogs.get(new.catalog_of(o, fallback))
        if catalog is None:
            continue
        names = []
        for ob in catalog.obligations:
            version = catalog.version_at(ob.slug, day)
            if version is None or version.cadence not in ("yearly", "half_yearly") or not version.applies_to(o.type, new.sector_of(o)):
                continue
            if any(p.window_start < day for p in catalog.periods(version, day, day)):
                # Half a year's only: 流动党员汇报 of the first half, not the year's (review).
                half = "上半年的" if version.cadence == "half_yearly" and day.month <= 6 else "下半年的" if version.cadence == "half_yearly" else ""
                names.append(half + rules.kind_name(version.slug))
        if names:
            found.append((o.path, day, names))
    return found


def _not_owed_words(orgs: _Orgs, record: tracking.Record) -> str:
    """Say why an organization owes no record of this kind: a branch without a committee (and why), without party groups, or of a type that owes none."""
    rules = _rules()
    name = rules.kind_name(record.kind)
    org = orgs[record.org_id][0]
    kept = "这条记录只作留存，不计入任何一项完成情况"
    needs_committee = [ob for catalog in rules.catalogs.values() for ob in catalog.every_obligation()
                       if record.kind in ob.kinds]
    if org.type == "党支部" and needs_committee and all(ob.requires_committee for ob in needs_committee):
        if org.has_committee is False:
            return f"注意：党组织文件登记这个党支部没有支委会，不需要召开{name}，{kept}；如已设支委会，请在「有支委会」列填「是」后重新导入"
        return (f"注意：这个党支部正式党员不足7人，不设支委会（《中国共产党支部工作条例（试行）》第八条），不需要召开{name}，{kept}；"
                "如确已设支委会，请在党组织文件的「有支委会」列填「是」后重新导入")
    if org.type == "党支部" and any(ob.per == "group" for ob in needs_committee):
        return f"注意：这个党支部的花名册上没有党小组，不需要召开{name}，{kept}；如已划分党小组，请在花名册的「党小组」列填写"
    # 党支部不需要召开流动党员双联归档: a township's archiving is no meeting (try-out). Those that owe it are named.
    owing = sorted({t for ob in needs_committee for t in ob.org_types})
    verb = "召开" if _a_meeting(name) else "登记"
    return f"注意：{org.type}不需要{verb}{name}" + (f"（由{'、'.join(owing)}{verb}）" if owing and org.type not in owing else "") + f"，{kept}"


# What a secretary can mend in a record just logged; 学时 and the watch are about members, not it.
NOT_COUNTED = ("wrong_date", "no_quorum", "not_secretary", "arrears_too_late", "late_election")
RECORD_FLAGS = frozenset({*NOT_COUNTED, "no_attendance", "unsigned", "incomplete_evidence", "late_entry", "unverified_lecturer",
                          "early_election"})


def record_notes(store: store_mod.Store, record_id: int, alone: tracking.AloneRecord | None = None) -> list[str]:
    """Return what the record `record_id`, judged by itself as of today (`alone`, when the caller has it), cannot complete
    and why; its other flags; and the records of the same kind, day (group and member) under another topic, which may be
    the same meeting entered twice."""
    if alone is None:
        alone = tracking.record_alone(store, _rules(), record_id, store.today())
    notes = _alone_notes(alone, _Orgs(store))
    r = alone.record
    if r is not None and (twin := _twin_note(r, store.org_records(r.org_id, r.kind, r.held_on))):
        notes.append(twin)
    if r is not None:
        notes.extend(_ledger_notes(store, r.org_id, alone))
    return notes


def _ledger_notes(store: store_mod.Store, org_id: int, alone: tracking.AloneRecord) -> list[str]:
    """Say which open ledger items of the record's organization the periods it completes (`counted_in`) are, and that the
    next supervision run closes them: a secretary putting a gap right was told only 已登记, and the item stayed 未销号 in
    `rectify list` with no word (supervision team's try-out)."""
    done = {(f.obligation, f.period, f.group or f.member) for f in alone.findings if f.status == "met"}
    if not done:
        return []
    return [f"提示：这条记录补上了整改台账第 {item.id} 项（{item.matter}），下次督查核实后自动销号"
            for item in store.rectifications([org_id], open_only=True)
            if (item.obligation, item.period, item.group_name or item.member) in done]


def _left_behind(store: store_mod.Store, records: Sequence[tracking.Record], file: str, row_of: Callable[[int], int | None],
                 actor: Actor | None) -> list[tuple[tracking.Record, str]]:
    """Return a note for each of `records` whose copy another organization has, the same in all but the organization, from
    an earlier import of a file of the same name (`Store.copies_elsewhere`) of which this import had no row.

    A row imported under the wrong branch and imported again under the right one made a second record, and the wrong
    branch's copy went on counting, without a word (try-out). A copy the user may not change is not named.
    """
    by_id = {r.id: r for r in records}
    pairs = [(by_id[i], v) for i, v in store.copies_elsewhere(file, list(by_id)) if row_of(v["id"]) is None]
    paths = store.org_paths({v["org_id"] for _, v in pairs})
    return [(r, f"提示：这条记录与此前从同名文件导入的记录 {v['record_id']}（{paths[v['org_id']]}）除党组织外完全相同，本次文件中已没有"
                f"记录 {v['record_id']} 的行；如是改正党组织后重新导入，请用 compliance record void {v['record_id']} --reason 党组织填错 "
                "作废它，以免两个党组织都计入") for r, v in pairs if actor is None or actor.covers(paths[v["org_id"]])]


def _dropped_rows(records: Sequence[tracking.Record], rows: Sequence[dict[str, Any]], sheet: str,
                  row_of: Callable[[int], int | None]) -> list[tuple[tracking.Record, str]]:
    """Return a note for each record of one organization that an earlier import of the same file (and sheet: `sheet` is
    `ImportResult.where`) wrote, held within the months this import's rows of the organization span, that no row of this
    import has, when this import is one of the file again (a row of it found a record unchanged there) and added a record
    there (`records`: the ones it wrote; `rows`: the organization's current records, as `org_records` gives them).

    A clerk mends a day or a type in the sheet and imports it again: the mended row is a new record, and the old one goes
    on counting, for its own period, without a word (try-out). A record changed since by `record correct` is not named,
    nor, where nothing of the file was read again, the records of a file that brings new rows only, or another sheet's
    (review).
    """
    version = {v["record_id"]: v for v in rows}
    new = [r for r in records if (v := version.get(r.id)) is not None and v["version"] == 1 and row_of(v["id"]) is not None]
    if not new:
        return []
    source = f"import:{sheet}"
    from_file = [v for v in rows if v["source"] == source]
    written = {r.id for r in records}
    if not any(row_of(v["id"]) is not None and v["record_id"] not in written for v in from_file):
        return []
    read = [v["held_on"] for v in from_file if row_of(v["id"]) is not None]
    # Whole months: a day mended at the edge of a sheet's month (20th to 6th) left its old day outside the days read (try-out).
    first, last = min(read).replace(day=1), month_end(max(read))
    left = [v for v in from_file if row_of(v["id"]) is None and first <= v["held_on"] <= last]
    notes = []
    for v in left:
        # Told beside the new record most like it: of its kind, else of its day.
        r = min(new, key=lambda r: (r.kind != v["kind"], abs((r.held_on - v["held_on"]).days)))
        notes.append((r, f"提示：此前从同名文件导入的记录 {v['record_id']}（{_rules().kind_name(v['kind'])} {v['held_on'].isoformat()}）"
                         f"在本次文件中已没有对应的行，这条记录则是新增的；如是在文件中改了日期或类型后重新导入，记录 {v['record_id']} "
                         f"仍然计入，请用 compliance record void {v['record_id']} --reason 已在文件中改正 作废；如两者确实都有，不必理会"))
    return notes


def _twin_note(r: tracking.Record, rows: Sequence[dict[str, Any]], earlier: bool = False) -> str | None:
    """Say so when `rows` (current records of its organization, as `org_records` gives them) hold another of the same
    kind, day, group, member and counterpart as `r`: perhaps the same meeting entered twice, under another topic.
    With `earlier`, only one with a smaller id counts (of two in one file, the second is named)."""
    twins = [v for v in rows if v["kind"] == r.kind and v["held_on"] == r.held_on and v["record_id"] != r.id
             and (v["group_name"], v["member_name"], v["counterpart"]) == (r.group, r.member, r.counterpart)
             and (not earlier or v["record_id"] < r.id)]
    if not twins:
        return None
    said = "、".join(f"记录编号 {v['record_id']}，主题「{v['topic'] or '（无）'}」" for v in twins[:3])
    name = _rules().kind_name(r.kind)
    # 学时 and attendance are a meeting's: a second 流动党员双联归档 was told of them (try-out).
    return (f"提示：同一天已登记过{name}（{said}）；如是同一次{'会议' if _a_meeting(name) else '登记'}重复录入，"
            f"请用 compliance record void 编号 --reason 重复登记 作废其一，以免{'重复计算学时和参会' if _a_meeting(name) else '重复计入'}")


def _named(f: tracking.Finding) -> str:
    """Return how a note names a finding's period: 支委会 2026年11月, 党小组会 第一党小组 2026年11月."""
    from compliance.report.labels import finding_period

    return f"{f.name}{' ' + (f.group or f.member) if f.group or f.member else ''} {finding_period(f.obligation, f.period)}"


def counted_in(alone: tracking.AloneRecord) -> dict[tuple[str, str, str | None], str]:
    """Return the periods a record judged by itself completes (`record_alone`), each as a note names it."""
    return {(f.obligation, f.period, f.group or f.member): _named(f) for f in alone.findings if f.status == "met"}


def _alone_notes(alone: tracking.AloneRecord, orgs: _Orgs, filed: bool = False) -> list[str]:
    """Return what a record judged by itself (`record_alone`) cannot complete and why; and its other flags. `filed`: of a
    file's row, whose 应到 is asked for as a column, not as `log`'s option (try-out)."""
    from compliance.report.labels import flag_text, quorum_words

    notes = []
    if alone.before_start is not None and alone.record is not None:
        org = orgs[alone.record.org_id][0]
        notes.append(f"注意：这条记录的日期 {alone.record.held_on.isoformat()} 早于「{org.path}」成立或启用跟踪的日期"
                     f"（{alone.before_start.isoformat()}），不计入任何一期；如年份填错，请用 compliance record correct "
                     f"{alone.record.id} --date 日期 --reason 更正原因 更正")
    for f in alone.findings:
        flags = tuple(flag for flag in f.flags if flag in RECORD_FLAGS)
        if not flags:
            continue
        what = _named(f)
        why = tuple(flag for flag in flags if flag in NOT_COUNTED)
        if f.status == "met" or not why:
            counts = alone.record is not None and alone.record.present is not None and alone.record.expected is None
            how = "请在文件中填写「应到」列" if filed else "请用 --expected 填写应到人数"
            ask = f"；{how}（支委会为支委人数），以核对到会人数" if "no_attendance" in flags and counts else ""
            notes.append(f"提示：这条记录计入「{what}」，但{_lacking(flag_text(flags), orgs, f, alone.record)}{ask}")
        else:
            also = tuple(flag for flag in flags if flag not in NOT_COUNTED)
            asides = []
            if "no_quorum" in why and (short := alone.short_of.get((f.obligation, f.period))) is not None:
                present, due, roster, share = short
                asides.append(f"实到 {present} 人，{'未填应到，按花名册正式党员' if roster else '应到'} {due} 人，须{quorum_words(share)}")
            if why == ("wrong_date",) and alone.record is not None and (days := _fixed_days(orgs, f, alone.record.held_on)):
                # A day that is none of the rule's: it was named against the nearest occurrence over, 11月20日 for
                # 6 December, while the secretary thought of 10 December (try-out). The rule's days are what she needs.
                held = alone.record.held_on
                notes.append(f"注意：{held.month}月{held.day}日不是{f.name}，这条记录不计入任何一期（{f.name}为每月{days}"
                             + (f"；另：{flag_text(also)}" if also else "") + "）")
                continue
            if "wrong_date" in why and (days := _fixed_days(orgs, f, alone.record.held_on if alone.record else None)):
                asides.append(f"{f.name}为每月{days}")
            elif "wrong_date" in why and (part := _window_words(orgs, f)):
                # A yearly meeting held in its part of the year (民主评议 at the year's end): one in January is the new year's, too early.
                asides.append(f"{f.name}须在每年{part}进行")
                if alone.record is not None and alone.record.held_on.month <= 3 and part.startswith("第四季度"):
                    # Held in January for the year before, as many are: nothing said what became of that year's (try-out).
                    year = alone.record.held_on.year - 1
                    asides.append(f"如是{year}年度的补开，{year}年仍计为逾期未完成，整改台账中的该项由乡镇核实后销号（compliance rectify close）")
            if "late_election" in why:
                # What the term's end was, and what may have allowed it (try-out: 逾期换届 alone).
                asides.append(f"任期于 {f.period.rsplit('/', 1)[-1]} 届满；如曾经批准延期，请登记换届延期批准（主题写明批准延期至的日期）")
            if also:
                asides.append(f"另：{flag_text(also)}")
            notes.append(f"注意：这条记录不计入「{what}」：{_lacking(flag_text(why), orgs, f, alone.record)}"
                         + (f"（{'；'.join(asides)}）" if asides else ""))
    if alone.not_mobile:
        member, owed = alone.not_mobile
        notes.append(f"注意：「{member}」在花名册上不是流动党员，这条记录不计入「{owed}」；如其已外出流动，请在花名册上标明流动党员")
    if alone.not_owed and alone.record is not None:
        notes.append(_not_owed_words(orgs, alone.record))
    if alone.alone_in_talk:
        notes.append(f"提示：未填写谈话对象（--counterpart），这次谈心谈话只计入「{alone.alone_in_talk}」本人")
    if alone.expected_unlike_roster:
        expected, full = alone.expected_unlike_roster
        notes.append(f"提示：应到 {expected} 人，{'少' if expected < full else '多'}于花名册上的正式党员 {full} 人；"
                     "到会人数按应到人数判断是否达到到会要求，请核实应到人数")
    record = alone.record
    if record is not None and record.hours and not record.attendees and not record.member:
        # Hours are each attendee's: with no list they were no one's, and nothing said so (try-out).
        notes.append(f"提示：填写了学时 {record.hours:g}，但没有参会人员名单，学时不计入任何党员的集中学习培训；如需计入，"
                     f"请用 compliance record correct {record.id} --attendees 名单 --reason 原因 补填")
    return notes


def statuses(kind: type[Enum]) -> Callable[[str], Any]:
    """Return the parser of a `--status` taking the members of `kind`: as JSON names them (missed) or as the tables and
    the help do (逾期未完成). `overdue --status 逾期未完成` was refused, its choices given in English alone (try-out)."""
    from compliance.report.labels import STATUS_LABELS

    words = {m.value: m for m in kind} | {STATUS_LABELS[m.value]: m for m in kind}

    def parse(text: Any) -> Any:
        if isinstance(text, kind):
            return text
        found = words.get(str(text).strip())
        if found is None:
            # In the parser's own words, which the command line's errors put in Chinese (`_usage_words`).
            raise typer.BadParameter(f"{text!r} is not one of {', '.join(repr(w) for w in words)}.")
        return found

    return parse


class AnyStatus(str, Enum):
    """The statuses `status` may be narrowed to."""

    met = "met"
    invalid = "invalid"
    missed = "missed"
    due = "due"
    upcoming = "upcoming"
    exempt = "exempt"


@app.command()
@fails_cleanly
def status(
    org: Optional[str] = typer.Option(None, "--org", help=ORG_HELP),
    year: Optional[int] = typer.Option(None, "--year", help="列出这一整年（含未开始的周期）。"),
    as_of: Optional[str] = AS_OF_OPTION,
    known_at: Optional[str] = KNOWN_AT_OPTION,
    only: Optional[list[AnyStatus]] = typer.Option(None, "--status", parser=statuses(AnyStatus),
                                                   help="只看这些状态（可重复）：missed 逾期未完成、invalid 无效、due 待完成、"
                                                        "upcoming 未开始、met 已完成、exempt 免除（含不检查的月份）。"),
    obligation: Optional[list[str]] = typer.Option(None, "--obligation", help="只看这些事项（可重复），如 --obligation 党费 --obligation 党课。"),
    fmt: Format = FORMAT_OPTION,
) -> None:
    """一个党组织本年度到当前周期的各项完成情况（含本月尚未到日子的固定学习日等）。"""
    # As overdue has it: a secretary looks at the dues of the year, say (try-out).
    slugs = tracking.obligation_slugs(_rules(), obligation) if obligation else None
    store, actor = session()
    org = own_org(actor, org)
    day = _as_of_option(as_of)
    if year is not None and not 1900 < year < 3000:
        raise InputError(f"--year：值「{year}」不是有效年份")
    target = year or day.year
    # To the end of the month: its coming 固定学习日 are what a secretary looks for (未开始 until their day).
    last = month_end(day) if year is None else date(target, 12, 31)
    # The year so far; in January also what ended with December, as overdue lists it (`year_start`): last
    # year's 组织生活会 and 民主评议, missed on 31 December, were in no status a secretary looked at.
    window = tracking.Window(date(target, 1, 1) if year is not None else tracking.year_start(day), last, day, _known_at(known_at))
    known_at_alone(as_of, window.known_at)
    workdays_notice(window.first, window.last, actor, store)
    path = tracking.org_path(store, org)
    require_read(store, actor, path)
    known_before_records(store, path, window.known_at)
    findings = tracking.org_status(store, _rules(), org, window)
    index = store.index_around(org)
    if tracking.terms_untracked(store, _rules(), index, [index.resolve(org)]):
        typer.echo("提示：这个党组织没有成立日期，也没有换届选举记录，无法跟踪换届（届满时间无从算起）："
                   "请在组织文件的「成立日期」列填写后重新导入，或补录最近一次换届选举。", err=True)
    # A year asked for is named: its periods are shown without it (2月, 一季度).
    named = f"{year}年" if year is not None else ""
    narrowed = ""
    if only:
        # A branch's year is some 350 items, most of them done: a secretary wants what is left (try-out).
        wanted = {s.value for s in only}
        # What "what do I still owe" with --status due left out: this month's 固定学习日 not yet come (未开始) (try-out).
        coming = [f for f in findings if f.status == "upcoming" and "/" not in f.period and f.due <= last
                  and (slugs is None or f.obligation in slugs)] if "upcoming" not in wanted and year is None else []
        findings = [f for f in findings if f.status in wanted]
        # exempt is 免除 and 不检查 both (`status_label`): 只列免除 over a table of 不检查 read as a mistake
        narrowed = "，只列" + "、".join("免除、不检查" if s == "exempt" else STATUS_LABELS[s] for s in dict.fromkeys(s.value for s in only))
    if slugs is not None:
        findings = [f for f in findings if f.obligation in slugs]
        kinds = _rules().kinds
        narrowed += ("；" if narrowed else "，只列") + "、".join(kinds[w].name if w in kinds else w for w in obligation or ())
    # What the records lack is read as they are now: of a past moment (--known-at), 材料不全 stands alone.
    lacking = _evidence_lacking(store, findings) if fmt is Format.table and window.known_at is None else None
    _emit(findings, fmt, f"{path} {named}组织生活完成情况（{as_of_words(day, window.known_at)}{narrowed}）", show_org=False, year=target,
          lacking=lacking)
    if only and coming and fmt is Format.table:
        from compliance.report.findings import _when

        said = "、".join(dict.fromkeys(f"{f.name} {_when(f, target)}" for f in coming[:5]))
        console.print(f"提示：本月还有 {len(coming)} 项尚未到日子（未开始），未列出：{said}{'等' if len(coming) > 5 else ''}；"
                      "加 --status upcoming 可一并列出", style="yellow", markup=False, soft_wrap=True)
    below = [o for o in index.by_id.values() if o.parent_id == index.resolve(org).id]
    if below and fmt is Format.table:
        # A 社区党委's status showed its own 换届 alone, and nothing said where its branches' items are (try-out).
        console.print(f"提示：以上只是「{path}」本级的事项；下级 {len(below)} 个党组织的情况请用 compliance overdue --under {path} 查看",
                      style="yellow", markup=False, soft_wrap=True)


class Status(str, Enum):
    """The statuses `overdue` lists."""

    missed = "missed"
    invalid = "invalid"
    due = "due"



@app.command()
@fails_cleanly
def overdue(
    under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级（默认全部）。"),
    since: Optional[str] = typer.Option(None, "--since", help="从此日期起（默认当年1月1日；1月份从上年12月1日起，上年年底到期的事项仍列出）。"),
    as_of: Optional[str] = AS_OF_OPTION,
    known_at: Optional[str] = KNOWN_AT_OPTION,
    obligation: Optional[list[str]] = typer.Option(None, "--obligation", help="只看这些事项（可重复），如 --obligation 党员大会 --obligation 党课。"),
    status: Optional[list[Status]] = typer.Option(None, "--status", parser=statuses(Status),
                                                  help="只看这些状态（可重复）：missed 逾期未完成、invalid 无效、due 待完成。"),
    fmt: Format = FORMAT_OPTION,
    jobs: int = JOBS_OPTION,
) -> None:
    """逾期未完成、无效和待完成的事项：表格按党组织列出，逾期未完成最多的党组织在前；JSON、CSV 按最严重、最早的在前。"""
    store, actor = session()
    # A county sends each township the list of one obligation, say: it filtered a 15,682-row CSV by hand (try-out).
    only = tracking.obligation_slugs(_rules(), obligation) if obligation else None
    keep = tuple(s.value for s in status) if status else tracking.OVERDUE_STATUSES
    under = default_scope(actor, under)
    path = tracking.org_path(store, under) if under else None     # a province's tree is read once for both
    if path:
        require_read(store, actor, path)
    day = _as_of_option(as_of)
    first = _date_option(since, "--since") or tracking.year_start(day)
    if first > day:
        raise InputError(f"--since：值「{since}」晚于判断日期 {day.isoformat()}")
    window = tracking.Window(first, day, day, _known_at(known_at))
    known_at_alone(as_of, window.known_at)
    known_before_records(store, path, window.known_at)
    workdays_notice(window.first, window.last, actor, store)
    if fmt is not Format.table:
        # Written block by block where each is evaluated, then merged: a province's findings are not held here.
        encode, end, write = ((json_encoder(), JSON_END, write_json_bytes) if fmt is Format.json
                              else (csv_encoder(), "\n", write_csv_bytes))
        with tracking.scratch_folder() as folder:
            runs = tracking.overdue_runs(store, _rules(), under, window, encode, folder, jobs_count(jobs), end, keep, only)
            out = binary_out(sys.stdout)
            write(tracking.merged_bytes(runs, folder), out)
            if fmt is Format.json:
                out.write(b"\n")
            out.flush()
        return
    kinds = _rules().kinds         # a slug typed is said by its name
    chosen = [*(kinds[w].name if w in kinds else w for w in obligation or ()), *(STATUS_LABELS[s.value] for s in status or ())]
    title = (f"{path or '全部'} 待办与逾期事项（{as_of_words(day, window.known_at)}"     # the path, not a code typed (XH)
             + (f"；只列{'、'.join(chosen)}" if chosen else "") + "）")
    from compliance import blocks      # already loaded with the CLI (compliance.supervision imports it)

    if tracking.scope_size(store, under) >= blocks.PARALLEL_MIN:
        # A large scope's table counts its findings by unit: they are counted where they are made.
        # (A scope of so many organizations with at most TABLE_LIMIT findings is evaluated again, to list them.)
        counts = tracking.overdue_counts(store, _rules(), under, window, jobs_count(jobs), keep, only)
        if sum(n for statuses, _names in counts.values() for n in statuses.values()) > tables.TABLE_LIMIT:
            print_counts(console, counts, title, path)
            return
    findings = tracking.overdue(store, _rules(), under, window, jobs_count(jobs), keep, only)
    _emit(findings, fmt, title, root=path, year=day.year)
    if window.known_at is None and (only is None or any(ob.cadence == "term" for catalog in _rules().catalogs.values()
                                                        for ob in catalog.obligations if ob.slug in only)):
        # Only status said so, an organization at a time: a township office never saw its 党总支 and 机关党支部 left out (try-out).
        index = store.index_around(under)
        scope = index.subtree(index.resolve(under)) if under else list(index.by_id.values())
        if untracked := tracking.terms_untracked(store, _rules(), index, scope):
            typer.echo(_untracked_words(untracked, "以上未列其换届"), err=True)


def _untracked_words(untracked: Sequence[OrgRow], listed: str = "") -> str:
    """Return the notice naming organizations whose 换届 cannot be followed (`tracking.terms_untracked`); `listed` says what a
    listing above it left out."""
    return (f"提示：{orgs_named([o.path for o in untracked])}没有成立日期，也没有换届选举记录，无法跟踪换届（届满时间无从算起）"
            + (f"，{listed}" if listed else "") + "：请在组织文件的「成立日期」列填写后重新导入，或补录最近一次换届选举。")


@catalog_app.command("list")
@fails_cleanly
def catalog_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出所有规则集。"""
    catalog_report.print_catalogs(console, _rules(), fmt.value)


@catalog_app.command("show")
@fails_cleanly
def catalog_show(name: Optional[str] = typer.Argument(None, metavar="[规则集]",
                                                    help="规则集名称，如 tuhe-2021（默认为 --org 所用的规则集）。"),
                 org: Optional[str] = typer.Option(None, "--org", help="看此党组织所用的规则集（默认为用户所属党组织的，"
                                                                       "没有用户时为数据库的默认规则集）。"),
                 fmt: Format = FORMAT_OPTION) -> None:
    """查看一个规则集的全部事项、周期、证据要求和出处。"""
    if name is not None and org is not None:
        raise InputError("规则集名称与 --org 只能给出其一")
    if name is None:
        # A secretary sent here by an error does not know the catalog's name: it said 缺少必需的参数：规则集 (try-out).
        # Her branch's own catalog, not the database's default: a township can follow a local one.
        store, actor = session()
        default = tracking.default_catalog(store)
        # A township's user, too: the township may follow a local catalog the database's default is not.
        ref = org or actor.scope or None
        if ref is None:
            name = default
        else:
            index = store.index_around(ref)
            found = index.resolve(ref)
            require_read(store, actor, found.path)
            name = index.catalog_of(found, default)
    catalog_report.print_catalog(console, _rules().catalog(name), fmt.value, _rules().kind_name)


@catalog_app.command("check")
@fails_cleanly
def catalog_check(file: Path = typer.Argument(..., metavar="文件", help="规则集 TOML 文件。")) -> None:
    """检查一个规则集文件；有错时指出行号和原因。"""
    if not file.is_file():
        raise InputError(f"{file}：{'是文件夹，不是文件' if file.is_dir() else '文件不存在'}")
    from obligations.catalog import read_raw

    name = read_raw(file).data.get("name")
    rules = load_rules(extra_catalog=file)
    catalog = rules.catalog(name)
    console.print(f"{file}：规则集 {catalog.name} 检查通过，共 {len(catalog.obligations)} 项事项。")
