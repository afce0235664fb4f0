"""Malformed input through the real command (`python -m compliance`): a correct import or one line, nothing half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from compliance.store import TZ
from tests.conftest import TOWN_ORGS, write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COMPLIANCE_DB", "COMPLIANCE_USER")}
    return subprocess.run([sys.executable, "-m", "compliance", "--db", str(db), *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad")
    path = folder / "t.db"
    assert run(path, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(path, "org", "import", str(write_csv(folder / "o.csv", TOWN_ORGS))).returncode == 0
    return path


def records(db: Path) -> int:
    out = run(db, "record", "list", "--org", "ZZ1", "--all", "--format", "csv").stdout
    return max(len(out.strip().splitlines()) - 1, 0)


def one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0, result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("错误："), result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def _xlsx(path: Path, rows: list[list]) -> Path:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("name, content, words", [
    ("empty.csv", b"", ["empty.csv", "文件为空"]),
    ("negative.csv", f"党组织,类型,日期,应到\n{BRANCH},党员大会,2026-03-02,-3\n".encode(), ["第2行「应到」列", "-3", "负数"]),
    ("badday.csv", f"党组织,类型,日期\n{BRANCH},党员大会,2026-02-30\n".encode(), ["第2行「日期」列", "2026-02-30"]),
    ("latin1.csv", "党组织,类型,日期\n".encode() + b"\xff\xfe\xfa\n", ["latin1.csv 第2行「党组织」列", "FF FE FA", "编码不允许的字节"]),
    # A file under 1 MB in two encodings was refused without naming where.
    ("mixed.csv", f"党组织,类型,日期,主题\n{BRANCH},党员大会,2026-03-02,学习\n".encode()
     + f"{BRANCH},党课,2026-03-03,党章\n".encode("gbk"), ["mixed.csv 第3行「党组织」列", "UTF-8 编码不允许的字节"]),
    # A UTF-8 row in a GBK file read as other characters (瀛︿範 for 学习), and was imported so.
    ("mixed_gbk.csv", f"党组织,类型,日期,主题\n{BRANCH},党员大会,2026-03-02,学习党章\n".encode("gbk")
     + "ZZ1,主题党日,2026-03-05,学习\n".encode(), ["mixed_gbk.csv 第3行「类型」列", "值「主题党日」是 UTF-8 编码", "GB18030（GBK）"]),
    # A quote left open once took in the rest of the file as one topic, and the next row with it.
    ("unclosed.csv", f"党组织,类型,日期,主题,书记签字\n{BRANCH},支委会,2026-08-03,\"未闭合,是\n{BRANCH},支委会,2026-08-04,z,是\n".encode(),
     ["unclosed.csv 第2行「主题」列", "未闭合", "引号不成对"]),
    ("after_quote.csv", f"党组织,类型,日期,主题\n{BRANCH},支委会,2026-08-03,z\n{BRANCH},支委会,2026-08-04,\"学习\"党章\n".encode(),
     ["after_quote.csv 第3行「主题」列", "学习", "引号不成对"]),
    # A value in a column without a header (an unquoted comma in a topic) was dropped.
    ("extra.csv", f"党组织,类型,日期,主题\n{BRANCH},支委会,2026-08-03,学习,贯彻\n".encode(), ["extra.csv 第2行第5列", "贯彻", "没有表头"]),
    # One with the extra cell blank shifted the cells after the comma, and its errors named only the shifted cells (try-out).
    ("shifted.csv", f"党组织,类型,日期,主题,记录人,书记签字,记录人签字\n{BRANCH},支委会,2026-08-03,学习,贯彻,陶英,是,\n"
                    f"{BRANCH},支委会,2026-08-04,学习,陶英,是,是\n".encode(),
     ["shifted.csv 第2行「书记签字」列", "值「陶英」", "；这一行比表头多 1 列：值中多半有未加引号的英文逗号，使其后各列错位，"
      "可把含逗号的值放进英文双引号，或改用中文逗号（未导入任何数据）"]),
    ("hole.csv", f"党组织,,类型,日期\n{BRANCH},备注,支委会,2026-08-03\n".encode(), ["hole.csv 第2行第2列", "备注", "没有表头"]),
    ("typo.csv", f"党组织,类形,日期\n{BRANCH},党员大会,2026-03-02\n".encode(), ["未知的列「类形」"]),
    # A header mistyped in every cell, its rows few enough to be taken for a title's: told as the header it is (review).
    ("typos.csv", f"名字,单位\n{BRANCH},x\n".encode(), ["typos.csv 第1行：未知的列「名字」「单位」，可用的列：党组织、类型、日期"]),
    ("typos-long.csv", f"名字,单位\n{BRANCH},x\n{BRANCH},y\n{BRANCH},z\n{BRANCH},w\n".encode(), ["typos-long.csv 第1行：未知的列「名字」「单位」"]),
    # 日期 and 时间 both: 时间 alone was named as repeated (review).
    ("twice.csv", f"党组织,日期,类型,时间\n{BRANCH},2026-03-02,党员大会,9:00\n".encode(), ["twice.csv 第1行：列「时间」与「日期」都是日期，重复"]),
    # A title row above the header was named as an unknown column, with the list of known ones; it is passed over now, and
    # the row under it must be the header.
    ("title.csv", f"青石镇2026年11月组织生活记录表,,\n{BRANCH},党员大会,2026-03-02\n".encode(),
     ["title.csv 第1行：「青石镇2026年11月组织生活记录表」不是列名，像是表头上方的标题，其下却没有列名", "党组织、类型、日期"]),
    # An infinite count of hours was once taken, then left out of a member's yearly sum by one path and counted by another.
    ("infinite.csv", f"党组织,类型,日期,学时\n{BRANCH},主题党日,2026-03-02,1e999\n".encode(), ["第2行「学时」列", "1e999", "有限"]),
    ("inf.csv", f"党组织,类型,日期,学时\n{BRANCH},主题党日,2026-03-02,inf\n".encode(), ["第2行「学时」列", "inf", "有限"]),
    ("nan.csv", f"党组织,类型,日期,学时\n{BRANCH},主题党日,2026-03-02,nan\n".encode(), ["第2行「学时」列", "nan", "有限"]),
    # Nor any bound: a typo (5000 for 5) met a member's year of 32 学时 with one meeting (try-out).
    ("hours.csv", f"党组织,类型,日期,学时\n{BRANCH},主题党日,2026-03-02,4\n{BRANCH},主题党日,2026-04-02,5000\n".encode(),
     ["hours.csv 第3行「学时」列", "5000", "一次主题党日的学时不能超过 24；多日的培训请登记为「集中学习培训」"]),
    # A mistyped year before the Party was founded was taken, and the meeting counted for nothing.
    ("old.csv", f"党组织,类型,日期\n{BRANCH},支委会,2026-08-03\n{BRANCH},支委会,1025-08-04\n".encode(),
     ["old.csv 第3行「日期」列", "1025-08-04", "早于中国共产党成立（1921-07-01）"]),
    # Files an office saves that are not CSV were told of bytes their encoding does not allow (hex B1, FF FE), or of a
    # title row (a tab-separated header), and to mend the wrong thing (try-out).
    ("book.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), ["book.xls：是旧版 Excel（.xls）或 WPS 表格（.et）文件，不是 CSV", "另存为 .xlsx"]),
    ("renamed.et", b"PK\x03\x04" + bytes(500), ["renamed.et：是 .xlsx 等压缩格式的表格文件", "扩展名改为 .xlsx"]),
    ("unicode.csv", f"党组织,类型,日期\n{BRANCH},支委会,2026-08-03\n".encode("utf-16"), ["unicode.csv：是 UTF-16 编码的文本", "CSV UTF-8"]),
    ("tabs.csv", f"党组织\t类型\t日期\n{BRANCH}\t支委会\t2026-08-03\n".encode(), ["tabs.csv 第1行：列之间用的是制表符", "CSV UTF-8"]),
    # An organization not found was only 找不到该党组织: not the one meant, a character or a space away (try-out).
    ("near.csv", "党组织,类型,日期\n马屯村支部,支委会,2026-08-03\n".encode(), ["第2行「党组织」列", "找不到该党组织（是否是「图河镇党委/马屯村党支部」？）"]),
    ("spaced.csv", "党组织,类型,日期\n马屯村　党支部,支委会,2026-08-03\n".encode(), ["找不到该党组织（是否是「图河镇党委/马屯村党支部」？）"]),
    # An office's sheet as it is: merged 党组织 cells, a totals row, a count in words (try-out; 5人 is taken).
    ("merged.csv", f"党组织,类型,日期\n{BRANCH},支委会,2026-08-03\n,支委会,2026-09-03\n".encode(),
     ["merged.csv 第3行「党组织」列", "党组织不能为空（如是合并单元格，请取消合并，并在每一行填写党组织）"]),
    ("persons.csv", f"党组织,类型,日期,应到\n{BRANCH},支委会,2026-08-03,五人\n".encode(), ["第2行「应到」列：值「五人」", "不是整数"]),
    # A blank line above the header: the rows after it keep their numbers in the file (try-out).
    ("blank-first.csv", f"\n党组织,类型,日期,应到\n{BRANCH},支委会,2026-08-03,五人\n".encode(), ["blank-first.csv 第3行「应到」列：值「五人」"]),
    ("blank-header.csv", f",,\n党组织,类型\n{BRANCH},支委会\n".encode(), ["blank-header.csv 第2行：缺少必需的列「日期」"]),
    # 学时 in hours, which may be another length (2学时 is taken), was a bare 不是数字, where a count with 人 was told why (try-out).
    ("hours.csv", f"党组织,类型,日期,学时\n{BRANCH},党课,2026-08-03,2小时\n".encode(), ["第2行「学时」列：值「2小时」", "不是数字（只填数字，不带「小时」）"]),
])
def test_bad_files_end_in_one_line_and_write_nothing(db: Path, tmp_path: Path, name: str, content: bytes, words: list[str]):
    before = records(db)
    path = tmp_path / name
    path.write_bytes(content)
    one_line_error(run(db, "record", "import", str(path)), *words)
    assert records(db) == before


def test_a_blank_organization_type_is_told_as_blank(db: Path, tmp_path: Path):
    """A blank 类型 was told only what it should be, as if a value had been given (try-out)."""
    path = write_csv(tmp_path / "o.csv", "名称,上级,类型\n新村党支部,图河镇党委,\n")
    one_line_error(run(db, "org", "import", str(path)), "o.csv 第2行「类型」列：类型不能为空，类型应为 县委、")


@pytest.mark.parametrize("row, words", [
    ("新村党支部,图河镇党委,党支部,1899-05-01,", ["第2行「成立日期」列", "1899-05-01", "早于中国共产党成立"]),
    ("新村党支部,图河镇党委,党支部,2020-05-01,2019-01-01", ["第2行「撤销日期」列", "2019-01-01", "撤销日期早于成立日期（2020-05-01）"]),
])
def test_impossible_dates_of_an_organization_are_refused(db: Path, tmp_path: Path, row: str, words: list[str]):
    path = write_csv(tmp_path / "o.csv", "名称,上级,类型,成立日期,撤销日期\n" + row)
    one_line_error(run(db, "org", "import", str(path)), "o.csv", *words)
    listed = run(db, "org", "list", "--format", "csv")
    assert listed.returncode == 0 and "新村党支部" not in listed.stdout


def test_a_member_who_joined_before_the_party_was_founded_is_refused(db: Path, tmp_path: Path):
    path = write_csv(tmp_path / "m.csv", f"姓名,党组织,入党日期\n张三,{BRANCH},2001-07-01\n李四,{BRANCH},1902-07-01")
    one_line_error(run(db, "member", "import", str(path)), "m.csv 第3行「入党日期」列", "1902-07-01", "早于中国共产党成立")


def test_every_bad_row_of_a_file_is_named_on_a_line_of_its_own(db: Path, tmp_path: Path):
    before = records(db)
    path = write_csv(tmp_path / "r.csv", f"党组织,类型,日期,应到,实到\n{BRANCH},党员大会,2026-13-01,5,3\n{BRANCH},党员大会,2026-10-01,x,3")
    result = run(db, "record", "import", str(path))
    assert result.returncode == 2 and result.stderr.splitlines() == [
        "错误：r.csv 第2行「日期」列：值「2026-13-01」：不是有效日期（另有 1 处错误，未导入任何数据）",
        "  r.csv 第3行「应到」列：值「x」：不是整数"]
    assert records(db) == before


def test_a_value_beside_a_spreadsheets_table_is_named_not_dropped(db: Path, tmp_path: Path):
    before = records(db)
    path = _xlsx(tmp_path / "x.xlsx", [["党组织", "类型", "日期", None], [BRANCH, "党员大会", "2026-03-03", None],
                                       [BRANCH, "党员大会", "2026-03-04", "补开"]])
    one_line_error(run(db, "record", "import", str(path)), "第3行第4列", "补开", "没有表头")
    assert records(db) == before


def test_a_bad_value_in_a_workbook_names_the_sheet_it_is_on(db: Path, tmp_path: Path):
    """A row's problem named the file and row only: in a workbook with an instructions sheet first, not where to look."""
    before = records(db)
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["日期写作 2026-03-03"])
    sheet = book.create_sheet("三月记录")
    for row in (["党组织", "类型", "日期", "应到"], [BRANCH, "党员大会", "2026-03-03", 8], [BRANCH, "党员大会", "2026-03-04", "八"]):
        sheet.append(row)
    book.save(tmp_path / "w.xlsx")
    one_line_error(run(db, "record", "import", str(tmp_path / "w.xlsx")), "w.xlsx「三月记录」表 第3行「应到」列：值「八」")
    assert records(db) == before


