"""Commands for members: the six-month watch, exemptions, dues, mobile members, training hours."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from operator import attrgetter, itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from dateutil.relativedelta import relativedelta
from rich.table import Table

from compliance import membership, tracking
from compliance.access import PermissionDenied, default_scope, require_read, require_write
from compliance.cli import (
    say_skipped,
    AS_OF_OPTION,
    FORMAT_OPTION,
    JOBS_OPTION,
    KNOWN_AT_OPTION,
    SHEET_OPTION,
    Format,
    own_org,
    _as_of_option,
    _date_option,
    _id_argument,
    _rules,
    _known_at,
    as_of_words,
    known_at_alone,
    known_words,
    _today,
    app,
    console,
    fails_cleanly,
    jobs_count,
    member_app,
    orgs_named,
    session,
)
from compliance.errors import InputError
from compliance.evaluate import DUES
from compliance.members import PARTICIPATION_KINDS, month_index
from compliance.report.assessments import emit_rows
from compliance.report.labels import flag_text, yuan
from compliance.report.tables import counts_table, every, print_listing, shown_path, titled_table, without_own_org
from obligations.cadence import month_end

if TYPE_CHECKING:
    from compliance.store import Store

members_app = typer.Typer(help="党员情况：六个月提示、学时、花名册提示。", no_args_is_help=True)
# --org of the dues commands, which a branch pays in.
BRANCH_HELP = "党支部（支部书记用户可省略，即本支部）。"

dues_app = typer.Typer(help="党费：导入、登记、列表、未交、更正、撤销。", no_args_is_help=True)
mobile_app = typer.Typer(help="流动党员：列表（可只列失联的）。", no_args_is_help=True)
app.add_typer(members_app, name="members")
app.add_typer(dues_app, name="dues")
app.add_typer(mobile_app, name="mobile")
LEVELS = {"watch": "[yellow]关注[/]", "review": "[bold red]提请支部审查[/]"}
LISTLESS_SHOWN = 10      # branches named by the watch's notice of records without attendance lists
LEVEL_WORDS = {"watch": "关注", "review": "提请支部审查"}


WHOLE = ("提示", "状态", "未参加", "未交费", "连续未交", "连续未交（含本月）", "最近参加", "最近交费", "最近入党", "最近联系", "最近交费月份")


def _scope(store, actor, under: Optional[str]) -> Optional[str]:
    """Return the path of the scope (`--under` as given, a code or a path, or the user's own), after checking it may be read."""
    under = default_scope(actor, under)
    if under:
        under = tracking.org_path(store, under)
        require_read(store, actor, under)
    return under


@members_app.command("watch")
@fails_cleanly
def members_watch(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                  as_of: Optional[str] = AS_OF_OPTION, known_at: Optional[str] = KNOWN_AT_OPTION,
                  everyone: bool = typer.Option(False, "--all", help="列出全部党员，不只是需要关注的。"),
                  fmt: Format = FORMAT_OPTION, jobs: int = JOBS_OPTION) -> None:
    """六个月提示：连续3个月未参加组织生活或未交党费的党员需关注，6个月的提请支部审查（不作自行脱党认定）。"""
    store, actor = session()
    under = _scope(store, actor, under)
    day = _as_of_option(as_of)
    known = _known_at(known_at)
    known_at_alone(as_of, known)
    rows = membership.member_watch(store, under, day, keep=None if everyone else attrgetter("level"), jobs=jobs_count(jobs),
                                   known_at=known, rules=_rules())
    data = ({"org": r.org, "member": r.member, "mobile": r.mobile,
             "last_participation": r.last_participation.isoformat() if r.last_participation else None,
             "months_absent": r.months_absent, "last_dues": r.last_dues, "months_unpaid": r.months_unpaid,
             "level": LEVEL_WORDS.get(r.level or ""), "reasons": "；".join(r.reasons)} for r in rows)
    # A branch whose records list no one who attended: its members' months without organizational life are never counted,
    # and nothing said why (clerk's try-out: 未参加 — for every member).
    # A 党小组会's list is its group's, not the branch's: it makes no month a listed one (`members.activity`; review).
    unlisted = [] if known is not None else store.without_lists(under, PARTICIPATION_KINDS - {"group_meeting"},
                                                                  date(day.year - 1, day.month, 1), day)
    listless = ""
    if unlisted:
        names = "、".join(shown_path(p, under) for p in unlisted[:LISTLESS_SHOWN]) + ("等" if len(unlisted) > LISTLESS_SHOWN else "")
        listless = (f"提示：{len(unlisted)}个党支部（{names}）一年来的会议记录都没有「参会人员」名单，其党员是否连续未参加组织生活"
                    "无从判断（「未参加」为 —）；请在会议记录中填写参会人员（只填请假人员不够：未请假而缺席的无从得知）")
    if fmt is not Format.table:
        emit_rows(data, fmt.value, {"org": "党组织", "member": "党员", "mobile": "流动党员", "last_participation": "最近参加",
                                    "months_absent": "未参加月数", "last_dues": "最近交费月份", "months_unpaid": "未交费月数",
                                    "level": "提示", "reasons": "原因"})
        if listless:
            sys.stderr.write(listless + "\n")
        return
    if not rows:
        console.print(f"{as_of_words(day, known)}，没有需要关注的党员。")
        if listless:
            console.print(listless, style="yellow", markup=False, soft_wrap=True)
        return
    title = f"党员六个月提示（{as_of_words(day, known)}，只计完整月份）"

    def detail() -> Table:
        table = titled_table(title, ("党组织", "党员", "最近参加", "未参加", "最近交费", "未交费", "提示"), WHOLE)
        for r in rows:
            table.add_row(shown_path(r.org, under), r.member + ("（流动）" if r.mobile else ""), str(r.last_participation or "—"),
                          "—" if r.months_absent is None else f"{r.months_absent}个月", r.last_dues or "—",
                          "—" if r.months_unpaid is None else f"{r.months_unpaid}个月", LEVELS.get(r.level or "", ""))
        return without_own_org(table, (r.org for r in rows), under)

    print_listing(console, rows, detail, lambda: counts_table(title, rows, attrgetter("org"), under, [
        ("党员", every), ("提请支部审查", lambda r: r.level == "review"), ("关注", lambda r: r.level == "watch")]), "人")
    if any(r.mobile for r in rows):
        # A mobile member's months shown as attended with no meeting in them read as a mistake (try-out).
        console.print("流动党员：向党支部的半年汇报计为该半年各月都参加了组织生活（流动党员在流入地参加组织生活，每半年向党支部"
                      "汇报一次），所以其「最近参加」可能是汇报的日期。", soft_wrap=True, markup=False)
    # 最近参加 in April beside 未参加 0个月 after a 请假 in November read as a contradiction (try-out).
    if any(r.months_absent is not None and r.last_participation is not None
           and month_index(day) - 1 - month_index(r.last_participation) > r.months_absent for r in rows):
        console.print("「未参加」是到上月为止连续未参加的月数：请假、免除的月份，流动党员半年汇报所覆盖的月份，没有参会名单的月份，"
                      "以及开始计算之前（去年1月、启用跟踪或转入之前）的月份，都不计为未参加，所以可能少于「最近参加」之后的月份数。",
                      soft_wrap=True, markup=False)
    if listless:
        console.print(listless, style="yellow", markup=False, soft_wrap=True)
    console.print("提示只供党支部审查参考：是否属于自行脱党，由支部党员大会依照党章第九条讨论决定。", soft_wrap=True)


@members_app.command("hours")
@fails_cleanly
def members_hours(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                  year: Optional[int] = typer.Option(None, "--year", help="年份（默认今年）。"),
                  known_at: Optional[str] = KNOWN_AT_OPTION,
                  everyone: bool = typer.Option(False, "--all", help="列出全部党员，不只是不足32学时的。"),
                  fmt: Format = FORMAT_OPTION, jobs: int = JOBS_OPTION) -> None:
    """集中学习培训学时：每名党员每年不少于32学时，列出不足的及差额（只看登记了学时的党支部）。"""
    store, actor = session()
    under = _scope(store, actor, under)
    this_year = _today().year
    if year is not None and not 1921 <= year <= this_year:
        # A year not begun, or a typed 26 for 2026, listed every member as short of all 32 hours.
        raise InputError(f"--year：值「{year}」应为 1921 至 {this_year} 之间的年份")
    target = this_year if year is None else year
    known = _known_at(known_at)
    rows = membership.hours_list(store, under, target, keep=None if everyone else lambda r: r["missing"] > 0,
                                 jobs=jobs_count(jobs), known_at=known)
    if fmt is not Format.table:
        emit_rows(rows, fmt.value, {"org": "党组织", "member": "党员", "hours": "学时", "missing": "差额", "exempt": "免除"})
        return
    title = f"{target}年集中学习培训学时（不少于32学时{'，' + known_words(known) if known else ''}）"

    def detail() -> Table:
        table = titled_table(title, ("党组织", "党员", "学时", "差额"), WHOLE)
        for r in rows:
            table.add_row(shown_path(r["org"], under), r["member"], f"{r['hours']:g}", "免除" if r["exempt"] else f"{r['missing']:g}")
        return without_own_org(table, (r["org"] for r in rows), under)

    empty = "没有不足32学时的党员（只看登记了学时的党支部）。"
    if not rows:
        # A year begun before a branch was tracked is not judged on hours at all: it read as every member met (try-out).
        index = store.index_around(under)
        scope = index.subtree(index.resolve(under)) if under else list(index.by_id.values())
        late = [o for o in scope if o.type == "党支部" and (start := index.starts_of(o)) is not None
                and date(target, 1, 1) < start <= date(target, 12, 31)]
        if late:
            empty = empty[:-2] + f"；{len(late)}个党支部在 {target} 年中才成立或启用，其党员本年学时不检查）。"
    print_listing(console, rows, detail, lambda: counts_table(title, rows, itemgetter("org"), under, [
        ("党员", every), ("不足32学时", lambda r: r["missing"] > 0)]), "人", empty=empty)


@members_app.command("indicators")
@fails_cleanly
def members_indicators(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                       as_of: Optional[str] = AS_OF_OPTION,
                       everyone: bool = typer.Option(False, "--all", help="列出全部党支部，不只是有提示的。"),
                       fmt: Format = FORMAT_OPTION) -> None:
    """花名册提示：没有35岁以下党员、没有女党员、3年以上未发展党员的党支部（村、社区），预备期满超过3个月仍为预备党员的党支部。"""
    store, actor = session()
    under = _scope(store, actor, under)
    day = _as_of_option(as_of)
    rows = [r for r in membership.indicators(store, under, day) if everyone or r.flags]
    data = [{"org": r.org, "members": r.members, "under_35": r.under_35, "women": r.women,
             "newest_joined": r.newest_joined.isoformat() if r.newest_joined else None, "flags": "、".join(r.flags),
             "probation_over": list(r.probation_over)} for r in rows]
    if fmt is not Format.table:
        emit_rows(data, fmt.value, {"org": "党组织", "members": "党员数", "under_35": "35岁以下", "women": "女党员",
                                    "newest_joined": "最近入党", "flags": "提示"})
        return
    title = f"花名册提示（截至 {day.isoformat()}）"

    def detail() -> Table:
        # The flags fold: kept whole, three of them left the 党组织 column two characters wide at 80 columns.
        table = titled_table(title, ("党组织", "党员数", "35岁以下", "女党员", "最近入党", "提示"), ("党员数", "35岁以下", "女党员", "最近入党"))
        for r in data:
            table.add_row(shown_path(r["org"], under), str(r["members"]), str(r["under_35"]), str(r["women"]), r["newest_joined"] or "—", r["flags"])
        return table

    print_listing(console, data, detail, lambda: counts_table(title, data, itemgetter("org"), under, [
        ("党支部", every), ("有提示", itemgetter("flags"))], orgs=None), "个", empty="没有需要提示的党支部。")


@member_app.command("exempt")
@fails_cleanly
def member_exempt(name: str = typer.Argument(..., metavar="姓名", help="党员姓名。"),
                  org: Optional[str] = typer.Option(None, "--org", help="所在党支部（支部书记用户可省略，即本支部）。"),
                  start: str = typer.Option(..., "--from", help="开始日期。"),
                  end: str = typer.Option(..., "--to", help="结束日期。"),
                  reason: str = typer.Option(..., "--reason", help="原因，如 因病经批准、经批准出国。")) -> None:
    """登记经批准的免除（因病、经批准出国等）：期间不计入未参加组织生活和未交党费的月数。"""
    store, actor = session()
    org = own_org(actor, org)       # as log, status and dues take a secretary's own branch (try-out)
    require_write(store, actor, "exempt", [tracking.org_path(store, org)])
    first, last = _date_option(start, "--from"), _date_option(end, "--to")
    assert first and last
    exemption = membership.exempt_member(store, org, name, first, last, reason)
    console.print(f"已登记免除：{name} {first.isoformat()} 至 {last.isoformat()}（编号 {exemption}）")
    for other in membership.overlapping_exemptions(store, org, name, exemption):
        console.print(f"提示：与已登记的免除（编号 {other['id']}：{other['start'].isoformat()} 至 {other['end'].isoformat()}，{other['reason']}）"
                      "时间重叠；如为重复登记或日期有误，请用 member unexempt 撤销其一", style="yellow", markup=False)
    if (last - first).days > 366:
        console.print(f"提示：免除期超过一年（{first.isoformat()} 至 {last.isoformat()}），期间不计其未参加组织生活和未交党费；"
                      "如结束日期有误，请核对（member exemptions 可查看已登记的免除）", style="yellow", markup=False, soft_wrap=True)


@member_app.command("list")
@fails_cleanly
def member_list(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                as_of: Optional[str] = AS_OF_OPTION,
                everyone: bool = typer.Option(False, "--all", help="也列出已离开和尚未转入的党员。"),
                fmt: Format = FORMAT_OPTION) -> None:
    """列出花名册：党员、党小组、类别、入党日期，转入和离开的日期。"""
    store, actor = session()
    under = _scope(store, actor, under)
    day = _date_option(as_of, "--as-of") or _today()
    found = membership.roster(store, under, day, everyone)
    if fmt is not Format.table:
        emit_rows(found, fmt.value, {"org": "党组织", "member": "姓名", "group": "党小组", "status": "类别", "mobile": "流动党员",
                                    "joined": "入党日期", "arrived": "转入日期", "left": "离开日期", "left_reason": "离开原因",
                                    "on_roster": "在册"})
        return
    rows = list(found)
    if not rows:
        console.print(f"{day.isoformat()} 花名册上没有党员。")
        return
    table = titled_table(f"花名册（{day.isoformat()}）", ("党组织", "姓名", "党小组", "类别", "流动党员", "入党日期", "转入日期", "离开"),
                         ("姓名", "类别", "入党日期", "转入日期"))
    for r in rows:
        table.add_row(shown_path(r["org"], under), r["member"], r["group"] or "—", r["status"], "是" if r["mobile"] else "",
                      r["joined"] or "—", r["arrived"] or "", f"{r['left']} {r['left_reason']}" if r["left"] else "")
    console.print(without_own_org(table, (r["org"] for r in rows), under))
    console.print(f"共 {sum(r['on_roster'] for r in rows)} 人在册" + (f"，另有 {sum(not r['on_roster'] for r in rows)} 人已离开或尚未转入"
                                                                       if everyone else ""), markup=False)


@member_app.command("leave")
@fails_cleanly
def member_leave(name: str = typer.Argument(..., metavar="姓名", help="党员姓名。"),
                 org: Optional[str] = typer.Option(None, "--org", help="所在党支部（支部书记用户可省略，即本支部）。"),
                 day: str = typer.Option(..., "--date", help="离开日期（如组织关系转出之日）。"),
                 reason: str = typer.Option(..., "--reason", help=f"离开原因：{'、'.join(membership.LEAVE_REASONS)}。"),
                 note: Optional[str] = typer.Option(None, "--note", help="说明，如 转往某某党支部、批准文号。")) -> None:
    """登记党员离开本支部花名册（组织关系转出、去世、出党等）：此后不计入应到人数和各项提示，记录保留。"""
    store, actor = session()
    org = own_org(actor, org)
    left_on = _date_option(day, "--date")
    assert left_on
    done = membership.leave_member(store, org, name, left_on, reason.strip(), note, actor)
    console.print(f"已登记离开：{done['member']}（{done['org']}）{done['left_on']} {done['reason']}；"
                  "此后不计入应到人数、六个月提示和党费，离开前各月的党费和此前已结束各期的事项仍照常检查",
                  markup=False, soft_wrap=True)
    _counted_note(done["left_on"], done["counted"])
    _secretary_note(done)


def _secretary_note(done: dict[str, Any]) -> None:
    """Point out that the member who left was the branch's 书记, named on the organization, not on the roster."""
    if done["secretary"]:
        console.print(f"提示：「{done['member']}」是「{done['org']}」的书记；请用 org import 更新其「书记」列（书记空缺请在「书记」列填 空缺），"
                      "否则整改台账的责任人和书记讲党课的核对仍按此人", style="yellow", markup=False, soft_wrap=True)


def _counted_note(day: str, counted: list[int], arrived_at: str | None = None) -> None:
    """Point out the meetings of `day` or later whose 应到, stored with a list of attendees, counted a member who left (or, `arrived_at`, left out one who came)."""
    if counted:
        shown = "、".join(map(str, counted[:10])) + (f" 等{len(counted)}条" if len(counted) > 10 else "")
        where = f"「{arrived_at}」" if arrived_at else ""
        console.print(f"提示：{where}{day} 及以后已登记的会议记录 {shown} 填有参会名单和应到人数；如应到人数是按当时的花名册计算的，"
                      f"其中{'没有' if arrived_at else '仍包含'}此人，请用 record correct 编号 --expected 人数 --reason 原因 更正",
                      style="yellow", markup=False, soft_wrap=True)


@member_app.command("transfer")
@fails_cleanly
def member_transfer(name: str = typer.Argument(..., metavar="姓名", help="党员姓名。"),
                    org: str = typer.Option(..., "--org", help="转出的党支部。"),
                    to: str = typer.Option(..., "--to", metavar="党组织", help="转入的党支部（同一数据库中）。"),
                    day: str = typer.Option(..., "--date", help="转接日期。"),
                    group: Optional[str] = typer.Option(None, "--group", help="转入后所在党小组。"),
                    note: Optional[str] = typer.Option(None, "--note", help="说明，如 介绍信编号。")) -> None:
    """党员组织关系在本库党支部之间转接：从原支部花名册离开（转出），同日列入新支部花名册；每月党费只在月初所在的支部计。"""
    store, actor = session()
    moved_on = _date_option(day, "--date")
    assert moved_on
    done = membership.transfer_member(store, org, name, to, moved_on, group, note, actor)
    console.print(f"已转接：{done['member']} {done['day']} 从「{done['org']}」转入「{done['to']}」", markup=False, soft_wrap=True)
    _counted_note(done["day"], done["counted"])
    _counted_note(done["day"], done["counted_there"], arrived_at=done["to"])
    for e in done["exemptions"]:
        console.print(f"提示：「{done['member']}」在「{done['org']}」登记的免除（编号 {e['id']}：{e['start'].isoformat()} 至 "
                      f"{e['end'].isoformat()}，{e['reason']}）不随转接带到新支部；如仍适用，请在新支部用 member exempt 登记",
                      style="yellow", markup=False, soft_wrap=True)
    _secretary_note(done)


@member_app.command("unleave")
@fails_cleanly
def member_unleave(name: str = typer.Argument(..., metavar="姓名", help="党员姓名。"),
                   org: str = typer.Option(..., "--org", help="所在党支部。"),
                   reason: str = typer.Option(..., "--reason", help="撤销原因，如 登记错人、日期有误。")) -> None:
    """撤销登记错的离开：党员回到花名册，审计日志保留原登记和撤销原因。"""
    store, actor = session()
    done = membership.unleave_member(store, org, name, reason, actor)
    console.print(f"已撤销离开：{done['member']}（{done['org']}）原登记 {done['left_on']} {done['reason']}"
                  + (f"；转入「{done['transfer']}」一并撤销，不在其花名册上" if done.get("transfer") else ""),
                  markup=False, soft_wrap=True)


REVIEW_YEAR_OPTION = typer.Option(None, "--year", help="评议年度（默认今年；1至3月默认上一年）。")


def _review_year(store: "Store", year: Optional[int]) -> int:
    """Return the year of 民主评议 meant: the one given, else this one, or in January to March the one just ended."""
    day = store.today()
    return year if year is not None else day.year - (day.month <= 3)


@member_app.command("grade")
@fails_cleanly
def member_grade(name: Optional[str] = typer.Argument(None, metavar="姓名", help="党员姓名（用 --file 导入时省略）。"),
                 org: Optional[str] = typer.Option(None, "--org", help=BRANCH_HELP),
                 grade: Optional[str] = typer.Option(None, "--grade", help="等次：优秀、合格、基本合格、不合格。"),
                 year: Optional[int] = REVIEW_YEAR_OPTION,
                 note: Optional[str] = typer.Option(None, "--note", help="说明（如不合格的处置意见）。"),
                 file: Optional[Path] = typer.Option(None, "--file", help="CSV 或 XLSX 文件（列：姓名、党组织、年度、等次、说明）。"),
                 sheet: Optional[str] = SHEET_OPTION) -> None:
    """登记民主评议党员的评定等次（优秀、合格、基本合格、不合格）：一名党员，或用 --file 导入一个党支部、一个乡镇的名单。"""
    from compliance.orgs import OrgIndex, OrgRow
    from compliance.tabular import Table as Rows, parse_text, read_table

    store, actor = session()
    if sheet is not None and file is None:
        raise InputError("--sheet 只用于 --file 导入的 XLSX 工作簿")
    if file is not None:
        if name is not None or grade is not None or org is not None:
            raise InputError("--file：导入文件时不再给姓名、--org、--grade（均在文件的列中）")
        table = read_table(file, membership.GRADE_COLUMNS, sheet)
        index = OrgIndex(store.orgs())
        named = [(found.path, number) for number, values in table.rows
                 if isinstance(found := index.find(parse_text(values.get("org")) or ""), OrgRow)]
        require_write(store, actor, "grade", list(dict.fromkeys(path for path, _ in named)))
        reason = f"导入 {file.name}"
    else:
        if name is None or grade is None:
            raise InputError("请给出党员姓名和 --grade 等次（或用 --file 导入名单）")
        org = own_org(actor, org)
        require_write(store, actor, "grade", [tracking.org_path(store, org)])
        given = {"member": name, "org": org, "year": _review_year(store, year), "grade": grade, "note": note}
        headers = {"member": "姓名", "org": "--org", "year": "--year", "grade": "--grade", "note": "--note"}
        table = Rows(Path("命令行参数"), headers, [(0, given)])
        reason = "登记"
    new, changed, same = membership.load_grades(store, table, reason)
    console.print(f"评定等次：新增 {new} 人" + (f"，更改 {changed} 人" if changed else "") + (f"，{same} 人与已登记的相同，未重复登记" if same else "")
                  + "。", markup=False)


@member_app.command("grades")
@fails_cleanly
def member_grades(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                  year: Optional[int] = REVIEW_YEAR_OPTION,
                  fmt: Format = FORMAT_OPTION) -> None:
    """民主评议党员的评定等次：各党支部优秀、合格、基本合格、不合格和未评定的人数，及基本合格、不合格的党员。"""
    store, actor = session()
    under = _scope(store, actor, under)
    year = _review_year(store, year)
    rows = membership.grade_list(store, under, year)
    if fmt is not Format.table:
        emit_rows(rows, fmt.value, {"org": "党组织", "member": "党员", "status": "类别", "grade": "等次", "note": "说明"})
        return
    by_org: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_org.setdefault(r["org"], []).append(r)
    if not by_org:
        console.print(f"{year}年：范围内没有党支部的党员。")
        return
    grades = membership.GRADES
    table = titled_table(f"{year}年民主评议党员评定等次", ("党组织", *grades, "未评定", "未评定的正式党员"), (*grades, "未评定"))
    counts = dict.fromkeys((*grades, "未评定"), 0)
    for path, members in by_org.items():
        ungraded = [r["member"] for r in members if r["grade"] is None and r["status"] == "正式"]
        shown = [sum(1 for r in members if r["grade"] == g) for g in grades]
        for g, n in zip(grades, shown):
            counts[g] += n
        counts["未评定"] += len(ungraded)
        names = "、".join(ungraded[:5]) + (f"等{len(ungraded)}人" if len(ungraded) > 5 else "")
        table.add_row(shown_path(path, under), *map(str, shown), str(len(ungraded)), names or "—")
    console.print(table)
    console.print("合计：" + "，".join(f"{g} {n} 人" for g, n in counts.items()) + f"（{len(by_org)} 个党支部）", markup=False)
    low = [r for r in rows if r["grade"] in ("基本合格", "不合格")]
    if low:
        # Those the branch must follow up (不合格党员处置): named, with what was noted.
        console.print("基本合格、不合格的党员：" + "；".join(
            f"{shown_path(r['org'], under)} {r['member']}（{r['grade']}{'：' + r['note'] if r['note'] else ''}）" for r in low),
            markup=False, soft_wrap=True)


@member_app.command("exemptions")
@fails_cleanly
def member_exemptions(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                      known_at: Optional[str] = typer.Option(None, "--known-at", help="只看此前登记的免除，撤销也只计此前的，复现当时结果。"),
                      fmt: Format = FORMAT_OPTION) -> None:
    """列出已登记的免除（编号、党员、起止日期、原因）。"""
    store, actor = session()
    under = _scope(store, actor, under)
    known = _known_at(known_at)
    rows = membership.exemption_list(store, under, known)
    if fmt is not Format.table:
        emit_rows(rows, fmt.value, {"id": "编号", "org": "党组织", "member": "党员", "start": "开始", "end": "结束", "reason": "原因",
                                    "withdrawn": "撤销原因"})
        return
    if not rows:
        console.print(f"没有登记的免除{'（' + known_words(known) + '）' if known else ''}。")
        return
    table = titled_table("已登记的免除" + (f"（{known_words(known)}）" if known else ""), ("编号", "党组织", "党员", "开始", "结束", "原因"), ("编号", "开始", "结束"))
    for r in rows:
        reason = r["reason"] + (f"（已撤销：{r['withdrawn']}）" if r["withdrawn"] is not None else "")
        table.add_row(str(r["id"]), shown_path(r["org"], under), r["member"], r["start"], r["end"], reason)
    console.print(table)


@member_app.command("unexempt")
@fails_cleanly
def member_unexempt(exemption_id_text: str = typer.Argument(..., metavar="ID", help="免除编号（member exemptions 可查）。"),
                    reason: str = typer.Option(..., "--reason", help="撤销原因，如 登记错人、日期有误。")) -> None:
    """撤销一条登记错的免除：记录保留并注明原因，期间重新计入未参加组织生活和未交党费的月数。"""
    exemption_id = _id_argument(exemption_id_text, "免除编号")
    store, actor = session()
    done = membership.withdraw_exemption(store, exemption_id, reason, actor)
    console.print(f"已撤销：免除 {exemption_id}（{done['member']} {done['start']} 至 {done['end']}，{done['reason']}）",
                  markup=False, soft_wrap=True)


@dues_app.command("import")
@fails_cleanly
def dues_import(file: Path = typer.Argument(..., metavar="文件", help="CSV 或 XLSX 文件（列：姓名、党组织、月份、金额、交纳日期）。"),
                year: Optional[int] = typer.Option(None, "--year", help="每月一列的党费台账（姓名、党组织、1月至12月）是哪一年的：每个填了金额的月份登记为一笔。台账标题写明年份的（如 2026年党费收缴台账），可省略。"),
                paid_in_month: bool = typer.Option(False, "--paid-in-month", help="台账没有交纳日期：按各月最后一天交纳登记（视为当月按时交纳）。"),
                org: Optional[str] = typer.Option(None, "--org", help="文件没有「党组织」列时（一个党支部自己的台账），各行都记在这个党组织。"),
                sheet: Optional[str] = SHEET_OPTION) -> None:
    """导入党费交纳记录；已登记的月份不重复。也可导入每月一列的党费台账（用 --year 指明年份）。"""
    from compliance.orgs import OrgIndex, OrgRow
    from compliance.tabular import parse_text

    store, actor = session()
    if year is not None and not 1921 <= year <= store.today().year + 1:
        raise InputError(f"--year：值「{year}」不是有效年份")
    index = OrgIndex(store.orgs())
    # The organizations the file names, with the first row naming each, read as the rows stream by:
    # a province's file is millions of rows.
    first_rows: dict[str, int] = {}
    scanned = membership.dues_table(file, year, paid_in_month, store.today(), sheet, org)
    if scanned.year is not None:
        year = scanned.year[0]
        console.print(f"按每月一列的党费台账导入，年份按标题「{scanned.year[1]}」取 {year} 年（年份不对时请用 --year 指明）。",
                      markup=False, soft_wrap=True)
    if paid_in_month and year is None:
        raise InputError("--paid-in-month 只用于每月一列的党费台账，须同时用 --year 指明年份")
    # Rows paid past the shortest arrears limit of any catalog: told after the import if `status` does not count them.
    limit = min((months for catalog in _rules().catalogs.values() if (months := tracking.dues_rule(catalog)[0])), default=0)
    late: list[tuple[int, str, str, str]] = []
    for number, values in scanned.rows:
        if isinstance(found := index.find(parse_text(values.get("org")) or ""), OrgRow):
            first_rows.setdefault(found.path, number)
            if limit and len(late) < LATE_CHECKED and (month := _paid_after(values, limit)) is not None:
                late.append((number, found.path, parse_text(values.get("member")) or "", month))
    ordered = sorted(first_rows, key=first_rows.__getitem__)
    try:
        require_write(store, actor, "dues", ordered)
    except PermissionDenied as exc:
        # Named as a bad row is: the file's first row out of reach (the refusal names its organization).
        outside = next((p for p in ordered if not actor.anonymous and not actor.covers(p)), None)
        if outside is None:
            raise
        if org is not None:     # the file has no 党组织 column: the option named it (review)
            raise PermissionDenied(f"--org：{exc}（未导入任何数据）") from None
        raise PermissionDenied(f"{scanned.where or file.name} 第{first_rows[outside]}行「党组织」列：{exc}（未导入任何数据）") from None
    roots = [o.path for o in index.by_id.values() if o.parent_id is None]
    before = {k: v for root in roots for k, v in store.dues_starts(root).items()}
    added, read, skipped = membership.import_dues_counted(store, file, year, paid_in_month, sheet, org)
    if year is not None and paid_in_month:
        console.print(f"按每月一列的台账导入 {year} 年各月党费：台账没有交纳日期，已按各月最后一天登记（当月按时交纳）；"
                      "实际逾期补交的，请用 dues correct --paid-on 改正。")
    # A file read again added nothing: said why, as the other imports say 未变.
    console.print(f"党费：新增 {added} 条" + (f"，{read - added} {'笔（台账中填了金额的月份）' if year else '行'}是此前已登记或文件中重复的月份，"
                                           "未重复添加" if read > added else "") + "。")
    say_skipped(skipped)
    if late and (too_late := _too_late(store, late)):
        shown = "、".join(f"第{number}行（{name} {month}）" for number, name, month in too_late[:5])
        more = f"等{len(too_late)}笔" if len(too_late) > 5 else ""
        # Of the first `LATE_CHECKED` rows paid late only: a count of those would read as the file's (review).
        rest = f"（只核对了前 {LATE_CHECKED} 笔逾期交纳的，其余可用 dues list 或 status 查看）" if len(late) == LATE_CHECKED else ""
        # `dues log` said so of one payment; an import of the same said only 新增 (try-out).
        console.print(f"注意：{shown}{more}的党费{flag_text(('arrears_too_late',))}，不计入该月{rest}；如交纳日期录错，请用 dues correct 更正",
                      style="yellow", markup=False, soft_wrap=True)
    _dues_starts_said(before, {k: v for root in roots for k, v in store.dues_starts(root).items()}, index)


# How many of a dues file's rows paid late are looked at to tell whether they count.
LATE_CHECKED = 20


def _paid_after(values: dict[str, Any], months: int) -> str | None:
    """Return the month a dues row pays, when it was paid more than `months` after that month ended; None otherwise, or
    when a value does not read (the import says what is wrong with it)."""
    from compliance.tabular import CellError, parse_date

    try:
        month = membership._month(values.get("month"))
        paid = parse_date(values.get("paid_on"))
        if paid is None or paid <= month_end(date.fromisoformat(month + "-01")) + relativedelta(months=months):
            return None
    except (CellError, ValueError, TypeError, OverflowError):      # 9999-07 plus 6 months has no year (review)
        return None
    return month


def _too_late(store: "Store", late: list[tuple[int, str, str, str]]) -> list[tuple[int, str, str]]:
    """Return (row, member, month) of the rows of `late` (row, organization path, member, month) whose month `status`
    does not count, the payment made past the limit (`arrears_too_late`)."""
    found: list[tuple[int, str, str]] = []
    by_path: dict[str, list[tuple[int, str, str]]] = {}
    for number, path, name, month in late:
        by_path.setdefault(path, []).append((number, name, month))
    for path, rows in by_path.items():
        starts = [date.fromisoformat(month + "-01") for _, _, month in rows]
        window = tracking.Window(min(starts), month_end(max(starts)), store.today())
        flagged = {(f.member, f.period) for f in tracking.org_status(store, _rules(), path, window) if "arrears_too_late" in f.flags}
        found.extend((number, name, month) for number, name, month in rows if (name, month) in flagged)
    return sorted(found)


@dues_app.command("unpaid")
@fails_cleanly
def dues_unpaid(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                as_of: Optional[str] = AS_OF_OPTION, known_at: Optional[str] = KNOWN_AT_OPTION,
                three: bool = typer.Option(False, "--three-months", help="只看本月之前已连续3个月及以上未交的（与六个月提示一样只计完整月份）。"),
                fmt: Format = FORMAT_OPTION) -> None:
    """本月尚未交纳党费的党员，及连续未交的月数（只看登记党费的党支部）。"""
    store, actor = session()
    under = _scope(store, actor, under)
    day = _as_of_option(as_of)
    known = _known_at(known_at)
    known_at_alone(as_of, known)
    judged: list[int] = []
    rows = [r for r in membership.unpaid(store, under, day, known, judged) if r["three_or_more"] or not three]
    if fmt is not Format.table:
        emit_rows(rows, fmt.value, {"org": "党组织", "member": "党员", "last_paid": "最近交费月份", "months": "连续未交月数（含本月）",
                                    "months_ended": "此前连续未交月数", "three_or_more": "此前三个月及以上"})
        return
    title = f"{day.year}年{day.month}月 未交党费（{as_of_words(day, known)}）"

    def detail() -> Table:
        table = titled_table(title, ("党组织", "党员", "最近交费月份", "连续未交（含本月）"), WHOLE)
        for r in rows:
            months = f"[bold red]{r['months']}个月[/]" if r["three_or_more"] else f"{r['months']}个月"
            table.add_row(shown_path(r["org"], under), r["member"], r["last_paid"] or "—", months)
        return without_own_org(table, (r["org"] for r in rows), under)

    print_listing(console, rows, detail, lambda: counts_table(title, rows, itemgetter("org"), under, [
        ("未交党员", every), ("此前连续3个月及以上", itemgetter("three_or_more"))]), "人",
        empty=("本月党费已全部交纳。" if not three else "没有此前连续3个月及以上未交党费的党员。") if judged
        else "范围内没有登记党费的党支部，无从判断（dues import 或 dues log 登记党费）。")


@dues_app.command("log")
@fails_cleanly
def dues_log(org: Optional[str] = typer.Option(None, "--org", help=BRANCH_HELP),
             member: str = typer.Option(..., "--member", help="党员姓名。"),
             month: str = typer.Option(..., "--month", help="所交月份，如 2026-11。"),
             amount: str = typer.Option(..., "--amount", help="金额（元）。"),
             paid_on: Optional[str] = typer.Option(None, "--paid-on", help="交纳日期（默认今天）。")) -> None:
    """登记一名党员一个月的党费。"""
    store, actor = session()
    org = own_org(actor, org)
    path = tracking.org_path(store, org)
    require_write(store, actor, "dues", [path])
    before = store.dues_starts(path)
    added = membership.log_dues(store, {"org": org, "member": member, "month": month, "amount": amount, "paid_on": paid_on})
    if added:
        # What was registered, as the secretary typed it, and when a month is paid late.
        day = _date_option(paid_on, "--paid-on") or store.today()
        paid_month = membership._month(month)
        amount_paid = membership._amount(amount)
        shown = f"{member.strip()} {paid_month} 的党费 {yuan(amount_paid or 0)} 元（{day.isoformat()} 交纳）"
        console.print(f"已登记：{shown}", markup=False)
        start = date.fromisoformat(paid_month + "-01")
        if day > month_end(start):
            # How the month now stands, as status judges it: a payment too late to count was told as late alone (try-out).
            window = tracking.Window(start, month_end(start), store.today())
            judged = next((f for f in tracking.org_status(store, _rules(), path, window)
                           if f.member == member.strip() and f.period == paid_month and "arrears_too_late" in f.flags), None)
            if judged is not None:
                console.print(f"注意：{paid_month} 的党费{flag_text(('arrears_too_late',))}，不计入该月；"
                              "如交纳日期录错，请用 dues correct 更正", style="yellow", markup=False, soft_wrap=True)
            else:
                console.print("提示：交纳日期晚于该月月底：如无按季交纳的批准，按逾期补交计（补交超过6个月的不计入）",
                              style="yellow", markup=False)
        skipped = _unpaid_before(store, path, member.strip(), paid_month, before.get(store.index_around(path).resolve(path).id))
        if skipped:
            # Paid ahead of months still unpaid: a month typed wrong, or months forgotten (try-out); months to come too (review).
            console.print(f"提示：{member.strip()} 在 {paid_month} 之前还有 {'、'.join(skipped)} 的党费未登记交纳；"
                          "如所交月份录错，请用 dues void 撤销后重新登记", style="yellow", markup=False, soft_wrap=True)
    else:
        console.print("该月党费已登记过，未重复添加。")
    _dues_starts_said(before, store.dues_starts(path), store.index_around(path))


def _unpaid_before(store: Store, path: str, name: str, month: str, branch_from: date | None) -> list[str]:
    """Return the months between the member's last payment before `month` and `month` that status counts unpaid, or owed and
    not yet paid (the month still open, and months to come when `month` is paid ahead).

    A member's first payment is looked at from `branch_from`, the month the branch's dues were checked from before it: a
    branch's first payments entered are no gap, but a member's first beside others' already checked may leave months
    unpaid (try-out).
    """
    earlier = [r["month"] for r in membership.dues_list(store, path, name) if r["month"] < month]
    if earlier:
        first = date.fromisoformat(max(earlier) + "-01") + relativedelta(months=1)
    elif branch_from is not None:
        first = branch_from
    else:
        return []
    last = date.fromisoformat(month + "-01") - timedelta(days=1)
    if first > last:
        return []
    window = tracking.Window(first, last, store.today())
    return sorted({f.period for f in tracking.org_status(store, _rules(), path, window)
                   if f.member == name and f.obligation == DUES and f.status in ("missed", "due", "upcoming")})


@dues_app.command("list")
@fails_cleanly
def dues_list(org: Optional[str] = typer.Option(None, "--org", help=BRANCH_HELP),
              member: Optional[str] = typer.Option(None, "--member", help="只看这名党员。"),
              year: Optional[int] = typer.Option(None, "--year", help="只看这一年的月份。"),
              known_at: Optional[str] = typer.Option(None, "--known-at", help="按此时已登记的数据列出（其后的登记、更正和撤销不算）。"),
              fmt: Format = FORMAT_OPTION) -> None:
    """列出已登记的党费：党员、月份、金额、交纳日期（更正或撤销前可先查看）。"""
    store, actor = session()
    path = tracking.org_path(store, own_org(actor, org))
    require_read(store, actor, path)
    moment = _known_at(known_at)
    rows = membership.dues_list(store, path, member, year, moment)
    # A payment after its month's due day, as status judges it (consent to payment by quarter included): 逾期补交, or
    # 补交超过6个月 and not counted. The list showed a payment too late to count like any other (try-out).
    late = _late_payments(store, path, rows, moment)
    for r in rows:
        r["late"] = late.get((r["member"], r["month"]))
    if fmt is not Format.table:
        # JSON keeps the flag's name, as status gives it; a CSV, for a spreadsheet, its words.
        shown = rows if fmt is Format.json else ({**r, "late": flag_text((r["late"],)) if r["late"] else None} for r in rows)
        emit_rows(shown, fmt.value, {"org": "党组织", "member": "党员", "month": "月份", "amount": "金额", "paid_on": "交纳日期",
                                     "corrected": "已更正", "late": "逾期"})
        return
    if not rows:
        console.print("没有登记的党费" + (f"（{known_words(moment)}）" if moment is not None else "") + "。")
        return
    title = f"{path} 已登记的党费" + (f"（{known_words(moment)}）" if moment is not None else "")
    if any(r["org"] != path for r in rows):
        # Above a branch: each organization's payments counted and added up, to set beside the ledger's 合计.
        totals: dict[str, list[Any]] = {}
        for r in rows:
            t = totals.setdefault(r["org"], [set(), 0, Decimal(0), 0])
            t[0].add(r["member"])
            t[1] += 1
            t[2] += Decimal(str(r["amount"]))
            t[3] += r["late"] is not None
        table = titled_table(title + "（按党组织汇总）", ("党组织", "交纳人数", "笔数", "金额合计", "其中逾期"))
        for org, (who, count, amount, late_count) in totals.items():
            table.add_row(shown_path(org, path), str(len(who)), str(count), yuan(amount), str(late_count) if late_count else "")
        console.print(table)
        console.print(f"合计：{sum(t[1] for t in totals.values())} 笔，{yuan(sum((t[2] for t in totals.values()), Decimal(0)))} 元；"
                      "逐笔明细请加 --format csv，或用 --org 指定党支部", markup=False, soft_wrap=True)
        return
    table = titled_table(title, ("党员", "月份", "金额", "交纳日期", "备注"), ("月份", "交纳日期"))
    for r in rows:
        notes = [flag_text((r["late"],))] if r["late"] else []
        notes += ["已更正"] if r["corrected"] else []
        table.add_row(r["member"], r["month"], yuan(r["amount"]), r["paid_on"], "，".join(notes))
    console.print(table)


def _late_payments(store: Store, path: str, rows: list[dict], moment: datetime | None) -> dict[tuple[str, str], str]:
    """Return, by (member, month), the listed payments made after their due day: "paid_late", or "arrears_too_late" when too late to count."""
    late = {(r["member"], r["month"]) for r in rows if r["paid_on"] > month_end(date.fromisoformat(r["month"] + "-01")).isoformat()}
    if not late:
        return {}
    months = sorted(month for _, month in late)
    window = tracking.Window(date.fromisoformat(months[0] + "-01"), month_end(date.fromisoformat(months[-1] + "-01")),
                             store.today(), known_at=moment)
    found: dict[tuple[str, str], str] = {}
    for f in tracking.org_status(store, _rules(), path, window):
        if f.member is not None and (f.member, f.period) in late:
            flag = next((flag for flag in ("arrears_too_late", "paid_late") if flag in f.flags), None)
            if flag is not None:
                found[(f.member, f.period)] = flag
    return found


@dues_app.command("correct")
@fails_cleanly
def dues_correct(org: Optional[str] = typer.Option(None, "--org", help=BRANCH_HELP),
                 member: str = typer.Option(..., "--member", help="党员姓名。"),
                 month: str = typer.Option(..., "--month", help="所交月份，如 2026-11。"),
                 amount: Optional[str] = typer.Option(None, "--amount", help="改正后的金额（元）。"),
                 paid_on: Optional[str] = typer.Option(None, "--paid-on", help="改正后的交纳日期。"),
                 reason: str = typer.Option(..., "--reason", help="更正原因，如 金额录错、交纳日期录错。")) -> None:
    """更正一笔已登记党费的金额或交纳日期：原值连同原因保留，按当时情况复现（--known-at）时仍用原值。"""
    if amount is None and paid_on is None:
        raise InputError("须给出 --amount 或 --paid-on（撤销登记错的党费用 dues void）")
    store, actor = session()
    org = own_org(actor, org)
    before, after = membership.change_dues(store, org, member, month, reason, amount, _date_option(paid_on, "--paid-on"), actor)
    assert after is not None
    console.print(f"已更正：{before['member']} {before['month']} 的党费 {yuan(before['amount'])} 元（{before['paid_on'].isoformat()} 交纳）"
                  f"改为 {yuan(after['amount'])} 元（{after['paid_on'].isoformat()} 交纳）", markup=False, soft_wrap=True)


@dues_app.command("void")
@fails_cleanly
def dues_void(org: Optional[str] = typer.Option(None, "--org", help=BRANCH_HELP),
              member: str = typer.Option(..., "--member", help="党员姓名。"),
              month: str = typer.Option(..., "--month", help="所交月份，如 2026-11。"),
              reason: str = typer.Option(..., "--reason", help="撤销原因，如 登记错人、月份录错。")) -> None:
    """撤销一笔登记错的党费（登记错人或错月）：原值连同原因保留，该月重新算作未交，可重新登记。"""
    store, actor = session()
    org = own_org(actor, org)
    before, _ = membership.change_dues(store, org, member, month, reason, actor=actor)
    path = tracking.org_path(store, org)
    index = store.index_around(path)
    # With its last payment gone, a branch records no dues: it is no longer judged on them at all.
    branch = index.resolve(path)
    start = store.dues_starts(path).get(branch.id)
    voided = date.fromisoformat(before["month"] + "-01")
    tracked = index.starts_of(branch)
    # The branch's earliest month withdrawn, its dues are owed from its next: the months before it are not unpaid, but no
    # longer judged (review); nothing is owed before the branch is tracked (try-out).
    now = ("该党支部现已没有任何党费登记，不再按月检查党费" if start is None
           else f"该党支部的党费现从 {max(start, tracked) if tracked else start:%Y-%m} 起按月检查，此前的月份不再检查" if start > voided
           else "该月现为未交")
    console.print(f"已撤销：{before['member']} {before['month']} 的党费 {yuan(before['amount'])} 元（{before['paid_on'].isoformat()} 交纳）；"
                  f"{now}", markup=False, soft_wrap=True)


def _dues_starts_said(before: dict[int, date], after: dict[int, date], index: Any) -> None:
    """Say what payments entered changed of the month branches' dues are owed from (`Store.dues_starts`): a branch's first
    payments start its monthly check; a payment for a month before its earliest moves the check back (a year typed wrong
    put every member five months in arrears, without a word: review)."""
    first = sorted(index.by_id[i].path for i in after if i not in before)
    if first:
        since = f"（{after[next(i for i in after if i not in before)]:%Y-%m}）" if len(first) == 1 else ""
        console.print(f"提示：{orgs_named(first)}首次登记党费：从所登记的最早月份{since}起按月检查其每名党员的党费，此后未登记的月份算未交；"
                      "更早的党费如另有记录，请一并导入（dues import），检查随之从其最早月份算起。",
                      style="yellow", markup=False, soft_wrap=True)
    def checked(org_id: int, day: date) -> date:
        starts = index.starts_of(index.by_id[org_id])      # nothing is owed before the organization is tracked
        return max(day, starts) if starts else day

    moved = sorted((index.by_id[i].path, checked(i, before[i]), checked(i, day)) for i, day in after.items()
                   if i in before and checked(i, day) < checked(i, before[i]))
    for path, was, now in moved[:3]:
        console.print(f"提示：党组织「{path}」的党费现从 {now:%Y-%m} 起按月检查（此前从 {was:%Y-%m} 起）：登记了更早月份的党费，"
                      f"其间每名党员未登记的月份都算未交；如月份录错，请用 dues void 撤销", style="yellow", markup=False, soft_wrap=True)
    if len(moved) > 3:
        console.print(f"（另有 {len(moved) - 3} 个党组织的党费检查起始月份提前）", style="yellow", markup=False)


@mobile_app.command("list")
@fails_cleanly
def mobile_list(under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级。"),
                as_of: Optional[str] = AS_OF_OPTION, known_at: Optional[str] = KNOWN_AT_OPTION,
                lost: bool = typer.Option(False, "--lost", help="只列失联的（超过半年没有汇报或参加活动）。"),
                fmt: Format = FORMAT_OPTION, jobs: int = JOBS_OPTION) -> None:
    """流动党员：挂钩联系人、最近一次汇报或参加活动的日期；超过半年没有联系的标为失联。"""
    store, actor = session()
    under = _scope(store, actor, under)
    day = _as_of_option(as_of)
    known = _known_at(known_at)
    known_at_alone(as_of, known)
    rows = membership.mobile_list(store, under, day, jobs_count(jobs), known)
    if lost:
        # The office's list of whom to find: there was no way to list only them (try-out).
        rows = [r for r in rows if r.lost]
    data = [{"org": r.org, "member": r.member, "liaison": r.liaison, "last_contact": r.last_contact.isoformat() if r.last_contact else None,
             "lost": r.lost} for r in rows]
    if fmt is not Format.table:
        emit_rows(data, fmt.value, {"org": "党组织", "member": "党员", "liaison": "联系人", "last_contact": "最近联系", "lost": "失联"})
        return
    title = f"流动党员（{as_of_words(day, known)}）"

    def detail() -> Table:
        table = titled_table(title, ("党组织", "党员", "挂钩联系人", "最近联系", "状态"), WHOLE)
        for r in rows:
            table.add_row(shown_path(r.org, under), r.member, r.liaison or "—", str(r.last_contact or "—"), "[bold red]失联[/]" if r.lost else "正常")
        return without_own_org(table, (r.org for r in rows), under)

    print_listing(console, rows, detail, lambda: counts_table(title, rows, attrgetter("org"), under, [
        ("流动党员", every), ("失联", attrgetter("lost"))]), "人", empty="没有失联的流动党员。" if lost else "没有流动党员。")
    if rows and any(r.lost for r in rows):
        console.print(f"失联：超过半年没有汇报或参加活动的记录（共 {sum(r.lost for r in rows)} 人）。")

