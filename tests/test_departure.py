"""A member leaves a roster (transferred out, died, expelled): the day and reason are kept, and everything reads them."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

from compliance import importing, membership, tracking
from compliance.cli import app
from compliance.errors import InputError, NotFound
from compliance.store import TZ, Store
from tests.conftest import TOWN_ORGS, roster_csv, write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
MOBILE = "党员第一党支部0"          # the branch's one mobile member (roster_csv)


def _overdue(town: Store, rules, as_of: date, under: str = "图河镇党委") -> list:
    return tracking.overdue(town, rules, under, tracking.Window(date(2026, 1, 1), as_of, as_of))


def test_member_leave_and_unleave_on_the_command_line(runner, tmp_path: Path):
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    members = "姓名,党组织,党小组,类别,流动党员,入党日期\n" + "\n".join(
        line + ",2001-07-01" for line in roster_csv(BRANCH, 10, 1, groups=2, mobile=1).splitlines())
    assert runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", members))]).exit_code == 0

    def reports() -> list[str]:
        rows = json.loads(runner.invoke(app, db + ["overdue", "--under", "图河镇党委", "--as-of", "2026-11-25", "--format", "json"]).stdout)
        return sorted(r["period"] for r in rows if r["obligation"] == "mobile_report" and r["member"] == MOBILE)

    assert reports() == ["2026-H1", "2026-H2"]
    leave = db + ["member", "leave", MOBILE, "--org", "ZZ1", "--date", "2026-06-18", "--reason", "转出"]
    done = runner.invoke(app, leave + ["--note", "转往县城第三党支部"])
    assert done.exit_code == 0, done.output
    assert f"已登记离开：{MOBILE}（{BRANCH}）2026-06-18 转出" in done.stdout
    assert reports() == []      # the half year they left in is owed where they went
    again = runner.invoke(app, leave)
    assert again.exit_code == 2 and f"「{MOBILE}」已于 2026-06-18 离开「{BRANCH}」（转出），未重复登记" in again.stderr
    for args, said in (
            (["党员第一党支部1", "--org", "ZZ1", "--date", "2099-01-01", "--reason", "转出"], "--date：2099-01-01 晚于今天"),
            (["党员第一党支部1", "--org", "ZZ1", "--date", "2026-06-18", "--reason", "调走"],
             "--reason：「调走」不是离开原因，应为 转出、去世、出党、停止党籍、其他 之一"),
            (["周九", "--org", "ZZ1", "--date", "2026-06-18", "--reason", "转出"], f"「周九」不是「{BRANCH}」的党员"),
            ([MOBILE.replace("0", "1"), "--org", "ZZ1", "--date", "2026-06-18", "--reason", "转出", "--note", "说" * 401],
             "--note：说明过长（401 字），最多 400 字"),
            ([MOBILE, "--org", "ZZ1", "--date", "2026-06-18", "--reason", "去世"], "已于 2026-06-18 离开")):
        refused = runner.invoke(app, db + ["member", "leave", *args])
        assert refused.exit_code == 2 and said in refused.stderr, (args, refused.output)
    undone = runner.invoke(app, db + ["member", "unleave", MOBILE, "--org", "ZZ1", "--reason", "登记错人"])
    assert undone.exit_code == 0 and f"已撤销离开：{MOBILE}（{BRANCH}）原登记 2026-06-18 转出" in undone.stdout
    assert reports() == ["2026-H1", "2026-H2"]
    twice = runner.invoke(app, db + ["member", "unleave", MOBILE, "--org", "ZZ1", "--reason", "登记错人"])
    assert twice.exit_code == 2 and "没有登记离开" in twice.stderr
    # Before they joined the Party: no.
    early = runner.invoke(app, db + ["member", "leave", MOBILE, "--org", "ZZ1", "--date", "2000-01-01", "--reason", "转出"])
    assert early.exit_code == 2 and "--date：2000-01-01 早于「党员第一党支部0」的入党日期 2001-07-01" in early.stderr
    audit = json.loads(runner.invoke(app, db + ["audit", "log", "--format", "json"]).stdout)
    assert [(a["action"], a["entity"], a["reason"], a["detail"]) for a in audit if a["action"] in ("leave", "unleave")] == [
        ("leave", "member", "转往县城第三党支部", {"left_on": "2026-06-18", "left_reason": "转出", "name": MOBILE}),
        ("unleave", "member", "登记错人", {"was_left_on": "2026-06-18", "was_left_reason": "转出", "name": MOBILE})]
    table = runner.invoke(app, db + ["audit", "log", "--format", "csv"]).stdout
    assert "登记离开" in table and "撤销离开" in table


def test_a_branch_whose_members_left_counts_the_roster_it_has(town: Store, rules):
    """Members who left counted as full members for good: a branch down to six kept owing monthly 支委会."""
    as_of = date(2026, 11, 25)
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    committee = {f.period for f in _overdue(town, rules, as_of, BRANCH) if f.obligation == "branch_committee"}
    assert "2026-10" in committee
    for i in (6, 7, 8, 9):       # ten full members, four leave in August: six are fewer than seven (条例 第八条)
        membership.leave_member(town, "ZZ1", f"党员第一党支部{i}", date(2026, 8, 3), "转出", None)
    stored = {m.name: (m.left_on, m.left_reason) for m in town.members() if m.name.startswith("党员第一党支部")}
    assert stored["党员第一党支部6"] == (date(2026, 8, 3), "转出") and stored["党员第一党支部5"] == (None, None)
    committee = {f.period for f in _overdue(town, rules, as_of, BRANCH) if f.obligation == "branch_committee"}
    assert "2026-10" not in committee and {"2026-07", "2026-08"} <= committee      # owed while it had its committee
    # A view of a day before they left still sees them.
    before = {f.period for f in _overdue(town, rules, date(2026, 7, 31), BRANCH) if f.obligation == "branch_committee"}
    assert "2026-06" in before


def test_a_meeting_after_a_member_left_neither_lists_them_nor_expects_them(town: Store, rules, tmp_path: Path):
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    membership.leave_member(town, "ZZ1", "党员第一党支部9", date(2026, 5, 20), "去世", None)
    header = "党组织,类型,日期,参会人员,主题,记录人,书记签字,记录人签字,图片\n"
    present = "、".join(f"党员第一党支部{i}" for i in range(1, 6))
    rows = [f"ZZ1,党员大会,2026-03-10,{present}、党员第一党支部9,学习,陶英,是,是,a.jpg",      # before: on the roster
            f"ZZ1,党员大会,2026-06-10,{present},学习,陶英,是,是,a.jpg"]
    result = importing.import_records(town, rules, write_csv(tmp_path / "r.csv", header + "\n".join(rows)))
    assert result.added == 2
    versions = [town.record_versions(i)[-1] for i in result.ids]
    assert sorted((v["held_on"], v["expected"], v["present"]) for v in versions) == [
        (date(2026, 3, 10), 10, 6), (date(2026, 6, 10), 9, 5)]      # 党员大会: full members of the day's roster
    late = write_csv(tmp_path / "late.csv", header + f"ZZ1,主题党日,2026-07-10,{present}、党员第一党支部9,学习,陶英,是,是,a.jpg")
    try:
        importing.import_records(town, rules, late)
    except InputError as exc:
        message = str(exc)
    else:
        raise AssertionError("a member who had left was taken as attending")
    assert "late.csv 第2行「参会人员」列" in message
    assert f"「党员第一党支部9」已于 2026-05-20 离开「{BRANCH}」，不在会议当日的花名册上" in message
    mobile_report = write_csv(tmp_path / "m.csv", "党组织,类型,日期,党员\nZZ1,流动党员汇报,2026-07-01,党员第一党支部9")
    try:
        importing.import_records(town, rules, mobile_report)
    except InputError as exc:
        assert "第2行「党员」列" in str(exc) and "已于 2026-05-20 离开" in str(exc)
    else:
        raise AssertionError("a report of a member who had left was taken")


def test_a_meetings_roster_leaves_out_who_joined_the_party_after_it(town: Store, rules, tmp_path: Path):
    """A sheet of past meetings took its 应到 from today's roster: members who joined the Party after a meeting were
    expected at it, and at a 党员大会 members who became full only later were counted among its voters (try-out)."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    # 新丁 joined in June and arrived by transfer in July: not on the roster in May on either count, taken off once.
    joiners = ("姓名,党组织,党小组,类别,入党日期,转入日期\n"
               f"新甲,{BRANCH},,预备,2026-06-01,\n新乙,{BRANCH},,正式,2025-09-01,\n新丙,{BRANCH},第一党小组,预备,2026-06-01,\n"
               f"新丁,{BRANCH},第一党小组,预备,2026-06-15,2026-07-01\n")
    importing.import_members(town, write_csv(tmp_path / "joiners.csv", joiners))
    header = "党组织,类型,日期,党小组,参会人员,主题,记录人,书记签字,记录人签字,图片\n"
    present = "、".join(f"党员第一党支部{i}" for i in (0, 2, 4))
    rows = [f"ZZ1,主题党日,2026-05-10,,{present},学习,陶英,是,是,a.jpg",
            f"ZZ1,党员大会,2026-05-11,,{present},学习,陶英,是,是,a.jpg",
            f"ZZ1,党小组会,2026-05-12,第一党小组,{present},学习,陶英,是,是,a.jpg",
            f"ZZ1,主题党日,2026-10-10,,{present},学习,陶英,是,是,a.jpg",
            f"ZZ1,党员大会,2026-10-11,,{present},学习,陶英,是,是,a.jpg",
            f"ZZ1,党小组会,2026-10-12,第一党小组,{present},学习,陶英,是,是,a.jpg"]
    result = importing.import_records(town, rules, write_csv(tmp_path / "r.csv", header + "\n".join(rows)))
    assert result.added == 6
    expected = sorted((v["held_on"], v["kind"], v["expected"]) for v in (town.record_versions(i)[-1] for i in result.ids))
    # 15 on the roster today: 11 and the four who joined; 11 full members, 新乙 full from 2025-09-01 a year on;
    # 第一党小组 of 8, 新丙 and 新丁 among them.
    assert expected == [(date(2026, 5, 10), "theme_day", 12), (date(2026, 5, 11), "party_congress", 10),
                        (date(2026, 5, 12), "group_meeting", 6), (date(2026, 10, 10), "theme_day", 15),
                        (date(2026, 10, 11), "party_congress", 11), (date(2026, 10, 12), "group_meeting", 8)], expected
    # At a 党员大会 before 新乙 became a full member, 新乙 attends but does not vote: 实到 counts the day's full members, or a
    # meeting of members not yet full passed its quorum (review).
    voters = importing.import_records(town, rules, write_csv(tmp_path / "v.csv", header + f"ZZ1,党员大会,2026-05-20,,{present}、新乙,学习,陶英,是,是,a.jpg"))
    [version] = [town.record_versions(i)[-1] for i in voters.ids]
    assert (version["expected"], version["present"]) == (10, 3)
    # Nor is the 应到 it derived then said to be below the roster's full members, which counted today's (review).
    assert tracking.record_alone(town, rules, voters.ids[0], date(2026, 11, 25)).expected_unlike_roster is None
    # One who joined the Party after the meeting is not on its roster: refused as one who had left is (review).
    try:
        importing.import_records(town, rules, write_csv(tmp_path / "l.csv", header + f"ZZ1,主题党日,2026-05-21,,{present}、新甲,学习,陶英,是,是,a.jpg"))
    except InputError as exc:
        assert "l.csv 第2行「参会人员」列" in str(exc) and "「新甲」的入党日期为 2026-06-01，晚于会议日期，不在会议当日的花名册上" in str(exc), str(exc)
    else:
        raise AssertionError("a member who joined later was taken as attending")