def test_a_workbook_with_a_table_on_several_sheets_is_refused_and_a_hidden_sheet_is_passed_over(db: Path, tmp_path: Path):
    """A sheet a month (一月, 二月, 三月) imported 一月 alone; a hidden first sheet was read instead of the one in view (try-out)."""
    header = ["党组织", "类型", "日期"]
    before = records(db)
    book = Workbook()
    book.active.title = "一月"
    for title, day in (("一月", "2026-01-06"), ("二月", "2026-02-06"), ("三月", "2026-03-06")):
        sheet = book.active if title == "一月" else book.create_sheet(title)
        sheet.append(header)
        sheet.append([BRANCH, "支委会", day])
    # A title above the header hid a sheet from the choice too.
    titled = book.create_sheet("四月")
    titled.append(["朱庄村2026年4月会议记录"])
    titled.append(header)
    book.save(tmp_path / "months.xlsx")
    one_line_error(run(db, "record", "import", str(tmp_path / "months.xlsx")), "months.xlsx：有4张表带有列名（「一月」「二月」「三月」「四月」）",
                   "一次只导入一张表：请加 --sheet 表名逐张导入（如 --sheet 一月）")
    assert records(db) == before
    book = Workbook()
    book.active.title = "旧表"
    book.active.append(header)
    book.active.append([BRANCH, "支委会", "2025-01-06"])
    book.active.sheet_state = "hidden"
    shown = book.create_sheet("2026年")
    shown.append(header)
    shown.append([BRANCH, "支委会", "2026-04-07"])
    book.active = 1
    book.save(tmp_path / "hidden.xlsx")
    assert run(db, "record", "import", str(tmp_path / "hidden.xlsx")).returncode == 0
    listed = run(db, "record", "list", "--org", "ZZ1", "--all", "--format", "csv").stdout
    assert "2026-04-07" in listed and "2025-01-06" not in listed


