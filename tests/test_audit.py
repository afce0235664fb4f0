"""The audit trail on SQLite and PostgreSQL: every change is an entry, the chain catches tampering."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update

from compliance import importing, model
from compliance.assessment import add_deduction
from compliance.errors import InputError
from compliance.store import Store
from compliance.supervision import supervise
from obligations.rules import default_rules
from tests.conftest import write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
AUDIT = model.AuditEntry.__table__


def _log(store: Store, rules, day: str = "2026-11-05", **extra) -> int:
    values = {"org": "ZZ1", "kind": "主题党日", "date": day, "topic": "学习", "photos": "a.jpg", **extra}
    return importing.log_record(store, rules, values).ids[0]


def _entries(store: Store) -> list[dict]:
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.seq)).mappings()]


def test_every_change_is_an_entry_and_an_import_is_one(town: Store, rules, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", "党组织,类型,日期,主题,图片\n" + "\n".join(f"{BRANCH},主题党日,2026-{m:02d}-05,学习,a.jpg" for m in range(1, 9)))
    importing.import_records(town, rules, path)
    record = _log(town, rules, "2026-11-05")
    importing.correct_record(town, rules, record, {"date": "2026-11-06"}, "日期录错")
    importing.void_record(town, record, "重复登记")
    add_deduction(town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 1.0, "标识不统一")
    run = supervise(town, rules, "图河镇党委", "2026-11", date(2026, 11, 20))
    town.close_rectification(run.ledger[0].id, "回头看：已整改", date(2026, 11, 21))
    actions = [e["action"] for e in _entries(town)]
    assert actions == ["setting", "import", "import", "import", "log", "correct", "void", "deduct", "supervise", "rectify_close"]
    record_import = json.loads(_entries(town)[3]["detail"])
    assert record_import["file"] == "r.csv" and record_import["rows"] == 8 and sum(b - a + 1 for a, b in record_import["created"]) == 8
    assert len(record_import["sha256"]) == 64
    correction = _entries(town)[5]
    assert correction["reason"] == "日期录错"
    assert json.loads(correction["detail"])["changed"]["held_on"] == {"before": "2026-11-05", "after": "2026-11-06"}
    assert town.verify_audit() == (10, None)


def test_an_edited_entry_is_named(town: Store, rules):
    for day in ("2026-09-05", "2026-10-05", "2026-11-05"):
        _log(town, rules, day)
    with town.engine.begin() as conn:
        conn.execute(update(AUDIT).where(AUDIT.c.seq == 5).values(actor="别人"))
    count, problem = town.verify_audit()
    assert count == 4 and "第 5 条" in problem and "被改动" in problem


def test_a_deleted_entry_is_named(town: Store, rules):
    for day in ("2026-09-05", "2026-10-05", "2026-11-05"):
        _log(town, rules, day)
    with town.engine.begin() as conn:
        conn.execute(delete(AUDIT).where(AUDIT.c.seq == 4))
    count, problem = town.verify_audit()
    assert count == 3 and "第 4 条缺失" in problem


def test_a_deleted_last_entry_is_noticed(town: Store, rules):
    _log(town, rules)
    with town.engine.begin() as conn:
        conn.execute(delete(AUDIT).where(AUDIT.c.seq == 4))
    assert "末尾" in town.verify_audit()[1]


def test_correction_keeps_the_old_version_and_counts_the_new(town: Store, rules):
    from compliance.tracking import Window, org_status

    record = _log(town, rules, "2026-10-30")
    importing.correct_record(town, rules, record, {"date": "2026-11-02"}, "日期录错")
    versions = town.record_versions(record)
    assert [(v["version"], v["held_on"], v["superseded_at"] is None) for v in versions] == [
        (1, date(2026, 10, 30), False), (2, date(2026, 11, 2), True)]
    day = date(2026, 11, 20)
    found = {f.period: f.status for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day)) if f.obligation == "theme_day"}
    assert found["2026-10"] == "missed" and found["2026-11"] == "met"


def test_record_show_gives_the_entry_date_that_decides_late_entry_for_every_version(runner, town: Store, rules):
    from compliance.cli import app

    record = _log(town, rules, "2026-11-05", recorded_on="2026-11-08")
    importing.correct_record(town, rules, record, {"present": 1}, "人数录错")
    args = ["--db", town.url, "record", "show", str(record), "--history"]
    shown = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert [v["entered_on"] for v in shown] == ["2026-11-08", "2026-11-08"]
    assert all(v["recorded_at"][:10] != "2026-11-08" for v in shown)
    table = runner.invoke(app, args).output
    assert "录入日期" in table and table.count("2026-11-08") == 2


def test_record_show_history_gives_why_each_version_was_corrected(runner, town: Store, rules):
    """`record show --history` said 已被更正 without the correction's reason, where a void shows its own (try-out)."""
    from compliance.cli import app

    record = _log(town, rules, "2026-11-05")
    importing.correct_record(town, rules, record, {"present": 1}, "漏记吴敏")
    importing.correct_record(town, rules, record, {"present": 2}, "人数录错")
    args = ["--db", town.url, "record", "show", str(record), "--history"]
    shown = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert [v["correction_reason"] for v in shown] == ["漏记吴敏", "人数录错", None]
    table = "".join(runner.invoke(app, args, env={"COLUMNS": "200"}).output.split())
    assert "已被更正：漏记吴敏" in table and "已被更正：人数录错" in table
    csv_rows = runner.invoke(app, [*args, "--format", "csv"]).stdout.splitlines()
    assert csv_rows[0].endswith(",更正原因") and csv_rows[1].endswith(",漏记吴敏")


