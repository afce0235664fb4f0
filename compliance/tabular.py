"""Reading CSV and XLSX files into rows, and parsing the values users type into them."""

from __future__ import annotations

import codecs
import csv
import hashlib
import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from itertools import chain
from operator import gt, itemgetter
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator, Sequence

from compliance.errors import InputError, os_reason

# No organization, membership or meeting of the Party is older than its founding: an earlier date is a mistyped year (1025 for 2025).
PARTY_FOUNDED = date(1921, 7, 1)
TOO_EARLY = f"早于中国共产党成立（{PARTY_FOUNDED.isoformat()}），请核对年份"

# A month and day without the year: 12月5日, 12-5, 12/5.
_NO_YEAR = re.compile(r"(\d{1,2})(?:月|[-/.])(\d{1,2})日?")

# Excel day numbers from 1954 to 2119: wide enough for any meeting or birth date here.
_EXCEL_SERIALS = (20000, 80000)

TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "√", "✓", "已签", "已签字"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", "×", "✗", "未签", "未签字"}
# A time after the date is passed over: Excel saves a date cell to CSV as 2026/11/5 0:00 or 2026-11-05 00:00:00.
_TIME = r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?"
_DATE_FORMS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME + "$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})" + _TIME + "$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})[日号]?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
# A date with the time of day or the weekday after it: the date's written forms, then only the words of a time.
_DAY_THEN_TIME = re.compile(r"(\d{4}(?:-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2}|\.\d{1,2}\.\d{1,2}|年\d{1,2}月\d{1,2}[日号]?))(?!\d)")
_CLOCK_TIME = r"(?:(?:[01]?\d|2[0-3])[:：][0-5]\d|(?:[01]?\d|2[0-3]|[一二三四五六七八九十]|十[一二])[点时](?:[0-5]?\d分|半|钟)?)"
# What may follow: a weekday (in brackets or not), a part of the day, a clock time, and the time it ended.
_WHEN = re.compile(r"\s*(?:[（(]?(?:星期|周|礼拜)([一二三四五六日天])[)）]?)?\s*(?:上午|下午|晚上|中午|早上|凌晨|傍晚)?\s*"
                   rf"(?:{_CLOCK_TIME}(?:\s*[-—~～至到]\s*{_CLOCK_TIME})?)?\s*")
# A column a month, as a dues ledger heads them: 1月, 十二月, 2026年1月, 1月份.
_MONTH_HEADER = re.compile(r"(?:\d{4}年)?(?:\d{1,2}|[一二三四五六七八九十]|十[一二])月份?")
# A year and month with no day (2001.07, 2001年7月), as rosters often give 入党时间: which day is not for us to guess.
_SPACED = re.compile(r"\s*([年月日号/.\-])\s*")
_MONTH_ONLY = re.compile(r"^(\d{4})(?:[-/.]|年)(\d{1,2})月?$")


@dataclass(frozen=True)
class Column:
    """An import column: its Chinese header, English name, whether it must be present, its longest value, other English headers it takes."""

    chinese: str
    english: str
    required: bool = False
    max_length: int = 100
    aliases: tuple[str, ...] = ()


@dataclass
class Table:
    """The rows of one file, keyed by English column name, with the header users wrote.

    `rows` is a list, or, for a streamed CSV file, an iterator that reads the file as it goes
    and can be walked once; `count` is how many rows have been read (all of them at the end).
    """

    path: Path
    headers: dict[str, str]          # English name -> header as written in the file
    rows: Iterable[tuple[int, dict[str, Any]]]  # (spreadsheet row number, values)
    digest: FileDigest | None = None  # the file's SHA-256, when it was read from a file
    count: int = 0
    normalized: bool = False         # every value is text as `parse_text` returns it, or None
    names: dict[str, str] = field(default_factory=dict)   # English name -> Chinese header, of every column the file may have
    where: str = ""                  # how problems name the file: its name, and for a workbook the sheet read (x.xlsx「党员」表)
    # CSV rows with more fields than the header line, blank though the extra ones are (row number -> how many more): an
    # unquoted comma in a value shifts the cells after it, and the errors name the shifted cells (try-out).
    wide: dict[int, int] = field(default_factory=dict)
    # Rows passed over, as (row number, what it is: 标题, 合计行, 落款), filled as the rows are read: said by the import, so
    # that a row taken for one is seen (review).
    skipped: list[tuple[int, str]] = field(default_factory=list)
    # The year a dues ledger's title gives (2026年党费收缴台账), and that title, when it was read so without --year.
    year: tuple[int, str] | None = None
    titles: tuple[str, ...] = ()      # the cells of the title rows above the header, as written (`title_year`)

    @property
    def sha256(self) -> str | None:
        """Return the file's SHA-256 (waiting for it, when it is being worked out alongside the import)."""
        return self.digest.value() if self.digest is not None else None


class FileDigest:
    """The SHA-256 of a file: worked out when it is asked for, or beforehand in a thread started by `start`.

    hashlib lets go of the GIL while it hashes, so the thread costs the process little. Start it
    only after any worker process has been forked: a fork copies no thread but the one forking.
    """

    def __init__(self, path: Path, value: str | None = None):
        self.path = path
        self._value = value
        self._error: OSError | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._value is None and self._thread is None:
            self._thread = threading.Thread(target=self._work, daemon=True, name="sha256")
            self._thread.start()

    def _work(self) -> None:
        try:
            self._value = _digest(self.path)[0]
        except OSError as exc:
            self._error = exc

    def value(self) -> str:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        elif self._value is None and self._error is None:
            self._work()
        if self._error is not None:
            raise InputError(f"{self.path}：无法读取：{os_reason(self._error)}（未导入任何数据）")
        assert self._value is not None
        return self._value


class CellError(InputError):
    """A value that cannot be read; the import adds the file, row and column."""


class WideTable(InputError):
    """A file of dues with a column a month (1月 … 12月), as clerks keep a ledger, where a row a payment was expected
    (`membership.dues_table` reads it as such). `titles` holds the text of the title rows above its header
    (2026年党费收缴台账), which may give its year."""

    def __init__(self, message: str, titles: Sequence[str] = ()):
        super().__init__(message)
        self.titles = tuple(titles)


# Columns an office's spreadsheet has beside the data, which every import passes over: 序号 (the row
# numbers), 备注 (remarks), and what a 花名册 records of a member that the tool does not use (a roster
# with 身份证号 or 学历 was refused whole). Any other unknown column is refused: a misspelt one (参会人
# for 参会人员) would lose its values without a word.
IGNORED_HEADERS = frozenset({"序号", "备注", "身份证号", "身份证号码", "公民身份号码", "学历", "民族", "籍贯", "联系电话", "手机号码",
                             "手机号", "职务", "工作单位", "家庭住址", "现居住地", "主持人", "党员人数",
                             # A 流动党员's whereabouts, and where a meeting was held (migration try-out).
                             "流出地", "流入地", "流动去向", "外出地点", "外出务工地点", "地点", "会议地点", "活动地点"})


