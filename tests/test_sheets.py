"""Scoring sheets: the published ones load with their warnings; every `sheet check` error names its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.cli import app
from compliance.errors import InputError
from obligations.catalog import CatalogError
from obligations.scoresheet import read_sheet

DATA = Path(__file__).resolve().parent.parent / "data" / "scoresheets"


def test_published_sheets_keep_their_figures_and_warn(rules):
    warnings = rules.sheets.warnings
    assert rules.sheet("wujin-2016").max_points == 102 and any("32" in w for w in warnings["wujin-2016"])
    assert rules.sheet("grid-2023").max_points == 98 and any("26" in w for w in warnings["grid-2023"])
    assert rules.sheet("two-new-2020").item("五.2").inferred and any("推定" in w for w in warnings["two-new-2020"])
    assert warnings["village-2020"] == [] and rules.sheet("village-2020").max_points == 100


GOOD = """name = "t"
title = "测试表"
source = "测试"

[[section]]
name = "甲"
points = 5

[[item]]
id = "1"
section = "甲"
points = 5
text = "三会一课"
auto = { obligations = ["party_congress"], per_missed = 0.2 }
"""


@pytest.mark.parametrize("body, line, words", [
    (GOOD.replace('title = "测试表"\n', 'title = "测试表"\ncolour = "red"\n'), 3, "未知字段"),
    (GOOD.replace('source = "测试"\n', ""), None, "source"),
    (GOOD.replace('section = "甲"\npoints = 5\ntext', 'section = "乙"\npoints = 5\ntext'), 11, "不在 [[section]] 中"),
    (GOOD.replace('points = 5\ntext', 'points = -1\ntext'), 12, "points 必须是非负数"),
    (GOOD.replace('obligations = ["party_congress"]', 'obligations = ["tea_party"]'), 14, "tea_party"),
    (GOOD.replace('per_missed = 0.2', 'per_missed = 0.2, flags = ["late"]'), 14, "未知的问题标记"),
    (GOOD + '\n[[item]]\nid = "1"\nsection = "甲"\npoints = 1\ntext = "重复"\n', 17, "重复"),
    (GOOD.replace('[[section]]\nname = "甲"\npoints = 5\n', ""), None, "section"),
])
def test_sheet_check_names_the_line_and_the_reason(tmp_path: Path, rules, body, line, words):
    path = tmp_path / "t.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        read_sheet(path, set(rules.kinds))
    assert words in caught.value.reason
    assert caught.value.line == line, str(caught.value)


def test_cli_sheet_check_warns_but_passes_a_sheet_that_does_not_add_up(runner):
    result = runner.invoke(app, ["sheet", "check", str(DATA / "wujin-2016.toml")])
    assert result.exit_code == 0 and "检查通过" in result.output and "提醒" in result.output and "102" in result.output


def test_cli_sheet_check_fails_in_one_line(runner, tmp_path: Path):
    path = tmp_path / "t.toml"
    path.write_text(GOOD.replace('points = 5\ntext', 'points = "五"\ntext'), encoding="utf-8")
    result = runner.invoke(app, ["sheet", "check", str(path)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and f"{path}:12:" in result.stderr


@pytest.mark.parametrize("content, line, reason", [
    # tomllib's and the codec's words were shown: "Expected ']]' at the end of an array declaration (at line 2, column 10)".
    ("name = \"x\"\n[[item\n".encode(), 2, "TOML 语法错误（第7列附近）"),
    (b"\xff\xfename = 1\n", None, "不是 UTF-8 编码（第1个字节 0xFF）：请另存为 UTF-8"),
])
def test_cli_sheet_check_names_a_broken_file_in_chinese(runner, tmp_path: Path, content: bytes, line, reason: str):
    path = tmp_path / "t.toml"
    path.write_bytes(content)
    result = runner.invoke(app, ["sheet", "check", str(path)])
    where = f"{path}:{line}" if line else str(path)
    assert result.exit_code == 2 and result.stderr == f"错误：{where}: {reason}\n"


def test_cli_sheet_list_json(runner):
    rows = json.loads(runner.invoke(app, ["sheet", "list", "--format", "json"]).stdout)
    assert {r["name"] for r in rows} == {"village-2020", "two-new-2020", "wujin-2016", "grid-2023"}


def test_an_obligation_feeding_two_items_is_warned(tmp_path: Path, rules):
    body = GOOD + '\n[[item]]\nid = "2"\nsection = "甲"\npoints = 1\ntext = "x"\nauto = { obligations = ["party_congress"] }\n'
    path = tmp_path / "t.toml"
    path.write_text(body, encoding="utf-8")
    _, warnings = read_sheet(path, set(rules.kinds))
    assert any("重复扣分" in w for w in warnings)


def test_two_sheets_for_one_sector_are_refused(runner, tmp_path: Path, monkeypatch):
    """A county's sheet copied from village-2020 took over every 农村 branch, chosen by the file names' order, without a word."""
    import shutil

    from obligations.rules import load_rules

    body = (DATA / "village-2020.toml").read_text(encoding="utf-8").replace('name = "village-2020"', 'name = "gy-2026"')
    outside = tmp_path / "gy-2026.toml"
    outside.write_text(body, encoding="utf-8")
    checked = runner.invoke(app, ["sheet", "check", str(outside)])
    assert checked.exit_code == 2 and "评分表 gy-2026 与已安装的 village-2020" in checked.stderr and "都按领域适用于农村、社区" in checked.stderr
    data = tmp_path / "data"
    shutil.copytree(DATA.parent, data)
    (data / "scoresheets" / "gy-2026.toml").write_text(body, encoding="utf-8")
    # Installed all the same, it stops scoring the sector's branches, not every command.
    rules = load_rules(data)
    assert rules.sheets.shared == {"农村": ["gy-2026", "village-2020"], "社区": ["gy-2026", "village-2020"]}
    from compliance.assessment import pick_sheet
    from compliance.orgs import OrgIndex, OrgRow

    village = OrgRow(1, "V", "某村党支部", None, "某村党支部", "党支部", "农村", None, None, None, None, None, False, None)
    with pytest.raises(InputError, match="评分表 gy-2026.*village-2020.*都按领域适用于农村：一个领域只能有一份"):
        pick_sheet(rules, OrgIndex([village]), village, "tuhe-2021")
    assert pick_sheet(rules, OrgIndex([village]), village, "tuhe-2021", "village-2020").name == "village-2020"
    # Without sectors it is chosen only where named (a catalog's default_sheet, or --sheet).
    (data / "scoresheets" / "gy-2026.toml").write_text(body.replace('sectors = ["农村", "社区"]', "sectors = []"), encoding="utf-8")
    assert set(load_rules(data).sheets.sheets) >= {"gy-2026", "village-2020"} and load_rules(data).sheets.shared == {}
