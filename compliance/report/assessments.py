"""Scores, supervision runs and the rectification ledger for the terminal, JSON and CSV."""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from datetime import date
from operator import attrgetter, itemgetter
from typing import Any, Iterable, Iterator, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from compliance.assessment import UNGRADED, UNSCORED
from compliance.evaluate import path_order
from compliance.report import tables
from compliance.report.tables import titled_table
from compliance.scoring import ItemScore, Score
from compliance.store.runs import RectificationRow
from compliance.supervision import SupervisionResult, made_after_month


def score_dict(s: Score) -> dict[str, Any]:
    """Return a score as the JSON object `score --format json` prints."""
    return {
        "org": s.org, "sheet": s.sheet, "period": s.period, "total": s.total, "max_total": s.max_total,
        "grade": s.grade, "qualified": s.qualified, "vetoes": list(s.vetoes), "rank": s.rank, "group": s.group,
        "self_total": s.self_total,
        "sections": [{"name": x.name, "points": x.points, "score": x.score} for x in s.sections],
        "items": [{"id": i.item.id, "points": i.item.points, "score": i.score, "self_score": i.self_score,
                   "deductions": [{"points": d.points, "reason": d.reason, "auto": d.auto} for d in i.deductions]}
                  for i in s.items],
    }


def rectification_dict(r: RectificationRow, org: str, today: date) -> dict[str, Any]:
    return {"id": r.id, "org": org, "obligation": r.obligation, "period": r.period, "member": r.member,
            "group": r.group_name, "matter": r.matter, "measure": r.measure, "deadline": r.deadline.isoformat(),
            "responsible": r.responsible, "opened_on": r.opened_on.isoformat(),
            "closed_on": r.closed_on.isoformat() if r.closed_on else None, "close_note": r.close_note,
            "overdue": r.closed_on is None and today > r.deadline,
            "closed_late": r.closed_on is not None and r.closed_on > r.deadline}


def run_dict(result: SupervisionResult, files: list[str]) -> dict[str, Any]:
    """Return a supervision run as the JSON object `supervise --format json` prints."""
    c = result.comparison
    with_gaps: set[str] = set()      # branches, and 党委 or 党总支 with gaps of their own
    by_obligation: dict[str, int] = {}
    for f in result.snapshot.gaps():
        with_gaps.add(f.org)
        by_obligation[f.obligation] = by_obligation.get(f.obligation, 0) + 1
    return {
        "run": {"id": result.run.id, "scope": result.scope.path, "month": result.run.month, "revision": result.run.revision,
                "as_of": result.run.as_of.isoformat(), "published": result.run.published_at is not None},
        "written": result.written, "opened": result.opened, "reopened": result.reopened, "closed": result.closed,
        "settled": result.settled, "by_hand": result.by_hand,
        "run_opened": result.run_totals[0], "run_closed": result.run_totals[1],
        "branches": len(result.branches), "branches_with_gaps": len(with_gaps & set(result.branches)),
        "committees_with_gaps": len(with_gaps - set(result.branches)), "gaps": result.snapshot.gap_count,
        "gaps_by_obligation": by_obligation,
        "comparison": None if c.previous is None else {
            "previous_month": c.previous.month, "previous_revision": c.previous.revision,
            # A year's first run is not compared with last year's last; February's leaves out January's gaps of last year's periods.
            "cross_year": c.cross_year, "left_out": c.left_out, "moved_out": list(c.moved_out), "moved_in": list(c.moved_in),
            "new_gaps": len(c.new_gaps), "closed_gaps": len(c.closed_gaps),
            "better": [{"org": o, "before": a, "after": b} for o, a, b in c.better],
            "worse": [{"org": o, "before": a, "after": b} for o, a, b in c.worse]},
        # The month's records not in order: unsigned, or lacking evidence (`supervision.record_marks`), by organization.
        "record_marks": [{"org": org, "unsigned": u, "incomplete_evidence": i} for org, (u, i) in sorted(result.record_marks.items(), key=lambda kv: path_order(kv[0]))],
        # The first day one of them was held: before the month when records of months before were entered late.
        "record_marks_since": (result.record_marks_since or date.fromisoformat(f"{result.run.month}-01")).isoformat()
        if result.record_marks else None,
        # The month's periods still open on the run's day with nothing that meets them (`SupervisionResult.due_in_month`).
        "due_in_month": [{"org": org, "items": sum(map(len, items.values())),
                          "by_obligation": {slug: len(who) for (slug, _), who in sorted(items.items())},
                          "who": {slug: sorted(w for w in who if w) for (slug, _), who in sorted(items.items()) if any(who)},
                          # Periods with records that do not count yet, and why (`SupervisionResult.due_recorded`).
                          "not_counted": {slug: {"items": len(why), "flags": sorted({f for flags in why for f in flags})}
                                          for (slug, _), why in sorted(result.due_recorded.get(org, {}).items())}}
                         for org, items in sorted(result.due_in_month.items(), key=lambda kv: path_order(kv[0]))],
        "files": files,
    }


