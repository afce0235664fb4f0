"""Reading CSV and XLSX files into rows, and parsing the values users type into them."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from compliance.errors import InputError

# Excel day numbers from 1954 to 2119: wide enough for any meeting or birth date here.
_EXCEL_SERIALS = (20000, 80000)

TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "√", "✓", "已签", "已签字"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", "×", "✗", "未签", "未签字"}
_DATE_FORMS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


@dataclass(frozen=True)
class Column:
    """An import column: its Chinese header, English name, whether it must be present, its longest value."""

    chinese: str
    english: str
    required: bool = False
    max_length: int = 100


@dataclass
class Table:
    """The rows of one file, keyed by English column name, with the header users wrote."""

    path: Path
    headers: dict[str, str]          # English name -> header as written in the file
    rows: list[tuple[int, dict[str, Any]]]  # (spreadsheet row number, values)


class CellError(InputError):
    """A value that cannot be read; the import adds the file, row and column."""


def read_table(path: Path, columns: list[Column]) -> Table:
    """Return the rows of a CSV (UTF-8 with or without BOM, or GB18030) or XLSX file.

    Headers may be Chinese or English; unknown headers and missing required ones are errors.
    Blank cells become None; rows that are entirely blank are skipped.
    """
    if not path.is_file():
        raise InputError(f"{path}：文件不存在")
    by_header = {c.chinese: c for c in columns} | {c.english: c for c in columns}
    formulas: dict[tuple[int, int], str] = {}
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        raw_rows, where, formulas = _read_xlsx(path, by_header)
    else:
        raw_rows, where = _read_csv(path), path.name
    if not raw_rows:
        raise InputError(f"{where}：文件为空，没有表头（未导入任何数据）")
    headers: dict[str, str] = {}
    positions: list[tuple[int, str]] = []
    unknown, repeated = [], []
    for i, cell in enumerate(raw_rows[0]):
        text = str(cell).strip() if cell is not None else ""
        if not text:
            continue
        column = by_header.get(text) or by_header.get(text.lower())
        if column is None:
            unknown.append(text)
        elif column.english in headers:
            repeated.append(text)
        else:
            headers[column.english] = text
            positions.append((i, column.english))
    if unknown:
        known = "、".join(c.chinese for c in columns)
        raise InputError(f"{where} 第1行：未知的列「{'」「'.join(unknown)}」，可用的列：{known}（未导入任何数据）")
    if repeated:
        raise InputError(f"{where} 第1行：列「{'」「'.join(repeated)}」重复（未导入任何数据）")
    missing = [c.chinese for c in columns if c.required and c.english not in headers]
    if missing:
        raise InputError(f"{where} 第1行：缺少必需的列「{'」「'.join(missing)}」（未导入任何数据）")
    rows = []
    for number, raw in enumerate(raw_rows[1:], start=2):
        values = {}
        for i, name in positions:
            cell = raw[i] if i < len(raw) else None
            if cell is None and (number - 1, i) in formulas:
                raise InputError(f"{where} 第{number}行「{headers[name]}」列：值「{formulas[(number - 1, i)]}」：是公式且文件中没有保存计算结果，"
                                 "请在 Excel 中打开后保存，或把公式粘贴为数值（未导入任何数据）")
            if isinstance(cell, str):
                cell = cell.strip() or None
                longest = next(c.max_length for c in columns if c.english == name)
                if cell and "\x00" in cell:
                    raise InputError(f"{where} 第{number}行「{headers[name]}」列：含有空字符（NUL），文件可能已损坏（未导入任何数据）")
                if cell and len(cell) > longest:
                    raise InputError(f"{where} 第{number}行「{headers[name]}」列：值「{cell[:20]}…」超过 {longest} 个字（未导入任何数据）")
            values[name] = cell
        if any(v is not None for v in values.values()):
            rows.append((number, values))
    return Table(path, headers, rows)


def _read_csv(path: Path) -> list[list[Any]]:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{path}: 无法识别文件编码（请保存为 UTF-8 的 CSV）")
    return [row for row in csv.reader(io.StringIO(text, newline=""))]


def _read_xlsx(path: Path, by_header: dict[str, Column]) -> tuple[list[list[Any]], str, dict[tuple[int, int], str]]:
    """Return the rows of the first worksheet whose first row has a known header, its name, and its formulas.

    Offices often put an instructions sheet (填表说明) first; it is skipped. Values are the ones
    Excel saved with the file; a formula cell without a saved value comes back as None, and the
    returned map (row index, column index) -> formula says which those are.
    """
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError(f"{path}：无法作为 XLSX 打开：{exc}") from exc
    try:
        sheets = book.worksheets
        chosen = sheets[0]
        rows = [list(row) for row in chosen.iter_rows(values_only=True)]
        for sheet in sheets:
            candidate = [list(row) for row in sheet.iter_rows(values_only=True)]
            if candidate and any(isinstance(c, str) and c.strip() in by_header for c in candidate[0]):
                chosen, rows = sheet, candidate
                break
        title = chosen.title
    finally:
        book.close()
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
    return rows, f"{path.name}「{title}」表", formulas


def parse_date(value: Any) -> date | None:
    """Return a date from an XLSX date or the common written forms (2026-11-05, 2026/11/5, 2026年11月5日)."""
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
    for pattern in _DATE_FORMS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise CellError("不是有效日期") from None
    raise CellError("不是日期（应写作 2026-11-05）")


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


def parse_count(value: Any) -> int | None:
    """Return a non-negative whole number, None for blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CellError("不是整数") from None
    if number < 0:
        raise CellError("不能为负数")
    return number


def parse_hours(value: Any) -> float | None:
    """Return a non-negative number of hours, None for blank."""
    if value is None:
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        raise CellError("不是数字") from None
    if number < 0 or number != number:
        raise CellError("不能为负数")
    return number


def parse_text(value: Any) -> str | None:
    """Return the cell as text with stray spaces removed, None for blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = " ".join(str(value).split())
    return text or None


def split_names(text: str) -> list[str]:
    """Return the names in a list typed with 、 , ; or spaces (Chinese or ASCII punctuation), in order, once each."""
    return list(dict.fromkeys(n for n in re.split(r"[、,，;；\s]+", text) if n))
