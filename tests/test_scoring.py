"""Scoring read like an assessment: findings and deductions in, points, grades, bars and ranks out."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from compliance.evaluate import Finding
from compliance.scoring import Deduction, auto_deductions, quota_warnings, rank, score_org


def gap(obligation: str, period: str, status: str = "missed", flags: tuple[str, ...] = (), name: str = "党员大会") -> Finding:
    return Finding(1, "镇/村/支部", obligation, name, period, status, date(2026, 9, 30), None, (), flags)


@pytest.fixture
def village(rules):
    return rules.sheet("village-2020")


@pytest.fixture
def wujin(rules):
    return rules.sheet("wujin-2016")


def test_each_missed_meeting_takes_its_points_off_the_three_meetings_item(rules, village):
    found = [gap("party_congress", "2026-Q3"), gap("branch_committee", "2026-07", name="支委会"),
             gap("group_meeting", "2026-08", "invalid", name="党小组会")]
    s = score_org(village, rules.grading, 1, "x", "2026-Q3", found)
    item = next(i for i in s.items if i.item.id == "二.2")
    assert len(item.deductions) == 3 and item.score == pytest.approx(3 - 0.6)
    assert s.total == pytest.approx(100 - 0.6)
    assert "党员大会 2026-Q3 逾期未完成" in item.deductions[0].reason


@pytest.mark.parametrize("sheet, item", [("village-2020", "三.3"), ("two-new-2020", "三.3")])
def test_unpaid_dues_take_points_off_the_dues_item_of_each_sheet_that_has_one(rules, sheet, item):
    """The two-new sheet's 党费按月收缴 deducted nothing: its branch ranked first with six members' December dues unpaid."""
    found = [gap("dues", "2026-12", name="党费")._replace(member=f"党员{i}") for i in range(6)]
    s = score_org(rules.sheet(sheet), rules.grading, 1, "x", "2026-Q4", found)
    dues = next(i for i in s.items if i.item.id == item)
    assert "党费" in dues.item.text and len(dues.deductions) == 6 and s.total == pytest.approx(100 - 0.6)


def test_an_item_never_goes_below_zero(rules, village):
    found = [gap(kind, f"2026-{m:02d}", name=name) for m in range(1, 13)
             for kind, name in (("branch_committee", "支委会"), ("group_meeting", "党小组会"))]
    s = score_org(village, rules.grading, 1, "x", "2026", found)
    item = next(i for i in s.items if i.item.id == "二.2")
    assert item.score == 0 and sum(d.points for d in item.deductions) == pytest.approx(24 * 0.2)
    assert s.total == pytest.approx(97)


def test_flags_on_met_periods_deduct_only_where_the_item_names_them(rules, village):
    found = [gap("party_congress", "2026-Q3", "met", ("unsigned",)), gap("theme_day", "2026-08", "met", ("incomplete_evidence",), "主题党日")]
    s = score_org(village, rules.grading, 1, "x", "2026-Q3", found)
    by_id = {i.item.id: i for i in s.items}
    assert by_id["二.2"].deducted == pytest.approx(0.1)
    assert by_id["四.1"].deducted == pytest.approx(0.2)
    assert len(auto_deductions(village, found)) == 2


def test_manual_deductions_add_to_automatic_ones(rules, village):
    s = score_org(village, rules.grading, 1, "x", "2026-Q3", [gap("party_congress", "2026-Q3")],
                  [Deduction("二.2", 1.0, "记录本未使用县委统一印制版本")])
    assert next(i for i in s.items if i.item.id == "二.2").score == pytest.approx(1.8)


@pytest.mark.parametrize("total, grade", [(59.9, "差"), (60, "一般"), (79.9, "一般"), (80, "良好"), (89.9, "良好"), (90, "优秀"), (100, "优秀")])
def test_grade_bands(rules, total, grade):
    assert rules.grading.grade(total) == grade


def _wujin_score(rules, wujin, lost: float, vetoes=()):
    """Take `lost` points off items 20, 19 and 17 (8, 8 and 6 points), in that order."""
    deductions = []
    for item, room in (("20", 8.0), ("19", 8.0), ("17", 6.0)):
        take = min(lost, room)
        if take > 0:
            deductions.append(Deduction(item, take, "检查组扣分"))
        lost -= take
    return score_org(wujin, rules.grading, 1, "x", "2026", [], deductions, vetoes)


def test_wujin_sheet_keeps_its_published_102_points(rules, wujin):
    s = _wujin_score(rules, wujin, 0)
    assert s.total == 102 and s.max_total == 102


@pytest.mark.parametrize("lost, qualified", [(17, True), (17.5, False)])
def test_85_point_bar(rules, wujin, lost, qualified):
    s = _wujin_score(rules, wujin, lost)
    assert s.total == pytest.approx(102 - lost) and s.qualified is qualified


def test_a_veto_fails_the_bar_whatever_the_score(rules, wujin):
    s = _wujin_score(rules, wujin, 0, ["党支部书记缺职"])
    assert s.total == 102 and s.qualified is False and s.vetoes == ("党支部书记缺职",)
    # And the grade: 优秀 beside 不合格 contradicted itself, and was counted among the 优秀 (try-out).
    assert s.grade == "差" and _wujin_score(rules, wujin, 0).grade == "优秀"


def test_a_sheet_without_a_bar_says_nothing_about_qualifying(rules, village):
    assert score_org(village, rules.grading, 1, "x", "2026", []).qualified is None


def _scores(rules, village, totals):
    base = score_org(village, rules.grading, 1, "x", "2026", [])
    return [replace(base, org_id=i, org=f"镇/支部{i}", total=t, grade=rules.grading.grade(t), group="镇") for i, t in enumerate(totals)]


def test_rank_within_the_township_shares_ties(rules, village):
    ranked = rank(_scores(rules, village, [88, 95, 88, 70]))
    assert [(s.total, s.rank) for s in ranked] == [(95, 1), (88, 2), (88, 2), (70, 4)]


def test_branches_are_ranked_among_those_their_sheet_assesses(rules, village):
    """A 机关 branch with all of the grid sheet's 98 points ranked below a 两新 branch's 98.9 of 100: one list, raw points,
    unlike sheets (try-out). Each sheet's branches are ranked among themselves, as they are graded."""
    scores = _scores(rules, village, [95, 98.9, 90, 98])
    scores[3] = replace(scores[3], sheet="grid-2023")
    scores[1] = replace(scores[1], sheet="two-new-2020")
    ranked = rank(scores)
    assert {(s.sheet, s.total, s.rank) for s in ranked} == {("village-2020", 95, 1), ("village-2020", 90, 2),
                                                            ("two-new-2020", 98.9, 1), ("grid-2023", 98, 1)}
    # The table shows each sheet's list apart: 1, 1, 1, 2 in one list read as a miscount (migration try-out).
    from rich.console import Console

    from compliance.report.assessments import print_scores

    console = Console(record=True, width=200)
    print_scores(console, ranked, [], "镇")
    lines = console.export_text().splitlines()
    rows = [i for i, line in enumerate(lines) if line.startswith("│") and ("village" in line or "grid" in line or "two-new" in line)]
    assert len(rows) == 4 and sum(1 for line in lines[rows[0]:rows[-1]] if line.startswith("├")) == 2, "\n".join(lines)


