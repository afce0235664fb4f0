"""Bulk loading of organizations, members and records from CSV or XLSX, all or nothing.

Every row is checked before anything is written; a bad file raises one InputError that names
the file, the row, the column and the value (and how many other problems there are).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from array import array
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import lru_cache, partial
from operator import itemgetter
from pathlib import Path
from sys import intern
from typing import Any, Callable, Collection, Iterable, Iterator, NamedTuple, Sequence, cast

from compliance.access import SUPERVISORS, Actor, PermissionDenied, require_write
from compliance.errors import InputError
from compliance.evaluate import Record as EvalRecord, approved_deadline
from compliance.orgs import (LEAVE_REASONS, MemberRow, OrgIndex, OrgRow, abbreviated, candidates, spelled_like, under_parent,
                             unslashed)
from compliance.pipeline import can_fork, checked_chunks, fewer_collections
from compliance.store import RECORD_CONTENT, TZ, Store
from compliance.store.records import ROW, RecordBatch
from compliance.tabular import (
    FALSE_WORDS, PARTY_FOUNDED, TOO_EARLY, TRUE_WORDS, split_names,
    CellError, Column, Table, parse_birth, parse_bool, parse_count, parse_date, parse_people, parse_study_hours, parse_text, read_table,
    parse_turnout, sharing, stream_table, title_year, turnout_order,
)
from obligations.cadence import year_before
from obligations.catalog import ORG_TYPES, SECTORS, Obligation
from obligations.rules import Rules

# How the files offices keep head the column of a row's organization, in a roster, a records or a dues file: the records
# import refused 所在党支部 and 党组织名称, which the roster took and the README promised (try-out).
ORG_ALIASES = ("所在党支部", "所在党组织", "党组织名称", "党支部", "所在支部", "支部")

ORG_COLUMNS = [
    Column("名称", "name", True, 200, aliases=("党组织名称", "组织名称")),
    Column("上级", "parent", max_length=1000, aliases=("上级党组织", "上级组织")),
    Column("类型", "type", True, aliases=("组织类别", "党组织类别", "组织类型", "党组织类型")), Column("代码", "code", max_length=64),
    Column("领域", "sector", aliases=("所属领域",)), Column("执行规定", "catalog"), Column("成立日期", "founded", aliases=("成立时间",)),
    Column("启用日期", "tracked_from"), Column("书记", "secretary", aliases=("党组织书记", "支部书记")),
    Column("有支委会", "has_committee"), Column("撤销日期", "dissolved", aliases=("撤销时间",)),
    # The id `org export` writes: a row with one is that organization, wherever the file places it (a changed 上级 or
    # 名称 made a second one beside it, try-out). Blank for a new one.
    Column("编号", "id"),
]
# `aliases` are the other headers an office's sheets have for a column (入党时间, 应到人数, 会议日期).
MEMBER_COLUMNS = [
    Column("姓名", "name", True, aliases=("党员姓名",)), Column("党组织", "org", True, 1000, aliases=ORG_ALIASES),
    Column("党小组", "group", aliases=("所在党小组",)), Column("类别", "status", aliases=("党员类别", "人员类别")),
    Column("流动党员", "mobile", aliases=("是否流动党员",)), Column("联系人", "liaison"),
    Column("入党日期", "joined", aliases=("入党时间",)), Column("出生日期", "born", aliases=("出生时间", "出生年月")), Column("性别", "gender"),
    Column("离开日期", "left_on", aliases=("离开时间",)), Column("离开原因", "left_reason"), Column("转入日期", "arrived_on", aliases=("转入时间",)),
    # Read for what it says of a departure alone (`LEFT_WORDS`), not kept.
    Column("备注", "note", max_length=100000),
]
# What a roster's 备注 says of a member who has left (2026年5月12日病故, 转出至县城): the member stays on it without a 离开日期.
LEFT_WORDS = re.compile(r"病故|去世|逝世|死亡|亡故|转出|迁出|转走|出党|开除|除名|退党")
RECORD_COLUMNS = [
    Column("党组织", "org", True, 1000, aliases=ORG_ALIASES),
    Column("类型", "kind", True, aliases=("会议类型", "活动类型")),
    Column("日期", "date", True, aliases=("会议日期", "召开日期", "活动日期", "会议时间", "时间", "活动时间", "召开时间")),
    Column("应到", "expected", aliases=("应到人数",)), Column("实到", "present", aliases=("实到人数", "到会人数", "参会人数", "出席人数")),
    # Both counts in one cell (应到20人，实到17人), read into 应到 and 实到 (`parse_turnout`).
    Column("参会情况", "turnout", aliases=("到会情况", "出席情况", "应到/实到", "应到实到", "应到/实到人数", "实到/应到")),
    Column("主题", "topic", max_length=500, aliases=("会议主题", "活动主题", "内容", "会议内容", "活动内容")), Column("记录人", "recorder"),
    Column("书记签字", "secretary_signed"), Column("记录人签字", "recorder_signed"), Column("党员", "member"),
    Column("党小组", "group"), Column("主讲人", "lecturer", aliases=("授课人",)),
    Column("参会人员", "attendees", max_length=100000, aliases=("参会党员", "参加人员")),
    Column("请假人员", "excused", max_length=100000, aliases=("请假党员",)), Column("谈话对象", "counterpart"), Column("学时", "hours"),
    Column("图片", "photos", max_length=100000, aliases=("照片",)), Column("录入日期", "recorded_on"),
]
# A record's fields by their Chinese column names, as what a record lacks is told (待补: 书记签字、图片).
RECORD_LABELS = {c.english: c.chinese for c in RECORD_COLUMNS}
VACANT_WORDS = {"空缺", "缺职", "（空缺）", "(空缺)"}
# What empties a stored value in an organization file, and the columns it may be written in.
CLEAR_WORDS = {"清除", "（清除）", "(清除)"}
CLEARABLE = ("code", "sector", "catalog", "founded", "tracked_from", "dissolved", "secretary", "has_committee")


@dataclass
class ImportResult:
    """What an import did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    ids: Sequence[int] = field(default_factory=list)     # Ids from the store: ranges, not one int each
    overrode: list[int] = field(default_factory=list)   # records whose `record correct` version a row of the file replaced
    # Rows of a roster naming members who have left it, the file giving no 离开日期: how many, and the first few
    # as (organization path, name, day left, reason). They stay off the roster.
    still_left: int = 0
    voided: list[int] = field(default_factory=list)     # voided records a row of the file names unchanged: they stay void
    # Rows of a roster whose 联系人 is on neither the stored roster nor the file's of the branch: (row, path, liaison).
    strange_liaisons: list[tuple[int, str, str]] = field(default_factory=list)
    still_left_named: list[tuple[str, str, date, str | None]] = field(default_factory=list)
    # Members added to a roster already kept, without a 转入日期: how many, and the first few (row, organization, name).
    added_midway: int = 0
    added_midway_named: list[tuple[int, str, str]] = field(default_factory=list)
    # Rows of a roster whose 备注 says the member left (`LEFT_WORDS`) without a 离开日期: how many, and the first few as
    # (row, organization path, name, the remark).
    noted_left: int = 0
    noted_left_named: list[tuple[int, str, str, str]] = field(default_factory=list)
    where: str = ""          # the file, and for a workbook of several sheets the sheet read (x.xlsx「党员」表)
    # Rows of the file repeating an earlier row's record (the same identity and content), imported once: how many, and
    # the first few as (row, earlier row).
    repeated: int = 0
    repeated_rows: list[tuple[int, int]] = field(default_factory=list)
    dated: bool = False      # a record file with a 录入日期 column: the day each record was entered may be given
    signed: bool = False     # a record file with a 书记签字 or 记录人签字 column
    # Rows as records were before `record correct` changed what finds them (day, topic…), not added again: the first few as
    # (row, record id).
    corrected_away: list[tuple[int, int]] = field(default_factory=list)
    updated_records: list[int] = field(default_factory=list)     # the first few records a row of the file made a new version of
    redated: int = 0         # of those updated, the records given an earlier first entry by the 录入日期 alone, their content as it was
    skipped: list[tuple[int, str]] = field(default_factory=list)   # rows passed over (`Table.skipped`): title, totals, footer
    # The year the file's title names and that title: the year of its days written without one (`_RecordContext.title_year`).
    title_year: tuple[int, str] | None = None
    # The row of the file that wrote or found a version unchanged (`_RowNumbers.row_of`), None for one it has no row of.
    row_of: Callable[[int], int | None] = field(default=lambda version_id: None)


# How many of a file's problems an import names: the first in the message, the rest below it.
PROBLEMS_SHOWN = 10
# How many rows repeating an earlier row of the file an import names.
REPEATS_SHOWN = 3
# How many rows of one problem (the same column, value and reason: 211 rows naming one mistyped branch) an import names.
SAME_ROWS_SHOWN = 5
# How many different problems a file's collector keeps count of, those of its earliest rows: a file may have a problem of
# its own in each of a million rows. Twice as many are kept before the latest are let go.
PROBLEMS_COUNTED = 1000


class Same(NamedTuple):
    """One problem of a file (`_Problems`): its text at its first row, how many rows have it, and its first few rows."""

    text: str
    count: int
    rows: list[int]


class _Problems:
    """Collects row problems; raises one InputError naming the first, listing the next few and counting the rest.

    Row 0 stands for the command line: the problem is named by its option, not by file and row.
    Rows with the same problem (column, value and reason) are named together, with how many
    there are: the first ten rows of a file that misspells one branch would otherwise all say
    the same. Only the problems of the earliest rows are kept (`counted`; None: all, as a chunk
    checked in the worker keeps them, for the collector it is merged into to count exactly).
    """

    def __init__(self, table: Table, nothing: str = "未登记", counted: int | None = PROBLEMS_COUNTED):
        self.table = table
        self.nothing = nothing      # what a problem on the command line leaves undone
        self.same: dict[str, Same] = {}     # problem -> its rows: the earliest in the file win, whoever found them
        self.count = 0
        self.counted = counted
        self.last: tuple[str, int] | None = None       # the last problem added, and its row

    def add(self, number: int, column: str | None, value: Any, reason: str) -> None:
        # A column the file lacks is named by its Chinese header, as the file would have had it.
        header = (self.table.headers.get(column) or self.table.names.get(column) or column) if column else None
        if isinstance(value, datetime) and value.time() == time():
            value = value.date()        # an XLSX date cell, as the user typed it
        shown = "" if value is None else f"：值「{value}」"
        if number == 0:
            # A problem of the whole command names no option: it began 错误：命令行参数： (try-out).
            where = f"{header}{shown}" if header else ""
        else:
            where = f"{self.table.where or self.table.path.name} 第{number}行" + (f"「{header}」列{shown}" if header else "")
        text = f"{where}：{reason}" if where else reason
        key = f"{header}\x1f{shown}\x1f{reason}" if number else text
        if (key, number) == self.last:
            return      # a row read as several (a ledger's months: `membership.dues_table`) has each problem once
        self.last = (key, number)
        self._keep({key: Same(text, 1, [number])})
        self.count += 1

    def _wide(self, number: int, problem: str, named: set[int]) -> str:
        """Return `problem` saying, at the first of its row's, that the row has more fields than the header (`Table.wide`)."""
        more = self.table.wide.get(number)
        if not more or number in named:
            return problem
        named.add(number)
        return (f"{problem}；这一行比表头多 {more} 列：值中多半有未加引号的英文逗号，使其后各列错位，"
                "可把含逗号的值放进英文双引号，或改用中文逗号")

    def _keep(self, problems: dict[str, Same]) -> None:
        kept = self.same
        for key, found in problems.items():
            had = kept.get(key)
            if had is None:
                kept[key] = found
            else:
                earlier = had if had.rows[0] <= found.rows[0] else found
                kept[key] = Same(earlier.text, had.count + found.count, sorted(had.rows + found.rows)[:SAME_ROWS_SHOWN])
        if self.counted is not None and len(kept) > 2 * self.counted:
            self.same = dict(sorted(kept.items(), key=lambda item: item[1].rows[0])[:self.counted])

    def earliest(self) -> list[Same]:
        """Return the problems to name, by their first row (a row's own in the order found)."""
        return sorted(self.same.values(), key=lambda same: same.rows[0])[:PROBLEMS_SHOWN]

    def parse(self, number: int, values: dict[str, Any], column: str, parser: Callable[[Any], Any]) -> Any:
        try:
            return parser(values.get(column))
        except CellError as exc:
            self.add(number, column, values.get(column), str(exc))
            return None

    def merge(self, same: dict[str, Same], count: int) -> None:
        """Add the problems another collector found (a chunk checked in the worker): all of them, and how many."""
        self._keep(same)
        self.count += count

    def raise_if_any(self) -> None:
        if self.same:
            rows = self.table.rows
            from_command_line = isinstance(rows, list) and bool(rows) and all(number == 0 for number, _ in rows)
            nothing = self.nothing if from_command_line else "未导入任何数据"
            named: set[int] = set()
            shown = self.earliest()
            listed = [(self._wide(same.rows[0], same.text, named), _rows_alike(same)) for same in shown]
            (first, alike), *rest = listed
            others = self.count - shown[0].count
            more = f"另有 {others} 处错误，" if others else ""
            error = InputError(f"{first}（{alike}；{more}{nothing}）" if alike else f"{first}（{more}{nothing}）")
            error.details = tuple(f"{problem}（{alike}）" if alike else problem for problem, alike in rest)
            unnamed = self.count - sum(same.count for same in shown)
            if unnamed:
                error.details += (f"……其余 {unnamed} 处错误未列出",)
            raise error


