"""Record versions, the audit log and users for the terminal, JSON and CSV."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Callable, Collection, Iterable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from compliance.report.labels import yuan
from compliance.report.tables import titled_table
from compliance.store import TZ
from compliance.store.audit import AuditRow
from obligations.catalog import Catalog
from obligations.rules import Rules

# The kind as the import's 类型 column names it, and its code apart; the signatures, hours and photos too: an office
# looking for unsigned records in the CSV found neither, and a 类型 column of codes (try-out).
RECORD_HEADINGS = {"id": "编号", "version": "版本", "org": "党组织", "name": "类型", "kind": "类型代码", "date": "日期",
                   "expected": "应到", "present": "实到", "topic": "主题", "group": "党小组", "member": "党员",
                   "entered_on": "录入日期", "recorded_at": "录入时间", "void": "作废原因", "recorder": "记录人", "lecturer": "主讲人",
                   "attendees": "参会人员", "excused": "请假人员", "counterpart": "谈话对象", "secretary_signed": "书记签字",
                   "recorder_signed": "记录人签字", "hours": "学时", "photos": "图片"}
AUDIT_HEADINGS = {"seq": "序号", "at": "时间", "actor": "操作人", "action": "操作", "entity": "对象", "entity_id": "编号",
                  "org": "党组织", "reason": "原因", "detail": "内容"}
ACTION_LABELS = {"import": "导入", "log": "登记", "correct": "更正", "void": "作废", "deduct": "扣分", "supervise": "督查",
                 "publish": "发布", "rectify_close": "销号", "rectify_reopen": "撤销销号", "rectify_add": "登记整改事项", "user_add": "添加用户", "user_disable": "停用用户", "user_enable": "恢复用户", "denied": "拒绝", "setting": "设置",
                 "restore": "恢复", "read": "查看", "session": "使用", "init": "初始化", "backup": "备份",
                 "org_import": "导入党组织", "member_import": "导入党员", "record_import": "导入记录",
                 "dues": "登记党费", "exempt": "登记免除", "grade": "评定等次", "scheduler": "调度器",
                 "leave": "登记离开", "unleave": "撤销离开", "transfer": "组织关系转接", "move": "调整隶属关系",
                 "schedule": "设置定时任务", "unschedule": "删除定时任务", "retry": "重发", "outbox": "提醒发件箱"}

# Entries whose void the commands call a withdrawal (撤销).
WITHDRAWN = frozenset({"exemption", "dues", "deduction"})

# What an audit entry is about, as its table shows it (its JSON keeps the program's word).
ENTITY_LABELS = {"record": "记录", "org": "党组织", "member": "党员", "dues": "党费", "deduction": "扣分", "run": "督查",
                 "rectification": "整改事项", "user": "用户", "setting": "设置", "database": "数据库",
                 "exemption": "免除", "job": "定时任务", "outbox": "提醒发件箱"}


def version_dict(v: dict[str, Any], org: str, rules: Rules) -> dict[str, Any]:
    """Return one stored version as the JSON object `record show` and `record list` print."""
    return {
        "id": v["record_id"], "version": v["version"], "org": org, "kind": v["kind"], "name": rules.kind_name(v["kind"]),
        "date": v["held_on"].isoformat(), "expected": v["expected"], "present": v["present"], "topic": v["topic"],
        "group": v["group_name"], "member": v.get("member_name"), "secretary_signed": v["secretary_signed"],
        "recorder_signed": v["recorder_signed"], "photos": v["photos"], "hours": v["hours"],
        "recorder": v["recorder"], "lecturer": v["lecturer"], "attendees": v["attendees"], "excused": v["excused"],
        "counterpart": v["counterpart"],
        # 录入日期: when the record was first entered (an import's 录入日期, else its first version's
        # time), which decides 逾期录入; 录入时间: when this version was written to the database.
        "entered_on": v["first_recorded_at"].astimezone(TZ).date().isoformat(),
        "recorded_at": v["recorded_at"].astimezone(TZ).isoformat(timespec="seconds"),
        "superseded": v["superseded_at"] is not None, "void": v["void_reason"] if v["voided_at"] else None,
    }


def audit_rows(entries: list[AuditRow], org_paths: Callable[[Iterable[int]], dict[int, str]]) -> list[dict[str, Any]]:
    """Return entries as the JSON objects `audit log` prints, the paths of the organizations they name read by `org_paths`."""
    details = [json.loads(e.detail) for e in entries]
    ids = {e.org_id for e in entries if e.org_id}
    for detail in details:
        if isinstance(detail, dict) and detail.get("org_ids"):
            ids.update(detail["org_ids"])
    paths = org_paths(ids)
    return [audit_dict(e, detail, paths) for e, detail in zip(entries, details)]


def audit_dict(e: AuditRow, detail: Any, paths: dict[int, str]) -> dict[str, Any]:
    """Return one entry, its `detail` parsed, with the paths of the organizations it names."""
    if isinstance(detail, dict) and detail.get("org_ids"):
        detail["org_paths"] = [paths[i] for i in detail["org_ids"] if i in paths]
    return {"seq": e.seq, "at": e.at.astimezone(TZ).isoformat(timespec="seconds"), "actor": e.actor, "action": e.action,
            "entity": e.entity, "entity_id": e.entity_id, "org": paths.get(e.org_id) if e.org_id else None, "reason": e.reason,
            "detail": detail, "hash": e.hash}


def audit_within(row: dict[str, Any], covers: Callable[[str], bool]) -> dict[str, Any]:
    """Return an entry as a user whose reach is `covers` may see it: the organizations its detail names, only those within reach.

    An import of a county's tree or roster touches a branch and every other township: its
    secretary sees the entry, and of its lists (added, updated, org_ids and their paths) the part that is theirs.
    """
    detail = row["detail"]
    if not isinstance(detail, dict):
        return row
    trimmed = dict(detail)
    if isinstance(detail.get("org_ids"), list) and isinstance(detail.get("org_paths"), list) and \
            len(detail["org_ids"]) == len(detail["org_paths"]):
        kept = [(i, p) for i, p in zip(detail["org_ids"], detail["org_paths"]) if covers(p)]
        trimmed["org_ids"], trimmed["org_paths"] = [i for i, _ in kept], [p for _, p in kept]
    elif isinstance(detail.get("org_paths"), list):
        trimmed["org_paths"] = [p for p in detail["org_paths"] if covers(p)]
        trimmed.pop("org_ids", None)
    for key in ("added", "paths"):
        if isinstance(detail.get(key), list):
            trimmed[key] = [p for p in detail[key] if not isinstance(p, str) or covers(p)]
    if isinstance(detail.get("message"), str) and isinstance(detail.get("paths"), list):
        # A refusal's words name what was refused: those out of reach, the longest first (a path may begin another).
        # Not where it begins a longer path: a secretary refused her township read her own scope as （其他党组织）/第一党支部
        # (county try-out).
        message = detail["message"]
        for p in sorted((p for p in detail["paths"] if isinstance(p, str) and not covers(p)), key=len, reverse=True):
            message = re.sub(re.escape(p) + "(?!/)", "（其他党组织）", message)
        trimmed["message"] = message
    ids = set(trimmed.get("org_ids") or ())
    if isinstance(detail.get("updated"), list):
        # An organization updated is named by its id, among org_ids.
        trimmed["updated"] = [u for u in detail["updated"] if not isinstance(u, dict) or u.get("id") in ids]
    if isinstance(detail.get("left"), list):
        # A member file's leavers: (organization id, name, day, reason) each.
        trimmed["left"] = [who for who in detail["left"] if isinstance(who, list) and who and who[0] in ids]
    return {**row, "detail": trimmed}


def audit_touches(row: dict[str, Any], root: str) -> bool:
    """Return True when an audit entry concerns an organization at or below `root`."""
    paths = [row["org"]] if row["org"] else []
    detail = row["detail"] if isinstance(row["detail"], dict) else {}
    paths += detail.get("org_paths", []) + detail.get("paths", [])
    if isinstance(detail.get("added"), list):
        paths += [p for p in detail["added"] if isinstance(p, str)]
    return any(p == root or p.startswith(root + "/") for p in paths)


def print_versions(console: Console, rows: list[dict[str, Any]], restored: Collection[int] = ()) -> None:
    """Print a record's versions; those of `restored` (version numbers) were voided and later brought back (`record restore`)."""
    table = titled_table(f"记录 {rows[0]['id']}：{rows[-1]['org']} {rows[-1]['name']}", ("版本", "日期", "应到/实到", "主题", "状态", "录入日期", "录入时间"),
                         ("版本", "日期", "录入日期", "录入时间"), lines=True)
    for r in rows:
        corrected = "已被更正" + (f"：{r['correction_reason']}" if r.get("correction_reason") else "")
        state = (f"已作废：{r['void']}" + ("（后已恢复）" if r["version"] in restored else "")) if r["void"] else (corrected if r["superseded"] else "当前")
        counts = f"{r['expected'] or '—'}/{r['present'] or '—'}"
        table.add_row(str(r["version"]), r["date"], counts, r["topic"] or "", state, r["entered_on"], r["recorded_at"][:16].replace("T", " "))
    console.print(table)
    # A version of another branch or kind (record correct --org, --kind) said so only in JSON; the title names the
    # current one's (try-out).
    moved = [(key, label) for key, label in (("org", "党组织"), ("name", "类型")) if len({r[key] for r in rows}) > 1]
    for r in rows:
        # What the table has no room for: who came, who spoke, who signed.
        signed = {True: "是", False: "否", None: "—"}
        details = [(label, r[key]) for key, label in moved + list(VERSION_DETAILS) if r[key] not in (None, "")]
        details.append(("签字", f"书记 {signed[r['secretary_signed']]}，记录人 {signed[r['recorder_signed']]}"))
        prefix = f"第{r['version']}版 " if len(rows) > 1 else ""
        console.print(prefix + "；".join(f"{label}：{value:g}" if isinstance(value, float) else f"{label}：{value}" for label, value in details),
                      markup=False, soft_wrap=True)


