"""Member-level obligations as findings: talks, training hours, dues by quarter and in arrears, the six-month watch."""

from __future__ import annotations

import csv
import io
import itertools
import json
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import event

from compliance import importing, membership
from compliance.evaluate import Finding, MemberRef, OrgFacts, Record, evaluate_org
from compliance.members import DuesLimit, MemberInfo, timely_payments, watch_runs
from compliance.store import TZ, Store
from compliance.supervision import ledger_item, supervise
from compliance.tracking import Window, org_status, overdue, watch_findings
from compliance.orgs import OrgRow
from tests.conftest import TOWN_ORGS, local_catalog, roster_csv, write_csv

_ids = itertools.count(1)
BRANCH = OrgFacts(id=1, path="镇党委/一村党支部", type="党支部", sector="农村", full_members=3,
                  members=(MemberRef("张三"), MemberRef("李四"), MemberRef("王五")))


def rec(kind: str, held: str, recorded: str | None = None, **fields) -> Record:
    day = date.fromisoformat(held)
    return Record(next(_ids), 1, kind, day, date.fromisoformat(recorded) if recorded else day, **fields)


def judged(rules, records, slug: str, as_of: str = "2026-11-25", org: OrgFacts = BRANCH) -> dict[tuple[str | None, str], object]:
    found = evaluate_org(rules.catalog("national-2018"), org, records, date(2026, 1, 1), date(2026, 12, 31), date.fromisoformat(as_of))
    return {(f.member, f.period): f for f in found if f.obligation == slug}


def test_a_talk_counts_for_both_members_and_is_listed_only_from_october(rules):
    talk = rec("heart_talk", "2026-03-04", member="张三", counterpart="李四")
    march = judged(rules, [talk], "heart_talk", as_of="2026-09-30")
    assert march[("张三", "2026")].status == "met" and march[("李四", "2026")].status == "met"
    assert march[("王五", "2026")].status == "upcoming"          # a yearly item is not due all year
    october = judged(rules, [talk], "heart_talk", as_of="2026-10-01")
    assert october[("王五", "2026")].status == "due" and october[("王五", "2026")].days_left == 91
    assert judged(rules, [talk], "heart_talk", as_of="2027-01-01")[("王五", "2026")].status == "missed"


@pytest.mark.parametrize("extra, status", [(31.5 - 8, "missed"), (32 - 8, "met")])
def test_training_hours_31_and_a_half_is_short_and_32_is_enough(rules, extra: float, status: str):
    records = [rec("party_lecture", "2026-03-05", attendees="张三、李四", hours=8),
               rec("study_day", "2026-06-10", attendees="张三", hours=extra),
               rec("party_lecture", "2025-12-05", attendees="张三", hours=30)]       # last year's hours do not carry over
    found = judged(rules, records, "training_hours", as_of="2027-01-05")
    assert found[("张三", "2026")].status == status
    assert found[("李四", "2026")].status == "missed" and found[("李四", "2026")].flags == ("short_hours",)
    assert found[("王五", "2026")].flags == ()          # nothing attended at all


def test_a_branch_that_records_no_hours_is_not_judged_on_them(rules):
    assert judged(rules, [rec("theme_day", "2026-03-05", attendees="张三")], "training_hours") == {}


def test_a_branch_that_recorded_hours_only_last_year_is_judged_on_this_years(rules):
    # Evaluation gathers only the hours held in the periods judged; last year's still show the branch keeps them.
    found = judged(rules, [rec("party_lecture", "2025-12-05", attendees="张三", hours=30)], "training_hours",
                   as_of="2027-01-05")
    assert {member: f.status for (member, _), f in found.items()} == {"张三": "missed", "李四": "missed", "王五": "missed"}
    assert found[("张三", "2026")].records == () and found[("张三", "2026")].flags == ()


def test_dues_paid_late_count_within_six_months_and_not_after(rules):
    records = [rec("dues", "2026-01-01", "2026-01-05", member="张三"),
               rec("dues", "2026-02-01", "2026-08-20", member="张三"),       # 28 Feb + 6 months = 28 Aug: in time
               rec("dues", "2026-03-01", "2026-10-02", member="张三")]       # 31 Mar + 6 months = 30 Sep: too late
    found = judged(rules, records, "dues")
    assert (found[("张三", "2026-01")].status, found[("张三", "2026-01")].flags) == ("met", ())
    assert (found[("张三", "2026-02")].status, found[("张三", "2026-02")].flags) == ("met", ("paid_late",))
    assert (found[("张三", "2026-03")].status, found[("张三", "2026-03")].flags) == ("invalid", ("arrears_too_late",))


def test_quarterly_payment_with_the_branch_consent_is_due_at_the_quarter_end(rules):
    consent = rec("dues_by_quarter", "2026-07-01", member="张三")
    paid = [rec("dues", f"2026-{m:02d}-01", member=name) for m in range(1, 10) for name in ("张三", "李四")]
    found = judged(rules, paid + [consent], "dues", as_of="2026-11-20")
    assert found[("张三", "2026-10")].status == "due" and found[("张三", "2026-10")].due == date(2026, 12, 31)
    assert found[("李四", "2026-10")].status == "missed"                 # no consent: due at the month's end
    assert found[("张三", "2026-06")].due == date(2026, 6, 30)           # before the consent: monthly
    whole_branch = judged(rules, paid + [rec("dues_by_quarter", "2026-07-01")], "dues", as_of="2026-11-20")
    assert whole_branch[("李四", "2026-10")].status == "due"


ORG = OrgRow(1, None, "一村党支部", None, "镇党委/一村党支部", "党支部", None, None, None, None, None, None, False, None)
ZHANG = MemberInfo(1, 1, ORG.path, "张三")
LI = MemberInfo(2, 1, ORG.path, "李四")


def _monthly(months, attendees):
    return [rec("theme_day", f"2026-{m:02d}-05", attendees=attendees) for m in months]


def _watch(rules, records, as_of: str, dues=None, dues_orgs=()):
    day = date.fromisoformat(as_of)
    window = Window(date(2026, 1, 1), day, day)
    runs = watch_runs([ZHANG, LI], records, dues or {}, set(dues_orgs), day, date(2025, 1, 1))
    return {(f.obligation, f.member): f for f in watch_findings(rules, ORG, runs, window)}