def test_a_meeting_without_a_count_is_judged_on_the_full_members_of_its_day(town: Store, rules, tmp_path: Path):
    """A 党员大会 with its 实到 and neither an 应到 nor a list was judged on today's full members: three who joined the
    Party in September 2025, full members now, were 预备 in May 2026 and had no vote. Six of the day's ten full members
    were there, a quorum, judged short of the thirteen of today; the import's 应到 and its notice counted the day's."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    joiners = "姓名,党组织,类别,入党日期\n" + "".join(f"新{n},{BRANCH},正式,2025-09-01\n" for n in "甲乙丙")
    importing.import_members(town, write_csv(tmp_path / "joiners.csv", joiners))
    header = "党组织,类型,日期,实到,主题,记录人,书记签字,记录人签字,图片\n"
    rows = ["ZZ1,党员大会,2026-05-20,6,学习,陶英,是,是,a.jpg", "ZZ1,党员大会,2026-11-20,6,学习,陶英,是,是,a.jpg"]
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", header + "\n".join(rows)))
    day = date(2026, 11, 25)
    found = {f.period: f for f in tracking.org_status(town, rules, BRANCH, tracking.Window(date(2026, 1, 1), day, day))
             if f.obligation == "party_congress"}
    assert found["2026-Q2"].status == "met" and "no_quorum" not in found["2026-Q2"].flags, found["2026-Q2"]
    # In November the three are full members: six of thirteen is no quorum.
    assert "no_quorum" in found["2026-Q4"].flags, found["2026-Q4"]


def test_member_views_leave_out_who_left(town: Store, rules, tmp_path: Path):
    """The six-month watch, mobile members, unpaid dues and the roster indicators listed a member who had left, for good."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    as_of = date(2026, 11, 20)
    header = "党组织,类型,日期,参会人员,主题,记录人,书记签字,记录人签字,图片\n"
    everyone_but_one = "、".join(f"党员第一党支部{i}" for i in range(0, 10))      # 党员第一党支部10, the probationary one, never comes
    rows = [f"ZZ1,主题党日,2026-{m:02d}-10,{everyone_but_one},学习,陶英,是,是,a.jpg" for m in range(1, 11)]
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", header + "\n".join(rows)))
    dues = "姓名,党组织,月份,金额,交纳日期\n" + "\n".join(f"党员第一党支部{i},ZZ1,2026-10,10,2026-10-08" for i in range(0, 11))
    membership.import_dues(town, write_csv(tmp_path / "d.csv", dues))

    def watched() -> set[str]:
        return {r.member for r in membership.member_watch(town, BRANCH, as_of) if r.level}

    assert watched() == {"党员第一党支部10"}

    def overdue_watch() -> list:
        return [f.obligation for f in _overdue(town, rules, as_of, BRANCH) if f.member == "党员第一党支部10" and f.obligation.endswith("_watch")]

    assert overdue_watch() == ["absence_watch"]
    assert {r.member for r in membership.mobile_list(town, BRANCH, as_of)} == {MOBILE}
    assert {r["member"] for r in membership.unpaid(town, BRANCH, as_of)} == {f"党员第一党支部{i}" for i in range(11)}
    membership.leave_member(town, "ZZ1", "党员第一党支部10", date(2026, 10, 28), "停止党籍", None)
    membership.leave_member(town, "ZZ1", MOBILE, date(2026, 11, 3), "转出", None)
    assert watched() == set()
    assert membership.mobile_list(town, BRANCH, as_of) == []
    # November's dues: owed by who left in November, not by who left in October.
    assert {r["member"] for r in membership.unpaid(town, BRANCH, as_of)} == {f"党员第一党支部{i}" for i in range(10)}
    found = {r.org: r for r in membership.indicators(town, "图河镇党委", as_of)}
    assert found[BRANCH].members == 9
    # Overdue's own watch too: its 提请支部审查 item of the member gone (their dues up to October stay owed).
    assert overdue_watch() == []


