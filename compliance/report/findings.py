"""Findings rendered as a rich table, JSON (the contract in DESIGN.md) or CSV."""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from typing import Any, BinaryIO, Callable, Iterable, Mapping, TextIO

from rich.console import Console
from rich.table import Table

from compliance.evaluate import BEFORE_DUES, BEFORE_TRACKING, SEVERITY, Finding, path_order, tally
from compliance.members import WATCH_OBLIGATIONS
from compliance.report import tables
from compliance.report.labels import FLAG_LABELS, STATUS_LABELS, STATUS_STYLES, finding_period, flag_text, problem_text

# 周期 as the tables say it (2026年二季度), its key beside it as 事项代码 is beside 事项: a clerk's Excel read 2026-Q2 as
# code, and turned 2026-11 into a date (try-out).
CSV_HEADERS = ["党组织", "事项", "事项代码", "周期", "周期代码", "党小组", "党员", "状态", "截止日期", "剩余天数", "记录编号", "问题"]


def finding_dict(f: Finding) -> dict[str, Any]:
    """Return a finding as the JSON contract's object.

    Its records are those a user can look up: a dues payment judged as a record of its member
    has no record of its own (its id there is the member's, negated), and is not listed.
    """
    return {
        "org": f.org,
        "obligation": f.obligation,
        "name": f.name,
        "period": f.period,
        "group": f.group,
        "member": f.member,
        "status": f.status,
        "due": f.due.isoformat(),
        "days_left": f.days_left,
        "records": [i for i in f.records if i > 0],
        "flags": list(f.flags),
    }


def to_json(findings: Iterable[Finding]) -> str:
    """Return findings as a JSON list, one finding per line."""
    out = io.StringIO()
    write_json(findings, out)
    return out.getvalue()


def write_json(findings: Iterable[Finding], out: TextIO) -> None:
    """Write findings as a JSON list, one finding per line, as they come: a province lists millions.

    Each line is what `json.dumps(finding_dict(f), ensure_ascii=False)` gives, put together from
    strings encoded once each (a province repeats its paths, names and flags hundreds of
    thousands of times) and written a few thousand lines at a time: 2.6 times as fast.
    """
    write_json_lines(map(json_encoder(), findings), out)


def json_encoder() -> Callable[[Finding], str]:
    """Return a function giving a finding's line of `write_json`, with its own cache of encoded strings."""
    text = lru_cache(maxsize=8192)(_ENCODE)

    def line(f: Finding) -> str:
        _, org, obligation, name, period, status, due, days_left, records, flags, member, group = f
        return (f'{{"org": {text(org)}, "obligation": {text(obligation)}, "name": {text(name)}, '
                f'"period": {text(period)}, "group": {_NULL if group is None else text(group)}, '
                f'"member": {_NULL if member is None else text(member)}, "status": {text(status)}, '
                f'"due": "{due.isoformat()}", "days_left": {_NULL if days_left is None else int(days_left)}, '
                f'"records": [{", ".join([str(int(i)) for i in records if i > 0]) if records else ""}], '
                f'"flags": [{", ".join(map(text, flags)) if flags else ""}]}}')
    return line


def write_json_lines(lines: Iterable[str], out: TextIO) -> None:
    """Write `lines` (each a JSON value) as a JSON list, one item a line, a few thousand lines at a time."""
    lines = iter(lines)
    out.write("[")
    sep = "\n"
    while (chunk := list(islice(lines, _LINES))):
        out.write(sep + ",\n".join(chunk))
        sep = ",\n"
    out.write("\n]" if sep != "\n" else "]")