def test_the_watch_as_findings_due_at_three_months_missed_at_six_never_for_five_then_back(rules):
    six = _watch(rules, _monthly(range(1, 5), "张三、李四") + _monthly(range(5, 11), "李四"), "2026-11-20")
    zhang = six[("absence_watch", "张三")]
    assert (zhang.status, zhang.period, zhang.due, zhang.flags) == ("missed", "2026-05", date(2026, 10, 31), ("review_membership",))
    assert ("absence_watch", "李四") not in six
    three = _watch(rules, _monthly(range(1, 8), "张三、李四") + _monthly(range(8, 11), "李四"), "2026-11-20")
    assert (three[("absence_watch", "张三")].status, three[("absence_watch", "张三")].days_left) == ("due", 72)
    back = _watch(rules, _monthly(range(1, 5), "张三、李四") + _monthly(range(5, 10), "李四") + _monthly([10], "张三、李四"),
                  "2026-11-20")
    # Five months away and then back: never put to the branch; the run is met, so a ledger item for it closes.
    assert (back[("absence_watch", "张三")].status, back[("absence_watch", "张三")].flags) == ("met", ())


def test_a_past_years_status_lists_no_watch_run_begun_after_it(rules):
    records = [rec("theme_day", f"2025-{m:02d}-05", attendees="张三、李四") for m in range(1, 13)]
    records += _monthly(range(1, 11), "李四")            # 张三 away all 2026: a run from January 2026
    day = date(2026, 11, 20)
    runs = watch_runs([ZHANG, LI], records, {}, set(), day, date(2025, 1, 1))
    assert [(r.member.name, r.first) for r in runs] == [("张三", date(2026, 1, 1))]
    assert watch_findings(rules, ORG, runs, Window(date(2025, 1, 1), date(2025, 12, 31), day)) == []
    assert [f.period for f in watch_findings(rules, ORG, runs, Window(date(2026, 1, 1), day, day))] == ["2026-01"]


def test_the_watch_counts_unpaid_dues_where_the_branch_records_dues(rules):
    paid = {1: {f"2026-{m:02d}": date(2026, m, 5) for m in range(1, 5)}, 2: {f"2026-{m:02d}": date(2026, m, 5) for m in range(1, 11)}}
    found = _watch(rules, [], "2026-11-20", paid, dues_orgs=[1])
    assert found[("dues_watch", "张三")].status == "missed" and ("dues_watch", "李四") not in found
    assert _watch(rules, [], "2026-11-20", paid) == {}          # a branch that records no dues


def test_a_month_paid_more_than_six_months_late_is_unpaid_to_the_watch_as_in_status(rules):
    """January to June paid together on 2 November: status judged January to April 无效（补交超过6个月）, while the watch
    saw every month paid and no run at all."""
    late = {f"2026-{m:02d}": date(2026, 11, 2) for m in range(1, 7)}
    limit = DuesLimit(6, lambda name: None)
    assert sorted(timely_payments(late, limit, "张三")) == ["2026-05", "2026-06"]      # 31 May + 6 months = 30 Nov
    # With the branch's consent to payment by quarter from January, April to June are due on 30 June: all in time.
    consent = DuesLimit(6, lambda name: date(2026, 1, 1) if name == "张三" else None)
    assert sorted(timely_payments(late, consent, "张三")) == ["2026-04", "2026-05", "2026-06"]
    on_time = {f"2026-{m:02d}": date(2026, m, 5) for m in range(1, 11)}
    assert timely_payments(on_time, limit, "张三") is on_time
    paid = {1: late | {f"2026-{m:02d}": date(2026, m, 5) for m in range(7, 11)}, 2: on_time}
    runs = watch_runs([ZHANG, LI], [], paid, {1}, date(2026, 11, 20), date(2026, 1, 1), dues_limit=limit)
    assert [(r.member.name, r.what, r.first, r.months, r.running) for r in runs] == [("张三", "dues", date(2026, 1, 1), 4, False)]
    assert watch_runs([ZHANG, LI], [], paid, {1}, date(2026, 11, 20), date(2026, 1, 1)) == []


def test_taking_part_or_paying_in_the_month_still_open_ends_a_run(rules):
    """Paid on 6 November, a member stood as 未交费10个月（提请支部审查） beside 党费 11月 已完成 until December (try-out)."""
    paid = {1: {"2026-11": date(2026, 11, 6)}, 2: {f"2026-{m:02d}": date(2026, m, 5) for m in range(1, 12)}}
    found = _watch(rules, _monthly(range(1, 7), "张三、李四") + _monthly(range(7, 11), "李四")
                   + [rec("theme_day", "2026-11-25", attendees="张三、李四")], "2026-11-27", paid, dues_orgs=[1])
    assert (found[("dues_watch", "张三")].status, found[("dues_watch", "张三")].flags) == ("met", ())
    assert (found[("absence_watch", "张三")].status, found[("absence_watch", "张三")].flags) == ("met", ())
    # Not before the day they took part: as of the 24th the run goes on.
    before = _watch(rules, _monthly(range(1, 7), "张三、李四") + _monthly(range(7, 11), "李四")
                    + [rec("theme_day", "2026-11-25", attendees="张三、李四")], "2026-11-24")
    assert (before[("absence_watch", "张三")].status, before[("absence_watch", "张三")].flags) == ("due", ("watch",))
    # A meeting this month with a list that leaves them out ends nothing.
    absent = _watch(rules, _monthly(range(1, 7), "张三、李四") + _monthly(range(7, 12), "李四"), "2026-11-27")
    assert absent[("absence_watch", "张三")].status == "due"
    # Nor does an exemption from the 28th, looked at on the 27th (review): it had not begun.
    exempt = ZHANG._replace(exemptions=((date(2026, 11, 28), date(2027, 2, 28)),))
    runs = watch_runs([exempt], _monthly(range(1, 7), "张三、李四") + _monthly(range(7, 12), "李四"), {}, set(),
                      date(2026, 11, 27), date(2025, 1, 1))
    assert [(r.what, r.running) for r in runs] == [("absence", True)]


BRANCH_PATH = "图河镇党委/朱庄村党总支/第一党支部"


def test_watch_talks_and_dues_appear_in_status_and_overdue(town: Store, rules, tmp_path: Path):
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    names = sorted(m.name for m in town.members() if m.org_id == branch.id and not m.mobile)
    away, rest = names[0], names[1:]
    rows = ["党组织,类型,日期,主题,图片,参会人员,党员,谈话对象,学时"]
    rows += [f"ZZ1,主题党日,2026-{m:02d}-05,学习,p.jpg,{'、'.join(names if m < 5 else rest)},,,2" for m in range(1, 11)]
    rows += [f"ZZ1,谈心谈话,2026-03-0{i + 1},谈心,,,{a},{b}," for i, (a, b) in enumerate(zip(rest[::2], rest[1::2]))]
    rows += [f"ZZ1,党费按季交纳批准,2026-07-01,支部委员会同意按季交纳,,,{away},,"]
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", "\n".join(rows)))
    dues = ["姓名,党组织,月份,金额,交纳日期"] + [f"{away},{BRANCH_PATH},2026-{m:02d},10,2026-{m:02d}-05" for m in range(1, 10)]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(dues)))
    day = date(2026, 11, 20)
    window = Window(date(2026, 1, 1), day, day)
    status = {(f.obligation, f.member): f for f in org_status(town, rules, "ZZ1", window)}
    assert status[("absence_watch", away)].status == "missed"
    assert status[("heart_talk", rest[0])].status == "met" and status[("heart_talk", rest[1])].status == "met"
    assert status[("heart_talk", away)].status == "due"
    assert status[("training_hours", rest[0])].status == "due"          # 20 of 32 hours, with six weeks left
    listed = {(f.obligation, f.member, f.period): f.status for f in overdue(town, rules, "图河镇党委", window)}
    assert listed[("absence_watch", away, "2026-05")] == "missed"
    assert listed[("dues", away, "2026-10")] == "due"          # paid by quarter: due on 31 December, not missed