def test_a_voided_record_stays_readable_and_no_longer_counts(town: Store, rules):
    from compliance.tracking import Window, org_status

    record = _log(town, rules)
    importing.void_record(town, record, "重复登记")
    [version] = town.record_versions(record)
    assert version["void_reason"] == "重复登记"
    day = date(2026, 11, 20)
    found = {f.period: f.status for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day)) if f.obligation == "theme_day"}
    assert found["2026-11"] == "due"
    with pytest.raises(InputError, match="已于"):
        importing.void_record(town, record, "再作废")


def test_a_correction_that_collides_with_another_record_is_refused(town: Store, rules):
    first = _log(town, rules, "2026-11-05")
    second = _log(town, rules, "2026-11-06")
    with pytest.raises(InputError, match=f"与记录 {first} 相同"):
        importing.correct_record(town, rules, second, {"date": "2026-11-05"}, "日期")
    with pytest.raises(InputError, match="没有改动"):
        importing.correct_record(town, rules, second, {}, "无")


def _corrector(url: str, record_id: int, present: int) -> None:
    store = Store(url)
    try:
        importing.correct_record(store, default_rules(), record_id, {"present": str(present)}, f"第{present}次更正")
    except InputError:
        pass          # "刚被其他操作改动" is an acceptable answer to a racing correction
    store.engine.dispose()


def test_racing_corrections_never_fork_a_record(town: Store, rules):
    import multiprocessing

    record = importing.log_record(town, rules, {"org": "ZZ1", "kind": "党员大会", "date": "2026-10-05", "expected": "9", "present": "6"}).ids[0]
    town.engine.dispose()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_corrector, args=(town.url, record, n)) for n in range(1, 9)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    versions = town.record_versions(record)
    assert [v["version"] for v in versions] == list(range(1, len(versions) + 1))
    assert sum(v["superseded_at"] is None for v in versions) == 1
    assert town.verify_audit()[1] is None