def _rows_alike(same: Same) -> str:
    """Return what an import says of the rows with the same problem as `same`'s first, or "" when it is alone."""
    if same.count == 1:
        return ""
    rows = "、".join(map(str, same.rows))
    return f"同样的问题共 {same.count} 行：第{rows}行" + ("等" if same.count > len(same.rows) else "")


def file_meta(path: Path, table: Table) -> dict[str, Any]:
    """Return what the audit log keeps of an imported file: its name, SHA-256 and row count (once its rows are read)."""
    return {"file": path.name, "sha256": table.sha256, "rows": table.count}


# What a row of an office's sheet beside its table starts with: a totals row, a note under the table.
NOT_ROWS = ("合计", "总计", "小计", "共计", "注：", "注:", "说明", "备注：", "填表人", "审核人")


def _resolve(index: OrgIndex, ref: str, suggest: "Suggestions | None" = None) -> tuple[OrgRow | None, str | None]:
    """Return the organization `ref` names, or None and why; with `suggest`, why names the one it may mean."""
    if not ref.strip():
        # Merged cells (one 党组织 for several rows) leave every row but the first blank.
        return None, "党组织不能为空（如是合并单元格，请取消合并，并在每一行填写党组织）"
    found = index.find(ref)
    if isinstance(found, OrgRow):
        return found, None
    # Only once nothing is found by it: 说明村党委 is a name (review).
    if ref.strip().startswith(NOT_ROWS):
        return None, "找不到该党组织：像是表格下方的合计行或说明行，请删去这一行"
    if found:
        return None, f"党组织名称不唯一，请用代码或完整路径：{candidates(found)}"
    if not index.by_id:
        # A roster or records imported before the tree: every row said 找不到该党组织, and nothing said why.
        return None, "找不到该党组织：数据库中还没有党组织，请先导入组织结构（compliance org import）"
    meant = suggest(ref) if suggest is not None else []
    return None, "找不到该党组织" + (f"（是否是「{'」「'.join(meant)}」？）" if meant else "")


# Dots typed for the interpunct of a minority name (阿依古丽·买买提): a bullet, a katakana middle dot, a full stop.
DOT_LOOKALIKES = str.maketrans({c: "·" for c in "•・･‧∙⋅.．"})


def interpunct(name: str) -> str:
    """Return a name with the dots typed for its interpunct written as one (阿依古丽•买买提 as 阿依古丽·买买提)."""
    return name.translate(DOT_LOOKALIKES)


# Above this many organizations, a name not found is compared only for a difference of width or spaces, not spelled near.
SIMILAR_SCAN = 5000
# Names not found compared for spelling in one import: an error shows the first few, and each comparison reads every name.
SPELLED_MOST = 20


