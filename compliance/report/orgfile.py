"""An organization file as `org import` reads it, written from the tree kept: to edit in Excel and import again.

Each organization's own values are written, not those it inherits (a branch's 执行规定 left
blank is its superior's), its 上级 as a path, and its 编号 (id), so that the file imported again
changes nothing, a cell changed in it changes only that value, and a row given another 上级 or
名称 is refused rather than taken for a new organization.
"""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

from compliance.errors import InputError, os_reason
from compliance.evaluate import path_order
from compliance.importing import ORG_COLUMNS
from compliance.orgs import OrgIndex, OrgRow

SUFFIXES = (".csv", ".xlsx")
HEADERS = [c.chinese for c in ORG_COLUMNS]
VACANT = "空缺"      # what the import reads as a declared vacancy (`importing.VACANT_WORDS`)
WIDTHS = {"名称": 24, "上级": 40, "执行规定": 14, "成立日期": 12, "启用日期": 12, "撤销日期": 12}


def org_file_rows(index: OrgIndex, orgs: Iterable[OrgRow]) -> list[list[Any]]:
    """Return one row of `HEADERS` an organization, superiors first: its own values, dates as dates, blank for none.

    `index` holds the whole tree: a 上级 is written as the import will find it in it.
    """
    def flag(value: bool | None) -> str | None:
        return None if value is None else "是" if value else "否"

    def parent(o: OrgRow) -> str | None:
        if o.parent_id is None:
            return None
        above = index.by_id[o.parent_id]
        # The import finds a code before a path: a branch coded 青石镇党委 took the township's place (review).
        for ref in (above.path, above.code):
            if ref and index.find(ref) is above:
                return ref
        raise InputError(f"「{o.path}」的上级「{above.path}」的路径又是另一党组织的代码，导入时无法指明，未写出："
                         f"请先给「{above.path}」填写代码，或改正另一党组织的代码")

    own = {
        "name": lambda o: o.name,
        "parent": parent,
        "type": lambda o: o.type, "code": lambda o: o.code, "sector": lambda o: o.sector, "catalog": lambda o: o.catalog,
        "founded": lambda o: o.founded, "tracked_from": lambda o: o.tracked_from, "dissolved": lambda o: o.dissolved,
        "secretary": lambda o: VACANT if o.secretary_vacant else o.secretary,
        "has_committee": lambda o: flag(o.has_committee), "id": lambda o: o.id,
    }
    getters = [own[c.english] for c in ORG_COLUMNS]
    # A path sorts after its superior's: the file reads from the top down, as an office writes one.
    return [[get(o) for get in getters] for o in sorted(orgs, key=lambda o: path_order(o.path))]


def write_org_file(rows: list[list[Any]], path: Path) -> None:
    """Write `rows` under `HEADERS` to `path`, CSV (UTF-8 with a BOM, for Excel) or XLSX by its suffix.

    The file appears whole or not at all: it is written beside the target and then renamed over it.
    """
    suffix = path.suffix.lower()
    path = Path(os.path.realpath(path)) if path.is_symlink() else path     # the file a link names is written, the link kept
    if path.is_dir():
        raise InputError(f"{path}：是文件夹，请写明文件名，如 {path / ('党组织' + SUFFIXES[0])}（未写出）")
    if suffix not in SUFFIXES:
        raise InputError(f"{path}：文件名应以 .csv 或 .xlsx 结尾（未写出）")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"{path}：文件夹「{folder}」不存在（未写出）")
    try:
        handle, temp = tempfile.mkstemp(prefix=".党组织-", suffix=suffix, dir=folder)
    except OSError as exc:
        raise InputError(f"{path}：无法写入：{os_reason(exc)}（未写出）") from exc
    try:
        if suffix == ".csv":
            with os.fdopen(handle, "w", encoding="utf-8-sig", newline="") as out:
                writer = csv.writer(out, lineterminator="\r\n")
                writer.writerow(HEADERS)
                writer.writerows([["" if v is None else v.isoformat() if isinstance(v, date) else v for v in row] for row in rows])
                out.flush()
                os.fsync(out.fileno())
        else:
            os.close(handle)
            _write_xlsx(rows, Path(temp))
            with open(temp, "rb") as written:
                os.fsync(written.fileno())
        try:
            mode = path.stat().st_mode & 0o777          # a file written over keeps its mode
        except FileNotFoundError:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask                       # an ordinary new file, not the temporary file's owner-only one
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise InputError(f"{path}：无法写入：{os_reason(exc)}（未写出）") from exc
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def excel_may_change(rows: list[list[Any]]) -> bool:
    """Return whether Excel, opening the rows as CSV, would change some: a code with a leading zero or of 12 digits or more
    (0012 read as 12, 1.23E+17), or text it reads as a formula (=, +, -, @ first)."""
    code = HEADERS.index("代码")
    for row in rows:
        value = row[code]
        if value and value.isdigit() and (value[0] == "0" or len(value) >= 12):
            return True
        if any(isinstance(v, str) and v[:1] in ("=", "+", "-", "@") for v in row):
            return True
    return False


def _write_xlsx(rows: list[list[Any]], path: Path) -> None:
    import xlsxwriter
    from xlsxwriter.exceptions import FileCreateError

    # Text stays text: a name is never read as a formula or a link.
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False})
    sheet = book.add_worksheet("党组织")
    bold, day = book.add_format({"bold": True}), book.add_format({"num_format": "yyyy-mm-dd"})
    for column, heading in enumerate(HEADERS):
        sheet.set_column(column, column, WIDTHS.get(heading, 10))
        sheet.write_string(0, column, heading, bold)
    for number, row in enumerate(rows, start=1):
        for column, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(number, column, datetime(value.year, value.month, value.day), day)
            elif isinstance(value, int):
                sheet.write_number(number, column, value)
            elif value is not None:
                sheet.write_string(number, column, value)
    sheet.freeze_panes(1, 0)
    try:
        book.close()
    except FileCreateError as exc:
        raise exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc)) from exc
