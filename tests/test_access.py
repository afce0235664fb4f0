"""Users, roles and scopes through the command line: refusals are clear and in the audit log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compliance.cli import app
from tests.conftest import TOWN_ORGS, roster_csv, whole_tree_reads, write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
OTHER = "图河镇党委/马屯村党支部"


@pytest.fixture
def db(runner, tmp_path: Path) -> list[str]:
    args = ["--db", str(tmp_path / "t.db")]
    assert runner.invoke(app, args + ["init", "--catalog", "tuhe-2021"]).exit_code == 0
    assert runner.invoke(app, args + ["org", "import", str(write_csv(tmp_path / "o.csv", TOWN_ORGS))]).exit_code == 0
    members = "姓名,党组织,党小组,类别,流动党员\n" + roster_csv(BRANCH, 9) + "\n" + roster_csv(OTHER, 8)
    assert runner.invoke(app, args + ["member", "import", str(write_csv(tmp_path / "m.csv", members))]).exit_code == 0
    return args


@pytest.fixture
def users(runner, db) -> list[str]:
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    result = runner.invoke(app, db + ["--user", "县管理员", "user", "add", "镇党建办", "--role", "乡镇", "--org", "图河镇党委"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, db + ["--user", "镇党建办", "user", "add", "陶英", "--role", "支部书记", "--org", "ZZ1"])
    assert result.exit_code == 0, result.output
    return db


def _log(runner, args, org="ZZ1"):
    return runner.invoke(app, args + ["log", "主题党日", "--org", org, "--date", "2026-11-05", "--topic", "t", "--photos", "p"])


def _audit_actions(runner, args):
    rows = json.loads(runner.invoke(app, args + ["--user", "县管理员", "audit", "log", "--format", "json"]).stdout)
    return [(r["actor"], r["action"], r["entity"]) for r in rows]


def test_a_township_user_is_not_scoped_to_a_branch(runner, users):
    """A 乡镇 user on one branch would supervise, score and close the items (销号) of that branch itself."""
    result = runner.invoke(app, users + ["--user", "县管理员", "user", "add", "王六", "--role", "乡镇", "--org", "ZZ1"])
    assert result.exit_code == 2
    assert "--org：乡镇用户须对应乡镇党委（或街道党工委等上级党组织），「图河镇党委/朱庄村党总支/第一党支部」是党支部" in result.stderr
    listed = runner.invoke(app, users + ["user", "list", "--format", "csv"])
    assert "王六" not in listed.stdout
    # Nor to a 党总支, below the township as its branches are; and a 县 user takes no --org, which was dropped without a word.
    general = runner.invoke(app, users + ["--user", "县管理员", "user", "add", "王七", "--role", "乡镇", "--org", "朱庄村党总支"])
    assert general.exit_code == 2 and "「图河镇党委/朱庄村党总支」是党总支" in general.stderr, general.output
    county = runner.invoke(app, users + ["--user", "县管理员", "user", "add", "王八", "--role", "县", "--org", "ZZ1"])
    assert county.exit_code == 2 and "--org：县用户管理全部党组织，不指定 --org（值「ZZ1」）" in county.stderr, county.output
    listed = runner.invoke(app, users + ["user", "list", "--format", "csv"])
    assert "王七" not in listed.stdout and "王八" not in listed.stdout


def test_a_file_without_users_is_a_local_administrator(runner, db):
    assert _log(runner, db).exit_code == 0
    rows = json.loads(runner.invoke(app, db + ["audit", "log", "--format", "json"]).stdout)
    assert rows[-1]["actor"] == "本地管理员" and rows[-1]["action"] == "log"


def test_once_users_exist_a_write_needs_one(runner, users):
    result = _log(runner, users)
    assert result.exit_code == 5 and "须用 --user" in result.stderr
    assert ("（未指明）", "denied", "session") in _audit_actions(runner, users)


def test_a_branch_secretary_logs_for_their_branch_only(runner, users):
    assert _log(runner, users + ["--user", "陶英"]).exit_code == 0
    result = _log(runner, users + ["--user", "陶英"], org="MT")
    assert result.exit_code == 5 and f"无权修改「{OTHER}」" in result.stderr and result.stderr.count("\n") == 1
    assert "）无权修改" in result.stderr       # no space between who and what, as Chinese is written
    assert ("陶英", "denied", "log") in _audit_actions(runner, users)


def test_a_branch_secretary_reads_only_their_branch(runner, users):
    assert runner.invoke(app, users + ["--user", "陶英", "status", "--org", "ZZ1"]).exit_code == 0
    result = runner.invoke(app, users + ["--user", "陶英", "status", "--org", "MT"])
    assert result.exit_code == 5 and "无权查看" in result.stderr
    rows = json.loads(runner.invoke(app, users + ["--user", "陶英", "overdue", "--as-of", "2026-11-20", "--format", "json"]).stdout)
    assert rows and {r["org"] for r in rows} == {BRANCH}


def test_a_branch_secretary_may_leave_out_their_own_branch(runner, users, tmp_path: Path):
    """A secretary whose user names one branch had to type it in every command: status --org 我的支部."""
    me = users + ["--user", "陶英"]
    logged = runner.invoke(app, me + ["log", "主题党日", "--date", "2026-11-05", "--topic", "t", "--photos", "p"])
    assert logged.exit_code == 0, logged.output
    listed = json.loads(runner.invoke(app, me + ["record", "list", "--format", "json"]).stdout)
    assert [(r["org"], r["kind"]) for r in listed] == [(BRANCH, "theme_day")]
    status = runner.invoke(app, me + ["status", "--as-of", "2026-11-20", "--format", "json"])
    assert status.exit_code == 0, status.output
    rows = json.loads(status.stdout)
    assert {r["org"] for r in rows} == {BRANCH}
    assert any(r["obligation"] == "theme_day" and r["period"] == "2026-11" and r["status"] == "met" for r in rows)
    paid = runner.invoke(app, me + ["dues", "log", "--member", "党员第一党支部0", "--month", "2026-11", "--amount", "10"])
    assert paid.exit_code == 0, paid.output
    dues = json.loads(runner.invoke(app, me + ["dues", "list", "--format", "json"]).stdout)
    assert [(d["org"], d["member"], d["month"]) for d in dues] == [(BRANCH, "党员第一党支部0", "2026-11")]
    paid = ["--member", "党员第一党支部0", "--month", "2026-11"]
    corrected = runner.invoke(app, me + ["dues", "correct", *paid, "--amount", "12", "--reason", "金额录错"])
    assert corrected.exit_code == 0 and "改为 12 元" in corrected.stdout, corrected.output
    voided = runner.invoke(app, me + ["dues", "void", *paid, "--reason", "登记错人"])
    assert voided.exit_code == 0 and voided.stdout.startswith("已撤销：党员第一党支部0 2026-11"), voided.output
    ics = tmp_path / "me.ics"
    assert runner.invoke(app, me + ["calendar", "--out", str(ics)]).exit_code == 0
    assert "第一党支部" in ics.read_text(encoding="utf-8")
    # A township or county user, or a file without users, still names the organization.
    for who in (["--user", "镇党建办"], ["--user", "县管理员"]):
        for args in (["status"], ["record", "list"], ["dues", "list"], ["log", "主题党日", "--date", "2026-11-05"]):
            refused = runner.invoke(app, users + who + args)
            assert refused.exit_code == 2 and refused.stderr.startswith("错误：缺少必需的选项：--org"), (who, args, refused.output)
            assert refused.stderr.count("\n") == 1


def test_a_branch_secretary_cannot_import_another_branchs_records(runner, users, tmp_path: Path):
    second = "图河镇党委/朱庄村党总支/第二党支部"     # registered before 马屯村党支部, and named later in the file
    path = write_csv(tmp_path / "r.csv", f"党组织,类型,日期\n{BRANCH},主题党日,2026-10-05\n{OTHER},主题党日,2026-10-05\n"
                                         f"{second},主题党日,2026-10-05")
    result = runner.invoke(app, users + ["--user", "陶英", "record", "import", str(path)])
    assert result.exit_code == 5 and OTHER in result.stderr
    # Named as any bad row is: the file, its first such row and column (it named neither), and that row's organization.
    assert result.stderr.startswith("错误：r.csv 第3行「党组织」列：陶英（支部书记") and result.stderr.rstrip().endswith("（未导入任何数据）")
    assert f"无权修改「{OTHER}」" in result.stderr
    listed = json.loads(runner.invoke(app, users + ["--user", "陶英", "record", "list", "--org", "ZZ1", "--format", "json"]).stdout)
    assert listed == []


def test_a_refused_row_of_a_workbook_names_its_sheet(runner, users, tmp_path: Path):
    """A workbook with an instructions sheet first: the refusal named the file and row, not the sheet they are on."""
    from openpyxl import Workbook

    from compliance.store import Store, resolve_url

    store = Store(resolve_url(users[1]))
    paths = {o.id: o.path for o in store.orgs()}
    first = {paths[m.org_id]: m.name for m in reversed(store.members())}
    for command, rows in (("record", [["党组织", "类型", "日期"], [BRANCH, "主题党日", "2026-10-05"], [OTHER, "主题党日", "2026-10-05"]]),
                          ("dues", [["姓名", "党组织", "月份", "金额", "交纳日期"], [first[BRANCH], BRANCH, "2026-10", 12.5, "2026-10-08"],
                                    [first[OTHER], OTHER, "2026-10", 12.5, "2026-10-08"]])):
        book = Workbook()
        book.active.title = "填表说明"
        book.active.append(["每行一条"])
        sheet = book.create_sheet("十月")
        for row in rows:
            sheet.append(row)
        book.save(tmp_path / f"{command}.xlsx")
        result = runner.invoke(app, users + ["--user", "陶英", command, "import", str(tmp_path / f"{command}.xlsx")])
        assert result.exit_code == 5 and result.stderr.startswith(f"错误：{command}.xlsx「十月」表 第3行「党组织」列：陶英（支部书记"), result.stderr


def test_correct_and_void_follow_the_same_scope(runner, users):
    _log(runner, users + ["--user", "镇党建办"], org="MT")
    result = runner.invoke(app, users + ["--user", "陶英", "record", "void", "1", "--reason", "x"])
    assert result.exit_code == 5
    result = runner.invoke(app, users + ["--user", "镇党建办", "record", "correct", "1", "--date", "2026-11-06", "--reason", "日期录错"])
    assert result.exit_code == 0, result.output
    shown = json.loads(runner.invoke(app, users + ["--user", "县管理员", "record", "show", "1", "--history", "--format", "json"]).stdout)
    assert [r["date"] for r in shown] == ["2026-11-05", "2026-11-06"]
    # A record of another branch that lists its members: refused for its branch, not checked first (the errors named its members).
    listed = runner.invoke(app, users + ["--user", "镇党建办", "log", "主题党日", "--org", "MT", "--date", "2026-11-12", "--topic", "t",
                                         "--photos", "p", "--attendee", "党员屯村党支部0"])
    number = listed.stdout.split("记录编号 ", 1)[1].split()[0]
    result = runner.invoke(app, users + ["--user", "陶英", "record", "correct", number, "--org", "ZZ1", "--reason", "x"])
    assert result.exit_code == 5 and "党员屯村党支部0" not in result.output, result.output


def test_only_supervisors_supervise_deduct_and_close(runner, users):
    result = runner.invoke(app, users + ["--user", "陶英", "supervise", "--under", "ZZ1", "--month", "2026-11", "--as-of", "2026-11-20"])
    assert result.exit_code == 5 and "限乡镇、县" in result.stderr
    result = runner.invoke(app, users + ["--user", "镇党建办", "supervise", "--under", "图河镇党委", "--month", "2026-11", "--as-of", "2026-11-20"])
    assert result.exit_code == 0, result.output
    # Closing an item and undoing a closing are the team's too; the secretary's attempt is refused and logged.
    items = json.loads(runner.invoke(app, users + ["--user", "镇党建办", "rectify", "list", "--format", "json"]).stdout)
    mine = next(i["id"] for i in items if i["org"] == BRANCH)
    for args in (["rectify", "close", str(mine), "--note", "已整改"], ["rectify", "reopen", str(mine), "--reason", "误销号"]):
        refused = runner.invoke(app, users + ["--user", "陶英"] + args)
        assert refused.exit_code == 5 and "限乡镇、县" in refused.stderr, refused.output
        assert runner.invoke(app, users + ["--user", "镇党建办"] + args).exit_code == 0
    assert ("陶英", "denied", "rectify_reopen") in _audit_actions(runner, users)


def test_only_the_assessors_withdraw_their_deductions(runner, users):
    args = ["deduct", "--org", "ZZ1", "--sheet", "village-2020", "--period", "2026-Q3", "--item", "四.5", "--points", "1", "--reason", "r"]
    assert runner.invoke(app, users + ["--user", "镇党建办", *args]).exit_code == 0
    [entered] = json.loads(runner.invoke(app, users + ["--user", "镇党建办", "deduction", "list", "--format", "json"]).stdout)
    refused = runner.invoke(app, users + ["--user", "陶英", "deduction", "void", str(entered["id"]), "--reason", "不服"])
    assert refused.exit_code == 5 and "限乡镇、县" in refused.stderr
    withdrawn = runner.invoke(app, users + ["--user", "镇党建办", "deduction", "void", str(entered["id"]), "--reason", "录错"])
    assert withdrawn.exit_code == 0, withdrawn.output


def test_who_may_add_whom(runner, users):
    result = runner.invoke(app, users + ["--user", "陶英", "user", "add", "新人", "--role", "支部书记", "--org", "ZZ1"])
    assert result.exit_code == 5
    result = runner.invoke(app, users + ["--user", "镇党建办", "user", "add", "市里", "--role", "县"])
    assert result.exit_code == 5
    result = runner.invoke(app, users + ["--user", "县管理员", "user", "add", "x", "--role", "书记"])
    assert result.exit_code == 2 and "--role" in result.stderr
    # Refused, as a missing --user is, and logged under the name given (it exited 3, and left no trace).
    result = runner.invoke(app, users + ["--user", "不存在", "status", "--org", "ZZ1"])
    assert result.exit_code == 5 and "用户「不存在」不存在" in result.stderr
    assert _audit_actions(runner, users)[-1] == ("不存在", "denied", "session")
    rows = json.loads(runner.invoke(app, users + ["--user", "县管理员", "user", "list", "--format", "json"]).stdout)
    assert [(r["name"], r["role"]) for r in rows] == [("县管理员", "县"), ("镇党建办", "乡镇"), ("陶英", "支部书记")]


def test_a_user_who_left_is_disabled_and_acts_no_more_and_is_kept(runner, users):
    """Users could only be added: a township clerk who left could go on acting under her name (county try-out)."""
    county = users + ["--user", "县管理员"]
    refused = runner.invoke(app, users + ["--user", "镇党建办", "user", "disable", "陶英", "--reason", "调离"])
    assert refused.exit_code == 5 and "限县用户" in refused.stderr, refused.output
    done = runner.invoke(app, county + ["user", "disable", "镇党建办", "--reason", "调离"])
    assert done.exit_code == 0 and "已停用用户：镇党建办" in done.stdout, done.output
    gone = runner.invoke(app, users + ["--user", "镇党建办", "status", "--org", "ZZ1"])
    assert gone.exit_code == 5 and "用户「镇党建办」已于 2026-12-05 停用，不能再操作" in gone.stderr, gone.output
    assert _log(runner, users + ["--user", "镇党建办"]).exit_code == 5
    rows = json.loads(runner.invoke(app, county + ["user", "list", "--format", "json"]).stdout)
    assert [(r["name"], r["state"]) for r in rows] == [("县管理员", "在用"), ("镇党建办", "2026-12-05 停用"), ("陶英", "在用")]
    again = runner.invoke(app, county + ["user", "disable", "镇党建办", "--reason", "调离"])
    assert again.exit_code == 2 and "已经停用" in again.stderr
    # The name is taken still: her entries in the audit log stay hers.
    taken = runner.invoke(app, county + ["user", "add", "镇党建办", "--role", "乡镇", "--org", "图河镇党委"])
    assert taken.exit_code == 2 and "已存在" in taken.stderr
    last = runner.invoke(app, county + ["user", "disable", "县管理员", "--reason", "x"])
    assert last.exit_code == 2 and "唯一在用的县用户，不能停用" in last.stderr, last.output
    back = runner.invoke(app, county + ["user", "enable", "镇党建办", "--reason", "返岗"])
    assert back.exit_code == 0 and runner.invoke(app, users + ["--user", "镇党建办", "status", "--org", "ZZ1"]).exit_code == 0
    actions = [a for a in _audit_actions(runner, users) if a[1] in ("user_disable", "user_enable")]
    assert actions == [("县管理员", "user_disable", "user"), ("县管理员", "user_enable", "user")]
    missing = runner.invoke(app, county + ["user", "disable", "无此人", "--reason", "x"])
    assert missing.exit_code == 3 and "用户「无此人」不存在" in missing.stderr
    # A branch secretary learns nothing of which names exist (review: 不存在 for one, 拒绝 for another).
    for name in ("无此人", "镇党建办"):
        probe = runner.invoke(app, users + ["--user", "陶英", "user", "disable", name, "--reason", "x"])
        assert probe.exit_code == 5 and "限县用户" in probe.stderr, probe.output


def test_a_restored_backup_from_before_a_user_was_disabled_says_the_user_acts_again(runner, users, tmp_path: Path):
    """A backup made before `user disable` brought the user back in use without a word (review)."""
    county = users + ["--user", "县管理员"]
    assert runner.invoke(app, county + ["backup", str(tmp_path / "b.db")]).exit_code == 0
    assert runner.invoke(app, county + ["user", "disable", "镇党建办", "--reason", "调离"]).exit_code == 0
    restored = runner.invoke(app, county + ["restore", str(tmp_path / "b.db")])
    assert restored.exit_code == 0, restored.output
    said = "".join(restored.stdout.split())
    assert "注意：用户「镇党建办」在备份中没有停用，恢复后又能操作" in said, restored.stdout
    # What the backup does not have is said too: the disabling, and the entries of the backup before (administrator's try-out).
    assert "注意：恢复前的数据库有1条操作（审计日志）晚于这份备份" in said, restored.stdout


def test_a_backup_into_a_folder_is_named_by_its_day_and_time(runner, users, tmp_path: Path):
    """A daily job's folder was told 文件已存在，不覆盖 (administrator's try-out)."""
    county = users + ["--user", "县管理员"]
    folder = tmp_path / "备份"
    folder.mkdir()
    done = runner.invoke(app, county + ["backup", str(folder)])
    assert done.exit_code == 0, done.output
    assert [p.name for p in folder.iterdir()] == ["compliance-20261205-100000.db"]
    again = runner.invoke(app, county + ["backup", str(folder)])
    assert again.exit_code == 2 and "文件已存在，不覆盖" in again.stderr       # the same second: not overwritten
    restored = runner.invoke(app, county + ["restore", str(folder / "compliance-20261205-100000.db")])
    assert restored.exit_code == 0 and "晚于这份备份" not in restored.stdout, restored.output
    # A backup of another database: everything of this one is replaced, not the difference of the two counts (review).
    other = ["--db", str(tmp_path / "other.db")]
    assert runner.invoke(app, other + ["init"]).exit_code == 0
    assert runner.invoke(app, other + ["backup", str(tmp_path / "other-backup.db")]).exit_code == 0
    replaced = runner.invoke(app, county + ["restore", str(tmp_path / "other-backup.db")])
    assert replaced.exit_code == 0, replaced.output
    assert "注意：这份备份不是恢复前的数据库早先的副本（审计日志不同）" in "".join(replaced.stdout.split()), replaced.stdout


def test_user_list_shows_the_users_in_scope_with_their_paths_without_reading_the_whole_tree(runner, users):
    with whole_tree_reads() as whole:
        result = runner.invoke(app, users + ["--user", "镇党建办", "user", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [(r["name"], r["org"]) for r in json.loads(result.stdout)] == [("镇党建办", "图河镇党委"), ("陶英", BRANCH)]
    assert whole == []
    rows = json.loads(runner.invoke(app, users + ["--user", "县管理员", "user", "list", "--format", "json"]).stdout)
    assert [r["org"] for r in rows] == ["（全部）", "图河镇党委", BRANCH]


def test_a_branchs_audit_log_holds_its_entries_with_their_paths_without_reading_the_whole_tree(runner, users):
    assert _log(runner, users + ["--user", "陶英"]).exit_code == 0
    assert _log(runner, users + ["--user", "镇党建办"], org="MT").exit_code == 0
    with whole_tree_reads() as whole:
        result = runner.invoke(app, users + ["--user", "陶英", "audit", "log", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(r["actor"], r["org"]) for r in rows if r["action"] == "log"] == [("陶英", BRANCH)]
    # Imports of the whole roster and tree: the branch's secretary sees their own part of each, not the other branches'.
    [members] = [r for r in rows if (r["action"], r["entity"]) == ("import", "member")]
    assert members["org"] is None and members["detail"]["org_paths"] == [BRANCH] and len(members["detail"]["org_ids"]) == 1
    [orgs] = [r for r in rows if (r["action"], r["entity"]) == ("import", "org")]
    assert orgs["detail"]["added"] == [BRANCH]
    assert whole == []
    everything = json.loads(runner.invoke(app, users + ["--user", "县管理员", "audit", "log", "--format", "json"]).stdout)
    assert [(r["actor"], r["org"]) for r in everything if r["action"] == "log"] == [("陶英", BRANCH), ("镇党建办", OTHER)]
    [members] = [r for r in everything if (r["action"], r["entity"]) == ("import", "member")]
    assert set(members["detail"]["org_paths"]) == {BRANCH, OTHER}
    [orgs] = [r for r in everything if (r["action"], r["entity"]) == ("import", "org")]
    assert BRANCH in orgs["detail"]["added"] and OTHER in orgs["detail"]["added"]


def test_audit_verify_from_the_command_line(runner, users):
    assert runner.invoke(app, users + ["--user", "县管理员", "audit", "verify"]).exit_code == 0


def test_once_users_exist_reads_need_one_too(runner, users):
    result = runner.invoke(app, users + ["record", "list", "--org", "ZZ1"])
    assert result.exit_code == 5 and "须用 --user" in result.stderr


def test_the_first_user_is_a_county_user(runner, db):
    result = runner.invoke(app, db + ["user", "add", "李书记", "--role", "支部书记", "--org", "ZZ1"])
    assert result.exit_code == 2 and "第一个用户须是县用户" in result.stderr


def test_init_backup_and_restore_are_for_county_users(runner, users, tmp_path: Path):
    assert runner.invoke(app, users + ["--user", "镇党建办", "init", "--catalog", "wujin-2016"]).exit_code == 5
    assert runner.invoke(app, users + ["--user", "陶英", "backup", str(tmp_path / "b.db")]).exit_code == 5
    result = runner.invoke(app, users + ["--user", "县管理员", "backup", str(tmp_path / "new" / "dir" / "b.db")])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, users + ["--user", "镇党建办", "restore", str(tmp_path / "new" / "dir" / "b.db")]).exit_code == 5
    assert runner.invoke(app, users + ["--user", "县管理员", "restore", str(tmp_path / "new" / "dir" / "b.db")]).exit_code == 0


def test_restoring_a_backup_made_before_the_users_says_they_are_gone(runner, db, tmp_path: Path):
    """user list then said 还没有用户, and anyone acted as administrator, without a word from restore (try-out)."""
    assert runner.invoke(app, db + ["backup", str(tmp_path / "before-users.db")]).exit_code == 0
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    result = runner.invoke(app, db + ["--user", "县管理员", "restore", str(tmp_path / "before-users.db")])
    assert result.exit_code == 0, result.output
    assert "注意：备份中没有用户，恢复后不再区分用户，任何人都能以管理员身份修改数据" in "".join(result.stdout.split())


def test_restore_into_a_missing_file(runner, db, tmp_path: Path):
    assert runner.invoke(app, db + ["backup", str(tmp_path / "b.db")]).exit_code == 0
    fresh = ["--db", str(tmp_path / "elsewhere" / "new.db")]
    result = runner.invoke(app, fresh + ["restore", str(tmp_path / "b.db")])
    assert result.exit_code == 0, result.output
    assert "哈希链校验通过" in runner.invoke(app, fresh + ["audit", "verify"]).output


def test_a_branch_enters_its_own_self_assessment_only(runner, users):
    base = ["deduct", "--org", "ZZ1", "--sheet", "wujin-2016", "--period", "2026", "--item", "20", "--points", "1", "--reason", "自评"]
    assert runner.invoke(app, users + ["--user", "陶英"] + base + ["--self"]).exit_code == 0
    assert runner.invoke(app, users + ["--user", "陶英"] + base).exit_code == 5


def test_too_long_and_nul_values_are_one_line(runner, db, tmp_path: Path):
    result = runner.invoke(app, db + ["log", "主题党日", "--org", "ZZ1", "--date", "2026-11-05", "--topic", "长" * 600])
    assert result.exit_code == 2 and "超过 500 个字" in result.stderr
    path = tmp_path / "nul.csv"
    path.write_text(f"党组织,类型,日期,主题\n{BRANCH},主题党日,2026-11-05,学\x00习\n", encoding="utf-8")
    result = runner.invoke(app, db + ["record", "import", str(path)])
    assert result.exit_code == 2 and "空字符" in result.stderr and result.stderr.count("\n") == 1


def test_a_branch_secretary_cannot_import_another_branchs_dues(runner, users, tmp_path: Path):
    from compliance.store import Store, resolve_url

    store = Store(resolve_url(users[1]))
    paths = {o.id: o.path for o in store.orgs()}
    first = {paths[m.org_id]: m.name for m in reversed(store.members())}
    body = "姓名,党组织,月份,金额,交纳日期\n" + "\n".join(f"{first[p]},{p},2026-10,12.5,2026-10-08" for p in (BRANCH, OTHER))
    path = write_csv(tmp_path / "d.csv", body)
    result = runner.invoke(app, users + ["--user", "陶英", "dues", "import", str(path)])
    assert result.exit_code == 5 and OTHER in result.stderr
    assert result.stderr.startswith("错误：d.csv 第3行「党组织」列：陶英（支部书记") and f"无权修改「{OTHER}」" in result.stderr
    assert store.dues_paid([m.id for m in store.members()]) == {}
    result = runner.invoke(app, users + ["--user", "镇党建办", "dues", "import", str(path)])
    assert result.exit_code == 0 and "新增 2 条" in result.stdout, result.output
    # A file without the column, its branch given by --org: the refusal names the option, not a column the file lacks (review).
    own = write_csv(tmp_path / "e.csv", f"姓名,月份,金额,交纳日期\n{first[OTHER]},2026-11,12.5,2026-11-08\n")
    result = runner.invoke(app, users + ["--user", "陶英", "dues", "import", str(own), "--org", OTHER])
    assert result.exit_code == 5 and result.stderr.startswith("错误：--org：陶英（支部书记") and "「党组织」列" not in result.stderr, result.stderr


def test_a_dues_file_is_checked_for_permission_on_the_organizations_its_rows_are_written_to(runner, users, tmp_path: Path):
    """The check read the cell as it is; the import squeezed its spaces first, and so named another branch."""
    admin = users + ["--user", "县管理员"]
    result = runner.invoke(app, admin + ["org", "import", str(write_csv(tmp_path / "o.csv", "名称,上级,类型\n甲 支部,图河镇党委,党支部"))])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, admin + ["member", "import", str(write_csv(tmp_path / "m.csv", "姓名,党组织\n张三,图河镇党委/甲 支部"))])
    assert result.exit_code == 0, result.output
    path = write_csv(tmp_path / "d.csv", "姓名,党组织,月份,金额,交纳日期\n张三,图河镇党委/甲  支部,2026-10,12.5,2026-10-08")
    result = runner.invoke(app, users + ["--user", "陶英", "dues", "import", str(path)])
    assert result.exit_code == 5 and "图河镇党委/甲 支部" in result.stderr
    result = runner.invoke(app, users + ["--user", "镇党建办", "dues", "import", str(path)])
    assert result.exit_code == 0 and "新增 1 条" in result.stdout, result.output


def test_scheduler_jobs_show_a_user_the_jobs_over_their_reach_not_another_townships(runner, users, tmp_path: Path):
    """A branch secretary listed the supervision job of another township."""
    other = "名称,上级,类型,领域\n百禄镇党委,,乡镇党委,农村\n新华村党支部,百禄镇党委,党支部,"
    assert runner.invoke(app, users + ["--user", "县管理员", "org", "import", str(write_csv(tmp_path / "o2.csv", other))]).exit_code == 0
    for town in ("图河镇党委", "百禄镇党委"):
        added = runner.invoke(app, users + ["--user", "县管理员", "scheduler", "add-supervision", "--under", town])
        assert added.exit_code == 0, added.output
    assert runner.invoke(app, users + ["--user", "县管理员", "scheduler", "add-reminders"]).exit_code == 0

    def listed(user: str) -> list[str]:
        shown = runner.invoke(app, users + ["--user", user, "scheduler", "jobs", "--format", "json"])
        assert shown.exit_code == 0, shown.output
        return sorted(j["id"] for j in json.loads(shown.stdout))

    everything = sorted(["reminders", "supervision:百禄镇党委", "supervision:图河镇党委"])
    assert listed("县管理员") == everything
    assert listed("镇党建办") == listed("陶英") == ["reminders", "supervision:图河镇党委"]


def test_a_member_file_out_of_reach_names_its_row_and_leavers_of_other_branches_stay_unseen(runner, users, tmp_path: Path):
    """member import's refusal named no file, row or column; the audit entry of a file showed every branch's leavers to a secretary."""
    body = f"姓名,党组织,类别\n新党员甲,{BRANCH},正式\n新党员乙,{OTHER},正式\n"
    refused = runner.invoke(app, users + ["--user", "陶英", "member", "import", str(write_csv(tmp_path / "m2.csv", body))])
    assert refused.exit_code == 5
    assert refused.stderr.startswith("错误：m2.csv 第3行「党组织」列：") and "（未导入任何数据）" in refused.stderr, refused.stderr
    leaving = (f"姓名,党组织,离开日期,离开原因\n党员第一党支部1,{BRANCH},2026-11-20,转出\n"
               f"党员屯村党支部1,{OTHER},2026-11-20,转出\n")
    done = runner.invoke(app, users + ["--user", "镇党建办", "member", "import", str(write_csv(tmp_path / "m3.csv", leaving))])
    assert done.exit_code == 0, done.output
    rows = json.loads(runner.invoke(app, users + ["--user", "陶英", "audit", "log", "--format", "json"]).stdout)
    [entry] = [r for r in rows if r["detail"].get("file") == "m3.csv"]
    assert [who[1] for who in entry["detail"]["left"]] == ["党员第一党支部1"] and entry["detail"]["org_paths"] == [BRANCH]
    # A township user refused for a file naming the branch and a branch of another township: the secretary sees the refusal
    # (it names their branch), not the other township's branch it names.
    other = "名称,上级,类型,领域\n百禄镇党委,,乡镇党委,农村\n新华村党支部,百禄镇党委,党支部,"
    assert runner.invoke(app, users + ["--user", "县管理员", "org", "import", str(write_csv(tmp_path / "o2.csv", other))]).exit_code == 0
    body = f"姓名,党组织,类别\n新党员丙,{BRANCH},正式\n新党员丁,百禄镇党委/新华村党支部,正式\n"
    assert runner.invoke(app, users + ["--user", "镇党建办", "member", "import", str(write_csv(tmp_path / "m4.csv", body))]).exit_code == 5
    rows = json.loads(runner.invoke(app, users + ["--user", "陶英", "audit", "log", "--format", "json"]).stdout)
    [denied] = [r for r in rows if r["action"] == "denied" and r["actor"] == "镇党建办"]
    assert "新华村" not in json.dumps(denied, ensure_ascii=False) and "（其他党组织）" in denied["detail"]["message"], denied
    # Her own refusal for the township above her names her scope whole: the township's path begins it.
    assert runner.invoke(app, users + ["--user", "陶英", "overdue", "--under", "图河镇党委"]).exit_code == 5
    rows = json.loads(runner.invoke(app, users + ["--user", "陶英", "audit", "log", "--format", "json"]).stdout)
    own = [r for r in rows if r["action"] == "denied" and r["actor"] == "陶英"][-1]
    assert f"范围：{BRANCH}）无权查看「（其他党组织）」" in own["detail"]["message"], own


def test_a_township_office_removes_its_own_supervision_job_and_every_job_change_is_logged(runner, users, tmp_path: Path):
    """It could add its township's job, and replace it, but not remove it; and no job change reached the audit log (try-out)."""
    other = "名称,上级,类型,领域\n百禄镇党委,,乡镇党委,农村\n新华村党支部,百禄镇党委,党支部,"
    assert runner.invoke(app, users + ["--user", "县管理员", "org", "import", str(write_csv(tmp_path / "o2.csv", other))]).exit_code == 0
    for town in ("图河镇党委", "百禄镇党委"):
        assert runner.invoke(app, users + ["--user", "县管理员", "scheduler", "add-supervision", "--under", town]).exit_code == 0
    assert runner.invoke(app, users + ["--user", "县管理员", "scheduler", "add-reminders"]).exit_code == 0
    moved = runner.invoke(app, users + ["--user", "镇党建办", "scheduler", "add-supervision", "--under", "图河镇党委", "--day", "26"])
    assert moved.exit_code == 0, moved.output
    assert runner.invoke(app, users + ["--user", "镇党建办", "scheduler", "remove", "supervision:百禄镇党委"]).exit_code == 5
    assert runner.invoke(app, users + ["--user", "镇党建办", "scheduler", "remove", "reminders"]).exit_code == 5
    removed = runner.invoke(app, users + ["--user", "镇党建办", "scheduler", "remove", "supervision:图河镇党委"])
    assert removed.exit_code == 0, removed.output
    log = json.loads(runner.invoke(app, users + ["--user", "县管理员", "audit", "log", "--format", "json"]).stdout)
    changes = [(e["actor"], e["action"], e["entity_id"]) for e in log if e["entity"] == "job"]
    assert changes == [("县管理员", "schedule", "supervision:图河镇党委"), ("县管理员", "schedule", "supervision:百禄镇党委"),
                       ("县管理员", "schedule", "reminders"), ("镇党建办", "schedule", "supervision:图河镇党委"),
                       ("镇党建办", "unschedule", "supervision:图河镇党委")]
    moved_entry = [e for e in log if e["entity"] == "job"][3]
    assert moved_entry["detail"]["after"]["trigger"] == "每月26日 09:00"


def test_user_adds_help_says_the_first_user_is_a_county_users(runner):
    """The help did not say so; only the error did (try-out)."""
    said = "".join(runner.invoke(app, ["user", "add", "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "第一个用户须是县用户" in said, said


def test_a_secretary_exempts_a_member_of_her_branch_without_naming_it(runner, users):
    """`member exempt` and `member leave` wanted --org of a secretary, where log, status and dues take her own branch (try-out)."""
    me = users + ["--user", "陶英"]
    done = runner.invoke(app, me + ["member", "exempt", "党员第一党支部1", "--from", "2026-12-01", "--to", "2027-02-28",
                                    "--reason", "因病经批准"])
    assert done.exit_code == 0 and "已登记免除：党员第一党支部1" in done.stdout, done.output
    left = runner.invoke(app, me + ["member", "leave", "党员第一党支部2", "--date", "2026-12-01", "--reason", "转出"])
    assert left.exit_code == 0, left.output
    county = runner.invoke(app, users + ["--user", "县管理员", "member", "exempt", "党员第一党支部3", "--from", "2026-12-01",
                                         "--to", "2027-02-28", "--reason", "因病经批准"])
    assert county.exit_code == 2 and "缺少必需的选项：--org" in county.stderr, county.output