def _org_key(text: str) -> str:
    """Return a name as compared for a suggestion: full-width forms as half-width ones (（南院） as (南院)), without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).split())


class Suggestions:
    """The organizations a name not found may mean, for one import (`_resolve`): the same but for width and spaces,
    else (up to `SIMILAR_SCAN` organizations, for the first `SPELLED_MOST` names) a name spelled near it.

    The organizations are read, and their names made comparable, when the first name is not found: the paths of
    a province's tree were compared for every row whose parent came later in its file (138 s instead of 22 s).
    """

    def __init__(self, orgs: Callable[[], Iterable[OrgRow]], most: int = 3):
        self._orgs, self._most = orgs, most
        self._keys: dict[str, set[str]] | None = None
        self._names: dict[str, list[str]] = {}
        self._said: dict[str, list[str]] = {}
        self._spelled = 0

    def __call__(self, ref: str) -> list[str]:
        if ref in self._said:
            return self._said[ref]
        if self._keys is None:
            self._keys = {}
            for o in self._orgs():
                self._names.setdefault(o.name, []).append(o.path)
                self._keys.setdefault(_org_key(o.name), set()).add(o.path)
                # The path typed without its slashes too (西岭村党总支第一党支部: try-out).
                path = _org_key(o.path)
                for key in (path, *unslashed(path)):
                    self._keys.setdefault(key, set()).add(o.path)
        found = sorted(self._keys.get(_org_key(ref)) or self._keys.get(abbreviated(_org_key(ref)), ()))[:self._most]
        if not found and len(self._names) <= SIMILAR_SCAN and self._spelled < SPELLED_MOST:
            self._spelled += 1
            parent, _, tail = ref.strip().rpartition("/")
            # A name typed short (李庄村 for 李庄村党支部), as `OrgIndex.resolve` takes it: `log --org 李庄村` said 找不到
            # alone where `status` asked 是否是 (try-out). Else one spelled near it, those under the parent named first:
            # 朱庄村党总支/第一党支布 was told every 第一党支部 of the township (try-out).
            begun = sorted(p for name, paths in self._names.items() if len(tail) > 1 and name.startswith(tail) for p in paths)
            found = (under_parent(begun, parent) or spelled_like(tail, parent, self._names, self._most))[:self._most]
        self._said[ref] = found
        return found


def misplaced(parent_type: str, child_type: str) -> str | None:
    """Say why an organization of `child_type` cannot be directly under one of `parent_type`, or None when it can.

    A 党支部 has no organizations below it (its 党小组 are groups of its members), a 党总支 has
    党支部 only, and a 乡镇党委, 街道党工委 or 县委 is led by a 县委 or a higher 党委.
    """
    if parent_type == "党支部":
        return f"上级是党支部：党支部下面不设党组织（党小组请填在党员的「党小组」列），{child_type}应设在党总支或党委下"
    if parent_type == "党总支" and child_type != "党支部":
        return f"上级是党总支：党总支下面只设党支部，{child_type}应设在党委下"
    if child_type in ("乡镇党委", "街道党工委", "县委") and parent_type not in ("县委", "党委"):
        return f"{child_type}的上级应为县委或更高一级的党委，不能是{parent_type}"
    return None


def _check_places(problems: _Problems, existing: list[OrgRow], placed: list[tuple[int, dict[str, Any]]]) -> None:
    """Refuse the rows that put an organization where the tree cannot hold it (`misplaced`), by the types the import leaves.

    Only rows that add an organization or change its type are checked: a tree stored before the
    rule, read again unchanged, stays loadable.
    """
    stored = {o.path: o.type for o in existing}
    types = dict(stored)
    types.update((row["path"], row["type"]) for _, row in placed)
    children: dict[str, list[str]] | None = None
    for number, row in placed:
        was = stored.get(row["path"])
        if was == row["type"]:
            continue
        if row["parent_path"] and (wrong := misplaced(types[row["parent_path"]], row["type"])):
            problems.add(number, "parent", row["parent"], wrong)
        if was is None:
            continue
        if children is None:        # made once, when a type changes
            children = {}
            for path in stored:
                if "/" in path:
                    children.setdefault(path.rsplit("/", 1)[0], []).append(path)
        for child in children.get(row["path"], ()):
            if wrong := misplaced(row["type"], types[child]):
                problems.add(number, "type", row["type"], f"「{row['path']}」下已有党组织，改为{row['type']}后不成立（{wrong}）")
                break


# The types an office may put under a new superior (a county above its townships): a row of one of them with the name
# of one kept elsewhere in the tree is taken to be it, unless its code says otherwise.
TOP_TYPES = ("县委", "乡镇党委", "街道党工委", "党委")


def _moved_words(gone: tuple[str, date]) -> str:
    """Say that the organization a row places where it was before a move is elsewhere now, and which superior to write."""
    there, day = gone
    return (f"该党组织已于 {day.isoformat()} 调整隶属关系，现为「{there}」：如是同一党组织，请把「上级」改为 "
            f"{there.rsplit('/', 1)[0]}")


def _move_words(path: str, parent_path: str) -> str:
    """Say how to put the organization at `path` under `parent_path`: not by an import, by `org move`."""
    if not parent_path:
        return f"如是同一党组织，请在「上级」列写明 {path.rsplit('/', 1)[0]}"
    return f"请从文件中删去该党组织及其下级各行后再导入，然后用 compliance org move {path} --to {parent_path} 移动"


_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE][+-]?\d+")      # 3.21E+16: a number as Excel shows and saves it


def _other_place(org: OrgRow | None, row: dict[str, Any]) -> str | None:
    """Say why a row with the 编号 of `org` (None: no such id) does not name it: another 名称 or 上级 than it has; None when it does."""
    if org is None:
        return f"没有编号为 {row['id']} 的党组织（编号由 org export 写出；新增的党组织请留空）"
    if org.path == row["path"]:
        return None
    if org.name != row["name"]:
        return (f"编号 {org.id} 是「{org.path}」：导入不能更改已有党组织的名称；如是另一党组织，请清空该行的「编号」")
    return f"编号 {org.id} 是「{org.path}」：导入不能改变已有党组织的上级，{_move_words(org.path, row['parent_path'])}"


def import_orgs(store: Store, rules: Rules, path: Path, actor: Actor | None = None, sheet: str | None = None) -> ImportResult:
    """Load organizations; parents may be existing ones or rows of the same file, in any order.

    With an `actor`, every organization the file adds or changes must be theirs to change.
    """
    table = read_table(path, ORG_COLUMNS, sheet)
    problems = _Problems(table)
    existing = store.orgs()
    parsed = []
    for number, values in table.rows:
        # 清除 empties a stored value, which a blank cell keeps: a 撤销日期 entered by mistake could not be taken back (try-out).
        cleared = {k for k in CLEARABLE if parse_text(values.get(k)) in CLEAR_WORDS}
        for k in cleared:
            values = {**values, k: None}
        row = {
            "name": parse_text(values.get("name")), "parent": parse_text(values.get("parent")),
            "type": parse_text(values.get("type")), "code": parse_text(values.get("code")),
            "sector": parse_text(values.get("sector")), "catalog": parse_text(values.get("catalog")),
            "founded": problems.parse(number, values, "founded", parse_date),
            "tracked_from": problems.parse(number, values, "tracked_from", parse_date),
            "dissolved": problems.parse(number, values, "dissolved", parse_date),
            "has_committee": problems.parse(number, values, "has_committee", parse_bool),
            "id": problems.parse(number, values, "id", parse_count),
        }
        # 空缺 declares a vacancy (a veto in seed 004); a name fills the post; blank is unknown.
        secretary = parse_text(values.get("secretary"))
        # 刘 伟 as the roster has it, 刘伟 (`unpadded`): the 书记讲党课 of 刘伟 was 非书记主讲 (try-out).
        secretary = unpadded(secretary) if secretary else secretary
        row["secretary_vacant"] = None if secretary is None else secretary in VACANT_WORDS
        row["secretary"] = None if row["secretary_vacant"] else secretary
        if "secretary" in cleared:
            cleared.add("secretary_vacant")     # neither a name nor a vacancy: unknown
        row["cleared"] = cleared
        if not row["name"] or "/" in row["name"]:
            problems.add(number, "name", row["name"], "名称不能为空，也不能包含 /")
        if row["code"] and (_SCIENTIFIC.fullmatch(row["code"]) or (isinstance(values.get("code"), float) and values["code"] >= 2 ** 53)):
            # Excel shows a long number as 3.21E+16 and saves a CSV so, its last digits gone (try-out).
            problems.add(number, "code", values.get("code"), "代码是被 Excel 当作数字改写的长数字，末几位已丢失：请把该列设为「文本」后"
                                                             "重新填写，或用 org export 导出为 .xlsx 文件再编辑")
        if row["type"] not in ORG_TYPES:
            problems.add(number, "type", row["type"], ("类型不能为空，" if row["type"] is None else "") + f"类型应为 {'、'.join(ORG_TYPES)} 之一")
        if row["sector"] and row["sector"] not in SECTORS:
            problems.add(number, "sector", row["sector"], f"领域应为 {'、'.join(SECTORS)} 之一")
        if row["catalog"] and row["catalog"] not in rules.catalogs:
            problems.add(number, "catalog", row["catalog"], f"没有这个规则集，可用：{'、'.join(sorted(rules.catalogs))}")
        founded, dissolved = row["founded"], row["dissolved"]
        if founded and founded < PARTY_FOUNDED:
            problems.add(number, "founded", values.get("founded"), f"日期{TOO_EARLY}")
        if founded and dissolved and dissolved < founded:
            problems.add(number, "dissolved", values.get("dissolved"), f"撤销日期早于成立日期（{founded.isoformat()}）")
        parsed.append((number, row))
    problems.raise_if_any()

    # Resolve parents in passes, so a file may list children before their parents.
    known = list(existing)
    pending = parsed
    placed: list[tuple[int, dict[str, Any]]] = []
    fake_id = -1
    while pending:
        index = OrgIndex(known)
        later = []
        for number, row in pending:
            parent = None
            if row["parent"]:
                parent, _ = _resolve(index, row["parent"])
                if parent is None:
                    later.append((number, row))
                    continue
            row["path"] = f"{parent.path}/{row['name']}" if parent else row["name"]
            row["parent_path"] = parent.path if parent else None
            placed.append((number, row))
            if row["path"] not in index.by_path:
                known.append(OrgRow(fake_id, row["code"], row["name"], parent.id if parent else None, row["path"],
                                    row["type"], row["sector"], row["catalog"], None, None, None, None, False, None))
                fake_id -= 1
        if len(later) == len(pending):
            index = OrgIndex(known)
            suggest = Suggestions(lambda: index.by_id.values())
            for number, row in later:
                _, reason = _resolve(index, row["parent"], suggest)
                if not index.by_id:
                    reason = "找不到该党组织（上级须已导入，或在本文件中）"      # this file is the tree's first: no `org import` to point to
                problems.add(number, "parent", row["parent"], f"上级{reason}")
            break
        pending = later
    problems.raise_if_any()

    _check_places(problems, existing, placed)
    problems.raise_if_any()

    by_path = {o.path: o for o in existing}
    by_code = {o.code: o for o in existing if o.code}
    roots = {(o.name, o.type): o for o in existing if o.parent_id is None}
    nested = {(o.name, o.type): o for o in existing if o.parent_id is not None and o.type in TOP_TYPES}
    # Where organizations were before a move (`org move`), to where they are now: a file written before it names them
    # at their old place, and would make empty twins there (try-out). By the old path, the latest move from it.
    moves = store.moved_places()
    now_at = {o.id: o.path for o in existing}
    added: set[str] = set()         # the new organizations of this file, parents first

    def moved_from(path: str) -> tuple[str, date] | None:
        """Return where the organization that was at `path` is now, and the day it was moved, when a move took it away;
        None when something kept or added by this file is at the place it left (a new organization there, review)."""
        found = moves.nearest(path, lambda place: place in by_path or place in added)
        if found is None:
            return None
        place, m = found
        there = now_at[m.org_id] + path[len(place):] if m.org_id in now_at else None
        return (there, m.at.astimezone(TZ).date()) if there in by_path and there != path else None

    by_id = {o.id: o for o in existing}
    seen_paths: dict[str, int] = {}
    seen_codes: dict[str, int] = {}
    seen_ids: dict[int, int] = {}
    new, updates, result = [], [], ImportResult(where=table.where, skipped=table.skipped)
    fields = ("code", "type", "sector", "catalog", "founded", "tracked_from", "dissolved", "secretary", "secretary_vacant", "has_committee")
    for number, row in sorted(placed, key=lambda item: item[1]["path"].count("/")):
        if row["path"] in seen_paths:
            problems.add(number, "name", row["name"], f"与第{seen_paths[row['path']]}行是同一党组织（{row['path']}）")
            continue
        seen_paths[row["path"]] = number
        if row["id"] is not None:
            if row["id"] in seen_ids:
                problems.add(number, "id", row["id"], f"与第{seen_ids[row['id']]}行是同一编号")
                continue
            seen_ids[row["id"]] = number
            if (wrong := _other_place(by_id.get(row["id"]), row)) is not None:
                problems.add(number, "id", row["id"], wrong)
                continue
        if row["code"]:
            owner = by_code.get(row["code"])
            if row["code"] in seen_codes:
                problems.add(number, "code", row["code"], f"代码已被第{seen_codes[row['code']]}行的党组织使用")
                continue
            if owner and owner.path != row["path"]:
                # Named, and when it is the same organization placed elsewhere, said that an import does not move one (try-out:
                # a county put above a township already kept).
                # The same name at a new place: 第一党支部 of another village, already there, is not it (review).
                moved = owner.name == row["name"] and row["path"] not in by_path
                if moved and (gone := moved_from(row["path"])) and gone[0] == owner.path:
                    # The file of before a move (`org move`): moving it back is not what its writer means (try-out).
                    problems.add(number, "code", row["code"], _moved_words(gone))
                    continue
                problems.add(number, "code", row["code"], f"代码已被「{owner.path}」使用" + (
                    f"：导入不能改变已有党组织的上级（{owner.path} → {row['path']}），{_move_words(owner.path, row['parent_path'])}"
                    if moved else ""))
                continue
            seen_codes[row["code"]] = number
        current = by_path.get(row["path"])
        values = {k: row[k] for k in fields}
        # A township kept as the top of its tree, written again under a new county: a second, empty one was made beside it
        # (try-out); or one moved under a county, written again at the top by the file of before (review). An import does
        # not move one; a code of its own tells another of the same name apart.
        if current is None and not row["code"] and (gone := moved_from(row["path"])):
            problems.add(number, "name", row["name"], _moved_words(gone) + "；如是另一党组织，请在「代码」列填写其代码")
            continue
        if current is None and not row["code"] and row["type"] in TOP_TYPES:
            twin = roots.get((row["name"], row["type"])) if row["parent_path"] else nested.get((row["name"], row["type"]))
            if twin is not None:
                problems.add(number, "name", row["name"], f"已有同名的{row['type']}「{twin.path}」，导入不能改变已有党组织的上级："
                             + (f"如是同一党组织，{_move_words(twin.path, row['parent_path'])}" if row["parent_path"] else
                                f"如是同一党组织，请在「上级」列写明 {twin.path.rsplit('/', 1)[0]}")
                             + "；如是另一党组织，请在「代码」列填写其代码")
                continue
        if current is None:
            added.add(row["path"])
            values["secretary_vacant"] = bool(values["secretary_vacant"])
            new.append({"name": row["name"], "path": row["path"], "parent_path": row["parent_path"], **values})
            result.added += 1
        else:
            # A blank cell keeps what is stored; a declared vacancy clears the name; 清除 empties it.
            changed = {k: v for k, v in values.items() if v is not None and getattr(current, k) != v}
            changed.update((k, False) if k == "secretary_vacant" else (k, None) for k in row["cleared"]
                           if getattr(current, k) is not (False if k == "secretary_vacant" else None))
            if row["secretary_vacant"] and current.secretary is not None:
                changed["secretary"] = None
            if changed:
                updates.append({"id": current.id, **changed})
                result.updated += 1
            else:
                result.unchanged += 1
    problems.raise_if_any()
    if actor is not None:
        changed = {u["id"] for u in updates}
        require_write(store, actor, "org_import", [r["path"] for r in new] + [o.path for o in existing if o.id in changed], SUPERVISORS)
    store.add_orgs(new, updates, file_meta(path, table))
    return result


# Marks people put between names that do not part them in a list (`split_names`): 孙丽/钱伟.
NAME_JOINERS = ("/", "／", "|", "｜", "\\")
_JOINERS = re.compile("[" + re.escape("".join(NAME_JOINERS)) + "]")
ADULT = 18      # 党章第一条: 年满十八岁的中国工人、农民、军人、知识分子和其他社会阶层的先进分子
# Chinese characters in two parts, three at most: one name spaced out (王　强, 欧阳 娜); 张三 李四 are two names.
_PADDED_NAME = re.compile(r"[\u3400-\u9fff]+ [\u3400-\u9fff]+")


def unpadded(name: str) -> str:
    """Return a name as `parse_text` gives it without the space a roster pads it with (王　强 is 王强): a two-character name
    lined up with three-character ones (try-out). Other names are returned as they are."""
    return name.replace(" ", "") if len(name) <= 4 and _PADDED_NAME.fullmatch(name) else name


def _person(name: str | None) -> str | None:
    """Return a record's one person (主讲人, 记录人) as the roster has them (`unpadded`), compared with the 书记 as the roster's."""
    return unpadded(name) if name else name


def joined_padded(names: list[str], roster: Collection[str]) -> list[str]:
    """Return a list's names with a padded name split by `split_names` (王　强 as 王、强) joined again, where joined it is on
    `roster` and its parts are not (try-out)."""
    found: list[str] = []
    i = 0
    while i < len(names):
        name = names[i]
        if name not in roster and i + 1 < len(names) and names[i + 1] not in roster and name + names[i + 1] in roster \
                and len(name + names[i + 1]) <= 3:
            found.append(name + names[i + 1])
            i += 2
            continue
        found.append(name)
        i += 1
    return found


_NAME_BREAKS = re.compile(r"[、,，;；\s]")      # what splits an attendance list (`split_names`)


def import_members(store: Store, path: Path, actor: Actor | None = None, sheet: str | None = None) -> ImportResult:
    """Load members onto their branches' rosters; a member already there is updated.

    The file's rows are read as they are checked, not held: a province's roster is a million rows.
    """
    table = stream_table(path, MEMBER_COLUMNS, sheet=sheet)
    problems = _Problems(table)
    today = store.today()
    index = OrgIndex(store.orgs())
    current = _StoredMembers(store)
    seen: dict[tuple[int, str], int] = {}
    touched: set[int] = set()          # organizations whose roster the file changes
    first_row: dict[int, int] = {}     # the first row of each organization it changes: a refusal names it
    new, updates, result = [], [], ImportResult(where=table.where, skipped=table.skipped)
    left: list[tuple[int, str, date, str | None]] = []     # who the file says left, for the audit entry
    liaisons: list[tuple[int, OrgRow, str]] = []            # (row, organization, 联系人) of the rows that name one
    share = sharing()
    suggest = Suggestions(lambda: index.by_id.values())
    for number, values in table.rows:
        name = parse_text(values.get("name"))
        if not name:
            problems.add(number, "name", None, "姓名不能为空")
            continue
        name = unpadded(name)
        if joiner := _JOINERS.search(name):
            # 孙丽/钱伟 was taken as one member, counted for dues and listed as present (try-out).
            problems.add(number, "name", values.get("name"), f"一行只填一名党员：姓名中不能有「{joiner.group()}」")
            continue
        if _NAME_BREAKS.search(name):
            # 「孙　九」 would be two names in every attendance list, and could never be listed as present.
            problems.add(number, "name", values.get("name"),
                         "姓名中不能有空格、顿号、逗号或分号（参会人员名单用它们分隔姓名）；少数民族姓名可用间隔号「·」")
            continue
        org, reason = _resolve(index, parse_text(values.get("org")) or "", suggest)
        if org is None:
            problems.add(number, "org", values.get("org"), reason or "")
            continue
        status = parse_text(values.get("status"))
        if status not in (None, "正式", "预备", "正式党员", "预备党员"):
            problems.add(number, "status", status, "类别应为「正式」或「预备」")
        row = {
            "org_id": org.id, "name": name, "group_name": parse_text(values.get("group")),
            "status": status[:2] if status else None, "mobile": problems.parse(number, values, "mobile", parse_bool),
            "liaison": parse_text(values.get("liaison")),
            "joined": problems.parse(number, values, "joined", parse_date),
            "born": problems.parse(number, values, "born", parse_birth),
            "gender": parse_text(values.get("gender")),
            "left_on": problems.parse(number, values, "left_on", parse_date),
            "left_reason": parse_text(values.get("left_reason")),
            "arrived_on": problems.parse(number, values, "arrived_on", parse_date),
        }
        if row["left_on"] is None and (note := parse_text(values.get("note"))) and LEFT_WORDS.search(note):
            # The member stayed on the roster, counted for dues and meetings, without a word (migration try-out).
            result.noted_left += 1
            if len(result.noted_left_named) < PROBLEMS_SHOWN:
                result.noted_left_named.append((number, org.path, name, note))
        if row["gender"] not in (None, "男", "女"):
            problems.add(number, "gender", row["gender"], "性别应为「男」或「女」")
        if row["left_reason"] is not None and row["left_reason"] not in LEAVE_REASONS:
            problems.add(number, "left_reason", row["left_reason"], f"离开原因应为 {'、'.join(LEAVE_REASONS)} 之一")
        for column in ("joined", "born", "left_on", "arrived_on"):
            if row[column] and row[column] > today:
                problems.add(number, column, values.get(column), "日期晚于今天")
        if row["joined"] and row["joined"] < PARTY_FOUNDED:
            problems.add(number, "joined", values.get("joined"), f"日期{TOO_EARLY}")
        key = (org.id, name)
        old = current.get(*key)
        joined, born = row["joined"] or (old and old.joined), row["born"] or (old and old.born)
        # A member leaves on a day for a reason (`member leave`): both or neither. One who has left
        # keeps the day and reason the audit log has: changed only through `member unleave`.
        if old is not None and old.left_on is not None and (row["left_on"] or row["left_reason"]) and \
                (row["left_on"] or old.left_on, row["left_reason"] or old.left_reason) != (old.left_on, old.left_reason):
            differs = "left_on" if row["left_on"] and row["left_on"] != old.left_on else "left_reason"
            problems.add(number, differs, values.get(differs),
                         f"「{name}」已登记于 {old.left_on.isoformat()} 离开（{old.left_reason}）；如登记有误，请先用 member unleave 撤销")
        elif (values.get("left_on") is None) != (values.get("left_reason") is None):     # blank cells, not bad ones
            column = "left_reason" if values.get("left_on") is not None else "left_on"
            problems.add(number, column, None, "离开日期和离开原因须同时填写")
        left_on = row["left_on"] or (old and old.left_on)
        arrived = row["arrived_on"] or (old and old.arrived_on)
        if row["arrived_on"] and joined and row["arrived_on"] < joined:
            problems.add(number, "arrived_on", values.get("arrived_on"), f"转入日期早于入党日期 {joined.isoformat()}")
        elif row["arrived_on"] and old is not None and old.arrived_on not in (None, row["arrived_on"]):
            problems.add(number, "arrived_on", values.get("arrived_on"), f"「{name}」已登记于 {old.arrived_on.isoformat()} 转入，"
                                                                          "转入日期登记后不能用名册文件更改")
        elif row["arrived_on"] and old is not None and old.arrived_on is None and \
                (named := store.records_naming(org.id, old.id, name, before=row["arrived_on"])):
            problems.add(number, "arrived_on", values.get("arrived_on"),
                         f"「{name}」在 {row['arrived_on'].isoformat()} 之前的记录中已被列为参会、请假、谈话对象或汇报人"
                         f"（记录 {'、'.join(str(i) for i in sorted(i for i, _ in named)[:10])}）；请核对转入日期")
        if left_on and arrived and left_on <= arrived:
            problems.add(number, "left_on" if row["left_on"] else "arrived_on", values.get("left_on" if row["left_on"] else "arrived_on"),
                         f"离开日期 {left_on.isoformat()} 不晚于转入日期 {arrived.isoformat()}")
        elif left_on and joined and left_on < joined:
            problems.add(number, "left_on" if row["left_on"] else "joined", values.get("left_on" if row["left_on"] else "joined"),
                         f"离开日期 {left_on.isoformat()} 早于入党日期 {joined.isoformat()}")
        elif row["left_on"] and old is not None and old.left_on is None and \
                (named := store.records_naming(org.id, old.id, name, row["left_on"])):
            from compliance.membership import records_after_leaving      # it builds on this module
            problems.add(number, "left_on", values.get("left_on"), records_after_leaving(name, row["left_on"], named))
        if (row["joined"] or row["born"]) and joined and born and \
                (joined.year - born.year, joined.month, joined.day) < (ADULT, born.month, born.day):
            # 党章第一条: 年满十八岁 (the day's order compared by hand: a province's roster is a million rows).
            problems.add(number, "joined" if row["joined"] else "born", values.get("joined" if row["joined"] else "born"),
                         f"入党时未满18岁（出生日期 {born.isoformat()}，入党日期 {joined.isoformat()}），请核对入党日期或出生日期")
        if key in seen:
            problems.add(number, "name", name, f"与第{seen[key]}行重复（同一党组织的同名党员）")
            continue
        if old is None and (dotted := interpunct(name)) != name and (
                current.get(org.id, dotted) is not None or (org.id, dotted) in seen):
            # 阿依古丽•买买提 beside 阿依古丽·买买提: one member twice on the roster, each owing dues and counted as 应到.
            problems.add(number, "name", name, f"与花名册上的「{dotted}」只差间隔号：如是同一人，请写作「{dotted}」")
            continue
        seen[key] = number
        if row["liaison"] and row["liaison"] != name:
            liaisons.append((number, org, row["liaison"]))
        if row["left_on"] and not (old and old.left_on):
            left.append((org.id, name, row["left_on"], row["left_reason"]))
        if old is None:
            # Kept as a tuple of NEW_MEMBER_FIELDS: a province's new roster as dicts took 600 MB.
            # Values that repeat from row to row (groups, dates, gender) are held once.
            new.append((org.id, name, share(row["group_name"]), row["status"] or "正式", bool(row["mobile"]),
                        share(row["liaison"]), share(row["joined"]), share(row["born"]), share(row["gender"]),
                        row["left_on"], row["left_reason"], share(row["arrived_on"])))
            touched.add(org.id)
            first_row.setdefault(org.id, number)
            result.added += 1
            if not row["arrived_on"] and current.has_roster(org.id):
                # Added to a roster already kept, with no 转入日期: the months before count as on it, and the lists and dues
                # of those months, which could not name the member, made a secretary 11个月未参加 at once (try-out).
                result.added_midway += 1
                if len(result.added_midway_named) < STILL_LEFT_NAMED:
                    result.added_midway_named.append((number, org.path, name))
        else:
            # A blank or absent column keeps what the roster has.
            changed = {k: v for k, v in row.items() if v is not None and getattr(old, k) != v}
            if changed:
                updates.append({"id": old.id, **changed})
                touched.add(org.id)
                first_row.setdefault(org.id, number)
                result.updated += 1
            else:
                result.unchanged += 1
            if old.left_on is not None and row["left_on"] is None:
                result.still_left += 1
                if len(result.still_left_named) < STILL_LEFT_NAMED:
                    result.still_left_named.append((org.path, name, old.left_on, old.left_reason))
    problems.raise_if_any()
    # The liaison (挂钩联系人) is one of the branch's committee: a name on neither roster is pointed out, not refused
    # (a township may name one of its own cadres).
    result.strange_liaisons = [(number, org.path, who) for number, org, who in liaisons
                               if (org.id, who) not in seen and who not in _secretaries(index, org) and current.get(org.id, who) is None]
    if actor is not None:
        try:
            require_write(store, actor, "member_import", [index.by_id[i].path for i in touched])
        except PermissionDenied as exc:
            # Named as the other imports name it: the file, and the first row of an organization out of reach.
            rows = sorted(first_row[i] for i in touched if not actor.covers(index.by_id[i].path))
            where = f"{table.where or path.name} 第{rows[0]}行「党组织」列" if rows else (table.where or path.name)
            raise PermissionDenied(f"{where}：{exc}（未导入任何数据）") from None
    meta = file_meta(path, table)
    if left:
        meta["left"] = [list(who) for who in left]      # (organization id, name, day, reason) of each
    store.add_members(NEW_MEMBER_FIELDS, new, updates, meta, org_ids=touched)
    return result


STILL_LEFT_NAMED = 3
def _secretaries(index: OrgIndex, org: OrgRow) -> set[str]:
    """Return the secretaries (书记) the tree records for `org` and the organizations above it."""
    found = set()
    row: OrgRow | None = org
    while row is not None:
        if row.secretary:
            found.add(row.secretary)
        row = index.by_id.get(row.parent_id) if row.parent_id else None
    return found


NEW_MEMBER_FIELDS = ("org_id", "name", "group_name", "status", "mobile", "liaison", "joined", "born", "gender", "left_on",
                     "left_reason", "arrived_on")


def record_identity(org_id: int, kind: str, held_on: date, group: str | None, member_id: int | None, topic: str | None) -> str:
    """Return the re-import key of a record: organization, kind, date, group, member and topic."""
    text = f"{org_id}\x1f{kind}\x1f{held_on.isoformat()}\x1f{group or ''}\x1f{member_id or ''}\x1f{topic or ''}"
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class _ReadByOrg:
    """Reads the rows of the organizations a file's rows name, each organization's once, as rows name it.

    An organization at a time while they are few: a township's file of a month's meetings
    named 10 branches, and reading the province's whole roster for it took 5 s of a 7 s
    import at 50,000 branches. Once rows have named `FEW_ORGS`, every organization's rows are
    read at once, as they are from the start with `whole` (a large file, whose rows a worker
    process checks: it reads nothing itself). `read` returns the rows of some organizations
    (of all with None), `add` keeps them, `clear` forgets them.
    """

    FEW_ORGS = 200

    def __init__(self, read: Callable[[list[int] | None], Iterable[Any]], add: Callable[[Iterable[Any]], None],
                 clear: Callable[[], None], whole: bool):
        self._read, self._add, self._clear = read, add, clear
        self._done: set[int] | None = None if whole else set()
        if whole:
            add(read(None))

    def need(self, org_id: int) -> None:
        """Read `org_id`'s rows unless they are in hand (every organization's, when many have been read)."""
        if self._done is None or org_id in self._done:
            return
        if len(self._done) < self.FEW_ORGS:
            self._done.add(org_id)
            self._add(self._read([org_id]))
        else:
            self._clear()
            self._add(self._read(None))
            self._done = None


class Rosters:
    """Per organization: member names to ids, its party groups and its full members (plain values: a province has a million members)."""

    def __init__(self, store: Store, whole: bool):
        self.names: dict[int, dict[str, int]] = {}
        self.full_members: dict[int, set[str]] = {}
        # Its party groups, to how many members each has (counts, not names: a province's groups hold a million).
        self.groups: dict[int, dict[str, int]] = {}
        # The few who came onto a roster or left it: (day arrived, day left), either None; and their groups.
        self.moved: dict[int, dict[str, tuple[date | None, date | None]]] = {}
        self.moved_groups: dict[int, dict[str, str]] = {}
        # The days members joined the Party (入党日期), as day numbers (4 bytes a member), with their names and party groups
        # beside them; sorted by day when first asked. A meeting's roster leaves out who joined after it, and a 党员大会's
        # voters those not full members by then (a year after joining).
        self.joined: dict[int, tuple[array, list[str], list[str | None]]] = {}
        self._sorted: set[int] = set()
        self._reader = _ReadByOrg(store.member_keys, self._add, self._clear, whole)

    def _add(self, members: Iterable[tuple[int, int, str, str | None, str, date | None, date | None, date | None]]) -> None:
        # Members mostly come in runs of one organization (in the order rosters were imported): its maps
        # are looked up once a run, not once a member.
        last: int | None = None
        names: dict[str, int] = {}
        groups: dict[str, int] = {}
        full: set[str] = set()
        joined_days, joined_names, joined_groups = array("i"), [], []
        for member_id, org_id, name, group, status, left_on, arrived_on, joined in members:
            if org_id != last:
                last = org_id
                names = self.names.setdefault(org_id, {})
                groups = self.groups.setdefault(org_id, {})
                full = self.full_members.setdefault(org_id, set())
                joined_days, joined_names, joined_groups = self.joined.setdefault(org_id, (array("i"), [], []))
                self._sorted.discard(org_id)
            names[name] = member_id
            if group:
                groups[group] = groups.get(group, 0) + 1
            if status == "正式":
                full.add(name)
            if joined is not None:
                joined_days.append(joined.toordinal())
                joined_names.append(name)
                joined_groups.append(group and intern(group))      # one string a group, not one a member
            if left_on is not None or arrived_on is not None:
                self.moved.setdefault(org_id, {})[name] = (arrived_on, left_on)
                if group:
                    self.moved_groups.setdefault(org_id, {})[name] = group

    def _clear(self) -> None:
        for read in (self.names, self.groups, self.full_members, self.moved, self.moved_groups, self.joined, self._sorted):
            read.clear()

    def group_size(self, org_id: int, group: str, gone: Collection[str]) -> int:
        """Return how many members of an organization's party group `group` are on its roster, less those of `gone` (see `gone`)."""
        moved = self.moved_groups.get(org_id, {})
        return self.groups.get(org_id, {}).get(group, 0) - sum(1 for name in gone if moved.get(name) == group)

    def joined_after(self, org_id: int, day: date, voting: bool = False, group: str | None = None) -> dict[str, date]:
        """Return the members of an organization's roster (of its party group `group`) who had not joined the Party by `day`,
        to the day they joined; with `voting`, its full members who had not become full by then (a year after joining, 转正).

        A member with no 入党日期 is taken to have joined long before. Few are returned: those who joined lately.
        """
        found = self.joined.get(org_id)
        if not found:
            return {}
        days, names, groups = found
        if org_id not in self._sorted:
            self._sorted.add(org_id)
            order = sorted(range(len(days)), key=days.__getitem__)
            days[:] = array("i", (days[i] for i in order))
            names[:] = [names[i] for i in order]
            groups[:] = [groups[i] for i in order]
        # Full by `day`: joined a year before it or earlier.
        when = year_before(day).toordinal() if voting else day.toordinal()
        if not days or days[-1] <= when:
            return {}
        full = self.full_members.get(org_id, set())
        return {names[i]: date.fromordinal(days[i]) for i in range(bisect_right(days, when), len(days))
                if (group is None or groups[i] == group) and (not voting or names[i] in full)}

    def gone(self, org_id: int, day: date) -> dict[str, tuple[date | None, date | None]]:
        """Return the members of an organization's roster (read by `of`) not on it on `day`, to (day arrived, day left): not yet come, or left."""
        return {name: (arrived, left) for name, (arrived, left) in self.moved.get(org_id, {}).items()
                if (left is not None and left <= day) or (arrived is not None and day < arrived)}

    def of(self, org_id: int) -> dict[str, int]:
        """Return the member names of an organization's roster, to their ids; its groups and full members are then known too."""
        self._reader.need(org_id)
        return self.names.get(org_id, {})


