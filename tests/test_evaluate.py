"""Evaluation read like the domain: a few records in, the expected findings out."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from compliance.evaluate import MemberRef, OrgFacts, Record, evaluate_org, path_order, worst_first
from tests.conftest import local_catalog

_ids = itertools.count(1)
BRANCH = OrgFacts(id=1, path="图河镇党委/朱庄村党总支/第一党支部", type="党支部", sector="农村",
                  has_committee=True, full_members=10, groups=("第一党小组", "第二党小组"),
                  members=(MemberRef("张流动", mobile=True), MemberRef("李在家")))


def rec(kind: str, held: str, recorded: str | None = None, **fields) -> Record:
    day = date.fromisoformat(held)
    defaults = {"secretary_signed": True, "recorder_signed": True, "topic": "学习", "photos": "a.jpg"}
    return Record(id=next(_ids), org_id=1, kind=kind, held_on=day,
                  recorded_on=date.fromisoformat(recorded) if recorded else day, **{**defaults, **fields})


def findings(rules, records, first="2026-01-01", last="2026-12-31", as_of="2026-11-25", org=BRANCH, catalog="tuhe-2021"):
    return evaluate_org(rules.catalog(catalog), org, records, date.fromisoformat(first), date.fromisoformat(last),
                        date.fromisoformat(as_of))


def one(found, obligation, period, member=None, group=None):
    [f] = [f for f in found if f.obligation == obligation and f.period == period and f.member == member and f.group == group]
    return f


def test_party_congress_on_the_last_day_of_the_quarter_is_met(rules):
    f = one(findings(rules, [rec("party_congress", "2026-03-31", expected=10, present=8)]), "party_congress", "2026-Q1")
    assert f.status == "met" and f.flags == ()


def test_a_year_end_member_review_meeting_counts_for_its_quarters_party_congress_under_tuhe(rules):
    # seed 003: 每年年底召开1次……民主评议党员大会, a 党员大会; the try-out's branch held no other in Q4 and was 逾期.
    review = rec("member_review", "2026-12-10", expected=10, present=8)
    found = findings(rules, [review], as_of="2027-01-10")
    f = one(found, "party_congress", "2026-Q4")
    assert f.status == "met" and f.records == (review.id,)
    assert one(found, "member_review", "2026").status == "met"
    assert one(found, "party_congress", "2026-Q3").status == "missed"       # one of December, Q4's alone
    # judged by the 党员大会's rules: short of its quorum, it is no 党员大会
    short = findings(rules, [rec("member_review", "2026-12-10", expected=10, present=5)], as_of="2027-01-10")
    assert one(short, "party_congress", "2026-Q4").status == "invalid"
    # the national baseline and Wujin call it no 党员大会; and a 党员大会 is no 民主评议
    for catalog in ("national-2018", "wujin-2016"):
        assert one(findings(rules, [review], as_of="2027-01-10", catalog=catalog), "party_congress", "2026-Q4").status == "missed"
    congress = findings(rules, [rec("party_congress", "2026-12-10", expected=10, present=8)], as_of="2027-01-10")
    assert one(congress, "member_review", "2026").status == "missed"


def test_a_member_review_before_tuhes_rules_began_is_no_party_congress(rules):
    # tuhe-2021 took effect on 2021-09-29: a quarter begun before it is judged by the national rule, which counts none.
    tracked = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2020, 1, 1), full_members=10)
    found = findings(rules, [rec("member_review", "2021-09-30", expected=10, present=8),
                             rec("member_review", "2021-12-10", expected=10, present=8)],
                     first="2021-01-01", last="2021-12-31", as_of="2022-01-10", org=tracked)
    assert one(found, "party_congress", "2021-Q3").status == "missed"
    assert one(found, "party_congress", "2021-Q4").status == "met"


def test_party_congress_on_the_first_day_of_the_next_quarter_does_not_count_for_the_last(rules):
    found = findings(rules, [rec("party_congress", "2026-04-01", expected=10, present=8)])
    assert one(found, "party_congress", "2026-Q1").status == "missed"
    assert one(found, "party_congress", "2026-Q2").status == "met"


@pytest.mark.parametrize("present, status", [(5, "invalid"), (6, "met")])
def test_party_congress_needs_more_than_half_of_full_members(rules, present, status):
    f = one(findings(rules, [rec("party_congress", "2026-05-20", expected=10, present=present)]), "party_congress", "2026-Q2")
    assert f.status == status
    assert ("no_quorum" in f.flags) == (status == "invalid")


@pytest.mark.parametrize("share, present, status", [("2/3", 6, "invalid"), ("2/3", 7, "met"), ("2/3以上", 6, "met"),
                                                    ("2/3以上", 5, "invalid")])
def test_a_quorum_of_two_thirds_needs_more_than_two_thirds_or_two_thirds_and_more(tmp_path, share, present, status):
    """A county's 党员大会 that needs more than two thirds: 6 of 9 is not more, 7 is; with 以上, 6 will do; before its date, half will do."""
    from obligations.rules import load_rules

    path = tmp_path / "county.toml"
    path.write_text('name = "county-2026"\nextends = "national-2018"\nvalid_from = 2026-04-01\nsource = "某县组发〔2026〕3号"\n\n'
                    f'[[obligation]]\nslug = "party_congress"\nquorum_share = "{share}"\nsource = "某县组发〔2026〕3号"\n', encoding="utf-8")
    catalog = load_rules(extra_catalog=path).catalog("county-2026")
    records = [rec("party_congress", "2026-03-20", expected=9, present=present),
               rec("party_congress", "2026-05-20", expected=9, present=present)]
    found = evaluate_org(catalog, BRANCH, records, date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 25))
    assert one(found, "party_congress", "2026-Q1").status == "met"      # the national rule: more than half
    q2 = one(found, "party_congress", "2026-Q2")
    assert q2.status == status and ("no_quorum" in q2.flags) == (status == "invalid")
    # An overdue list's fast path (`record_valid`, without flags) counts the record the same.
    gaps = evaluate_org(catalog, BRANCH, records, date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 25),
                        ("missed", "invalid", "due"), bare_met=True)
    assert [f.period for f in gaps if f.obligation == "party_congress" and f.period < "2026-Q3"] == (
        [] if status == "met" else ["2026-Q2"])


def test_party_congress_quorum_falls_back_to_the_roster(rules):
    # No 应到 given: the branch has 10 full members, so 5 present is not a quorum.
    f = one(findings(rules, [rec("party_congress", "2026-05-20", present=5)]), "party_congress", "2026-Q2")
    assert f.status == "invalid"


def test_party_congress_without_attendance_counts_and_is_flagged(rules):
    f = one(findings(rules, [rec("party_congress", "2026-05-20")]), "party_congress", "2026-Q2")
    assert f.status == "met" and "no_attendance" in f.flags


@pytest.mark.parametrize("present, status", [(2, "invalid"), (3, "met")])
def test_committee_meeting_needs_more_than_half_of_the_committee(rules, present, status):
    f = one(findings(rules, [rec("branch_committee", "2026-06-03", expected=5, present=present)]), "branch_committee", "2026-06")
    assert f.status == status