def write_json_bytes(chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Write UTF-8 `chunks` of JSON values, each value followed by ",\\n" (`JSON_END`), as `write_json_lines` writes the values."""
    out.write(b"[")
    tail: bytes | None = None       # the last two bytes so far: the last value's ",\n", which the list's end replaces
    for chunk in chunks:
        if not chunk:
            continue
        if tail is None:
            out.write(b"\n")
            tail = b""
        if len(chunk) < 2:
            chunk, tail = tail + chunk, b""
        out.write(tail)
        out.write(memoryview(chunk)[:-2])
        tail = chunk[-2:]
    out.write(b"]" if tail is None else tail[:-2] + b"\n]")


JSON_END = ",\n"


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
_NULL = "null"
_LINES = 2000


def write_csv(findings: Iterable[Finding], out: TextIO) -> None:
    """Write findings as CSV (see `to_csv`) as they come."""
    write_csv_lines(map(csv_encoder(), findings), out)


def to_csv(findings: Iterable[Finding]) -> str:
    """Return findings as CSV with Chinese headers (UTF-8 with BOM, so Excel opens it as Chinese)."""
    out = io.StringIO()
    write_csv(findings, out)
    return out.getvalue()


def csv_encoder() -> Callable[[Finding], str]:
    """Return a function giving a finding's row of `write_csv`, without its line ending."""
    # The line ending is cut off after: before Python 3.13, a cell is quoted for a line break
    # only when the writer's line ending holds that character.
    row = csv.writer(_Echo(), lineterminator="\n").writerow
    return lambda f: row(_csv_row(f))[:-1]


def write_csv_lines(lines: Iterable[str], out: TextIO) -> None:
    """Write `lines` (rows `csv_encoder` made) after the BOM and the header, a few thousand lines at a time."""
    lines = iter(lines)
    out.write(_csv_head())
    while (chunk := list(islice(lines, _LINES))):
        out.write("\n".join(chunk) + "\n")


def write_csv_bytes(chunks: Iterable[bytes], out: BinaryIO) -> None:
    """Write UTF-8 `chunks` of rows (`csv_encoder`'s, each followed by "\\n") after the BOM and the header, as `write_csv_lines` writes the rows."""
    out.write(_csv_head().encode())
    for chunk in chunks:
        out.write(chunk)


def binary_out(text: TextIO) -> BinaryIO:
    """Return a binary file writing UTF-8 bytes to `text`: its own buffer (`text` flushed first) when it encodes as UTF-8
    and the system's line end is "\\n"; elsewhere (Windows) the text layer makes the line ends, as for text."""
    text.flush()
    buffer = getattr(text, "buffer", None)
    if buffer is not None and os.linesep == "\n" and codecs.lookup(getattr(text, "encoding", None) or "ascii").name == "utf-8":
        return buffer
    return _Decoded(text)  # type: ignore[return-value]


class _Decoded:
    """A binary file that writes UTF-8 bytes, decoded, to a text file (one whose encoding is not UTF-8)."""

    def __init__(self, text: TextIO):
        self._text = text
        self._decode = codecs.getincrementaldecoder("utf-8")().decode

    def write(self, data: bytes) -> int:
        self._text.write(self._decode(bytes(data)))
        return len(data)

    def flush(self) -> None:
        self._text.write(self._decode(b"", final=True))
        self._text.flush()


def _csv_head() -> str:
    """Return what a findings CSV begins with: the BOM (so Excel opens it as Chinese) and the header row."""
    return "\ufeff" + csv.writer(_Echo(), lineterminator="\n").writerow(CSV_HEADERS)


class _Echo:
    """A file that gives back what is written to it: a csv writer's `writerow` then returns the row's text."""

    def write(self, text: str) -> str:
        return text


# How a member's run of months on the six-month watch is shown: ended, reached six months, or running short of them.
WATCH_LABELS = {"met": "已中断", "missed": "提请支部审查", "due": "关注"}


# The flags of an exempt period owed but not checked: before the organization's 启用日期, or its first month of dues.
NOT_CHECKED = frozenset({(BEFORE_DUES,), (BEFORE_TRACKING,)})


def status_label(f: Finding) -> str:
    """Return how a finding's status is shown: a committee's term running is 任期内, not 未开始 (its election is, until the
    term's end); a member's run of months that has ended is 已中断, not 已完成 (连续未参加组织生活 已完成 read as done). Try-outs."""
    if f.status == "upcoming" and "/" in f.period:
        return "任期内"
    if f.obligation in WATCH_OBLIGATIONS and f.status in WATCH_LABELS:
        # 逾期未完成 and 待完成 read oddly of a member's run of months: the branch is to review, or watch, the member (try-out).
        return WATCH_LABELS[f.status]
    if f.status == "exempt" and f.flags in NOT_CHECKED:
        return "不检查"       # 免除 reads as an approved exemption (try-outs)
    return STATUS_LABELS[f.status]


@lru_cache(maxsize=4096)
def _csv_period(obligation: str, period: str) -> str:
    """Return a finding's period as the CSV's 周期 says it: 2026年二季度, 2026年5月起, 2021-03-05至2026-03-04."""
    return finding_period(obligation, period)


def _csv_row(f: Finding) -> list:
    return [f.org, f.name, f.obligation, _csv_period(f.obligation, f.period), f.period, f.group or "", f.member or "", status_label(f),
            f.due.isoformat(), "" if f.days_left is None else f.days_left, " ".join(str(i) for i in f.records if i > 0), flag_text(f.flags)]


def evidence_key(f: Finding) -> tuple[str, str, str, str]:
    """Return what names a finding's period among those of a table: organization, obligation, period, group or member."""
    return f.org, f.obligation, f.period, f.group or f.member or ""


def _when(f: Finding, year: int | None, lacking: Mapping[tuple[str, str, str, str], str] | None = None) -> str:
    """Return a period label with what is wrong with it: 8月（未签字）, 四季度（剩36天，人数不足）; with `lacking` (by
    `evidence_key`), what the records lack, as `log` says it: 8月（材料不全（缺图片））."""
    if f.obligation in WATCH_OBLIGATIONS and f.status in ("due", "missed"):
        # The status says 关注 or 提请支部审查; what is left is how far the six months are: 剩85天 did not say to what
        # (try-out).
        label = finding_period(f.obligation, f.period, year)
        if f.status == "missed":
            return f"{label}（已满6个月）"
        return f"{label}（{f'{f.days_left}天后满6个月' if f.days_left else '今天满6个月'}）"
    notes = [problem_text(f.flags)] if f.flags and f.flags not in NOT_CHECKED else []
    if lacking and notes and (missing := lacking.get(evidence_key(f))):
        notes[0] = notes[0].replace(FLAG_LABELS["incomplete_evidence"], f"{FLAG_LABELS['incomplete_evidence']}（缺{missing}）", 1)
    if len(f.period.split("-")) == 3 and f.due.isoformat() != f.period and (
            f.status in ("due", "upcoming") or "wrong_date" in f.flags):
        # A dated occurrence to come on a day of rest moves to the next working day (顺延), as the calendar says: the
        # table showed 12月20日, a Sunday, and a secretary aimed for it (try-out). Of one gone by, the day is enough,
        # unless its record was held on another: 2月20日（时间不符） did not say the day was 2月24日 (try-out).
        notes.insert(0, f"顺延至{f.due.month}月{f.due.day}日")
    if f.status == "due":
        # 今天截止 was read as the day the command ran, with an --as-of of a week before (try-out): the day itself, once
        # (12月21日截止，顺延至12月21日 said it twice: review).
        if f.days_left:
            notes.insert(0, f"剩{f.days_left}天")
        elif notes and notes[0].startswith("顺延至"):
            notes[0] += "截止"
        else:
            notes.insert(0, f"{f.due.month}月{f.due.day}日截止")
    elif f.status == "upcoming" and "/" in f.period:
        # A committee's term running (任期内, the status cell says): its election is due at the term's end.
        notes.insert(0, "届满时换届")
    elif f.status == "missed" and "/" in f.period and "no_election_record" not in f.flags:
        # A term ended without an election: the dates alone (2021-03-05至2026-03-04 逾期未完成) did not say so (try-out).
        # Without any election on record, the flag says what to do (补录) instead.
        notes.insert(0, "届满未换届")
    label = finding_period(f.obligation, f.period, year)
    return f"{label}（{'，'.join(notes)}）" if notes else label


def findings_table(findings: list[Finding], title: str, show_org: bool = True, root: str | None = None,
                   year: int | None = None, lacking: Mapping[tuple[str, str, str, str], str] | None = None) -> Table:
    """Return a rich table of findings, one row per organization, obligation, object and status.

    Periods with the same status are listed together in one cell, separated by spaces so that a
    narrow terminal wraps between periods, each with its own problems in brackets. Paths are
    shown relative to `root`; the organization with the most missed items comes first, and years equal to `year` are left out of period labels.
    """
    # A row per label too: a member's months before joining (免除) and before the branch's first dues (不检查) are two
    # rows; in one, the row was labelled 免除 and its note dropped (review). And a row per reason not checked: months before
    # the 启用日期 and before the first dues in one row were 不检查 without either note (review).
    groups: dict[tuple[str, str, str, str, str, tuple[str, ...]], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.org, f.name, f.group or f.member or "", f.status, status_label(f),
                           f.flags if f.flags in NOT_CHECKED else ()), []).append(f)
    worst: dict[str, list[int]] = {}
    for f in findings:
        worst.setdefault(f.org, [0, 0, 0])[min(SEVERITY[f.status], 2)] -= 1
    org_rank = {org: (counts, path_order(org)) for org, counts in worst.items()}
    ordered = sorted(groups.items(), key=lambda item: (org_rank[item[0][0]], SEVERITY[item[0][3]]))
    has_object = any(key[2] for key in groups)
    table = Table(title=title, header_style="bold")
    if show_org:
        table.add_column("党组织", overflow="fold")
    table.add_column("事项", overflow="fold")
    if has_object:
        table.add_column("对象", overflow="fold")
    table.add_column("状态", no_wrap=True)
    table.add_column("周期（问题）", overflow="fold")
    # Members with the same periods of an obligation, the same status and the same problems share a row: a branch's
    # status had a row for each member's dues, 党费 待完成 12月（剩24天） sixteen times over (try-out).
    rows: dict[tuple[str, str, str, str, str], list[str]] = {}
    for (org, name, who, status, label, _), items in ordered:
        when = " ".join(_when(f, year, lacking) for f in items)
        if items[0].flags in NOT_CHECKED and all(f.flags == items[0].flags for f in items):
            when += f"（{FLAG_LABELS[items[0].flags[0]]}）"     # said once, not after each month
        shared = items[0].member is not None and items[0].group is None
        rows.setdefault((org, name, status, label, when) if shared else (org, name, status, label, when, who), []).append(who)
    previous_org = None
    for (org, name, status, label, when, *_), whom in rows.items():
        who = whom[0] if len(whom) == 1 else f"{len(whom)}人：{'、'.join(whom)}"
        cells = [name] + ([who] if has_object else []) + [f"[{STATUS_STYLES[status]}]{label}[/]", when]
        if show_org:
            cells.insert(0, tables.shown_path(org, root) if org != previous_org else "")
            if org != previous_org and previous_org is not None:
                table.add_section()
        previous_org = org
        table.add_row(*cells)
    return table