def read_table(path: Path, columns: list[Column], sheet: str | None = None) -> Table:
    """Return the rows of a CSV (UTF-8 with or without BOM, or GB18030) or XLSX file, all in memory.

    Headers may be Chinese or English; unknown headers and missing required ones are errors.
    Blank cells become None; rows that are entirely blank are skipped. `sheet`: as `stream_table` takes it.
    """
    table = stream_table(path, columns, sheet=sheet)
    table.rows = list(table.rows)
    return table


def stream_table(path: Path, columns: list[Column], normalize: bool = False, supplied: Collection[str] = (),
                 sheet: str | None = None) -> Table:
    """Return the table of a CSV or XLSX file as `read_table` does, but with rows read as they are walked.

    The header is checked at once. A CSV file is read row by row, so memory does not grow with the
    file, and its encoding is told from its first bytes (`_text_encoding`); its digest is worked
    out apart (`Table.digest`). An XLSX file is read whole (its formulas are matched to its values
    by position). With `normalize`, the text of a CSV file comes as `parse_text` returns it, and
    the table says so (`normalized`). With `sheet` (a workbook's sheet by its name: `--sheet`), that sheet is read.
    """
    if not path.is_file():
        raise InputError(f"{path}：{'是文件夹，不是文件' if path.is_dir() else '文件不存在'}")
    by_header = {c.chinese: c for c in columns} | {c.english: c for c in columns} | {a: c for c in columns for a in c.aliases}
    formulas: dict[tuple[int, int], str] = {}
    spreadsheet = path.suffix.lower() in (".xlsx", ".xlsm")
    if sheet is not None and not spreadsheet:
        raise InputError(f"--sheet：{path.name} 不是 XLSX 工作簿，--sheet 只用于选择工作簿中的表（未导入任何数据）")
    if spreadsheet:
        raw_rows, where, formulas = _read_xlsx(path, by_header, sheet)
        digest = FileDigest(path)
        lines: Iterator[list[Any]] = iter(raw_rows)
    else:
        _refuse_not_csv(path)
        digest, encoding = _text_encoding(path)
        where = path.name
        lines = _csv_rows(path, encoding)
    first = next(lines, None)
    head = 1            # the header's row: blank rows above it are passed over (a sheet begun on its second row: try-out)
    title: tuple[int, str] | None = None
    top: tuple[int, list[str]] | None = None       # the first row with a value, and what it names no column with
    titles: list[tuple[int, str]] = []
    title_texts: list[str] = []         # the titles' cells, as written
    headers: dict[str, str] = {}
    repeated: list[str] = []
    while True:
        while first is not None and not any(map(_filled, first)):
            first, head = next(lines, None), head + 1
        if first is None:
            if title is not None and top is not None and len(top[1]) > 1:
                headers, repeated = {}, []
                break           # a header mistyped, all its rows taken for a title's: told below as the header it is
            if title is not None:
                raise InputError(f"{where} 第{title[0]}行：「{title[1]}」不是列名，像是表头上方的标题，其下却没有列名"
                                 f"（列名如 {'、'.join(c.chinese for c in columns if c.required)}）（未导入任何数据）")
            raise InputError(f"{where}：文件为空，没有表头（未导入任何数据）")
        headers, positions, passed, unknown, repeated = _header(first, by_header)
        top = top or (head, unknown)
        # A title above the header (青石镇2026年11月组织生活记录表, 填报单位：…), as offices make them: a row or three of a cell or
        # three and no column name. Passed over, as a reader passes over it: it was refused, recognised as it was (try-out).
        if headers or not unknown or len(unknown) > TITLE_CELLS or len(titles) == TITLE_ROWS:
            break
        title = title or (head, unknown[0])
        titles.append((head, "标题"))
        title_texts.extend(unknown)
        first, head = next(lines, None), head + 1
    if not headers and title is not None:
        if top is not None and len(top[1]) > 1:
            # Two or three cells and no column name: a header mistyped (名字,单位), whose rows were taken for a title's
            # (review). Told as the header it is.
            head, unknown = top
        else:
            raise InputError(f"{where} 第{title[0]}行：「{title[1]}」不是列名，像是表头上方的标题，其下第{head}行也不是列名"
                             f"（列名如 {'、'.join(c.chinese for c in columns if c.required)}）（未导入任何数据）")
    at = f"第{head}行"     # the header's row, or rows
    if headers and first is not None and (second := next(lines, None)) is not None:
        if (both := _two_row_header(first, second, by_header)) is not None:
            # 参会情况 merged over 应到 and 实到: the second row names the columns under the first's group titles (try-out).
            first, at, head = both, f"第{head}—{head + 1}行", head + 1
            headers, positions, passed, unknown, repeated = _header(first, by_header)
        else:
            lines = chain([second], lines)
    if unknown:
        # A file with English headers is told the English names.
        english = all(text.isascii() for text in unknown)
        known = "、".join(f"{c.english}（{c.chinese}）" if english else c.chinese for c in columns)
        # A dues ledger of a row a member and a column a month (1月 … 12月), as clerks keep it, was told only its unknown
        # columns (clerk's try-out).
        months = [text for text in unknown if _MONTH_HEADER.fullmatch(text)]
        if months and any(c.english == "month" for c in columns):
            raise WideTable(f"{where} {at}：「{months[0]}」等是每月一列的党费台账：请用 --year 指明年份后导入（如 --year 2026），"
                            "或转为每人每月一行的格式（姓名、党组织、月份、金额、交纳日期）（未导入任何数据）", title_texts)
        raise InputError(f"{where} {at}：未知的列「{'」「'.join(unknown)}」，可用的列：{known}（未导入任何数据）")
    if repeated:
        # 日期 and 时间 both: 时间 alone was named, as if it were there twice (review).
        twice = [f"「{text}」与「{headers[column.english]}」都是{column.chinese}" if (column := column_of(text, by_header))
                 and headers.get(column.english, text) != text else f"「{text}」" for text in repeated]
        raise InputError(f"{where} {at}：列{'、'.join(twice)}，重复（未导入任何数据）")
    missing = [c.chinese for c in columns if c.required and c.english not in headers and c.english not in supplied]
    if missing:
        raise InputError(f"{where} {at}：缺少必需的列「{'」「'.join(missing)}」（未导入任何数据）")
    table = Table(path, headers, (), digest, names={c.english: c.chinese for c in columns}, where=where, skipped=titles,
                  titles=tuple(title_texts))
    longest = {c.english: c.max_length for c in columns}
    limits = [(i, name, longest[name]) for i, name in positions]
    if not spreadsheet:              # every cell of a CSV file is text
        table.rows = _text_rows(table, lines, where, limits, normalize, passed, len(first or ()), head + 1, notes=True)
        table.normalized = normalize
    else:
        table.rows = _rows(table, lines, where, limits, formulas, passed, head + 1, notes=True)
    return table