def _gone_words(names: list[str], gone: dict[str, tuple[date | None, date | None]], org_path: str, day: date) -> str:
    """Say that `names` were not on the roster of `org_path` on `day` (`Rosters.gone`): they had left it, or came later."""
    said = []
    for n in names:
        arrived, left = gone[n]
        if left is not None and left <= day:
            said.append(f"「{n}」已于 {left.isoformat()} 离开「{org_path}」")
        else:
            said.append(f"「{n}」于 {arrived.isoformat() if arrived else ''} 才转入「{org_path}」")
    return "、".join(said) + "，不在会议当日的花名册上"


class _StoredMembers:
    """The stored members of the organizations a member file names, by (organization id, name)."""

    def __init__(self, store: Store):
        self.by_key: dict[tuple[int, str], MemberRow] = {}
        self.with_roster: set[int] = set()      # organizations with members stored, of those read
        self._reader = _ReadByOrg(store.members, self._add, self.by_key.clear, whole=False)

    def _add(self, members: Iterable[MemberRow]) -> None:
        for m in members:
            self.by_key[(m.org_id, m.name)] = m
            self.with_roster.add(m.org_id)

    def get(self, org_id: int, name: str) -> MemberRow | None:
        self._reader.need(org_id)
        return self.by_key.get((org_id, name))

    def has_roster(self, org_id: int) -> bool:
        """Return whether the organization had members stored before the file (`get` has read it)."""
        self._reader.need(org_id)
        return org_id in self.with_roster