def test_reimporting_an_unchanged_file_keeps_a_record_void(town: Store, rules, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", f"党组织,类型,日期,主题,图片\n{BRANCH},主题党日,2026-10-05,学习,a.jpg")
    record = importing.import_records(town, rules, path).ids[0]
    importing.void_record(town, record, "重复登记")
    again = importing.import_records(town, rules, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    assert town.record_versions(record)[-1]["void_reason"] == "重复登记"


def test_an_edited_time_is_caught_to_the_microsecond(town: Store, rules):
    _log(town, rules)
    with town.engine.begin() as conn:
        at = conn.execute(select(AUDIT.c.at).where(AUDIT.c.seq == 2)).scalar()
        conn.execute(update(AUDIT).where(AUDIT.c.seq == 2).values(at=at.replace(microsecond=999999)))
    assert "第 2 条" in town.verify_audit()[1]


def test_an_organization_import_is_audited_in_a_database_in_memory(rules, tmp_path: Path):
    # One connection serves every use of "sqlite://": a read made inside the import's
    # transaction must not end it and lose the audit entry already written.
    memory = Store("sqlite://")
    memory.upgrade()
    importing.import_orgs(memory, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n图河镇党委,,乡镇党委\n一支部,图河镇党委,党支部"))
    assert [e["action"] for e in _entries(memory)] == ["import"]
    assert [o.path for o in memory.orgs()] == ["图河镇党委", "图河镇党委/一支部"]
    assert memory.verify_audit() == (1, None)


def test_a_record_file_naming_a_new_organization_in_a_later_chunk_keeps_what_it_wrote_in_memory(rules, tmp_path: Path, monkeypatch):
    """A roster read as a later chunk named its organization ended the batch's transaction in memory, losing its records."""
    from sqlalchemy import func

    from tests.conftest import TOWN_ORGS, roster_csv

    monkeypatch.setattr(importing, "CHUNK", 1)
    memory = Store("sqlite://")
    memory.upgrade()
    importing.import_orgs(memory, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS))
    importing.import_members(memory, write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + "\n".join(
        roster_csv(org, 6) for org in ("图河镇党委/朱庄村党总支/第一党支部", "图河镇党委/马屯村党支部"))))
    result = importing.import_records(memory, rules, write_csv(tmp_path / "r.csv", "党组织,类型,日期,应到,实到\n"
                                                               "ZZ1,党员大会,2026-01-05,6,5\nMT,党员大会,2026-06-06,6,6"))
    with memory.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(model.Record.__table__)).scalar()
    assert result.added == stored == 2
    assert memory.verify_audit()[1] is None