def test_a_workbook_of_a_sheet_a_month_is_imported_sheet_by_sheet_with_its_name(db: Path, tmp_path: Path):
    """A workbook of a sheet a month was refused, to be merged, hidden sheet by sheet or saved as files (try-out): `--sheet`
    names the one to read, and its problems name the sheet."""
    before = records(db)
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["每月一张表"])
    for title, day in (("一月", "2026-01-07"), ("二 月", "2026-02-07"), ("三月", "2026-03-07")):
        sheet = book.create_sheet(title)
        sheet.append(["党组织", "类型", "日期", "应到"])
        sheet.append([BRANCH, "支委会", day, 5])
    book["三月"].append([BRANCH, "支委会", "2026-03-21", "五"])
    book.save(tmp_path / "months.xlsx")
    workbook = str(tmp_path / "months.xlsx")
    one_line_error(run(db, "record", "import", workbook, "--sheet", "四月"),
                   "--sheet：months.xlsx 中没有名为「四月」的表，表有：「填表说明」「一月」「二 月」「三月」（未导入任何数据）")
    one_line_error(run(db, "record", "import", workbook, "--sheet", "三月"), "months.xlsx「三月」表 第3行「应到」列：值「五」")
    assert records(db) == before
    assert run(db, "record", "import", workbook, "--sheet", "一月").returncode == 0
    assert run(db, "record", "import", workbook, "--sheet", "二月").returncode == 0       # its name as written, spaces aside
    listed = run(db, "record", "list", "--org", "ZZ1", "--all", "--format", "csv").stdout
    assert "2026-01-07" in listed and "2026-02-07" in listed and "2026-03-07" not in listed
    assert records(db) == before + 2
    # A sheet's name with a space is suggested without it, as it matches: pasted, the suggestion is one argument (review).
    spaced = Workbook()
    spaced.active.title = "1 月"
    for sheet in (spaced.active, spaced.create_sheet("2 月")):
        sheet.append(["党组织", "类型", "日期"])
        sheet.append([BRANCH, "支委会", "2026-01-09"])
    spaced.save(tmp_path / "spaced.xlsx")
    one_line_error(run(db, "record", "import", str(tmp_path / "spaced.xlsx")), "（如 --sheet 1月）")
    # A CSV file has no sheets to choose from.
    one_line_error(run(db, "member", "import", str(write_csv(tmp_path / "m.csv", "姓名,党组织\n张三,ZZ1\n")), "--sheet", "一月"),
                   "--sheet：m.csv 不是 XLSX 工作簿")