def _header(first: Sequence[Any], by_header: dict[str, Column]) -> tuple[dict[str, str], list[tuple[int, str]], list[int], list[str], list[str]]:
    """Return what a header row names: the columns (English name -> header as written), their positions, the positions
    passed over (`IGNORED_HEADERS`), and the texts that name no column or one named before."""
    headers: dict[str, str] = {}
    positions: list[tuple[int, str]] = []
    passed: list[int] = []          # the columns passed over (`IGNORED_HEADERS`)
    unknown, repeated = [], []
    for i, cell in enumerate(first):
        # A line break within the cell (会议⏎类型) is shown as a space: an error stays one line.
        text = " ".join(str(cell).split()) if cell is not None else ""
        if not text:
            continue
        column = column_of(text, by_header)
        if column is None and text in IGNORED_HEADERS:
            passed.append(i)        # a spreadsheet's own row numbers and remarks: read by people, not by the tool
            continue
        if column is None:
            unknown.append(text)
        elif column.english in headers:
            repeated.append(text)
        else:
            headers[column.english] = text
            positions.append((i, column.english))
    return headers, positions, passed, unknown, repeated


def _two_row_header(top: Sequence[Any], sub: Sequence[Any], by_header: dict[str, Column]) -> list[Any] | None:
    """Return the one header of a header of two rows, each column named by its second row's cell, else by its first's; None
    when `sub` is not such a header's second row.

    Offices merge a group title over the columns it groups (参会情况 over 应到 and 实到) and each other header cell
    down over both rows, which leaves it blank in the second. So a second row names a known column in one cell at
    least, and has a value under no required column the first row names: a row of records has its 类型 and 日期 there.
    """
    width = max(len(top), len(sub))
    top, sub = list(top) + [None] * (width - len(top)), list(sub) + [None] * (width - len(sub))
    filled = [i for i in range(width) if _filled(sub[i])]
    if not filled or not all(isinstance(sub[i], str) for i in filled):
        return None
    texts = {i: " ".join(sub[i].split()) for i in filled}
    if not any(column_of(text, by_header) is not None for text in texts.values()):
        return None
    if any(_filled(top[i]) and (column := column_of(" ".join(str(top[i]).split()), by_header)) is not None and column.required
           for i in filled):
        return None
    return [texts.get(i, top[i]) for i in range(width)]


# The units a header may name after it, in brackets: only these (学时（分钟） is not 学时: review).
_UNIT = re.compile(r"\((元|人|名|个|次|小时|学时|课时|h)\)$")


def column_of(text: str, by_header: dict[str, Column]) -> Column | None:
    """Return the column a header names, as offices write them: full-width forms, spaces or a line break within
    (会议 类型), or a unit after it in brackets (金额（元）, 应到人数（人）); None when it names none."""
    column = by_header.get(text) or by_header.get(text.lower())
    if column is None:
        key = "".join(unicodedata.normalize("NFKC", text).split())
        column = by_header.get(key) or by_header.get(key.lower())
        if column is None and (bare := _UNIT.sub("", key)) and bare != key:
            column = by_header.get(bare) or by_header.get(bare.lower())
    return column


def _check_cell(cell: str, longest: int, where: str) -> None:
    """Raise InputError naming `where` when a cell is longer than its column allows or holds a NUL."""
    if len(cell) > longest:
        raise InputError(f"{where}：值「{cell[:20]}…」超过 {longest} 个字（未导入任何数据）")
    if "\x00" in cell:
        raise InputError(f"{where}：含有空字符（NUL），文件可能已损坏（未导入任何数据）")


def _holes(positions: list[tuple[int, str, int]], width: int, passed: Sequence[int] = ()) -> list[int]:
    """Return the positions before `width` of the columns without a header (a blank header cell between two named ones), not `passed` over."""
    named = {i for i, _, _ in positions}.union(passed)
    return [i for i in range(width) if i not in named]


def _width(positions: list[tuple[int, str, int]], passed: Sequence[int]) -> int:
    """Return how many cells a row has up to its last column read or passed over."""
    return max([i for i, _, _ in positions] + list(passed), default=-1) + 1


TOTALS_WORDS = ("合计", "总计", "小计", "共计")
# A totals row's first cell: the word alone, or with a count (合计：12人).
_TOTALS = re.compile(r"(?:合计|总计|小计|共计)[:：]?(?:\d+(?:\.\d+)?[人条次项元个名]?)?")
# A sheet's footer: who filled it in, checked it, when (填表人：张三 审核人：李四).
_FOOTER = re.compile(r"(?:填表人|制表人|填报人|审核人|审批人|统计人|负责人|联系人|联系电话|填表日期|填报日期|制表日期|报送日期)\s*[：:]")
# How a text row's first cell may begin when its first value is a totals word or a footer's: blank, a space, or the
# word's first character.
_TOTALS_START = frozenset({"", " ", "\t", "\u3000", *(word[0] for word in TOTALS_WORDS), *"填制审统负联报"})


def _totals_row(raw: Sequence[Any]) -> str | None:
    """Return whether a row is a totals row (its first cell with a value 合计, 小计 … alone, in 序号, 姓名 or any column) or
    a footer (each of its cells 填表人：张三, 审核人：李四 …): its other cells are sums or names, not a record. Passed over as
    a reader passes over them: they were refused, recognised as they were, and the first such error hid the errors above
    it (try-out). A topic that begins 总计划 or 负责人： in a record is neither (review)."""
    cells = [cell for cell in raw if _filled(cell)]
    if not cells or not isinstance(cells[0], str):
        return None
    if _TOTALS.fullmatch("".join(cells[0].split())):
        return "合计行"
    return "落款" if all(isinstance(cell, str) and _FOOTER.match(cell.strip()) for cell in cells) else None


def _filled(cell: Any) -> bool:
    return cell is not None and (not isinstance(cell, str) or bool(cell.strip()))