def test_the_audit_table_names_every_action_in_chinese(runner, town: Store, monkeypatch):
    """Dues registered, an exemption entered and a refused scheduler change showed as `dues`, `exempt` and `scheduler`."""
    from compliance.cli import app

    db = ["--db", town.url]
    assert runner.invoke(app, db + ["dues", "log", "--org", "ZZ1", "--member", "党员第一党支部1", "--month", "2026-11",
                                    "--amount", "12", "--paid-on", "2026-11-03"]).exit_code == 0
    again = runner.invoke(app, db + ["dues", "log", "--org", "ZZ1", "--member", "党员第一党支部1", "--month", "2026-11",
                                     "--amount", "12", "--paid-on", "2026-11-03"])
    assert again.exit_code == 0 and "已登记过" in again.stdout
    assert [e["action"] for e in _entries(town)].count("dues") == 1       # the second registered nothing, and is no entry
    assert runner.invoke(app, db + ["member", "exempt", "党员第一党支部2", "--org", "ZZ1", "--from", "2026-05-01",
                                    "--to", "2026-06-30", "--reason", "因病经批准"]).exit_code == 0
    assert runner.invoke(app, db + ["member", "unexempt", "1", "--reason", "登记错人"]).exit_code == 0
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "陶英", "--role", "支部书记", "--org", "ZZ1"]).exit_code == 0
    refused = runner.invoke(app, db + ["--user", "陶英", "scheduler", "add-supervision", "--under", "图河镇党委"])
    assert refused.exit_code != 0
    # Jobs added and removed, messages put back, and a refused put-back showed as schedule, job, retry and outbox (try-out).
    for args in (["scheduler", "add-reminders"], ["scheduler", "remove", "reminders"]):
        done = runner.invoke(app, db + ["--user", "县管理员", *args])
        assert done.exit_code == 0, done.output
    assert runner.invoke(app, db + ["--user", "陶英", "outbox", "retry"]).exit_code != 0
    monkeypatch.setenv("COLUMNS", "400")
    table = runner.invoke(app, db + ["--user", "县管理员", "audit", "log"], terminal_width=400).stdout
    entries = [[cell.strip() for cell in line.split("│")] for line in table.splitlines() if line.count("│") > 6 and line.split("│")[1].strip()]
    lines = {cells[4] + "/" + cells[5].split()[0] for cells in entries}
    assert {"登记党费/党费", "登记免除/党员", "撤销/免除", "拒绝/调度器"} <= lines, lines
    # A payment is named by its member, month, amount and day, in its organization's row.
    paid = next(cells for cells in entries if cells[4] == "登记党费")
    assert paid[5] == "党费 党员第一党支部1 2026-11（12 元，2026-11-03 交纳）" and paid[6] == "图河镇党委/朱庄村党总支/第一党支部"
    assert not any(word in table for word in ("dues", "exempt", "scheduler"))
    # The CSV is read by people too: it said `dues`, `denied` and `scheduler` (JSON keeps the program's words).
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, db + ["--user", "县管理员", "audit", "log", "--format", "csv"]).stdout)))
    assert {(r["操作"], r["对象"]) for r in rows} >= {("登记党费", "党费"), ("登记免除", "党员"), ("撤销", "免除"), ("拒绝", "调度器"),
                                                  ("设置定时任务", "定时任务"), ("删除定时任务", "定时任务"), ("拒绝", "提醒发件箱")}
    assert not any(r["操作"].isascii() or r["对象"].isascii() for r in rows), rows
    # The names the log gives acts of no user cannot be taken: such a user would see those entries as their own (review).
    for reserved in ("本地管理员", "（未指明）"):
        taken = runner.invoke(app, db + ["--user", "县管理员", "user", "add", reserved, "--role", "乡镇", "--org", "图河镇党委"])
        assert taken.exit_code != 0 and f"用户名「{reserved}」是审计日志中未指明用户时的操作人，不能用作用户名" in taken.stderr, taken.output
    # A user sees their own refusals in their own log, also of what lies above their reach (try-out): the county alone saw them.
    own = json.loads(runner.invoke(app, db + ["--user", "陶英", "audit", "log", "--format", "json"]).stdout)
    assert [(r["action"], r["entity"]) for r in own if r["actor"] == "陶英" and r["action"] == "denied"] == [
        ("denied", "scheduler"), ("denied", "outbox")], own
    assert not [r for r in own if r["actor"] == "县管理员" and r["action"] in ("schedule", "unschedule")]
    # A refusal shows what it was refused on, and why, where other entries show them.
    denied = next(cells for cells in entries if cells[4] == "拒绝")
    assert denied[6] == "图河镇党委" and denied[7].startswith("陶英（支部书记"), denied


def test_every_action_and_entity_the_code_audits_has_a_chinese_label():
    """The words written into audit entries, read from the code: `retry` and `outbox` (a put-back) had no label (try-out)."""
    import re

    from compliance.report.admin import ACTION_LABELS, ENTITY_LABELS

    import compliance

    # The package as installed: the compiled build's tests run from a copy of the repository without its sources.
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(compliance.__file__).parent.rglob("*.py"))
    written = re.findall(r'audit(?:_now)?\((?:conn, |self\.conn, )?"([a-z_]+)", "([a-z_]+)"', source)
    job = re.findall(r'_audit_job\(store, "([a-z_]+)"', source)
    refused = re.findall(r'require_[a-z]+\(store, actor, "([a-z_]+)"', source)
    assert len(written) > 20 and job and len(refused) > 10
    assert not [a for a, _ in written if a not in ACTION_LABELS] + [a for a in job + refused if a not in ACTION_LABELS]
    assert not [e for a, e in written if e not in ENTITY_LABELS and a != "denied"] + (["job"] if "job" not in ENTITY_LABELS else [])