def test_a_roster_file_marks_members_who_left(town: Store, rules, tmp_path: Path):
    """A township's yearly roster update (党内统计) names who left: one `member leave` a member was the only way."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    body = ("姓名,党组织,入党日期,离开日期,离开原因\n"
            f"党员第一党支部1,{BRANCH},,2026-04-02,转出\n"
            f"周九,{BRANCH},1990-07-01,2025-12-01,去世\n"          # back-loaded with the records of a year he was on it
            f"党员第一党支部2,{BRANCH},,,\n")
    result = importing.import_members(town, write_csv(tmp_path / "m.csv", body))
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    left = {m.name: (m.left_on, m.left_reason) for m in town.members() if m.left_on}
    assert left == {"党员第一党支部1": (date(2026, 4, 2), "转出"), "周九": (date(2025, 12, 1), "去世")}
    entry = json.loads(next(e for e in reversed(town.audit_log()) if e.action == "import").detail)
    branch_id = next(o.id for o in town.orgs() if o.path == BRANCH)
    assert entry["left"] == [[branch_id, "党员第一党支部1", "2026-04-02", "转出"], [branch_id, "周九", "2025-12-01", "去世"]]
    importing.log_record(town, rules, {"org": BRANCH, "kind": "主题党日", "date": "2026-03-05", "topic": "学习", "photos": "a.jpg",
                                       "attendees": "党员第一党支部4、党员第一党支部5"})
    # The same file again changes nothing; a blank cell keeps the day, as it keeps every other value.
    again = importing.import_members(town, write_csv(tmp_path / "m2.csv", body.replace("2026-04-02,转出", ",")))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert {m.name for m in town.members() if m.left_on} == {"党员第一党支部1", "周九"}
    for row, said in ((f"党员第一党支部3,{BRANCH},,2026-04-02,", "第2行「离开原因」列：离开日期和离开原因须同时填写"),
                      (f"党员第一党支部3,{BRANCH},,,转出", "第2行「离开日期」列：离开日期和离开原因须同时填写"),
                      (f"党员第一党支部3,{BRANCH},,2026-04-02,调走", "第2行「离开原因」列：值「调走」：离开原因应为 转出、去世、出党、停止党籍、其他 之一"),
                      (f"党员第一党支部3,{BRANCH},,2099-04-02,转出", "第2行「离开日期」列：值「2099-04-02」：日期晚于今天"),
                      (f"党员第一党支部3,{BRANCH},2001-07-01,2000-04-02,转出",
                       "第2行「离开日期」列：值「2000-04-02」：离开日期 2000-04-02 早于入党日期 2001-07-01"),
                      # One who has left: the day and reason change through `member unleave` (audited) only.
                      (f"党员第一党支部1,{BRANCH},,2026-05-02,转出", "第2行「离开日期」列：值「2026-05-02」：「党员第一党支部1」已登记于 "
                                                                   "2026-04-02 离开（转出）；如登记有误，请先用 member unleave 撤销"),
                      (f"党员第一党支部1,{BRANCH},,,去世", "第2行「离开原因」列：值「去世」：「党员第一党支部1」已登记于 2026-04-02 离开（转出）"),
                      (f"党员第一党支部1,{BRANCH},2026-06-01,,", "第2行「入党日期」列：值「2026-06-01」：离开日期 2026-04-02 早于入党日期 2026-06-01"),
                      # Records of the day or later name them.
                      (f"党员第一党支部4,{BRANCH},,2026-03-01,转出",
                       "第2行「离开日期」列：值「2026-03-01」：「党员第一党支部4」在 2026-03-01 当天或之后的记录中仍被列为参会")):
        bad = write_csv(tmp_path / "bad.csv", "姓名,党组织,入党日期,离开日期,离开原因\n" + row)
        try:
            importing.import_members(town, bad)
        except InputError as exc:
            assert said in str(exc), (row, str(exc))
        else:
            raise AssertionError(row)
    assert {m.name for m in town.members() if m.left_on} == {"党员第一党支部1", "周九"}     # nothing half-written
    # A day that is no date is that one error, not also "both or neither" (the try-out).
    try:
        importing.import_members(town, write_csv(tmp_path / "bad.csv", f"姓名,党组织,离开日期,离开原因\n党员第一党支部3,{BRANCH},2026-11-31,转出"))
    except InputError as exc:
        assert "第2行「离开日期」列：值「2026-11-31」" in str(exc) and "须同时填写" not in str(exc)
    else:
        raise AssertionError("2026-11-31")


def test_the_ledger_items_of_a_member_who_left_are_owed_no_more(town: Store, rules, tmp_path: Path):
    """A run closed the six-month item of a member who left as 已补录有效记录, and kept last year's items of periods they no longer owed open for good."""
    from compliance.supervision import supervise
    from compliance.store.runs import NOT_OWED_NOTE

    header = "党组织,类型,日期,参会人员,主题,记录人,书记签字,记录人签字,图片\n"
    everyone_but_one = "、".join(f"党员第一党支部{i}" for i in range(1, 10))      # the mobile member reports where they live
    rows = [f"ZZ1,主题党日,{y}-{m:02d}-10,{everyone_but_one},学习,陶英,是,是,a.jpg" for y in (2025, 2026) for m in range(1, 13)
            if (y, m) <= (2026, 10)]
    town.clock = lambda: datetime(2026, 12, 20, 10, tzinfo=TZ)
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", header + "\n".join(rows)))
    town.clock = lambda: datetime(2025, 12, 26, 10, tzinfo=TZ)
    supervise(town, rules, "图河镇党委", "2025-12", date(2025, 12, 26))
    town.clock = lambda: datetime(2026, 11, 26, 10, tzinfo=TZ)
    supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 26))
    mine = [r for r in town.rectifications() if r.member in (MOBILE, "党员第一党支部10") and r.closed_on is None]
    reports = [next(r for r in mine if r.member == MOBILE and r.period == period) for period in ("2025-H1", "2026-H1")]   # last year's, this year's
    watch = next(r for r in mine if r.member == "党员第一党支部10" and r.obligation == "absence_watch")
    membership.leave_member(town, "ZZ1", MOBILE, date(2025, 6, 20), "转出", None)
    membership.leave_member(town, "ZZ1", "党员第一党支部10", date(2026, 11, 10), "停止党籍", None)
    town.clock = lambda: datetime(2026, 11, 27, 10, tzinfo=TZ)
    supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 27))
    for item in (*reports, watch):
        now = town.rectification(item.id)
        assert (now.closed_on, now.close_note) == (date(2026, 11, 27), NOT_OWED_NOTE), item