def _versions(ob: Obligation | None) -> Iterator[Obligation]:
    """Yield an obligation and the versions it replaced, newest first."""
    while ob is not None:
        yield ob
        ob = ob.previous


class _RecordContext:
    """What checking a record row needs: the rules, the tree, the rosters, the default catalog, today.

    An import names the same organizations, kinds and dates over and over; each is looked up
    once and remembered here, so checking a row costs a few dictionary lookups.
    """

    def __init__(self, store: Store, rules: Rules, index: OrgIndex | None = None, file: Table | None = None, around: bool = False,
                 whole: bool = False):
        self.rules = rules
        # With `around` (a row given on the command line), the tree is read only around the organizations rows name.
        self._store = store if around else None
        # Read around the names it meets, the index does not hold the one a name not found may mean: every one is read then.
        self._suggest = Suggestions(store.orgs if around else lambda: self.index.by_id.values())
        self.index = index or OrgIndex(() if around else store.orgs())
        self.rosters = Rosters(store, whole=whole)
        self.default_catalog = store.setting("default_catalog") or "national-2018"
        self.today = store.today()
        # A file's reader has checked every cell's length already, and may have normalized its text.
        self.check_lengths = file is None
        self.normalized = file is not None and file.normalized
        self._orgs: dict[str, tuple[OrgRow | None, str | None]] = {}
        self._kinds: dict[str, str | None] = {}
        self._per: dict[tuple[int, str], str | None] = {}
        self._voting: dict[tuple[int, str], bool] = {}
        self._dates: dict[Any, date] = {}
        # The year the sheet's title names (青石镇2026年9月组织生活记录), for its days written without one (9月10日).
        self.title_year = title_year(file.titles) if file is not None else None
        self._parse_date = partial(parse_date, year=self.title_year[0]) if self.title_year else parse_date
        # Kinds whose quorum is the committee's (支委会): the roster does not say who is on it.
        self.committee_kinds = frozenset(ob.counts or ob.slug for catalog in rules.catalogs.values()
                                         for newest in catalog.every_obligation() for ob in _versions(newest)
                                         if ob.quorum == "committee")
        # A correction that gives neither 学时 nor 类型 keeps the record's: stored before MAX_HOURS, they refused every
        # correction of it, under an option never given (review).
        self.kept_hours: float | None = None

    def org(self, text: str) -> tuple[OrgRow | None, str | None]:
        """Return the organization `text` names, or the reason it names none (see `_resolve`)."""
        found = self._orgs.get(text)
        if found is None:
            if self._store is not None:
                around = self._store.index_around(text)
                self.index = OrgIndex({**self.index.by_id, **around.by_id}.values()) if self.index.by_id else around
            found = self._orgs[text] = _resolve(self.index, text, self._suggest)
        return found

    def kind(self, text: str) -> str | None:
        if text not in self._kinds:
            self._kinds[text] = self.rules.kind(text)
        return self._kinds[text]

    def owed_per(self, org: OrgRow, kind: str) -> str | None:
        """Return "group" or "member" when `org`'s catalog owes `kind` per group or member."""
        key = (org.id, kind)
        if key not in self._per:
            catalog = self.rules.catalogs.get(self.index.catalog_of(org, self.default_catalog))
            obligation = catalog.obligation(kind) if catalog else None
            if obligation is None and catalog is not None:
                # Dropped from a date, it is still owed per member before it: a row of then needs its 党员.
                obligation = next((ob for ob, _ in catalog.dropped if ob.slug == kind), None)
            self._per[key] = obligation.per if obligation and obligation.per != "org" else None
        return self._per[key]

    def voting(self, org: OrgRow, kind: str) -> bool:
        """Return whether only the full members (who vote) count at `org`'s meetings of `kind`: a 党员大会, or a kind that its
        catalog judges on the 党员大会's quorum of full members (tuhe-2021's 民主评议党员大会)."""
        key = (org.id, kind)
        found = self._voting.get(key)
        if found is None:
            catalog = self.rules.catalogs.get(self.index.catalog_of(org, self.default_catalog))
            found = self._voting[key] = kind == "party_congress" or catalog is not None and any(
                ob.quorum == "full_members" and kind in ob.kinds for newest in catalog.every_obligation() for ob in _versions(newest))
        return found

    def date(self, problems: _Problems, number: int, values: dict[str, Any], column: str) -> date | None:
        """Return the date in `column`, None when blank or (with a problem added) unreadable."""
        value = values.get(column)
        if value is None:
            return None
        try:
            return self._dates[value]
        except (KeyError, TypeError):
            parsed = problems.parse(number, values, column, self._parse_date)
            if parsed is not None and isinstance(value, str):
                self._dates[value] = parsed
            return parsed

    def noon(self, day: date) -> datetime:
        """Return noon of `day` in Asia/Shanghai: the entry time given to a record with only an entry date."""
        return _noon(day.toordinal())


def _secretary_words(org: OrgRow, names: list[str]) -> str:
    """Return what to do when one of `names` off the roster is the organization's own 书记: the roster lacks them (try-out)."""
    if org.secretary and not org.secretary_vacant and org.secretary in names:
        return f"（「{org.secretary}」是本组织的书记，但不在花名册上：请把书记加入花名册后用 member import 导入）"
    return ""


def _groups_words(ctx: _RecordContext, org_id: int) -> str:
    """Return the party groups of an organization's roster, as an error about a group names them: it named none (try-out)."""
    groups = list(ctx.rosters.groups.get(org_id, ()))       # in the roster's order: 第一、第二、第三
    if not groups:
        return "（花名册上还没有党小组：请在花名册的「党小组」列填写后重新导入）"
    return f"（花名册上的党小组：{'、'.join(groups[:10])}{f' 等{len(groups)}个' if len(groups) > 10 else ''}）"


# A note in brackets after a name in a leave list: 周杰（外出务工）, 李明(病假); a name with its note, whatever is in it.
_NOTED = re.compile(r"[（(][^（()）]*[)）]")
# One who sat in at a meeting (列席), marked so in its 参会人员: 李明（列席）.
_GUEST = re.compile(r"[^（()）]+[（(]列席[)）]")
# The last of a list that names some and counts the rest: 周八等5人, 李明等十二名同志, 周八等人, and 等5人 apart (周八 等5人).
_ET_AL = re.compile(r"([^、,，;；\s]*?)(等\s*(?:(?:\d+|[一二三四五六七八九十百两]+)\s*(?:人|名|位)(?:同志|党员)?|人|同志|党员))")
_NOTED_NAMES = re.compile(r"[^、,，;；\s（()）]+(?:[（(][^（()）]*[)）])?")
# Words for several kinds at once: which one is meant must be said.
UMBRELLA_KINDS = {"三会一课": "三会一课是党员大会、支委会、党小组会和党课的合称，请写明是其中哪一种"}


# The most 学时 one record may carry: a meeting or activity is held on one day; a 集中学习培训 (a course) may last weeks.
# A typo (5000 for 5) met a member's whole year of 32 学时 at once (try-out).
MAX_DAY_HOURS = 24
MAX_HOURS = {"training_hours": 240}


def unknown_kind(rules: Rules, word: str) -> str:
    """Return why `word` names no kind of record, with the kinds there are: it said 见 compliance catalog show, which needs a name."""
    text = word.strip().replace(" ", "")
    said = UMBRELLA_KINDS.get(text)
    if said is not None:
        return said
    # 组织生活会暨民主评议党员, the year-end meeting as branches hold it, counts for two kinds (try-out): one record each.
    # So is 组织生活会（民主评议）, the second in brackets.
    slugs = [rules.kind(p) for p in re.split(r"暨|及|和|与|、|[（）()]", text) if p]
    if len(slugs) > 1 and all(slugs) and len(set(slugs)) == len(slugs):
        named = "、".join(rules.kinds[slug].name for slug in slugs if slug)
        return f"是{len(slugs)}项合在一起开的会（{named}）：请每项各登记一条（日期、人数相同），各计入其事项"
    # 党小组会（第一党小组）: the party group written into the kind, 22 rows told the kinds there are (migration try-out).
    grouped = re.fullmatch(r"(.+?)[（(]([^（()）]*组)[)）]", text)
    if grouped and (slug := rules.kind(grouped.group(1))):
        return (f"党小组「{grouped.group(2)}」请填在「党小组」列（log 用 --group），"
                f"类型写「{rules.kinds[slug].name}」")
    names = "、".join(k.name for k in rules.kinds.values() if not k.derived)
    guess = _closest_kind(rules, text)
    return f"未知的类型（{f'是否是「{guess}」？' if guess else ''}可用：{names}）"


