"""Catalog inheritance and every `catalog check` error, with its line."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from compliance.cli import app
from obligations.catalog import CatalogError
from obligations.rules import load_rules
from tests.conftest import write_csv

DATA = Path(__file__).resolve().parent.parent / "data"


def test_tuhe_extends_the_baseline_and_overrides_by_slug(rules):
    tuhe, national = rules.catalog("tuhe-2021"), rules.catalog("national-2018")
    assert {o.slug for o in national.obligations} < {o.slug for o in tuhe.obligations}
    assert tuhe.obligation("life_meeting").window == "Q4"
    assert national.obligation("life_meeting").window is None
    # Overriding only the source keeps the inherited cadence and evidence rules.
    congress = tuhe.obligation("party_congress")
    assert congress.cadence == "quarterly" and congress.quorum == "full_members" and "图发〔2021〕94号 §二(三)1" in congress.source


def test_tuhe_counts_the_member_review_meeting_as_a_party_congress_from_its_own_date(rules):
    tuhe, national = rules.catalog("tuhe-2021"), rules.catalog("national-2018")
    congress = tuhe.obligation("party_congress")
    assert congress.kinds == ("party_congress", "member_review") and national.obligation("party_congress").kinds == ("party_congress",)
    # a changed rule: the quarters begun before 图发〔2021〕94号 stay the national rule's
    assert congress.valid_from == tuhe.valid_from and congress.previous == national.obligation("party_congress")
    assert rules.counted_kinds()["party_congress"] == {"party_congress", "member_review"}
    # by catalog and the version in force when the period began (`Rules.kinds_counted`): what a ledger item's record is looked for by
    assert rules.kinds_counted("tuhe-2021", "party_congress", date(2026, 4, 1)) == {"party_congress", "member_review"}
    assert rules.kinds_counted("tuhe-2021", "party_congress", date(2021, 7, 1)) == {"party_congress"}
    assert rules.kinds_counted("national-2018", "party_congress", date(2026, 4, 1)) == {"party_congress"}
    # a catalog no longer loaded, or an obligation it lacks: the kinds any catalog counts for it
    assert rules.kinds_counted("haian-2030", "party_congress", date(2026, 4, 1)) == {"party_congress", "member_review"}
    assert rules.kinds_counted("national-2018", "no_such_duty", date(2026, 4, 1)) == {"no_such_duty"}


def test_a_catalog_extending_tuhe_may_count_the_member_review_meeting_no_more(tmp_path: Path):
    body = GOOD + '\n[[obligation]]\nslug = "party_congress"\nalso_counts = []\nsource = "某县文件"\n'
    local = load_rules(extra_catalog=_write(tmp_path, body)).catalog("local-2026")
    congress = local.obligation("party_congress")
    assert congress.kinds == ("party_congress",) and congress.previous.kinds == ("party_congress", "member_review")


def test_wujin_life_meeting_every_half_year_drops_the_yearly_window(rules):
    wujin = rules.catalog("wujin-2016")
    assert wujin.obligation("life_meeting").cadence == "half_yearly"
    assert wujin.obligation("life_meeting").window is None
    assert wujin.obligation("lecture_plan").window == "Q1"


def test_every_obligation_names_its_source(rules):
    for catalog in rules.catalogs.values():
        for ob in catalog.obligations:
            assert ob.source.strip(), (catalog.name, ob.slug)


def test_sources_shown_to_users_name_documents_not_the_projects_seed_numbers():
    """`catalog show` said 出处「seed 003 §二(三)1」: the project's own number for a document, which no township knows (try-out)."""
    import tomllib

    for path in sorted(DATA.rglob("*.toml")):
        def walk(value: object, where: str) -> None:
            if isinstance(value, dict):
                for key, inner in value.items():
                    walk(inner, f"{where}.{key}")
            elif isinstance(value, list):
                for i, inner in enumerate(value):
                    walk(inner, f"{where}[{i}]")
            elif isinstance(value, str):
                assert "seed" not in value.lower(), (path.name, where, value)

        walk(tomllib.loads(path.read_text(encoding="utf-8")), path.stem)


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
    # An author's slips: a quoted date, a missing date said as "must be a date", days that do nothing, misspellings.
    (GOOD.replace("valid_from = 2026-01-01", 'valid_from = "2026-07-01"'), 3, "是文字：日期不加引号，写作 valid_from = 2026-07-01"),
    (GOOD.replace("valid_from = 2026-01-01\n", ""), 1, "缺少字段 valid_from"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "monthly"\ndays = [5]'), 10, "days 只用于 dated 周期"),
    (GOOD.replace('cadence = "yearly"', 'cadance = "yearly"'), 9, "未知字段 'cadance'（是否应为 'cadence'？）"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "quartely"'), 9, "未知的周期 cadence（是否应为 'quarterly'？）"),
    (GOOD.replace('slug = "joint_meeting"', 'slug = "party_lectrue"'), 8, "未知的事项 slug 'party_lectrue'（是否应为 'party_lecture'？）"),
    (GOOD.replace('slug = "joint_meeting"', 'slug = "党课"'), 8, "未知的事项 slug '党课'（「党课」的 slug 是 'party_lecture'）"),
    # A share of those due: a fraction below one, and only where there is a quorum to share.
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nquorum = "full_members"\nquorum_share = "3/2"'), 11, "小于 1 的分数"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nquorum = "full_members"\nquorum_share = "1/2以上"'), 11, "不能低于过半数"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nquorum = "full_members"\nquorum_share = 0.67'), 11, "如 \"2/3\""),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nquorum_share = "2/3"'), 10, "quorum_share 只能用于有 quorum"),
    # Below half would loosen 过半数.
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nquorum = "full_members"\nquorum_share = "1/3"'), 11, "不能低于过半数"),
    # Kinds of record counted too: known kinds, in a list, not for terms or dues, not its own.
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nalso_counts = ["tea_party"]'), 10, "also_counts 必须是已知记录类型的列表"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nalso_counts = "member_review"'), 10, "also_counts 必须是已知记录类型的列表"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "term"\nyears = 3\nalso_counts = ["member_review"]'), 11, "不能用于换届"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nalso_counts = ["joint_meeting"]'), 10, "不必列出它自己"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nalso_counts = ["member_review", "member_review"]'), 10, "每种只写一次"),
    (GOOD.replace('cadence = "yearly"', 'cadence = "yearly"\nalso_counts = [["member_review"]]'), 10, "also_counts 必须是已知记录类型的列表"),
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
    assert study["name"] == "固定学习日" and "10日、20日" in study["cadence"] and "图发〔2021〕94号" in study["source"]
    congress = next(r for r in rows if r["slug"] == "party_congress")
    assert congress["evidence"].endswith("；民主评议党员的记录也计入（按本项要求判断）")