def test_the_audit_table_names_the_file_an_import_read(runner, town: Store, tmp_path: Path, monkeypatch):
    """A dues file showed as 登记党费, like one payment logged, and no import named its file but in JSON."""
    from compliance.cli import app

    db = ["--db", town.url]
    dues = write_csv(tmp_path / "十一月党费.csv", "姓名,党组织,月份,金额,交纳日期\n党员第一党支部1,ZZ1,2026-11,12,2026-11-03\n"
                                                 "党员第一党支部2,ZZ1,2026-11,8,2026-11-04")
    first = runner.invoke(app, db + ["dues", "import", str(dues)])
    assert first.exit_code == 0 and first.stdout.startswith("党费：新增 2 条。"), first.output
    # Read again, it said 「新增 0 条」 alone, as if its rows had been lost.
    again = runner.invoke(app, db + ["dues", "import", str(dues)])
    assert again.exit_code == 0 and again.stdout.strip() == "党费：新增 0 条，2 行是此前已登记或文件中重复的月份，未重复添加。", again.output
    assert runner.invoke(app, db + ["dues", "log", "--org", "ZZ1", "--member", "党员第一党支部3", "--month", "2026-11",
                                    "--amount", "10", "--paid-on", "2026-11-05"]).exit_code == 0
    records = write_csv(tmp_path / "记录[十一月].csv", "党组织,类型,日期,主题\nZZ1,主题党日,2026-11-05,学习")
    assert runner.invoke(app, db + ["record", "import", str(records)]).exit_code == 0
    monkeypatch.setenv("COLUMNS", "400")
    table = runner.invoke(app, db + ["audit", "log"], terminal_width=400).stdout
    entries = [[cell.strip() for cell in line.split("│")] for line in table.splitlines() if line.count("│") > 6 and line.split("│")[1].strip()]
    shown = [(cells[4], cells[5]) for cells in entries if cells[5].startswith(("党费", "记录"))]
    assert shown == [("导入", "党费（文件 十一月党费.csv）"), ("登记党费", "党费 党员第一党支部3 2026-11（10 元，2026-11-05 交纳）"),
                     ("导入", "记录（文件 记录[十一月].csv）")]        # brackets were taken for a style tag and dropped


def test_an_org_or_member_file_imported_again_unchanged_writes_no_audit_entry(rules, tmp_path: Path):
    """The same roster imported twice logged a second 导入 entry of 0 added and 0 updated."""
    from tests.conftest import TOWN_ORGS, roster_csv

    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    store.upgrade()
    orgs = write_csv(tmp_path / "o.csv", TOWN_ORGS)
    members = write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + roster_csv("图河镇党委/马屯村党支部", 3))
    for _ in range(2):
        importing.import_orgs(store, rules, orgs)
        result = importing.import_members(store, members)
    assert (result.added, result.updated, result.unchanged) == (0, 0, 3)
    assert [(e["action"], e["entity"]) for e in _entries(store)] == [("import", "org"), ("import", "member")]
    assert store.verify_audit() == (2, None)