def test_what_names_a_member_after_they_left_is_refused_and_so_is_leaving_before_it(town: Store, rules, tmp_path: Path):
    """A leave dated before meetings that list the member made those records uncorrectable; dues and talks after it were taken."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    talk = importing.log_record(town, rules, {"org": BRANCH, "kind": "谈心谈话", "date": "2026-09-25", "member": "党员第一党支部2",
                                              "counterpart": "党员第一党支部3", "topic": "谈心"})
    try:
        membership.leave_member(town, "ZZ1", "党员第一党支部3", date(2026, 9, 15), "转出", None)
    except InputError as exc:
        assert str(exc) == (f"--date：「党员第一党支部3」在 2026-09-15 当天或之后的记录中仍被列为参会、请假、谈话对象或汇报人（记录 {talk.ids[0]}，"
                            "最晚 2026-09-25）；请核对离开日期，或先更正、作废这些记录（record correct / record void）")
    else:
        raise AssertionError("left before a talk that names them")
    membership.leave_member(town, "ZZ1", "党员第一党支部3", date(2026, 9, 26), "转出", None)
    try:
        importing.log_record(town, rules, {"org": BRANCH, "kind": "谈心谈话", "date": "2026-10-05", "member": "党员第一党支部2",
                                           "counterpart": "党员第一党支部3", "topic": "谈心"})
    except InputError as exc:
        assert "「党员第一党支部3」已于 2026-09-26 离开" in str(exc) and "--counterpart" in str(exc)
    else:
        raise AssertionError("a talk with a member who had left")
    dues = "姓名,党组织,月份,金额,交纳日期\n" + "党员第一党支部3,ZZ1,2026-09,10,2026-09-20\n党员第一党支部3,ZZ1,2026-10,10,2026-10-08"
    try:
        membership.import_dues(town, write_csv(tmp_path / "d.csv", dues))
    except InputError as exc:
        assert "d.csv 第3行「月份」列：值「2026-10」：「党员第一党支部3」已于 2026-09-26 离开" in str(exc)
    else:
        raise AssertionError("dues for a month after they left")
    assert membership.import_dues(town, write_csv(tmp_path / "d2.csv", dues.rsplit("\n", 1)[0])) == 1     # the month they left


def test_a_member_owes_the_months_whose_first_day_they_were_on_the_roster(town: Store, rules, tmp_path: Path, runner):
    """Leaving on the 1st of a month left that month owed and payable, though the README said the month left in is owed (try-out)."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    dues = "姓名,党组织,月份,金额,交纳日期\n" + "\n".join(f"党员第一党支部{i},ZZ1,2026-{m:02d},10,2026-{m:02d}-05"
                                                    for i in (1, 2) for m in (7, 8, 9))
    membership.import_dues(town, write_csv(tmp_path / "d.csv", dues))
    try:
        membership.leave_member(town, "ZZ1", "党员第一党支部1", date(2026, 8, 1), "转出", None)
    except InputError as exc:
        assert str(exc) == ("--date：「党员第一党支部1」已交纳 2026-08、2026-09 的党费，按离开日期 2026-08-01，这些月份不在本支部交纳；"
                            "请核对离开日期，或先撤销这些党费（dues void）")
    else:
        raise AssertionError("left before months they paid for")
    membership.leave_member(town, "ZZ1", "党员第一党支部1", date(2026, 10, 1), "转出", None)       # October: owed where they went
    membership.leave_member(town, "ZZ1", "党员第一党支部2", date(2026, 10, 2), "转出", None)       # October: owed here
    months = {(f.member, f.period) for f in _overdue(town, rules, date(2026, 11, 25), BRANCH) if f.obligation == "dues"}
    assert ("党员第一党支部1", "2026-10") not in months and ("党员第一党支部2", "2026-10") in months
    assert ("党员第一党支部2", "2026-11") not in months
    late = "姓名,党组织,月份,金额,交纳日期\n党员第一党支部1,ZZ1,2026-10,10,2026-10-05"
    try:
        membership.import_dues(town, write_csv(tmp_path / "late.csv", late))
    except InputError as exc:
        assert "第2行「月份」列：值「2026-10」：「党员第一党支部1」已于 2026-10-01 离开" in str(exc) and "2026-10 的党费不在本支部交纳" in str(exc)
    else:
        raise AssertionError("dues of a month they no longer owe")
    assert membership.import_dues(town, write_csv(tmp_path / "ok.csv", late.replace("党员第一党支部1", "党员第一党支部2"))) == 1