SUMMARY_STATUSES = ("missed", "invalid", "due")


# Organization path -> (count of its findings by status, by obligation name).
OrgCounts = dict[str, tuple[dict[str, int], dict[str, int]]]


def print_findings(console: Console, findings: list[Finding], title: str, show_org: bool = True,
                   root: str | None = None, year: int | None = None,
                   lacking: Mapping[tuple[str, str, str, str], str] | None = None) -> None:
    """Print a table of findings (or, above `tables.TABLE_LIMIT` across organizations, `print_counts`) and a one-line count by status."""
    if not findings:
        console.print(f"{title}：没有需要列出的事项。")
        return
    if show_org and len(findings) > tables.TABLE_LIMIT:
        print_counts(console, org_counts(findings), title, root)
        return
    table = findings_table(findings, title, show_org, root, year, lacking)
    console.print(table)
    # Counted as the table labels them: 未开始 1 项 beside a table that said 任期内 (try-out).
    labels: dict[str, dict[str, int]] = {}
    for f in findings:
        by_label = labels.setdefault(f.status, {STATUS_LABELS[f.status]: 0})
        label = status_label(f)
        by_label[label] = by_label.get(label, 0) + 1
    # 共 8 项 under five rows read as three items missing (supervision team's try-out): a row holds an obligation's periods,
    # and members alike.
    merged = f"（同一事项的几个周期、几名党员合在一行，表中共 {table.row_count} 行）" if table.row_count < len(findings) else ""
    console.print(_total(tally(findings)[0], labels) + merged)