def _unlabeled(where: str, number: int, raw: list[Any], width: int, holes: list[int]) -> InputError:
    """Return the error naming the first value of row `number` in a column without a header (`_holes`, or past `width`): a value that would be dropped."""
    i = next(i for i, cell in enumerate(raw) if (i >= width or i in holes) and _filled(cell))
    value = str(raw[i]).strip()
    return InputError(f"{where} 第{number}行第{i + 1}列：值「{value[:20]}」：这一列没有表头，值无处可放（常因值中有未加引号的英文逗号，"
                      "可把含逗号的值放进英文双引号，或改用中文逗号）（未导入任何数据）")


def _rows(table: Table, lines: Iterator[list[Any]], where: str, positions: list[tuple[int, str, int]],
          formulas: dict[tuple[int, int], str], passed: Sequence[int] = (), start: int = 2,
          notes: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (row number, values) of the lines after the header, the first numbered `start`, counting them in `table.count`;
    the columns `passed` are not read. With `notes`, totals rows and footers are passed over (`_totals_row`), in `table.skipped`."""
    width = _width(positions, passed)
    holes = _holes(positions, width, passed)
    for number, raw in enumerate(lines, start=start):
        if len(raw) < width:
            raw = list(raw) + [None] * (width - len(raw))
        if notes and (what := _totals_row(raw)):
            table.skipped.append((number, what))
            continue
        if (len(raw) > width and any(map(_filled, raw[width:]))) or (holes and any(_filled(raw[i]) for i in holes)):
            raise _unlabeled(where, number, raw, width, holes)
        values = {}
        blank = True
        for i, name, longest in positions:
            cell = raw[i]
            if isinstance(cell, str):
                cell = cell.strip() or None
                if cell is not None:
                    _check_cell(cell, longest, f"{where} 第{number}行「{table.headers[name]}」列")
            elif cell is None and formulas and (number - 1, i) in formulas:
                raise InputError(f"{where} 第{number}行「{table.headers[name]}」列：值「{formulas[(number - 1, i)]}」：是公式且文件中没有保存计算结果，"
                                 "请在 Excel 中打开后保存，或把公式粘贴为数值（未导入任何数据）")
            if cell is not None:
                blank = False
            values[name] = cell
        if not blank:
            table.count += 1
            yield number, values


def _text_rows(table: Table, lines: Iterator[list[str]], where: str, positions: list[tuple[int, str, int]],
               normalize: bool, passed: Sequence[int] = (), header_width: int | None = None,
               start: int = 2, notes: bool = False) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield what `_rows` yields for rows of text, checking a row's cells in a few calls rather than one by one.

    A row with more fields than the header line's `header_width` goes into `table.wide`."""
    names = [name for _, name, _ in positions]
    limits = [longest for _, _, longest in positions]
    if not names:
        return
    indexes = [i for i, _, _ in positions]
    pick = None if indexes == list(range(len(indexes))) else itemgetter(*indexes) if len(indexes) > 1 \
        else lambda raw: (raw[indexes[0]],)
    width = _width(positions, passed)
    holes = _holes(positions, width, passed)
    present = itemgetter(1)
    shortest = min(limits)
    for number, raw in enumerate(lines, start=start):
        if len(raw) != width:
            if len(raw) > width and any(map(str.strip, raw[width:])):
                raise _unlabeled(where, number, raw, width, holes)
            if header_width is not None and len(raw) > header_width:
                table.wide[number] = len(raw) - header_width
            raw = raw[:width] + [""] * (width - len(raw))
        if holes and any(raw[i].strip() for i in holes):
            raise _unlabeled(where, number, raw, width, holes)
        if notes and raw and raw[0][:1] in _TOTALS_START and (what := _totals_row(raw)):       # one look at most rows' first cell
            table.skipped.append((number, what))
            continue
        cells = raw if pick is None else list(pick(raw))
        # Most rows need no stripping and no space squeezing: find out with a few scans of one string.
        # Whitespace other than " " is never printable: isprintable takes half the time of a regex.
        joined = "|".join(cells)
        if (not joined.isprintable() or "  " in joined or " |" in joined or "| " in joined
                or joined[:1] == " " or joined[-1:] == " "):
            cells = [" ".join(c.split()) for c in cells] if normalize else [c.strip() for c in cells]
            joined = "|".join(cells)
        if not any(cells):
            continue
        if "\x00" in joined or (len(joined) > shortest and max(map(len, cells)) > shortest
                                 and any(map(gt, map(len, cells), limits))):
            for cell, name, longest in zip(cells, names, limits):
                _check_cell(cell, longest, f"{where} 第{number}行「{table.headers[name]}」列")
        table.count += 1
        # Blank cells are left out: values.get(name) is None for them, as for a missing column.
        yield number, dict(filter(present, zip(names, cells)))


def _digest(path: Path, encoding: str | None = None) -> tuple[str, bool]:
    """Return the SHA-256 of a file and whether its bytes are text in `encoding`, reading it in blocks."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)() if encoding else None
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
            if decoder is not None:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    decoder = None
    if decoder is not None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            decoder = None
    return digest.hexdigest(), decoder is not None


# The bytes of a CSV file its encoding is told from. A large file was read whole for it, and
# hashed, before its rows: the worker that checks the rows of a 2.3 GB file (50,000 branches)
# started 8 s after the command, against 2.6 s since.
ENCODING_HEAD = 1 << 20


# The first bytes of files an office saves that are not CSV, and what to do with each.
NOT_CSV = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "是旧版 Excel（.xls）或 WPS 表格（.et）文件，不是 CSV：请在 Excel 或 WPS 中另存为 .xlsx，或「CSV UTF-8（逗号分隔）」"),
    (b"PK\x03\x04", "是 .xlsx 等压缩格式的表格文件，不是 CSV：如是 Excel 表格，请将扩展名改为 .xlsx，或另存为 .xlsx"),
    (b"\xff\xfe", "是 UTF-16 编码的文本（Excel 的「Unicode 文本」），不是 CSV：请另存为「CSV UTF-8（逗号分隔）」"),
    (b"\xfe\xff", "是 UTF-16 编码的文本（Excel 的「Unicode 文本」），不是 CSV：请另存为「CSV UTF-8（逗号分隔）」"),
)


def _refuse_not_csv(path: Path) -> None:
    """Raise InputError when a file read as CSV is a workbook or UTF-16 text by its first bytes, or its first line is tab-separated.

    Such a file was told it held bytes its encoding does not allow (hex B1, FF FE) and was perhaps damaged.
    """
    with path.open("rb") as fh:
        head = fh.read(4096)
    for magic, what in NOT_CSV:
        if head.startswith(magic):
            raise InputError(f"{path.name}：{what}（未导入任何数据）")
    line = head.split(b"\n", 1)[0]
    if b"\t" in line and b"," not in line:
        raise InputError(f"{path.name} 第1行：列之间用的是制表符，不是逗号（Excel 的「文本文件（制表符分隔）」）："
                         "请另存为「CSV UTF-8（逗号分隔）」（未导入任何数据）")


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _text_encoding(path: Path) -> tuple[FileDigest, str | None]:
    """Return the digest of a CSV file and its encoding: UTF-8 (with or without BOM), else GB18030, else None.

    A file of at most `ENCODING_HEAD` bytes, or one whose whole lines in its first
    `ENCODING_HEAD` bytes are all ASCII (which every encoding reads alike), is decoded whole to
    tell. Otherwise those lines tell, the Chinese of the header among them, and the rest is
    decoded as the rows are read: a byte that encoding does not allow there is an error naming
    the row and column (`_csv_rows`).
    The digest of a larger file is left to be worked out (`FileDigest`).
    """
    with path.open("rb") as fh:
        head = fh.read(ENCODING_HEAD)
        whole = not fh.read(1)
    if whole:
        return FileDigest(path, hashlib.sha256(head).hexdigest()), _encoding_of(head)
    # Whole lines: neither encoding has a line break inside a character, so none is cut in two.
    lines = head[:head.rfind(b"\n") + 1]
    if lines.isascii():
        value, utf8 = _digest(path, "utf-8")
        return FileDigest(path, value), "utf-8-sig" if utf8 else "gb18030" if _digest(path, "gb18030")[1] else None
    return FileDigest(path), _encoding_of(lines)


def _encoding_of(text: bytes) -> str | None:
    """Return the encoding whole lines of text are in: UTF-8 (with or without BOM), else GB18030, else None."""
    return "utf-8-sig" if _decodes(text, "utf-8") else "gb18030" if _decodes(text, "gb18030") else None


ENCODING_NAMES = {"utf-8-sig": "UTF-8", "gb18030": "GB18030"}


def _csv_rows(path: Path, encoding: str | None) -> Iterator[list[str]]:
    if not encoding:
        raise _undecodable(path, _likelier_encoding(path))
    with path.open(encoding=encoding, newline="") as fh:
        # Strict: a quote left open would otherwise take in the rest of the file as one value.
        reader = csv.reader(fh, strict=True)
        try:
            if encoding == "gb18030":
                yield from _same_encoding(path, reader)
            else:
                yield from reader
        except UnicodeDecodeError:
            # Told from the file's first lines (`_text_encoding`), the encoding fails further on.
            raise _undecodable(path, encoding) from None
        except csv.Error:
            raise _bad_quotes(path, encoding) from None


def _same_encoding(path: Path, reader: Iterator[list[str]]) -> Iterator[list[str]]:
    """Yield the rows of a GB18030 file, refusing one saved as UTF-8 (an error naming its row, column and value).

    GB18030 reads most UTF-8 bytes, as other characters: a row pasted in from a UTF-8 file
    came in as mojibake (瀛︿範 for 学习). A cell whose bytes read as UTF-8 with Chinese in it
    is such a row: GBK's own Chinese seldom makes UTF-8's three-byte sequences.
    """
    header: list[str] = []
    for number, cells in enumerate(reader, start=1):
        header = header or cells
        for i, cell in enumerate(cells):
            if cell.isascii():
                continue
            try:
                text = cell.encode("gb18030").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if _CJK.search(text):
                name = header[i].strip() if number > 1 and i < len(header) else ""
                column = f"「{name}」列" if name else f"第{i + 1}列"
                raise InputError(f"{path.name} 第{number}行{column}：值「{text[:20]}」是 UTF-8 编码，而文件其余部分是 GB18030（GBK）编码："
                                 "文件前后所用的编码不同（请将整个文件保存为 UTF-8 的 CSV；未导入任何数据）")
        yield cells


_CJK = re.compile("[\u4e00-\u9fff]")


def _likelier_encoding(path: Path) -> str:
    """Return the encoding a file in neither reads further in (its first `ENCODING_HEAD` bytes): UTF-8, unless GB18030 does.

    The further, not the fewer bytes broken: GB18030 reads most UTF-8 text (as other characters),
    so a UTF-8 file with a GBK row breaks less often in GB18030, but from its first line.
    """
    with path.open("rb") as fh:
        head = fh.read(ENCODING_HEAD)

    def first_fault(name: str) -> int:
        try:
            head.decode(name)
        except UnicodeDecodeError as exc:
            return exc.start
        return len(head)

    return max(ENCODING_NAMES, key=first_fault)


def _bad_quotes(path: Path, encoding: str) -> InputError:
    """Return the error naming the row, column and value of `path` where its quotes stop making sense.

    The file is read again up to the row the reader could not finish, and that row's text is
    looked at field by field (`_quote_fault`): the reader itself says neither which row (it
    counts lines, and a quoted value may span several) nor which column.
    """
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, strict=True)
        header: list[str] = []
        number, end = 0, 0        # the last row read whole, and the line it ended on
        try:
            for number, cells in enumerate(reader, start=1):
                header, end = header or cells, reader.line_num
        except csv.Error:
            pass
        fh.seek(0)
        for _ in range(end):
            fh.readline()
        text = fh.read(QUOTE_CONTEXT)
    number += 1
    fault = _quote_fault(text)
    if fault is None:
        return InputError(f"{path.name} 第{number}行：引号不成对（以引号开头的值须以引号结束，值中的引号须写成两个）（未导入任何数据）")
    i, value = fault
    name = header[i].strip() if number > 1 and i < len(header) else ""
    column = f"「{name}」列" if name else f"第{i + 1}列"
    return InputError(f"{path.name} 第{number}行{column}：值「{value[:20]}」：引号不成对（以引号开头的值须以引号结束，"
                      "值中的引号须写成两个）（未导入任何数据）")


# How much of a file, from the row whose quotes are wrong, is looked at to find the column.
QUOTE_CONTEXT = 1 << 20


def _quote_fault(text: str) -> tuple[int, str] | None:
    """Return (column index, value as written) of the first field of the CSV row at the start of `text` whose quotes are wrong.

    A quoted field must end with a quote (a quote inside it doubled) followed by a comma or the
    end of the row. None when the row's quotes are right (the fault is not in this row).
    """
    i, column = 0, 0
    while i < len(text):
        if text[i] == '"':
            close = i + 1
            while True:
                close = text.find('"', close)
                if close == -1:
                    return column, text[i:].splitlines()[0]
                if text[close + 1:close + 2] == '"':
                    close += 2
                    continue
                break
            after = text[close + 1:close + 2]
            if after not in ("", ",", "\r", "\n"):
                stop = text.find(",", close)
                return column, text[i:stop if stop != -1 else None].splitlines()[0]
            i = close + 1
        else:
            stops = [found for found in (text.find(c, i) for c in ",\r\n") if found != -1]
            i = min(stops) if stops else len(text)
        if i >= len(text) or text[i] in "\r\n":
            return None
        i, column = i + 1, column + 1
    return None


# What a byte that the encoding does not allow becomes, read with errors="surrogateescape".
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]+")


def _undecodable(path: Path, encoding: str) -> InputError:
    """Return the error naming the first row and column of `path` holding bytes `encoding` does not allow.

    The file is read again with those bytes kept as they are: the text reader that failed
    decodes a block at a time, so where it stopped says nothing of the row.
    """
    with path.open(encoding=encoding, errors="surrogateescape", newline="") as fh:
        header: list[str] = []
        for number, cells in enumerate(csv.reader(fh), start=1):
            header = header or cells
            for i, cell in enumerate(cells):
                if found := _ESCAPED_BYTES.search(cell):
                    name = header[i].strip() if number > 1 and i < len(header) else ""
                    column = f"「{name}」列" if name else f"第{i + 1}列"
                    bad = bytes(ord(c) - 0xDC00 for c in found.group()).hex(" ").upper()
                    return InputError(f"{path.name} 第{number}行{column}：含有 {ENCODING_NAMES[encoding]} 编码不允许的字节"
                                      f"（十六进制 {bad}），文件前后所用的编码不同或已损坏（请保存为 UTF-8 的 CSV；未导入任何数据）")
    return InputError(f"{path}：无法按 {ENCODING_NAMES[encoding]} 编码读取（请保存为 UTF-8 的 CSV；未导入任何数据）")


def _read_xlsx(path: Path, by_header: dict[str, Column], sheet: str | None = None) -> tuple[list[list[Any]], str, dict[tuple[int, int], str]]:
    """Return the rows of the visible worksheet whose first (or second) row has a known header, how to name it, and its formulas.

    Offices often put an instructions sheet (填表说明) first; it is skipped. A workbook with
    several such sheets (a sheet a month) is refused, naming them, unless `sheet` names the one to read. Values are the ones
    Excel saved with the file; a formula cell without a saved value comes back as None, and the
    returned map (row index, column index) -> formula says which those are.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise InputError(f"{path}：无法读取：{os_reason(exc)}（未导入任何数据）") from exc
    except Exception as exc:  # openpyxl raises many types for a damaged file; their messages are English
        raise InputError(f"{path}：无法作为 XLSX 打开：文件已损坏，或不是 .xlsx 格式（旧版 .xls、改了扩展名的文件等），"
                         "请在 Excel 中另存为 .xlsx 或 CSV 后重试（未导入任何数据）") from exc
    try:
        # Hidden sheets are an office's own (last year's, a lookup list): the table is on a visible one.
        sheets = [one for one in book.worksheets if one.sheet_state == "visible"] or book.worksheets
        if sheet is not None:
            # A workbook of a sheet a month (一月, 二月, …) is imported sheet by sheet, without editing it (try-out).
            named = [one for one in book.worksheets if one.title == sheet] or \
                [one for one in book.worksheets if "".join(one.title.split()) == "".join(sheet.split())]
            if not named:
                raise InputError(f"--sheet：{path.name} 中没有名为「{sheet}」的表，表有：「{'」「'.join(one.title for one in book.worksheets)}」"
                                 "（未导入任何数据）")
            tables = named
        else:
            tables = [one for one in sheets if _headed(one, by_header)]
        if len(tables) > 1:
            # 一月, 二月, 三月: one was read and the others dropped without a word.
            raise InputError(f"{path.name}：有{len(tables)}张表带有列名（「{'」「'.join(one.title for one in tables)}」），"
                             f"一次只导入一张表：请加 --sheet 表名逐张导入（如 --sheet {''.join(tables[0].title.split())}），或把数据合并到一张表"
                             "（表名不作党组织；未导入任何数据）")
        chosen = tables[0] if tables else sheets[0]
        rows = _sheet_rows(chosen)
        title = chosen.title
        several = len(book.worksheets) > 1
        hidden_rows, hidden_columns = _hidden(chosen)
        hidden = [n for n in hidden_rows if n <= len(rows) and rows[n - 1]]
        # A hidden column the import reads, with a value under its header: 学时 hidden was imported, unseen (try-out).
        # The header is the row `stream_table` takes: blank rows and a title above it are passed over (reviews).
        top = _header_row(rows, by_header)
        head = rows[top] if rows else []
        filled = [c for c in hidden_columns if c <= len(head) and isinstance(head[c - 1], str)
                  and column_of(" ".join(head[c - 1].split()), by_header) is not None
                  and any(c <= len(row) and row[c - 1] not in (None, "") for row in rows[top + 1:])]
    finally:
        book.close()
    if filled:
        # By letter and header, as Excel shows neither of a hidden column (try-out).
        shown = "、".join(f"{_column_letters(c)}列（{' '.join(str(head[c - 1]).split())}）" for c in filled[:10]) \
            + (f"等{len(filled)}列" if len(filled) > 10 else "")
        raise InputError(f"{path.name}{f'「{title}」表' if several else ''}：第{shown}被隐藏。隐藏的列也会导入，"
                         "请在 Excel 中取消隐藏，核对这些列（不应导入的删去）后重新导入（未导入任何数据）")
    if hidden:
        # A filter (筛选) hides rows from the office's view, not from the file: they would be imported unseen,
        # and records are never deleted.
        shown = "、".join(map(str, hidden[:10])) + (f"等{len(hidden)}行" if len(hidden) > 10 else "行")
        raise InputError(f"{path.name}{f'「{title}」表' if several else ''}：第{shown}被隐藏（筛选或隐藏行）。隐藏的行也会导入，"
                         "请在 Excel 中清除筛选、取消隐藏，核对这些行（不应导入的删去）后重新导入（未导入任何数据）")
    formulas: dict[tuple[int, int], str] = {}
    if any(cell is None for row in rows for cell in row):
        raw = load_workbook(path, read_only=True, data_only=False)
        try:
            for r, row in enumerate(raw[title].iter_rows(values_only=True)):
                for c, cell in enumerate(row):
                    if isinstance(cell, str) and cell.startswith("=") and (r >= len(rows) or c >= len(rows[r]) or rows[r][c] is None):
                        formulas[(r, c)] = cell
        finally:
            raw.close()
    # The sheet is named where there is more than one to look in.
    return rows, f"{path.name}「{title}」表" if several else path.name, formulas


_ROW_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"
_COL_TAG = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}col"


