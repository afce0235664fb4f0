"""Members' grades in the year's 民主评议党员 (评议等次): given, replaced and kept; a bad file writes nothing; listed by branch."""

from __future__ import annotations

import csv
import io
import json

from pathlib import Path

import pytest
from sqlalchemy import func, select

from compliance import membership
from compliance.cli import app
from compliance.errors import InputError
from compliance.store import Store, tables
from compliance.tabular import read_table
from tests.conftest import TOWN_ORGS, roster_csv, write_csv

ZZ1 = "图河镇党委/朱庄村党总支/第一党支部"
HEAD = "姓名,党组织,年度,等次,说明\n"


def _load(store: Store, path: Path) -> tuple[int, int, int]:
    return membership.load_grades(store, read_table(path, membership.GRADE_COLUMNS), f"导入 {path.name}")


def test_grades_are_given_replaced_and_the_replaced_kept(town: Store, tmp_path: Path):
    """A branch logged that its 民主评议 was held, not the grade it gave each member, which the township asks for (try-out)."""
    rows = HEAD + "党员第一党支部0,ZZ1,2026,优秀,\n党员第一党支部1,ZZ1,2026年,合格,\n党员第一党支部2,ZZ1,2026,基本合格,学习不够\n"
    assert _load(town, write_csv(tmp_path / "g.csv", rows)) == (3, 0, 0)
    members = {m.name: m.id for m in town.members()}
    org_ids = [o.id for o in town.orgs()]
    assert town.grades(org_ids, 2026) == {members["党员第一党支部0"]: ("优秀", None), members["党员第一党支部1"]: ("合格", None),
                                         members["党员第一党支部2"]: ("基本合格", "学习不够")}
    # Read again, nothing changes; one grade changed replaces the one given, which is kept.
    assert _load(town, write_csv(tmp_path / "g.csv", rows)) == (0, 0, 3)
    assert _load(town, write_csv(tmp_path / "g.csv", rows.replace("基本合格,学习不够", "合格,已改正"))) == (0, 1, 2)
    assert town.grades(org_ids, 2026)[members["党员第一党支部2"]] == ("合格", "已改正")
    assert town.grades(org_ids, 2025) == {}
    grade = tables.MEMBER_GRADE
    with town.engine.connect() as conn:
        kept = conn.execute(select(grade.c.grade, grade.c.superseded_at.is_not(None)).where(
            grade.c.member_id == members["党员第一党支部2"]).order_by(grade.c.id)).all()
    assert [(g, bool(superseded)) for g, superseded in kept] == [("基本合格", True), ("合格", False)]
    entries = [e for e in town.audit_log() if e.action == "grade"]
    assert len(entries) == 4 and json.loads(entries[-1].detail) == {"year": 2026, "grade": "合格", "was": "基本合格"}


def test_a_grades_file_with_a_bad_row_names_each_and_writes_nothing(town: Store, tmp_path: Path):
    rows = (HEAD + "党员第一党支部0,ZZ1,2026,优秀,\n党员第一党支部1,ZZ1,2027,合格,\n党员第一党支部3,ZZ1,2026,良,\n"
            "党员第一党支部9,ZZ2,2026,合格,\n党员第一党支部0,ZZ1,2026,合格,\n党员第一党支部4,ZZ1,二〇二六,合格,\n")
    with pytest.raises(InputError) as caught:
        _load(town, write_csv(tmp_path / "g.csv", rows))
    said = "\n".join([str(caught.value), *caught.value.details])
    assert "g.csv 第3行「年度」列：值「2027」：2027年尚未开始评议" in said
    assert "g.csv 第4行「等次」列：值「良」：等次应为 优秀、合格、基本合格、不合格 之一" in said
    assert "g.csv 第5行「姓名」列：值「党员第一党支部9」：不是「图河镇党委/朱庄村党总支/第二党支部」花名册上的党员" in said
    assert "g.csv 第6行「姓名」列：值「党员第一党支部0」：与第2行重复：一名党员一年评定一个等次" in said
    assert "g.csv 第7行「年度」列：值「二〇二六」：应为年份，如 2026" in said
    # A name one character off is asked about; the start of many names is not.
    with pytest.raises(InputError, match="值「党贠第一党支部3」：不是「图河镇党委/朱庄村党总支/第一党支部」花名册上的党员（是否是「党员第一党支部3」？）"):
        _load(town, write_csv(tmp_path / "g.csv", HEAD + "党贠第一党支部3,ZZ1,2026,合格,\n"))
    with pytest.raises(InputError, match="值「党员第一党支部」：不是「图河镇党委/朱庄村党总支/第一党支部」花名册上的党员（未导入任何数据）"):
        _load(town, write_csv(tmp_path / "g.csv", HEAD + "党员第一党支部,ZZ1,2026,合格,\n"))
    assert town.grades([o.id for o in town.orgs()], 2026) == {}
    with town.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tables.MEMBER_GRADE)).scalar() == 0