# A time as JSON gives it, 2026-12-07T17:28:19+08:00: every time shown is Shanghai's.
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d(?::\d\d)?)(?:\.\d+)?\+08:00")


def _cell(value: Any) -> Any:
    """Return a value as a CSV cell: 是/否, a time as a clerk writes it (2026-12-07 17:28:19, where Excel was left to puzzle over
    2026-12-07T17:28:19+08:00: try-out), a whole number without .0."""
    if value is None:
        return ""
    if isinstance(value, str) and len(value) >= 22 and value[10:11] == "T" and (time := _ISO_TIME.fullmatch(value)):
        return f"{time.group(1)} {time.group(2)}"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return int(value)       # 32, as the table shows it, not 32.0
    return value


def emit_rows(rows: Iterable[dict[str, Any]], fmt: str, headings: dict[str, str]) -> None:
    """Write rows as JSON (English keys) or CSV (Chinese headings), one row at a time: a province's members are a million rows.

    The JSON is what `json.dumps(list(rows), ensure_ascii=False, indent=2)` gives.
    """
    out = sys.stdout
    if fmt == "json":
        _write_json(iter(rows), out, 0)
        out.write("\n")
        return
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([headings[k] for k in headings])
    for row in rows:
        writer.writerow([_cell(row.get(k)) for k in headings])


def emit_json(value: dict[str, Any]) -> None:
    """Write `value` as `json.dumps(value, ensure_ascii=False, indent=2)` does, and a newline; values that are iterators are written item by item."""
    _write_json(value, sys.stdout, 0)
    sys.stdout.write("\n")


def _write_json(value: Any, out: TextIO, level: int) -> None:
    """Write `value` as json.dumps with indent=2 writes it `level` levels deep: a dict key by key, an iterator item by item."""
    inner = "\n" + "  " * (level + 1)
    if isinstance(value, dict) and value:
        for i, (key, item) in enumerate(value.items()):
            # json.dumps turns a key that is not a string into one (1 -> "1", None -> "null").
            name = json.dumps(key, ensure_ascii=False) if isinstance(key, str) else json.dumps({key: 0})[1:-4]
            out.write(("," if i else "{") + inner + name + ": ")
            _write_json(item, out, level + 1)
        out.write("\n" + "  " * level + "}")
    elif isinstance(value, Iterator):
        opened = False
        for item in value:
            out.write(("," if opened else "[") + inner)
            # Indentation is the only newline json.dumps writes (one inside a string is escaped).
            out.write(json.dumps(item, ensure_ascii=False, indent=2).replace("\n", inner))
            opened = True
        out.write("\n" + "  " * level + "]" if opened else "[]")
    else:
        out.write(json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + "  " * level))


SCORE_HEADINGS = {"rank": "名次", "org": "党组织", "sheet": "评分表", "period": "周期", "total": "得分",
                  "max_total": "满分", "self_total": "自评分", "grade": "等次", "qualified": "合格", "vetoes": "一票否决",
                  "group": "所属乡镇"}
RECTIFY_HEADINGS = {"id": "编号", "org": "组织", "matter": "整改事项", "measure": "整改措施", "opened_on": "列入台账日期",
                    "deadline": "整改时限", "responsible": "责任人", "closed_on": "完成销号时间", "close_note": "销号说明"}