VERSION_DETAILS = (("group", "党小组"), ("member", "党员"), ("counterpart", "谈话对象"), ("lecturer", "主讲人"), ("recorder", "记录人"),
                   ("attendees", "参会人员"), ("excused", "请假人员"), ("hours", "学时"), ("photos", "图片"))


def records_to_mend(rows: list[dict[str, Any]], catalog: Catalog | None, org_type: str, sector: str | None,
                    committee_on: Callable[[date], bool], unsigned: bool, incomplete: bool) -> list[dict[str, Any]]:
    """Return the records of `rows` (`version_dict`) a supervision run counts as unsigned (with `unsigned`) or lacking
    evidence (with `incomplete`), as `supervision.record_marks` does, each with what it lacks (`lacking`: 书记签字、图片).

    `committee_on(day)` tells whether the organization had a committee in the month beginning `day`: a record only a
    committee's obligations count (支委会) is not counted otherwise.
    """
    from compliance.importing import RECORD_LABELS as labels
    from compliance.supervision import record_asks

    if catalog is None:
        return []
    asked: dict[str, tuple[bool, tuple[str, ...], bool]] = {}
    found = []
    for row in rows:
        if row["kind"] not in asked:
            asked[row["kind"]] = record_asks(catalog, row["kind"], org_type, sector)
        signatures, required, needs_committee = asked[row["kind"]]
        if row["void"] or (needs_committee and not committee_on(date.fromisoformat(row["date"]).replace(day=1))):
            continue
        lacking = [labels[f] for f in ("secretary_signed", "recorder_signed") if unsigned and signatures and not row[f]]
        lacking += [labels[f] for f in required if incomplete and row[f] in (None, "", 0)]
        if lacking:
            found.append({**row, "lacking": "、".join(lacking)})
    return found