def test_member_leave_points_out_the_meetings_whose_roster_count_included_the_member(runner, tmp_path: Path):
    """A 党员大会 logged with a list before a late leave kept the 应到 of the roster it was logged with (try-out)."""
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    members = "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH, 10, 1, groups=2, mobile=1)
    assert runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", members))]).exit_code == 0
    logged = runner.invoke(app, db + ["log", "党员大会", "--org", "ZZ1", "--date", "2026-10-20", "--topic", "学习",
                                      "--attendee", "、".join(f"党员第一党支部{i}" for i in range(1, 5))])
    assert logged.exit_code == 0, logged.output
    done = runner.invoke(app, db + ["member", "leave", "党员第一党支部9", "--org", "ZZ1", "--date", "2026-10-01", "--reason", "去世"],
                         terminal_width=300)
    assert done.exit_code == 0, done.output
    assert "提示：2026-10-01 及以后已登记的会议记录 1 填有参会名单和应到人数" in done.stdout and "record correct 编号 --expected" in done.stdout
    quiet = runner.invoke(app, db + ["member", "leave", "党员第一党支部8", "--org", "ZZ1", "--date", "2026-10-21", "--reason", "转出"])
    assert quiet.exit_code == 0 and "提示：" not in quiet.stdout


SECOND = "图河镇党委/朱庄村党总支/第二党支部"


