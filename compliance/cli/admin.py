"""Commands that keep records trustworthy: record show/list/correct/void, the audit log, users, backups."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

import typer
from sqlalchemy.exc import SQLAlchemyError

from compliance.cli import (
    FORMAT_OPTION, ORG_HELP, Format, _date_option, _id_argument, _rules, app, console, fails_cleanly, make_folder, own_org, record_app,
    session, state,
)
from compliance import importing, store as store_mod, tracking
from compliance.access import ROLE_NAMES, add_user, default_scope, disable_user, require_administrator, require_read
from compliance.errors import ComplianceError, DatabaseError, InputError, os_reason
from compliance.evaluate import COMMITTEE_MIN_FULL_MEMBERS
from compliance.report import admin as admin_report
from compliance.report.assessments import emit_rows

audit_app = typer.Typer(help="审计日志：查看、校验。", no_args_is_help=True)
user_app = typer.Typer(help="用户：添加、列表、停用、恢复。", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(user_app, name="user")


class AuditBroken(ComplianceError):
    """The audit chain does not verify."""

    exit_code = 6


@record_app.command("show")
@fails_cleanly
def record_show(record_id_text: str = typer.Argument(..., metavar="ID", help="记录编号。"),
                history: bool = typer.Option(False, "--history", help="列出全部版本（更正前的内容）。"),
                fmt: Format = FORMAT_OPTION) -> None:
    """查看一条记录（--history 显示每次更正前后的版本）。"""
    record_id = _id_argument(record_id_text, "记录编号")
    store, actor = session()
    versions = store.record_versions(record_id)
    shown = versions if history else versions[-1:]
    paths = {org_id: store.org_path(org_id) for org_id in {v["org_id"] for v in shown}}
    for path in sorted(paths.values()):
        require_read(store, actor, path)
    rows = [admin_report.version_dict(v, paths[v["org_id"]], _rules()) for v in shown]
    if history:
        # Why each version was corrected, as the correction's audit entry says (record show gave only 已被更正: try-out).
        reasons = {json.loads(e.detail).get("version"): e.reason for e in store.audit_of("record", record_id) if e.action == "correct"}
        for row in rows:
            row["correction_reason"] = reasons.get(row["version"] + 1) if row["superseded"] else None
    if fmt is Format.table:
        restored = {v["version"] - 1 for v in shown if str(v.get("source") or "").startswith("restore:")}
        admin_report.print_versions(console, rows, restored)
        if versions[-1]["voided_at"] is None:
            # What it completes, and what keeps it from counting: said by log and import only, so a secretary
            # looking a record up had to read status beside it (try-out).
            from compliance import tracking
            from compliance.cli.records import counted_in, record_notes

            today = store.today()
            alone = tracking.record_alone(store, _rules(), record_id, today)
            notes = record_notes(store, record_id, alone)
            # A period a note names (这条记录计入「…」，但材料不全) is not said twice (review).
            counted = [what for what in counted_in(alone).values() if not any(f"「{what}」" in note for note in notes)]
            if counted:
                console.print(f"截至 {today.isoformat()}，这条记录计入「{'」「'.join(counted)}」", markup=False, soft_wrap=True)
            for note in notes:
                console.print(note, style="yellow", markup=False, soft_wrap=True)
    else:
        emit_rows(rows, fmt.value, admin_report.RECORD_HEADINGS | ({"correction_reason": "更正原因"} if history else {}))


@record_app.command("list")
@fails_cleanly
def record_list(org: Optional[str] = typer.Option(None, "--org", help=ORG_HELP),
                kind: Optional[str] = typer.Option(None, "--kind", help="只看此类型，如 党员大会。"),
                since: Optional[str] = typer.Option(None, "--since", help="从此日期起。"),
                until: Optional[str] = typer.Option(None, "--until", help="到此日期为止（含）。"),
                include_void: bool = typer.Option(False, "--all", help="包括已作废的记录。"),
                unsigned: bool = typer.Option(False, "--unsigned", help="只看须签字而书记、记录人未签全的记录（督查通报“记录不规范”中的未签字）。"),
                incomplete: bool = typer.Option(False, "--incomplete", help="只看缺少本组织执行的规定要求的材料（主题、图片等）的记录（通报中的材料不全）。"),
                fmt: Format = FORMAT_OPTION) -> None:
    """列出一个党组织的记录（当前版本）及其编号。"""
    store, actor = session()
    org = own_org(actor, org)
    index = store.index_around(org)
    target = index.resolve(org)
    require_read(store, actor, target.path)
    slug = None
    if kind:
        slug = _rules().kind(kind)
        if slug is None:
            raise InputError(f"--kind：值「{kind}」：{importing.unknown_kind(_rules(), kind)}")
    last = _date_option(until, "--until")
    rows = [admin_report.version_dict(v, target.path, _rules())
            for v in store.org_records(target.id, slug, _date_option(since, "--since"), include_void and not (unsigned or incomplete))
            if last is None or v["held_on"] <= last]
    if unsigned or incomplete:
        # Which of the records a bulletin counted as 未签字 or 材料不全 they are: a secretary told 未签字 2 条 had to open
        # every record of the month (supervision team's try-out).
        catalog = _rules().catalogs.get(index.catalog_of(target, tracking.default_catalog(store)))

        @lru_cache(maxsize=None)
        def committee_on(first: date) -> bool:
            if target.has_committee is not None:
                return target.has_committee
            # Decided by the roster, as evaluation decides it: seven full members on the month's first day.
            return store.full_members_on({target.id}, first).get(target.id, 0) >= COMMITTEE_MIN_FULL_MEMBERS

        rows = admin_report.records_to_mend(rows, catalog, target.type, index.sector_of(target), committee_on, unsigned, incomplete)
    if fmt is Format.table:
        admin_report.print_records(console, rows, target.path, mending=unsigned or incomplete)
    else:
        emit_rows(rows, fmt.value, admin_report.RECORD_HEADINGS | ({"lacking": "待补"} if unsigned or incomplete else {}))


@record_app.command("correct")
@fails_cleanly
def record_correct(
    record_id_text: str = typer.Argument(..., metavar="ID", help="记录编号。"),
    reason: str = typer.Option(..., "--reason", help="更正原因。"),
    org: Optional[str] = typer.Option(None, "--org", help="更正后的党组织。"),
    kind: Optional[str] = typer.Option(None, "--kind", help="更正后的类型。"),
    held_on: Optional[str] = typer.Option(None, "--date", help="更正后的召开日期。"),
    expected: Optional[str] = typer.Option(None, "--expected", help="应到人数。"),
    present: Optional[str] = typer.Option(None, "--present", help="实到人数。"),
    topic: Optional[str] = typer.Option(None, "--topic", help="主题。"),
    recorder: Optional[str] = typer.Option(None, "--recorder", help="记录人。"),
    secretary_signed: Optional[str] = typer.Option(None, "--secretary-signed", help="书记签字：是/否。"),
    recorder_signed: Optional[str] = typer.Option(None, "--recorder-signed", help="记录人签字：是/否。"),
    member: Optional[str] = typer.Option(None, "--member", help="党员。"),
    group: Optional[str] = typer.Option(None, "--group", help="党小组。"),
    lecturer: Optional[str] = typer.Option(None, "--lecturer", help="主讲人。"),
    attendees: Optional[str] = typer.Option(None, "--attendees", "--attendee", help="参会人员（用顿号、逗号或空格分隔）；给出时实到人数按名单计。"),
    excused: Optional[str] = typer.Option(None, "--excused", help="请假人员。"),
    counterpart: Optional[str] = typer.Option(None, "--counterpart", help="谈话对象。"),
    hours: Optional[str] = typer.Option(None, "--hours", help="学时。"),
    photos: Optional[str] = typer.Option(None, "--photos", help="图片。"),
) -> None:
    """更正一条记录：生成新版本，旧版本保留（record show --history 可查）。"""
    record_id = _id_argument(record_id_text, "记录编号")
    store, actor = session()
    changes = {"org": org, "kind": kind, "date": held_on, "expected": expected, "present": present, "topic": topic,
               "recorder": recorder, "secretary_signed": secretary_signed, "recorder_signed": recorder_signed,
               "member": member, "group": group, "lecturer": lecturer, "attendees": attendees, "excused": excused,
               "counterpart": counterpart, "hours": hours, "photos": photos}
    from compliance import tracking
    from compliance.cli.records import counted_in, record_notes

    # What the record completed before, to say what the correction takes from it (a date moved out of its month, say).
    try:
        before = counted_in(tracking.record_alone(store, _rules(), record_id, store.today()))
    except ComplianceError:
        before = {}     # no such record: the correction says so
    was_org = store.record_orgs([record_id]).get(record_id)
    version = importing.correct_record(store, _rules(), record_id, changes, reason, actor)
    console.print(f"已更正：记录 {record_id} 现为第 {version} 版")
    alone = tracking.record_alone(store, _rules(), record_id, store.today())
    after = counted_in(alone)
    # Moved to another branch, what it no longer completes is the old branch's: named, or read as the new one's (try-out).
    moved = was_org is not None and alone.record is not None and alone.record.org_id != was_org
    whose = f"「{store.org_path(was_org)}」的" if moved and was_org is not None else ""
    left = {key: what for key, what in before.items() if key not in after or moved}
    if left and was_org is not None:
        # Whether another record still completes the period, as `record void` says: 不再计入「支委会 2026年11月」 read as
        # November left undone, with another 支委会 of November counting all along (try-out).
        stands = {key: stand for key, stand in zip(left, periods_after_void_each(store, was_org, left))}
        for key, what in left.items():
            console.print(f"注意：更正后这条记录不再计入{whose}「{what}」" + stands[key], style="yellow", markup=False, soft_wrap=True)
    # And what it completes now: a 党员大会 short of its quorum made good by its list said 已更正 alone (try-out).
    gained = [what for key, what in after.items() if moved or key not in before]
    if gained:
        there = f"「{store.org_path(alone.record.org_id)}」的" if moved and alone.record is not None else ""
        console.print(f"更正后这条记录计入{there}「{'」「'.join(gained)}」", markup=False, soft_wrap=True)
    for note in record_notes(store, record_id, alone):
        console.print(note, style="yellow", markup=False, soft_wrap=True)


@record_app.command("void")
@fails_cleanly
def record_void(record_id_text: str = typer.Argument(..., metavar="ID", help="记录编号。"),
                reason: str = typer.Option(..., "--reason", help="作废原因。")) -> None:
    """作废一条记录：记录保留并注明原因，不再计入完成情况。"""
    from compliance import tracking
    from compliance.cli.records import counted_in

    record_id = _id_argument(record_id_text, "记录编号")
    store, actor = session()
    # What it completed, to say what the void takes away (as `record correct` does).
    try:
        before = counted_in(tracking.record_alone(store, _rules(), record_id, store.today()))
    except ComplianceError:
        before = {}     # no such record: the void says so
    org_id = store.record_orgs([record_id]).get(record_id)
    importing.void_record(store, record_id, reason, actor)
    # Its branch named: the periods it reopens are that branch's, not the reader's own (try-out).
    console.print(f"已作废：记录 {record_id}" + (f"（{store.org_path(org_id)}）" if org_id is not None else ""), markup=False)
    if before and org_id is not None:
        for note in periods_after_void(store, org_id, before):
            console.print(note, style="yellow", markup=False, soft_wrap=True)


def periods_after_void_each(store: Any, org_id: int, before: dict[tuple[str, str, str | None], str]) -> list[str]:
    """Return, for each period of `before` (in its order), how it stands now: 「，该期仍由记录 986 计入」 or 「，该期现为逾期未完成」."""
    from compliance.report.labels import STATUS_LABELS

    from compliance.store.runs import AUTO_NOTES

    now = _periods_now(store, org_id, before)
    # A ledger item a run closed on the period is opened again by the next run: said, or the secretary learnt of it from the
    # ledger (supervision team's try-out).
    closed = {(item.obligation, item.period, item.group_name or item.member): item.id for item in store.rectifications([org_id])
              if item.closed_on is not None and item.close_note in AUTO_NOTES}
    said = []
    for key in before:
        f = now.get(key)
        if f is not None and f.status == "met":
            said.append(f"，该期仍由记录 {'、'.join(map(str, f.records[:3]))} 计入，不受影响")
        else:
            said.append((f"，该期现为{STATUS_LABELS.get(f.status, f.status)}" if f is not None else "")
                        # Only a gap reopens its item: a period not yet ended (待完成) or now exempt does not (review).
                        + (f"；已销号的整改台账第 {closed[key]} 项将在下次督查时重新打开"
                           if key in closed and f is not None and f.status in ("missed", "invalid") else ""))
    return said


def _periods_now(store: Any, org_id: int, before: dict[tuple[str, str, str | None], str]) -> dict[Any, Any]:
    """Return the organization's findings now, by (obligation, period, group or member), from the first of `before`'s periods."""
    from compliance import tracking
    from obligations.cadence import parse_period_key

    day = store.today()

    def start(period: str) -> date:
        try:
            return parse_period_key(period)[0]
        except ValueError:
            return tracking.year_start(day)

    first = min([tracking.year_start(day), *(start(period) for _, period, _ in before)])
    window = tracking.Window(first, day, day)
    return {(f.obligation, f.period, f.group or f.member): f for f in tracking.org_status(store, _rules(), store.org_path(org_id), window)}


def periods_after_void(store: Any, org_id: int, before: dict[tuple[str, str, str | None], str]) -> list[str]:
    """Return, for each period the voided record completed (`before`), whether another record still completes it, or how it stands now.

    It said 该期如没有其他有效记录，将列为未完成 of a duplicate whose twin still counted (try-out).
    """
    from compliance.report.labels import STATUS_LABELS

    # From the first of its periods: a record of last year completes last year's (review: they were found nowhere).
    now = _periods_now(store, org_id, before)
    kept, lost = [], []
    for key, what in before.items():
        f = now.get(key)
        if f is not None and f.status == "met":
            kept.append(f"「{what}」仍由记录 {'、'.join(map(str, f.records[:3]))} 计入")
        else:
            lost.append(f"「{what}」" + (f"现为{STATUS_LABELS.get(f.status, f.status)}" if f is not None else ""))
    notes = [f"提示：这条记录原计入的{'；'.join(kept)}，不受影响"] if kept else []
    if lost:
        notes.append(f"注意：作废后没有其他有效记录计入：{'；'.join(lost)}（督查中自动销号的整改事项会在下次督查时重新打开）")
    return notes


@record_app.command("restore")
@fails_cleanly
def record_restore(record_id_text: str = typer.Argument(..., metavar="ID", help="记录编号。"),
                   reason: str = typer.Option(..., "--reason", help="恢复原因，如 误作废。")) -> None:
    """恢复一条作废的记录：按作废前的内容重新计入，作废和恢复都保留在记录的历史中。"""
    from compliance import tracking
    from compliance.cli.records import record_notes

    record_id = _id_argument(record_id_text, "记录编号")
    store, actor = session()
    version = importing.restore_record(store, record_id, reason, actor)
    console.print(f"已恢复：记录 {record_id} 现为第 {version} 版")
    for note in record_notes(store, record_id, tracking.record_alone(store, _rules(), record_id, store.today())):
        console.print(note, style="yellow", markup=False, soft_wrap=True)


@audit_app.command("log")
@fails_cleanly
def audit_log(org: Optional[str] = typer.Option(None, "--org", help="只看此党组织及其下级。"),
              since: Optional[str] = typer.Option(None, "--since", help="从此日期起。"),
              fmt: Format = FORMAT_OPTION) -> None:
    """审计日志：谁、何时、改了什么、为什么。"""
    from datetime import datetime, time

    store, actor = session()
    scope = default_scope(actor, org)
    root = None
    if scope:
        root = store.index_around(scope).resolve(scope)
        require_read(store, actor, root.path)
    day = _date_option(since, "--since")
    start = datetime.combine(day, time(0), tzinfo=store_mod.TZ) if day else None
    rows = admin_report.audit_rows(store.audit_log(None, start), store.org_paths)
    if root is not None:
        # A user's own entries are theirs to see, in their default view: their refusals of a backup or of an action
        # above their reach touch no organization of theirs, and the county alone saw them (try-out).
        own = actor.name if org is None and not actor.anonymous else None
        rows = [r for r in rows if admin_report.audit_touches(r, root.path) or r["actor"] == own]
    if actor.scope is not None:
        rows = [admin_report.audit_within(r, actor.covers) for r in rows]
    if fmt is Format.table:
        admin_report.print_audit(console, rows)
    elif fmt is Format.csv:
        # Read by people, as the table is: actions and what they are about in Chinese (JSON keeps the program's words).
        emit_rows([admin_report.audit_words(r) for r in rows], fmt.value, admin_report.AUDIT_HEADINGS)
    else:
        emit_rows(rows, fmt.value, admin_report.AUDIT_HEADINGS)


@audit_app.command("verify")
@fails_cleanly
def audit_verify() -> None:
    """校验审计日志的哈希链：发现被改动或删除的条目时指出第一处断点。"""
    store, _ = session()
    count, problem = store.verify_audit()
    if problem:
        raise AuditBroken(f"审计日志校验失败：{problem}（此前 {count} 条完好）")
    console.print(f"审计日志完整：共 {count} 条，哈希链校验通过。")


@user_app.command("add")
@fails_cleanly
def user_add(name: str = typer.Argument(..., metavar="用户名", help="用户名。"),
             role: str = typer.Option(..., "--role", help="角色：支部书记、乡镇 或 县。"),
             org: Optional[str] = typer.Option(None, "--org", help="所管的党组织（支部书记为其党支部，乡镇为乡镇党委或街道党工委）。")) -> None:
    """添加用户（第一个用户须是县用户，由本地管理员添加；之后须由县或乡镇用户添加）。"""
    store, actor = session()
    user_id = add_user(store, actor, name, role, org)
    console.print(f"已添加用户：{name}（编号 {user_id}）")


USER_NAME = typer.Argument(..., metavar="用户名", help="用户名。")


@user_app.command("disable")
@fails_cleanly
def user_disable(name: str = USER_NAME, reason: str = typer.Option(..., "--reason", help="停用原因，如 调离。")) -> None:
    """停用用户（如人员调离）：不能再操作，审计日志中的记录保留；由县用户执行。"""
    _set_disabled(name, True, reason)


@user_app.command("enable")
@fails_cleanly
def user_enable(name: str = USER_NAME, reason: str = typer.Option(..., "--reason", help="恢复原因。")) -> None:
    """恢复已停用的用户；由县用户执行。"""
    _set_disabled(name, False, reason)


def _set_disabled(name: str, disabled: bool, reason: str) -> None:
    store, actor = session()
    disable_user(store, actor, name, disabled, reason)
    console.print(f"已{'停用' if disabled else '恢复'}用户：{' '.join(name.split())}")


@user_app.command("list")
@fails_cleanly
def user_list(fmt: Format = FORMAT_OPTION) -> None:
    """列出用户、角色、范围和状态（在用或停用）。"""
    from compliance.store import TZ

    store, actor = session()
    users = store.users()
    paths = store.org_paths(u.org_id for u in users if u.org_id)
    rows = [{"name": u.name, "role": ROLE_NAMES[u.role], "org": paths[u.org_id] if u.org_id else "（全部）",
             "state": f"{u.disabled_at.astimezone(TZ):%Y-%m-%d} 停用" if u.disabled_at else "在用"}
            for u in users if u.org_id is None and actor.scope is None or u.org_id and actor.covers(paths[u.org_id])]
    if fmt is Format.table:
        admin_report.print_users(console, rows)
    else:
        emit_rows(rows, fmt.value, {"name": "用户", "role": "角色", "org": "范围", "state": "状态"})


def _sqlite_path(store: store_mod.Store) -> Path:
    if store.engine.dialect.name != "sqlite":
        raise DatabaseError("backup/restore 只用于 SQLite 文件；PostgreSQL 请用 pg_dump 和 pg_restore（见 README）")
    return Path(store.engine.url.database or "")


@app.command()
@fails_cleanly
def backup(file: Path = typer.Argument(..., metavar="文件", help="备份文件路径（不能已存在）；是已有的目录时，在其中写入带日期时间的文件，"
                                                          "如 compliance-20261207-030000.db，便于每天定时备份。")) -> None:
    """备份正在使用的 SQLite 数据库（在线备份，得到一致的副本）。"""
    store, actor = session()
    require_administrator(store, actor, "backup")
    _sqlite_path(store)
    if file.is_dir():
        # A folder given, as a daily job gives one: it said 文件已存在，不覆盖 (administrator's try-out).
        file = file / f"compliance-{store.clock().astimezone(store_mod.TZ):%Y%m%d-%H%M%S}.db"
    if file.exists():
        raise InputError(f"{file}：文件已存在，不覆盖")
    try:
        make_folder(file.parent)
    except OSError as exc:
        raise InputError(f"{file}：无法创建所在目录：{os_reason(exc)}") from None
    count = store_mod.backup_sqlite(store, file)
    console.print(f"已备份到 {file}（审计日志 {count} 条，校验通过）")


@app.command()
@fails_cleanly
def restore(file: Path = typer.Argument(..., metavar="文件", help="要恢复的备份文件。")) -> None:
    """检查备份文件（完整性、结构版本、审计日志）后恢复；当前数据库先另存一份。"""
    store = store_mod.open_store(state.db, must_exist=False)
    target = _sqlite_path(store)
    actor_name = store.actor
    if target.exists() and store.revision() is not None:
        # Replacing a database that has users is a county user's decision.
        store, actor = session()
        require_administrator(store, actor, "restore")
        actor_name = actor.name
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    current = target.exists() and store.revision() is not None
    users = store.users() if current else []
    entries = store.audit_seq() if current else 0
    # Whether the backup is this database as it was: its last entry is this log's entry of that number (review: a backup
    # of another database was said to lack only the difference of the two counts).
    copy = store_mod.Store(store_mod.resolve_url(str(file))) if current and file.is_file() else None
    try:
        backed = copy.audit_seq() if copy is not None else 0
        same = copy is not None and backed <= entries and copy.audit_hash(backed) == store.audit_hash(backed)
    except SQLAlchemyError:     # not a database this program made: restore_sqlite says so
        backed, same = 0, False
    finally:
        if copy is not None:
            copy.engine.dispose()
    before = {u.name for u in users}
    disabled = {u.name for u in users if u.disabled_at is not None}
    kept = store_mod.restore_sqlite(store, file, target, actor_name)
    console.print(f"已从 {file} 恢复到 {target}" + (f"；恢复前的数据库另存为 {kept}" if kept else ""))
    # The users are the backup's: a backup made before them left anyone an administrator, without a word.
    restored = store_mod.Store(store_mod.resolve_url(str(target)))
    restored_users = restored.users()
    after = {u.name for u in restored_users}
    restored.engine.dispose()
    if kept and entries and not same:
        console.print(f"注意：这份备份不是恢复前的数据库早先的副本（审计日志不同），恢复前的 {entries} 条操作及其数据都不在当前数据库中；"
                      f"需要时请从另存的 {kept} 中查找", style="yellow", markup=False, soft_wrap=True)
    elif kept and entries > backed:
        # What the backup does not have was gone with no word but the users' (administrator's try-out).
        console.print(f"注意：恢复前的数据库有 {entries - backed} 条操作（审计日志）晚于这份备份，如其间登记、导入或更正的记录，恢复后"
                      f"都不在当前数据库中；需要时请从另存的 {kept} 中查找", style="yellow", markup=False, soft_wrap=True)
    # A user disabled after the backup was made is in use again in it (review).
    again = sorted(u.name for u in restored_users if u.name in disabled and u.disabled_at is None)
    if again:
        console.print(f"注意：用户「{'」「'.join(again)}」在备份中没有停用，恢复后又能操作；如仍应停用，请再次执行 "
                      "compliance user disable", style="yellow", markup=False, soft_wrap=True)
    if before and not after:
        console.print("注意：备份中没有用户，恢复后不再区分用户，任何人都能以管理员身份修改数据；请用 compliance user add 重新添加用户",
                      style="yellow", markup=False, soft_wrap=True)
    elif before - after:
        console.print(f"注意：备份中没有用户「{'」「'.join(sorted(before - after))}」，他们须重新添加（compliance user add）",
                      style="yellow", markup=False, soft_wrap=True)

