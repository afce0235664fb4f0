"""`org move`: an organization put under another superior, with what is kept about it; on SQLite and PostgreSQL."""

import json
from datetime import date
from pathlib import Path

import pytest

from compliance import importing, reorg
from compliance.access import Actor, PermissionDenied
from compliance.errors import InputError
from compliance.orgs import OrgIndex
from compliance.store import Store
from compliance.report.bulletin import comparison_text
from compliance.supervision import moved_notice, supervise
from compliance.tracking import Window, org_status, overdue
from tests.conftest import TOWN_ORGS, write_csv

VILLAGE = "图河镇党委/朱庄村党总支"
BRANCH = VILLAGE + "/第一党支部"


def _records(store: Store, rules, tmp_path: Path) -> None:
    rows = [f"{BRANCH},主题党日,2026-{m:02d}-05,,,学习,,,,a.jpg" for m in range(1, 9)]
    head = "党组织,类型,日期,应到,实到,主题,书记签字,记录人签字,党小组,图片\n"
    importing.import_records(store, rules, write_csv(tmp_path / "r.csv", head + "\n".join(rows)))


def _paths(store: Store) -> set[str]:
    return {o.path for o in store.orgs()}


def test_a_village_moved_to_another_township_takes_its_records_ledger_and_start(town: Store, rules, tmp_path: Path):
    _records(town, rules, tmp_path)
    first = supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 20))
    mine = {(g.obligation, g.period) for g in first.gaps if g.org.startswith(VILLAGE)}
    assert mine
    # A township tracked from a later day: the village keeps its own start, or its 2025 and early 2026 gaps would vanish.
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,代码,领域,执行规定,启用日期\n"
                                                                   "新集镇党委,,乡镇党委,XJ,农村,tuhe-2021,2026-07-01"))
    done = reorg.move_org(town, "朱庄村党总支", "新集镇党委", "撤并村合并", fallback="tuhe-2021")
    assert done["from"] == VILLAGE and done["to"] == "新集镇党委/朱庄村党总支" and done["moved"] == 3
    assert done["pinned"] == {"tracked_from": date(2025, 1, 1)} and done["untracked"] is None and done["jobs"] == []
    assert {"新集镇党委/朱庄村党总支/第一党支部", "新集镇党委/朱庄村党总支/第二党支部", "图河镇党委/马屯村党支部"} <= _paths(town)
    assert not any(p.startswith(VILLAGE) for p in _paths(town))
    moved = OrgIndex(town.orgs()).resolve("新集镇党委/朱庄村党总支/第一党支部")
    day = date(2026, 11, 20)
    # Its records went with it: the months it held a 主题党日 are met there.
    found = {(f.obligation, f.period): f.status for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day))}
    assert moved.code == "ZZ1" and found[("theme_day", "2026-03")] == "met" and found[("theme_day", "2026-10")] != "met"
    listed = overdue(town, rules, "新集镇党委", Window(date(2026, 1, 1), day, day))
    assert {(f.obligation, f.period) for f in listed if f.status != "due" and f.org.startswith("新集镇党委/朱庄村党总支")} == mine
    # Its ledger items went with it: the new township's run opens none again for the same gaps, only the township's own
    # (its mobile members are now the new township's to keep on file).
    again = supervise(town, rules, "新集镇党委", "2026-11", day)
    assert again.opened == sum(1 for g in again.gaps if g.org == "新集镇党委") == 1
    assert {(r.obligation, r.period) for r in again.ledger} >= mine
    assert not any(f.org.startswith(VILLAGE) for f in overdue(town, rules, "图河镇党委", Window(date(2026, 1, 1), day, day)))
    entry = [e for e in town.audit_log() if e.action == "move"]
    assert len(entry) == 1 and json.loads(entry[0].detail)["from"] == VILLAGE and entry[0].reason == "撤并村合并"


def test_a_move_that_cannot_be_is_refused_and_writes_nothing(town: Store, rules, tmp_path: Path):
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,撤销日期\n新集镇党委,,乡镇党委,\n"
                                                                   "朱庄村党总支,新集镇党委,党总支,\n旧镇党委,,乡镇党委,2026-06-30"))
    before = _paths(town)
    cases = [(VILLAGE, BRANCH, "是「图河镇党委/朱庄村党总支」的下级，不能移到其下"),
             (VILLAGE, VILLAGE, "本身"),
             (VILLAGE, "图河镇党委", "已在「图河镇党委」下，未移动"),
             ("图河镇党委/马屯村党支部", BRANCH, "上级是党支部"),
             (VILLAGE, "新集镇党委", "「新集镇党委」下已有「朱庄村党总支」"),
             (VILLAGE, "旧镇党委", "已于 2026-06-30 撤销")]
    for ref, to, said in cases:
        with pytest.raises(InputError) as refused:
            reorg.move_org(town, ref, to)
        assert said in str(refused.value), (ref, to, str(refused.value))
    with pytest.raises(InputError, match="--reason"):
        reorg.move_org(town, "图河镇党委/马屯村党支部", "新集镇党委", " ")
    # A township's user may not take a village into another township.
    with pytest.raises(PermissionDenied):
        reorg.move_org(town, "图河镇党委/马屯村党支部", "新集镇党委", actor=Actor("周海", "township", "图河镇党委"))
    assert _paths(town) == before and not [e for e in town.audit_log() if e.action == "move"]


