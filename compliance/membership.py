"""Member-level views of a scope: the six-month watch, mobile members, training hours; dues and exemptions."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from compliance.errors import InputError
from compliance.importing import file_meta
from compliance.members import MemberInfo, MobileRow, WatchRow, mobile_members, training_hours, watch
from compliance.orgs import OrgIndex, OrgRow
from compliance.store import Store
from compliance.store.scope import ids_of
from compliance.tabular import CellError, Column, Table, parse_date, parse_hours, parse_text, sharing, stream_table

DUES_COLUMNS = [Column("姓名", "member", True), Column("党组织", "org", True, 1000), Column("月份", "month", True),
                Column("金额", "amount", True), Column("交纳日期", "paid_on")]
ADVANCE_LIMIT = 6       # months ahead a payment may cover, by default (`init --dues-advance-months`)


def advance_limit(store: Store) -> int:
    """Return how many months ahead a dues payment may cover: `init --dues-advance-months`, 6 by default."""
    return int(store.setting("dues_advance_months") or ADVANCE_LIMIT)


def _scope(store: Store, under: str | None) -> tuple[OrgIndex, list[OrgRow], str | None]:
    index = OrgIndex(store.orgs())
    if under:
        root = index.resolve(under)
        return index, index.subtree(root), root.path
    return index, sorted(index.by_id.values(), key=lambda o: o.path), None


def _members(store: Store, index: OrgIndex, orgs: list[OrgRow]) -> list[MemberInfo]:
    rows = store.members([o.id for o in orgs])
    exempt = store.exemptions([m.id for m in rows])
    return [MemberInfo(m.id, m.org_id, index.by_id[m.org_id].path, m.name, m.status, m.mobile, m.liaison, m.joined,
                       tuple(exempt.get(m.id, ()))) for m in sorted(rows, key=lambda m: (index.by_id[m.org_id].path, m.name))]


def _records(store: Store, index: OrgIndex, orgs: list[OrgRow], root: str | None) -> list:
    ids = {o.id for o in orgs}
    if not ids:
        return []
    roots = [root] if root else [o.path for o in index.by_id.values() if o.parent_id is None]
    return [r for path in roots for org_id, rows in store.scope_records(path, ids=ids_of(ids)) if org_id in ids for r in rows]


def member_watch(store: Store, under: str | None, as_of: date, since: date | None = None) -> list[WatchRow]:
    """Return every member's months without organizational life and without dues, as of `as_of`."""
    index, orgs, root = _scope(store, under)
    members = _members(store, index, orgs)
    dues = store.dues_paid([m.id for m in members])
    dues_orgs = {m.org_id for m in members if dues.get(m.id)}
    start = since or date(as_of.year - 1, as_of.month, 1)
    from compliance.tracking import watch_months

    return watch(members, _records(store, index, orgs, root), dues, dues_orgs, as_of, start, warn=watch_months(store))


def mobile_list(store: Store, under: str | None, as_of: date) -> list[MobileRow]:
    index, orgs, root = _scope(store, under)
    return mobile_members(_members(store, index, orgs), _records(store, index, orgs, root), as_of)


def hours_list(store: Store, under: str | None, year: int) -> list[dict[str, Any]]:
    """Return each member's training hours in `year` and what is missing to 32."""
    index, orgs, root = _scope(store, under)
    members = _members(store, index, orgs)
    totals = training_hours(members, _records(store, index, orgs, root), year)
    from compliance.members import TRAINING_HOURS

    return [{"org": m.org, "member": m.name, "hours": totals[m.id], "missing": max(0.0, TRAINING_HOURS - totals[m.id])}
            for m in members]


def indicators(store: Store, under: str | None, as_of: date) -> list:
    """Return the roster indicators of every branch in the scope (seed 003 §二(二)3)."""
    from compliance.members import roster_indicators

    index, orgs, _ = _scope(store, under)
    by_org: dict[int, list] = defaultdict(list)
    for m in store.members([o.id for o in orgs]):
        by_org[m.org_id].append((m.born, m.joined, m.gender))
    return [roster_indicators(o.path, by_org[o.id], as_of) for o in orgs if o.type == "党支部"]