def _hidden(sheet: Any) -> tuple[list[int], list[int]]:
    """Return the numbers of a read-only worksheet's hidden rows (hidden by hand or by a filter), and of its hidden columns (A is 1).

    openpyxl's read-only sheets do not keep row or column properties, so the sheet's XML is read
    once more for its <row hidden="1"> and <col hidden="1"> elements alone.
    """
    from xml.etree.ElementTree import iterparse

    hidden: list[int] = []
    columns: list[int] = []
    number = 0
    source = sheet._get_source()
    try:
        for _, element in iterparse(source):
            if element.tag == _ROW_TAG:
                number = int(element.get("r") or number + 1)
                if element.get("hidden") in ("1", "true"):
                    hidden.append(number)
                element.clear()
            elif element.tag == _COL_TAG and element.get("hidden") in ("1", "true"):
                first, last = int(element.get("min") or 0), int(element.get("max") or 0)
                # A range that runs to the sheet's last column (16384) hides the empty ones after a table.
                columns.extend(range(first, min(last, first + 1000) + 1))
    finally:
        source.close()
    return hidden, columns


def _column_letters(number: int) -> str:
    """Return a column's letters as Excel shows them (1 is A, 27 is AA)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# A title above a header: up to three rows of one to three cells each (`stream_table`); the header is then among the
# first four rows with a value.
TITLE_ROWS = 3
TITLE_CELLS = 3
HEADER_ROWS = TITLE_ROWS + 1


def _names_column(row: Sequence[Any], by_header: dict[str, Column]) -> bool:
    return any(isinstance(c, str) and c.strip() and column_of(" ".join(c.split()), by_header) is not None for c in row)


def _headed(sheet: Any, by_header: dict[str, Column]) -> bool:
    """Return whether one of a worksheet's first rows with a value (below a title of up to three) names a known column."""
    # Blank rows above a header are passed over (review); a title of two rows hid a sheet from the choice (review).
    rows = [row for row in sheet.iter_rows(max_row=20, values_only=True) if any(map(_filled, row))][:HEADER_ROWS]
    return any(_names_column(row, by_header) for row in rows)