def test_the_month_after_a_move_does_not_count_the_gaps_moved_away_as_made_good(town: Store, rules, tmp_path: Path):
    """The township's next run compared its gaps with the month before's, the village's among them, and found the village's
    all made good: they had only moved to another township."""
    _records(town, rules, tmp_path)
    october = supervise(town, rules, "图河镇党委", "2026-10", date(2026, 10, 26))
    village = {g.org_id for g in october.gaps if g.org.startswith(VILLAGE + "/")}
    assert village
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新集镇党委,,乡镇党委"))
    reorg.move_org(town, VILLAGE, "新集镇党委")
    november = supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 20))
    c = november.comparison
    assert not [g for g in c.closed_gaps if g.org_id in village] and not [o for o, _, _ in c.better if o.startswith(VILLAGE)]
    assert set(c.moved_out) == {g.org for g in october.gaps if g.org_id in village}
    assert "已调整隶属关系、不在本次督查范围" in comparison_text(c, 2026, "图河镇党委")


def test_a_branch_moved_within_the_township_is_compared_once_by_its_path_now(town: Store, rules, tmp_path: Path):
    """Counted by the path its findings had: the month before's under the old one (better, to 0) and this month's under
    the new one (worse, from 0)."""
    october = supervise(town, rules, "图河镇党委", "2026-10", date(2026, 10, 26))
    moved = VILLAGE + "/第二党支部"
    assert any(g.org == moved for g in october.gaps)
    reorg.move_org(town, moved, "图河镇党委")
    c = supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 20)).comparison
    named = [o for o, _, _ in c.better + c.worse]
    assert moved not in named and named.count("图河镇党委/第二党支部") == 1 and not c.moved_out, (c.better, c.worse)
    assert not [g for g in c.closed_gaps if g.org == moved]


def test_a_move_takes_no_other_tree_whose_name_differs_in_case(store: Store, rules, tmp_path: Path):
    """SQLite's LIKE ignores the case of Latin letters: moving ABC党委 rewrote abc党委's branch too (review)."""
    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\nABC党委,,党委\n甲支部,ABC党委,党支部\n"
                                                                    "abc党委,,党委\n乙支部,abc党委,党支部\nXY县委,,县委"))
    assert reorg.move_org(store, "ABC党委", "XY县委")["moved"] == 2
    assert {"XY县委/ABC党委", "XY县委/ABC党委/甲支部", "abc党委", "abc党委/乙支部"} <= _paths(store)


def test_a_superior_moved_meanwhile_stops_the_move(town: Store, rules, tmp_path: Path):
    """The new path was made from the superior's path as read: moved by another since, the paths and the tree disagreed."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新集镇党委,,乡镇党委\nXY县委,,县委"))
    index = OrgIndex(town.orgs())
    village, target = index.resolve(VILLAGE), index.resolve("新集镇党委")
    reorg.move_org(town, "新集镇党委", "XY县委")
    before = _paths(town)
    assert town.move_org(village.id, village.path, target.id, target.path, {}, None) is None and _paths(town) == before


def test_an_import_tells_a_kept_organization_from_a_new_one_of_its_name(town: Store, rules, tmp_path: Path):
    """A township under a new county is refused, as the same one; so is the file of before written at the top again after a
    move (an empty twin was made, review); a branch of a name alone at the top is not taken for a village's (review)."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "a.csv", "名称,上级,类型\n第一党支部,,党支部\n沭河县委,,县委"))
    added = importing.import_orgs(town, rules, write_csv(tmp_path / "b.csv", "名称,上级,类型\n西村党总支,图河镇党委,党总支\n"
                                                                           "第一党支部,西村党总支,党支部"))
    assert added.added == 2
    reorg.move_org(town, "图河镇党委", "沭河县委")
    with pytest.raises(InputError) as refused:
        importing.import_orgs(town, rules, write_csv(tmp_path / "c.csv", "名称,上级,类型\n图河镇党委,,乡镇党委\n东村党支部,图河镇党委,党支部"))
    assert "第2行「名称」列：值「图河镇党委」：该党组织已于 2026-12-05 调整隶属关系，现为「沭河县委/图河镇党委」：如是同一党组织，" \
           "请把「上级」改为 沭河县委" in str(refused.value), str(refused.value)
    with pytest.raises(InputError) as coded:
        importing.import_orgs(town, rules, write_csv(tmp_path / "d.csv", "名称,上级,类型,代码\n图河镇党委,,乡镇党委,TH"))
    assert "值「TH」：该党组织已于 2026-12-05 调整隶属关系，现为「沭河县委/图河镇党委」" in str(coded.value), str(coded.value)
    # One kept under the county from the first, written at the top: no move to name, the same name and type.
    importing.import_orgs(town, rules, write_csv(tmp_path / "e.csv", "名称,上级,类型\n新集镇党委,沭河县委,乡镇党委"))
    with pytest.raises(InputError) as top:
        importing.import_orgs(town, rules, write_csv(tmp_path / "f.csv", "名称,上级,类型\n新集镇党委,,乡镇党委"))
    assert "已有同名的乡镇党委「沭河县委/新集镇党委」，导入不能改变已有党组织的上级：如是同一党组织，请在「上级」列写明 沭河县委" \
           in str(top.value), str(top.value)