def test_branch_too_small_for_a_committee_owes_no_committee_meeting(rules):
    small = OrgFacts(id=1, path="x/小支部", type="党支部", has_committee=False, full_members=5)
    found = findings(rules, [], org=small)
    assert not [f for f in found if f.obligation == "branch_committee"]
    assert [f for f in found if f.obligation == "party_congress"]


def test_unsigned_record_counts_and_is_flagged(rules):
    f = one(findings(rules, [rec("party_congress", "2026-02-01", expected=10, present=9, recorder_signed=False)]),
            "party_congress", "2026-Q1")
    assert f.status == "met" and f.flags == ("unsigned",)


def test_theme_day_without_photos_counts_and_is_flagged(rules):
    f = one(findings(rules, [rec("theme_day", "2026-07-01", photos=None)]), "theme_day", "2026-07")
    assert f.status == "met" and f.flags == ("incomplete_evidence",)


def test_record_entered_after_the_end_of_the_following_month_is_a_late_entry(rules):
    late = one(findings(rules, [rec("theme_day", "2026-01-15", recorded="2026-03-01")]), "theme_day", "2026-01")
    in_time = one(findings(rules, [rec("theme_day", "2026-01-15", recorded="2026-02-28")]), "theme_day", "2026-01")
    assert late.status == "met" and late.flags == ("late_entry",)
    assert in_time.flags == ()


def test_a_clean_record_wins_over_a_flagged_one_in_the_same_period(rules):
    records = [rec("theme_day", "2026-07-01", photos=None), rec("theme_day", "2026-07-15")]
    f = one(findings(rules, records), "theme_day", "2026-07")
    assert f.status == "met" and f.flags == () and len(f.records) == 2


def test_statuses_as_of_a_date(rules):
    found = findings(rules, [], as_of="2026-11-25")
    assert one(found, "theme_day", "2026-10").status == "missed"
    f = one(found, "theme_day", "2026-11")
    assert f.status == "due" and f.days_left == 5
    assert one(found, "theme_day", "2026-12").status == "upcoming"


def test_period_is_still_open_on_its_last_day(rules):
    f = one(findings(rules, [], as_of="2026-11-30"), "theme_day", "2026-11")
    assert f.status == "due" and f.days_left == 0
    assert one(findings(rules, [], as_of="2026-12-01"), "theme_day", "2026-11").status == "missed"


def test_meetings_after_the_as_of_date_are_not_counted(rules):
    records = [rec("theme_day", "2026-11-20")]
    assert one(findings(rules, records, as_of="2026-11-19"), "theme_day", "2026-11").status == "due"
    assert one(findings(rules, records, as_of="2026-11-20"), "theme_day", "2026-11").status == "met"


def test_branch_founded_mid_year_is_exempt_before_it_existed(rules):
    new = OrgFacts(id=1, path="x/新支部", type="党支部", founded=date(2026, 5, 12), has_committee=True, full_members=9)
    found = findings(rules, [], org=new)
    assert one(found, "party_congress", "2026-Q1").status == "exempt"
    assert one(found, "party_congress", "2026-Q2").status == "exempt"   # began before 05-12
    assert one(found, "party_congress", "2026-Q3").status == "missed"
    assert one(found, "branch_committee", "2026-05").status == "exempt"
    assert one(found, "branch_committee", "2026-06").status == "missed"


def test_tracked_from_date_exempts_earlier_periods(rules):
    tracked = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2026, 7, 1), full_members=5)
    found = findings(rules, [], org=tracked)
    assert one(found, "theme_day", "2026-06").status == "exempt"
    assert one(found, "theme_day", "2026-07").status == "missed"


def test_a_period_before_tracking_is_flagged_apart_from_one_before_the_founding(rules):
    """The months before a branch's 启用日期 were 免除, the word for an approved exemption (try-out): owed, they are not checked."""
    branch = OrgFacts(id=1, path="x/支部", type="党支部", founded=date(2026, 3, 1), tracked_from=date(2026, 7, 1), full_members=5,
                      members=(MemberRef("甲", joined=date(2000, 1, 1)), MemberRef("乙", exemptions=((date(2026, 8, 1), date(2026, 9, 30)),))))
    found = findings(rules, [], org=branch)
    assert one(found, "theme_day", "2026-02").flags == ()                          # before the founding: owed nothing
    assert one(found, "theme_day", "2026-03").flags == one(found, "theme_day", "2026-06").flags == ("before_tracking",)
    assert one(found, "theme_day", "2026-07").status == "missed"
    assert one(found, "party_congress", "2026-Q1").flags == ()                     # begun before the founding
    assert one(found, "party_congress", "2026-Q2").flags == ("before_tracking",)
    assert one(found, "heart_talk", "2026", member="甲").flags == ()              # the year began before the founding
    # a member's approved exemption after tracking began stays 免除; before it, the months are not checked
    exempt = one(found, "dues", "2026-08", member="乙")
    assert (exempt.status, exempt.flags) == ("exempt", ())
    assert one(found, "dues", "2026-05", member="乙").flags == ("before_tracking",)
    # one who joined on 10 May owed nothing before: 免除; his month of joining on is owed, and not checked before July (review)
    joined = replace(branch, members=(MemberRef("丙", joined=date(2026, 5, 10)),))
    found = findings(rules, [], org=joined)
    assert one(found, "dues", "2026-04", member="丙").flags == one(found, "heart_talk", "2026", member="丙").flags == ()
    assert one(found, "dues", "2026-05", member="丙").flags == ("before_tracking",)


def test_months_not_checked_for_two_reasons_are_two_rows_each_with_its_note(rules):
    """Months before the 启用日期 and months before the first dues entered shared a row, 不检查 without either note (review)."""
    from rich.console import Console

    from compliance.report.findings import findings_table

    branch = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2026, 3, 1), dues_from=date(2026, 6, 1),
                      full_members=5, members=(MemberRef("甲", joined=date(2000, 1, 1)),))
    found = [f for f in findings(rules, [], org=branch) if f.obligation == "dues"]
    console = Console(width=200, record=True)
    console.print(findings_table(found, "t", show_org=False, year=2026))
    shown = console.export_text()
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in shown.splitlines() if "不检查" in line]
    assert [row[2:] for row in rows] == [["不检查", "1月 2月（启用日期之前）"], ["不检查", "3月 4月 5月（本党组织首次登记党费之前的月份）"]]


def test_a_branch_tracked_before_the_year_end_window_owes_the_year_end_meetings(rules):
    """Tracked from June, a branch was let off its 组织生活会 and 民主评议 (年底: the fourth quarter), which fall wholly in
    the months tracked (try-out); one tracked from mid-October began inside the window, and is. Without a window
    (national-2018: yearly), the year began before tracking, as before."""
    june = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2026, 6, 1), full_members=9, has_committee=True)
    found = findings(rules, [], org=june, as_of="2027-01-05")
    assert one(found, "life_meeting", "2026").status == one(found, "member_review", "2026").status == "missed"
    assert one(found, "party_congress", "2026-Q2").status == "exempt"
    october = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2026, 10, 15), full_members=9, has_committee=True)
    assert one(findings(rules, [], org=october, as_of="2027-01-05"), "life_meeting", "2026").status == "exempt"
    national = findings(rules, [], org=june, as_of="2027-01-05", catalog="national-2018")
    assert one(national, "life_meeting", "2026").status == "exempt"