def test_months_paid_too_late_do_not_end_a_run_in_status_nor_in_members_watch(town: Store, rules, tmp_path: Path):
    """January to March paid on 2 November are 无效（补交超过6个月） in status; the watch took them as paid and counted 7 months, not 10."""
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    names = sorted(m.name for m in town.members() if m.org_id == branch.id)
    late, others = names[0], names[1:]
    dues = ["姓名,党组织,月份,金额,交纳日期"] + [f"{late},{BRANCH_PATH},2026-{m:02d},10,2026-11-02" for m in range(1, 4)]
    dues += [f"{name},{BRANCH_PATH},2026-{m:02d},10,2026-{m:02d}-05" for name in others for m in range(1, 11)]
    dues += [f"{name},{BRANCH_PATH},2025-{m:02d},10,2025-{m:02d}-05" for name in names for m in range(1, 13)]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(dues)))
    day = date(2026, 11, 20)
    status = {(f.obligation, f.member, f.period): f.status for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day))}
    assert [status[("dues", late, f"2026-{m:02d}")] for m in range(1, 4)] == ["invalid"] * 3
    assert status[("dues_watch", late, "2026-01")] == "missed" and ("dues_watch", late, "2026-04") not in status
    assert not any(key[0] == "dues_watch" and key[1] != late for key in status)
    [row] = [r for r in membership.member_watch(town, BRANCH_PATH, day, rules=rules) if r.member == late]
    assert (row.months_unpaid, row.last_dues, row.level) == (10, "2026-03", "review")


def test_dues_paid_only_years_ago_are_not_read_and_the_branch_is_still_judged_on_dues(town: Store, rules, tmp_path: Path):
    """Evaluation reads payments for the months from a year before its window on, as it reads records,
    so that years of payments cost nothing; a branch whose last payment is older still records dues."""
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    payer = sorted(m.name for m in town.members() if m.org_id == branch.id)[0]
    dues = ["姓名,党组织,月份,金额,交纳日期"] + [f"{payer},{BRANCH_PATH},2024-{m:02d},10,2024-{m:02d}-05" for m in range(1, 13)]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(dues)))
    day = date(2026, 11, 20)
    read: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "duespayment.month >=" in statement:
            read.append((statement, parameters))

    event.listen(town.engine, "before_cursor_execute", capture)
    try:
        listed = {(f.obligation, f.member, f.period): f.status for f in overdue(town, rules, "图河镇党委", Window(date(2026, 1, 1), day, day))}
    finally:
        event.remove(town.engine, "before_cursor_execute", capture)
    assert len(read) == 1 and "2025-01" in str(read[0][1])          # a year before the window's first month
    assert listed[("dues", payer, "2026-05")] == "missed"
    assert any(obligation == "dues_watch" and member == payer for obligation, member, _ in listed)
    here = {m.name for m in town.members() if m.org_id == branch.id}
    assert {member for obligation, member, _ in listed if obligation == "dues"} == here      # no other branch records dues
    assert list(town.scope_dues("图河镇党委", None, day, None, date(2025, 1, 1))) == []
    assert town.dues_orgs("图河镇党委", None, day) == {branch.id}
    assert town.dues_orgs("图河镇党委", None, date(2023, 12, 31)) == set()         # nothing paid yet then


def test_the_watch_and_unpaid_read_payments_from_their_year_on_and_still_show_the_last_month_paid(town: Store, tmp_path: Path):
    """`members watch` and `dues unpaid` count no month before a year back: they read the payments
    from then on, and of the years before only each member's last month paid."""
    town.clock = lambda: datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    old, both, never = sorted(m.name for m in town.members() if m.org_id == branch.id)[:3]
    rows = [(old, f"2024-{m:02d}", f"2024-{m:02d}-05") for m in range(1, 13)]
    rows += [(both, "2024-03", "2024-03-05"), (both, "2026-02", "2026-02-10"),
             (both, "2025-01", "2026-11-25")]            # paid after the as-of day: not yet paid then
    dues = ["姓名,党组织,月份,金额,交纳日期"] + [f"{n},{BRANCH_PATH},{month},10,{day}" for n, month, day in rows]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(dues)))
    day = date(2026, 11, 20)
    read: list[object] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM duespayment" in statement:
            read.append(parameters)

    event.listen(town.engine, "before_cursor_execute", capture)
    try:
        watched = {r.member: r for r in membership.member_watch(town, BRANCH_PATH, day)}
        unpaid = {r["member"]: r for r in membership.unpaid(town, BRANCH_PATH, day)}
    finally:
        event.remove(town.engine, "before_cursor_execute", capture)
    # Two reads each, both bounded by the watch's first month: its payments, and the last month before it.
    assert len(read) == 4 and all("2025-11" in str(p) for p in read)
    assert (watched[old].last_dues, watched[old].months_unpaid) == ("2024-12", 12)     # November 2025 to October 2026
    assert (watched[both].last_dues, watched[both].months_unpaid) == ("2026-02", 8)     # March to October 2026
    assert (watched[never].last_dues, watched[never].months_unpaid) == (None, 12)
    assert (unpaid[old]["last_paid"], unpaid[old]["months"]) == ("2024-12", 13)
    assert (unpaid[both]["last_paid"], unpaid[both]["months"]) == ("2026-02", 9)
    assert unpaid[never]["last_paid"] is None
    # A branch whose members all last paid years ago still records dues.
    assert town.dues_orgs(BRANCH_PATH, None, day) == {branch.id}
    assert {r.member for r in membership.member_watch(town, "图河镇党委", day) if r.months_unpaid is not None} == set(watched)


LOCAL_DUES = local_catalog("tuhe-2021", "2026-01-01", "dues_base_review", "dues")      # 党支部每月收缴党费