# A province's scores warn for hundreds of townships (quotas) and branches (no sheet): above
# this many, the terminal shows the first few and where to read them all.
WARNINGS_LIMIT = 20
WARNINGS_SHOWN = 10


def print_scores(console: Console, scores: list[Score], warnings: list[str], root: str) -> None:
    """Print the scores (above `tables.TABLE_LIMIT`, the grades per unit below `root`) and the quota warnings."""
    title = f"{root} 考核得分（{scores[0].period}）" if scores else "考核得分"
    # Best grade first, by the points that earned it: a vetoed branch's 差 (its points full, say) is no band's (review).
    grades = sorted({s.grade for s in scores}, key=lambda g: -max((s.total for s in scores if s.grade == g and not s.vetoes
                                                                   and g != UNGRADED), default=-math.inf))
    tables.print_listing(console, scores, lambda: _scores_table(title, scores, root), lambda: tables.counts_table(
        title, scores, attrgetter("org"), root,
        [("党支部", tables.every), ("不合格", lambda s: s.qualified is False), *((g, lambda s, g=g: s.grade == g) for g in grades)],
        orgs=None, ranked=False), "个")
    if len(scores) == 1:
        console.print(_sheet_table(scores[0]))
    elif scores:
        # How many of each grade in the whole scope: a county's list of townships' branches had no total (try-out).
        failed = sum(1 for s in scores if s.qualified is False)
        console.print(f"共 {len(scores)} 个党支部：" + "、".join(f"{g} {sum(1 for s in scores if s.grade == g)} 个" for g in grades)
                      + (f"；不合格 {failed} 个" if failed else ""), markup=False, soft_wrap=True)
    if len(warnings) <= WARNINGS_LIMIT:
        for w in warnings:
            console.print(f"[yellow]提醒：{w}[/]")
    else:
        # The grade quotas are what scoring checks: they come before the branches left unscored.
        unscored = [w for w in warnings if w.startswith(UNSCORED)]
        for w in ([w for w in warnings if not w.startswith(UNSCORED)] + unscored)[:WARNINGS_SHOWN]:
            console.print(f"[yellow]提醒：{w}[/]")
        console.print(f"[yellow]另有 {len(warnings) - WARNINGS_SHOWN} 条提醒未列出（共 {len(warnings)} 条，其中未考核 {len(unscored)} 条）；"
                      "全部提醒见 --format json 的 warnings。[/]")


def qualified_text(s: Score) -> str:
    """Return 合格, 不合格, or — for a sheet without a bar."""
    return "—" if s.qualified is None else ("合格" if s.qualified else "不合格")


def sheet_rows(s: Score) -> Iterator[list[str]]:
    """Yield one organization's sheet as its 得分表 shows it: a section's heading (one cell, 党建基础（25/25）) before its
    items, and each item: its id, text, points, score, self score (on a sheet with them: `s.self_total` set) and reasons."""
    own = s.self_total is not None
    section = None
    for i in s.items:
        if i.item.section != section:
            section = i.item.section
            points = next((x for x in s.sections if x.name == section), None)
            yield [f"{section}（{points.score:g}/{points.points:g}）" if points else section]
        self_cell = [("—" if i.self_score is None else f"{i.self_score:g}")] if own else []
        yield [i.item.id, i.item.text, f"{i.item.points:g}", f"{i.score:g}", *self_cell, reasons_text(i)]


def reasons_text(i: ItemScore) -> str:
    """Return an item's deductions as a sheet says them: 支委会 2026-09 逾期未完成（扣0.2）；…"""
    return "；".join(f"{d.reason}（扣{d.points:g}）" for d in i.deductions)