def test_study_day_on_the_shifted_working_day_counts(rules):
    # 2026-05-10 is a Sunday: Monday 05-11 counts too.
    f = one(findings(rules, [rec("study_day", "2026-05-11")]), "study_day", "2026-05-10")
    assert f.status == "met"


def test_study_day_on_another_day_is_invalid(rules):
    f = one(findings(rules, [rec("study_day", "2026-11-12")]), "study_day", "2026-11-10")
    assert f.status == "invalid" and "wrong_date" in f.flags


def test_study_day_only_in_the_catalog_that_has_it(rules):
    assert not [f for f in findings(rules, [], catalog="national-2018") if f.obligation == "study_day"]


def test_life_meeting_at_year_end_must_be_in_the_fourth_quarter(rules):
    early = one(findings(rules, [rec("life_meeting", "2026-09-28")], as_of="2027-01-05"), "life_meeting", "2026")
    assert early.status == "invalid" and "wrong_date" in early.flags
    assert one(findings(rules, [rec("life_meeting", "2026-10-08")]), "life_meeting", "2026").status == "met"
    # The national baseline says "generally" Q4: any time in the year counts.
    assert one(findings(rules, [rec("life_meeting", "2026-09-28")], catalog="national-2018"), "life_meeting", "2026").status == "met"


def test_a_record_that_does_not_count_leaves_an_open_period_due_with_its_flags(rules):
    early = one(findings(rules, [rec("life_meeting", "2026-09-28")], as_of="2026-11-25"), "life_meeting", "2026")
    assert early.status == "due" and "wrong_date" in early.flags and early.records
    before_window = one(findings(rules, [rec("life_meeting", "2026-05-20")], as_of="2026-06-10"), "life_meeting", "2026")
    assert before_window.status == "upcoming" and "wrong_date" in before_window.flags
    short = one(findings(rules, [rec("party_congress", "2026-11-03", expected=10, present=4)]), "party_congress", "2026-Q4")
    assert short.status == "due" and "no_quorum" in short.flags


def test_year_end_obligation_is_upcoming_before_the_fourth_quarter(rules):
    assert one(findings(rules, [], as_of="2026-06-30"), "life_meeting", "2026").status == "upcoming"


def test_wujin_life_meeting_is_half_yearly(rules):
    found = findings(rules, [rec("life_meeting", "2026-06-30")], catalog="wujin-2016")
    assert one(found, "life_meeting", "2026-H1").status == "met"
    assert one(found, "life_meeting", "2026-H2").status == "due"


def test_group_meeting_is_owed_by_each_group(rules):
    found = findings(rules, [rec("group_meeting", "2026-10-09", group="第一党小组")])
    assert one(found, "group_meeting", "2026-10", group="第一党小组").status == "met"
    assert one(found, "group_meeting", "2026-10", group="第二党小组").status == "missed"


def test_mobile_member_reports_each_half_year(rules):
    found = findings(rules, [rec("mobile_report", "2026-03-02", member="张流动")])
    assert one(found, "mobile_report", "2026-H1", member="张流动").status == "met"
    assert one(found, "mobile_report", "2026-H2", member="张流动").status == "due"
    assert not [f for f in found if f.member == "李在家" and f.obligation == "mobile_report"]


def test_township_archives_mobile_liaison_each_quarter(rules):
    township = OrgFacts(id=1, path="图河镇党委", type="乡镇党委", sector="农村")
    found = findings(rules, [rec("mobile_archive", "2026-03-31")], org=township)
    assert one(found, "mobile_archive", "2026-Q1").status == "met"
    assert one(found, "mobile_archive", "2026-Q2").status == "missed"
    assert not [f for f in found if f.obligation == "party_congress"]


def test_village_committee_term_is_five_years(rules):
    found = findings(rules, [rec("committee_election", "2021-04-15")])
    f = one(found, "committee_election", "2021-04-15/2026-04-14")
    assert f.status == "missed"


def test_an_outstanding_election_stays_listed_in_later_years(rules):
    found = findings(rules, [rec("committee_election", "2021-04-15")], first="2027-01-01", last="2027-03-01", as_of="2027-03-01")
    assert one(found, "committee_election", "2021-04-15/2026-04-14").status == "missed"


def test_a_held_election_before_the_window_is_not_listed_but_the_current_term_is(rules):
    found = findings(rules, [rec("committee_election", "2016-04-15"), rec("committee_election", "2021-04-10")],
                     first="2026-01-01", last="2026-12-31", as_of="2026-11-25")
    assert [f.period for f in found if f.obligation == "committee_election"] == ["2021-04-10/2026-04-09"]


def test_an_election_already_overdue_when_tracking_began_is_listed(rules):
    tracked = OrgFacts(id=1, path="x/东村党支部", type="党支部", sector="农村", founded=date(2020, 3, 1),
                       tracked_from=date(2026, 1, 1), full_members=9, has_committee=True)
    found = findings(rules, [rec("committee_election", "2020-03-01")], org=tracked)
    assert one(found, "committee_election", "2020-03-01/2025-02-28").status == "missed"
    assert one(found, "committee_election", "2020-03-01/2025-02-28").flags == ()
    # With no election on record at all, a term from its founding is listed too, and says so:
    # the last election was most likely not imported.
    old = replace(tracked, founded=date(1985, 3, 1))
    unknown = one(findings(rules, [], org=old), "committee_election", "1985-03-01/1990-02-28")
    assert (unknown.status, unknown.flags) == ("missed", ("no_election_record",))
    delayed = one(findings(rules, [rec("term_delay", "1990-01-10", topic="批准延期至1990-12-31")], org=old),
                  "committee_election", "1985-03-01/1990-02-28")
    assert (delayed.status, delayed.flags) == ("missed", ("approved_delay", "no_election_record"))
    # Tracked from its founding (a 成立日期 and no 启用日期), a term that ended before the window with no election on record
    # says so too: it read as 25 years overdue (clerk's try-out). One ended in the window is overdue as such.
    founding = replace(tracked, founded=date(1998, 7, 1), tracked_from=None)
    unknown = one(findings(rules, [], org=founding), "committee_election", "1998-07-01/2003-06-30")
    assert (unknown.status, unknown.flags) == ("missed", ("no_election_record",))
    recent = replace(tracked, founded=date(2021, 3, 1), tracked_from=None)
    assert one(findings(rules, [], org=recent), "committee_election", "2021-03-01/2026-02-28").flags == ()
    # Tracked from a 启用日期 before the term ended, it ended under watch: 届满未换届, no hint of a record missing (review).
    watched = replace(tracked, founded=date(2020, 3, 1), tracked_from=date(2021, 1, 1))
    assert one(findings(rules, [], org=watched), "committee_election", "2020-03-01/2025-02-28").flags == ()
    # A term closed by an election before tracking began stays out of it, late or not.
    found = findings(rules, [rec("committee_election", "2015-02-20"), rec("committee_election", "2020-03-01"),
                             rec("committee_election", "2025-02-10")], org=tracked)
    assert [(f.period, f.status) for f in found if f.obligation == "committee_election"] == [("2025-02-10/2030-02-09", "upcoming")]
    # Held only after tracking began, it is a late election, as any other (listed in a window that reaches its term).
    found = findings(rules, [rec("committee_election", "2020-03-01"), rec("committee_election", "2026-06-10")], org=tracked,
                     first="2025-01-01")
    late = one(found, "committee_election", "2020-03-01/2025-02-28")
    assert (late.status, late.flags) == ("invalid", ("late_election",))