def test_a_vetoed_branch_ranks_after_every_other(rules, village):
    """Two vetoed branches with full marks ranked first, above those that qualified (try-out, review)."""
    scores = _scores(rules, village, [100, 95, 100, 70])
    scores[0] = replace(scores[0], vetoes=("党支部书记缺职",))
    scores[2] = replace(scores[2], vetoes=("未落实党建工作专项经费",))
    assert [(s.total, bool(s.vetoes), s.rank) for s in rank(scores)] == [(95, False, 1), (70, False, 2), (100, True, 3), (100, True, 3)]


def test_quota_warnings(rules, village):
    fine = _scores(rules, village, [95, 92, 91, 91, 85, 85, 84, 83, 82, 70])   # 40% 优秀, 10% 一般
    assert quota_warnings(fine, rules.grading) == []
    many_excellent = _scores(rules, village, [95, 92, 91, 91, 91, 85, 84, 83, 82, 70])
    assert any("优秀 5 个" in w for w in quota_warnings(many_excellent, rules.grading))
    no_low = _scores(rules, village, [95, 92] + [85] * 18)        # 20 units: 1 to 3 一般/差 expected
    assert any("一般、差共 0 个" in w for w in quota_warnings(no_low, rules.grading))
    too_many_low = _scores(rules, village, [95, 92, 85, 85, 85, 85, 84, 70, 65, 50])
    assert any("一般、差共 3 个" in w for w in quota_warnings(too_many_low, rules.grading))


def test_wujin_items_carry_a_self_score_beside_the_assessment(rules, wujin):
    s = score_org(wujin, rules.grading, 1, "x", "2026", [], [Deduction("20", 3, "检查组：制度未落实")],
                  self_assessed=[Deduction("20", 1, "自评：服务载体较少")])
    item = next(i for i in s.items if i.item.id == "20")
    assert (item.score, item.self_score) == (5, 7)
    assert s.total == 99 and s.self_total == 101


def test_quota_band_is_counted_in_whole_units(rules, village):
    # Among 6 units, "about 10%" (5%–15%) allows 0 or 1 一般/差.
    assert quota_warnings(_scores(rules, village, [95, 92, 85, 85, 85, 85]), rules.grading) == []
    assert quota_warnings(_scores(rules, village, [95, 92, 85, 85, 85, 70]), rules.grading) == []
    assert quota_warnings(_scores(rules, village, [95, 92, 85, 85, 70, 70]), rules.grading)
    # Among 14 (0.7–2.1 units), 1 or 2: each end to the nearest unit. Rounded outwards, 0 and 3 (21%) passed (try-out).
    for low, said in ((0, "一般、差共 0 个，占 0%，不在 10% 左右（14 个单位中应为 1–2 个）"), (3, "一般、差共 3 个，占 21%")):
        assert any(said in w for w in quota_warnings(_scores(rules, village, [95] * 5 + [85] * (9 - low) + [70] * low), rules.grading))
    for low in (1, 2):
        assert quota_warnings(_scores(rules, village, [95] * 5 + [85] * (9 - low) + [70] * low), rules.grading) == []
    # A band of one whole number is said as one (it read 应为 0–0 个).
    assert any("（3 个单位中应为 0 个）" in w for w in quota_warnings(_scores(rules, village, [85, 85, 70]), rules.grading))


def test_a_sheet_without_self_scores_has_none(rules, village):
    s = score_org(village, rules.grading, 1, "x", "2026", [], self_assessed=[Deduction("一.1", 1, "自评")])
    assert s.self_total is None and all(i.self_score is None for i in s.items)