def test_a_member_not_on_the_roster_that_year_is_not_graded_there(town: Store, tmp_path: Path):
    """One who left before the year began, or came after it ended, was graded by no rule of the branch's."""
    from compliance import importing

    leaving = "姓名,党组织,类别,离开日期,离开原因\n党员第一党支部5,ZZ1,正式,2026-01-01,转出\n"
    importing.import_members(town, write_csv(tmp_path / "m.csv", leaving))
    with pytest.raises(InputError, match="「党员第一党支部5」已于 2026-01-01 离开，2026年不在「图河镇党委/朱庄村党总支/第一党支部」评议"):
        _load(town, write_csv(tmp_path / "g.csv", HEAD + "党员第一党支部5,ZZ1,2026,合格,\n"))
    assert _load(town, write_csv(tmp_path / "g.csv", HEAD + "党员第一党支部5,ZZ1,2025,合格,\n")) == (1, 0, 0)
    listed = membership.grade_list(town, ZZ1, 2026)
    assert "党员第一党支部5" not in {r["member"] for r in listed} and len(listed) == 10
    # One gone during the year (转出 in November) is owed no grade here, and not listed as ungraded (review).
    importing.import_members(town, write_csv(tmp_path / "m.csv", leaving.replace("党员第一党支部5", "党员第一党支部6").replace(
        "2026-01-01", "2026-11-25")))
    assert "党员第一党支部6" not in {r["member"] for r in membership.grade_list(town, ZZ1, 2026)}
    assert _load(town, write_csv(tmp_path / "g.csv", HEAD + "党员第一党支部6,ZZ1,2026,合格,\n")) == (1, 0, 0)
    assert {r["member"]: r["grade"] for r in membership.grade_list(town, ZZ1, 2026)}["党员第一党支部6"] == "合格"
    assert [r for r in membership.grade_list(town, ZZ1, 2025) if r["grade"]] == [
        {"org": ZZ1, "member": "党员第一党支部5", "status": "正式", "grade": "合格", "note": None}]


@pytest.fixture
def db(runner, tmp_path: Path) -> list[str]:
    args = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, args + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, args + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    members = "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(ZZ1, 6, 1) + "\n" + roster_csv("图河镇党委/朱庄村党总支/第二党支部", 3)
    assert runner.invoke(app, args + ["member", "import", str(write_csv(tmp_path / "m.csv", members))]).exit_code == 0
    return args


def test_a_secretary_grades_her_branch_and_the_township_lists_them(runner, db, tmp_path: Path):
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "镇党建办", "--role", "乡镇", "--org", "图河镇党委"]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "镇党建办", "user", "add", "陶英", "--role", "支部书记", "--org", "ZZ1"]).exit_code == 0
    secretary = db + ["--user", "陶英"]
    one = runner.invoke(app, secretary + ["member", "grade", "党员第一党支部0", "--grade", "优秀"])     # her own branch, this year
    assert one.exit_code == 0 and "评定等次：新增 1 人。" in one.stdout, one.output
    other = runner.invoke(app, secretary + ["member", "grade", "党员第二党支部0", "--org", "ZZ2", "--grade", "合格"])
    assert other.exit_code != 0 and "无权修改" in other.output, other.output
    rows = HEAD + "".join(f"党员第一党支部{i},ZZ1,2026,合格,\n" for i in range(1, 5)) + "党员第一党支部5,ZZ1,2026,不合格,限期改正\n"
    done = runner.invoke(app, secretary + ["member", "grade", "--file", str(write_csv(tmp_path / "g.csv", rows))])
    assert done.exit_code == 0 and "评定等次：新增 5 人。" in done.stdout, done.output
    town = db + ["--user", "镇党建办"]
    table = runner.invoke(app, town + ["member", "grades", "--year", "2026"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    [first] = [line for line in table.stdout.splitlines() if "第一党支部" in line and "│" in line]
    assert [c.strip() for c in first.strip("│").split("│")][1:6] == ["1", "4", "0", "1", "0"], first
    [second] = [line for line in table.stdout.splitlines() if "第二党支部" in line and "│" in line]
    assert "党员第二党支部0、党员第二党支部1、党员第二党支部2" in second and [c.strip() for c in second.strip("│").split("│")][5] == "3"
    flat = "".join(table.stdout.split())
    assert "合计：优秀1人，合格4人，基本合格0人，不合格1人，未评定3人（2个党支部）" in flat
    assert "基本合格、不合格的党员：朱庄村党总支/第一党支部党员第一党支部5（不合格：限期改正）" in flat
    listed = list(csv.DictReader(io.StringIO(runner.invoke(app, town + ["member", "grades", "--format", "csv"]).stdout.lstrip("\ufeff"))))
    assert len(listed) == 10 and {r["党员"]: r["等次"] for r in listed}["党员第一党支部6"] == ""      # 预备, listed ungraded
    assert {r["党员"]: r["类别"] for r in listed}["党员第一党支部6"] == "预备"
    # In the first quarter, the year just ended is the one graded by default.
    import compliance.store as store_mod
    from tests.conftest import NOW

    later = NOW.replace(year=2027, month=1, day=8)
    original = store_mod.now
    store_mod.now = lambda: later
    try:
        january = runner.invoke(app, secretary + ["member", "grade", "党员第一党支部6", "--grade", "合格"])
        assert january.exit_code == 0, january.output
    finally:
        store_mod.now = original
    assert {r["member"]: r["grade"] for r in json.loads(runner.invoke(app, town + ["member", "grades", "--year", "2026", "--format", "json"]).stdout)}[
        "党员第一党支部6"] == "合格"