def test_dissolved_branch_owes_nothing_it_could_not_finish(rules):
    gone = OrgFacts(id=1, path="x/撤销支部", type="党支部", dissolved=date(2026, 3, 15), full_members=9, has_committee=True)
    found = findings(rules, [rec("committee_election", "2024-05-01")], org=gone, as_of="2027-01-05")
    assert one(found, "branch_committee", "2026-02").status == "missed"
    assert one(found, "branch_committee", "2026-03").status == "exempt"
    assert one(found, "life_meeting", "2026").status == "exempt"
    assert one(found, "committee_election", "2024-05-01/2027-04-30").status == "exempt"


def test_citing_a_local_source_does_not_delay_the_baseline_rule(rules):
    # tuhe-2021 repeats 支委会 only to cite seed 003: the national rule of 2018 still applies in 2021.
    tracked = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2020, 1, 1), full_members=9, has_committee=True)
    found = findings(rules, [], first="2021-01-01", last="2021-12-31", as_of="2022-01-10", org=tracked)
    assert one(found, "branch_committee", "2021-03").status == "missed"


def test_a_changed_local_rule_leaves_earlier_periods_to_the_rule_it_replaced(rules):
    # tuhe-2021 (from 2021-09-29) puts 组织生活会 in Q4; the national rule judged the years before.
    tracked = OrgFacts(id=1, path="x/支部", type="党支部", tracked_from=date(2019, 1, 1), full_members=9)
    found = findings(rules, [rec("life_meeting", "2020-06-10")], first="2020-01-01", last="2021-12-31",
                     as_of="2022-01-10", org=tracked)
    assert one(found, "life_meeting", "2020").status == "met"       # national: any time in the year
    assert one(found, "life_meeting", "2021").status == "missed"    # tuhe took over from 2021-09-29? no: Jan 1 2021 < 09-29
    study = [f for f in found if f.obligation == "study_day"]
    assert study and all(f.period >= "2021-09-29" or f.status == "exempt" for f in study)


def test_term_is_three_years_outside_villages_and_communities(rules):
    office = OrgFacts(id=1, path="x/机关党支部", type="党支部", sector="机关", full_members=9)
    found = findings(rules, [rec("committee_election", "2023-11-01")], org=office, as_of="2026-11-25")
    assert one(found, "committee_election", "2023-11-01/2026-10-31").status == "missed"


def test_next_election_in_the_last_year_closes_the_term_and_opens_the_next(rules):
    found = findings(rules, [rec("committee_election", "2021-04-15"), rec("committee_election", "2026-03-20")])
    assert one(found, "committee_election", "2021-04-15/2026-04-14").status == "met"
    assert one(found, "committee_election", "2026-03-20/2031-03-19").status == "upcoming"


def test_worst_first_orders_missed_before_invalid_before_due_oldest_first(rules):
    found = findings(rules, [rec("study_day", "2026-11-12")])
    ordered = [f for f in worst_first(found) if f.status in ("missed", "invalid", "due")]
    ranks = [("missed", "invalid", "due").index(f.status) for f in ordered]
    assert ranks == sorted(ranks)
    missed = [f.due for f in ordered if f.status == "missed"]
    assert missed == sorted(missed)


KINDS = ["party_congress", "branch_committee", "group_meeting", "theme_day", "study_day", "party_lecture", "mobile_report"]
record_strategy = st.builds(
    lambda kind, day, present, signed, group, member: rec(
        kind, day.isoformat(), expected=10, present=present, secretary_signed=signed,
        group=group if kind == "group_meeting" else None, member=member if kind == "mobile_report" else None),
    st.sampled_from(KINDS), st.dates(date(2026, 1, 1), date(2026, 12, 31)), st.integers(0, 10), st.booleans(),
    st.sampled_from(["第一党小组", "第二党小组"]), st.sampled_from(["张流动", "李在家"]))


def _key(f):
    return (f.obligation, f.period, f.member, f.group)


@settings(max_examples=60, deadline=None)
@given(st.lists(record_strategy, max_size=25), record_strategy)
def test_adding_a_record_never_adds_a_missed_finding(rules, records, extra):
    before = {_key(f): f.status for f in findings(rules, records)}
    after = {_key(f): f.status for f in findings(rules, records + [extra])}
    assert before.keys() == after.keys()
    assert {k for k, s in after.items() if s == "missed"} <= {k for k, s in before.items() if s == "missed"}


@settings(max_examples=60, deadline=None)
@given(st.lists(record_strategy, max_size=25), st.randoms())
def test_record_order_never_changes_the_result(rules, records, random):
    shuffled = list(records)
    random.shuffle(shuffled)
    assert sorted(findings(rules, records), key=_key) == sorted(findings(rules, shuffled), key=_key)


def test_a_term_is_warned_about_six_months_ahead_and_overdue_the_day_after(rules):
    records = [rec("committee_election", "2021-11-20")]
    status = lambda day: one(findings(rules, records, first="2026-01-01", as_of=day), "committee_election", "2021-11-20/2026-11-19").status  # noqa: E731
    assert status("2026-05-19") == "upcoming"
    assert status("2026-05-20") == "due"
    assert status("2026-11-20") == "due"          # due on the anniversary itself
    assert status("2026-11-21") == "missed"       # overdue by one day


def test_an_election_more_than_a_year_early_is_flagged(rules):
    found = findings(rules, [rec("committee_election", "2021-11-20"), rec("committee_election", "2025-09-01")], as_of="2026-11-25")
    f = one(found, "committee_election", "2021-11-20/2026-11-19")
    assert f.status == "met" and f.flags == ("early_election",)


@pytest.mark.parametrize("elected, early", [("2024-03-20", False), ("2024-06-13", False), ("2024-06-14", True)])
def test_a_new_branchs_first_election_soon_after_its_founding_begins_its_first_term(rules, elected, early):
    """A village branch founded 2024-03-15 that elected its committee on the 20th: 提前换届, beside a second, overlapping term."""
    new = OrgFacts(id=1, path="x/南岭村党支部", type="党支部", sector="农村", founded=date(2024, 3, 15), has_committee=True, full_members=9)
    found = [f for f in findings(rules, [rec("committee_election", elected)], first="2024-01-01", org=new) if f.obligation == "committee_election"]
    if not early:
        # Within 90 days of the founding date it is the founding election: one term, five years from it.
        end = date.fromisoformat(elected).replace(year=2029) - timedelta(days=1)
        assert [(f.period, f.status, f.flags) for f in found] == [(f"{elected}/{end.isoformat()}", "upcoming", ())]
    else:
        # Later, the founding date anchors the first term, and an election in it cuts it short, as before.
        assert [(f.period, f.status, f.flags) for f in found][0] == ("2024-03-15/2029-03-14", "met", ("early_election",))


