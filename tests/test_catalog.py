"""Catalog inheritance and every `catalog check` error, with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from compliance.cli import app
from obligations.catalog import CatalogError
from obligations.rules import load_rules

DATA = Path(__file__).resolve().parent.parent / "data"


def test_tuhe_extends_the_baseline_and_overrides_by_slug(rules):
    tuhe, national = rules.catalog("tuhe-2021"), rules.catalog("national-2018")
    assert {o.slug for o in national.obligations} < {o.slug for o in tuhe.obligations}
    assert tuhe.obligation("life_meeting").window == "Q4"
    assert national.obligation("life_meeting").window is None
    # Overriding only the source keeps the inherited cadence and evidence rules.
    congress = tuhe.obligation("party_congress")
    assert congress.cadence == "quarterly" and congress.quorum == "full_members" and "seed 003" in congress.source


def test_wujin_life_meeting_every_half_year_drops_the_yearly_window(rules):
    wujin = rules.catalog("wujin-2016")
    assert wujin.obligation("life_meeting").cadence == "half_yearly"
    assert wujin.obligation("life_meeting").window is None
    assert wujin.obligation("lecture_plan").window == "Q1"


def test_every_obligation_names_its_source(rules):
    for catalog in rules.catalogs.values():
        for ob in catalog.obligations:
            assert ob.source.strip(), (catalog.name, ob.slug)


def test_village_terms_are_five_years_from_2018(rules):
    ob = rules.catalog("wujin-2016").obligation("committee_election")
    assert ob.term_years("农村") == 5 and ob.term_years("社区") == 5 and ob.term_years("机关") == 3


def _write(tmp_path: Path, body: str, name: str = "local.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


GOOD = """name = "local-2026"
extends = "tuhe-2021"
valid_from = 2026-01-01
source = "某镇文件"
drop = ["mobile_archive"]

[[obligation]]
slug = "joint_meeting"
cadence = "yearly"
source = "seed 000 组织建设 3"
"""


def test_a_local_catalog_can_extend_drop_and_add(tmp_path: Path):
    rules = load_rules(extra_catalog=_write(tmp_path, GOOD))
    local = rules.catalog("local-2026")
    slugs = [o.slug for o in local.obligations]
    assert "joint_meeting" in slugs and "mobile_archive" not in slugs and "study_day" in slugs
    assert local.obligation("joint_meeting").valid_from.isoformat() == "2026-01-01"


@pytest.mark.parametrize("body, line, words", [
    (GOOD.replace('cadence = "yearly"', 'cadence = "weekly"'), 9, "未知的周期"),
    (GOOD + '\n[[obligation]]\nslug = "joint_meeting"\ncadence = "yearly"\nsource = "x"\n', 13, "重复"),
    (GOOD.replace('source = "seed 000 组织建设 3"\n', ""), 7, "缺少 source"),
    (GOOD.replace('slug = "joint_meeting"', 'slug = "tea_party"'), 8, "未知的事项"),
    (GOOD.replace('extends = "tuhe-2021"', 'extends = "nowhere"'), 2, "不存在的规则集"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nevery = 2'), 10, "未知字段"),
    (GOOD.replace("valid_from = 2026-01-01", 'valid_from = "soon"'), 3, "valid_from"),
    (GOOD.replace('drop = ["mobile_archive"]', 'drop = ["records_review"]'), 5, "drop"),
    (GOOD.replace('source = "某镇文件"', 'source = "某镇文件'), 4, "TOML"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "dated"'), 9, "days"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nfrom_joining_month = true'), 10, "from_joining_month 只能用于"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nfrom_joining_month = "yes"'), 10, "true 或 false"),
])
def test_catalog_check_names_the_line_and_the_reason(tmp_path: Path, body: str, line: int, words: str):
    path = _write(tmp_path, body)
    with pytest.raises(CatalogError) as caught:
        load_rules(extra_catalog=path)
    assert caught.value.line == line, str(caught.value)
    assert words in caught.value.reason
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_cycle_of_extends_is_an_error(tmp_path: Path):
    folder = tmp_path / "data"
    (folder / "catalogs").mkdir(parents=True)
    (folder / "workdays").mkdir()
    (folder / "kinds.toml").write_text((DATA / "kinds.toml").read_text(encoding="utf-8"), encoding="utf-8")
    for name, parent in (("a", "b"), ("b", "c"), ("c", "a")):
        _write(folder / "catalogs", f'name = "{name}"\nextends = "{parent}"\nvalid_from = 2026-01-01\nsource = "x"\n', f"{name}.toml")
    with pytest.raises(CatalogError, match="循环") as caught:
        load_rules(folder)
    assert caught.value.line == 2


def test_cli_catalog_check_accepts_a_good_file(runner, tmp_path: Path):
    result = runner.invoke(app, ["catalog", "check", str(_write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    assert "local-2026" in result.output and "检查通过" in result.output


def test_cli_catalog_check_rejects_a_bad_file_in_one_line(runner, tmp_path: Path):
    path = _write(tmp_path, GOOD.replace('cadence = "yearly"', 'cadence = "weekly"'))
    result = runner.invoke(app, ["catalog", "check", str(path)])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"{path}:9:" in result.stderr and "weekly" in result.stderr


def test_cli_catalog_show_lists_obligations_with_sources(runner):
    result = runner.invoke(app, ["catalog", "show", "tuhe-2021", "--format", "json"])
    assert result.exit_code == 0
    import json

    rows = json.loads(result.stdout)
    study = next(r for r in rows if r["slug"] == "study_day")
    assert study["name"] == "固定学习日" and "10日、20日" in study["cadence"] and "seed 003" in study["source"]


def test_cli_catalog_show_unknown_name_lists_the_known(runner):
    result = runner.invoke(app, ["catalog", "show", "nowhere"])
    assert result.exit_code == 2 and "tuhe-2021" in result.stderr


def test_an_obligation_that_is_not_a_table_is_an_error_not_a_crash(tmp_path: Path):
    body = 'name = "x"\nvalid_from = 2026-01-01\nsource = "x"\nobligation = [1]\n'
    with pytest.raises(CatalogError, match="必须是") as caught:
        load_rules(extra_catalog=_write(tmp_path, body))
    assert caught.value.line == 4


def test_days_past_the_28th_are_refused(tmp_path: Path):
    body = GOOD.replace('cadence = "yearly"', 'cadence = "dated"\ndays = [31]')
    with pytest.raises(CatalogError, match="1–28"):
        load_rules(extra_catalog=_write(tmp_path, body))