def _closest_kind(rules: Rules, text: str) -> str | None:
    """Return the name of the kind whose name or alias is nearest to `text` (思想汇报: 流动党员汇报), when one is near enough."""
    words = {word: kind.name for kind in rules.kinds.values() if not kind.derived for word in (kind.name, *kind.aliases)}
    # Near by the characters they share in order, the longer word's length counting for less: a short word typed
    # for a long name (学习 for 固定学习日) is near it.
    best, score = None, 0.0
    for word, name in words.items():
        matcher = difflib.SequenceMatcher(None, text, word)
        common = sum(block.size for block in matcher.get_matching_blocks())
        near = round(common / min(len(text), len(word)) * (2 * common / (len(text) + len(word))), 6)
        if near > score:        # on a tie, the first: the vocabulary lists the common kinds first
            best, score = name, near
    return best if score >= 0.5 else None


def _count_cell(row: dict[str, Any], name: str, via: Any) -> tuple[str, Any]:
    """Return the column and value a problem of a row's count `name` (expected, present) names: its own, or the 参会情况 cell
    `via` it was read from."""
    return (name, row[name]) if via is None else ("turnout", via)


def _record_row(problems: _Problems, number: int, values: dict[str, Any], ctx: _RecordContext) -> dict[str, Any] | None:
    rules = ctx.rules
    get = values.get
    text = get if ctx.normalized else lambda column: parse_text(get(column))
    org, reason = ctx.org(text("org") or "")
    if org is None:
        problems.add(number, "org", values.get("org"), reason or "")
        return None
    kind_text = text("kind") or ""
    kind = ctx.kind(kind_text)
    if kind is None:
        problems.add(number, "kind", kind_text, unknown_kind(rules, kind_text))
        return None
    if ctx.check_lengths:
        for column in RECORD_COLUMNS:
            cell = values.get(column.english)
            if isinstance(cell, str) and (len(cell) > column.max_length or "\x00" in cell):
                problems.add(number, column.english, cell[:20] + "…", f"超过 {column.max_length} 个字或含有空字符")
                return None
    held_on = ctx.date(problems, number, values, "date")
    if held_on is None:
        if values.get("date") is None:
            problems.add(number, "date", None, "日期不能为空")
        return None
    row: dict[str, Any] = {
        "org_id": org.id, "kind": kind, "held_on": held_on,
        "expected": None if get("expected") is None else problems.parse(number, values, "expected", parse_people),
        "present": None if get("present") is None else problems.parse(number, values, "present", parse_people),
        "topic": text("topic"), "recorder": _person(text("recorder")), "lecturer": _person(text("lecturer")),
        "secretary_signed": _flag(problems, number, values, "secretary_signed"),
        "recorder_signed": _flag(problems, number, values, "recorder_signed"),
        "group_name": text("group"), "attendees": text("attendees"), "excused": text("excused"),
        "counterpart": text("counterpart"),
        "hours": None if get("hours") is None else problems.parse(number, values, "hours", parse_study_hours),
        "photos": None if (photos := text("photos")) in NONE_WORDS else photos,
        "member_id": None,
    }
    if row["topic"] in NONE_WORDS:
        row["topic"] = None
    if held_on > ctx.today:
        problems.add(number, "date", values.get("date"), f"日期晚于今天（{ctx.today.isoformat()}），记录只能登记已召开的会议")
    elif held_on < PARTY_FOUNDED:
        problems.add(number, "date", values.get("date"), f"日期{TOO_EARLY}")
    if row["hours"] is not None and row["hours"] != ctx.kept_hours and row["hours"] > (limit := MAX_HOURS.get(kind, MAX_DAY_HOURS)):
        problems.add(number, "hours", values.get("hours"),
                     f"一次{rules.kind_name(kind)}的学时不能超过 {limit:g}" + ("" if kind in MAX_HOURS else "；多日的培训请登记为「集中学习培训」"))
    via = None          # the 参会情况 cell the counts were read from, which their problems name (`_count_cell`)
    if (turnout := get("turnout")) is not None and (counts := problems.parse(
            number, values, "turnout", lambda value: parse_turnout(value, turnout_order(problems.table.headers["turnout"])))):
        given = {name: row[name] for name in counts if row[name] is not None}
        if any(counts[name] != count for name, count in given.items()):
            problems.add(number, "turnout", turnout, "与「应到」「实到」列的人数不一致")
        row.update(counts)
        via = turnout
    if row["expected"] == 0:
        problems.add(number, *_count_cell(row, "expected", via), "应到人数不能为0")
    elif row["present"] == 0:
        problems.add(number, *_count_cell(row, "present", via), "实到人数为0：无人到会的会议不能登记")
    elif row["expected"] is not None and row["present"] is not None and row["present"] > row["expected"]:
        problems.add(number, *_count_cell(row, "present", via), f"实到人数大于应到人数（{row['expected']}）")
    members = ctx.rosters.of(org.id)
    gone = ctx.rosters.gone(org.id, held_on) if org.id in ctx.rosters.moved else {}
    # Not yet members on the meeting's day (入党日期 later): neither expected nor taken as attending (review).
    late = ctx.rosters.joined_after(org.id, held_on) if org.id in ctx.rosters.joined else {}
    listed = None
    for column in ("attendees", "excused"):
        if row[column]:
            names = split_names(row[column])
            known = members.keys() & names
            if len(known) < len(names) and (joined := joined_padded(names, members)) != names:
                names, known = joined, members.keys() & joined
            if column == "excused" and len(known) < len(names) and _NOTED.search(row[column]):
                # 周杰（外出务工）: a leave's reason beside the name, as sheets write them, was 不是花名册上的党员 (clerk's try-out).
                # Only in 请假人员, where a note is the leave's reason: in 参会人员 郭玉（缺席） is no attendance (review). A name on
                # the roster as written (李明（女）) stays that name; another's brackets go when what is left is on the roster.
                names = [n if n in members or (bare := _NOTED.sub("", n)) not in members else bare
                         for n in _NOTED_NAMES.findall(row[column])]
                names = list(dict.fromkeys(names))
                known = members.keys() & names
            guests: list[str] = []
            if column == "attendees" and len(known) < len(names):
                # 李明（列席）: one who sat in, not of the branch (驻村干部, 上级联系人), as sheets write them: kept in the list as
                # written, neither looked for on the roster nor counted; each row was refused (clerk's try-out).
                guests = [n for n in names if n not in members and _GUEST.fullmatch(n)]
                names = [n for n in names if n not in guests]
            if len(known) < len(names) and (etal := next((m for n in names if n not in members and (m := _ET_AL.fullmatch(n))),
                                                         None)):
                # 周八等5人 names one of five: it was told 不是花名册上的党员, as if 周八等5人 were a name (try-out).
                problems.add(number, column, row[column], (f"「{etal.group()}」：" if etal.group(1) else "")
                             + f"「{etal.group(2)}」没有写出各人的姓名，名单须逐一写明"
                             + ("（按名单计实到人数）；没有完整名单时，请删去名单，只填应到、实到人数" if column == "attendees" else ""))
            elif len(known) < len(names):
                unknown = [n for n in names if n not in members]
                meant = [f"「{n}」应为「{d}」" for n in unknown if (d := interpunct(n)) != n and d in members]
                if not meant:
                    # 韩金卫 for 韩金伟 was told only 不是花名册上的党员 (try-out): a name one character off is suggested.
                    meant = [f"「{n}」是否是「{close[0]}」？" for n in unknown
                             if (close := difflib.get_close_matches(n, list(members), n=1, cutoff=0.6)) and len(close[0]) == len(n)]
                # 孙丽/钱伟/郑芳, joined by a mark that does not part names: told as one name not on the roster (try-out).
                joined = [(n, mark) for n in unknown if (mark := _JOINERS.search(n))
                          and set(_JOINERS.split(n)) - {""} <= members.keys()]
                how = f"（多个姓名请用顿号、逗号或空格分隔，不用「{joined[0][1].group()}」）" if joined else ""
                problems.add(number, column, row[column], f"「{'、'.join(unknown)}」不是「{org.path}」花名册上的党员" + how
                             + (f"（{'花名册上的写法：' if '应为' in meant[0] else ''}{'，'.join(meant)}）" if meant else "")
                             + _secretary_words(org, unknown))
            elif gone and (left := [n for n in names if n in gone]):
                problems.add(number, column, row[column], _gone_words(left, gone, org.path, held_on))
            elif late and (early := [n for n in names if n in late]):
                problems.add(number, column, row[column], "、".join(f"「{n}」的入党日期为 {late[n].isoformat()}" for n in early)
                             + "，晚于会议日期，不在会议当日的花名册上")
            row[column] = "、".join(names + guests)
            if column == "attendees" and names:
                listed = known
            elif column == "excused" and listed and (both := [n for n in names if n in listed]):
                problems.add(number, column, row[column], f"「{'、'.join(both)}」也在参会人员名单中：请假的不算到会")
    if listed is not None:
        # Counts follow the list: full members for a 党员大会 (only they vote), everyone otherwise.
        voting = ctx.voting(org, kind)
        full = ctx.rosters.full_members.get(org.id, set())
        if voting and org.id in ctx.rosters.joined:
            # The full members of the meeting's day: not those who became full later (转正 a year after joining).
            full = full - ctx.rosters.joined_after(org.id, held_on, voting=True).keys()
        counted = len(listed & full) if voting else len(listed)
        if row["present"] is not None and row["present"] != counted:
            problems.add(number, *_count_cell(row, "present", via), f"与参会人员名单不一致（名单中{'正式党员' if voting else ''}{counted}人）")
        if row["expected"] is not None and row["present"] is None and counted > row["expected"]:
            problems.add(number, *_count_cell(row, "expected", via),
                         f"应到人数小于参会人员名单中的{'正式党员' if voting else ''}人数（{counted}人）")
        row["present"] = counted
        if row["expected"] is None and kind not in ctx.committee_kinds:
            # The roster of the day: those who had left it by then, or came later, are not expected.
            # Not for a 支委会: more than half of the committee must come, and the roster does not say who is on it.
            group = row["group_name"]
            if group and ctx.owed_per(org, kind) == "group":
                # A 党小组会 expects its own group, not the whole branch (and nothing from a group not on the roster).
                # A list longer than the group names members of other groups too: its 应到 is not the group's size then.
                if group in ctx.rosters.groups.get(org.id, ()) and (size := ctx.rosters.group_size(org.id, group, gone) - sum(
                        1 for n in ctx.rosters.joined_after(org.id, held_on, group=group) if n not in gone)) >= counted:
                    row["expected"] = size
            else:
                # Nor those who joined the Party after it, nor, at a 党员大会, those not yet full members (`full` is the
                # day's): a sheet of past meetings counted members who joined later (try-out).
                row["expected"] = len(full - gone.keys()) if voting else len(members) - len(gone) - sum(1 for n in late if n not in gone)
    member_name = text("member")
    if member_name:
        member_id = members.get(member_name)
        if member_id is None:
            problems.add(number, "member", member_name, f"不是「{org.path}」的党员{_secretary_words(org, [member_name])}")
        elif member_name in gone:
            problems.add(number, "member", member_name, _gone_words([member_name], gone, org.path, held_on))
        else:
            row["member_id"] = member_id
    if row["counterpart"] and row["counterpart"] not in members:
        problems.add(number, "counterpart", row["counterpart"], f"不是「{org.path}」花名册上的党员{_secretary_words(org, [row['counterpart']])}")
    elif row["counterpart"] and row["counterpart"] in gone:
        problems.add(number, "counterpart", row["counterpart"], _gone_words([row["counterpart"]], gone, org.path, held_on))
    elif row["counterpart"] and row["counterpart"] == member_name:
        problems.add(number, "counterpart", row["counterpart"], "谈话对象与党员是同一人")
    if row["group_name"] and members and row["group_name"] not in ctx.rosters.groups.get(org.id, ()):
        problems.add(number, "group", row["group_name"], f"「{org.path}」的花名册上没有这个党小组{_groups_words(ctx, org.id)}")
    if kind == "term_delay" and approved_deadline(EvalRecord(0, org.id, kind, held_on, held_on, topic=row["topic"])) is None:
        problems.add(number, "topic", row["topic"], "换届延期批准须在主题中写明批准延期至的日期，如 批准延期至2027-03-31（批复文号）")
    per = ctx.owed_per(org, kind)
    if per == "group" and not row["group_name"]:
        problems.add(number, "group", None, f"{rules.kinds[kind].name}须填写党小组{_groups_words(ctx, org.id)}")
    if per == "member" and not member_name:
        problems.add(number, "member", None, f"{rules.kinds[kind].name}须填写党员")
    recorded_on = ctx.date(problems, number, values, "recorded_on")
    if recorded_on is not None:
        if recorded_on < held_on:
            problems.add(number, "recorded_on", values.get("recorded_on"), "录入日期早于会议日期")
        elif recorded_on > ctx.today:
            problems.add(number, "recorded_on", values.get("recorded_on"), "录入日期晚于今天")
        row["first_recorded_at"] = ctx.noon(recorded_on)
    return row