def test_within_an_approved_delay_a_term_is_not_overdue(rules):
    records = [rec("committee_election", "2021-11-20"), rec("term_delay", "2026-10-30", topic="批准延期至2027-03-31（镇党委批复〔2026〕12号）")]
    f = one(findings(rules, records, first="2026-01-01", as_of="2026-12-15"), "committee_election", "2021-11-20/2026-11-19")
    assert f.status == "due" and f.due == date(2027, 3, 31) and "approved_delay" in f.flags
    late = one(findings(rules, records, first="2026-01-01", as_of="2027-04-01"), "committee_election", "2021-11-20/2026-11-19")
    assert late.status == "missed"


def test_a_delay_beyond_one_year_is_not_accepted(rules):
    records = [rec("committee_election", "2021-11-20"), rec("term_delay", "2026-10-30", topic="批准延期至2027年12月31日")]
    f = one(findings(rules, records, first="2026-01-01", as_of="2026-12-15"), "committee_election", "2021-11-20/2026-11-19")
    assert f.status == "missed" and f.due == date(2026, 11, 20)


def test_the_secretarys_own_lecture_counts_only_when_the_secretary_gives_it(rules):
    branch = OrgFacts(id=1, path="x/支部", type="党支部", secretary="陶英", full_members=9)
    by_other = one(findings(rules, [rec("party_lecture", "2026-05-06", lecturer="张三")], org=branch, catalog="wujin-2016",
                            as_of="2027-01-05"), "secretary_lecture", "2026")
    assert by_other.status == "invalid" and "not_secretary" in by_other.flags
    by_secretary = one(findings(rules, [rec("party_lecture", "2026-05-06", lecturer="陶英")], org=branch, catalog="wujin-2016"),
                       "secretary_lecture", "2026")
    assert by_secretary.status == "met"
    assert not [f for f in findings(rules, [], org=branch) if f.obligation == "secretary_lecture"]   # not in tuhe-2021


@pytest.mark.parametrize("lecturer, listed", [("张三", True), ("陶英", False)])
def test_an_overdue_list_judges_the_secretarys_lecture_as_the_full_evaluation_does(rules, lecturer, listed):
    branch = OrgFacts(id=1, path="x/支部", type="党支部", secretary="陶英", full_members=9)
    records = [rec("party_lecture", "2026-05-06", lecturer=lecturer)]
    overdue = evaluate_org(rules.catalog("wujin-2016"), branch, records, date(2026, 1, 1), date(2026, 12, 31),
                           date(2027, 1, 5), keep=("missed", "invalid", "due"))
    assert [f.status for f in overdue if f.obligation == "secretary_lecture"] == (["invalid"] if listed else [])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["missed", "invalid", "due", "upcoming", "met", "exempt"]),
                          st.dates(date(1, 1, 1), date(9999, 12, 31)),
                          st.sampled_from(["江淮省委/张河市委/甲", "江淮省委/张河市委/乙", "江淮省委/李河市委", "a", "a/b",
                                           "a/第二党支部", "a/第三党支部", "a/第十党支部", "a/第2党支部"]),
                          st.sampled_from(["dues", "study_day"]), st.none() | st.sampled_from(["一组", "二组"]),
                          st.none() | st.sampled_from(["张三", "李四"])), max_size=30))
def test_worst_first_is_the_order_of_severity_due_org_obligation_group_member(rows):
    from compliance.evaluate import SEVERITY, Finding

    findings = [Finding(1, org, ob, ob, "p", status, due, None, (), (), member, group)
                for status, due, org, ob, group, member in rows]
    assert worst_first(findings) == sorted(findings, key=lambda f: (SEVERITY[f.status], f.due, path_order(f.org), f.obligation,
                                                                      f.group or "", f.member or ""))


def test_paths_are_ordered_by_the_value_of_their_numerals_a_superior_first():
    """By code point 第三党支部 came before 第二党支部 (三 is U+4E09, 二 U+4E8C) in every table and the chart (try-out)."""
    paths = ["镇/第十党支部", "镇/第二党支部", "镇/东山村党总支/第三党支部", "镇/第一百零五党支部", "镇/第三党支部", "镇",
             "镇/东山村党总支", "镇/第11党支部", "镇/第一党支部", "镇/东山村党总支/第二十党支部", "镇/东山村党总支/第二党支部"]
    assert sorted(paths, key=path_order) == [
        "镇", "镇/东山村党总支", "镇/东山村党总支/第二党支部", "镇/东山村党总支/第三党支部", "镇/东山村党总支/第二十党支部",
        "镇/第一党支部", "镇/第二党支部", "镇/第三党支部", "镇/第十党支部", "镇/第11党支部", "镇/第一百零五党支部"]
    # Numerals that are words of a name are its text: 十里铺村 is no 10, 两新 no 2 (review).
    names = ["镇/十里铺村", "镇/大王庄村", "镇/两新组织党支部", "镇/百花村", "镇/三组", "镇/一组", "镇/十组", "镇/二支部"]
    assert sorted(names, key=path_order) == sorted(names[4:], key=path_order) + sorted(names[:4])
    assert sorted(names[4:], key=path_order) == ["镇/一组", "镇/二支部", "镇/三组", "镇/十组"]


KEEPS = [("missed", "invalid", "due"), ("met",), ("exempt", "upcoming"), ("missed", "invalid", "due", "met"),
         ("missed", "invalid", "due", "exempt")]
EXEMPT_MEMBERS = (MemberRef("张流动", mobile=True, joined=date(2026, 4, 2)),
                  MemberRef("李在家", exemptions=((date(2026, 3, 1), date(2026, 8, 31)),)),
                  MemberRef("王五", mobile=True, left=date(2026, 7, 15)),
                  MemberRef("赵新", mobile=True, arrived=date(2026, 5, 10)))


@settings(max_examples=80, deadline=None)
@given(st.lists(record_strategy, max_size=25), st.sampled_from(KEEPS), st.booleans(),
       st.dates(date(2026, 1, 1), date(2026, 12, 31)))
def test_keeping_some_statuses_gives_the_same_findings_as_filtering_them_all(rules, records, keep, exempting, as_of):
    org = BRANCH
    if exempting:       # founded mid-year, dissolved before its end, members who joined late or were exempt
        org = OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", has_committee=True, full_members=10,
                       groups=BRANCH.groups, founded=date(2026, 2, 10), dissolved=date(2026, 10, 15), members=EXEMPT_MEMBERS)
    catalog = rules.catalog("tuhe-2021")
    every = evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of)
    kept = evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of, keep)
    assert kept == [f for f in every if f.status in keep]


