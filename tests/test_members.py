"""Member-level checks read like the rules: attendance in, months without organizational life out."""

from __future__ import annotations

import itertools
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import importing, membership
from compliance.errors import InputError
from compliance.evaluate import Record
from compliance.members import MemberInfo, mobile_members, training_hours, watch, watch_runs
from compliance.store import TZ, Store
from tests.conftest import write_csv

_ids = itertools.count(1)
ZHANG = MemberInfo(1, 1, "镇/支部", "张三")
LI = MemberInfo(2, 1, "镇/支部", "李四")
WANG = MemberInfo(3, 1, "镇/支部", "王五", mobile=True)
AS_OF = date(2026, 11, 20)       # complete months: up to October
SINCE = date(2026, 1, 1)


def meeting(day: str, attendees: str = "", excused: str | None = None, kind: str = "theme_day", member: str | None = None,
            hours: float | None = None) -> Record:
    d = date.fromisoformat(day)
    return Record(next(_ids), 1, kind, d, d, attendees=attendees, excused=excused, member=member, hours=hours)


def monthly(months, attendees="张三、李四"):
    return [meeting(f"2026-{m:02d}-05", attendees) for m in months]


def one(rows, name):
    return next(r for r in rows if r.member == name)


def test_absent_five_months_then_present_is_never_flagged():
    records = monthly([1, 2, 3, 4, 5], "张三、李四") + monthly([6, 7, 8, 9], "李四") + monthly([10], "张三、李四")
    rows = watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE)
    assert one(rows, "张三").months_absent == 0 and one(rows, "张三").level is None


def test_six_months_without_attendance_or_excuse_is_put_to_the_branch():
    records = monthly([1, 2, 3, 4], "张三、李四") + monthly([5, 6, 7, 8, 9, 10], "李四")
    rows = watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE)
    zhang = one(rows, "张三")
    assert zhang.months_absent == 6 and zhang.level == "review" and "连续6个月未参加组织生活" in zhang.reasons
    assert one(rows, "李四").level is None


def test_three_months_is_the_early_warning():
    records = monthly(range(1, 8), "张三、李四") + monthly([8, 9, 10], "李四")
    assert one(watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE), "张三").level == "watch"


def test_an_excused_absence_does_not_count():
    records = monthly([1, 2, 3, 4], "张三、李四") + [meeting(f"2026-{m:02d}-05", "李四", excused="张三") for m in (5, 6, 7, 8, 9, 10)]
    assert one(watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE), "张三").months_absent == 0


def test_an_approved_exemption_does_not_count():
    sick = MemberInfo(1, 1, "镇/支部", "张三", exemptions=((date(2026, 5, 1), date(2026, 10, 31)),))
    records = monthly([1, 2, 3, 4], "张三、李四") + monthly(range(5, 11), "李四")
    assert one(watch([sick, LI], records, {}, set(), AS_OF, SINCE), "张三").level is None


def test_a_mobile_member_taking_part_where_they_live_is_not_flagged():
    records = monthly(range(1, 11), "李四") + [meeting("2026-07-15", kind="mobile_report", member="王五"),
                                              meeting("2026-09-20", kind="theme_day", member="王五")]
    wang = one(watch([LI, WANG], records, {}, set(), AS_OF, SINCE), "王五")
    assert wang.months_absent == 0 and wang.level is None       # the July report covers the second half year


def test_a_branch_without_attendance_lists_is_not_judged_on_them():
    records = [meeting("2026-03-05", attendees=None)]
    assert one(watch([ZHANG], records, {}, set(), AS_OF, SINCE), "张三").months_absent is None


def test_six_months_unpaid_dues_is_put_to_the_branch_and_advance_payment_covers_months():
    paid = {1: {f"2026-{m:02d}": date(2026, m, 3) for m in range(1, 5)},
            2: {f"2026-{m:02d}": date(2026, 1, 3) for m in range(1, 7)} | {f"2026-{m:02d}": date(2026, 7, 3) for m in range(7, 13)}}
    rows = watch([ZHANG, LI], monthly(range(1, 11)), paid, {1}, AS_OF, SINCE)
    assert one(rows, "张三").months_unpaid == 6 and one(rows, "张三").level == "review"
    assert one(rows, "李四").months_unpaid == 0


def test_mobile_member_without_contact_for_more_than_half_a_year_is_lost():
    records = [meeting("2026-05-01", kind="mobile_report", member="王五")]
    assert mobile_members([WANG], records, date(2026, 10, 31))[0].lost is False
    assert mobile_members([WANG], records, date(2026, 11, 2))[0].lost is True


def test_a_mobile_member_who_pays_dues_or_was_tracked_for_less_than_half_a_year_is_not_lost():
    """A mobile member who paid every month, in a branch that keeps no attendance lists, was 失联:
    the contact there was did not count (try-out); nor is one lost before half a year of tracking."""
    assert mobile_members([WANG], [], date(2026, 12, 7))[0].lost is True
    row = mobile_members([WANG], [], date(2026, 12, 7), paid={WANG.id: date(2026, 11, 18)})[0]
    assert (row.lost, row.last_contact) == (False, date(2026, 11, 18))
    assert mobile_members([WANG], [], date(2026, 12, 7), starts=date(2026, 7, 1))[0].lost is False
    assert mobile_members([WANG], [], date(2026, 12, 7), paid={WANG.id: date(2026, 5, 18)}, starts=date(2026, 5, 1))[0].lost is True
    # A contact from before tracking began does not make a member lost sooner than half a year of it (review).
    assert mobile_members([WANG], [], date(2026, 12, 7), paid={WANG.id: date(2026, 3, 18)}, starts=date(2026, 7, 1))[0].lost is False


@pytest.mark.parametrize("hours, short", [(31.5, True), (32.0, False)])
def test_training_hours_32_a_year(hours: float, short: bool):
    records = [meeting("2026-03-05", "张三", hours=hours - 4), meeting("2026-04-05", "张三、李四", kind="party_lecture", hours=4),
               meeting("2025-12-20", "张三", hours=10)]
    totals = training_hours([ZHANG, LI], records, 2026)
    assert totals[1] == hours and (totals[1] < 32) is short and totals[2] == 4


BRANCH = "图河镇党委/朱庄村党总支/第一党支部"


def test_attendance_list_sets_counts_and_must_match_them(town: Store, rules, tmp_path: Path):
    names = sorted(m.name for m in town.members() if m.org_id == next(o.id for o in town.orgs() if o.path == BRANCH))
    full = [n for n in names if not n.endswith("10")]           # roster_csv makes the last one 预备
    body = f"党组织,类型,日期,参会人员\n{BRANCH},党员大会,2026-10-05,\"{'、'.join(names[:8])}\""
    result = importing.import_records(town, rules, write_csv(tmp_path / "r.csv", body))
    [version] = town.record_versions(result.ids[0])
    voting_present = sum(1 for n in names[:8] if n in full)
    assert (version["present"], version["expected"]) == (voting_present, len(full))
    with pytest.raises(InputError, match="与参会人员名单不一致"):
        importing.log_record(town, rules, {"org": "ZZ1", "kind": "主题党日", "date": "2026-10-06", "attendees": "、".join(names[:3]), "present": "5"})
    with pytest.raises(InputError, match="不是「图河镇党委/朱庄村党总支/第一党支部」花名册上的党员"):
        importing.log_record(town, rules, {"org": "ZZ1", "kind": "主题党日", "date": "2026-10-06", "attendees": "张三 外人"})


def test_dues_import_limits_advance_payment_and_skips_paid_months(town: Store, tmp_path: Path):
    member = next(m for m in town.members())
    org = next(o.path for o in town.orgs() if o.id == member.org_id)
    body = f"姓名,党组织,月份,金额,交纳日期\n{member.name},{org},2026-10,12.5,2026-10-08\n{member.name},{org},2026年11月,12.5,2026-11-08"
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", body)) == 2
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", body)) == 0
    ahead = f"姓名,党组织,月份,金额,交纳日期\n{member.name},{org},2027-06,12.5,2026-11-08"
    with pytest.raises(InputError, match="最多覆盖今后6个月"):
        membership.import_dues(town, write_csv(tmp_path / "a.csv", ahead))
    town.set_setting("dues_advance_months", "8")           # `init --dues-advance-months 8`
    assert membership.import_dues(town, write_csv(tmp_path / "a.csv", ahead)) == 1