def row_identity(values: tuple[Any, ...], held_on: date | None = None) -> str:
    """Return the re-import key (`record_identity`) of a checked row, given as the values of `ROW_FIELDS`.

    `held_on` stands for the row's date when its values carry it otherwise (a day number, on the wire).
    """
    # Two talks of one member on one day differ by whom they talked with.
    topic, counterpart = values[_TOPIC], values[_COUNTERPART]
    topic_key = topic if not counterpart else f"{topic or ''}\x1e{counterpart}"
    return record_identity(values[_ORG], values[_KIND], held_on or values[_HELD], values[_GROUP], values[_MEMBER], topic_key)


_FLAGS = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS}


# What a clerk writes in a 主题 or 图片 cell for "there is none": 图片 无 was taken for photos, and the 材料不全 mark went away.
NONE_WORDS = frozenset({"无", "暂无", "没有", "无图片", "无照片", "没有图片", "没有照片", "无主题", "/", "／", "-", "－", "—", "——", "无。"})


def _flag(problems: _Problems, number: int, values: dict[str, Any], column: str) -> bool | None:
    """Return the 是/否 in `column` as `parse_bool` reads it, looking the common words up first."""
    value = values.get(column)
    if value is None:
        return None
    flag = _FLAGS.get(value) if isinstance(value, str) else None
    return flag if flag is not None else problems.parse(number, values, column, parse_bool)


# Rows checked, then written, at a time: big enough that the per-chunk queries cost little,
# small enough that memory does not grow with the file.
CHUNK = 20_000
# Files from this size on are read and checked in a second process while this one writes.
CHECK_AHEAD_BYTES = 1 << 20


class _RowNumbers:
    """Which row of the file wrote or matched each version, kept compactly for naming duplicates.

    Versions this import wrote have ids above `before`, given in consecutive blocks; versions
    that were there already and that a row found unchanged are marked in an array by id.
    """

    def __init__(self, before: int):
        self.before = before
        self.written = array("i")
        self.blocks: list[tuple[int, int]] = []      # (first id, index in `written`)
        self.matched: array | None = None

    def wrote(self, ids: range, numbers: list[int]) -> None:
        if ids:
            self.blocks.append((ids.start, len(self.written)))
            self.written.extend(numbers)

    def match(self, version_id: int, number: int) -> None:
        if self.matched is None:
            self.matched = array("i", bytes(4 * (self.before + 1)))
        self.matched[version_id] = number

    def row_of(self, version_id: int) -> int | None:
        """Return the row of this file that wrote or matched the version, None when no row did."""
        if version_id <= self.before:
            return (self.matched[version_id] or None) if self.matched is not None else None
        at = bisect_right(self.blocks, (version_id, len(self.written))) - 1
        if at < 0:
            return None
        first, offset = self.blocks[at]
        # A version above `before` that is none of this import's: another writer's, after it.
        end = self.blocks[at + 1][1] if at + 1 < len(self.blocks) else len(self.written)
        return self.written[offset + version_id - first] if offset + version_id - first < end else None


class _Refused(Exception):
    """The actor may not write every organization the rows name; raised to roll the import back, with the first such row."""

    def __init__(self, row: int | None = None):
        super().__init__(row)
        self.row = row


@fewer_collections()      # a chunk's rows, dicts and tuples form no cycles
def load_records(store: Store, rules: Rules, table: Table, source: str, path: Path | None = None,
                 actor: Actor | None = None, around: bool = False, replace: bool = True) -> ImportResult:
    """Check and write the rows of `table` in chunks, in one transaction that a bad row rolls back.

    A row with a stored record's identity and other content is a new version of it; with
    `replace` false (one record logged) it is refused, naming the record to correct instead.

    A row whose identity an earlier row of the file (or a stored record) has is compared with it
    through the database, so the file's rows are never all in memory. `path` is the imported
    file, for the audit entry; without it the rows were given on the command line. With
    `around` (a row or two), the tree is read only around the organizations they name.
    """
    problems = _Problems(table)
    ahead = path is not None and can_fork() and path.stat().st_size >= CHECK_AHEAD_BYTES
    # The rosters are read before the batch writes when a worker checks the rows, and in memory,
    # where a read's closing would roll the batch back (`Store.in_memory`).
    ctx = _RecordContext(store, rules, file=table if path else None, around=around, whole=ahead or store.in_memory)
    result = ImportResult(where=table.where, dated="recorded_on" in table.headers, skipped=table.skipped,
                          signed=not {"secretary_signed", "recorder_signed"}.isdisjoint(table.headers), title_year=ctx.title_year)
    absent = absent_values(table.headers) if replace else ()
    action = "record_import" if path else "log"
    try:
        with checked_chunks(table.rows, _CheckRows(table, ctx), CHUNK, ahead) as checked, \
                store.record_batch(source, held=_day, first=_first) as batch:
            if table.digest is not None:
                table.digest.start()        # the worker that checks ahead is forked: hashed meanwhile
            numbers = _RowNumbers(batch.before)
            for chunk in checked:
                problems.merge(chunk.same, chunk.problems)
                table.count = chunk.read
                _load_chunk(problems, batch, numbers, result, chunk.rows, replace, absent)
            problems.raise_if_any()
            paths = [ctx.index.by_id[i].path for i in sorted(batch.org_ids)]
            if actor is not None and (actor.anonymous or not all(actor.covers(p) for p in paths)):
                # The file's first row for an organization out of reach, named with the refusal.
                outside = [i for i in sorted(batch.org_ids) if not actor.covers(ctx.index.by_id[i].path)]
                rows = sorted((row, i) for i in outside if path is not None and (first := batch.first_of(i)) is not None
                              and (row := numbers.row_of(first)))
                if rows:        # the refusal names the organization of the row it names
                    named = ctx.index.by_id[rows[0][1]].path
                    paths = [named] + [p for p in paths if p != named]
                raise _Refused(rows[0][0] if rows else None)
            batch.audit(file_meta(path, table) if path else None)
            result.ids = batch.touched()
            result.row_of = numbers.row_of
    except _Refused as refused:
        try:
            require_write(store, actor, action, paths)     # logs the refusal and raises
        except PermissionDenied as exc:
            if path is None:
                raise
            name = table.where or path.name
            where = f"{name} 第{refused.row}行「党组织」列" if refused.row else name
            raise PermissionDenied(f"{where}：{exc}（未导入任何数据）") from None
        raise
    return result


# A checked row's values, in the order the store writes them (`ROW`): from the worker that checks
# ahead, a tuple pickles in half the time of a dict, and the writer makes no dict of it either.
ROW_FIELDS = ROW
_ORG, _KIND, _TOPIC, _COUNTERPART, _GROUP, _MEMBER, _HELD, _FIRST = map(
    ROW_FIELDS.index, ("org_id", "kind", "topic", "counterpart", "group_name", "member_id", "held_on", "first_recorded_at"))
# A checked row's values before its dates (`_record_row` gives every one of them).
_plain_values = itemgetter(*ROW_FIELDS[:_HELD])
# A checked row's values that a re-import compares, in the order of the stored version's `_content`.
_row_content = itemgetter(*map(ROW_FIELDS.index, RECORD_CONTENT))


class CheckedChunk(NamedTuple):
    """A chunk of rows checked: those fit to write (row number, values as `_wire` makes them, identity or None), its problems (`_Problems.same`) and how many, and the rows read so far."""

    rows: list[tuple[int, tuple[Any, ...], str | None]]
    same: dict[str, Same]
    problems: int
    read: int


def _row_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """Return a checked row (as `_record_row` makes it) as the values of `ROW_FIELDS`."""
    return tuple(map(row.get, ROW_FIELDS))


def _wire(row: dict[str, Any]) -> tuple[Any, ...]:
    """Return a checked row as values of `ROW_FIELDS`, its dates as day numbers (which pickle in half the time).

    An entry time from a file is noon of its entry day in Asia/Shanghai (`_RecordContext.noon`): the day stands for it.
    """
    first = row.get("first_recorded_at")
    return (*_plain_values(row), row["held_on"].toordinal(), None if first is None else first.toordinal())


@lru_cache(maxsize=4096)
def _day(number: int) -> date:
    return date.fromordinal(number)


@lru_cache(maxsize=4096)
def _noon(number: int) -> datetime:
    """Return noon in Asia/Shanghai of the day numbered `number` (date.toordinal)."""
    return datetime.combine(date.fromordinal(number), time(12, 0), tzinfo=TZ)


def _first(number: int | None) -> datetime | None:
    """Return a row's first recording from its day number (`_wire`), or None."""
    return None if number is None else _noon(number)


class _CheckRows:
    """Check one chunk of a file's rows (in the worker that reads ahead, for a large file)."""

    def __init__(self, table: Table, ctx: _RecordContext):
        self.table, self.ctx = table, ctx

    def __call__(self, chunk: list[tuple[int, dict[str, Any]]], spare: bool = True) -> CheckedChunk:
        """Check the rows of `chunk`; with `spare` (see `checked_chunks`), hash their identities too, else the writer does."""
        problems = _Problems(self.table, counted=None)
        checked: list[tuple[int, tuple[Any, ...], str | None]] = []
        for number, values in chunk:
            row = _record_row(problems, number, values, self.ctx)
            if row is not None:
                wire = _wire(row)
                checked.append((number, wire, row_identity(wire, row["held_on"]) if spare else None))
        return CheckedChunk(checked, problems.same, problems.count, self.table.count)


def _with_identities(checked: list[tuple[int, tuple[Any, ...], str | None]]) -> list[tuple[int, tuple[Any, ...], str]]:
    """Return checked rows with every identity hashed: those the worker checking ahead left to the writer (`_CheckRows`).

    Hashing is a tenth of what the worker does for a row (reading it included; py-spy of an
    import at 10,000 branches), and which process is the busier one is not fixed: hashed in
    the worker, a 10,000-branch import had the writer waiting for chunks 14.3 s of its 56.4 s.
    So the worker hashes while chunks wait for the writer, and leaves it to the writer while the
    writer waits for chunks: 3.1 s of waiting in 51.5 s.
    """
    return [(number, values, identity or row_identity(values, _day(values[_HELD])))
            for number, values, identity in checked]


# What a stored record keeps when a file has no column for it: not of its identity, so a row found by its identity in a
# file without 记录人 or 书记签字 columns made a version with them blank (try-out). A blank cell in the column still blanks it.
# The attendance is one: a row's 实到 is checked against its list, and a list kept beside a count given contradicted it (review).
KEPT_UNLESS_GIVEN = (("expected", "present", "attendees", "excused"), ("recorder",), ("lecturer",), ("secretary_signed",),
                     ("recorder_signed",), ("hours",), ("photos",))