# Every kind with a rule of its own: quorums, the secretary's lecture, dated study days, groups,
# members (talks name two), dues with arrears and payment by quarter; days outside the window too.
WIDE_KINDS = KINDS + ["heart_talk", "dues", "dues_by_quarter", "life_meeting", "member_review"]
wide_record_strategy = st.builds(
    lambda kind, day, late, present, expected, lecturer, group, member, counterpart, hours, attendees: rec(
        kind, day.isoformat(), (day + timedelta(days=late)).isoformat(), expected=expected, present=present,
        lecturer=lecturer, group=group if kind == "group_meeting" else None,
        member=member if kind in ("mobile_report", "heart_talk", "dues", "dues_by_quarter") else None,
        counterpart=counterpart if kind == "heart_talk" else None,
        hours=None if kind.startswith("dues") else hours, attendees=None if kind.startswith("dues") else attendees),
    st.sampled_from(WIDE_KINDS), st.dates(date(2025, 11, 1), date(2027, 2, 28)), st.sampled_from([0, 3, 40, 200]),
    st.integers(0, 10), st.sampled_from([None, 4, 10]), st.sampled_from([None, "王书记", "李老师"]),
    st.sampled_from(["第一党小组", "第二党小组"]), st.sampled_from(["张流动", "李在家", ""]),
    st.sampled_from([None, "张流动", "李在家"]),
    # 学时: a member-year is met at 32 hours, by one record or several
    st.sampled_from([None, 1.5, 16.0, 32.0]), st.sampled_from([None, "张流动", "李在家", "张流动、李在家"]))


def _wide_org(exempting: bool, secretary: bool) -> OrgFacts:
    """A branch with or without a known secretary; exempting: founded mid-year, dissolved before its end, members who joined late or were exempt."""
    return OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", has_committee=True, full_members=10,
                    groups=BRANCH.groups, secretary="王书记" if secretary else None,
                    members=EXEMPT_MEMBERS if exempting else BRANCH.members,
                    founded=date(2026, 2, 10) if exempting else None, dissolved=date(2026, 10, 15) if exempting else None)


@settings(max_examples=200, deadline=None)
@given(st.lists(wide_record_strategy, max_size=40), st.sampled_from(KEEPS), st.booleans(), st.booleans(),
       st.dates(date(2026, 1, 1), date(2027, 1, 31)))
def test_statuses_kept_are_those_of_the_full_evaluation_for_every_rule(rules, records, keep, exempting, secretary, as_of):
    org = _wide_org(exempting, secretary)
    for name in ("national-2018", "tuhe-2021", "wujin-2016"):
        catalog = rules.catalog(name)
        every = evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of)
        kept = evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of, keep)
        assert kept == [f for f in every if f.status in keep]


@settings(max_examples=200, deadline=None)
@given(st.lists(wide_record_strategy, max_size=40), st.sampled_from([k for k in KEEPS if "met" in k]), st.booleans(),
       st.booleans(), st.dates(date(2026, 1, 1), date(2027, 1, 31)))
def test_met_kept_bare_is_the_full_evaluation_without_records_and_flags(rules, records, keep, exempting, secretary, as_of):
    org = _wide_org(exempting, secretary)
    for name in ("national-2018", "tuhe-2021", "wujin-2016"):
        catalog = rules.catalog(name)
        terms = {o.slug for o in catalog.obligations if o.cadence == "term"}      # judged in full, bare or not
        every = evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of)
        bare = evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of, keep, bare_met=True)
        assert bare == [f._replace(records=(), flags=()) if f.status == "met" and f.obligation not in terms else f
                        for f in every if f.status in keep]


def test_member_periods_before_joining_or_within_an_approved_exemption_are_exempt(rules):
    org = OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", has_committee=True, full_members=10,
                   groups=BRANCH.groups, members=EXEMPT_MEMBERS)
    found = evaluate_org(rules.catalog("tuhe-2021"), org, [], date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 25))
    exempt = {(f.member, f.period) for f in found if f.obligation == "dues" and f.status == "exempt"}
    # Joined 2 April: dues are owed from that month (from_joining_month), so January to March are exempt.
    assert exempt == {("张流动", f"2026-{m:02d}") for m in range(1, 4)} | {("李在家", f"2026-{m:02d}") for m in range(3, 9)}
    assert one(found, "mobile_report", "2026-H1", member="张流动").status == "exempt"    # it began before they joined
    assert one(found, "mobile_report", "2026-H2", member="张流动").status != "exempt"


def test_a_member_who_left_owes_dues_to_the_month_they_left_and_other_periods_ended_before(rules):
    """A member transferred out, dead or expelled stayed on the roster: owed dues and reports for good."""
    org = replace(BRANCH, members=(MemberRef("张流动", mobile=True, left=date(2026, 7, 15)), MemberRef("李在家")))
    found = findings(rules, [], first="2025-01-01")
    gone = findings(rules, [], first="2025-01-01", org=org)
    dues = sorted(f.period for f in gone if f.obligation == "dues" and f.member == "张流动")
    assert dues == [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 8)]      # July, the month they left, too
    reports = sorted(f.period for f in gone if f.obligation == "mobile_report" and f.member == "张流动")
    assert reports == ["2025-H1", "2025-H2", "2026-H1"]      # 2026-H2 is owed where they went
    # Nothing else changes: the other member, and every obligation of the branch's own.
    assert [f for f in gone if f.member != "张流动"] == [f for f in found if f.member != "张流动"]
    # Left on the first day of a half year: the one before was over and is owed; left on its last day, it is not.
    on_first = replace(org, members=(MemberRef("张流动", mobile=True, left=date(2026, 7, 1)),))
    assert sorted(f.period for f in findings(rules, [], first="2026-01-01", org=on_first)
                  if f.obligation == "mobile_report") == ["2026-H1"]
    on_last = replace(org, members=(MemberRef("张流动", mobile=True, left=date(2026, 6, 30)),))
    assert [f.period for f in findings(rules, [], first="2026-01-01", org=on_last) if f.obligation == "mobile_report"] == []


def test_a_branch_judges_each_meeting_and_period_on_the_roster_of_its_day(rules):
    """Members who left in August made a June 党员大会 with 5 of 10 present valid, and its groups' and committee's past periods go."""
    left = date(2026, 8, 3)
    org = replace(BRANCH, full_members=6, full_left=(left,) * 4, full_steady=10, committee_by_roster=True,
                  groups=("第一党小组",), group_spans=(("第二党小组", date.min, date(2026, 5, 20)),))
    congress = [rec("party_congress", "2026-06-10", present=5), rec("party_congress", "2026-09-10", present=4)]
    found = findings(rules, congress, org=org)
    assert one(found, "party_congress", "2026-Q2").status == "invalid"       # 5 of the 10 of June: not more than half
    assert one(found, "party_congress", "2026-Q3").status == "met"           # 4 of the 6 of September
    assert org.full_on(date(2026, 8, 2)) == 10 and org.full_on(left) == 6
    committee = sorted(f.period for f in found if f.obligation == "branch_committee")
    assert committee == [f"2026-{m:02d}" for m in range(1, 9)]              # August began before the committee ended
    second = sorted(f.period for f in found if f.obligation == "group_meeting" and f.group == "第二党小组")
    assert second == [f"2026-{m:02d}" for m in range(1, 6)]
    first = sorted(f.period for f in found if f.obligation == "group_meeting" and f.group == "第一党小组")
    assert first == sorted(f.period for f in findings(rules, []) if f.obligation == "group_meeting" and f.group == "第一党小组")