def test_a_local_rule_that_counts_dues_per_branch_is_judged_on_the_payments(store: Store, tmp_path: Path):
    """Payments are judged as they are only where every rule judged on them is each member's own;
    a local rule counting them per branch gets them as records of the branch, as before."""
    from compliance.evaluate import judges_dues_by_member
    from obligations.rules import load_rules

    local = load_rules(extra_catalog=write_csv(tmp_path / "local.toml", LOCAL_DUES))
    assert not judges_dues_by_member(local.catalog("local-2026")) and judges_dues_by_member(local.catalog("tuhe-2021"))
    store.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    importing.import_orgs(store, local, write_csv(tmp_path / "orgs.csv", TOWN_ORGS.replace(",tuhe-2021,", ",local-2026,")))
    importing.import_members(store, write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n"
                                              + roster_csv(BRANCH_PATH, 4)))
    payer = sorted(m.name for m in store.members())[0]
    dues = ["姓名,党组织,月份,金额,交纳日期"] + [f"{payer},{BRANCH_PATH},2026-{m:02d},10,2026-{m:02d}-05" for m in range(1, 10)]
    membership.import_dues(store, write_csv(tmp_path / "d.csv", "\n".join(dues)))
    day = date(2026, 11, 20)
    found = {(f.obligation, f.member, f.period): f.status for f in overdue(store, local, "图河镇党委", Window(date(2026, 1, 1), day, day))
             if f.org.endswith("第一党支部")}
    # The branch collected dues from January to September: October is missed, November still due.
    assert {period for obligation, _, period in found if obligation == "dues_base_review"} == {"2026-10", "2026-11"}
    assert found[("dues_base_review", None, "2026-10")] == "missed"
    assert ("dues", payer, "2026-09") not in found and found[("dues", payer, "2026-10")] == "missed"


def test_a_talk_must_name_a_member_of_the_roster_as_its_counterpart(town: Store, rules, tmp_path: Path):
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    member = sorted(m.name for m in town.members() if m.org_id == branch.id)[0]
    bad = write_csv(tmp_path / "r.csv", f"党组织,类型,日期,党员,谈话对象\nZZ1,谈心谈话,2026-03-01,{member},路人甲\n")
    with pytest.raises(importing.InputError, match=r"r\.csv 第2行「谈话对象」列：值「路人甲」：不是.*花名册上的党员（未导入任何数据）$"):
        importing.import_records(town, rules, bad)
    assert town.record_count() == 0


def test_derived_kinds_are_not_record_kinds(rules):
    assert rules.kind("连续未参加组织生活") is None and rules.kind("absence_watch") is None
    assert rules.kind("党费按季交纳批准") == "dues_by_quarter"