def test_a_move_keeps_the_rules_and_sector_its_past_was_judged_by(town: Store, rules, tmp_path: Path):
    """Under a township with other rules, its months gone by were judged again by them, and the next run closed its ledger's
    固定学习日 items as no longer owed (try-out); a village's branch under a superior without a sector lost its 5-year terms."""
    _records(town, rules, tmp_path)
    first = supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 20))
    assert any(g.obligation == "study_day" and g.org.startswith(VILLAGE) for g in first.gaps)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,执行规定\n新集镇党委,,乡镇党委,national-2018\n"
                                                                   "新集第一党支部,新集镇党委,党支部,"))
    done = reorg.move_org(town, VILLAGE, "新集镇党委", fallback="tuhe-2021")
    assert done["pinned"] == {"tracked_from": date(2025, 1, 1), "catalog": "tuhe-2021", "sector": "农村"}, done
    assert (done["catalog_there"], done["sector_there"], done["emptied"]) == ("national-2018", None, None)
    moved = OrgIndex(town.orgs()).resolve("新集镇党委/朱庄村党总支")
    assert (moved.catalog, moved.sector, moved.tracked_from) == ("tuhe-2021", "农村", date(2025, 1, 1))
    again = supervise(town, rules, "新集镇党委", "2026-11", date(2026, 11, 20))
    assert again.closed == 0 and {(g.obligation, g.period) for g in again.gaps if g.org.startswith("新集镇党委/朱庄村")} == \
        {(g.obligation, g.period) for g in first.gaps if g.org.startswith(VILLAGE)}
    # The last branch of the township taken away: the township is said to have none left.
    last = reorg.move_org(town, "图河镇党委/马屯村党支部", "新集镇党委", fallback="tuhe-2021")
    assert last["emptied"] == ("图河镇党委", "乡镇党委"), last