def test_record_valid_agrees_with_record_problems(rules):
    """Every obligation of every catalog, around its periods' windows, with every kind of attendance and lecturer."""
    from compliance.evaluate import record_problems, record_valid

    attendance = [(None, None), (None, 0), (None, 3), (None, 4), (10, 5), (10, 6)]
    orgs = [OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", has_committee=True, full_members=full,
                     secretary=secretary) for full in (0, 7) for secretary in (None, "陶英")]
    checked = 0
    for catalog in rules.catalogs.values():
        for ob in catalog.obligations:
            if ob.cadence == "term":
                continue
            periods = catalog.periods(ob, date(2026, 1, 1), date(2026, 12, 31))
            for period in {periods[0], periods[1 % len(periods)], periods[-1]}:
                days = {period.window_start + timedelta(days=n) for n in (-1, 0, 1)} | {period.due, period.due + timedelta(days=1)}
                for held, late, (expected, present), lecturer, org in itertools.product(
                        sorted(days), (0, 40, 200), attendance, (None, "陶英", "王五"), orgs):
                    record = rec(ob.counts or ob.slug, held.isoformat(), (held + timedelta(days=late)).isoformat(),
                                 expected=expected, present=present, lecturer=lecturer)
                    assert record_valid(record, ob, period, org) == record_problems(record, ob, period, org, catalog)[0], \
                        (catalog.name, ob.slug, period.key, record, org)
                    checked += 1
    assert checked > 50_000


HOURS = [0.2, 1.5, 4.0, 7.7, 8.0]
hours_strategy = st.builds(
    lambda kind, day, hours, attendees, member: rec(kind, day.isoformat(), hours=hours, attendees="、".join(attendees) or None,
                                                     member=member),
    st.sampled_from(["study_day", "theme_day", "party_lecture"]),
    st.sampled_from([date(2025, 1, 1), date(2025, 12, 31), date(2026, 1, 1), date(2026, 12, 31)])
    | st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    st.sampled_from(HOURS), st.lists(st.sampled_from(["张流动", "李在家", "王五"]), max_size=5),      # a name twice, at times
    st.none() | st.sampled_from(["张流动", "李在家"]))


@settings(max_examples=200, deadline=None)
@given(st.lists(hours_strategy, max_size=30), st.sampled_from(KEEPS), st.booleans(),
       st.sampled_from([date(2026, 12, 31), date(2027, 1, 31)]) | st.dates(date(2025, 6, 1), date(2027, 1, 31)))
def test_hours_kept_by_status_are_those_of_the_full_evaluation(rules, records, keep, exempting, as_of):
    """Member-years plainly met are left out by counting hours per value; what is kept is what filtering all would keep."""
    org = BRANCH if not exempting else OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", has_committee=True,
                                                full_members=10, groups=BRANCH.groups, members=EXEMPT_MEMBERS)
    catalog = rules.catalog("national-2018")
    every = evaluate_org(catalog, org, records, date(2025, 1, 1), date(2026, 12, 31), as_of)
    kept = evaluate_org(catalog, org, records, date(2025, 1, 1), date(2026, 12, 31), as_of, keep)
    assert [f for f in every if f.obligation == "training_hours"] or \
        not [r for r in records if (r.attendees or r.member) and r.held_on <= as_of]
    assert [f for f in kept if f.obligation == "training_hours"] == \
        [f for f in every if f.status in keep and f.obligation == "training_hours"]


def test_hours_exactly_at_the_minimum_are_summed_in_date_order(rules):
    """160 records of 0.2 hours add up, one by one in date order, to 31.99999999999992, short of 32; 160 × 0.2 is 32.0."""
    records = [rec("study_day", (date(2026, 1, 1) + timedelta(days=i)).isoformat(), hours=0.2, attendees="李在家")
               for i in range(160)]
    for keep in (None, ("missed", "invalid", "due")):
        found = [f for f in evaluate_org(rules.catalog("national-2018"), BRANCH, records, date(2026, 1, 1), date(2026, 12, 31),
                                         date(2026, 11, 25), keep) if f.obligation == "training_hours" and f.member == "李在家"]
        assert [(f.status, f.flags, len(f.records)) for f in found] == [("due", ("short_hours",), 160)]


PAYERS = {"张流动": 1, "李在家": 2, "王五": 9}     # 王五 is on no roster: their payments are judged for nobody
MONTHS = [f"{y}-{m:02d}" for y, m in [(2025, 11), (2025, 12)] + [(2026, m) for m in range(1, 13)] + [(2027, 1), (2027, 2)]]
# Each month: not paid, paid ahead (20 days before it), some days after its first, on the last day of the arrears limit, or the day after.
paid_strategy = st.lists(st.sampled_from([None, -20, 0, 0, 0, 3, 40, 150, "limit", "after"]), min_size=len(MONTHS), max_size=len(MONTHS))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(PAYERS)), st.booleans(), paid_strategy), max_size=3),
       st.lists(wide_record_strategy, max_size=12),      # records of kind "dues" among them, at times (logged as meetings)
       st.sampled_from([None, *KEEPS]), st.booleans(), st.booleans(), st.dates(date(2026, 1, 1), date(2027, 1, 31)))
@example([("李在家", False, [None if m == "2026-03" else 0 for m in MONTHS])], [rec("dues", "2026-03-10", member="李在家")], KEEPS[0],
         False, False, date(2026, 11, 20))
@example([], [rec("dues", "2026-03-10", member="李在家")], KEEPS[0], False, False, date(2026, 11, 20))
def test_dues_judged_from_the_payments_are_those_judged_from_their_records(rules, payers, records, keep, exempting, bare, as_of):
    """`evaluate_org` with `paid` gives what it gives with each payment as a record of kind "dues" (as tracking made them)."""
    from dateutil.relativedelta import relativedelta

    from compliance.evaluate import judges_dues_by_member

    org = _wide_org(exempting, False)
    paid: dict[str, dict[int, dict[str, date]]] = {}
    for name, second, days in payers:      # a second member of the same name, at times
        member_id = PAYERS[name] + (100 if second else 0)
        for month, late in zip(MONTHS, days):
            start = date(int(month[:4]), int(month[5:]), 1)
            limit = start + relativedelta(months=7) - timedelta(days=1)      # the month's end, 6 months on
            if late is not None:
                day = limit if late == "limit" else limit + timedelta(days=1) if late == "after" else start + timedelta(days=late)
                paid.setdefault(name, {}).setdefault(member_id, {})[month] = day
    as_records = [Record(-member_id, 1, "dues", date(int(month[:4]), int(month[5:]), 1), paid_on, member=name)
                  for name, members in paid.items() for member_id, months in members.items() for month, paid_on in months.items()]
    on_roster = {m.name for m in org.members}
    by_name = {name: list(members.items()) for name, members in paid.items() if name in on_roster}
    bare = bare and keep is not None and "met" in keep
    for catalog in rules.catalogs.values():
        assert judges_dues_by_member(catalog)
        expected = evaluate_org(catalog, org, records + as_records, date(2026, 1, 1), date(2026, 12, 31), as_of, keep, bare_met=bare)
        assert evaluate_org(catalog, org, records, date(2026, 1, 1), date(2026, 12, 31), as_of, keep, bare_met=bare,
                            paid=by_name) == expected, catalog.name