def test_a_member_moved_between_branches_owes_each_month_once_and_each_other_period_where_it_ends(town: Store, rules, tmp_path: Path):
    """A member transferred in owed dues from January, was 提请支部审查 for the months before arriving, and September was owed twice (try-out)."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    as_of = date(2026, 11, 25)
    header = "党组织,类型,日期,参会人员,主题,记录人,书记签字,记录人签字,图片\n"
    second = "、".join(f"党员第二党支部{i}" for i in range(5))
    rows = [f"ZZ2,主题党日,2026-{m:02d}-12,{second},学习,莫军,是,是,a.jpg" for m in range(1, 11)]
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", header + "\n".join(rows)))
    # Both branches record dues (a branch that records none is not judged on them).
    membership.import_dues(town, write_csv(tmp_path / "d0.csv", "姓名,党组织,月份,金额,交纳日期\n"
                                           "党员第一党支部1,ZZ1,2026-01,10,2026-01-05\n党员第二党支部1,ZZ2,2026-01,10,2026-01-05"))
    done = membership.transfer_member(town, "ZZ1", MOBILE, "ZZ2", date(2026, 9, 15), note="介绍信 2026-031")
    assert (done["org"], done["to"], done["member"], done["day"]) == (BRANCH, SECOND, MOBILE, "2026-09-15")
    by_org = {(m.org_id, m.name): m for m in town.members()}
    old, new = (next(m for (o, n), m in by_org.items() if n == MOBILE and town.org_path(o) == path) for path in (BRANCH, SECOND))
    assert (old.left_on, old.left_reason, new.arrived_on, new.mobile, new.status) == (date(2026, 9, 15), "转出", date(2026, 9, 15), True, "正式")
    found = _overdue(town, rules, as_of)
    dues = {(f.org, f.period) for f in found if f.obligation == "dues" and f.member == MOBILE}
    assert {p for o, p in dues if o == BRANCH} == {f"2026-{m:02d}" for m in range(1, 10)}       # September: owed where it began
    assert {p for o, p in dues if o == SECOND} == {"2026-10", "2026-11"}      # November: due, not yet missed
    reports = {(f.org, f.period) for f in found if f.obligation == "mobile_report" and f.member == MOBILE}
    # The half year they moved in began in the old branch and ends in the new: owed in neither (its
    # reports may be on either side); the next is the new branch's.
    assert reports == {(BRANCH, "2026-H1")}
    # Not listed at the meetings before they came, so no months without organizational life there.
    assert not [f for f in found if f.member == MOBILE and f.obligation == "absence_watch"]
    assert MOBILE not in {r.member for r in membership.member_watch(town, SECOND, as_of) if r.level}
    assert MOBILE in {r.member for r in membership.member_watch(town, SECOND, as_of)}      # watched there, from October
    # The new branch's meetings before the day do not expect them; its dues before October are refused.
    early = write_csv(tmp_path / "early.csv", header + f"ZZ2,主题党日,2026-09-10,{second}、{MOBILE},学习,莫军,是,是,a.jpg")
    try:
        importing.import_records(town, rules, early)
    except InputError as exc:
        assert f"「{MOBILE}」于 2026-09-15 才转入「{SECOND}」，不在会议当日的花名册上" in str(exc)
    else:
        raise AssertionError("listed before arriving")
    try:
        membership.import_dues(town, write_csv(tmp_path / "d.csv", f"姓名,党组织,月份,金额,交纳日期\n{MOBILE},ZZ2,2026-09,10,2026-09-20"))
    except InputError as exc:
        assert f"「{MOBILE}」于 2026-09-15 转入「{SECOND}」，2026-09 的党费不在本支部交纳" in str(exc)
    else:
        raise AssertionError("dues of a month owed where they were")
    assert membership.import_dues(town, write_csv(tmp_path / "d2.csv", f"姓名,党组织,月份,金额,交纳日期\n{MOBILE},ZZ2,2026-10,10,2026-10-20")) == 1
    audit = [e for e in town.audit_log() if e.action == "transfer"]
    assert len(audit) == 1 and audit[0].reason == "介绍信 2026-031" and json.loads(audit[0].detail)["member_id"] == new.id
    # Twice, to a branch that has the name, to itself, to a 党总支: refused, nothing written.
    for to, said in (("ZZ2", "已于 2026-09-15 离开"), ("ZZ", "是党总支，党员只能转入党支部")):
        try:
            membership.transfer_member(town, "ZZ1", MOBILE, to, date(2026, 10, 15))
        except InputError as exc:
            assert said in str(exc), str(exc)
        else:
            raise AssertionError(to)
    for name, to, said in (("党员第一党支部1", "ZZ1", "就是党员现在的党组织"),):
        try:
            membership.transfer_member(town, "ZZ1", name, to, date(2026, 10, 15))
        except InputError as exc:
            assert said in str(exc)
        else:
            raise AssertionError(name)
    importing.import_members(town, write_csv(tmp_path / "m.csv", f"姓名,党组织\n党员第一党支部2,{SECOND}"))
    try:
        membership.transfer_member(town, "ZZ1", "党员第一党支部2", "ZZ2", date(2026, 10, 15))
    except InputError as exc:
        assert f"「{SECOND}」的花名册上已有「党员第一党支部2」" in str(exc)
    else:
        raise AssertionError("a name the target has")
    assert len([e for e in town.audit_log() if e.action == "transfer"]) == 1


def test_a_member_file_dates_an_arrival(town: Store, rules, tmp_path: Path, runner):
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    body = f"姓名,党组织,类别,入党日期,转入日期\n吴十,{SECOND},正式,2001-07-01,2026-07-01\n"
    assert importing.import_members(town, write_csv(tmp_path / "m.csv", body)).added == 1
    membership.import_dues(town, write_csv(tmp_path / "d0.csv", "姓名,党组织,月份,金额,交纳日期\n党员第二党支部1,ZZ2,2026-01,10,2026-01-05"))
    dues = sorted(f.period for f in _overdue(town, rules, date(2026, 11, 25), SECOND) if f.obligation == "dues" and f.member == "吴十")
    assert dues == [f"2026-{m:02d}" for m in range(7, 12)]       # from July, the first of which they arrived on
    for row, said in ((f"吴十一,{SECOND},正式,2001-07-01,2000-07-01", "第2行「转入日期」列：值「2000-07-01」：转入日期早于入党日期 2001-07-01"),
                      (f"吴十一,{SECOND},正式,,2099-07-01", "第2行「转入日期」列：值「2099-07-01」：日期晚于今天")):
        try:
            importing.import_members(town, write_csv(tmp_path / "bad.csv", "姓名,党组织,类别,入党日期,转入日期\n" + row))
        except InputError as exc:
            assert said in str(exc), str(exc)
        else:
            raise AssertionError(row)
    try:
        membership.leave_member(town, SECOND, "吴十", date(2026, 7, 1), "转出", None)
    except InputError as exc:
        assert str(exc) == f"--date：2026-07-01 不晚于「吴十」转入「{SECOND}」的日期 2026-07-01"
    else:
        raise AssertionError("left the day they arrived")
    done = runner.invoke(app, ["--help"])
    assert done.exit_code == 0


def test_member_list_shows_the_roster_of_a_day(runner, tmp_path: Path, monkeypatch):
    """No command listed a roster: a clerk could not see who was on it, nor who had left and when (try-out)."""
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    members = "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH, 3, 1, mobile=1)
    assert runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", members))]).exit_code == 0
    moved = runner.invoke(app, db + ["member", "transfer", "党员第一党支部1", "--org", "ZZ1", "--to", "ZZ2", "--date", "2026-09-15"])
    assert moved.exit_code == 0 and f"已转接：党员第一党支部1 2026-09-15 从「{BRANCH}」转入「{SECOND}」" in moved.stdout

    def listed(*args: str) -> list[tuple]:
        rows = json.loads(runner.invoke(app, db + ["member", "list", "--format", "json", *args]).stdout)
        return [(r["org"].rsplit("/", 1)[-1], r["member"], r["arrived"], r["left"], r["left_reason"], r["on_roster"]) for r in rows]

    assert listed("--under", "ZZ") == [("第一党支部", "党员第一党支部0", None, None, None, True),
                                       ("第一党支部", "党员第一党支部2", None, None, None, True),
                                       ("第一党支部", "党员第一党支部3", None, None, None, True),
                                       ("第二党支部", "党员第一党支部1", "2026-09-15", None, None, True)]
    assert ("第一党支部", "党员第一党支部1", None, "2026-09-15", "转出", True) in listed("--under", "ZZ", "--as-of", "2026-09-14")
    everyone = listed("--under", "ZZ1", "--all")
    assert ("第一党支部", "党员第一党支部1", None, "2026-09-15", "转出", False) in everyone and len(everyone) == 4
    monkeypatch.setenv("COLUMNS", "200")
    table = runner.invoke(app, db + ["member", "list", "--under", "ZZ1", "--all"], terminal_width=200).stdout
    assert "2026-09-15 转出" in table and "共 3 人在册，另有 1 人已离开或尚未转入" in table


def test_the_full_members_of_a_day_count_each_member_once(rules):
    """A member leaving after the view's day was counted twice once another had arrived (review): 6 full members judged as 7."""
    from compliance.orgs import MemberRow, OrgIndex, OrgRow, org_facts

    org = OrgRow(1, None, "甲支部", None, "镇党委/甲支部", "党支部", None, None, None, None, None, None, False, None)
    members = [MemberRow(i, 1, f"党员{i}", None, "正式", False, None) for i in range(4)]
    members += [MemberRow(8, 1, "乙离", None, "正式", False, None, left_on=date(2026, 10, 1), left_reason="转出"),
                MemberRow(9, 1, "丙来", None, "正式", False, None, arrived_on=date(2026, 3, 1))]
    index = OrgIndex([org])
    june = org_facts(index, org, members, as_of=date(2026, 6, 30))
    assert (june.full_members, june.full_on(date(2026, 2, 1)), june.full_on(date(2026, 6, 1))) == (6, 5, 6)
    assert not june.has_committee and [m.name for m in june.members if m.name in ("乙离", "丙来")] == ["丙来", "乙离"]
    november = org_facts(index, org, members, as_of=date(2026, 11, 30))
    assert (november.full_members, november.full_on(date(2026, 9, 30)), november.full_on(date(2026, 10, 1))) == (5, 6, 5)
    # A view of a day before someone arrives does not have them.
    february = org_facts(index, org, members, as_of=date(2026, 2, 1))
    assert "丙来" not in [m.name for m in february.members] and february.full_members == 5