def test_the_file_of_before_a_move_is_refused_naming_where_it_went(town: Store, rules, tmp_path: Path):
    """Imported again after the move, the township's file of before made an empty 朱庄村党总支 where it had been, and its
    coded rows were told to move it back (try-out)."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新集镇党委,,乡镇党委"))
    reorg.move_org(town, VILLAGE, "新集镇党委")
    for name, text in (("uncoded.csv", "名称,上级,类型\n图河镇党委,,乡镇党委\n朱庄村党总支,图河镇党委,党总支\n第三党支部,朱庄村党总支,党支部"),
                       ("coded.csv", TOWN_ORGS)):
        with pytest.raises(InputError) as refused:
            importing.import_orgs(town, rules, write_csv(tmp_path / name, text))
        said = str(refused.value)
        assert "该党组织已于 2026-" in said and "调整隶属关系，现为「新集镇党委/朱庄村党总支」：如是同一党组织，请把「上级」改为 新集镇党委" in said, said
        assert "org move" not in said
    assert not [p for p in _paths(town) if p.startswith(VILLAGE)]


def test_the_township_a_village_moved_into_does_not_count_its_gaps_as_new(town: Store, rules, tmp_path: Path):
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,启用日期\n新集镇党委,,乡镇党委,2025-01-01\n"
                                                                   "新集第一党支部,新集镇党委,党支部,"))
    supervise(town, rules, "新集镇党委", "2026-10", date(2026, 10, 26))
    reorg.move_org(town, VILLAGE, "新集镇党委")
    c = supervise(town, rules, "新集镇党委", "2026-11", date(2026, 11, 20)).comparison
    assert set(c.moved_in) >= {"新集镇党委/朱庄村党总支/第一党支部", "新集镇党委/朱庄村党总支/第二党支部"}, c.moved_in
    assert not [g for g in c.new_gaps if g.org.startswith("新集镇党委/朱庄村")] and \
        not [o for o, _, _ in c.worse if o.startswith("新集镇党委/朱庄村")]
    assert "系2026-10督查后调入本范围，其问题不计为新增" in comparison_text(c, 2026, "新集镇党委")


def test_those_below_keep_the_day_they_are_checked_from(town: Store, rules, tmp_path: Path):
    """The start set on it was its own (its 成立日期, the later): its branches, which inherit the 启用日期 through it, were
    checked from the new township's day instead (review)."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,成立日期,启用日期\n新集镇党委,,乡镇党委,,2026-07-01\n"
                                                                   "西村党总支,图河镇党委,党总支,2026-09-01,\n西村第一党支部,西村党总支,党支部,,"))
    done = reorg.move_org(town, "图河镇党委/西村党总支", "新集镇党委")
    assert done["pinned"] == {"tracked_from": date(2025, 1, 1), "sector": "农村"} and not done["founding"], done
    index = OrgIndex(town.orgs())
    assert index.tracked_from_of(index.resolve("新集镇党委/西村党总支/西村第一党支部")) == date(2025, 1, 1)


def test_a_township_moved_under_a_county_brings_nothing_into_its_own_scope(town: Store, rules, tmp_path: Path):
    """Everything below a township moved under a county was taken as moved into the township's own scope, and a branch
    moved away and back as moved in (review)."""
    # 新村党支部, founded in November, has gaps this month and none the month before: new ones, not moved in.
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,成立日期\n沭河县委,,县委,\n新集镇党委,,乡镇党委,\n"
                                                                   "新村党支部,图河镇党委,党支部,2026-11-01"))
    supervise(town, rules, "图河镇党委", "2026-10", date(2026, 10, 26))
    reorg.move_org(town, "图河镇党委/马屯村党支部", "新集镇党委")
    reorg.move_org(town, "新集镇党委/马屯村党支部", "图河镇党委")
    reorg.move_org(town, "图河镇党委", "沭河县委")
    c = supervise(town, rules, "沭河县委/图河镇党委", "2026-11", date(2026, 11, 20)).comparison
    assert c.moved_in == () and c.moved_out == () and any(g.org == "沭河县委/图河镇党委/新村党支部" for g in c.new_gaps), c


def test_a_new_organization_where_one_was_moved_from_is_no_file_of_before(town: Store, rules, tmp_path: Path):
    """A new 朱庄村党总支 set up where the old one left, and its branches, were refused as the file of before (review)."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新集镇党委,,乡镇党委"))
    reorg.move_org(town, VILLAGE, "新集镇党委")
    both = importing.import_orgs(town, rules, write_csv(tmp_path / "n.csv", "名称,上级,类型,代码\n朱庄村党总支,图河镇党委,党总支,NEWZZ\n"
                                                                          "第一党支部,图河镇党委/朱庄村党总支,党支部,"))
    assert both.added == 2
    later = importing.import_orgs(town, rules, write_csv(tmp_path / "m.csv", "名称,上级,类型\n第三党支部,图河镇党委/朱庄村党总支,党支部"))
    assert later.added == 1 and {VILLAGE + "/第一党支部", VILLAGE + "/第三党支部", "新集镇党委/朱庄村党总支/第一党支部"} <= _paths(town)


def test_a_month_before_a_move_supervised_again_says_it_uses_the_tree_of_today(town: Store, rules, tmp_path: Path):
    """October run again after a village moved in counted it in the new township's October, without a word (try-out)."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新集镇党委,,乡镇党委\n新集第一党支部,新集镇党委,党支部"))
    before = supervise(town, rules, "新集镇党委", "2026-10", date(2026, 10, 26))
    assert moved_notice(town, before) is None
    reorg.move_org(town, VILLAGE, "新集镇党委")
    again = supervise(town, rules, "新集镇党委", "2026-10", date(2026, 10, 28))
    said = moved_notice(town, again)
    assert said is not None and "2026-10-28 之后有党组织调整了隶属关系（新集镇党委/朱庄村党总支）" in said, said
    assert "新集镇党委/朱庄村党总支" in moved_notice(town, supervise(town, rules, "图河镇党委", "2026-10", date(2026, 10, 28)))