def test_cli_catalog_show_without_a_name_shows_the_databases_catalog(runner, tmp_path: Path):
    """An error sent a secretary to `catalog show`, which then asked for a catalog's name she did not know (try-out)."""
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "wujin-2016"]).exit_code == 0
    result = runner.invoke(app, db + ["catalog", "show", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    assert "secretary_lecture" in {r["slug"] for r in json.loads(result.stdout)}      # wujin-2016's own obligation
    named = runner.invoke(app, db + ["catalog", "show", "tuhe-2021", "--format", "json"])
    assert "secretary_lecture" not in {r["slug"] for r in json.loads(named.stdout)}


def test_cli_catalog_show_without_a_name_shows_the_organizations_catalog(runner, tmp_path: Path):
    """Without a name it showed the database's default, though the secretary's township follows a local catalog (try-out)."""
    import json

    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    orgs = "名称,代码,上级,类型,执行规定\n武进镇党委,WJ,,乡镇党委,wujin-2016\n东村党支部,DC,武进镇党委,党支部,\n图河镇党委,TH,,乡镇党委,"
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "o.csv", orgs))]).exit_code == 0
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "东书记", "--role", "支部书记", "--org", "DC"]).exit_code == 0

    def shown(user: str, *options: str) -> set[str]:
        done = runner.invoke(app, db + ["--user", user, "catalog", "show", *options, "--format", "json"])
        assert done.exit_code == 0, done.output
        return {r["slug"] for r in json.loads(done.stdout)}

    assert "secretary_lecture" in shown("东书记")                       # her branch's, inherited from its township
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "武进镇办", "--role", "乡镇", "--org", "WJ"]).exit_code == 0
    assert "secretary_lecture" in shown("武进镇办")                     # a township user's: the township's own (review)
    assert "secretary_lecture" not in shown("县管理员")                   # the database's default
    assert "secretary_lecture" in shown("县管理员", "--org", "东村党支部")
    assert "secretary_lecture" not in shown("东书记", "tuhe-2021")
    both = runner.invoke(app, db + ["--user", "县管理员", "catalog", "show", "tuhe-2021", "--org", "DC"])
    assert both.exit_code == 2 and "规则集名称与 --org 只能给出其一" in both.stderr
    other = runner.invoke(app, db + ["--user", "东书记", "catalog", "show", "--org", "图河镇党委"])
    assert other.exit_code != 0


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


def _data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA, folder)
    return folder


def test_a_copy_of_a_catalog_keeping_its_name_fails_its_check(runner, tmp_path: Path, monkeypatch):
    """A copy of tuhe-2021 left with its name passed `catalog check`, then every command refused the folder."""
    folder = _data_copy(tmp_path)
    monkeypatch.setenv("COMPLIANCE_DATA", str(folder))
    copy = folder / "catalogs" / "guanyun.toml"
    copy.write_text((DATA / "catalogs" / "tuhe-2021.toml").read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["catalog", "check", str(copy)])
    assert result.exit_code == 2
    assert f"guanyun.toml:2: 规则集名称 'tuhe-2021' 与同一目录中的 {folder / 'catalogs' / 'tuhe-2021.toml'} 重复：新的规则集须改用新名称" in result.stderr
    # Edited elsewhere, it is checked as the new version of the installed one.
    copy.unlink()
    outside = tmp_path / "tuhe-2021.toml"
    outside.write_text((DATA / "catalogs" / "tuhe-2021.toml").read_text(encoding="utf-8"), encoding="utf-8")
    assert runner.invoke(app, ["catalog", "check", str(outside)]).exit_code == 0