def unpaid(store: Store, under: str | None, as_of: date) -> list[dict[str, Any]]:
    """Return members of branches that record dues who have not paid this month, and their unpaid run of months."""
    from compliance.members import consecutive_gap, month_key

    index, orgs, _ = _scope(store, under)
    members = _members(store, index, orgs)
    paid = store.dues_paid([m.id for m in members])
    recording = {m.org_id for m in members if paid.get(m.id)}
    current = month_key(as_of)
    rows = []
    for m in members:
        if m.org_id not in recording or current in paid.get(m.id, {}):
            continue
        run = 1 + consecutive_gap(set(paid.get(m.id, {})), date(as_of.year - 1, as_of.month, 1),
                                  (as_of.replace(day=1) - timedelta(days=1)).replace(day=1), m.exemptions)
        rows.append({"org": m.org, "member": m.name, "last_paid": max(paid[m.id]) if paid.get(m.id) else None,
                     "months": run, "three_or_more": run >= 3})
    return rows


def exempt_member(store: Store, org_ref: str, name: str, start: date, end: date, reason: str) -> int:
    index = OrgIndex(store.orgs())
    org = index.resolve(org_ref)
    member = next((m for m in store.members([org.id]) if m.name == name.strip()), None)
    if member is None:
        raise InputError(f"「{name}」不是「{org.path}」的党员")
    if end < start:
        raise InputError(f"--to：结束日期 {end.isoformat()} 早于开始日期 {start.isoformat()}")
    if not reason.strip():
        raise InputError("--reason：须写明原因（如 因病经批准、经批准出国）")
    return store.add_exemption(member.id, org.id, start, end, reason.strip())


def _month(value: Any) -> str:
    text = str(value or "").strip()
    m = re.fullmatch(r"(\d{4})[-/年.](\d{1,2})月?", text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise CellError("不是月份（应写作 2026-11）")
    return f"{int(m.group(1))}-{int(m.group(2)):02d}"


def load_dues(store: Store, table: Table, meta: Callable[[], dict[str, Any]], whole: bool = True) -> int:
    """Check every dues row, then add them in one transaction; a month already paid is skipped.

    `whole`: the rows name many organizations (a file), whose rosters are read at once (`Rosters`).
    """
    from compliance.importing import Rosters, _Problems

    problems = _Problems(table)
    index = OrgIndex(store.orgs())
    today = store.today()
    limit = advance_limit(store)
    # Member ids by organization and name, from plain rows: a province's whole roster as rows took 700 MB.
    rosters = Rosters(store, whole)
    rows: list[tuple[Any, ...]] = []
    share = sharing()
    for number, values in table.rows:
        found = index.find(parse_text(values.get("org")) or "")
        if not isinstance(found, OrgRow):
            problems.add(number, "org", values.get("org"), "找不到该党组织或名称不唯一")
            continue
        name = parse_text(values.get("member"))
        member_id = rosters.of(found.id).get(name or "")
        if member_id is None:
            problems.add(number, "member", name, f"不是「{found.path}」的党员")
            continue
        month = problems.parse(number, values, "month", _month)
        amount = problems.parse(number, values, "amount", parse_hours)
        paid_on = problems.parse(number, values, "paid_on", parse_date) or today
        if amount is not None and amount <= 0:
            problems.add(number, "amount", values.get("amount"), "金额应大于0")
        if paid_on > today:
            problems.add(number, "paid_on", values.get("paid_on"), "交纳日期晚于今天")
        if month:
            year, mon = (int(x) for x in month.split("-"))
            ahead = (year - paid_on.year) * 12 + mon - paid_on.month
            if ahead > limit:
                problems.add(number, "month", values.get("month"), f"预交党费最多覆盖今后{limit}个月")
        if month and amount:
            # A tuple of DUES_FIELDS, months, amounts and dates held once: a province pays 2.9 million times.
            rows.append((member_id, found.id, share(month), share(amount), share(paid_on)))
    problems.raise_if_any()
    return store.add_dues(DUES_FIELDS, rows, meta())      # once the rows are read: a streamed file counts them as it goes


DUES_FIELDS = ("member_id", "org_id", "month", "amount", "paid_on")


def import_dues(store: Store, path: Path) -> int:
    """Load a dues file; its rows are read as they are checked, not held."""
    table = stream_table(path, DUES_COLUMNS)
    return load_dues(store, table, lambda: file_meta(path, table))


def log_dues(store: Store, values: dict[str, Any]) -> int:
    headers = {"member": "--member", "org": "--org", "month": "--month", "amount": "--amount", "paid_on": "--paid-on"}
    return load_dues(store, Table(Path("命令行参数"), headers, [(0, values)]), lambda: {"source": "log"}, whole=False)
