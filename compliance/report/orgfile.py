"""An organization file as `org import` reads it, written from the tree kept: to edit in Excel and import again.

Each organization's own values are written, not those it inherits (a branch's 执行规定 left
blank is its superior's), and its 上级 as a path, so that the file imported again changes nothing
and a cell changed in it changes only that value.
"""

from __future__ import annotations

import csv
import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable

from compliance.errors import InputError, os_reason
from compliance.importing import ORG_COLUMNS
from compliance.orgs import OrgIndex, OrgRow

SUFFIXES = (".csv", ".xlsx")
HEADERS = [c.chinese for c in ORG_COLUMNS]
VACANT = "空缺"      # what the import reads as a declared vacancy (`importing.VACANT_WORDS`)
WIDTHS = {"名称": 24, "上级": 40, "执行规定": 14, "成立日期": 12, "启用日期": 12, "撤销日期": 12}


def org_file_rows(index: OrgIndex, orgs: Iterable[OrgRow]) -> list[list[Any]]:
    """Return one row of `HEADERS` an organization, superiors first: its own values, dates as dates, blank for none."""
    def flag(value: bool | None) -> str | None:
        return None if value is None else "是" if value else "否"

    own = {
        "name": lambda o: o.name,
        "parent": lambda o: index.by_id[o.parent_id].path if o.parent_id is not None else None,
        "type": lambda o: o.type, "code": lambda o: o.code, "sector": lambda o: o.sector, "catalog": lambda o: o.catalog,
        "founded": lambda o: o.founded, "tracked_from": lambda o: o.tracked_from, "dissolved": lambda o: o.dissolved,
        "secretary": lambda o: VACANT if o.secretary_vacant else o.secretary,
        "has_committee": lambda o: flag(o.has_committee),
    }
    getters = [own[c.english] for c in ORG_COLUMNS]
    # A path sorts after its superior's: the file reads from the top down, as an office writes one.
    return [[get(o) for get in getters] for o in sorted(orgs, key=lambda o: o.path)]


def write_org_file(rows: list[list[Any]], path: Path) -> None:
    """Write `rows` under `HEADERS` to `path`, CSV (UTF-8 with a BOM, for Excel) or XLSX by its suffix.

    The file appears whole or not at all: it is written beside the target and then renamed over it.
    """
    suffix = path.suffix.lower()
    if path.is_dir():
        raise InputError(f"{path}：是文件夹，请写明文件名，如 {path / ('党组织' + SUFFIXES[0])}（未写出）")
    if suffix not in SUFFIXES:
        raise InputError(f"{path}：文件名应以 .csv 或 .xlsx 结尾（未写出）")
    folder = path.parent if str(path.parent) else Path(".")
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
        else:
            os.close(handle)
            _write_xlsx(rows, Path(temp))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temp, 0o666 & ~mask)       # as an ordinary new file, not the temporary file's owner-only mode
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise InputError(f"{path}：无法写入：{os_reason(exc)}（未写出）") from exc
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


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
            elif value is not None:
                sheet.write_string(number, column, value)
    sheet.freeze_panes(1, 0)
    try:
        book.close()
    except FileCreateError as exc:
        raise exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else OSError(str(exc)) from exc