def test_dues_for_a_month_before_joining_or_before_the_party_are_refused_and_nothing_is_added(runner, town: Store, tmp_path: Path):
    """A month before the member joined was taken and counted for nothing, said to be a late payment; 0001-01 was stored
    as 1-01, and the command's own message then failed with a traceback (try-out)."""
    from compliance import importing
    from compliance.cli import app

    org = "图河镇党委/朱庄村党总支/第一党支部"
    importing.import_members(town, write_csv(tmp_path / "new.csv", f"姓名,党组织,类别,入党日期\n赵超强,{org},预备,2025-06-23"))
    db = ["--db", town.url]
    for month, words in (("2025-05", "「赵超强」于 2025-06-23 入党，2025-05 的党费不需交纳（从入党当月起交纳）"),
                         ("0001-01", "--month：值「0001-01」：月份早于中国共产党成立（1921-07-01），请核对年份"),
                         ("1921-06", "月份早于中国共产党成立")):
        refused = runner.invoke(app, db + ["dues", "log", "--org", org, "--member", "赵超强", "--month", month, "--amount", "5",
                                           "--paid-on", "2026-12-01"])
        assert refused.exit_code == 2 and words in refused.stderr and refused.stderr.count("\n") == 1, refused.output
    body = f"姓名,党组织,月份,金额,交纳日期\n赵超强,{org},2025-06,5,2025-06-30\n赵超强,{org},2025-05,5,2025-06-30\n赵超强,{org},1990-01,5,2025-06-30"
    with pytest.raises(InputError) as refused_file:
        membership.import_dues(town, write_csv(tmp_path / "d.csv", body))
    assert str(refused_file.value) == ("d.csv 第3行「月份」列：值「2025-05」：「赵超强」于 2025-06-23 入党，2025-05 的党费不需交纳（从入党当月起交纳）"
                                       "（另有 1 处错误，未导入任何数据）")     # and 1990-01 of row 4
    assert membership.dues_list(town, org, "赵超强", None, None) == []
    # A row without its amount is checked too, so that one round of corrections does (it was told only 金额不能为空).
    with pytest.raises(InputError) as no_amount:
        membership.import_dues(town, write_csv(tmp_path / "e.csv", f"姓名,党组织,月份,金额,交纳日期\n赵超强,{org},2025-04,,2025-06-30"))
    said = [str(no_amount.value), *no_amount.value.details]
    assert "（另有 1 处错误，未导入任何数据）" in said[0] and len(said) == 2
    assert any("「金额」列：金额不能为空" in line for line in said) and any("2025-04 的党费不需交纳" in line for line in said)
    # The month of joining is owed, and taken.
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", body.rsplit("\n", 2)[0])) == 1


def test_a_dues_row_that_contradicts_the_month_already_paid_is_refused_and_nothing_is_added(town: Store, tmp_path: Path):
    """A file paying a month again with another amount said only 新增 0 条, and the rows after it were added."""
    member, other = list(town.members())[:2]
    org = next(o.path for o in town.orgs() if o.id == member.org_id)
    other_org = next(o.path for o in town.orgs() if o.id == other.org_id)
    head = "姓名,党组织,月份,金额,交纳日期\n"
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", head + f"{member.name},{org},2026-10,12.5,2026-10-08")) == 1
    again = head + f"{other.name},{other_org},2026-10,20,2026-10-09\n{member.name},{org},2026-10,15,2026-10-08"
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, write_csv(tmp_path / "e.csv", again))
    assert str(caught.value) == ("e.csv 第3行「金额」列：值「15」：该党员 2026-10 的党费已登记为 12.5 元（2026-10-08 交纳，已导入或在本文件前面的行），"
                                 "与本行不同；一个月的党费只登记一次：请核对后改正或删去本行，已登记的有误时用 dues correct 更正（未导入任何数据）")
    # Nothing of the file was added: the other member's row goes in once the file is mended.
    assert membership.import_dues(town, write_csv(tmp_path / "e.csv", head + f"{other.name},{other_org},2026-10,20,2026-10-09")) == 1
    # Two rows of one file for one month, paid on different days; a row without a date paid agrees with any.
    twice = head + f"{other.name},{other_org},2026-11,20,2026-11-02\n{other.name},{other_org},2026-11,20,2026-11-03"
    with pytest.raises(InputError, match="e.csv 第3行「交纳日期」列：值「2026-11-03」：该党员 2026-11 的党费已登记为 20 元（2026-11-02 交纳"):
        membership.import_dues(town, write_csv(tmp_path / "e.csv", twice))
    # A row without its date paid is taken as paid today: it agrees with the month held so far.
    current = f"{town.today():%Y-%m}"
    assert membership.import_dues(town, write_csv(tmp_path / "c.csv", head + f"{member.name},{org},{current},12.5,")) == 1
    assert membership.import_dues(town, write_csv(tmp_path / "c.csv", head + f"{member.name},{org},{current},12.5,")) == 0
    with pytest.raises(InputError) as logged:
        membership.log_dues(town, {"org": org, "member": member.name, "month": "2026-10", "amount": "30", "paid_on": None})
    # Logged on the command line, there is no file and no row to mend.
    assert str(logged.value).startswith("--amount：值「30」：该党员 2026-10 的党费已登记为 12.5 元（2026-10-08 交纳），与本次不同")
    assert "本行" not in str(logged.value) and "文件" not in str(logged.value)


def test_a_dues_row_that_contradicts_a_paid_month_is_named_with_the_files_other_errors(town: Store, tmp_path: Path):
    """It was named only once the file's other errors were mended: two rounds of corrections, not one."""
    member, other = list(town.members())[:2]
    org = next(o.path for o in town.orgs() if o.id == member.org_id)
    other_org = next(o.path for o in town.orgs() if o.id == other.org_id)
    head = "姓名,党组织,月份,金额,交纳日期\n"
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", head + f"{member.name},{org},2026-10,12.5,2026-10-08")) == 1
    rows = [f"{other.name},{other_org},2026-10,abc,2026-10-09",        # row 2: not an amount
            f"{member.name},{org},2026-10,15,2026-10-08",               # row 3: October is paid, 12.5 yuan
            f"{other.name},{other_org},2026-11,20,2026-11-02",
            f"{other.name},{other_org},2026-11,20,2026-11-03"]          # row 5: the row before paid November on the 2nd
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, write_csv(tmp_path / "e.csv", head + "\n".join(rows)))
    text = str(caught.value) + "\n" + "\n".join(caught.value.details)
    assert text.startswith("e.csv 第2行「金额」列：值「abc」")
    assert "第3行「金额」列：值「15」：该党员 2026-10 的党费已登记为 12.5 元（2026-10-08 交纳" in text
    assert "第5行「交纳日期」列：值「2026-11-03」：该党员 2026-11 的党费已登记为 20 元（2026-11-02 交纳" in text
    assert [p["month"] for p in membership.dues_list(town, org, member.name)] == ["2026-10"]      # nothing added
    # Mended but for the contradiction, the file names it as before, once.
    rows[0] = f"{other.name},{other_org},2026-10,20,2026-10-09"
    with pytest.raises(InputError) as again:
        membership.import_dues(town, write_csv(tmp_path / "e.csv", head + "\n".join(rows)))
    assert str(again.value).startswith("e.csv 第3行「金额」列：值「15」") and "另有 1 处错误" in str(again.value)


def test_a_past_month_in_a_dues_file_needs_its_date_paid(town: Store, tmp_path: Path):
    """A blank 交纳日期 was taken as today: March paid in December counted as paid too late (arrears_too_late), without a word."""
    member = next(m for m in town.members())
    org = next(o.path for o in town.orgs() if o.id == member.org_id)
    body = f"姓名,党组织,月份,金额,交纳日期\n{member.name},{org},2026-03,10,"
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, write_csv(tmp_path / "d.csv", body))
    assert str(caught.value).startswith("d.csv 第2行「交纳日期」列：2026-03 已过，交纳日期不能为空")
    # A month registered already (a file imported before, read again) may come without its date.
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", body.replace("2026-03,10,", "2026-03,10,2026-03-05"))) == 1
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", body)) == 0
    # Logged on the command line, the day is today unless --paid-on says otherwise: it is shown to whoever logs it.
    assert membership.log_dues(town, {"org": org, "member": member.name, "month": "2026-04", "amount": "10", "paid_on": None}) == 1