@pytest.mark.parametrize("extra, line, words", [
    # A second 「党课」 took the word over: `log 党课` made records that counted for nothing.
    ('[[kind]]\nslug = "volunteer_service2"\nname = "党课"\n', 3, "「党课」已是记录类型 'party_lecture' 的名称或别名，不能再用于 'volunteer_service2'"),
    ('[[kind]]\nslug = "party_lecture"\nname = "党课2"\n', 2, "记录类型 'party_lecture' 重复"),
    ('[[kind]]\nslug = "x_kind"\nnmae = "某活动"\n', 3, "未知字段 'nmae'"),
    ('[[kind]]\nslug = "x_kind"\naliases = ["支部党员大会"]\nname = "某活动"\n', 3, "「支部党员大会」已是记录类型 'party_congress'"),
    ('[[kind\nslug = "x"\n', 1, "TOML 语法错误"),
])
def test_a_bad_vocabulary_is_named_by_file_line_and_reason(tmp_path: Path, extra: str, line: int, words: str):
    folder = _data_copy(tmp_path)
    kinds = folder / "kinds.toml"
    before = kinds.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    kinds.write_text(before + extra, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_rules(folder)
    assert caught.value.path == str(kinds) and words in caught.value.reason
    assert caught.value.line == before.count("\n") + line


def test_a_missing_rule_file_is_named(tmp_path: Path):
    """A data folder without grading.toml ended every command in a FileNotFoundError traceback."""
    folder = _data_copy(tmp_path)
    (folder / "grading.toml").unlink()
    with pytest.raises(CatalogError) as caught:
        load_rules(folder)
    assert str(caught.value) == f"{folder / 'grading.toml'}: 文件不存在（规则目录不全：请从本软件的 data 目录复制）"


def test_a_county_tightens_the_quorum_to_two_thirds_and_catalog_show_says_so(runner, tmp_path: Path):
    """No catalog could ask for more than 过半: a county requiring two thirds at a 党员大会 had no way to write it."""
    from compliance.report.catalogs import evidence_text
    from obligations.catalog import parse_share

    body = ('name = "county-2026"\nextends = "national-2018"\nvalid_from = 2026-01-01\nsource = "某县组发〔2026〕3号"\n\n'
            '[[obligation]]\nslug = "party_congress"\nquorum_share = "2/3"\nsource = "某县组发〔2026〕3号"\n')
    rules = load_rules(extra_catalog=_write(tmp_path, body))
    tightened = rules.catalog("county-2026").obligation("party_congress")
    assert tightened.quorum == "full_members" and tightened.quorum_share == (2, 3, 0)
    assert tightened.previous is not None and tightened.previous.quorum_share == (1, 2, 0)
    assert evidence_text(tightened).startswith("正式党员超过三分之二到会")
    assert evidence_text(rules.catalog("national-2018").obligation("party_congress")).startswith("正式党员过半数到会")
    # Written in higher terms, a share is kept in its lowest: 4/6 is 三分之二, not 六分之四.
    assert (parse_share("4/6"), parse_share(" 1 / 2 "), parse_share("5/5"), parse_share("2/5")) == ((2, 3, 0), (1, 2, 0), None, None)
    # 以上 includes the number (two thirds will do); so do >= and ≥; 半数以上 would loosen 过半数.
    assert (parse_share("2/3以上"), parse_share(">=2/3"), parse_share("≥ 4/6"), parse_share("1/2以上"), parse_share(">=2/3以上")) == (
        (2, 3, 1), (2, 3, 1), (2, 3, 1), None, None)
    assert evidence_text(replace(tightened, quorum_share=(2, 3, 1))).startswith("正式党员三分之二以上到会")
    # The ledger's measure says what is asked of those present.
    from compliance.report.labels import quorum_words

    assert [quorum_words(s) for s in ((1, 2, 0), (2, 3, 0), (2, 3, 1))] == [
        "超过应到人数的半数", "超过应到人数的三分之二", "达到应到人数的三分之二以上"]


def test_the_catalog_example_that_messages_point_to_passes_its_check(runner):
    """Messages about catalogs sent users to the README's "Adding a catalog"; they name a commented example in Chinese."""
    from obligations.paths import example_file

    example = example_file("catalog.toml")
    result = runner.invoke(app, ["catalog", "check", str(example)])
    assert result.exit_code == 0 and "规则集 haian-2026 检查通过" in result.stdout, result.output
    assert "valid_from" in example.read_text(encoding="utf-8")