def print_counts(console: Console, by_org: OrgCounts, title: str, root: str | None = None) -> None:
    """Print what `print_findings` prints of more than `tables.TABLE_LIMIT` findings, from their counts by organization."""
    counts: dict[str, int] = {}
    for statuses, _names in by_org.values():
        for status, n in statuses.items():
            counts[status] = counts.get(status, 0) + n
    console.print(counts_table(by_org, title, root))
    console.print(tables.too_many(sum(counts.values())))
    console.print(_total(counts))


def _total(counts: dict[str, int], labels: dict[str, dict[str, int]] | None = None) -> str:
    """Return the line counting findings by status, worst first (as a list is ordered), whatever the order of `counts`;
    with `labels` (status -> count by `status_label`, its own label first), each label of a status apart."""
    parts = []
    for s in sorted(counts, key=SEVERITY.__getitem__):
        shown = labels.get(s) if labels else None
        parts += [f"{label} {n} 项" for label, n in shown.items() if n] if shown else [f"{STATUS_LABELS[s]} {counts[s]} 项"]
    return f"共 {sum(counts.values())} 项：{'，'.join(parts)}"


def org_counts(findings: Iterable[Finding]) -> OrgCounts:
    """Return the counts of `findings` by organization path (see `OrgCounts`)."""
    by_org: dict[str, list[Finding]] = {}
    for f in findings:
        by_org.setdefault(f.org, []).append(f)
    return {org: tally(found) for org, found in by_org.items()}