def _header_row(rows: list[list[Any]], by_header: dict[str, Column]) -> int:
    """Return the index of a sheet's header row: the first of its first rows with a value that names a known column, else
    the first row with a value."""
    filled = [i for i, row in enumerate(rows) if any(map(_filled, row))]
    return next((i for i in filled[:HEADER_ROWS] if _names_column(rows[i], by_header)), filled[0] if filled else 0)


def _sheet_rows(sheet: Any) -> list[list[Any]]:
    """Return a worksheet's rows as lists, each blank one the same empty list, and none after the last row with a value.

    A sheet whose used range reached row 1,048,576 (one formatted cell at the bottom) held a
    million rows of empty cells: 1.09 GB for a file of 5 KB.
    """
    rows: list[list[Any]] = []
    blank: list[Any] = []
    for row in sheet.iter_rows(values_only=True):
        rows.append(blank if all(cell is None for cell in row) else list(row))
    while rows and rows[-1] is blank:
        rows.pop()
    return rows


def written_day(text: str) -> tuple[bool, date | None]:
    """Return whether `text` has one of the written forms of a date (`_DATE_FORMS`), and the day it names (None: no real day)."""
    for pattern in _DATE_FORMS:
        if m := pattern.match(text):
            try:
                return True, date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return True, None
    return False, None