def test_a_transfer_is_in_both_logs_keeps_exemptions_and_is_undone_on_both_rosters(town: Store, rules, tmp_path: Path, runner):
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    mover = next(m for m in town.members() if m.name == "党员第一党支部4")
    town.add_exemption(mover.id, mover.org_id, date(2026, 8, 1), date(2027, 2, 28), "因病经批准")
    try:
        membership.transfer_member(town, "ZZ1", "党员第一党支部4", "ZZ2", date(2026, 9, 15), group="第九党小组")
    except InputError as exc:
        assert str(exc) == f"--group：「{SECOND}」的花名册上没有党小组「第九党小组」；新设党小组请用 member import"
    else:
        raise AssertionError("a group the branch does not have")
    done = membership.transfer_member(town, "ZZ1", "党员第一党支部4", "ZZ2", date(2026, 9, 15), group="第一党小组")
    new = next(m for m in town.members() if m.name == "党员第一党支部4" and m.org_id != mover.org_id)
    assert new.group_name == "第一党小组"
    # The exemption in force is pointed out, not copied: two copies would drift apart (the try-out).
    assert [(r["start"], r["end"]) for r in done["exemptions"]] == [(date(2026, 8, 1), date(2027, 2, 28))]
    assert town.exemption_rows([new.id]) == []
    from compliance.report.admin import audit_rows, audit_touches
    rows = audit_rows(town.audit_log(None, None), town.org_paths)
    assert [r["action"] for r in rows if audit_touches(r, SECOND)][-1] == "transfer"
    # Undone by mistake: back on the old roster, and off the new one from the day they came.
    done = membership.unleave_member(town, "ZZ1", "党员第一党支部4", "转错支部")
    assert done["transfer"] == SECOND
    day = date(2026, 11, 25)
    on = {(town.org_path(m.org_id), m.name) for m in town.members() if m.name == "党员第一党支部4" and m.on_roster(day)}
    assert on == {(BRANCH, "党员第一党支部4")}
    assert not [f for f in _overdue(town, rules, day, SECOND) if f.member == "党员第一党支部4"]
    # The row the undone transfer left is never on the roster: not put back on it, but taken again by a transfer.
    try:
        membership.unleave_member(town, "ZZ2", "党员第一党支部4", "清理")
    except InputError as exc:
        assert "这条记录是撤销转接留下的，从未在其花名册上" in str(exc)
    else:
        raise AssertionError("a member on two rosters")
    membership.transfer_member(town, "ZZ1", "党员第一党支部4", "ZZ2", date(2026, 10, 8))
    rows = {(town.org_path(m.org_id), m.arrived_on, m.left_on) for m in town.members() if m.name == "党员第一党支部4"}
    assert rows == {(BRANCH, None, date(2026, 10, 8)), (SECOND, date(2026, 10, 8), None)}
    back = membership.unleave_member(town, "ZZ1", "党员第一党支部4", "又转错")
    assert back["transfer"] == SECOND
    # A transfer whose new branch has since recorded the member is not undone.
    membership.transfer_member(town, "ZZ1", "党员第一党支部5", "ZZ2", date(2026, 9, 15))
    importing.log_record(town, rules, {"org": SECOND, "kind": "主题党日", "date": "2026-10-10", "topic": "学习", "photos": "a.jpg",
                                       "attendees": "党员第一党支部5"})
    try:
        membership.unleave_member(town, "ZZ1", "党员第一党支部5", "转错支部")
    except InputError as exc:
        assert f"「党员第一党支部5」2026-09-15 转入「{SECOND}」后已有记录" in str(exc) and "未撤销转接" in str(exc)
    else:
        raise AssertionError("undone after records there")


def test_a_member_file_does_not_move_an_arrival(town: Store, rules, tmp_path: Path):
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    importing.import_members(town, write_csv(tmp_path / "m.csv", f"姓名,党组织,转入日期\n吴十,{SECOND},2026-07-01"))
    importing.log_record(town, rules, {"org": SECOND, "kind": "主题党日", "date": "2026-05-10", "topic": "学习", "photos": "a.jpg",
                                       "attendees": "党员第二党支部1"})
    for row, said in ((f"吴十,{SECOND},2026-08-01", "「吴十」已登记于 2026-07-01 转入，转入日期登记后不能用名册文件更改"),
                      (f"党员第二党支部1,{SECOND},2026-06-01", "「党员第二党支部1」在 2026-06-01 之前的记录中已被列为参会")):
        try:
            importing.import_members(town, write_csv(tmp_path / "bad.csv", "姓名,党组织,转入日期\n" + row))
        except InputError as exc:
            assert said in str(exc), str(exc)
        else:
            raise AssertionError(row)
    assert importing.import_members(town, write_csv(tmp_path / "same.csv", f"姓名,党组织,转入日期\n吴十,{SECOND},2026-07-01")).unchanged == 1



def test_a_transfer_refuses_a_branch_that_cannot_take_the_member_and_says_what_to_check(town: Store, rules, runner, tmp_path: Path):
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    importing.log_record(town, rules, {"org": SECOND, "kind": "党员大会", "date": "2026-10-20", "topic": "学习",
                                       "attendees": "党员第二党支部0、党员第二党支部1、党员第二党支部2"})
    done = membership.transfer_member(town, "ZZ1", "党员第一党支部3", "ZZ2", date(2026, 10, 1))
    assert done["counted_there"] and not done["counted"]      # the new branch's 应到 of the 20th left them out
    for to, day, said in (("MT", date(2026, 5, 1), "「图河镇党委/马屯村党支部」2026-05-12 才成立，早于转接日期 2026-05-01"),
                          ("不存在的支部", date(2026, 10, 1), "--to："),
                          ("ZZ1", date(2026, 11, 1), "--to：「图河镇党委/朱庄村党总支/第一党支部」的花名册上有 2026-10-01 离开（转出）的同名党员")):
        source = "ZZ2" if to == "ZZ1" else "ZZ1"
        name = "党员第一党支部3" if to == "ZZ1" else "党员第一党支部2"
        try:
            membership.transfer_member(town, source, name, to, day)
        except (InputError, NotFound) as exc:
            assert said in str(exc), str(exc)
        else:
            raise AssertionError(to)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,撤销日期\n旧村党支部,图河镇党委,党支部,2026-06-30"))
    try:
        membership.transfer_member(town, "ZZ1", "党员第一党支部2", "旧村党支部", date(2026, 8, 1))
    except InputError as exc:
        assert str(exc) == "--to：「图河镇党委/旧村党支部」已于 2026-06-30 撤销"
    else:
        raise AssertionError("a dissolved branch")
    shown = runner.invoke(app, ["member", "transfer", "--help"], terminal_width=200).stdout
    assert re.search(r"--to\s+党组织", shown)


