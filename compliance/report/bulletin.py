"""The supervision bulletin (通报): Markdown, XLSX, DOCX, and a PNG chart embedded in the DOCX."""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from itertools import chain, islice
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Sequence

from compliance.errors import ComplianceError
from compliance.evaluate import path_order
from compliance.orgs import OrgRow
from compliance.pipeline import exit_with_parent
from compliance.store import TZ, Store
from compliance.store.runs import RectificationRow, RunRow
from compliance.report.labels import FLAG_LABELS
from compliance.supervision import Comparison, SupervisionResult, ledger_gaps, made_after_month, parse_month
from obligations.cadence import next_month_end

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Source Han Sans SC",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Heiti SC", "AR PL UMing CN"]


@dataclass(frozen=True)
class Bulletin:
    """What a bulletin says, ready for any format."""

    title: str
    office: str
    date: str
    summary: str
    comparison: str
    branch_rows: list[list[str]]        # 党组织, 逾期未完成, 无效, 问题
    ranking_rows: list[list[str]]       # 名次, 党组织, 完成率, 已完成, 应完成
    ledger_rows: Sequence[list[str]]    # 编号, 组织, 整改事项, 整改措施, 列入台账日期, 整改时限, 责任人, 完成销号时间, 状态, 销号说明
    ledger_summary: list[list[str]]     # 组织, 未销号, 已销号, 最早整改时限, 责任人
    requirements: list[str]
    rates: dict[str, dict[str, float | None]]
    revision: int
    published: bool
    chart_title: str = "各党支部逐月完成率"
    made: datetime | None = None        # when the run's revision was saved (UTC): the files' own date, the same each time they are made
    mark_rows: Sequence[list[str]] = ()     # 党组织, 未签字, 材料不全: the month's records not in order
    due_rows: Sequence[list[str]] = ()      # 党组织, 待完成, 事项: the month's periods still open with nothing that meets them
    due_title: str = ""                     # their heading: `DUE_TITLE`, or `DUE_TITLE_AFTER` for a run made after its month


class LedgerRows(Sequence[list[str]]):
    """The ledger's rows as a bulletin shows them, made when read: a province's ledger is not copied.

    Its length is the count of items; the items themselves are read (`SupervisionResult.ledger`)
    only when a row is: a workbook written by another process reads them itself.
    """

    def __init__(self, result: SupervisionResult, count: int):
        self._result, self._count = result, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):  # type: ignore[override]
        ledger, paths, root, day = self._result.ledger, self._result.org_paths, self._result.scope.path, self._result.run.as_of
        if isinstance(index, slice):
            return [_ledger_row(r, paths, root, day) for r in ledger[index]]
        return _ledger_row(ledger[index], paths, root, day)


def _ledger_row(r: RectificationRow, paths: dict[int, str], root: str | None, as_of: date) -> list[str]:
    """Return a ledger item as the bulletin's ledger shows it (LEDGER_HEADERS), its state as of the run's day `as_of`.

    The day it was closed stays a day, which a spreadsheet sorts and filters; whether it was
    closed late, or is open past its deadline, is said in a column of its own, and how it was closed in another: one put
    right and one no longer owed both read 已销号 (session 59's try-out).
    """
    return [str(r.id), _short(paths.get(r.org_id, ""), root), r.matter, r.measure, r.opened_on.isoformat(), r.deadline.isoformat(), r.responsible,
            r.closed_on.isoformat() if r.closed_on else "", _state(r, as_of), (r.close_note or "") if r.closed_on else ""]


XLSX_ROWS = 1_048_576  # rows of an Excel sheet, the header included
DOCX_ROWS = 100      # rows of a table in the DOCX notice; the XLSX has them all
WORSE_NAMED = 20     # organizations named in the comparison as those whose problems grew most
CHART_ROWS = 40       # a heat map taller than this is unreadable: larger scopes are charted by their units


def chart_rates(rates: dict[str, dict[str, float | None]]) -> tuple[dict[str, dict[str, float | None]], str]:
    """Return the rates to chart and the chart's title: per branch, or for a scope of more than
    `CHART_ROWS` branches, the mean per month over the branches of each unit directly below the scope."""
    if len(rates) <= CHART_ROWS:
        return rates, "各党支部逐月完成率"
    units: dict[str, dict[str, list[float]]] = {}
    for path, months in rates.items():
        by_month = units.setdefault(path.split("/", 1)[0], {})
        for month, rate in months.items():
            values = by_month.setdefault(month, [])
            if rate is not None:
                values.append(rate)
    means = {unit: {m: (sum(v) / len(v) if v else None) for m, v in by_month.items()} for unit, by_month in units.items()}
    if len(means) > CHART_ROWS:
        # Still too many units: the least complete ones, which are what a bulletin is about.
        def mean(unit: str) -> float:
            known = [v for v in means[unit].values() if v is not None]
            return sum(known) / len(known) if known else 1.0
        means = {u: means[u] for u in sorted(means, key=mean)[:CHART_ROWS]}
        return means, f"完成率最低的{CHART_ROWS}个下级党组织逐月平均完成率"
    return means, "各下级党组织所属党支部逐月平均完成率"


# The day an item was listed beside its deadline: the hand-off workbook had only the deadline (supervision team's try-out).
LEDGER_HEADERS = ["编号", "组织", "整改事项", "整改措施", "列入台账日期", "整改时限", "责任人", "完成销号时间", "状态", "销号说明"]
BRANCH_HEADERS = ["党组织", "逾期未完成", "无效", "主要问题"]
RANKING_HEADERS = ["名次", "党组织", "完成率", "已完成", "应完成"]
LEDGER_SUMMARY_HEADERS = ["组织", "未销号", "已销号", "最早整改时限", "责任人"]   # the earliest deadline of the open items
MARK_HEADERS = ["党组织", "未签字", "材料不全"]
DUE_HEADERS = ["党组织", "待完成", "事项"]