# A rule changed from its own date: its earlier periods are judged by the version before, on the
# records of the newest version's kind (`evaluate_org`).
NEWER_COUNTS_DUES = local_catalog("wujin-2016", "2026-07-01", "dues_base_review", "dues", per="member")
OLDER_COUNTS_DUES = local_catalog("national-2018", "2026-07-01", "dues", "dues_base_review", per="member")


@pytest.mark.parametrize("body, by_member", [(NEWER_COUNTS_DUES, False), (OLDER_COUNTS_DUES, True)])
def test_a_rule_changed_from_its_date_is_judged_on_the_payments_as_its_newest_version_counts_them(tmp_path, body, by_member):
    """Where the catalog lets evaluation take the payments as they are, it finds what the payments as records give."""
    from compliance.evaluate import judges_dues_by_member
    from obligations.rules import load_rules

    path = tmp_path / "local.toml"
    path.write_text(body, encoding="utf-8")
    catalog = load_rules(extra_catalog=path).catalog("local-2026")
    assert judges_dues_by_member(catalog) is by_member
    org = _wide_org(False, False)
    months = {f"2026-{m:02d}": date(2026, m, 5) for m in range(1, 12)}
    as_records = [Record(-2, 1, "dues", date(2026, int(month[5:]), 1), paid_on, member="李在家") for month, paid_on in months.items()]
    for keep, bare in [(None, False), (KEEPS[0], False), (KEEPS[3], True)]:
        expected = evaluate_org(catalog, org, as_records, date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 20), keep, bare_met=bare)
        if by_member:
            assert evaluate_org(catalog, org, [], date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 20), keep, bare_met=bare,
                                paid={"李在家": [(2, months)]}) == expected


def test_an_obligation_dropped_from_a_date_is_still_owed_before_it(tmp_path):
    """`drop` removed the obligation from every year: 民主评议 of 2025 vanished under a catalog valid from 2026."""
    from obligations.rules import load_rules

    path = tmp_path / "haian.toml"
    path.write_text('name = "haian-2026"\nextends = "national-2018"\nvalid_from = 2026-01-01\nsource = "某组发〔2026〕1号"\n'
                    'drop = ["member_review"]\n', encoding="utf-8")
    catalog = load_rules(extra_catalog=path).catalog("haian-2026")
    assert catalog.obligation("member_review") is None
    found = evaluate_org(catalog, BRANCH, [Record(7, 1, "member_review", date(2025, 12, 10), date(2025, 12, 10), 9, 9)],
                         date(2025, 1, 1), date(2026, 12, 31), date(2026, 12, 31))
    reviews = [(f.period, f.status, f.records) for f in found if f.obligation == "member_review"]
    assert reviews == [("2025", "met", (7,))]
    # Unmet, it is missed for 2025 and owed nothing for 2026; and a supervision's narrowed judging keeps it apart.
    missed = evaluate_org(catalog, BRANCH, [], date(2025, 1, 1), date(2026, 12, 31), date(2026, 12, 31), keep=("missed",))
    assert [(f.period, f.status) for f in missed if f.obligation == "member_review"] == [("2025", "missed")]
    skipped = evaluate_org(catalog, BRANCH, [], date(2025, 1, 1), date(2026, 12, 31), date(2026, 12, 31), skip=("member_review",))
    assert not [f for f in skipped if f.obligation == "member_review"]


@pytest.mark.parametrize("again, expected", [
    # Dropped and added again in the same catalog: monthly from 2026, yearly before.
    ('name = "haian-2026"\nextends = "national-2018"\nvalid_from = 2026-01-01\nsource = "x"\ndrop = ["member_review"]\n'
     '[[obligation]]\nslug = "member_review"\ncadence = "half_yearly"\nsource = "x"\n', [("2025", "missed"), ("2026-H1", "missed"), ("2026-H2", "missed")]),
    # Dropped by a parent from 2025 and added again by its child from 2026: owed before 2025, not in 2025, again from 2026.
    ('name = "haian-2025"\nextends = "national-2018"\nvalid_from = 2025-01-01\nsource = "x"\ndrop = ["member_review"]\n', None),
])
def test_an_obligation_dropped_and_added_again_keeps_the_dropped_rule_for_the_periods_before(tmp_path, again, expected):
    """Added again after a drop, its earlier periods were 免除 (exempt): the new rule alone judged it, from its own date."""
    from obligations.rules import load_rules

    (tmp_path / "a.toml").write_text(again, encoding="utf-8")
    if expected is None:
        child = ('name = "haian-2026"\nextends = "haian-2025"\nvalid_from = 2026-01-01\nsource = "x"\n'
                 '[[obligation]]\nslug = "member_review"\ncadence = "yearly"\nsource = "x"\n')
        folder = tmp_path / "data"
        import shutil
        from pathlib import Path

        shutil.copytree(Path(__file__).parent.parent / "data", folder)
        (folder / "catalogs" / "a.toml").write_text(again, encoding="utf-8")
        (folder / "catalogs" / "b.toml").write_text(child, encoding="utf-8")
        catalog = load_rules(folder).catalog("haian-2026")
        first, expected = date(2024, 1, 1), [("2024", "missed"), ("2026", "missed")]
    else:
        catalog = load_rules(extra_catalog=tmp_path / "a.toml").catalog("haian-2026")
        first = date(2025, 1, 1)
    found = evaluate_org(catalog, BRANCH, [], first, date(2026, 12, 31), date(2027, 1, 31))
    assert sorted((f.period, f.status) for f in found if f.obligation == "member_review") == expected


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["national-2018", "tuhe-2021", "wujin-2016"]), st.data(),
       st.sampled_from([BRANCH, replace(BRANCH, has_committee=False, groups=()), replace(BRANCH, type="党总支", sector="社区"),
                        replace(BRANCH, sector="两新", secretary="陶英")]),
       st.dates(date(2025, 1, 1), date(2026, 11, 25)))
def test_a_record_judged_alone_on_the_obligations_its_kind_bears_on_is_judged_as_on_all(rules, catalog_name, data, org, held):
    """`record import` and `log` judge each record only on the obligations its kind can bear on (`_unrelated`): the same notes as on all."""
    from compliance.orgs import MemberRow
    from compliance.tracking import _alone, _unrelated

    catalog = rules.catalog(catalog_name)
    kind = data.draw(st.sampled_from(sorted(k for k, v in rules.kinds.items() if not v.derived)))
    member = data.draw(st.sampled_from([None, "张流动", "李在家"]))
    record = rec(kind, held.isoformat(), member=member, expected=data.draw(st.sampled_from([None, 3, 10])),
                 present=data.draw(st.sampled_from([None, 2, 9])), hours=data.draw(st.sampled_from([None, 2.0])),
                 counterpart=data.draw(st.sampled_from([None, "李在家"])), lecturer=data.draw(st.sampled_from([None, "陶英"])))
    members = [MemberRow(1, 1, "张流动", None, "正式", True, None), MemberRow(2, 1, "李在家", None, "正式", False, None)]
    as_of = date(2026, 11, 25)
    assert _alone(catalog, org, members, record, as_of, _unrelated(catalog, kind)) == _alone(catalog, org, members, record, as_of, frozenset())