def print_records(console: Console, rows: list[dict[str, Any]], org: str, mending: bool = False) -> None:
    """Print a table of records (`version_dict`); with `mending`, those `records_to_mend` found, with what each lacks."""
    if not rows:
        console.print(f"{org}：{'没有未签字或材料不全的记录' if mending else '没有记录'}。")
        return
    table = titled_table(f"{org} {'未签字或材料不全' if mending else ''}的记录", ("编号", "日期", "类型", "对象", "应到/实到", "主题", "版本")
                         + (("待补",) if mending else ()))
    for r in rows:
        who = r["group"] or r["member"] or ""
        mark = f"（已作废：{r['void']}）" if r["void"] else ""
        table.add_row(str(r["id"]), r["date"], r["name"] + mark, who, f"{r['expected'] or '—'}/{r['present'] or '—'}",
                      r["topic"] or "", str(r["version"]), *((r["lacking"],) if mending else ()))
    console.print(table)


def audit_words(row: dict[str, Any]) -> dict[str, Any]:
    """Return an audit entry with its action and what it is about in Chinese, as the table names them."""
    action = "撤销" if row["action"] == "void" and row["entity"] in WITHDRAWN else ACTION_LABELS.get(row["action"], row["action"])
    labels = ACTION_LABELS if row["action"] == "denied" else ENTITY_LABELS
    return {**row, "action": action, "entity": labels.get(row["entity"], row["entity"])}