def _scores_table(title: str, scores: list[Score], root: str) -> Table:
    table = titled_table(title, ("名次", "党组织", "评分表", "得分", "等次", "合格", "主要扣分"))
    ranked_among = None
    for s in scores:
        # Ranks are counted among the branches of one township and sheet (`scoring.rank`): each such list is a section of
        # its own, or 1, 1, 1, 2 read as a miscount (migration try-out).
        if (s.group, s.sheet) != ranked_among and ranked_among is not None:
            table.add_section()
        ranked_among = (s.group, s.sheet)
        worst = sorted((i for i in s.items if i.deducted), key=lambda i: -i.deducted)[:2]
        reasons = "；".join(f"{i.item.id} 扣{i.deducted:g}" for i in worst)
        qualified = qualified_text(s)
        if s.vetoes:
            qualified += "（否决：" + "；".join(s.vetoes) + "）"
        own = f"（自评 {s.self_total:g}）" if s.self_total is not None else ""
        table.add_row(str(s.rank) if s.rank is not None else "—", escape(tables.shown_path(s.org, root)), s.sheet,
                      f"{s.total:g}/{s.max_total:g}{own}", s.grade, escape(qualified), reasons)
    return table


def _sheet_table(s: Score) -> Table:
    """Return one organization's scoring sheet item by item (得分表): what the team hands the branch, each deduction with its reason.

    A branch's row named its two largest deductions alone (二.2 扣0.4), not what they were for.
    """
    own = s.self_total is not None
    headings = ("条目", "内容", "分值", "得分", *(("自评",) if own else ()), "扣分原因")
    table = titled_table(escape(f"{s.org} 得分表（{s.sheet}，{s.period}）"), headings, whole=("条目", "分值", "得分", "自评"), lines=True)
    for row in sheet_rows(s):
        if len(row) == 1:
            table.add_row("", f"[bold]{escape(row[0])}[/]", *([""] * (len(headings) - 2)))
        else:
            table.add_row(*map(escape, row))
    total = f"合计 {s.total:g}/{s.max_total:g}，{s.grade}"
    if s.qualified is not None:
        total += "，" + ("合格" if s.qualified else "不合格")
    if s.vetoes:
        total += "（一票否决：" + "；".join(s.vetoes) + "）"
    table.caption = escape(total)      # a veto's reason is typed by the team: 处分[/] broke the markup (review)
    return table


def print_ledger(console: Console, rows: list[dict[str, Any]], root: str | None) -> None:
    """Print the ledger (above `tables.TABLE_LIMIT` items, its counts per unit below `root`) and its totals."""
    if not rows:
        console.print("整改台账：没有需要列出的事项。")
        return
    # The day listed only where there is room: at 80 columns a ninth column broke 整改措施 over two lines (tests, review).
    tables.print_listing(console, rows, lambda: _ledger_table(rows, root, console.width >= 120), lambda: tables.counts_table(
        "整改台账", rows, itemgetter("org"), root,
        [("整改事项", tables.every), ("未销号", lambda r: not r["closed_on"]), ("其中超期", itemgetter("overdue")), ("已销号", itemgetter("closed_on"))],
        orgs="有事项的党组织"))
    open_count = sum(1 for r in rows if not r["closed_on"])
    overdue = sum(1 for r in rows if r["overdue"])
    late = sum(1 for r in rows if r["closed_late"])
    console.print(f"共 {len(rows)} 项：未销号 {open_count} 项，其中超期 {overdue} 项" + (f"；逾期销号 {late} 项" if late else ""))


def _ledger_table(rows: list[dict[str, Any]], root: str | None, listed: bool = True) -> Table:
    """Return the ledger's table; with `listed`, with the day each item was listed (列入台账); with 完成销号时间 when an item
    has been closed (an empty column of open items left 整改措施 eight lines an item at 80 columns, try-out)."""
    closed = any(r["closed_on"] for r in rows)
    # Dates and numbers whole, their marks on a line of their own: at 80 columns a date was cut as 2026-11-3 / 0（已超期）.
    table = titled_table("整改台账", ("编号", "组织", "整改事项", "整改措施", *(("列入台账",) if listed else ()), "整改时限", "责任人",
                                      *(("完成销号时间",) if closed else ())), whole=("编号", "列入台账", "整改时限", "完成销号时间"))
    for r in rows:
        deadline = f"[bold red]{r['deadline']}\n（已超期）[/]" if r["overdue"] else r["deadline"]
        # A matter, measure or name typed by hand (`rectify add`) is text, not markup: 缺签字[/] failed, 缺[b]签字 lost its brackets.
        table.add_row(str(r["id"]), tables.shown_path(r["org"], root), escape(r["matter"]), escape(r["measure"]),
                      *((r["opened_on"],) if listed else ()), deadline,
                      escape(r["responsible"]),
                      *((f"[red]{r['closed_on']}\n（逾期）[/]" if r["closed_late"] else r["closed_on"] or "",) if closed else ()))
    return table