def test_members_hours_owes_no_year_a_member_moved_in(town: Store, rules):
    """`members hours` listed a member transferred in November as 32 hours short; status owes the year in neither branch (try-out)."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    importing.log_record(town, rules, {"org": SECOND, "kind": "党课", "date": "2026-03-05", "topic": "党章", "hours": "2",
                                       "lecturer": "莫军", "attendees": "党员第二党支部0"})
    membership.transfer_member(town, "ZZ1", "党员第一党支部3", "ZZ2", date(2026, 11, 2))
    rows = {r["member"]: r for r in membership.hours_list(town, SECOND, 2026)}
    assert rows["党员第一党支部3"]["exempt"] and rows["党员第一党支部3"]["missing"] == 0.0
    assert not rows["党员第二党支部1"]["exempt"]
    assert not [f for f in _overdue(town, rules, date(2026, 11, 25), SECOND)
                if f.member == "党员第一党支部3" and f.obligation == "training_hours"]


def test_a_secretary_who_leaves_is_pointed_out(runner, tmp_path: Path, monkeypatch):
    """The branch's 书记 left and stayed its secretary: the ledger's 责任人 and the lecture check went on naming them (try-out)."""
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    members = f"姓名,党组织,类别\n陶英,{BRANCH},正式\n党员甲,{BRANCH},正式"
    assert runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", members))]).exit_code == 0
    monkeypatch.setenv("COLUMNS", "300")
    plain = runner.invoke(app, db + ["member", "leave", "党员甲", "--org", "ZZ1", "--date", "2026-11-02", "--reason", "转出"],
                          terminal_width=300)
    assert plain.exit_code == 0 and "书记" not in plain.stdout
    done = runner.invoke(app, db + ["member", "transfer", "陶英", "--org", "ZZ1", "--to", "ZZ2", "--date", "2026-11-02"],
                         terminal_width=300)
    assert done.exit_code == 0, done.output
    assert f"提示：「陶英」是「{BRANCH}」的书记；请用 org import 更新其「书记」列" in done.stdout


def test_a_party_group_of_members_who_all_arrived_owes_from_the_first_arrival(town: Store, rules, tmp_path: Path):
    """A group formed by two members transferred in on October 15 owes its 党小组会 from November, not from January."""
    town.clock = lambda: datetime(2026, 11, 25, 10, tzinfo=TZ)
    body = (f"姓名,党组织,党小组,类别,入党日期,转入日期\n吴十,{SECOND},第三党小组,正式,2001-07-01,2026-10-15\n"
            f"吴十一,{SECOND},第三党小组,正式,2003-07-01,2026-10-20\n")
    assert importing.import_members(town, write_csv(tmp_path / "m.csv", body)).added == 2

    def group_periods(as_of: date, group: str) -> list[str]:
        return sorted(f.period for f in _overdue(town, rules, as_of, SECOND) if f.obligation == "group_meeting" and f.group == group)

    assert group_periods(date(2026, 11, 25), "第三党小组") == ["2026-11"]
    assert group_periods(date(2026, 11, 25), "第一党小组") == [f"2026-{m:02d}" for m in range(1, 12)]   # there all along
    # A view of a day before they came knows no such group.
    assert group_periods(date(2026, 10, 10), "第三党小组") == []
    # When both have left again, it owes what began while one of them was there.
    membership.leave_member(town, SECOND, "吴十", date(2026, 11, 20), "转出", None)
    assert group_periods(date(2026, 11, 25), "第三党小组") == ["2026-11"]
    membership.leave_member(town, SECOND, "吴十一", date(2026, 11, 1), "转出", None)
    assert group_periods(date(2026, 11, 25), "第三党小组") == ["2026-11"]


def test_a_roster_read_again_after_a_departure_says_who_stays_off_it(runner, tmp_path: Path):
    """The month's roster file of before a transfer, imported again, said 未变 for the member gone: nothing said they stay gone."""
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    roster = write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH, 10, 1, groups=2, mobile=1))
    assert runner.invoke(app, db + ["member", "import", str(roster)]).exit_code == 0
    moved = runner.invoke(app, db + ["member", "transfer", MOBILE, "--org", "ZZ1", "--to", "ZZ2", "--date", "2026-06-18"])
    assert moved.exit_code == 0, moved.output
    again = runner.invoke(app, db + ["member", "import", str(roster)])
    assert again.exit_code == 0, again.output
    said = "".join(again.stdout.split())
    assert "党员：新增0条，更新0条，未变11条。" in said
    assert f"提示：文件中的「{BRANCH}」{MOBILE}（2026-06-18转出）已离开花名册，仍按已离开处理" in said, said
    listed = json.loads(runner.invoke(app, db + ["member", "list", "--under", "ZZ1", "--format", "json"]).stdout)
    assert MOBILE not in [m["member"] for m in listed] and len(listed) == 10
    # A file that gives the day they left says nothing more.
    with_day = write_csv(tmp_path / "m2.csv", f"姓名,党组织,离开日期,离开原因\n{MOBILE},{BRANCH},2026-06-18,转出")
    quiet = runner.invoke(app, db + ["member", "import", str(with_day)])
    assert quiet.exit_code == 0 and "提示" not in quiet.stdout, quiet.output


def test_a_liaison_who_is_not_on_the_branchs_roster_is_pointed_out(runner, tmp_path: Path):
    """A mobile member's 联系人 「不存在的人」 was taken without a word, and listed by mobile list (try-out)."""
    db = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, db + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, db + ["org", "import", str(write_csv(tmp_path / "orgs.csv", TOWN_ORGS))]).exit_code == 0
    rows = ("姓名,党组织,类别,流动党员,联系人\n"
            f"陶英,{BRANCH},正式,否,\n"
            f"钱七,{BRANCH},预备,是,不存在的人\n"
            f"孙八,{BRANCH},正式,是,陶英\n"          # on the file's roster
            f"周九,{BRANCH},正式,是,党员第二党支部0\n"  # another branch's member
            f"吴十,{BRANCH},正式,是,江春\n")          # the 党总支's 书记 in the tree, not on a roster: no hint (review)
    result = runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "m.csv", rows))], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    said = result.stdout.splitlines()
    assert said[0] == "党员：新增 5 条，更新 0 条，未变 0 条。"
    assert said[1:] == [f"提示：m.csv 第3行「联系人」列：「不存在的人」不在「{BRANCH}」的花名册上；挂钩联系人一般是本支部的支委，请核对",
                        f"提示：m.csv 第5行「联系人」列：「党员第二党支部0」不在「{BRANCH}」的花名册上；挂钩联系人一般是本支部的支委，请核对"]
    # On the stored roster since: read again, nothing to say about 孙八's.
    again = runner.invoke(app, db + ["member", "import", str(write_csv(tmp_path / "n.csv", f"姓名,党组织,联系人\n孙八,{BRANCH},陶英\n"))])
    assert "提示" not in again.stdout, again.output