def print_audit(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("审计日志：没有条目。")
        return
    table = titled_table("审计日志", ("序号", "时间", "操作人", "操作", "对象", "党组织", "原因"), whole=("序号", "时间"))
    for r in rows:
        entity = ACTION_LABELS.get(r["entity"], r["entity"]) if r["action"] == "denied" else ENTITY_LABELS.get(r["entity"], r["entity"])
        what = f"{entity} {r['entity_id']}" if r["entity_id"] else entity
        org, reason = r["org"] or "", r["reason"] or ""
        detail = r["detail"] if isinstance(r["detail"], dict) else {}
        if r["action"] == "denied":
            # A refusal names what it was refused on and why in its detail only.
            org = org or "、".join(detail.get("paths") or [])
            reason = reason or detail.get("message") or ""
        elif r["entity"] == "dues":
            # A payment by its member and month, as a secretary names it (its key is the member's number).
            payment = detail.get("payment") or {}
            month = detail.get("month") or payment.get("month")
            if detail.get("member") and month:
                what = f"{entity} {detail['member']} {month}"
                if payment:
                    amount = payment.get("amount")
                    what += f"（{yuan(amount) if isinstance(amount, (int, float)) else amount} 元，{payment.get('paid_on')} 交纳）"
        elif r["action"] == "move" and isinstance(detail.get("from"), str):
            # Where it was: its path now is the entry's 党组织 (`org move`).
            what += f"（原为 {detail['from']}）"
        paths = detail.get("org_paths") or []
        if not org and paths:
            org = paths[0] + (f" 等{len(paths)}个" if len(paths) > 1 else "")
        action = ACTION_LABELS.get(r["action"], r["action"])
        if r["action"] == "void" and r["entity"] in WITHDRAWN:
            action = "撤销"         # as the commands say (已撤销); a record is 作废
        if isinstance(detail.get("file"), str):
            # An import by the file it read (its SHA-256 is in the JSON); payments from a file are imported, not logged.
            what += f"（文件 {detail['file']}）"
            if r["action"] == "dues":
                action = "导入"
        # As written: a file, a name or a reason with [brackets] was taken for a style tag and lost.
        table.add_row(str(r["seq"]), r["at"][:19].replace("T", " "), escape(r["actor"]), action, escape(what), escape(org), escape(reason))
    console.print(table)


def print_users(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("还没有用户：当前以本地管理员身份操作。")
        return
    table = Table(title="用户", header_style="bold")
    for heading in ("用户", "角色", "范围", "状态"):
        table.add_column(heading)
    for r in rows:
        table.add_row(r["name"], r["role"], r["org"], r["state"])
    console.print(table)