@pytest.mark.parametrize("amount, problem", [("-5", "：值「-5」：金额应大于0"), ("0", "：值「0」：金额应大于0"),
                                             ("0.0", "：值「0.0」：金额应大于0"), ("", "：金额不能为空")])
def test_a_dues_amount_that_is_not_above_zero_is_refused_with_the_rule(town: Store, tmp_path: Path, amount: str, problem: str):
    member = next(m for m in town.members())
    org = next(o.path for o in town.orgs() if o.id == member.org_id)
    body = f"姓名,党组织,月份,金额,交纳日期\n{member.name},{org},2026-10,{amount},2026-10-08"
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, write_csv(tmp_path / "d.csv", body))
    assert str(caught.value) == f"d.csv 第2行「金额」列{problem}（未导入任何数据）"


def test_a_month_the_branch_held_nothing_is_not_held_against_members():
    records = monthly([1, 2, 3, 4], "张三、李四") + monthly([10], "张三、李四")      # nothing from May to September
    assert one(watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE), "张三").months_absent == 0


def test_a_group_meeting_of_another_group_is_not_a_missed_meeting():
    records = monthly([1, 2, 3, 4], "张三、李四") + [meeting(f"2026-{m:02d}-08", "李四", kind="group_meeting") for m in range(5, 11)]
    assert one(watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE), "张三").months_absent == 0


def test_roster_indicators_of_seed_003():
    from compliance.members import roster_indicators

    as_of = date(2026, 11, 20)
    old_men = [(date(1960, 1, 1), date(2015, 6, 1), "男"), (date(1970, 1, 1), date(2020, 3, 1), "男")]
    flags = roster_indicators("x", old_men, as_of).flags
    assert flags == ("无35岁以下党员", "无女党员", "3年以上未发展党员")
    mixed = old_men + [(date(1995, 5, 5), date(2025, 7, 1), "女")]
    assert roster_indicators("x", mixed, as_of).flags == ()
    unknown = old_men + [(None, None, None)]
    assert roster_indicators("x", unknown, as_of).flags == ()


def test_unpaid_this_month_and_for_three_months(town: Store, tmp_path: Path):
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    members = [m for m in town.members() if m.org_id == next(o.id for o in town.orgs() if o.path == BRANCH)][:2]
    rows = ["姓名,党组织,月份,金额,交纳日期"]
    rows += [f"{members[0].name},{BRANCH},2026-{m:02d},10,2026-{m:02d}-05" for m in range(1, 12)]
    rows += [f"{members[1].name},{BRANCH},2026-{m:02d},10,2026-{m:02d}-05" for m in range(1, 8)]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(rows)))
    found = {r["member"]: r for r in membership.unpaid(town, BRANCH, date(2026, 11, 20))}
    assert members[0].name not in found
    assert found[members[1].name]["months"] == 4 and found[members[1].name]["three_or_more"]


def test_three_months_unpaid_are_months_ended_as_the_watch_counts_them(town: Store, tmp_path: Path):
    """Two months ended unpaid and this month not yet paid was listed as 3 months, and under --three-months."""
    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    member = [m for m in town.members() if m.org_id == next(o.id for o in town.orgs() if o.path == BRANCH)][0]
    rows = ["姓名,党组织,月份,金额,交纳日期"] + [f"{member.name},{BRANCH},2026-{m:02d},10,2026-{m:02d}-05" for m in range(1, 9)]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(rows)))
    found = {r["member"]: r for r in membership.unpaid(town, BRANCH, date(2026, 11, 20))}[member.name]
    assert (found["months"], found["months_ended"], found["three_or_more"]) == (3, 2, False)


def test_a_month_paid_too_late_to_count_is_unpaid_to_dues_unpaid_as_to_the_watch(town: Store, tmp_path: Path):
    """February paid in December, past the six months' limit, is 不计入该月 in `status` and the watch; `dues unpaid` counted it
    paid, and its run was a month shorter (try-out)."""
    town.clock = lambda: datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
    branch = next(o.id for o in town.orgs() if o.path == BRANCH)
    member, other = [m for m in town.members() if m.org_id == branch][:2]
    rows = ["姓名,党组织,月份,金额,交纳日期", f"{member.name},{BRANCH},2026-01,10,2026-01-05", f"{member.name},{BRANCH},2026-02,10,2026-12-01",
            f"{other.name},{BRANCH},2026-01,10,2026-01-05", f"{other.name},{BRANCH},2026-02,10,2026-06-01"]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(rows)))
    found = {r["member"]: r for r in membership.unpaid(town, BRANCH, date(2026, 12, 5))}
    watched = {r.member: r for r in membership.member_watch(town, BRANCH, date(2026, 12, 5))}
    # February to November ended unpaid, and December not yet paid; the other's February, paid in June, counts.
    assert (found[member.name]["months_ended"], found[member.name]["months"]) == (10, 11)
    assert found[member.name]["months_ended"] == watched[member.name].months_unpaid
    assert found[other.name]["months_ended"] == 9 == watched[other.name].months_unpaid


def test_dues_appear_as_member_findings_only_where_dues_are_recorded(town: Store, rules, tmp_path: Path):
    from compliance.tracking import Window, org_status

    town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    day = date(2026, 11, 20)
    window = Window(date(2026, 1, 1), day, day)
    assert not [f for f in org_status(town, rules, "ZZ1", window) if f.obligation == "dues"]
    member = sorted(m.name for m in town.members() if m.org_id == next(o.id for o in town.orgs() if o.path == BRANCH))[0]
    rows = ["姓名,党组织,月份,金额,交纳日期"] + [f"{member},{BRANCH},2026-{m:02d},10,2026-{m:02d}-05" for m in (1, 2, 3, 5)]
    membership.import_dues(town, write_csv(tmp_path / "d.csv", "\n".join(rows)))
    membership.exempt_member(town, "ZZ1", member, date(2026, 6, 1), date(2026, 8, 31), "因病经批准")
    dues = {f.period: f.status for f in org_status(town, rules, "ZZ1", window) if f.obligation == "dues" and f.member == member}
    assert (dues["2026-03"], dues["2026-04"], dues["2026-05"]) == ("met", "missed", "met")
    assert dues["2026-07"] == "exempt" and dues["2026-09"] == "missed" and dues["2026-11"] == "due"