def print_run(console: Console, result: SupervisionResult, files: list[str]) -> None:
    d = run_dict(result, files)
    state = "已发布（冻结）" if d["run"]["published"] else "草稿"
    again = "" if result.written else "（与草稿结果相同，未重复写入，已将草稿发布）" if result.published_draft else "（与上次结果相同，未重复写入）"
    console.print(f"[bold]{result.scope.path} {d['run']['month']} 督查[/] 第{d['run']['revision']}版 {state}，判断日期 {d['run']['as_of']}{again}")
    others = f"（另有党委、党总支本级 {d['committees_with_gaps']} 个）" if d["committees_with_gaps"] else ""
    console.print(f"检查党支部 {d['branches']} 个，存在问题的党支部 {d['branches_with_gaps']} 个{others}，问题 {d['gaps']} 项；"
                  f"新建整改事项 {d['opened']} 项，" + (f"重新打开 {d['reopened']} 项，" if d["reopened"] else "")
                  + f"自动销号 {d['closed']} 项。")
    if (d["run_opened"], d["run_closed"]) != (d["opened"] + d["reopened"], d["closed"]):
        # Run again, or published after a draft: this time's changes alone read as a run that opened nothing (try-out).
        console.print(f"本版督查累计（含此前各次运行）：新建或重新打开整改事项 {d['run_opened']} 项，自动销号 {d['run_closed']} 项。")
    if d["settled"]:
        console.print(f"自动销号的整改事项中，{d['settled']} 项的问题是判断日期之后补交党费整改的（今天销号）。")
    if d["comparison"]:
        c = d["comparison"]
        if c["cross_year"]:
            made_good = (f"上年 {c['previous_month']} 督查发现的问题中，仍在本次督查范围的已解决 {c['closed_gaps']} 项。"
                         if c["closed_gaps"] else "")
            console.print(f"本月为{d['run']['month'][:4]}年度首次督查，不与上年 {c['previous_month']} 的结果逐项比较。{made_good}")
        else:
            left = f"（{c['previous_month']} 的上年度问题 {c['left_out']} 项未计入比较）" if c["left_out"] else ""
            if c["moved_out"]:
                left += f"（已调出本范围的 {len(c['moved_out'])} 个党组织未计入比较）"
            if c["moved_in"]:
                left += f"（此后调入的 {len(c['moved_in'])} 个党组织的问题未计入新增）"
            console.print(f"与 {c['previous_month']} 相比：新增问题 {c['new_gaps']} 项，已解决 {c['closed_gaps']} 项；"
                          f"好转 {len(c['better'])} 个，变差 {len(c['worse'])} 个{left}。")
    if d["record_marks"]:
        unsigned, lacking = (sum(m[k] for m in d["record_marks"]) for k in ("unsigned", "incomplete_evidence"))
        # Which records they are, by the command that lists them (supervision team's try-out).
        console.print(f"本月记录不规范：未签字 {unsigned} 条，材料不全 {lacking} 条，涉及 {len(d['record_marks'])} 个党组织（见通报；"
                      f"某个党组织的是哪几条，可用 compliance record list --org 党组织 --since {d['record_marks_since']} --until {d['run']['as_of']} "
                      "--unsigned --incomplete 查看）。")
    if d["due_in_month"]:
        items = sum(o["items"] for o in d["due_in_month"])
        when = "已于月底到期，未完成的计入下月督查" if made_after_month(result.run) else "月底前完成，到期未完成的计入下月督查"
        console.print(f"本月待完成：{items} 项，涉及 {len(d['due_in_month'])} 个党组织（{when}；见通报）。")
    for f in files:
        console.print(f"  已写出 {f}", soft_wrap=True)