def counts_table(by_org: OrgCounts, title: str, root: str | None = None) -> Table:
    """Return counts of findings per unit below `root`: organizations with findings, each status, the most frequent obligations.

    The units are those directly below the scope, or further down while there is only one of
    them (a province of one city); the unit with the most missed items comes first.
    """
    units: dict[str, tuple[dict[str, int], dict[str, int], list[str]]] = {}
    for unit, members in tables.by_unit(list(by_org.items()), itemgetter(0), root).items():
        counts, totals, orgs = units[unit] = ({}, {}, [])
        for org, (statuses, names) in members:
            orgs.append(org)
            for key, n in statuses.items():
                counts[key] = counts.get(key, 0) + n
            for key, n in names.items():
                totals[key] = totals.get(key, 0) + n
    table = Table(title=f"{title}（按下级党组织汇总）", header_style="bold")
    table.add_column("下级党组织", overflow="fold")
    table.add_column("有事项的党组织", justify="right")
    for status in SUMMARY_STATUSES:
        table.add_column(f"[{STATUS_STYLES[status]}]{STATUS_LABELS[status]}[/]", justify="right")
    table.add_column("最多的事项", overflow="fold")
    for unit in sorted(units, key=lambda u: ([-units[u][0].get(s, 0) for s in SUMMARY_STATUSES], path_order(u))):
        counts, totals, orgs = units[unit]
        top = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        table.add_row(unit, str(len(orgs)), *[str(counts.get(s, 0)) for s in SUMMARY_STATUSES],
                      "、".join(f"{name}{n}项" for name, n in top))
    return table