def test_an_import_that_only_updates_is_found_under_its_organizations(runner, rules, tmp_path: Path):
    """An org or member file that only changed rows named no organization: `audit log --org` left it out."""
    from compliance.cli import app
    from tests.conftest import TOWN_ORGS, roster_csv

    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    store.upgrade()
    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS))
    importing.import_members(store, write_csv(tmp_path / "m.csv", "姓名,党组织,党小组,类别,流动党员\n" + roster_csv("图河镇党委/马屯村党支部", 3)))
    importing.import_orgs(store, rules, write_csv(tmp_path / "o2.csv", TOWN_ORGS.replace("闫梅", "闫海")))
    name = store.members()[0].name
    importing.import_members(store, write_csv(tmp_path / "m2.csv", f"姓名,党组织,性别\n{name},图河镇党委/马屯村党支部,女"))
    done = runner.invoke(app, ["--db", store.url, "audit", "log", "--org", "MT", "--format", "json"])
    assert done.exit_code == 0, done.output
    files = [r["detail"].get("file") for r in json.loads(done.stdout) if r["action"] == "import"]
    assert files == ["o.csv", "m.csv", "o2.csv", "m2.csv"]


def test_a_voided_record_can_be_restored_and_logging_it_again_says_how(town: Store, rules, tmp_path: Path):
    """A record voided by mistake had no way back: logged again it was "已经登记过" and stayed void; record correct refused it."""
    from datetime import datetime

    from compliance.store import TZ
    from compliance.tracking import Window, org_status

    day = date(2026, 11, 20)

    def november() -> str:
        found = org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day, known_at))
        return next(f.status for f in found if f.obligation == "theme_day" and f.period == "2026-11")

    town.clock = lambda: datetime(2026, 11, 6, 9, tzinfo=TZ)
    record = _log(town, rules)
    town.clock = lambda: datetime(2026, 11, 7, 9, tzinfo=TZ)
    importing.void_record(town, record, "重复登记")
    with pytest.raises(InputError, match=f"记录编号 {record}.*作废（重复登记）；如需恢复，请用 compliance record restore {record}"):
        _log(town, rules)
    with pytest.raises(InputError, match=f"记录编号 {record}.*如需恢复"):
        _log(town, rules, photos="b.jpg")          # other content: not a new version of a void record either
    # A file of before the void, read again, leaves it void and says which.
    path = write_csv(tmp_path / "r.csv", f"党组织,类型,日期,主题,图片\n{BRANCH},主题党日,2026-11-05,学习,a.jpg")
    again = importing.import_records(town, rules, path)
    assert (again.unchanged, again.voided) == (1, [record])
    # Changed in the file, it stays void too: a new version revived it without a word (review).
    changed = write_csv(tmp_path / "c.csv", f"党组织,类型,日期,主题,图片\n{BRANCH},主题党日,2026-11-05,学习,c.jpg")
    edited = importing.import_records(town, rules, changed)
    assert (edited.updated, edited.unchanged, edited.voided) == (0, 1, [record])
    assert len(town.record_versions(record)) == 1 and town.record_versions(record)[0]["void_reason"] == "重复登记"
    town.clock = lambda: datetime(2026, 11, 8, 9, tzinfo=TZ)
    assert importing.restore_record(town, record, "误作废") == 2
    versions = town.record_versions(record)
    assert [(v["version"], v["void_reason"], v["superseded_at"] is None) for v in versions] == [(1, "重复登记", False), (2, None, True)]
    known_at = None
    assert november() == "met"
    # As the database knew it on each day: counted, then void, then back.
    for when, status in ((datetime(2026, 11, 6, 12, tzinfo=TZ), "met"), (datetime(2026, 11, 7, 12, tzinfo=TZ), "due"),
                         (datetime(2026, 11, 8, 12, tzinfo=TZ), "met")):
        known_at = when
        assert november() == status, when
    with pytest.raises(InputError, match="没有作废，无需恢复"):
        importing.restore_record(town, record, "再恢复")
    with pytest.raises(InputError, match="恢复须写明原因"):
        importing.restore_record(town, record, " ")
    entry = _entries(town)[-1]
    assert (entry["action"], entry["entity_id"], entry["reason"]) == ("restore", str(record), "误作废")
    assert town.verify_audit()[1] is None