def test_member_commands_from_the_command_line(runner, tmp_path: Path):
    import json

    from compliance.cli import app
    from tests.conftest import TOWN_ORGS, roster_csv

    db = ["--db", str(tmp_path / "m.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))])
    runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH, 8, mobile=1)))])
    names = [f"党员第一党支部{i}" for i in range(1, 8)]
    for month in range(1, 11):
        attendees = names if month < 5 else names[1:]
        result = runner.invoke(app, db + ["log", "主题党日", "--org", "ZZ1", "--date", f"2026-{month:02d}-05", "--topic", "学习",
                                          "--photos", "p", "--attendee", "、".join(attendees)])
        assert result.exit_code == 0, result.output
    rows = json.loads(runner.invoke(app, db + ["members", "watch", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    assert [(r["member"], r["months_absent"], r["level"]) for r in rows] == [
        ("党员第一党支部0", 10, "提请支部审查"),     # a mobile member with no report and no activity all year
        ("党员第一党支部1", 6, "提请支部审查")]
    table = runner.invoke(app, db + ["members", "watch", "--as-of", "2026-11-20"])
    assert "提请支部审查" in table.output and "自行脱党" in table.output     # the reminder that it is the branch's decision
    mobile = json.loads(runner.invoke(app, db + ["mobile", "list", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    assert [(r["member"], r["lost"]) for r in mobile] == [("党员第一党支部0", True)]
    for command in (["members", "hours", "--year", "2026"], ["members", "indicators", "--all"], ["dues", "unpaid"]):
        assert runner.invoke(app, db + command).exit_code == 0, command


def test_a_dues_row_naming_an_ambiguous_branch_lists_the_candidates(town: Store, rules, tmp_path: Path):
    """Every village has a 第一党支部: the row said only 找不到该党组织或名称不唯一, unlike --org and the other imports."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新村党总支,图河镇党委,党总支\n"
                                                                       "第一党支部,新村党总支,党支部"))
    payer = next(m for m in town.members() if m.org_id == next(o.id for o in town.orgs() if o.path.endswith("朱庄村党总支/第一党支部")))
    path = write_csv(tmp_path / "d.csv", f"姓名,党组织,月份,金额,交纳日期\n{payer.name},第一党支部,2026-07,10,2026-07-08")
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, path)
    assert str(caught.value).startswith("d.csv 第2行「党组织」列：值「第一党支部」：党组织名称不唯一，请用代码或完整路径："
                                        "图河镇党委/新村党总支/第一党支部、图河镇党委/朱庄村党总支/第一党支部")


def test_dues_written_in_chunks_are_every_row_of_the_file(town: Store, tmp_path: Path, monkeypatch):
    from compliance.store import members as member_store

    monkeypatch.setattr(member_store, "DUES_CHUNK", 2)
    payer = sorted(town.members(), key=lambda m: m.id)[:3]
    paths = {o.id: o.path for o in town.orgs()}
    rows = [f"{m.name},{paths[m.org_id]},2026-{month:02d},{10 + month}.5,2026-{month:02d}-08" for m in payer for month in (7, 8, 9)]
    assert membership.import_dues(town, write_csv(tmp_path / "d.csv", "姓名,党组织,月份,金额,交纳日期\n" + "\n".join(rows))) == 9
    assert town.dues_paid([m.id for m in payer]) == {m.id: {f"2026-{month:02d}": date(2026, month, 8) for month in (7, 8, 9)}
                                                      for m in payer}


def _runs_by_definition(member, records, paid, since, last):
    """The watch's months by the rule's words, one month at a time: the oracle for `_standing`."""
    from compliance.members import MOBILE_KINDS, PARTICIPATION_KINDS, month_index

    listed, there = set(), set()
    for r in records:
        i = month_index(r.held_on)
        if r.member == member.name:
            if r.kind in MOBILE_KINDS:
                if not member.mobile:
                    continue        # a mobile report of a member not marked mobile counts for nothing
                half = r.held_on.year * 12 + (0 if r.held_on.month <= 6 else 6)
                there.update(range(half, half + 6))
            elif r.kind in PARTICIPATION_KINDS:
                there.add(i)
        if r.kind not in PARTICIPATION_KINDS:
            continue
        if r.attendees and r.kind != "group_meeting":
            listed.add(i)
        if member.name in (r.attendees or "").split("、") or member.name in (r.excused or "").split("、"):
            there.add(i)
    exempt = {i for start, end in member.exemptions for i in range(month_index(start), month_index(end) + 1)}
    first = month_index(max(since, member.joined) if member.joined else since)

    def runs(bad, neutral=lambda i: False, good=lambda i: False):
        # Month by month: a bad month counts, a neutral one neither counts nor ends the run, any other ends it; a run
        # going on at the last complete month ends too if the month still open is a good one (taken part in, paid).
        found, counted = [], []
        for i in range(first, last + 2):
            if i <= last and bad(i):
                counted.append(i)
            elif i <= last and neutral(i):
                continue
            elif counted:
                found.append((counted[0], len(counted), i == last + 1 and not good(i), tuple(counted)))
                counted = []
        return found

    found = []
    if listed:
        # A month without a listed meeting, in which the member neither took part nor was exempt, is the branch's gap.
        found.append(("absence", runs(lambda i: i in listed and i not in there and i not in exempt,
                                      lambda i: i not in listed and i not in there and i not in exempt,
                                      lambda i: i in there)))
    if paid is not None:
        months = {int(k[:4]) * 12 + int(k[5:7]) - 1 for k in paid}
        found.append(("dues", runs(lambda i: i not in months and i not in exempt, good=lambda i: i in months)))
    return found


NAMES = ["张三", "李四", "王五"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["theme_day", "group_meeting", "party_congress", "mobile_report", "dues_by_quarter"]),
                          st.dates(date(2025, 6, 1), date(2026, 12, 31)),
                          st.lists(st.sampled_from(NAMES), max_size=3, unique=True),
                          st.lists(st.sampled_from(NAMES), max_size=2, unique=True), st.none() | st.sampled_from(NAMES)),
                max_size=30),
       st.sampled_from(NAMES), st.none() | st.dates(date(2025, 1, 1), date(2026, 12, 31)),
       st.lists(st.tuples(st.dates(date(2025, 6, 1), date(2026, 12, 31)), st.integers(0, 200)), max_size=2),
       st.none() | st.sets(st.dates(date(2025, 6, 1), date(2026, 12, 31)), max_size=20),
       st.dates(date(2026, 1, 1), date(2027, 1, 31)), st.booleans())
def test_watch_months_are_counted_as_the_rule_says(rows, name, joined, exemptions, paid_days, as_of, mobile):
    from compliance.members import _standing, activity, month_index

    records = [Record(next(_ids), 1, kind, day, day, attendees="、".join(attendees) or None, excused="、".join(excused) or None,
                      member=member) for kind, day, attendees, excused, member in rows]
    member = MemberInfo(1, 1, "镇/支部", name, mobile=mobile, joined=joined,
                        exemptions=tuple((start, start + timedelta(days=length)) for start, length in exemptions))
    paid = None if paid_days is None else {f"{d.year}-{d.month:02d}": d for d in paid_days}
    since, last = date(2025, 11, 1), month_index(as_of) - 1
    a = activity(records).get(1)
    expected = _runs_by_definition(member, records, paid, since, last)
    assert _standing(member, a, paid, since, last) == expected
    if a is not None:
        assert _standing(member, a, paid, since, last, a.absent(NAMES)) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["theme_day", "group_meeting", "party_congress", "mobile_report", "dues_by_quarter"]),
                          st.dates(date(2025, 6, 1), date(2026, 12, 31)),
                          st.lists(st.sampled_from(NAMES), max_size=3, unique=True), st.none() | st.sampled_from(NAMES)),
                max_size=30))
def test_a_members_last_day_taking_part_is_the_last_list_or_record_that_names_them(rows):
    from compliance.members import ACTIVITY_KINDS, PARTICIPATION_KINDS, activity

    records = [Record(next(_ids), 1, kind, day, day, attendees="、".join(attendees) or None, member=member)
               for kind, day, attendees, member in rows]
    a = activity(records).get(1)
    for name in NAMES:
        days = [r.held_on for r in records if (r.kind in PARTICIPATION_KINDS and name in (r.attendees or "").split("、"))
                or (r.kind in ACTIVITY_KINDS and r.member == name)]
        assert (a.last(name) if a else None) == max(days, default=None)
    if a is not None:        # asked again, from what the first questions worked out
        assert [a.last(name) for name in NAMES] == [a.last(name) for name in reversed(NAMES)][::-1]


def test_a_mobile_report_covers_its_half_year_and_another_record_its_month():
    from compliance.members import activity, month_index

    a = activity([meeting("2026-03-10", kind="mobile_report", member="王五"), meeting("2026-08-05", "张三", member="王五")])[1]
    assert a.reported("王五") == {month_index(date(2026, m, 1)) for m in (1, 2, 3, 4, 5, 6, 8)}
    assert a.reported("张三") == set()


@pytest.fixture
def pg_zh_url(postgres_server: str):
    """Yield the URL of a new PostgreSQL database whose text sorts by the ICU Chinese collation (pinyin)."""
    import uuid

    from sqlalchemy import create_engine, text

    name = "zh_" + uuid.uuid4().hex[:12]
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'zh' LOCALE 'C'"))
    try:
        yield postgres_server.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_members_of_a_branch_come_in_the_same_order_whatever_the_database_collation(pg_zh_url: str, sqlite_url: str,
                                                                                    rules, tmp_path: Path):
    # 张 (U+5F20) < 李 (U+674E) < 王 (U+738B) by code point; by pinyin 李 < 王 < 张.
    names = ["王五", "李四", "张三"]
    orders = []
    for url in (sqlite_url, pg_zh_url):
        store = Store(url)
        store.upgrade()
        store.set_setting("default_catalog", "tuhe-2021")
        importing.import_orgs(store, rules, write_csv(tmp_path / "orgs.csv", "名称,上级,类型\n图河镇党委,,乡镇党委\n"
                                                                              "一支部,图河镇党委,党支部"))
        importing.import_members(store, write_csv(tmp_path / "m.csv", "姓名,党组织,类别\n" + "\n".join(
            f"{n},图河镇党委/一支部,正式党员" for n in names)))
        importing.log_record(store, rules, {"org": "图河镇党委/一支部", "kind": "党课", "date": "2026-03-05", "topic": "党章",
                                            "hours": "1", "lecturer": "张三", "attendees": "张三"})      # a branch that records 学时
        orders.append([r["member"] for r in membership.hours_list(store, None, 2026)])
        store.engine.dispose()
    assert orders[0] == sorted(names) == ["张三", "李四", "王五"]
    assert orders[1] == orders[0]


def test_roster_indicators_flag_villages_and_only_count_other_branches(town: Store, rules, tmp_path: Path):
    """A 两新 branch was flagged 无女党员 and 无35岁以下党员: seed 003 watches villages (行政村)."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,领域\n新材料公司党支部,图河镇党委,党支部,两新\n"
                                                                       "新庄村党支部,图河镇党委,党支部,"))
    body = "姓名,党组织,党小组,类别,流动党员,出生日期,性别,入党日期\n" + "\n".join(
        f"{name},{org},,正式,否,1960-01-01,男,2000-07-01" for name, org in (("甲", "新材料公司党支部"), ("乙", "新庄村党支部")))
    importing.import_members(town, write_csv(tmp_path / "m.csv", body))
    found = {r.org.rsplit("/", 1)[-1]: r for r in membership.indicators(town, "图河镇党委", date(2026, 11, 20))}
    assert found["新庄村党支部"].flags == ("无35岁以下党员", "无女党员", "3年以上未发展党员")     # 农村, from the township
    assert found["新材料公司党支部"].flags == () and (found["新材料公司党支部"].members, found["新材料公司党支部"].women) == (1, 0)


def test_members_hours_agrees_with_status_on_who_owes_the_years_hours(town: Store, rules, tmp_path: Path):
    """A member who joined in March was 免除 in `status` and 32 hours short in `members hours`."""
    from compliance.tracking import Window, org_status

    day = date(2026, 11, 20)
    assert membership.hours_list(town, BRANCH, 2026) == []       # a branch that records no 学时 is judged on none, as in status
    importing.import_members(town, write_csv(tmp_path / "m.csv", f"姓名,党组织,入党日期\n周九,{BRANCH},2026-03-01"))
    branch_id = next(o.id for o in town.orgs() if o.path == BRANCH)
    first = next(m.name for m in town.members() if m.org_id == branch_id and m.name != "周九")
    importing.log_record(town, rules, {"org": BRANCH, "kind": "党课", "date": "2026-05-06", "topic": "党章", "hours": "2",
                                       "lecturer": first, "attendees": first})
    status = {f.member: f.status for f in org_status(town, rules, BRANCH, Window(date(2026, 1, 1), day, day))
              if f.obligation == "training_hours"}
    listed = {r["member"]: r for r in membership.hours_list(town, BRANCH, 2026)}
    assert status["周九"] == "exempt" and listed["周九"]["exempt"] and listed["周九"]["missing"] == 0
    owed = [name for name, r in listed.items() if not r["exempt"]]
    assert owed and all(status[name] != "exempt" for name in owed)
    assert "周九" not in {r["member"] for r in membership.hours_list(town, BRANCH, 2026, keep=lambda r: r["missing"] > 0)}


def test_a_dues_payment_is_corrected_or_withdrawn_and_known_at_sees_it_as_it_stood(town: Store, tmp_path: Path):
    """A payment once registered could not be changed: a wrong 交纳日期 or a payment for the wrong member stayed for good."""
    from compliance.errors import NotFound

    member = next(m for m in town.members())
    org = next(o for o in town.orgs() if o.id == member.org_id)
    times = [datetime(2026, 11, day, 10, tzinfo=TZ) for day in (2, 10, 20, 28)]
    town.clock = lambda: times[0]
    assert membership.log_dues(town, {"org": org.path, "member": member.name, "month": "2026-03", "amount": "10", "paid_on": "2026-11-02"}) == 1

    def paid(known_at: datetime | None = None) -> dict[str, tuple[date, ...]]:
        found = {p.month: p.paid_on for _, rows in town.scope_dues(org.path, known_at=known_at) for p in rows if p.member_id == member.id}
        records = org.id in town.dues_orgs(org.path, known_at=known_at)
        return {"months": found, "records_dues": records}

    town.clock = lambda: times[1]
    before, after = membership.change_dues(town, org.path, member.name, "2026-03", "交纳日期录错", paid_on=date(2026, 3, 3))
    assert (before["paid_on"], after["paid_on"], after["amount"]) == (date(2026, 11, 2), date(2026, 3, 3), 10)
    town.clock = lambda: times[2]
    membership.change_dues(town, org.path, member.name, "2026-03", "金额录错", amount_text="12.5")
    assert town.dues_payment(member.id, "2026-03")["amount"] == 12.5
    town.clock = lambda: times[3]
    membership.change_dues(town, org.path, member.name, "2026-03", "登记错人")
    assert town.dues_payment(member.id, "2026-03") is None
    # Now: nothing; at each moment before, what stood then.
    assert paid() == {"months": {}, "records_dues": False}
    assert paid(times[0] - timedelta(seconds=1)) == {"months": {}, "records_dues": False}
    assert paid(times[0]) == {"months": {"2026-03": date(2026, 11, 2)}, "records_dues": True}
    assert paid(times[1]) == {"months": {"2026-03": date(2026, 3, 3)}, "records_dues": True}
    assert paid(times[3] - timedelta(seconds=1)) == {"months": {"2026-03": date(2026, 3, 3)}, "records_dues": True}
    assert paid(times[3]) == {"months": {}, "records_dues": False}
    assert [(v["change"], v["paid_on"], v["amount"], v["reason"]) for v in town.dues_versions(member.id, "2026-03")] == [
        ("correct", date(2026, 11, 2), 10, "交纳日期录错"), ("correct", date(2026, 3, 3), 10, "金额录错"),
        ("void", date(2026, 3, 3), 12.5, "登记错人")]
    # The file that had it, imported again, does not bring it back; logged on purpose, the month is registered again.
    wrong = write_csv(tmp_path / "d.csv", f"姓名,党组织,月份,金额,交纳日期\n{member.name},{org.path},2026-03,12.5,2026-03-03")
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, wrong)
    assert str(caught.value).startswith("d.csv 第2行「月份」列：值「2026-03」：该党员 2026-03 的这笔党费（12.5 元，2026-03-03 交纳）"
                                        "已于 2026-11-28 撤销（登记错人）：请从文件中删去本行")
    assert membership.log_dues(town, {"org": org.path, "member": member.name, "month": "2026-03", "amount": "10", "paid_on": "2026-03-03"}) == 1
    with pytest.raises(NotFound, match="2026-04 没有登记党费"):
        membership.change_dues(town, org.path, member.name, "2026-04", "x", amount_text="5")
    with pytest.raises(InputError, match="的党费已是 10 元（2026-03-03 交纳），未作更改"):
        membership.change_dues(town, org.path, member.name, "2026-03", "x", paid_on=date(2026, 3, 3))
    with pytest.raises(InputError, match="--paid-on：2025-01-03 交纳的党费最多覆盖今后6个月，不能是 2026-03 的"):
        membership.change_dues(town, org.path, member.name, "2026-03", "x", paid_on=date(2025, 1, 3))
    with pytest.raises(InputError, match="--reason：须写明原因"):
        membership.change_dues(town, org.path, member.name, "2026-03", " ", amount_text="5")
    # PostgreSQL refused a reason longer than its column with a driver's error; SQLite kept it.
    with pytest.raises(InputError, match="--reason：原因最多 400 字（现为 401 字）"):
        membership.change_dues(town, org.path, member.name, "2026-03", "错" * 401, amount_text="5")
    with pytest.raises(InputError, match="--reason：原因最多 400 字"):
        membership.exempt_member(town, org.path, member.name, date(2026, 1, 1), date(2026, 2, 1), "病" * 401)


def test_a_corrected_date_paid_is_judged_as_corrected(runner, town: Store):
    """March registered as paid in November (too late to count) stayed a gap however it was really paid."""
    from compliance.cli import app

    member = next(m for m in town.members())
    org = next(o for o in town.orgs() if o.id == member.org_id)
    db = ["--db", town.url]
    for month in range(1, 11):
        day = "2026-11-02" if month == 3 else f"2026-{month:02d}-05"
        assert runner.invoke(app, db + ["dues", "log", "--org", org.path, "--member", member.name, "--month", f"2026-{month:02d}",
                                        "--amount", "10", "--paid-on", day]).exit_code == 0

    def march() -> list[str]:
        rows = json.loads(runner.invoke(app, db + ["status", "--org", org.path, "--as-of", "2026-11-25", "--format", "json"]).stdout)
        return [r["status"] for r in rows if r["obligation"] == "dues" and r["member"] == member.name and r["period"] == "2026-03"]

    assert march() == ["invalid"]
    done = runner.invoke(app, db + ["dues", "correct", "--org", org.path, "--member", member.name, "--month", "2026-03",
                                    "--paid-on", "2026-03-05", "--reason", "交纳日期录错"])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"已更正：{member.name} 2026-03 的党费 10 元（2026-11-02 交纳）改为 10 元（2026-03-05 交纳）"
    assert march() == ["met"]
    # A secretary sees what is registered, and what was corrected, before mending anything else.
    listed = json.loads(runner.invoke(app, db + ["dues", "list", "--org", org.path, "--member", member.name, "--year", "2026",
                                                 "--format", "json"]).stdout)
    assert [(r["month"], r["amount"], r["paid_on"], r["corrected"]) for r in listed][2:4] == [
        ("2026-03", 10, "2026-03-05", True), ("2026-04", 10, "2026-04-05", False)]
    assert len(listed) == 10 and {r["member"] for r in listed} == {member.name}
    neither = runner.invoke(app, db + ["dues", "correct", "--org", org.path, "--member", member.name, "--month", "2026-03", "--reason", "x"])
    assert neither.exit_code == 2 and "须给出 --amount 或 --paid-on" in neither.stderr
    void = runner.invoke(app, db + ["dues", "void", "--org", org.path, "--member", member.name, "--month", "2026-03", "--reason", "月份录错"])
    assert void.exit_code == 0 and "该月现为未交" in void.stdout
    assert march() == ["missed"]


def test_a_mobile_report_of_a_member_not_marked_mobile_does_not_cover_their_months():
    """A 流动党员汇报 mistyped for 张三 (not mobile) wiped out his six months away, back to the half year's start."""
    records = monthly([1, 2, 3, 4], "张三、李四") + monthly([5, 6, 7, 8, 9, 10], "李四") + [meeting("2026-11-03", kind="mobile_report", member="张三")]
    zhang = one(watch([ZHANG, LI], records, {}, set(), AS_OF, SINCE), "张三")
    assert zhang.months_absent == 6 and zhang.level == "review"
    # The same report of a mobile member covers their half year, as it should.
    wang = one(watch([WANG, LI], records[:-1] + [meeting("2026-11-03", kind="mobile_report", member="王五")], {}, set(), AS_OF, SINCE), "王五")
    assert wang.months_absent == 0


def test_a_view_of_a_day_does_not_see_records_held_after_it():
    """As of 30 November, a mobile member's report held on 3 December covered July to December already."""
    records = monthly(range(1, 12), "李四") + [meeting("2026-12-03", kind="mobile_report", member="王五")]
    as_of = date(2026, 11, 30)
    wang = one(watch([WANG, LI], records, {}, set(), as_of, SINCE), "王五")
    assert wang.months_absent == 10 and wang.level == "review"
    runs = watch_runs([WANG, LI], records, {}, set(), as_of, SINCE)
    assert [(r.member.name, r.months) for r in runs] == [("王五", 10)]


def test_dues_log_says_what_it_registered_and_exempt_points_out_an_overlap(runner, town: Store):
    """`dues log` said only 已登记。; a second exemption overlapping the first passed without a word; a month withdrawn was 没有登记."""
    from compliance.cli import app

    member = next(m for m in town.members())
    org = town.org_path(member.org_id)
    db = ["--db", town.url]
    logged = runner.invoke(app, db + ["dues", "log", "--org", org, "--member", member.name, "--month", "2026-09", "--amount", "12.5",
                                      "--paid-on", "2026-11-03"])
    assert logged.exit_code == 0, logged.output
    lines = logged.stdout.splitlines()
    assert lines[0] == f"已登记：{member.name} 2026-09 的党费 12.5 元（2026-11-03 交纳）"
    assert lines[1].startswith("提示：交纳日期晚于该月月底")
    # A month paid too late to count is told so (it was told as any late payment: try-out).
    late = runner.invoke(app, db + ["dues", "log", "--org", org, "--member", member.name, "--month", "2026-04", "--amount", "12.5"])
    assert late.exit_code == 0 and late.stdout.splitlines()[1:] == [
        "注意：2026-04 的党费补交超过6个月，不计入该月；如交纳日期录错，请用 dues correct 更正",
        f"提示：党组织「{org}」的党费现从 2026-04 起按月检查（此前从 2026-09 起）：登记了更早月份的党费，其间每名党员未登记的月份都算未交；"
        "如月份录错，请用 dues void 撤销"], late.output
    assert runner.invoke(app, db + ["dues", "void", "--org", org, "--member", member.name, "--month", "2026-09", "--reason", "月份录错"]).exit_code == 0
    twice = runner.invoke(app, db + ["dues", "void", "--org", org, "--member", member.name, "--month", "2026-09", "--reason", "月份录错"])
    assert twice.exit_code != 0 and "2026-09 的党费（12.5 元）已于" in twice.stderr and "撤销（月份录错），现在没有登记" in twice.stderr
    args = ["member", "exempt", member.name, "--org", org, "--reason", "因病经批准"]
    assert runner.invoke(app, db + args + ["--from", "2026-05-01", "--to", "2026-08-31"]).exit_code == 0
    second = runner.invoke(app, db + args + ["--from", "2026-07-01", "--to", "2026-10-31"])
    assert second.exit_code == 0 and "提示：与已登记的免除（编号 1：2026-05-01 至 2026-08-31，因病经批准）时间重叠" in second.stdout


def test_dues_log_points_out_months_left_unpaid_before_the_month_paid(runner, town: Store):
    """November logged while September and October were unpaid said nothing: a month typed wrong went unseen (try-out)."""
    from compliance.cli import app

    member, other = [m for m in town.members() if m.org_id == town.members()[0].org_id][:2]
    org = town.org_path(member.org_id)
    db = ["--db", town.url]

    def log(name: str, month: str, paid_on: str) -> list[str]:
        done = runner.invoke(app, db + ["dues", "log", "--org", org, "--member", name, "--month", month, "--amount", "10",
                                        "--paid-on", paid_on])
        assert done.exit_code == 0, done.output
        return done.stdout.splitlines()[1:]

    # A member's first payment entered is not a gap: nothing said.
    assert [line[:7] for line in log(member.name, "2026-08", "2026-08-05")] == ["提示：党组织「"]    # the branch's first payment
    assert log(member.name, "2026-11", "2026-11-20") == [
        f"提示：{member.name} 在 2026-11 之前还有 2026-09、2026-10 的党费未登记交纳；如所交月份录错，请用 dues void 撤销后重新登记"]
    # Paid ahead: December, still open, and January to come are not paid either (review).
    assert log(member.name, "2027-02", "2026-12-05") == [
        f"提示：{member.name} 在 2027-02 之前还有 2026-12、2027-01 的党费未登记交纳；如所交月份录错，请用 dues void 撤销后重新登记"]
    # A member's first payment, beside others' already checked, leaves months unpaid too (try-out).
    third = [m for m in town.members() if m.org_id == member.org_id][2]
    assert log(third.name, "2026-11", "2026-11-20") == [
        f"提示：{third.name} 在 2026-11 之前还有 2026-08、2026-09、2026-10 的党费未登记交纳；如所交月份录错，请用 dues void 撤销后重新登记"]
    # Months exempted are not owed, and a month paid fills its gap.
    assert runner.invoke(app, db + ["member", "exempt", other.name, "--org", org, "--reason", "因病经批准",
                                    "--from", "2026-09-01", "--to", "2026-09-30"]).exit_code == 0
    assert log(other.name, "2026-08", "2026-08-05") == []
    assert log(other.name, "2026-10", "2026-10-20") == []
    assert log(other.name, "2026-11", "2026-11-20") == []


def test_member_views_take_known_at_and_see_payments_exemptions_and_records_as_they_stood(runner, town: Store, rules):
    """`members watch`, `dues unpaid`, `mobile list` and `member exemptions` had no --known-at: a supervision day's view was lost."""
    from compliance.cli import app

    org = next(o for o in town.orgs() if o.path == BRANCH)
    roster = [m for m in town.members() if m.org_id == org.id]
    payer, exempted = [m for m in roster if not m.mobile][:2]
    mobile = next(m for m in roster if m.mobile)
    first, second = datetime(2026, 11, 2, 10, tzinfo=TZ), datetime(2026, 11, 10, 10, tzinfo=TZ)
    between = "2026-11-05T12:00"
    town.clock = lambda: first
    for month in ("2025-06", "2025-09"):
        membership.log_dues(town, {"org": BRANCH, "member": payer.name, "month": month, "amount": "10", "paid_on": f"{month}-05"})
    exemption = membership.exempt_member(town, BRANCH, exempted.name, date(2026, 5, 1), date(2026, 10, 31), "因病经批准")
    town.clock = lambda: second
    membership.log_dues(town, {"org": BRANCH, "member": payer.name, "month": "2025-08", "amount": "10", "paid_on": "2025-08-05"})
    membership.change_dues(town, BRANCH, payer.name, "2025-09", "月份录错")
    membership.withdraw_exemption(town, exemption, "登记错人")
    importing.log_record(town, rules, {"org": BRANCH, "kind": "流动党员汇报", "date": "2026-11-08", "member": mobile.name})
    importing.log_record(town, rules, {"org": BRANCH, "kind": "主题党日", "date": "2026-11-06", "attendees": payer.name, "hours": "4"})
    db = ["--db", town.url]

    def listed(*command: str, known_at: str | None = None) -> list[dict]:
        args = db + list(command) + ["--format", "json"] + (["--known-at", known_at] if known_at else [])
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
        return json.loads(done.stdout)

    def last_paid(known_at: str | None = None) -> str | None:
        rows = listed("dues", "unpaid", "--under", BRANCH, "--as-of", "2026-11-20", known_at=known_at)
        return next((r["last_paid"] for r in rows if r["member"] == payer.name), "not listed")

    # 2025-09, withdrawn since, is the last month paid as it stood; 2025-08 was registered later.
    # Before the first payment the branch recorded no dues, and nobody is listed.
    assert (last_paid(), last_paid(between), last_paid("2026-11-01")) == ("2025-08", "2025-09", "not listed")
    watched = listed("members", "watch", "--under", BRANCH, "--as-of", "2026-11-20", "--all", known_at=between)
    assert next(r["last_dues"] for r in watched if r["member"] == payer.name) == "2025-09"
    assert next(r["last_dues"] for r in listed("members", "watch", "--under", BRANCH, "--as-of", "2026-11-20", "--all")
                if r["member"] == payer.name) == "2025-08"

    def exemptions(known_at: str | None = None) -> list[tuple[str, str | None]]:
        return [(r["member"], r["withdrawn"]) for r in listed("member", "exemptions", "--under", BRANCH, known_at=known_at)]

    assert (exemptions(), exemptions(between), exemptions("2026-11-01")) == (
        [(exempted.name, "登记错人")], [(exempted.name, None)], [])

    def contact(known_at: str | None = None) -> str | None:
        rows = listed("mobile", "list", "--under", BRANCH, "--as-of", "2026-11-20", known_at=known_at)
        return next(r["last_contact"] for r in rows if r["member"] == mobile.name)

    assert (contact(), contact(between)) == ("2026-11-08", None)

    def hours(known_at: str | None = None) -> list[float]:
        rows = listed("members", "hours", "--under", BRANCH, "--year", "2026", "--all", known_at=known_at)
        return [r["hours"] for r in rows if r["member"] == payer.name]

    # Before the only record with 学时 was entered, the branch recorded none and is not listed.
    assert (hours(), hours(between)) == ([4], [])
    # A table says which view it is, as `status` and `overdue` do.
    for command in (["members", "watch", "--all"], ["dues", "unpaid"], ["overdue"]):
        shown = runner.invoke(app, db + command + ["--under", BRANCH, "--as-of", "2026-11-20", "--known-at", between],
                              terminal_width=200, env={"COLUMNS": "200"})
        assert shown.exit_code == 0 and "截至 2026-11-20，按 2026-11-05 12:00 时已录入的数据" in shown.stdout, (command, shown.output)
    listed_then = runner.invoke(app, db + ["member", "exemptions", "--under", BRANCH, "--known-at", between], env={"COLUMNS": "200"})
    assert "已登记的免除（按 2026-11-05 12:00 时已录入的数据）" in listed_then.stdout
    # Without --as-of, today's periods would be judged on what was known then: said on stderr, JSON untouched.
    alone = runner.invoke(app, db + ["members", "watch", "--under", BRANCH, "--known-at", between, "--format", "json"])
    assert alone.exit_code == 0 and json.loads(alone.stdout) is not None
    assert "提示：只给了 --known-at，仍按今天" in alone.stderr and "请同时给 --as-of 2026-11-05" in alone.stderr
    # A scope where no branch records dues has nothing to judge: not 「已全部交纳」.
    nothing = runner.invoke(app, db + ["dues", "unpaid", "--under", "图河镇党委/马屯村党支部", "--as-of", "2026-11-20"])
    assert nothing.stdout.strip() == "范围内没有登记党费的党支部，无从判断（dues import 或 dues log 登记党费）。"


def test_dues_list_takes_known_at_and_shows_payments_as_they_stood(runner, town: Store):
    """`dues list` had no --known-at: a payment corrected or withdrawn since could not be shown as it stood."""
    from compliance.cli import app

    org = next(o for o in town.orgs() if o.path == BRANCH)
    payer = next(m for m in town.members() if m.org_id == org.id and not m.mobile)
    first, second, third = (datetime(2026, 11, day, 10, tzinfo=TZ) for day in (2, 10, 15))
    town.clock = lambda: first
    for month in ("2026-07", "2026-08", "2026-09"):
        membership.log_dues(town, {"org": BRANCH, "member": payer.name, "month": month, "amount": "10", "paid_on": f"{month}-05"})
    town.clock = lambda: second
    membership.change_dues(town, BRANCH, payer.name, "2026-08", "金额录错", amount_text="12")
    membership.change_dues(town, BRANCH, payer.name, "2026-09", "月份录错")
    membership.log_dues(town, {"org": BRANCH, "member": payer.name, "month": "2026-10", "amount": "10", "paid_on": "2026-10-05"})
    town.clock = lambda: third
    membership.change_dues(town, BRANCH, payer.name, "2026-08", "日期录错", paid_on=date(2026, 8, 6))

    def listed(known_at: str | None = None) -> list[tuple[str, float, str, bool]]:
        args = ["--db", town.url, "dues", "list", "--org", BRANCH, "--member", payer.name, "--format", "json"]
        done = runner.invoke(app, args + (["--known-at", known_at] if known_at else []))
        assert done.exit_code == 0, done.output
        return [(r["month"], r["amount"], r["paid_on"], r["corrected"]) for r in json.loads(done.stdout)]

    assert listed() == [("2026-07", 10, "2026-07-05", False), ("2026-08", 12, "2026-08-06", True), ("2026-10", 10, "2026-10-05", False)]
    # Before the corrections: 2026-08 as first entered, 2026-09 not yet withdrawn, 2026-10 not yet registered.
    assert listed("2026-11-05") == [("2026-07", 10, "2026-07-05", False), ("2026-08", 10, "2026-08-05", False),
                                    ("2026-09", 10, "2026-09-05", False)]
    # Between the two corrections of 2026-08: its first correction, marked as one.
    assert listed("2026-11-12") == [("2026-07", 10, "2026-07-05", False), ("2026-08", 12, "2026-08-05", True),
                                    ("2026-10", 10, "2026-10-05", False)]
    assert listed("2026-11-01") == []
    shown = runner.invoke(app, ["--db", town.url, "dues", "list", "--org", BRANCH, "--known-at", "2026-11-05T12:00"],
                          terminal_width=200, env={"COLUMNS": "200"})
    assert "已登记的党费（按 2026-11-05 12:00 时已录入的数据）" in shown.stdout
    empty = runner.invoke(app, ["--db", town.url, "dues", "list", "--org", BRANCH, "--known-at", "2026-11-01"])
    assert empty.stdout.strip() == "没有登记的党费（按 2026-11-01 23:59 时已录入的数据）。"


def test_the_watch_says_how_a_mobile_members_report_counts_when_it_lists_one(runner, town: Store):
    """A mobile member's 最近参加 was the day of their half-year report and 未参加 0个月 with no meeting attended: unexplained (try-out)."""
    from compliance.cli import app

    words = "流动党员：向党支部的半年汇报计为该半年各月都参加了组织生活"
    mobile = next(m for m in town.members() if m.mobile)
    path = town.org_path(mobile.org_id)
    everyone = runner.invoke(app, ["--db", town.url, "members", "watch", "--under", path, "--all"], terminal_width=200)
    assert everyone.exit_code == 0 and "（流动）" in everyone.stdout and words in everyone.stdout
    settled = next(m for m in town.members() if not m.mobile and not any(o.mobile for o in town.members() if o.org_id == m.org_id))
    alone = runner.invoke(app, ["--db", town.url, "members", "watch", "--under", town.org_path(settled.org_id), "--all"],
                          terminal_width=200)
    assert alone.exit_code == 0 and "党员六个月提示" in alone.stdout and words not in alone.stdout


def test_dues_list_marks_payments_made_late_and_those_too_late_to_count(runner, town: Store):
    """`dues list` showed a payment too late to count like any other, while status said the month was 无效 (try-out)."""
    from compliance.cli import app

    org = next(o for o in town.orgs() if o.path == BRANCH)
    payer = next(m for m in town.members() if m.org_id == org.id and not m.mobile)
    for month, day in (("2026-03", "2026-11-02"), ("2026-08", "2026-11-02"), ("2026-10", "2026-10-20")):
        membership.log_dues(town, {"org": BRANCH, "member": payer.name, "month": month, "amount": "10", "paid_on": day})
    args = ["--db", town.url, "dues", "list", "--org", BRANCH, "--member", payer.name]
    done = runner.invoke(app, args + ["--format", "json"])
    assert done.exit_code == 0, done.output
    assert [(r["month"], r["late"]) for r in json.loads(done.stdout)] == [
        ("2026-03", "arrears_too_late"), ("2026-08", "paid_late"), ("2026-10", None)]
    shown = runner.invoke(app, args, terminal_width=200, env={"COLUMNS": "200"}).stdout
    assert "补交超过6个月" in shown and "逾期补交" in shown
    csv_text = runner.invoke(app, args + ["--format", "csv"]).stdout
    assert csv_text.splitlines()[0].endswith(",已更正,逾期") and csv_text.splitlines()[1].endswith(",补交超过6个月")


@pytest.mark.parametrize("header", ["name", "member", "姓名"])
def test_a_dues_file_takes_the_english_header_of_a_member_file_for_the_name(town: Store, tmp_path: Path, header: str):
    """`name` (姓名's English header in a member file) was an unknown column in a dues file, which took only `member`."""
    member = next(m for m in town.members() if town.org_path(m.org_id) == BRANCH)
    path = write_csv(tmp_path / "d.csv", f"{header},org,month,amount,paid_on\n{member.name},{BRANCH},2026-10,10,2026-10-05")
    assert membership.import_dues(town, path) == 1
    assert town.dues_payment(member.id, "2026-10")["amount"] == 10


def test_a_month_the_branch_held_no_listed_meeting_neither_counts_nor_ends_a_members_run(rules):
    """A branch that held no listed meeting in November wiped out 张三's six months away (0个月) and closed his ledger item."""
    from types import SimpleNamespace

    from compliance.tracking import Window, watch_findings

    records = monthly([1, 2, 3, 4], "张三、李四") + monthly([5, 6, 7, 8, 9, 10], "李四")     # nothing listed in November
    as_of = date(2026, 12, 5)
    zhang = one(watch([ZHANG, LI], records, {}, set(), as_of, SINCE), "张三")
    assert zhang.months_absent == 6 and zhang.level == "review"
    [run] = watch_runs([ZHANG, LI], records, {}, set(), as_of, SINCE)
    assert (run.first, run.months, run.running) == (date(2026, 5, 1), 6, True)
    # Found as 提请支部审查, due at October's end (its sixth month), spanning May to October.
    org = SimpleNamespace(id=1, path="镇/支部")
    window = Window(date(2026, 1, 1), as_of, as_of)
    [found] = watch_findings(rules, org, [run], window, spans=True)
    assert (found.status, found.period, found.due, found.flags) == ("missed", "2026-05/2026-10", date(2026, 10, 31), ("review_membership",))
    # December's meeting without him makes seven; one he attends ends the run.
    later = records + [meeting("2026-12-03", "李四")]
    assert one(watch([ZHANG, LI], later, {}, set(), date(2027, 1, 5), SINCE), "张三").months_absent == 7
    back = records + [meeting("2026-12-03", "张三、李四")]
    assert one(watch([ZHANG, LI], back, {}, set(), date(2027, 1, 5), SINCE), "张三").months_absent == 0
    # A month without a list in which he took part (a group meeting) still ends it.
    grouped = records + [meeting("2026-11-12", "张三", kind="group_meeting")]
    assert one(watch([ZHANG, LI], grouped, {}, set(), as_of, SINCE), "张三").months_absent == 0


@pytest.mark.parametrize("amount, words", [("12.555", "最多两位小数"), ("1e2", "最多两位小数"), ("12.5", None), (".5", None),
                                           ("12.5元", None), ("元", "不是数字"), ("12.555元", "最多两位小数"),
                                           ("¥12.50", None), ("￥ 8", None), ("¥", "不是数字"), ("¥12.5元", None), ("2小时", "不是数字")])
def test_a_dues_amount_is_written_in_yuan_and_fen(town: Store, tmp_path: Path, amount: str, words: str | None):
    """12.555 was registered, and 1e2 as 100 元."""
    member = next(m for m in town.members() if town.org_path(m.org_id) == BRANCH)
    path = write_csv(tmp_path / "d.csv", f"姓名,党组织,月份,金额,交纳日期\n{member.name},{BRANCH},2026-10,{amount},2026-10-05")
    if words is None:
        assert membership.import_dues(town, path) == 1
        [paid] = membership.dues_list(town, BRANCH, member.name, None, None)
        # 10元 was 不是数字, and so was ¥12.50 (try-outs)
        assert paid["amount"] == float(amount.removesuffix("元").lstrip("¥￥ "))
        return
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, path)
    assert str(caught.value).startswith(f"d.csv 第2行「金额」列：值「{amount}」") and words in str(caught.value)


def test_an_unknown_english_header_is_told_the_english_names(town: Store, tmp_path: Path):
    path = write_csv(tmp_path / "d.csv", "name,org,month,amount,paid on\n张三,ZZ1,2026-10,10,2026-10-05")
    with pytest.raises(InputError) as caught:
        membership.import_dues(town, path)
    assert "未知的列「paid on」" in str(caught.value) and "paid_on（交纳日期）" in str(caught.value)


def test_dues_list_of_a_township_counts_each_organizations_payments(runner, town: Store):
    """`dues list --org 青石镇党委` said 没有登记的党费 right after 2,700 payments were imported for its branches, and nothing
    added them up to set beside the ledger's 合计 (migration try-out)."""
    from compliance.cli import app

    second = "图河镇党委/朱庄村党总支/第二党支部"
    payers = {path: [m for m in town.members() if m.org_id == next(o.id for o in town.orgs() if o.path == path)][:2]
              for path in (BRANCH, second)}
    for path, members in payers.items():
        for m in members:
            for month in ("2026-09", "2026-10"):
                membership.log_dues(town, {"org": path, "member": m.name, "month": month, "amount": "12.5" if path == BRANCH else "10",
                                           "paid_on": f"{month}-05"})
    shown = runner.invoke(app, ["--db", town.url, "dues", "list", "--org", "图河镇党委", "--year", "2026"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    rows = [line for line in shown.stdout.splitlines() if "党支部" in line]
    assert "第一党支部" in rows[0] and "第二党支部" in rows[1], shown.stdout
    assert [c.strip() for c in rows[0].split("│")[2:5]] == ["2", "4", "50"] and [c.strip() for c in rows[1].split("│")[2:5]] == ["2", "4", "40"]
    assert "合计：8 笔，90 元；逐笔明细请加 --format csv，或用 --org 指定党支部" in shown.stdout
    listed = json.loads(runner.invoke(app, ["--db", town.url, "dues", "list", "--org", "图河镇党委", "--format", "json"]).stdout)
    assert [(r["org"], r["month"]) for r in listed][:2] == [(BRANCH, "2026-09"), (BRANCH, "2026-10")] and len(listed) == 8