def parse_date(value: Any, year: int | None = None) -> date | None:
    """Return a date from an XLSX date or the common written forms (2026-11-05, 2026/11/5, 2026年11月5日, 2026/11/5 0:00).

    With `year` (the one a sheet's title names: `title_year`), a day without its year (9月10日) is of that year.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and _EXCEL_SERIALS[0] <= value <= _EXCEL_SERIALS[1]:
        from openpyxl.utils.datetime import from_excel

        return from_excel(value).date()  # an XLSX cell holding a date as Excel's day number
    text = str(value).strip()
    if not text.isascii():
        # Full-width ２０２６－１１－０５, as typed with a Chinese input method, and 2026 年 11 月 5 日 with spaces
        # (the one before a time, 2026/11/5　0:00 with an ideographic space, stays).
        text = _SPACED.sub(r"\1", unicodedata.normalize("NFKC", text)).strip()
    dated, day = written_day(text)
    if not dated and (m := _DAY_THEN_TIME.match(text)) and (when := _WHEN.fullmatch(text[m.end():])):
        # The time of day or the weekday after it, as meeting sheets write them (2026年10月8日上午, 2026.10.13下午3点,
        # 2026年10月14日（星期三）): each was 不是日期, where 2026-10-09 14:30 was taken (clerk's try-out). Days (至16日) and
        # loose digits are no time (review).
        dated, day = written_day(m.group(1))
        if day is not None and when.group(1) and min("一二三四五六日天".index(when.group(1)), 6) != day.weekday():
            weekday = "一二三四五六日"[day.weekday()]
            raise CellError(f"{day.isoformat()} 是星期{weekday}，与所写的星期{when.group(1)}不符：请核对日期")
    if dated:
        if day is None:
            raise CellError("不是有效日期")
        return day
    m = _MONTH_ONLY.match(text) if isinstance(value, str) else None     # a number 2001.10 is 2001.1: no month to name
    if m and 1 <= int(m.group(2)) <= 12:
        raise CellError(f"只有年月，没有日（请按档案写完整日期，如 {m.group(1)}-{int(m.group(2)):02d}-01）")
    m = _NO_YEAR.fullmatch(text)
    if m and 1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31:
        if year is not None:
            try:
                return date(year, int(m.group(1)), int(m.group(2)))
            except ValueError:
                raise CellError(f"不是有效日期（按标题取 {year} 年）") from None
        # 12月5日 as said aloud: the year is not ours to guess (try-out), unless the sheet's title says it.
        raise CellError(f"没有年份（应写作 2026-{int(m.group(1)):02d}-{int(m.group(2)):02d} 这样的完整日期）")
    raise CellError("不是日期（应写作 2026-11-05）")


# A year in a title (4 digits not part of a longer number), and whether 年 follows it: 2026年, 2026年度.
_TITLE_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)(\s*年)?")


def title_year(titles: Iterable[str]) -> tuple[int, str] | None:
    """Return the year the title rows above a table name, and the title naming it; None unless they name one year alone
    (2026年党费收缴台账, 青石镇2026年9月组织生活记录), not two (2025—2026年度)."""
    found = [(int(m.group(1)), bool(m.group(2)), text) for text in titles for m in _TITLE_YEAR.finditer(text)]
    if len({year for year, _, _ in found}) != 1 or not any(said for _, said, _ in found):
        return None
    return next((year, text) for year, said, text in found if said)


def parse_birth(value: Any) -> date | None:
    """Return a birth date as `parse_date` does, or from a year and month written as text (1965.03, 1965年3月: 出生年月, as
    rosters keep it), as the month's first day: enough for the member's age (出生年月 1965.03 was refused, try-out)."""
    try:
        return parse_date(value)
    except CellError:
        m = _MONTH_ONLY.match(unicodedata.normalize("NFKC", value).strip()) if isinstance(value, str) else None
        if m and 1 <= int(m.group(2)) <= 12:
            return date(int(m.group(1)), int(m.group(2)), 1)
        raise


def parse_bool(value: Any) -> bool | None:
    """Return True or False from 是/否 (and y/n, true/false, 1/0), None for blank."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise CellError("应为「是」或「否」")