def test_status_shows_the_watch_in_chinese(runner, tmp_path: Path):
    from compliance.cli import app
    from tests.conftest import TOWN_ORGS, roster_csv

    db = ["--db", str(tmp_path / "w.db")]
    assert runner.invoke(app, db + ["init"]).exit_code == 0
    runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))])
    runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH_PATH, 8)))])
    names = [f"党员第一党支部{i}" for i in range(8)]
    for month in range(1, 11):
        result = runner.invoke(app, db + ["log", "主题党日", "--org", "ZZ1", "--date", f"2026-{month:02d}-05", "--topic", "学习",
                                          "--photos", "p", "--attendee", "、".join(names if month < 5 else names[1:])])
        assert result.exit_code == 0, result.output
    rows = json.loads(runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    watch = [r for r in rows if r["obligation"] == "absence_watch"]
    assert [(r["member"], r["status"], r["period"]) for r in watch] == [("党员第一党支部0", "missed", "2026-05")]
    table = runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-11-20"]).output
    assert "连续未参加组织生活" in table and "5月起" in table and "提请" in table
    before = runner.invoke(app, db + ["members", "watch", "--all", "--as-of", "2026-11-20"], terminal_width=200).output
    # Excused in November, the run of months has ended: 已中断, not 已完成 (it read as done: try-out).
    excused = runner.invoke(app, db + ["log", "主题党日", "--org", "ZZ1", "--date", "2026-11-05", "--topic", "学习", "--photos", "p",
                                       "--attendee", "、".join(names[1:]), "--excused", names[0]])
    assert excused.exit_code == 0, excused.output
    rows = json.loads(runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-12-05", "--format", "json"]).stdout)
    assert [(r["status"], r["period"]) for r in rows if r["obligation"] == "absence_watch"] == [("met", "2026-05")]
    table = runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-12-05"], terminal_width=200).output
    [line] = [line for line in table.splitlines() if "连续未参加组织生活" in line]
    assert [c.strip() for c in line.strip("│").split("│")] == ["连续未参加组织生活", names[0], "已中断", "5月起"]
    assert "，已中断 1 项" in table.splitlines()[-1]
    # So does the CSV: it said 已完成 beside the table's 已中断 (review).
    listed = runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-12-05", "--format", "csv"]).stdout
    assert [r["状态"] for r in csv.DictReader(io.StringIO(listed.lstrip("\ufeff"))) if r["事项"] == "连续未参加组织生活"] == ["已中断"]
    # `members watch` says why 最近参加 in April stands beside 未参加 0个月 (a contradiction to a try-out), when it does.
    said = "「未参加」是到上月为止连续未参加的月数：请假、免除的月份，流动党员半年汇报所覆盖的月份，没有参会名单的月份"
    after = runner.invoke(app, db + ["members", "watch", "--all", "--as-of", "2026-12-05"], terminal_width=200).output
    assert said not in before and "6个月" in before
    assert said in after and "│ 2026-04-05 │ 0个月  │" in after


def test_the_early_warning_is_configurable(runner, tmp_path: Path):
    from compliance.cli import app
    from tests.conftest import TOWN_ORGS, roster_csv

    db = ["--db", str(tmp_path / "c.db")]
    assert "1到5" in runner.invoke(app, db + ["init", "--watch-months", "9"]).output
    assert runner.invoke(app, db + ["init", "--watch-months", "4"]).exit_code == 0
    runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))])
    runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH_PATH, 8)))])
    names = [f"党员第一党支部{i}" for i in range(8)]
    for month in range(1, 11):        # 党员第一党支部0 is away from August: three months by October
        runner.invoke(app, db + ["log", "主题党日", "--org", "ZZ1", "--date", f"2026-{month:02d}-05", "--topic", "学习",
                                 "--photos", "p", "--attendee", "、".join(names if month < 8 else names[1:])])
    status = json.loads(runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    watch = json.loads(runner.invoke(app, db + ["members", "watch", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    assert not [r for r in status if r["obligation"] == "absence_watch"] and not watch
    assert runner.invoke(app, db + ["init", "--watch-months", "3"]).exit_code == 0
    status = json.loads(runner.invoke(app, db + ["status", "--org", "ZZ1", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    assert [(r["member"], r["status"]) for r in status if r["obligation"] == "absence_watch"] == [("党员第一党支部0", "due")]


def test_a_dues_payment_becomes_the_record_of_its_member_and_month():
    from compliance.evaluate import Record
    from compliance.orgs import MemberRow
    from compliance.store.scope import Payment
    from compliance.tracking import _dues_records

    members = [MemberRow(7, 5, "张三", None, "正式党员", False, None), MemberRow(8, 5, "李四", None, "正式党员", False, None)]
    paid = [Payment(5, 7, "2026-03", date(2026, 4, 9)), Payment(5, 7, "2026-04", date(2026, 4, 9)), Payment(5, 9, "2026-12", date(2026, 12, 1))]
    dues: dict = {}
    made = _dues_records(5, paid, members, dues)
    assert made[0] == Record(-7, 5, "dues", date(2026, 3, 1), date(2026, 4, 9), member="张三")
    assert (made[0].member, made[0].attendees, made[0].hours) == ("张三", None, None)
    assert [(r.held_on, r.member) for r in made[1:]] == [(date(2026, 4, 1), "张三"), (date(2026, 12, 1), None)]    # 9: not on the roster
    assert dues == {7: {"2026-03": date(2026, 4, 9), "2026-04": date(2026, 4, 9)}, 9: {"2026-12": date(2026, 12, 1)}}


def test_a_members_ledger_items_follow_the_member_up_instead_of_holding_a_meeting_again(rules):
    measure = lambda f: ledger_item(f, ORG, date(2026, 11, 1), rules.kinds)["measure"]  # noqa: E731
    six = _watch(rules, _monthly(range(1, 5), "张三、李四") + _monthly(range(5, 11), "李四"), "2026-11-20")
    assert measure(six[("absence_watch", "张三")]) == "与该党员谈心谈话，查明未参加组织生活的原因，督促其按时参加；已连续满6个月，提请支部审查"
    assert "张三" in ledger_item(six[("absence_watch", "张三")], ORG, date(2026, 11, 1), rules.kinds)["matter"]
    paid = {1: {f"2026-{m:02d}": date(2026, m, 5) for m in range(1, 5)}}
    unpaid = _watch(rules, [], "2026-11-20", paid, dues_orgs=[1])[("dues_watch", "张三")]
    assert measure(unpaid) == "提醒该党员按规定交纳党费，查明未交原因，督促其补交；已连续满6个月，提请支部审查"
    talk = judged(rules, [], "heart_talk", as_of="2027-01-05")[("张三", "2026")]
    assert talk.status == "missed" and measure(talk) == f"查明该党员未完成{talk.name}的原因，督促其按要求完成并规范记录"
    month = Finding(1, ORG.path, "dues", "党费", "2026-07", "missed", date(2026, 7, 31), None, (), (), "张三")
    assert measure(month) == "提醒该党员按规定交纳党费，查明未交原因，督促其补交"
    # paid, but more than six months late: the kind's own measure is for a missed month only
    assert measure(month._replace(status="invalid")) == "对照要求规范该党员的党费记录，补齐相关资料"
    # an election is held by its procedure, or its delay approved; a meeting not held is still held again
    election = Finding(1, ORG.path, "committee_election", "换届", "2021-04-15/2024-04-14", "missed", date(2024, 4, 14), None, (), ())
    assert measure(election) == "按程序及时组织换届选举；确需延期的，报上级党组织批准"
    # none on record: the last one may only not have been imported
    assert measure(election._replace(flags=("no_election_record",))) == \
        "核实最近一次换届选举情况，已换届的补录换届选举记录；未换届的，按程序及时组织换届选举；确需延期的，报上级党组织批准"
    theme_day = judged(rules, [], "theme_day")[(None, "2026-10")]
    assert theme_day.status == "missed" and measure(theme_day).startswith(f"查明未开展{theme_day.name}的原因，按要求补开")


def test_an_invalid_periods_measure_follows_what_made_its_record_not_count(rules):
    measure = lambda f: ledger_item(f, ORG, date(2026, 11, 1), rules.kinds)["measure"]  # noqa: E731

    def invalid(catalog: str, org: OrgFacts, records: list[Record], slug: str, first: str = "2026-01-01") -> Finding:
        found = evaluate_org(rules.catalog(catalog), org, records, date.fromisoformat(first), date(2026, 12, 31), date(2027, 1, 10))
        return next(f for f in found if f.obligation == slug and f.status == "invalid")

    # a congress one of three attended, signed by nobody: held again, with the quorum, and signed
    congress = invalid("national-2018", BRANCH, [rec("party_congress", "2026-02-10", expected=3, present=1)], "party_congress")
    assert {"no_quorum", "unsigned"} <= set(congress.flags)
    assert measure(congress) == f"到会人数须超过应到人数的半数，按要求重新召开{congress.name}并规范记录；补齐书记和记录人签字"
    # dues paid more than six months late: the member is reminded, nothing is paid again
    march = invalid("national-2018", BRANCH, [rec("dues", "2026-03-01", "2026-10-02", member="张三")], "dues")
    assert march.member == "张三" and march.flags == ("arrears_too_late",)
    assert measure(march) == "党费补交超过规定期限，对该党员进行提醒教育，督促其今后按规定按时足额交纳"
    # a committee elected late is not elected again: the delay is explained to the level above
    village = OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", founded=date(2018, 1, 10), has_committee=True)
    elections = [rec("committee_election", "2018-01-10"), rec("committee_election", "2024-03-01")]
    late = invalid("national-2018", village, elections, "committee_election", first="2022-01-01")
    assert late.flags == ("late_election",) and measure(late).startswith("换届选举逾期进行，查明原因并向上级党组织作出说明；")
    # a lecture not given by the secretary is given again by them
    secretary = OrgFacts(id=1, path=BRANCH.path, type="党支部", secretary="陶英", full_members=9)
    lecture = invalid("wujin-2016", secretary, [rec("party_lecture", "2026-05-06", lecturer="张三")], "secretary_lecture")
    assert measure(lecture) == "党组织书记每年至少讲1次党课，由书记按要求补讲并规范记录"
    # a study day held on the 12th, not the 10th or the 20th, and a lecture plan made in May, not in the first quarter
    study = invalid("tuhe-2021", BRANCH, [rec("study_day", "2026-06-12", topic="学习")], "study_day")
    assert study.flags == ("wrong_date",) and measure(study) == f"查明{study.name}未在规定时间内完成的原因，今后按规定时间完成并规范记录"
    plan = invalid("wujin-2016", secretary, [rec("lecture_plan", "2026-05-10")], "lecture_plan")
    assert plan.flags == ("wrong_date", "incomplete_evidence")       # no topic either
    assert measure(plan) == f"查明{plan.name}未在规定时间内完成的原因，今后按规定时间完成并规范记录；补齐所缺资料"
    # a flag this table does not know keeps the general measure
    assert measure(congress._replace(flags=("flag_of_a_local_rule",))) == f"对照要求重新规范开展{congress.name}，补齐到会人数、签字和图文资料"


MATUN = "图河镇党委/马屯村党支部"       # founded 2026-05-12, in a township tracked from 2025-01-01


def _dues(store: Store, tmp_path: Path, name: str, rows: list[tuple[str, str, str]]) -> None:
    """Import dues (member, month, day paid) with the store's clock at `name`'s import day."""
    body = ["姓名,党组织,月份,金额,交纳日期"] + [f"{member},{MATUN},{month},10,{paid}" for member, month, paid in rows]
    membership.import_dues(store, write_csv(tmp_path / f"{name}.csv", "\n".join(body)))


def test_dues_and_meetings_count_in_a_past_view_only_once_paid_held_and_entered(town: Store, rules, tmp_path: Path):
    matun = next(o for o in town.orgs() if o.path == MATUN)
    payer = sorted(m.name for m in town.members() if m.org_id == matun.id)[0]
    town.clock = lambda: datetime(2026, 8, 20, 9, 0, tzinfo=TZ)
    _dues(town, tmp_path, "summer", [(payer, "2026-06", "2026-06-05"), (payer, "2026-08", "2026-08-05")])
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    _dues(town, tmp_path, "late", [(payer, "2026-07", "2026-11-20"), (payer, "2026-09", "2026-11-20")])
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", f"党组织,类型,日期,主题,图片,参会人员\nMT,主题党日,2026-10-05,学习,p.jpg,{payer}"))

    def paid(as_of: str, known_at: datetime | None = None) -> str:
        day = date.fromisoformat(as_of)
        found = org_status(town, rules, "MT", Window(date(2026, 1, 1), day, day, known_at))
        return next(f.status for f in found if (f.obligation, f.member, f.period) == ("dues", payer, "2026-07"))

    assert paid("2026-11-25") == "met"
    assert paid("2026-08-15") != "met"                                  # paid on 11-20: not yet on 08-15
    assert paid("2026-11-25", datetime(2026, 11, 19, 18, 0, tzinfo=TZ)) != "met"     # nor known on 11-19
    # A supervision run of August does not count it either: July stays an open item.
    result = supervise(town, rules, "图河镇党委", "2026-08", date(2026, 8, 26))
    assert any((i.obligation, i.member, i.period) == ("dues", payer, "2026-07") for i in result.ledger)
    # The watch as of 15 August shows what was paid and attended by then, not later.
    row = next(r for r in membership.member_watch(town, MATUN, date(2026, 8, 15)) if r.member == payer)
    assert (row.last_dues, row.last_participation) == ("2026-08", None)


def test_the_dues_watch_counts_no_month_before_the_branch_or_the_member_owed_dues(town: Store, rules, tmp_path: Path):
    matun = next(o for o in town.orgs() if o.path == MATUN)
    payer, never = sorted(m.name for m in town.members() if m.org_id == matun.id)[:2]
    town.clock = lambda: datetime(2026, 11, 30, 9, 0, tzinfo=TZ)
    _dues(town, tmp_path, "d", [(payer, f"2026-{m:02d}", f"2026-{m:02d}-05") for m in range(6, 12)])
    # Founded 12 May: nobody has owed anything long enough for the watch by 15 June.
    assert membership.member_watch(town, MATUN, date(2026, 6, 15), keep=lambda r: r.level is not None) == []
    rows = {r.member: r for r in membership.member_watch(town, MATUN, date(2026, 11, 30))}
    assert rows[never].months_unpaid == 5 and rows[never].level == "watch"          # June to October
    day = date(2026, 11, 30)
    found = [f for f in overdue(town, rules, MATUN, Window(date(2026, 1, 1), day, day)) if f.obligation == "dues_watch"]
    assert {(f.member, f.period) for f in found} == {(n, "2026-06") for n in rows if n != payer}
    unpaid = {r["member"]: r["months"] for r in membership.unpaid(town, MATUN, day)}
    assert unpaid[never] == 6 and payer not in unpaid                           # June to November


def test_dues_unpaid_lists_nobody_in_a_branch_that_owes_nothing_yet_this_month(town: Store, rules, tmp_path: Path):
    matun = next(o for o in town.orgs() if o.path == MATUN)
    payer = sorted(m.name for m in town.members() if m.org_id == matun.id)[0]
    town.clock = lambda: datetime(2026, 5, 31, 9, 0, tzinfo=TZ)
    _dues(town, tmp_path, "ahead", [(payer, "2026-06", "2026-05-25")])        # paid ahead, before June
    assert membership.unpaid(town, MATUN, date(2026, 5, 31)) == []            # founded 12 May: June is its first month
    assert len(membership.unpaid(town, MATUN, date(2026, 6, 30))) == 7


def test_monthly_runs_open_no_new_item_for_a_members_run_that_goes_on(town: Store, rules, tmp_path: Path):
    """A run of unpaid months that never ends is one ledger item at most, however many runs see it."""
    # Tracked from 2023: the run is older than any look-back, which then decides its first month.
    never = _never_paying(town, rules, tmp_path, (2022, 12))
    for month in range(1, 6):
        supervise(town, rules, "图河镇党委", f"2026-{month:02d}", date(2026, month, 25))
    assert _watch_items(town, never, open_only=True) == [("2025-01", None)]         # counted from January of last year
    # Paid for May: June's run sees the run ended, and closes the item (its sixth month was last year).
    membership.import_dues(town, write_csv(tmp_path / "may.csv", f"姓名,党组织,月份,金额,交纳日期\n{never},{BRANCH_PATH},2026-05,10,2026-06-03"))
    supervise(town, rules, "图河镇党委", "2026-06", date(2026, 6, 25))
    assert _watch_items(town, never) == [("2025-01", date(2026, 6, 25))]


def test_a_run_begun_before_the_year_is_listed_each_month_on_one_item_across_new_years(town: Store, rules, tmp_path: Path):
    """A member who has paid nothing since 2023 is in every month's snapshot, on one ledger item, until they pay."""
    never = _never_paying(town, rules, tmp_path, (2022, 12))

    def items(open_only: bool = True) -> list[tuple[str, date | None]]:
        return _watch_items(town, never, open_only)

    for month, day in [("2025-12", 26), ("2026-01", 26), ("2026-06", 25), ("2026-12", 28), ("2027-01", 25), ("2027-02", 25)]:
        result = supervise(town, rules, "图河镇党委", month, date(int(month[:4]), int(month[5:]), day))
        listed = [f for f in result.findings if (f.obligation, f.member) == ("dues_watch", never)]
        assert [(f.status, f.flags) for f in listed] == [("missed", ("review_membership",))], month
        assert items() == [("2024-01", None)], month        # opened in 2025, counted from January 2024
    # Paid for January at last: the run has ended, and the item opened in 2025 closes.
    membership.import_dues(town, write_csv(tmp_path / "late.csv", f"姓名,党组织,月份,金额,交纳日期\n{never},{BRANCH_PATH},2027-01,10,2027-03-20"))
    result = supervise(town, rules, "图河镇党委", "2027-03", date(2027, 3, 26))
    assert not any((f.obligation, f.member) == ("dues_watch", never) for f in result.findings)
    assert items() == [] and items(open_only=False) == [("2024-01", date(2027, 3, 26))]


def test_dues_are_owed_from_the_month_a_member_joined_in_as_the_watch_counts_them(rules):
    """预备党员从党支部党员大会通过其为预备党员之日起交纳党费 (2008): joined on 15 April, April is owed."""
    joined = date(2026, 4, 15)
    org = OrgFacts(id=1, path=BRANCH.path, type="党支部", sector="农村", full_members=3,
                   members=(MemberRef("张三"), MemberRef("新党员", joined=joined)))
    found = evaluate_org(rules.catalog("national-2018"), org, [], date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 25))
    dues = {f.period: f.status for f in found if (f.obligation, f.member) == ("dues", "新党员")}
    assert (dues["2026-03"], dues["2026-04"], dues["2026-05"]) == ("exempt", "missed", "missed")
    # A yearly talk is still owed only from the first whole year after joining.
    assert {f.status for f in found if (f.obligation, f.member) == ("heart_talk", "新党员")} == {"exempt"}
    # The watch counts the same months: its run of unpaid months begins in April.
    runs = watch_runs([MemberInfo(2, 1, BRANCH.path, "新党员", joined=joined)], [], {2: {}}, {1}, date(2026, 11, 25),
                      date(2025, 1, 1))
    assert [(r.what, r.first, r.months) for r in runs] == [("dues", date(2026, 4, 1), 7)]
    assert min(p for p, s in dues.items() if s == "missed") == f"{runs[0].first:%Y-%m}"


def _never_paying(town: Store, rules, tmp_path: Path, paid_until: tuple[int, int]) -> str:
    """Track the township from 2023; every member of the branch pays each month but one, who pays only until `paid_until`."""
    town.clock = lambda: datetime(2027, 3, 31, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace("2025-01-01", "2023-01-01")))
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    names = sorted(m.name for m in town.members() if m.org_id == branch.id)
    never = sorted(m.name for m in town.members() if m.org_id == branch.id and not m.mobile)[1]
    months = [(y, m) for y in range(2023, 2028) for m in range(1, 13) if (y, m) < (2027, 3)]
    body = ["姓名,党组织,月份,金额,交纳日期"] + [f"{name},{BRANCH_PATH},{y}-{m:02d},10,{y}-{m:02d}-05" for name in names
                                               for y, m in months if name != never or (y, m) <= paid_until]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(body)))
    return never


def _watch_items(town: Store, member: str, open_only: bool = False, slug: str = "dues_watch") -> list[tuple[str, date | None]]:
    return [(i.period, i.closed_on) for i in town.rectifications(open_only=open_only) if (i.obligation, i.member) == (slug, member)]


def test_last_years_watch_item_closes_when_dues_entered_late_end_its_run(town: Store, rules, tmp_path: Path):
    never = _never_paying(town, rules, tmp_path, (2025, 2))
    supervise(town, rules, "图河镇党委", "2025-09", date(2025, 9, 25))
    assert _watch_items(town, never) == [("2025-03", None)]
    # Paid on time from November on, but the dues book is entered only in July: the run ended in October.
    town.clock = lambda: datetime(2026, 7, 20, 9, 0, tzinfo=TZ)
    body = ["姓名,党组织,月份,金额,交纳日期"] + [f"{never},{BRANCH_PATH},{y}-{m:02d},10,{y}-{m:02d}-05"
                                               for y in (2025, 2026) for m in range(1, 13) if (2025, 11) <= (y, m) <= (2026, 7)]
    membership.import_dues(town, write_csv(tmp_path / "late.csv", "\n".join(body)))
    supervise(town, rules, "图河镇党委", "2026-07", date(2026, 7, 27))
    assert _watch_items(town, never) == [("2025-03", date(2026, 7, 27))]
    # Its closing says the run ended, not that a record was made good (已补录有效记录: try-out).
    assert [i.close_note for i in town.rectifications() if (i.obligation, i.member) == ("dues_watch", never)] == [
        "连续未交纳党费已中断（已交纳党费），督查自动销号"]


def test_a_months_dues_item_closed_by_a_late_payment_says_the_dues_were_paid(town: Store, rules, tmp_path: Path):
    """A month's dues item closed by a late payment said 已补录有效记录, a record made good (try-out)."""
    never = _never_paying(town, rules, tmp_path, (2025, 2))
    supervise(town, rules, "图河镇党委", "2025-09", date(2025, 9, 25))
    assert ("2025-08", None) in _watch_items(town, never, slug="dues")
    town.clock = lambda: datetime(2025, 10, 10, 9, 0, tzinfo=TZ)
    membership.log_dues(town, {"org": BRANCH_PATH, "member": never, "month": "2025-08", "amount": "10", "paid_on": "2025-10-08"})
    supervise(town, rules, "图河镇党委", "2025-10", date(2025, 10, 27))
    assert [i.close_note for i in town.rectifications() if (i.obligation, i.member, i.period) == ("dues", never, "2025-08")] == [
        "已交纳党费（补交或补登记），督查自动销号"]


def test_a_run_for_a_past_month_opens_no_second_item_for_a_run_that_has_one(town: Store, rules, tmp_path: Path):
    never = _never_paying(town, rules, tmp_path, (2022, 12))
    supervise(town, rules, "图河镇党委", "2026-01", date(2026, 1, 26))
    assert _watch_items(town, never) == [("2025-01", None)]
    # December's run made late, in February: counted from January 2024, the same run is keyed 2024-01.
    supervise(town, rules, "图河镇党委", "2025-12", date(2025, 12, 28))
    supervise(town, rules, "图河镇党委", "2026-02", date(2026, 2, 25))
    assert _watch_items(town, never) == [("2025-01", None)]


def test_last_years_items_the_months_check_has_judged_are_not_evaluated_again(town: Store, rules, tmp_path: Path):
    """An item of last year whose run the month's check keeps under the same key is still open: no second pass reads records for it."""
    import re

    from sqlalchemy import event

    never = _never_paying(town, rules, tmp_path, (2025, 2))
    supervise(town, rules, "图河镇党委", "2026-07", date(2026, 7, 27))
    assert _watch_items(town, never) == [("2025-03", None)]           # counted from January 2025, like the run below
    reads: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        # The records an evaluation reads (the month's unsigned and incomplete ones are counted in SQL apart).
        if re.search(r"\bFROM record\b", statement) and "record.record_id" in statement:
            reads.append(statement)

    event.listen(town.engine, "before_cursor_execute", listen)
    try:
        result = supervise(town, rules, "图河镇党委", "2026-08", date(2026, 8, 26))
    finally:
        event.remove(town.engine, "before_cursor_execute", listen)
    assert len(reads) == 1, reads           # the month's own pass: the run is still going, under 2025-03
    assert [(f.period, f.status) for f in result.findings if (f.obligation, f.member) == ("dues_watch", never)] == [("2025-03", "missed")]
    assert _watch_items(town, never) == [("2025-03", None)]


@pytest.mark.parametrize("paid_until, opened, late, new_run", [
    ((2025, 2), "2025-03", "2025-04", [("2025-05", None)]),     # a run of last year: the rest is a new run of six months and more
    ((2025, 12), "2026-01", "2026-02", []),                     # of this year: the rest (March to July) is five months, not yet an item
])
def test_a_watch_item_closes_when_payments_entered_late_break_its_run_into_runs_too_short_to_list(
        town: Store, rules, tmp_path: Path, paid_until, opened, late, new_run):
    never = _never_paying(town, rules, tmp_path, paid_until)
    supervise(town, rules, "图河镇党委", "2026-07", date(2026, 7, 27))
    assert _watch_items(town, never) == [(opened, None)]
    # One month paid in time, entered late: the run's first month is now a run of one month. (Paid in
    # August 2026, more than six months late, it would be no payment, as in status.)
    town.clock = lambda: datetime(2026, 8, 10, 9, 0, tzinfo=TZ)
    membership.import_dues(town, write_csv(tmp_path / "late.csv", f"姓名,党组织,月份,金额,交纳日期\n{never},{BRANCH_PATH},{late},10,{late}-05"))
    supervise(town, rules, "图河镇党委", "2026-08", date(2026, 8, 26))
    assert _watch_items(town, never) == [(opened, date(2026, 8, 26)), *new_run]


def _absent_from(town: Store, rules, tmp_path: Path, no_meeting: tuple[int, int], absent_from: tuple[int, int]) -> tuple[list[str], str]:
    """Track the township from 2023; the branch holds a theme day with a list each month to July 2026 but `no_meeting`; one member is absent from `absent_from` on."""
    town.clock = lambda: datetime(2026, 7, 20, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace("2025-01-01", "2023-01-01")))
    branch = next(o for o in town.orgs() if o.path == BRANCH_PATH)
    names = sorted(m.name for m in town.members() if m.org_id == branch.id and not m.mobile)
    away = names[1]
    rows = ["党组织,类型,日期,主题,图片,参会人员"] + [
        f"ZZ1,主题党日,{y}-{m:02d}-05,学习,p.jpg,{'、'.join(n for n in names if n != away or (y, m) < absent_from)}"
        for y in (2024, 2025, 2026) for m in range(1, 13) if (y, m) <= (2026, 7) and (y, m) != no_meeting]
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", "\n".join(rows)))
    return names, away


def _theme_day(town: Store, rules, held: str, attendees: list[str]) -> None:
    importing.log_record(town, rules, {"org": BRANCH_PATH, "kind": "主题党日", "date": held, "topic": "学习", "photos": "p.jpg",
                                       "attendees": "、".join(attendees)})


def _absence_items(town: Store, member: str) -> list[tuple[str, date | None]]:
    return _watch_items(town, member, slug="absence_watch")


def test_a_watch_item_stays_with_its_run_when_a_meeting_entered_late_makes_the_run_begin_earlier(town: Store, rules, tmp_path: Path):
    names, away = _absent_from(town, rules, tmp_path, (2025, 4), (2025, 5))
    supervise(town, rules, "图河镇党委", "2026-07", date(2026, 7, 27))
    assert _absence_items(town, away) == [("2025-05", None)]
    # April 2025's meeting entered late, the member not on its list: the run now begins in April.
    town.clock = lambda: datetime(2026, 8, 10, 9, 0, tzinfo=TZ)
    _theme_day(town, rules, "2025-04-05", [n for n in names if n != away])
    _theme_day(town, rules, "2026-08-05", [n for n in names if n != away])
    result = supervise(town, rules, "图河镇党委", "2026-08", date(2026, 8, 26))
    assert [(f.period, f.status) for f in result.findings if (f.obligation, f.member) == ("absence_watch", away)] == [("2025-04", "missed")]
    assert _absence_items(town, away) == [("2025-05", None)]       # the run's one item, open
    # The member takes part in September: the run, which its item's first month is in, has ended.
    town.clock = lambda: datetime(2026, 10, 10, 9, 0, tzinfo=TZ)
    _theme_day(town, rules, "2026-09-05", names)
    supervise(town, rules, "图河镇党委", "2026-10", date(2026, 10, 26))
    assert _absence_items(town, away) == [("2025-05", date(2026, 10, 26))]


def test_a_month_without_a_listed_meeting_keeps_a_members_watch_item_open(town: Store, rules, tmp_path: Path):
    """No meeting with a list in August 2025 (the branch's gap) ended the member's run: September's run closed January's item."""
    # Absent from January 2025; no meeting with a list in August 2025: the run goes on through it.
    names, away = _absent_from(town, rules, tmp_path, (2025, 8), (2025, 1))
    for month, day in [("2025-08", 25), ("2025-09", 25), ("2026-07", 27)]:
        supervise(town, rules, "图河镇党委", month, date(int(month[:4]), int(month[5:]), day))
    assert _absence_items(town, away) == [("2025-01", None)]
    # August 2025's meeting entered late, the member not on its list: the same run, the same item.
    town.clock = lambda: datetime(2026, 8, 10, 9, 0, tzinfo=TZ)
    _theme_day(town, rules, "2025-08-05", [n for n in names if n != away])
    supervise(town, rules, "图河镇党委", "2026-08", date(2026, 8, 26))
    assert _absence_items(town, away) == [("2025-01", None)]


def test_a_joining_date_entered_after_a_watch_items_first_month_closes_it_and_the_run_gets_its_own(town: Store, rules, tmp_path: Path):
    """The item stood for months the member did not owe: its run is now another one, from the joining month."""
    never = _never_paying(town, rules, tmp_path, (2022, 12))
    supervise(town, rules, "图河镇党委", "2026-07", date(2026, 7, 27))
    assert _watch_items(town, never) == [("2025-01", None)]
    town.clock = lambda: datetime(2026, 8, 10, 9, 0, tzinfo=TZ)
    importing.import_members(town, write_csv(tmp_path / "m2.csv", f"姓名,党组织,入党日期\n{never},{BRANCH_PATH},2025-03-10"))
    supervise(town, rules, "图河镇党委", "2026-08", date(2026, 8, 26))
    assert _watch_items(town, never) == [("2025-01", date(2026, 8, 26)), ("2025-03", None)]