def _state(r: RectificationRow, as_of: date) -> str:
    """Return an item's state as the ledger shows it: open, open past its deadline (超期), closed, or closed after it (逾期)."""
    if r.closed_on is None:
        return "超期未销号" if r.deadline < as_of else "未销号"
    return "逾期销号" if r.closed_on > r.deadline else "已销号"


def _utc(moment: datetime) -> datetime:
    """Return `moment` as a naive UTC time, as XlsxWriter and python-docx write a file's dates (with a Z)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _short(path: str, root: str) -> str:
    """Return `path` as the bulletin of `root` names it: below the root, and the root by its own name (沭河县委/新集镇党委 in
    新集镇's bulletin, where its branches were named below it: try-out)."""
    if path == root:
        return root.rsplit("/", 1)[-1]
    return path[len(root) + 1:] if path.startswith(root + "/") else path


# The items the team entered by hand that a bulletin names; the rest are counted.
BY_HAND_NAMED = 5


def make_bulletin(result: SupervisionResult) -> Bulletin:
    """Return the bulletin of a run: summary counts, gaps per branch, ranking, ledger, requirements."""
    root = result.scope.path
    month = result.run.month
    year, mon = month.split("-")
    # Counted as the snapshot is read, an organization at a time: a province's gaps are not unpacked at once.
    by_branch: dict[str, Counter[str]] = {}      # organization → its gaps by obligation name
    missed_of: Counter[str] = Counter()
    # A gap whose item the team closed by hand (回头看) is still one on the calendar, and said to be rectified:
    # counted among the problems with no word, it contradicted the ledger's 已销号.
    # By organization and obligation name: said after the list of all, 连续未参加组织生活1项（其中1项已整改销号） named another
    # obligation's item closed (try-out).
    rectified: Counter[tuple[str, str]] = Counter()
    by_hand = result.closed_by_hand
    for f in result.snapshot.gaps():
        by_branch.setdefault(f.org, Counter())[f.name] += 1
        missed_of[f.org] += f.status == "missed"
        if by_hand and (f.org_id, f.obligation, f.period, f.member, f.group) in by_hand:
            rectified[(f.org, f.name)] += 1
    per_obligation: Counter[str] = Counter()
    for names in by_branch.values():
        per_obligation.update(names)
    gap_count = result.snapshot.gap_count
    checked = len(result.branches)
    # Gaps of a 党委 or 党总支 itself are counted apart from the branches checked.
    branches = set(result.branches)
    with_gaps = sum(1 for org in by_branch if org in branches)
    others = len(by_branch) - with_gaps
    # What the run lists (`year_start`): in January, last December's periods and those ending with last year too.
    since = (f"{int(year)}年以来" if mon != "01"
             else f"{int(year) - 1}年12月以来（含{int(year) - 1}年第四季度、下半年和全年事项）")
    month_last = parse_month(month)[1]
    # A run made after its month (a late run, as of the month's last day) gave deadlines gone by as still to come, and
    # said the check was made on the day it judged (try-out): it says when it was made, and that those days are past.
    made = result.run.updated_at.astimezone(TZ).date()
    after = made_after_month(result.run)
    # A second revision made later (a record corrected since) was no check made late (review): it says it is one again.
    redone = "补做" if result.run.revision == 1 else f"重新核查（第{result.run.revision}版）"
    when = (f"{made.year}年{made.month}月{made.day}日，督导组{redone}{int(mon)}月督查，按{int(mon)}月{result.run.as_of.day}日的情况"
            if after else f"{int(year)}年{int(mon)}月{result.run.as_of.day}日，督导组")
    summary = (f"{when}对{result.scope.name}所属{checked}个党支部"
               f"{since}的组织生活情况进行了督查。{with_gaps}个党支部存在问题"
               + (f"，另有{others}个党委（党总支）本级存在问题" if others else "") + f"，共发现问题{gap_count}项"
               + (f"（其中{rectified.total()}项已整改销号，见整改台账）" if rectified else ""))
    if per_obligation:
        summary += "：" + "、".join(f"{name}{n}项" for name, n in per_obligation.most_common())
    summary += "。"
    if result.by_hand:
        # What the team found on its visits (`rectify add`) is in the ledger; the notice said only the calendar's gaps (review).
        # By branch, each matter quoted: a matter's own 、 and ； read as the list's (review).
        by_org: dict[int, list[str]] = {}
        for org_id, matter in result.by_hand_items[:BY_HAND_NAMED]:
            by_org.setdefault(org_id, []).append(f"「{matter.rstrip('。；;')}」")
        named = "；".join(f"{_short(result.org_paths.get(org_id, ''), root) or result.scope.name}{''.join(matters)}"
                         for org_id, matters in by_org.items())
        more = f"等{result.by_hand}项" if result.by_hand > BY_HAND_NAMED else ""
        summary += f"督导组现场检查另发现问题{result.by_hand}项，已列入整改台账" + (f"（{named}{more}）" if named else "") + "。"
    marks = result.record_marks
    mark_rows = [[_short(org, root), str(u), str(i)] for org, (u, i) in sorted(marks.items(), key=lambda kv: (-sum(kv[1]), path_order(kv[0])))]
    if marks:
        unsigned, lacking = sum(u for u, _ in marks.values()), sum(i for _, i in marks.values())
        said = "、".join(t for t in (f"{unsigned}条未经书记和记录人签字" if unsigned else "",
                                      f"{lacking}条缺少规定的材料（主题、图片等）" if lacking else "") if t)
        since = "，以及上次督查后补录或更正的以前月份的记录" if result.comparison.previous is not None else ""
        summary += (f"本月（{int(mon)}月1日至{result.run.as_of.day}日）召开的会议和活动的记录{since}中，{said}，涉及{len(marks)}个党组织，"
                    + "须" + "、".join(w for w, n in (("补签", unsigned), ("补齐", lacking)) if n) + "（见“记录不规范”）。")
    due = result.due_in_month
    recorded = result.due_recorded
    due_rows = [[_short(org, root), str(sum(map(len, items.values()))), _due_items(items, recorded.get(org))]
                for org, items in sorted(due.items(), key=lambda kv: (-sum(map(len, kv[1].values())), path_order(kv[0])))]
    if due:
        due_of: Counter[str] = Counter()
        for items in due.values():
            due_of.update({name: len(who) for (_, name), who in items.items()})
        why = [flag for items in recorded.values() for flags in items.values() for item in flags for flag in item]
        held = sum(len(flags) for items in recorded.values() for flags in items.values())
        summary += (f"截至{int(mon)}月{result.run.as_of.day}日，{len(due)}个党组织本月还有{due_of.total()}项尚未完成："
                    + "、".join(f"{name}{n}项" for name, n in due_of.most_common())
                    + (f"（其中{held}项已有记录，但" + ("、".join(FLAG_LABELS.get(f, f) for f in dict.fromkeys(sorted(why))) or "不符合要求")
                       + "，不能计入）" if held else "")
                    + (f"，已于{int(mon)}月{month_last.day}日到期：未完成的计入下月督查，已完成的须及时补录（见“本月待完成”）。" if after
                       else f"，须于{int(mon)}月{month_last.day}日前完成并登记，到期未完成的计入下月督查（见“本月待完成”）。"))
    comparison = comparison_text(result.comparison, int(year), root)
    branch_rows = []
    for org, names in sorted(by_branch.items(), key=lambda kv: (-kv[1].total(), path_order(kv[0]))):
        problems = "、".join(f"{n}{k}项" + (f"（其中{done}项已整改销号）" if (done := rectified[(org, n)]) else "")
                             for n, k in names.most_common())
        branch_rows.append([_short(org, root), str(missed_of[org]), str(names.total() - missed_of[org]), problems])
    branches = set(result.branches)
    tally = {org: counts for org, counts in result.tallies.items() if org in branches and counts[1]}
    ordered = sorted(tally.items(), key=lambda kv: (-(kv[1][0] / kv[1][1]), path_order(kv[0])))
    ranking_rows, place, previous = [], 0, None
    for i, (org, (met, total)) in enumerate(ordered, start=1):
        rate = met / total
        place = i if rate != previous else place
        previous = rate
        ranking_rows.append([str(place), _short(org, root), f"{rate:.1%}", str(met), str(total)])
    paths = result.org_paths
    counts = result.ledger_counts
    ledger_rows = LedgerRows(result, sum(c.open + c.closed for c in counts))
    named = sorted(((_short(paths.get(c.org_id, ""), root), c) for c in counts), key=lambda nc: (-nc[1].open, path_order(nc[0])))
    ledger_summary = [[org, str(c.open), str(c.closed), c.due.isoformat() if c.due else "", c.responsible] for org, c in named]
    deadline = next_month_end(result.run.as_of.replace(day=1))
    late = sum(c.late for c in counts)
    requirements = [
        f"各党支部要对照整改台账逐项认领，查找原因，明确责任人，本月新发现的问题于{deadline.isoformat()}前完成整改"
        + (f"；已超过整改时限的{late}项要立即整改" if late else "") + "。",
        f"整改完成后，将会议记录、签到表和图文资料报{reporting_office(result.scope)}，经“回头看”核实后逐项销号。",
        # Which records: 会议记录须由书记和记录人签字 beside 未签字 2 条 of six unsigned read as a miscount (supervision team's try-out).
        "坚持每会必记、逐月整理、按季检查、全年归档" + (f"，{'、'.join(result.signed_kinds)}的会议记录须由书记和记录人签字" if result.signed_kinds
                                                 else "") + "。",
    ]
    if due:
        requirements.insert(len(requirements) - 1, f"截至督查日尚未完成的事项（会议、活动、党费等）已于{month_last.isoformat()}到期，"
                            "未完成的计入下月督查，已完成的及时补录登记。" if after else
                            f"本月尚未完成的事项（会议、活动、党费等），于{month_last.isoformat()}前完成并及时登记。")
    if marks:
        unsigned, lacking = sum(u for u, _ in marks.values()), sum(i for _, i in marks.values())
        asked = "，".join(t for t, n in (("本月未签字的会议记录由书记和记录人补签", unsigned), ("缺少材料的记录补齐主题、图片等", lacking)) if n)
        requirements.insert(1, f"{asked}，并据实更正登记。")
    charted, chart_title = chart_rates({_short(o, root): r for o, r in result.rates.items() if o in branches})
    return Bulletin(
        title=f"关于{int(year)}年{int(mon)}月基层党组织组织生活督查情况的通报",
        office=f"{result.scope.name}督导组", date=(made if after else result.run.as_of).isoformat(), summary=summary, comparison=comparison,
        branch_rows=branch_rows, ranking_rows=ranking_rows, ledger_rows=ledger_rows, ledger_summary=ledger_summary,
        requirements=requirements,
        rates=charted, revision=result.run.revision, published=result.run.published_at is not None, chart_title=chart_title,
        made=result.run.updated_at, mark_rows=mark_rows, due_rows=due_rows, due_title=DUE_TITLE_AFTER if after else DUE_TITLE)


DUE_NAMED = 5      # members or party groups named for each obligation of a 本月待完成 row


def _due_items(items: dict[tuple[str, str], list[str]], recorded: dict[tuple[str, str], list[tuple[str, ...]]] | None = None) -> str:
    """Return an organization's items still due as a 本月待完成 row says them: 党费3项（张伟、刘芳、陈刚）、支委会1项.

    Items with records that do not count yet (`SupervisionResult.due_recorded`) say why:
    支委会1项（已有记录但人数不足）; 党小组会2项（第一党小组、第二党小组；其中1项已有记录但时间不符）.
    """
    said = []
    for key, who in sorted(items.items(), key=lambda kv: (-len(kv[1]), kv[0][1])):
        named = sorted(w for w in who if w)
        notes = ["、".join(named[:DUE_NAMED]) + ("等" if len(named) > DUE_NAMED else "")] if named else []
        if recorded and (why := recorded.get(key)):
            labels = "、".join(FLAG_LABELS.get(flag, flag) for flag in dict.fromkeys(sorted(f for flags in why for f in flags)))
            lead = "已有记录" if len(why) == len(who) == 1 else f"其中{len(why)}项已有记录"
            notes.append(lead + (f"但{labels}" if labels else "但不符合要求"))
        said.append(f"{key[1]}{len(who)}项" + (f"（{'；'.join(notes)}）" if notes else ""))
    return "、".join(said)


def reporting_office(scope: OrgRow) -> str:
    """Return who takes a scope's rectification evidence and closes its items: a township's 党建办 (seed 003, 附件2 §五), else the team that issued the bulletin."""
    for kind, suffix in (("乡镇党委", "党委"), ("街道党工委", "党工委")):
        if scope.type == kind:
            return scope.name.removesuffix(suffix) + "党建办"
    return f"{scope.name}督导组"


def comparison_text(c: Comparison, year: int, root: str) -> str:
    """Return the bulletin's paragraph comparing with the month before.

    It names the organizations whose problems grew, and those whose problems fell, at most
    `WORSE_NAMED` of each, those that changed most: a province's run finds tens of thousands (24,140 at 50,000 branches), which made
    a paragraph of two million characters, and a summary cell XlsxWriter cut at 32,767 without a word.
    """
    if c.previous is None:
        return "上月没有督查记录，本次不作比较。"
    if c.cross_year:
        made_good = (f"上年{c.previous.month}督查发现的问题中，仍在本次督查范围的（上年12月及年底到期的事项等）已解决{len(c.closed_gaps)}项。"
                     if c.closed_gaps else "")
        return f"本月为{year}年度首次督查，不与上年{c.previous.month}的结果逐项比较。" + made_good
    text = (f"与{c.previous.month}督查相比，新增问题{len(c.new_gaps)}项，已解决{len(c.closed_gaps)}项；"
            f"问题减少的党组织{len(c.better)}个，增加的{len(c.worse)}个。")
    if c.left_out:
        text += f"（{c.previous.month}督查发现的上年度问题{c.left_out}项不在本月督查清单之列，未计入比较，其整改情况见整改台账。）"
    if c.moved_out:
        # Moved under another superior since (`org move`): named by the path of the month before.
        named = "、".join(_short(o, root) for o in c.moved_out[:WORSE_NAMED]) + (f"等{len(c.moved_out)}个" if len(c.moved_out) > WORSE_NAMED else "")
        text += f"（{named}已调整隶属关系、不在本次督查范围，其{c.previous.month}的问题未计入比较。）"
    if c.moved_in:
        named = "、".join(_short(o, root) for o in c.moved_in[:WORSE_NAMED]) + (f"等{len(c.moved_in)}个" if len(c.moved_in) > WORSE_NAMED else "")
        text += f"（{named}系{c.previous.month}督查后调入本范围，其问题不计为新增。）"
    # Those that improved most are named too, as a bulletin commends them (they were only counted).
    for grew, changed in (("增加", c.worse), ("减少", c.better)):
        if not changed:
            continue
        if len(changed) <= WORSE_NAMED:
            lead, named = f"问题{grew}的有：", changed
        else:
            lead, named = f"问题{grew}最多的{WORSE_NAMED}个是：", sorted(changed, key=lambda w: (-abs(w[2] - w[1]), path_order(w[0])))[:WORSE_NAMED]
        text += lead + "、".join(f"{_short(o, root)}（{a}→{b}）" for o, a, b in named) + "。"
    return text


def _sheets_for(rows: int, sheet_rows: int = XLSX_ROWS) -> int:
    """Return how many sheets of `sheet_rows` rows, each with its header row, a table of `rows` rows takes."""
    return max(1, -(-rows // (sheet_rows - 1)))


def _ledger_sheets(b: Bulletin) -> str:
    """Name the XLSX sheets that hold the ledger item by item, as `write_xlsx` splits them."""
    sheets = _sheets_for(len(b.ledger_rows))
    return "「整改台账」表" if sheets == 1 else f"「整改台账」至「整改台账（续{sheets - 1}）」{sheets}张表"


def _md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell.replace("|", "／") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _byline(b: Bulletin) -> str:
    """Return the line under the title, the same in every format: office, date, 草稿 until published, and the revision after the first."""
    return f"{b.office}　{b.date}" + ("" if b.published else "（草稿）") + (f"　第{b.revision}版" if b.revision > 1 else "")


def write_markdown(b: Bulletin, path: Path) -> Path:
    parts = [f"# {b.title}", "", _byline(b),
             "", "## 一、基本情况", "", b.summary, "", b.comparison, "", "## 二、存在问题", "",
             _md_table(BRANCH_HEADERS, b.branch_rows) if b.branch_rows else "未发现问题。", "",
             *(["### 记录不规范（本月召开及补录的会议和活动的记录）", "", _md_table(MARK_HEADERS, list(b.mark_rows)), ""] if b.mark_rows else []),
             *([f"### {b.due_title or DUE_TITLE}", "", _md_table(DUE_HEADERS, list(b.due_rows)), ""] if b.due_rows else []),
             "## 三、完成率排名", "", _md_table(RANKING_HEADERS, b.ranking_rows), "",
             "## 四、整改要求", ""] + [f"{i}. {r}" for i, r in enumerate(b.requirements, 1)] + [
             "", "## 附：整改台账（汇总）", "", _md_table(LEDGER_SUMMARY_HEADERS, b.ledger_summary) if b.ledger_summary else "无。",
             "", f"逐项台账见同名 XLSX 的{_ledger_sheets(b)}，或运行 `compliance rectify list`。", ""]
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def write_xlsx(b: Bulletin, path: Path, sheet_rows: int = XLSX_ROWS) -> Path:
    """Write the bulletin as a workbook: 汇总, 问题清单, 排名, 记录不规范, 本月待完成, 整改台账.

    A province's ledger has hundreds of thousands of rows: XlsxWriter writes them row by row
    to a temporary file (constant memory), in 28% less time than openpyxl's write-only mode
    took for 83,695 of them. A table longer than a sheet's `sheet_rows` (Excel's limit, header
    included) goes on in sheets named 「整改台账（续1）」 and so on, each with the header: XlsxWriter
    would otherwise drop the rows past the limit without raising. Cells hold text as it is, never
    read as a formula or a link; the file itself is made only once every row is written.
    """
    book = _Workbook(path)
    summary = book.summary_sheet()
    book.table(book.table_sheet(*BRANCH_TABLE), b.branch_rows, sheet_rows)
    book.table(book.table_sheet(*RANKING_TABLE), b.ranking_rows, sheet_rows)
    book.table(book.table_sheet(*MARK_TABLE), b.mark_rows, sheet_rows)
    book.table(book.table_sheet(*DUE_TABLE), b.due_rows, sheet_rows)
    book.table(book.table_sheet(*LEDGER_TABLE), b.ledger_rows, sheet_rows)
    book.finish(b, summary)
    return path


# Columns of what users write, each cell written as text.
FREE_TEXT = frozenset(("整改事项", "整改措施", "销号说明"))
# Each table of the workbook: its sheet, headers and column widths.
BRANCH_TABLE = ("问题清单", BRANCH_HEADERS, [30, 12, 8, 60])
RANKING_TABLE = ("排名", RANKING_HEADERS, [8, 30, 10, 8, 8])
MARK_TABLE = ("记录不规范", MARK_HEADERS, [30, 10, 10])
DUE_TABLE = ("本月待完成", DUE_HEADERS, [30, 10, 60])
# Not problems yet: the month's periods are missed only once it has ended.
DUE_TITLE = "本月待完成（截至督查日尚未完成，月底前完成；到期未完成的计入下月督查）"
DUE_TITLE_AFTER = "本月待完成（截至督查日尚未完成，已于月底到期；未完成的计入下月督查，已完成的及时补录）"
LEDGER_TABLE = ("整改台账", LEDGER_HEADERS, [8, 28, 40, 40, 12, 12, 16, 14, 12, 40])
# What a table of the workbook says when it has no rows.
EMPTY_TABLES = {
    "问题清单": "（本月督查没有发现逾期未完成或无效的事项）",
    "记录不规范": "（本月召开及补录的会议和活动的记录没有未签字或材料不全的）",
    "本月待完成": "（截至督查日，本月没有待完成的事项）",
    "整改台账": "（没有整改事项）",
}


_PERCENT = re.compile(r"\d+(?:\.\d+)?%")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(text: str) -> datetime | None:
    """Return an ISO day as the midnight XlsxWriter writes as a date; None when it is no day (2026-13-45)."""
    try:
        return datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None


class _Workbook:
    """The bulletin's workbook as XlsxWriter makes it: sheets in their order, each filled row by row, any sheet first."""

    def __init__(self, path: Path, tmpdir: str | None = None):
        import xlsxwriter

        options: dict[str, Any] = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        if tmpdir is not None:
            options["tmpdir"] = tmpdir
        self.book = xlsxwriter.Workbook(str(path), options)
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.heading = self.book.add_format({"text_wrap": True, "valign": "top", "bold": True, "font_size": 14})
        self.bold = self.book.add_format({"bold": True})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        self.day = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.tables: dict[str, tuple[str, list[str], list[int]]] = {}     # sheet name: its table

    def summary_sheet(self) -> Any:
        sheet = self.book.add_worksheet("汇总")
        sheet.set_column(0, 0, 120)
        return sheet

    def table_sheet(self, title: str, headers: list[str], widths: list[int], name: str | None = None) -> Any:
        """Add the sheet `name` (default `title`) of table `title`, its header written."""
        sheet = self.book.add_worksheet(name or title)
        self.tables[sheet.name] = (title, headers, widths)
        for i, width in enumerate(widths):
            # Wrapped in its width: a long path or matter was cut off by the cell beside it (session 52's note).
            sheet.set_column(i, i, width, self.wrap)
        sheet.freeze_panes(1, 0)
        # Printed as offices print it: on A4, as wide as the page (landscape for the ledger's nine columns), the header on
        # every page. The ledger printed in portrait at its own width, over two pages a row (try-out).
        sheet.set_paper(9)
        if sum(widths) > 100:
            sheet.set_landscape()
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)
        for j, text in enumerate(headers):
            sheet.write_string(0, j, text, self.bold)
        return sheet

    def table(self, sheet: Any, rows: Iterable[list[str]], sheet_rows: int) -> None:
        """Write `rows` under the header of `sheet`, going on in sheets 「…（续1）」 and so on, added as they are needed."""
        title, headers, widths = self.tables[sheet.name]
        # Free text stays text: a note of digits or of a day is no number or date (review).
        free = [h in FREE_TEXT for h in headers]
        per_sheet, part = sheet_rows - 1, 1
        rows = iter(rows)
        while True:
            write_text, write_number = sheet.write_string, sheet.write_number
            written = 0
            for i, row in enumerate(islice(rows, per_sheet), start=1):
                written = i
                for j, value in enumerate(row):
                    if type(value) is not str:
                        write_number(i, j, value)       # a score: a number, summed and sorted as one
                    elif free[j]:
                        if value:
                            write_text(i, j, value)
                    elif value.isdecimal():
                        write_number(i, j, int(value))
                    elif value[-1:] == "%" and _PERCENT.fullmatch(value):
                        write_number(i, j, float(value[:-1]) / 100, self.percent)     # a rate: a number shown as one
                    elif len(value) == 10 and _ISO_DAY.fullmatch(value) and (day := _day(value)) is not None:
                        # A day (整改时限, 完成销号时间): a date Excel sorts and filters, shown as written.
                        sheet.write_datetime(i, j, day, self.day)
                    elif value:
                        write_text(i, j, value)
            if written == 0 and part == 1 and title in EMPTY_TABLES:
                # Said, not a sheet of a header alone, which read as a table left unfilled (try-out); the
                # Markdown and DOCX leave such a table out.
                write_text(1, 0, EMPTY_TABLES[title])
            if written < per_sheet or (first := next(rows, None)) is None:
                return
            rows = chain([first], rows)
            sheet = self.table_sheet(title, headers, widths, f"{title}（续{part}）")
            part += 1

    def finish(self, b: Bulletin, summary: Any) -> None:
        """Write the summary into its sheet, then make the file."""
        for i, row in enumerate(([b.title], [_byline(b)], [], [b.summary], [b.comparison], [], *[[r] for r in b.requirements])):
            for j, value in enumerate(row):
                summary.write_string(i, j, value, self.heading if i == 0 else self.wrap)
        # The workbook's own title, author and date (XlsxWriter's default date is now: each file of the same run differed).
        properties: dict[str, Any] = {"title": b.title, "author": b.office}
        if b.made is not None:
            properties["created"] = _utc(b.made)
        self.close(properties)

    def close(self, properties: dict[str, Any]) -> None:
        """Set the workbook's title and author (`properties`), then make the file."""
        from xlsxwriter.exceptions import FileCreateError

        self.book.set_properties(properties)
        try:
            self.book.close()
        except FileCreateError as exc:
            raise exc.args[0] from None     # the OSError it wraps: callers report a file they could not write


class LedgerXlsx:
    """A run's bulletin workbook whose ledger is written, once the run is saved, by another process reading the database.

    The ledger is most of a province's workbook (455,426 items at 50,000 branches, ~25 s of
    XlsxWriter making each cell's XML: 59% of the command's own time after its workers were
    done, py-spy). Started as soon as the run is saved, the process writes the ledger while
    this one compares with the month before and makes the bulletin, the Markdown, chart and
    DOCX; `finish` then hands it the summary, the problems and the ranking, and waits.

    The process is a new interpreter (`python -m compliance.report.xlsx_process`), not a fork
    of this one: a fork keeps this process's pages as they were, and each page this one then
    touches (comparing, freeing the snapshot) is copied: the command's processes held 1,365 MB
    together at 50,000 branches. It reads the items itself, as they come, and holds none of them.
    """

    def __init__(self, process: subprocess.Popen, path: Path, tmpdir: tempfile.TemporaryDirectory):
        self.process, self.path, self._tmpdir = process, path, tmpdir

    @classmethod
    def start(cls, store: Store, path: Path, root: str, paths: dict[int, str], run: RunRow) -> LedgerXlsx | None:
        """Start writing the workbook `path` of `run`, just saved, for the organizations `paths` (id: path) below `root`.

        None for a database in memory, which another process cannot read, or where the problems
        or the ranking might need a second sheet (over a million organizations): `write_xlsx`
        writes the workbook then, after the bulletin is made.
        """
        if store.in_memory or len(paths) >= XLSX_ROWS - 1:
            return None
        tmpdir = tempfile.TemporaryDirectory(prefix="compliance-xlsx-")
        try:
            # In a process group of its own, a Ctrl-C (sent to the command's group) does not reach it while it starts, before it
            # could set Ctrl-C aside: it printed a traceback among the command's words. The command stops it (`close`).
            process = subprocess.Popen([sys.executable, "-m", "compliance.report.xlsx_process"], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, **({"process_group": 0} if os.name == "posix" else {}))
        except OSError:
            tmpdir.cleanup()
            return None     # no process to start (no interpreter to run, no memory): written here, after the bulletin
        job = cls(process, path, tmpdir)
        try:
            job._send((store.url, path, root, paths, run, os.getpid(), tmpdir.name))
        except OSError:
            job.close()
            return None     # it could not start: the workbook is written here, after the bulletin
        return job

    def _send(self, value: Any) -> None:
        assert self.process.stdin is not None
        pickle.dump(value, self.process.stdin, pickle.HIGHEST_PROTOCOL)
        self.process.stdin.flush()

    def finish(self, b: Bulletin) -> Path:
        """Hand the process the rest of bulletin `b`, wait for the workbook, and return its path; raise what stopped it."""
        try:
            try:
                self._send(replace(b, ledger_rows=(), ledger_summary=[], rates={}))
            except BrokenPipeError:
                pass        # it stopped before the rest was needed: its answer says why
            what, value = pickle.load(self.process.stdout)      # type: ignore[arg-type]
            self.process.wait()     # it has sent its last word: let it end rather than be stopped
        except (EOFError, OSError, pickle.UnpicklingError):
            raise ComplianceError("写入通报 XLSX 的进程意外退出，通报的 XLSX 未生成") from None
        finally:
            self.close()
        if what == "error":
            raise value
        return self.path

    def close(self) -> None:
        """Stop the process if it is still at work (the run failed before its bulletin), and remove its temporary files."""
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except BrokenPipeError:
                    pass    # what was left unsent to a process that has ended
        self._tmpdir.cleanup()


def write_ledger_first(receive: BinaryIO, answer: BinaryIO) -> None:
    """In the process `LedgerXlsx` starts: write the workbook's ledger, then what `finish` sends; answer ("done", None) or ("error", exception)."""
    url, path, root, paths, run, parent, tmpdir = pickle.load(receive)
    exit_with_parent(parent)
    try:
        store = Store(url)
        book = _Workbook(path, tmpdir)
        summary = book.summary_sheet()
        branches, ranking, marks = book.table_sheet(*BRANCH_TABLE), book.table_sheet(*RANKING_TABLE), book.table_sheet(*MARK_TABLE)
        due = book.table_sheet(*DUE_TABLE)
        gaps = ledger_gaps(store, root, run)
        book.table(book.table_sheet(*LEDGER_TABLE), (_ledger_row(r, paths, root, run.as_of) for r in store.iter_rectifications(paths, run, gaps)),
                   XLSX_ROWS)
        store.engine.dispose()
        b = pickle.load(receive)
        # No second sheet: `start` made sure each table has fewer rows than a sheet.
        book.table(branches, b.branch_rows, XLSX_ROWS)
        book.table(ranking, b.ranking_rows, XLSX_ROWS)
        book.table(marks, b.mark_rows, XLSX_ROWS)
        book.table(due, b.due_rows, XLSX_ROWS)
        book.finish(b, summary)
        result: tuple[str, Any] = ("done", None)
    except EOFError:
        return      # the parent has given up on the bulletin
    except BaseException as exc:
        result = ("error", exc if isinstance(exc, (OSError, ComplianceError))
                  else ComplianceError(f"写入通报 XLSX 时出错：{type(exc).__name__}: {exc}"))
    try:
        pickle.dump(result, answer, pickle.HIGHEST_PROTOCOL)
        answer.flush()
    except OSError:
        pass        # the parent is gone


FONT_FILES = ["/usr/share/fonts/**/wqy-microhei.ttc", "/usr/share/fonts/**/wqy-zenhei.ttc", "/usr/share/fonts/**/NotoSansCJK*.ttc",
              "/usr/share/fonts/**/NotoSansSC*", "C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/simhei.ttf",
              "/System/Library/Fonts/PingFang.ttc"]


def _cjk_font() -> str | None:
    """Return the family of a Chinese font matplotlib can use, registering an installed file if needed."""
    import glob

    from matplotlib import font_manager

    for family in CJK_FONTS:
        try:
            font_manager.findfont(family, fallback_to_default=False)
            return family
        except ValueError:
            continue
    # matplotlib's font cache predates fonts installed later: register a known file directly.
    for pattern in FONT_FILES:
        for file in sorted(glob.glob(pattern, recursive=True)):
            font_manager.fontManager.addfont(file)
            return font_manager.FontProperties(fname=file).get_name()
    return None


CHART_EMPTY = "暂无已结束月份的数据"
CHART_NOTE = "注：图中为已结束月份的完成率；督查当月的事项月底到期，计入下月通报。"


def write_chart(b: Bulletin, path: Path) -> tuple[Path, list[str]]:
    """Draw each branch's completion rate per month as a heat map; return the PNG and its row key.

    Rows are branches, columns months, each cell coloured red to green and labelled with its
    percentage. Without a Chinese font on the machine, the picture holds no words (rows are
    numbered, and it has no title): the DOCX prints its title, and the key (which number is
    which branch) under it.
    """
    from matplotlib import pyplot as plt

    figure, key = draw_chart(b, _cjk_font())
    figure.savefig(path)
    plt.close(figure)
    return path, key


def draw_chart(b: Bulletin, font: str | None) -> tuple[Any, list[str]]:
    """Return the chart `write_chart` saves, as a matplotlib figure drawn with `font` (None: no Chinese font), and its row key."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    if font:
        plt.rcParams["font.sans-serif"] = [font]
    months = sorted({m for rates in b.rates.values() for m in rates})
    # Months before any branch owed anything (before tracking began) were columns of dashes (supervision team's try-out).
    while months and all(rates.get(months[0]) is None for rates in b.rates.values()):
        months.pop(0)
    orgs = sorted(b.rates, key=path_order)
    key = [f"{i}. {org}" for i, org in enumerate(orgs, start=1)]
    values = np.array([[np.nan if b.rates[o].get(m) is None else b.rates[o][m] * 100 for m in months] for o in orgs]).reshape(len(orgs), len(months))
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.38 * max(len(orgs), 1)), dpi=120)
    if not orgs or not months:
        ax.axis("off")
        # Without a Chinese font the words would be boxes: the DOCX says it under its title.
        ax.text(0.5, 0.5, CHART_EMPTY if font else "—", ha="center", va="center")
        return fig, []      # no rows drawn: no key to them
    ax.imshow(values, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(months)), [m.replace("-", "/") for m in months])
    ax.set_yticks(range(len(orgs)), orgs if font else [str(i) for i in range(1, len(orgs) + 1)], fontsize=8)
    for (row, col), value in np.ndenumerate(values):
        ax.text(col, row, "—" if np.isnan(value) else f"{value:.0f}%", ha="center", va="center", fontsize=7)
    if font:
        ax.set_title(b.chart_title, fontsize=10)
    fig.tight_layout()
    return fig, key


def write_docx(b: Bulletin, path: Path, chart: Path, chart_labels: list[str]) -> Path:
    """Write the bulletin as an official notice: title, office and date, text, tables, chart, ledger."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Mm, Pt, RGBColor

    doc = Document()
    for section in doc.sections:
        # A4 and the margins of GB/T 9704 (党政机关公文格式); python-docx's template is US Letter.
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = Mm(37), Mm(35), Mm(28), Mm(26)
    # python-docx's template says it was written by "python-docx" on 2013-12-23.
    props = doc.core_properties
    props.title, props.author, props.last_modified_by, props.revision = b.title, b.office, b.office, b.revision
    props.comments = props.keywords = props.subject = props.category = ""
    if b.made is not None:
        props.created = props.modified = _utc(b.made)
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(12)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(b.title)
    run.bold = True
    run.font.size = Pt(18)
    sub = doc.add_paragraph(_byline(b))
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER

    # Section headings as headings (Word's navigation pane and outline read them), set as GB/T 9704 sets
    # a first-level heading: 黑体, 三号 (16 pt), black; python-docx's template has blue Calibri.
    level = doc.styles["Heading 1"]
    level.font.name, level.font.size, level.font.bold, level.font.italic = "SimHei", Pt(16), False, False
    level.font.color.rgb = RGBColor(0, 0, 0)
    level.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "黑体")

    def heading(text: str) -> None:
        doc.add_paragraph(text, style="Heading 1")

    def table(headers: list[str], rows: list[list[str]], widths: list[float], sheet: str | None = None, ends: bool = False) -> None:
        if sheet and len(rows) > DOCX_ROWS:
            # A notice lists what a reader can take in; the workbook has every row. A ranking's both ends: its first hundred
            # alone named the best branches, and not those a notice is most about (try-out).
            half = DOCX_ROWS // 2
            shown = f"前{half}名和后{half}名" if ends else f"前{DOCX_ROWS}行"
            doc.add_paragraph(f"（共{len(rows)}行，下表列出{shown}，完整内容见同名 XLSX 的「{sheet}」表。）")
            rows = [*rows[:half], ["…"] * len(headers), *rows[-half:]] if ends else rows[:DOCX_ROWS]
        t = doc.add_table(rows=1, cols=len(headers))
        t.style = "Table Grid"
        t.autofit = False
        for cell, text in zip(t.rows[0].cells, headers):
            cell.text = text
            cell.paragraphs[0].runs[0].bold = True
        for row in rows:
            cells = t.add_row().cells
            for cell, text in zip(cells, row):
                cell.text = text
        for column, width in zip(t.columns, widths):
            column.width = Cm(width)      # the grid LibreOffice reads
        for row in t.rows:
            for cell, width in zip(row.cells, widths):
                cell.width = Cm(width)    # the cell widths Word reads

    heading("一、基本情况")
    doc.add_paragraph(b.summary)
    doc.add_paragraph(b.comparison)
    heading("二、存在问题")
    if b.branch_rows:
        table(BRANCH_HEADERS, b.branch_rows, [4.5, 2.2, 1.5, 8.3], "问题清单")
    else:
        doc.add_paragraph("未发现问题。")
    if b.mark_rows:
        doc.add_paragraph("记录不规范（本月召开及补录的会议和活动的记录）：")
        table(MARK_HEADERS, list(b.mark_rows), [8.5, 4, 4], "记录不规范")
    if b.due_rows:
        doc.add_paragraph((b.due_title or DUE_TITLE) + "：")
        table(DUE_HEADERS, list(b.due_rows), [4.5, 2, 9.5], "本月待完成")
    heading("三、完成率排名")
    table(RANKING_HEADERS, b.ranking_rows, [1.5, 7.5, 2.5, 2.5, 2.5], "排名", ends=True)
    wordless = not _cjk_font()
    if wordless:
        # The picture has no words without a Chinese font: its title (or that it is empty) is said here.
        # Months whose rates are all empty are not drawn (`draw_chart`): a chart of them is empty.
        charted = any(rate is not None for rates in b.rates.values() for rate in rates.values())
        doc.add_paragraph(b.chart_title if charted else f"{b.chart_title}：{CHART_EMPTY}").alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_picture(str(chart), width=Cm(15))
    if chart_labels and wordless:
        doc.add_paragraph("图例：" + "；".join(chart_labels))
    # Where the month under review was, the chart having none (supervision team's try-out).
    doc.add_paragraph(CHART_NOTE)
    heading("四、整改要求")
    for i, text in enumerate(b.requirements, 1):
        doc.add_paragraph(f"{i}. {text}")
    heading("附：整改台账（汇总）")
    if b.ledger_summary:
        table(LEDGER_SUMMARY_HEADERS, b.ledger_summary, [6.5, 2, 2, 3, 3], "整改台账")
        doc.add_paragraph(f"逐项台账（整改事项、整改措施、列入台账日期、整改时限、责任人、完成销号时间、状态、销号说明）见同名 XLSX 的{_ledger_sheets(b)}。")
    else:
        doc.add_paragraph("无。")
    doc.save(path)
    return path


def bulletin_stem(scope_name: str, run: RunRow) -> str:
    """Return the name of a run's bulletin files, without the suffix: the scope, the month, and the revision after the first."""
    return f"通报-{scope_name}-{run.month}" + (f"-第{run.revision}版" if run.revision > 1 else "")


def write_bulletin(result: SupervisionResult, out: Path, xlsx: LedgerXlsx | None = None) -> list[Path]:
    """Write the bulletin of a run into folder `out`: .md, .xlsx, .docx and the chart .png.

    With `xlsx` (started when the run was saved), the workbook is that process's, finished last.
    """
    out.mkdir(parents=True, exist_ok=True)
    b = make_bulletin(result)
    stem = bulletin_stem(result.scope.name, result.run)
    files = [out / f"{stem}.md", out / f"{stem}.xlsx", out / f"{stem}.docx", out / f"{stem}-完成率.png"]
    # The files this call began to write, or that were not there before it: a bulletin written before, whole, is kept
    # when a later call fails before it touches a file.
    begun = [path for path in files if not path.exists()]
    try:
        begun.append(files[3])
        chart, labels = write_chart(b, files[3])
        begun.append(files[0])
        md = write_markdown(b, files[0])
        begun.append(files[2])
        docx = write_docx(b, files[2], chart, labels)
        begun.append(files[1])
        book = xlsx.finish(b) if xlsx is not None else write_xlsx(b, files[1])
    except BaseException:
        # Stopped half way (Ctrl-C, a full disk), the bulletin's files are removed rather than left to be taken for a whole
        # bulletin: the Markdown and DOCX were there without the XLSX they refer to (try-out).
        if xlsx is not None:
            xlsx.close()
        for path in dict.fromkeys(begun):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        raise
    return [md, book, docx, chart]