_WHOLE_DECIMAL = re.compile(r"\d+\.0+")
_NUMBER = re.compile(r"\d+(\.\d+)?")
HOUR_UNITS = ("个小时", "小时", "学时", "课时", "h", "H")       # longest first: 「不带「个小时」」, not 「不带「小时」」
PEOPLE_UNITS = "人名"


def parse_count(value: Any) -> int | None:
    """Return a non-negative whole number, None for blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if _WHOLE_DECIMAL.fullmatch(text):
        text = text.split(".")[0]       # 8.0, as a spreadsheet saved as CSV may write a whole number (a cell of 8.0 is taken)
    try:
        number = int(text)
    except ValueError:
        unit = text[-1:] if text[:-1].strip().isdigit() and text[-1:] in "人名个" else ""
        raise CellError(f"不是整数（只填数字，不带「{unit}」）" if unit else "不是整数") from None
    if number < 0:
        raise CellError("不能为负数")
    return number


def parse_people(value: Any) -> int | None:
    """Return a count of people (应到, 实到): `parse_count`, the unit after it (8人, 6 名) dropped.

    8人 was refused with 「只填数字，不带「人」」 although it can mean nothing else, and a sheet that writes
    its counts so had every row to mend (clerk's try-out). Only here: an organization's 编号 of 12个 is no id (review).
    """
    try:
        return parse_count(value)
    except CellError:
        text = str(value).strip()
        if text[-1:] not in PEOPLE_UNITS or not text[:-1].strip():
            raise
        return parse_count(text[:-1].strip())       # the plain number's path, a province's every row, is as it was


# One of the counts a turnout cell (参会情况) gives, labelled: 应到20人, 实到：17名.
_TURNOUT_COUNT = re.compile(r"(应到|实到)(?:人数)?\s*[:：]?\s*(\d+)\s*[人名]?")
# Two counts alone, in the order the header names them (应到/实到): 20/17, 20人/17人.
_TURNOUT_PAIR = re.compile(r"(\d+)\s*[人名]?\s*[/／、,，]\s*(\d+)\s*[人名]?")


def turnout_order(header: str) -> tuple[str, str] | None:
    """Return the columns the two counts of a turnout cell stand for when they are not labelled, in the order its
    `header` names them (应到/实到: expected, present), or None when it names no order (参会情况)."""
    key = "".join(unicodedata.normalize("NFKC", header).split())
    if "应到" in key and "实到" in key:
        return ("expected", "present") if key.index("应到") < key.index("实到") else ("present", "expected")
    return None


def parse_turnout(value: Any, order: tuple[str, str] | None) -> dict[str, int] | None:
    """Return the 应到 and 实到 of one cell that gives both (应到20人，实到17人; 20/17 under a header that names the order,
    `turnout_order`) as {"expected": …, "present": …}, None for blank.

    Offices keep the two counts in one cell under 参会情况; it was refused as an unknown column (migration try-out).
    """
    if value is None or not str(value).strip():
        return None
    if isinstance(value, (date, datetime)):
        # 7/6 typed in a cell Excel formats as General becomes 7月6日.
        raise CellError("Excel 把这一格当成了日期：请把这一列设为“文本”后重新输入，或写成「应到7人，实到6人」")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    found = {"expected" if label == "应到" else "present": int(count) for label, count in _TURNOUT_COUNT.findall(text)}
    if len(found) == 2:
        return found
    pair = _TURNOUT_PAIR.fullmatch(text)
    if pair and order is not None and not found:
        return {order[0]: int(pair.group(1)), order[1]: int(pair.group(2))}
    raise CellError("读不出应到、实到人数：请写成「应到20人，实到17人」，或分成「应到」「实到」两列")


def parse_study_hours(value: Any) -> float | None:
    """Return 学时 (`parse_hours`), the unit 学时 after the number (1.5学时) dropped: 小时 and 课时 may be other lengths (45
    minutes a 学时 in some rules), and are refused as before (review)."""
    try:
        return parse_hours(value)
    except CellError:
        text = str(value).strip()
        if not (text.endswith("学时") and _NUMBER.fullmatch(text[:-2].strip())):
            raise
        return parse_hours(text[:-2].strip())


def parse_hours(value: Any) -> float | None:
    """Return a non-negative, finite number of hours, None for blank."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        unit = next((u for u in HOUR_UNITS if text.endswith(u) and _NUMBER.fullmatch(text[:-len(u)].strip())), "")
        raise CellError(f"不是数字（只填数字，不带「{unit}」）" if unit else "不是数字") from None
    if not math.isfinite(number):
        raise CellError("不是有限的数字")       # float() reads inf, nan and 1e999
    if number < 0:
        raise CellError("不能为负数")
    return number


def sharing() -> Callable[[Any], Any]:
    """Return a function that gives back, for a value, the first equal value it was given: repeated cells held once.

    A province's file repeats its groups, months, amounts and dates millions of times; rows
    kept until they are written hold one object for each distinct value instead.
    """
    seen: dict[Any, Any] = {}

    def share(value: Any) -> Any:
        return seen.setdefault(value, value)

    return share


def parse_text(value: Any) -> str | None:
    """Return the cell as text with stray spaces removed, None for blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return text or None


_NAME_SEPARATORS = re.compile(r"[、,，;；\s]+")


def split_names(text: str) -> list[str]:
    """Return the names in a list typed with 、 , ; or spaces (Chinese or ASCII punctuation), in order, once each."""
    if text:
        # An import splits a list on most of its rows: most are names and 、 alone, found in a few scans of
        # the text (half the time of a regex search; whitespace other than " " is never printable).
        names = text.split("、")
        if ("" not in names and text.isprintable() and " " not in text and "，" not in text and "," not in text
                and "；" not in text and ";" not in text and len(set(names)) == len(names)):
            return names
    return list(dict.fromkeys(n for n in _NAME_SEPARATORS.split(text) if n))