def absent_values(headers: Collection[str]) -> tuple[int, ...]:
    """Return the indexes of `ROW_FIELDS` a file with `headers` gives no value of (`KEPT_UNLESS_GIVEN`): kept from the stored version."""
    given = {*headers, "expected", "present"} if "turnout" in headers else headers      # 参会情况 gives both counts
    return tuple(ROW_FIELDS.index(k) for group in KEPT_UNLESS_GIVEN if not any(k in given for k in group) for k in group)


def _given(values: tuple[Any, ...], old: dict[str, Any], absent: tuple[int, ...]) -> tuple[Any, ...]:
    """Return a row's values with those of the columns its file lacks (`absent`, indexes of `ROW_FIELDS`) taken from `old`."""
    merged = list(values)
    for i in absent:
        merged[i] = old[ROW_FIELDS[i]]
    return tuple(merged)


def _entered_earlier(values: tuple[Any, ...], old: dict[str, Any]) -> bool:
    """Return whether a row gives a 录入日期 before the day its stored record was first recorded (in Asia/Shanghai).

    A later one is not taken: the record was in the database before it.
    """
    return values[_FIRST] is not None and values[_FIRST] < old["first_recorded_at"].astimezone(TZ).date().toordinal()


def _load_chunk(problems: _Problems, batch: RecordBatch, numbers: _RowNumbers, result: ImportResult,
                unhashed: list[tuple[int, tuple[Any, ...], str | None]], replace: bool = True,
                absent: tuple[int, ...] = ()) -> None:
    """Write one chunk of checked rows (row number, values as `_wire` makes them, identity or None): new records and new versions; a row repeating an earlier one with other content is a problem.

    `absent` are the values (indexes of `ROW_FIELDS`) the file has no column for: a new version keeps the stored ones.
    """
    # A chunk's rows come all hashed or none.
    checked = _with_identities(unhashed) if unhashed and unhashed[-1][2] is None else cast(list[tuple[int, tuple[Any, ...], str]], unhashed)
    # A province's first import finds no stored record: its rows' keys are not even gathered.
    findable = batch.findable({values[_ORG] for _, values, _ in checked})
    current = batch.current(list({(values[_ORG], identity) for _, values, identity in checked if values[_ORG] in findable})
                            if findable else [])
    # Rows found by no current record, but by an earlier version of one: the file's row as it was before a
    # `record correct` (a date corrected, then the sheet imported again, made a second meeting: try-out).
    missing = [(values[_ORG], identity) for _, values, identity in checked
               if identity not in current and values[_ORG] in findable] if findable and replace else []
    away = batch.corrected_away(missing) if missing else {}
    pending: dict[str, tuple[int, tuple[Any, ...]]] = {}
    new, new_numbers, versions, version_numbers = [], [], [], []
    redated: set[int] = set()       # records whose version only dates their first entry earlier
    for number, values, identity in checked:
        earlier: tuple[int, tuple[Any, ...]] | None = None
        old = current.get(identity)
        if old is not None and absent:
            values = _given(values, old, absent)
        if identity in pending:
            row_number, earlier_values = pending[identity]
            earlier = (row_number, _row_content(earlier_values))
        elif old is not None and (row_number := numbers.row_of(old["id"])) is not None:
            earlier = (row_number, _content(old))
        if earlier is not None:
            if earlier[1] != _row_content(values):
                problems.add(number, None, None, f"与第{earlier[0]}行是同一条记录（党组织、类型、日期、党小组、党员、主题相同）但内容不同")
            else:
                # Imported once, and said: a row left out without a word was taken for a lost record (try-out).
                result.repeated += 1
                if len(result.repeated_rows) < REPEATS_SHOWN:
                    result.repeated_rows.append((number, earlier[0]))
            continue
        pending[identity] = (number, values)
        if old is None and identity in away:
            result.unchanged += 1
            if len(result.corrected_away) < PROBLEMS_SHOWN:
                result.corrected_away.append((number, away[identity]))
        elif old is None:
            new.append((identity, values))
            new_numbers.append(number)
            result.added += 1
        elif old["voided_at"] is not None and not replace:
            # Logged again after being voided: not a new record, and not silently left void either.
            voided = old["voided_at"].astimezone(TZ).date().isoformat()
            problems.add(number, None, None, f"同一条记录已登记（记录编号 {old['record_id']}：党组织、类型、日期、党小组、党员、主题相同），"
                                             f"并于 {voided} 作废（{old['void_reason']}）；如需恢复，请用 compliance record restore "
                                             f"{old['record_id']} --reason 原因")
        elif old["voided_at"] is not None:
            # A voided record read again, as it was or changed, stays void (a file of before the void): said so
            # (`voided`), restored only on request. A changed row made a new version that revived it without a word.
            numbers.match(old["id"], number)
            result.unchanged += 1
            result.voided.append(old["record_id"])
        elif _content(old) == _row_content(values) and not (replace and _entered_earlier(values, old)):
            numbers.match(old["id"], number)
            result.unchanged += 1
        elif not replace:
            # `log` gives only some of a record's values: as a new version it would blank the others.
            problems.add(number, None, None, f"同一条记录已登记（记录编号 {old['record_id']}：党组织、类型、日期、党小组、党员、主题相同）"
                                             f"但内容不同；修改已登记的记录请用 compliance record correct {old['record_id']} --reason 原因")
        elif _content(old) == _row_content(values):
            # Its content as stored, dated earlier (a paper record entered late, try-out): a version that keeps its source,
            # so a correction it carries is still found a correction by the next import (review).
            versions.append((old, values))
            version_numbers.append(number)
            redated.add(old["record_id"])
            result.updated += 1
            result.redated += 1
        else:
            # The record's first recording stays, unless the file dates it earlier.
            versions.append((old, values if _entered_earlier(values, old) else (*values[:_FIRST], None)))
            version_numbers.append(number)
            result.updated += 1
            if len(result.updated_records) < PROBLEMS_SHOWN:
                result.updated_records.append(old["record_id"])
            if str(old.get("source") or "").startswith("correct:"):
                result.overrode.append(old["record_id"])
    numbers.wrote(batch.write(new, versions, redated), new_numbers + version_numbers)


def _content(version: dict[str, Any]) -> tuple[Any, ...]:
    """Return what a re-import compares of a stored version, as `_row_content` gives it of a checked row (the day as its number)."""
    return tuple(version["held_on"].toordinal() if k == "held_on" else version.get(k) for k in RECORD_CONTENT)


def import_records(store: Store, rules: Rules, path: Path, actor: Actor | None = None, org: str | None = None,
                   sheet: str | None = None) -> ImportResult:
    """Load meeting and activity records; the same row again adds nothing, a changed one adds a version.

    With `org`, a file without a 党组织 column (one branch's own sheet) is that organization's: every row of it. A village's
    sheet had to have its branch typed into 52 rows (migration try-out).
    """
    try:
        table = stream_table(path, RECORD_COLUMNS, normalize=True, supplied=("org",) if org is not None else (), sheet=sheet)
    except InputError as exc:
        if org is None and "缺少必需的列「党组织" in str(exc):
            raise InputError(f"{exc}；一个党支部自己的记录表可加 --org 指定党支部，各行都记在它名下") from None
        raise
    if org is not None:
        if "org" in table.headers:
            raise InputError(f"--org：{table.where} 已有「{table.headers['org']}」列，不能再用 --org 指定党组织（未导入任何数据）")
        value = parse_text(org) if table.normalized else org
        table.headers["org"] = "--org"
        rows = table.rows
        table.rows = ((number, {**values, "org": value}) for number, values in rows)
    # A workbook's sheet is in the source when it has several (x.xlsx「二月」表): a row left out of a sheet imported again
    # is looked for among that sheet's records alone (`cli.records._dropped_rows`).
    return load_records(store, rules, table, source=f"import:{table.where or path.name}", path=path, actor=actor)


def _option_table(values: dict[str, Any]) -> Table:
    headers = {c.english: f"--{c.english.replace('_', '-')}" for c in RECORD_COLUMNS}
    headers["date"], headers["recorded_on"] = "--date", "--recorded-on"
    headers["kind"] = "类型"         # `log`'s first argument, not an option
    return Table(Path("命令行参数"), headers, [(0, values)])


def log_record(store: Store, rules: Rules, values: dict[str, Any], actor: Actor | None = None) -> ImportResult:
    """Log one record given as import-column values (English names); checked like an import row."""
    return load_records(store, rules, _option_table(values), source="log", actor=actor, around=True, replace=False)


def record_values(version: dict[str, Any], org_path: str) -> dict[str, Any]:
    """Return a stored version as import-column values, to be changed and checked again."""
    return {
        "org": org_path, "kind": version["kind"], "date": version["held_on"], "expected": version["expected"],
        "present": version["present"], "topic": version["topic"], "recorder": version["recorder"],
        "secretary_signed": version["secretary_signed"], "recorder_signed": version["recorder_signed"],
        "member": version.get("member_name"), "group": version["group_name"], "lecturer": version["lecturer"],
        "attendees": version["attendees"], "excused": version["excused"], "counterpart": version["counterpart"],
        "hours": version["hours"], "photos": version["photos"],
    }


def correct_record(store: Store, rules: Rules, record_id: int, changes: dict[str, Any], reason: str,
                   actor: Actor | None = None) -> int:
    """Make a corrected version of a record with `changes` (import-column values), checked like an import row."""
    if not reason or not reason.strip():
        raise InputError("--reason：更正须写明原因")
    current = store.record_versions(record_id)[-1]
    path = store.org_path(current["org_id"])
    if actor is not None:
        require_write(store, actor, "correct", [path])      # before the values are checked: their errors name its members
    values = {**record_values(current, path), **{k: v for k, v in changes.items() if v is not None}}
    if changes.get("attendees") is not None and changes.get("present") is None:
        # 实到 follows the new list, as when logged with one: the stored count was the old list's, never given now.
        values["present"] = None
    if changes.get("attendees") is not None and changes.get("excused") is None and current.get("excused"):
        # Told as an error of --excused, an option never given: the clash was with the stored list (try-out).
        stored = split_names(current["excused"])
        if both := [n for n in split_names(changes["attendees"]) if n in stored]:
            raise InputError(f"--attendees：「{'、'.join(both)}」在原记录的请假人员中（{current['excused']}）：请假的不算到会；"
                             "如已到会，请同时用 --excused 给出改正后的请假人员（没有请假的写 --excused \"\"），未更正")
    problems = _Problems(_option_table(values), "未更正")
    ctx = _RecordContext(store, rules, around=True)
    if changes.get("hours") is None and changes.get("kind") is None:
        ctx.kept_hours = current["hours"]
    if changes.get("org") is not None:
        moved_to, _ = ctx.org(changes["org"])
        # The lists name the old branch's members: checked against the new roster, they were "not its members", and
        # 实到 "disagreed" with a list of none, an option never given.
        kept = [(label, option) for key, label, option in (("attendees", "参会人员", "--attendee"), ("excused", "请假人员", "--excused"))
                if current.get(key) and changes.get(key) is None]
        if moved_to is not None and moved_to.id != current["org_id"] and kept:
            said = "和".join(label for label, _ in kept)
            raise InputError(f"--org：原记录列有{said}（「{path}」的党员），更正到「{moved_to.path}」须同时给出该党组织的{said}"
                             f"（{'、'.join(option for _, option in kept)}），未更正")
    row = _record_row(problems, 0, values, ctx)
    problems.raise_if_any()
    assert row is not None
    if actor is not None:
        require_write(store, actor, "correct", {path, ctx.index.by_id[row["org_id"]].path})
    return store.correct_record(record_id, row, row_identity(_row_values(row)), reason.strip())


def restore_record(store: Store, record_id: int, reason: str, actor: Actor | None = None) -> int:
    """Bring back a voided record as it was, with the reason; return its new version number."""
    if not reason or not reason.strip():
        raise InputError("--reason：恢复须写明原因")
    current = store.record_versions(record_id)[-1]
    if actor is not None:
        require_write(store, actor, "restore", [store.org_path(current["org_id"])])
    return store.restore_record(record_id, reason.strip())


def void_record(store: Store, record_id: int, reason: str, actor: Actor | None = None) -> None:
    """Withdraw a record with the reason; it stays readable and no longer counts."""
    if not reason or not reason.strip():
        raise InputError("--reason：作废须写明原因")
    current = store.record_versions(record_id)[-1]
    if actor is not None:
        require_write(store, actor, "void", [store.org_path(current["org_id"])])
    store.void_record(record_id, reason.strip())