def test_a_name_typed_with_another_dot_for_its_interpunct_is_not_a_second_member(tmp_path: Path):
    """阿依古丽•买买提 beside 阿依古丽·买买提 made a second member (each owing dues, each counted as 应到); in an attendance list
    it was only 「…」不是…花名册上的党员 (try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(db, "org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))).returncode == 0
    roster = "姓名,党组织,类别\n阿依古丽·买买提,ZZ1,正式\n陶英,ZZ1,正式\n"
    assert run(db, "member", "import", str(write_csv(tmp_path / "m.csv", roster))).returncode == 0
    again = run(db, "member", "import", str(write_csv(tmp_path / "m2.csv", "姓名,党组织,类别\n阿依古丽•买买提,ZZ1,正式\n")))
    one_line_error(again, "m2.csv 第2行「姓名」列", "与花名册上的「阿依古丽·买买提」只差间隔号：如是同一人，请写作「阿依古丽·买买提」")
    listed = run(db, "member", "list", "--under", "ZZ1", "--format", "csv").stdout
    assert listed.count("买买提") == 1
    attended = write_csv(tmp_path / "r.csv", "党组织,类型,日期,参会人员\nZZ1,支委会,2026-08-03,阿依古丽・买买提、陶英\n")
    one_line_error(run(db, "record", "import", str(attended)), "「阿依古丽・买买提」不是", "（花名册上的写法：「阿依古丽・买买提」应为「阿依古丽·买买提」）")


def test_a_title_of_two_rows_hides_neither_a_sheet_from_the_choice_nor_a_hidden_column(db: Path, tmp_path: Path):
    """With a title of two rows above each sheet's header, 一月 was imported and 二月, 三月 dropped; a hidden 学时 column was
    imported unseen; a 填表说明 sheet first was taken for the table (review)."""
    before = records(db)
    book = Workbook()
    book.active.title = "一月"
    for title, day in (("一月", "2026-01-06"), ("二月", "2026-02-06"), ("三月", "2026-03-06")):
        sheet = book.active if title == "一月" else book.create_sheet(title)
        sheet.append([f"朱庄村{title}会议记录"])
        sheet.append(["填报单位：朱庄村党总支"])
        sheet.append(["党组织", "类型", "日期"])
        sheet.append([BRANCH, "支委会", day])
    book.save(tmp_path / "months.xlsx")
    one_line_error(run(db, "record", "import", str(tmp_path / "months.xlsx")), "有3张表带有列名（「一月」「二月」「三月」）")
    book = Workbook()
    book.active.title = "填表说明"
    book.active.append(["请按下表填写"])
    sheet = book.create_sheet("记录")
    sheet.append(["朱庄村会议记录"])
    sheet.append(["填报单位：朱庄村党总支"])
    sheet.append(["党组织", "类型", "日期", "学时"])
    sheet.append([BRANCH, "党课", "2026-04-07", 8])
    sheet.column_dimensions["D"].hidden = True
    book.save(tmp_path / "hidden.xlsx")
    one_line_error(run(db, "record", "import", str(tmp_path / "hidden.xlsx")), "hidden.xlsx「记录」表：第D列（学时）被隐藏")
    assert records(db) == before
    sheet.column_dimensions["D"].hidden = False
    book.save(tmp_path / "hidden.xlsx")
    done = run(db, "record", "import", str(tmp_path / "hidden.xlsx"))
    assert done.returncode == 0 and "新增 1 条" in done.stdout, done.stderr
    assert "已跳过第1行（标题）、第2行（标题）：不是数据行。" in done.stdout, done.stdout


def test_an_offices_own_headers_and_a_rosters_other_columns_import(tmp_path: Path):
    """A 花名册 with 身份证号 and 学历, headed 入党时间, and a record sheet headed 会议日期, 会议类型, 应到人数, 实到人数 with a
    支部大会 were refused whole (try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(db, "org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))).returncode == 0
    roster = "序号,党员姓名,身份证号,所在党支部,党员类别,入党时间,学历,联系电话\n1,陶英,320000199001010000,ZZ1,正式党员,2010-07-01,本科,13800000000\n"
    imported = run(db, "member", "import", str(write_csv(tmp_path / "m.csv", roster)))
    assert imported.returncode == 0, imported.stderr
    assert "2010-07-01" in run(db, "member", "list", "--under", "ZZ1", "--format", "csv").stdout
    sheet = "党组织,会议类型,会议日期,应到人数,实到人数,会议主题\nZZ1,支部大会,2026-08-03,1,1,学习\n"
    logged = run(db, "record", "import", str(write_csv(tmp_path / "r.csv", sheet)))
    assert logged.returncode == 0, logged.stderr
    shown = run(db, "record", "list", "--org", "ZZ1", "--format", "csv").stdout
    assert "党员大会" in shown and "2026-08-03" in shown


def test_more_of_an_offices_own_headers_and_kinds_import(tmp_path: Path):
    """党组织名称, 上级党组织, 组织类别, 成立时间 and 党员人数 in an organization list; 时间 and 主持人 in a meeting sheet; 所在党支部
    in a dues sheet; 支委会议, 党员大会（扩大） and 三会一课（党课）: each refused a file whole (clerk's try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    orgs = ("党组织名称,上级党组织,组织类别,成立时间,党员人数,党组织书记\n图河镇党委,,乡镇党委,2000-01-01,300,周海\n"
            "马屯村党支部,图河镇党委,党支部,2001-05-01,30,闫梅\n")
    made = run(db, "org", "import", str(write_csv(tmp_path / "o.csv", orgs)))
    assert made.returncode == 0, made.stderr
    listed = run(db, "org", "list", "--format", "csv").stdout
    assert "图河镇党委/马屯村党支部" in listed and "2001-05-01" in listed and "闫梅" in listed
    roster = "姓名,党组织\n张三,马屯村党支部\n"
    assert run(db, "member", "import", str(write_csv(tmp_path / "m.csv", roster))).returncode == 0
    sheet = ("党组织,会议类型,时间,主持人,应到人数,实到人数\n马屯村党支部,支委会议,2026-08-03,闫梅,5,5\n"
             "马屯村党支部,党员大会（扩大）,2026-08-10,闫梅,1,1\n马屯村党支部,三会一课（党课）,2026-08-20,闫梅,1,1\n")
    logged = run(db, "record", "import", str(write_csv(tmp_path / "r.csv", sheet)))
    assert logged.returncode == 0, logged.stderr
    shown = run(db, "record", "list", "--org", "马屯村党支部", "--format", "json").stdout
    assert sorted((r["kind"], r["date"]) for r in json.loads(shown)) == [
        ("branch_committee", "2026-08-03"), ("party_congress", "2026-08-10"), ("party_lecture", "2026-08-20")]
    umbrella = run(db, "record", "import", str(write_csv(tmp_path / "u.csv", "党组织,类型,日期\n马屯村党支部,三会一课,2026-08-21\n")))
    assert umbrella.returncode == 2 and "三会一课是党员大会、支委会、党小组会和党课的合称" in umbrella.stderr
    dues = "姓名,所在党支部,交纳月份,金额,交纳日期\n张三,马屯村党支部,2026-08,10,2026-08-05\n"
    paid = run(db, "dues", "import", str(write_csv(tmp_path / "d.csv", dues)))
    assert paid.returncode == 0, paid.stderr


def test_a_sheets_blank_rows_cost_nothing_and_none_are_read_after_its_last_value(tmp_path: Path):
    """One formatted cell at the bottom of a sheet made its used range a million rows: 11.6 s and 1.09 GB for 3 rows (try-out)."""
    from openpyxl import load_workbook
    from openpyxl.styles import Border, Side

    from compliance.tabular import _sheet_rows

    book = Workbook()
    book.active.append(["党组织", "类型", "日期"])
    book.active.append([BRANCH, "支委会", "2026-01-06"])
    book.active.append([None, None, None])
    book.active.append([BRANCH, "支委会", "2026-02-06"])
    book.active.cell(row=20000, column=26).border = Border(bottom=Side(style="thin"))
    book.save(tmp_path / "far.xlsx")
    read = load_workbook(tmp_path / "far.xlsx", read_only=True, data_only=True)
    assert read.active.max_row == 20000
    rows = _sheet_rows(read.active)
    read.close()
    assert len(rows) == 4 and rows[2] == [] and rows[3][:3] == [BRANCH, "支委会", "2026-02-06"]


def test_rows_short_of_the_header_and_blank_columns_after_it_import(db: Path, tmp_path: Path):
    before = records(db)
    path = write_csv(tmp_path / "short.csv", f"党组织,类型,日期,主题,,\n{BRANCH},党课,2026-03-09\n{BRANCH},党课,2026-03-10,z,, \n")
    result = run(db, "record", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert records(db) == before + 2


def test_formula_without_a_saved_value_is_named(db: Path, tmp_path: Path):
    path = _xlsx(tmp_path / "f.xlsx", [["党组织", "类型", "日期", "应到"], [BRANCH, "党员大会", "2026-03-03", "=SUM(1,2)"]])
    one_line_error(run(db, "record", "import", str(path)), "第2行「应到」列", "=SUM(1,2)", "公式")


@pytest.mark.parametrize("name, body, encoding", [
    ("gbk.csv", f"党组织,类型,日期\n{BRANCH},党员大会,2026-03-04\n", "gbk"),
    ("slashes.csv", f"党组织,类型,日期\n{BRANCH},主题党日,2026/3/5\n", "utf-8"),
    ("chinese_date.csv", f"党组织,类型,日期\n{BRANCH},党课,2026年3月6日\n", "utf-8"),
    ("spaces.csv", f"党组织,类型,日期,主题\n  {BRANCH} , 支委会 ,2026-03-07,  学习   党章 \n", "utf-8"),
    ("duplicated.csv", f"党组织,类型,日期\n{BRANCH},党员大会,2026-03-08\n{BRANCH},党员大会,2026-03-08\n", "utf-8"),
    ("header_only.csv", "党组织,类型,日期\n", "utf-8"),
])
def test_common_forms_import(db: Path, tmp_path: Path, name: str, body: str, encoding: str):
    before = records(db)
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    result = run(db, "record", "import", str(path))
    assert result.returncode == 0, result.stderr
    assert records(db) == before + (0 if name == "header_only.csv" else 1)


def test_a_10_mb_file_with_one_bad_row_at_the_end_writes_nothing(db: Path, tmp_path: Path):
    rows = [f"{BRANCH},主题党日,2025-{1 + i % 12:02d}-{1 + i % 28:02d},第{i}次主题党日活动：学习贯彻党的二十届四中全会精神" for i in range(110000)]
    path = write_csv(tmp_path / "big.csv", "党组织,类型,日期,主题\n" + "\n".join(rows) + f"\n{BRANCH},主题党日,2025-13-01,坏行")
    assert path.stat().st_size > 10_000_000
    before = records(db)
    one_line_error(run(db, "record", "import", str(path)), "第110002行", "2025-13-01")
    assert records(db) == before


def test_a_supervision_day_after_today_is_refused_and_nothing_is_written(db: Path, tmp_path: Path):
    out = tmp_path / "bulletin"
    one_line_error(run(db, "supervise", "--under", "图河镇党委", "--month", "2099-01", "--as-of", "2099-01-05", "--out", str(out)),
                   "--as-of", "2099-01-05", "晚于今天")
    assert not out.exists()
    listed = run(db, "rectify", "list", "--under", "图河镇党委", "--format", "csv")
    assert listed.returncode == 0 and len(listed.stdout.strip().splitlines()) == 1      # the header only


@pytest.mark.parametrize("args", [["status", "--org", "ZZ1"], ["overdue", "--under", "图河镇党委"], ["members", "watch"],
                                  ["dues", "unpaid"], ["mobile", "list"], ["members", "indicators"]])
def test_a_view_as_of_a_day_after_today_is_refused(db: Path, args: list[str]):
    """A mistyped year (2027 for 2026) listed every period until then as 逾期未完成: periods that had not ended."""
    one_line_error(run(db, *args, "--as-of", "2099-01-05"), "--as-of", "2099-01-05", "晚于今天", "status --year 或 calendar")


@pytest.mark.parametrize("args", [["status", "--org", "ZZ1"], ["overdue", "--under", "图河镇党委"], ["members", "watch"],
                                  ["mobile", "list"], ["dues", "list", "--org", "ZZ1"], ["member", "exemptions"]])
@pytest.mark.parametrize("later", ["{tomorrow}", "{tomorrow}T08:00", "2099-01-05"])
def test_a_known_at_after_today_is_refused(db: Path, args: list[str], later: str):
    """A mistyped month (2026-12-25 for 2026-11-25) gave today's data under a title naming the day, as if reproduced."""
    today = datetime.now(TZ).date()      # these commands run in a process of their own, on the machine's clock
    moment = later.format(tomorrow=today + timedelta(days=1))
    one_line_error(run(db, *args, "--known-at", moment), "--known-at", f"「{moment}」", f"晚于今天（{today.isoformat()}）")


def test_a_known_at_later_today_is_taken(db: Path):
    """Today as a bare date means its end, hours from now: the data as it stands."""
    today = datetime.now(TZ).date()
    for moment in (today.isoformat(), f"{today.isoformat()}T23:59"):
        result = run(db, "status", "--org", "ZZ1", "--known-at", moment)
        assert result.returncode == 0, result.stderr
        assert "已录入的数据" in result.stdout


@pytest.mark.parametrize("args, line", [
    (["record", "correct", "1", "--date", "2026-11-03"], "错误：缺少必需的选项：--reason（compliance record correct --help 查看用法）"),
    (["log", "--org", "ZZ1"], "错误：缺少必需的参数：类型（compliance log --help 查看用法）"),
    (["overdue", "--format"], "错误：选项用法有误：--format 后面需要给出值（compliance overdue --help 查看用法）"),
    (["overdue", "--status", "完成"], "错误：参数值无效：--status：值「完成」不在可选值中（可选：missed、invalid、due、逾期未完成、无效、待完成）"
                                      "（compliance overdue --help 查看用法）"),
    (["overdue", "--format", "xlsx"], "错误：参数值无效：--format：值「xlsx」不在可选值中（可选：table、json、csv）（compliance overdue --help 查看用法）"),
    (["overdue", "--jobs=abc"], "错误：参数值无效：--jobs：值「abc」不是整数（compliance overdue --help 查看用法）"),
    (["members", "mobile"], "错误：没有这个命令：mobile（可用：watch、hours、indicators）（compliance members --help 查看用法）"),
    # A listing takes --under, an organization's own command --org: --format was offered (try-out).
    (["members", "watch", "--org", "ZZ1"], "错误：没有这个选项：--org（是否要用 --under？）（compliance members watch --help 查看用法）"),
    (["status", "--under", "ZZ1"], "错误：没有这个选项：--under（是否要用 --org？）（compliance status --help 查看用法）"),
])
def test_the_parsers_complaints_are_in_chinese(db: Path, args: list[str], line: str):
    result = run(db, *args)
    assert result.returncode == 2 and result.stderr == line + "\n"


@pytest.mark.parametrize("args, words", [
    (["overdue", "--as-of", "2026-13-01"], ["--as-of", "2026-13-01"]),
    (["overdue", "--since", "昨天"], ["--since", "昨天"]),
    # A year before the Party's founding is mistyped: 0001-01-01 failed with a traceback (year 0 is out of range), 0202 listed all 免除.
    (["status", "--org", "ZZ1", "--as-of", "0001-01-01"], ["--as-of：值「0001-01-01」早于中国共产党成立（1921-07-01），请核对年份"]),
    (["members", "watch", "--as-of", "0202-12-01"], ["--as-of：值「0202-12-01」早于中国共产党成立"]),
    (["overdue", "--since", "1900-01-01"], ["--since：值「1900-01-01」早于中国共产党成立"]),
    (["overdue", "--known-at", "0001-01-01T08:00"], ["--known-at：值「0001-01-01T08:00」早于中国共产党成立"]),
    (["overdue", "--known-at", "0001-01-01T00:00+14:00"], ["--known-at：值「0001-01-01T00:00+14:00」早于中国共产党成立"]),
    (["overdue", "--known-at", "9999-12-31T23:00-10:00"], ["--known-at：值「9999-12-31T23:00-10:00」晚于今天"]),
    (["overdue", "--known-at", "下午"], ["--known-at", "下午"]),
    (["overdue", "--known-at", "2026-12-05T25:00"], ["--known-at：值「2026-12-05T25:00」不是日期或时间（应写作 2026-11-25 或 2026-11-25T18:00）"]),
    (["overdue", "--format", "xlsx"], ["--format", "xlsx"]),
    (["status", "--org", "ZZ1", "--year", "二〇二六"], ["--year"]),
    (["status", "--org", "ZZ1", "--year", "99999"], ["--year", "99999"]),
    (["status"], ["--org"]),
    (["members", "hours", "--year", "26"], ["--year", "「26」", "1921 至"]),
    (["members", "hours", "--year", "2099"], ["--year", "「2099」"]),
    (["members", "hours", "--year", "0"], ["--year", "「0」"]),
    (["log", "党员大会", "--org", "ZZ1", "--date", "2026-03-02", "--present", "-1"], ["--present", "负数"]),
    (["log", "党员大会", "--org", "ZZ1", "--date", "2026-03-02", "--hours", "两小时"], ["--hours"]),
    (["log", "茶话会", "--org", "ZZ1", "--date", "2026-03-02"], ["茶话会"]),
    # A day said aloud lacks its year: it was told the format alone (try-out).
    (["log", "主题党日", "--org", "ZZ1", "--date", "12月5日"], ["--date：值「12月5日」：没有年份（应写作 2026-12-05 这样的完整日期）"]),
    (["overdue", "--as-of", "11/20"], ["--as-of：值「11/20」没有年份"]),
    (["supervise", "--under", "图河镇党委", "--month", "2026-13"], ["--month", "2026-13"]),
    (["score", "--under", "图河镇党委", "--period", "2026Q3"], ["--period", "2026Q3"]),
    (["score", "--under", "图河镇党委", "--period", "2026-Q3", "--sheet", "nosuch"], ["没有名为「nosuch」的评分表"]),
    (["deduct", "--org", "ZZ1", "--sheet", "village-2020", "--period", "2026-Q3", "--item", "一.1", "--points", "很多", "--reason", "x"], ["--points"]),
    (["rectify", "close", "abc", "--note", "x"], ["abc"]),
    (["record", "show", "99999"], ["99999"]),
    (["member", "grade", "张三", "--org", "ZZ1", "--grade", "合格", "--sheet", "一月"], ["--sheet 只用于 --file 导入的 XLSX 工作簿"]),
    (["catalog", "show", "nowhere"], ["nowhere"]),
    (["--nope"], ["--nope"]),
])
def test_bad_options_end_in_one_line(db: Path, args: list[str], words: list[str]):
    one_line_error(run(db, *args), *words)


@pytest.mark.parametrize("args, words", [
    # Each of these once ended in the system's or the parser's English ("No such file or directory",
    # "File is not a zip file", "Did you mean 'status'?").
    (["statuss"], ["没有这个命令：statuss（是否要用 status？）"]),
    (["calendar", "--org", "ZZ1", "--out", "{tmp}/fake.xlsx/x.ics"], ["--out", "x.ics", "不是文件夹"]),
    (["supervise", "--under", "图河镇党委", "--month", "2026-11", "--out", "{tmp}/fake.xlsx/通报"], ["--out", "通报", "不是文件夹"]),
    (["supervise", "--under", "图河镇党委", "--month", "2026-11", "--out", "{tmp}/fake.xlsx"], ["--out", "fake.xlsx", "不是文件夹"]),
    (["record", "import", "{tmp}/fake.xlsx"], ["fake.xlsx", "不是 .xlsx 格式"]),
    (["record", "import", "{tmp}/folder.xlsx"], ["folder.xlsx", "是文件夹，不是文件"]),
    # A folder given as a file was said not to exist.
    (["sheet", "check", "{tmp}/folder.xlsx"], ["folder.xlsx：是文件夹，不是文件"]),
    (["catalog", "check", "{tmp}/folder.xlsx"], ["folder.xlsx：是文件夹，不是文件"]),
    (["restore", "{tmp}/folder.xlsx"], ["folder.xlsx：是文件夹，不是文件"]),
])
def test_the_reasons_given_are_in_chinese(db: Path, tmp_path: Path, args: list[str], words: list[str]):
    (tmp_path / "fake.xlsx").write_text("这不是表格")
    (tmp_path / "folder.xlsx").mkdir()
    result = run(db, *[a.format(tmp=tmp_path) for a in args])
    one_line_error(result, *words)
    for english in ("No such", "Did you mean", "zip file", "directory", "Errno", "Permission", "denied"):
        assert english not in result.stderr, result.stderr


@pytest.mark.parametrize("url, args, words", [
    # Each of these ended in SQLAlchemy's, SQLite's or the driver's English.
    ("{tmp}/nowhere/x.db", ["init"], ["无法初始化数据库", "无法打开数据库文件（所在文件夹不存在，或没有权限）"]),
    ("{tmp}/text.db", ["overdue"], ["无法打开数据库", "不是数据库文件"]),
    ("foo://bar", ["overdue"], ["不认识的数据库类型「foo」"]),
    ("postgresql+asyncpg://u@127.0.0.1/x", ["overdue"], ["缺少数据库驱动 asyncpg"]),
    ("postgresql+psycopg://u@127.0.0.1:{port}/x", ["overdue"], ["无法连接数据库服务器（连接被拒绝"]),
])
def test_a_database_that_cannot_be_used_is_explained_in_chinese(tmp_path: Path, url: str, args: list[str], words: list[str]):
    import socket

    with socket.socket() as probe:        # a port on loopback that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (tmp_path / "text.db").write_text("不是数据库\n", encoding="utf-8")
    result = run(url.format(tmp=tmp_path, port=port), *args)     # type: ignore[arg-type]
    one_line_error(result, *words)
    assert not any(w in result.stderr for w in ("unable to open", "not a database", "Can't load", "No module", "Connection refused"))
    assert (tmp_path / "text.db").read_text(encoding="utf-8") == "不是数据库\n"


def test_a_roster_or_records_before_the_tree_say_to_import_the_tree_first(tmp_path: Path):
    """Members imported into an empty database: 16 lines of 找不到该党组织, and nothing said the tree comes first (try-out)."""
    empty = tmp_path / "e.db"
    assert run(empty, "init").returncode == 0
    first = "找不到该党组织：数据库中还没有党组织，请先导入组织结构（compliance org import）"
    one_line_error(run(empty, "record", "import", str(write_csv(tmp_path / "r.csv", "党组织,类型,日期\n甲村党支部,主题党日,2026-11-05"))),
                   "r.csv 第2行「党组织」列", first)
    one_line_error(run(empty, "log", "主题党日", "--org", "甲村党支部", "--date", "2026-11-05"), first)
    # The tree's own first file is not told to import a tree.
    tree = run(empty, "org", "import", str(write_csv(tmp_path / "o.csv", "名称,上级,类型\n甲村党支部,乙镇党委,党支部")))
    one_line_error(tree, "上级找不到该党组织（上级须已导入，或在本文件中）")
    assert "org import" not in tree.stderr
    # With a tree, a name not in it is only not found.
    assert run(empty, "org", "import", str(write_csv(tmp_path / "t.csv", "名称,上级,类型\n乙镇党委,,乡镇党委"))).returncode == 0
    later = run(empty, "log", "主题党日", "--org", "甲村党支部", "--date", "2026-11-05")
    one_line_error(later, "--org：值「甲村党支部」：找不到该党组织（未登记）")
    assert "org import" not in later.stderr


@pytest.mark.parametrize("args", [
    ["log", "支委会", "--org", "ZZ1", "--date", "2026-08-03", "--topic", b"\xe5\xbc\xa0\xff"],
    ["rectify", "add", "--org", "ZZ1", "--matter", b"\xe5\xbc\xa0\xff", "--measure", "x"],
])
def test_an_argument_that_is_not_utf8_is_a_one_line_error(db: Path, args: list):
    """A topic typed in a GBK terminal (bytes that are not UTF-8) ended `log` in a traceback (try-out)."""
    before = records(db)
    result = subprocess.run([sys.executable, "-m", "compliance", "--db", str(db), *args], capture_output=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k not in ("COMPLIANCE_DB", "COMPLIANCE_USER")})
    assert result.returncode == 2 and result.stderr.decode() == (
        "错误：参数「张\ufffd」中有不是 UTF-8 编码的字符：请把终端的字符编码设为 UTF-8 后重试（这次操作未完成，未写入任何数据）\n")
    assert records(db) == before
    assert not [i for i in json.loads(run(db, "rectify", "list", "--format", "json").stdout) if i["matter"].startswith("张")]


def test_a_migrated_roster_and_record_sheet_with_a_birth_month_whereabouts_and_content_import(tmp_path: Path):
    """A township moving from spreadsheets: a 花名册 with 出生年月 (1965.03) and 流出地, a meeting sheet headed 所在支部 and
    内容 with a 地点 column: each was refused whole (migration try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(db, "org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))).returncode == 0
    roster = "姓名,所在支部,出生年月,流动党员,流出地\n陶英,ZZ1,1965.03,否,\n王强,ZZ1,1990年11月,是,江苏苏州\n"
    imported = run(db, "member", "import", str(write_csv(tmp_path / "m.csv", roster)))
    assert imported.returncode == 0, imported.stderr
    from compliance.store import Store, resolve_url

    born = {m.name: m.born for m in Store(resolve_url(str(db))).members()}
    assert born == {"陶英": date(1965, 3, 1), "王强": date(1990, 11, 1)}
    # A day-less 入党日期 is still refused: a probation is counted from its day.
    refused = run(db, "member", "import", str(write_csv(tmp_path / "j.csv", "姓名,党组织,入党日期\n李四,ZZ1,2020.05\n")))
    assert refused.returncode != 0 and "只有年月，没有日" in refused.stderr
    sheet = "所在支部,会议类型,会议日期,地点,内容\nZZ1,主题党日,2026-08-03,村部,学习党章\n"
    logged = run(db, "record", "import", str(write_csv(tmp_path / "r.csv", sheet)))
    assert logged.returncode == 0, logged.stderr
    assert "学习党章" in run(db, "record", "list", "--org", "ZZ1", "--format", "csv").stdout


def test_a_branchs_own_sheet_without_an_organization_column_imports_with_org(tmp_path: Path):
    """A village's own sheet had no 党组织 column, and no option named its branch: 52 rows to type it into (migration try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(db, "org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))).returncode == 0
    sheet = write_csv(tmp_path / "r.csv", "会议类型,会议日期,内容\n主题党日,2026-08-03,学习党章\n支委会,2026-08-10,研究工作\n")
    refused = run(db, "record", "import", str(sheet))
    assert refused.returncode != 0 and "缺少必需的列「党组织」" in refused.stderr and "可加 --org 指定党支部" in refused.stderr
    done = run(db, "record", "import", str(sheet), "--org", "ZZ1")
    assert done.returncode == 0, done.stderr
    listed = run(db, "record", "list", "--org", "ZZ1", "--format", "csv").stdout
    assert "学习党章" in listed and "研究工作" in listed
    # Imported again with it, nothing is added twice.
    again = run(db, "record", "import", str(sheet), "--org", "ZZ1")
    assert again.returncode == 0 and "新增 0 条" in again.stdout, again.stdout
    both = write_csv(tmp_path / "b.csv", "党组织,会议类型,会议日期\nZZ2,主题党日,2026-08-03\n")
    clash = run(db, "record", "import", str(both), "--org", "ZZ1")
    assert clash.returncode != 0 and "已有「党组织」列，不能再用 --org" in clash.stderr


def test_a_records_file_without_signature_columns_says_its_meetings_count_as_unsigned(tmp_path: Path):
    """Village sheets kept the signatures in the paper minute book: every 支委会 and 党员大会 imported came out 未签字, and the
    bulletin told 13 branches to 补签, without a word at the import (migration try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(db, "org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))).returncode == 0
    bare = write_csv(tmp_path / "r.csv", "党组织,类型,日期,应到,实到,主题\nZZ1,党员大会,2026-08-10,5,5,学习\nZZ1,主题党日,2026-08-03,,,学习\n")
    told = run(db, "record", "import", str(bare))
    assert told.returncode == 0 and "提示：文件没有「书记签字」「记录人签字」列，1 条须签字的记录计为未签字" in told.stdout, told.stdout
    signed = write_csv(tmp_path / "s.csv", "党组织,类型,日期,应到,实到,主题,书记签字\nZZ1,党员大会,2026-09-10,5,5,学习,否\n")
    assert "没有「书记签字」" not in run(db, "record", "import", str(signed)).stdout


def test_a_rosters_remark_that_a_member_died_or_moved_out_is_pointed_out(tmp_path: Path):
    """备注 said 2026年5月12日病故 and 2026-08-20转出至县城: member import said 新增 242 条 and the members stayed on the roster,
    counted for dues and meetings (migration try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    assert run(db, "org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))).returncode == 0
    roster = "姓名,党组织,备注\n陶英,ZZ1,支部书记\n王强,ZZ1,2026年5月12日病故\n李四,ZZ1,2026-08-20转出至县城\n"
    told = run(db, "member", "import", str(write_csv(tmp_path / "m.csv", roster)))
    assert told.returncode == 0, told.stderr
    said = "".join(told.stdout.split())
    assert ("提示：第3行「图河镇党委/朱庄村党总支/第一党支部」王强（备注：2026年5月12日病故）、第4行「图河镇党委/朱庄村党总支/第一党支部」"
            "李四（备注：2026-08-20转出至县城）的备注写有离开的情况") in said, told.stdout
    assert "陶英（备注" not in said


def test_an_org_import_says_which_new_organizations_first_term_has_ended_without_an_election_on_record(tmp_path: Path):
    """Imported with their 成立日期, every organization was 逾期未完成 2004-06-01至2009-05-31 at the first overdue, nothing said at
    the import (migration try-out)."""
    db = tmp_path / "t.db"
    assert run(db, "init", "--catalog", "tuhe-2021").returncode == 0
    orgs = TOWN_ORGS.replace("第一党支部,朱庄村党总支,党支部,ZZ1,,,,", "第一党支部,朱庄村党总支,党支部,ZZ1,,,2004-06-01,")
    told = run(db, "org", "import", str(write_csv(tmp_path / "o.csv", orgs)))
    assert told.returncode == 0, told.stderr
    said = "".join(told.stdout.split())
    # A village branch: five years from its founding.
    assert "提示：「图河镇党委/朱庄村党总支/第一党支部」按成立日期推算，第一届任期已于2009-05-31届满，还没有换届选举记录" in said, told.stdout
    # 马屯村党支部, founded in May 2026, is within its first term.
    assert "马屯村党支部」按成立日期" not in said
