"""Cost grows with the records, not with organizations × queries: statement counts at 10 and 1,000 branches."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from benchmarks.generate_province import generate_province
from compliance.store import Store
from compliance.supervision import supervise
from compliance.tracking import Window, org_status, overdue
from tests.conftest import load_province

DAY = date(2026, 11, 20)


def _province(tmp_path: Path, url: str, rules, branches: int) -> tuple[Store, str]:
    folder = tmp_path / f"p{branches}"
    generate_province(folder, branches, seed=7, years=1, dues_share=0.5)
    store = load_province(url, rules, folder)
    root = next(o.path for o in store.orgs() if o.parent_id is None)
    return store, root


def _executed(store: Store, action) -> list[tuple[str, Any, bool]]:
    """Return (statement, parameters, whether executemany) of what `action` executes."""
    seen: list[tuple[str, Any, bool]] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters, executemany))

    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)
    return seen


def _statements(store: Store, action) -> list[str]:
    return [statement for statement, _, _ in _executed(store, action)]


@pytest.fixture(scope="module")
def provinces(tmp_path_factory, rules):
    made = {}
    for branches in (10, 1000):
        folder = tmp_path_factory.mktemp(f"scale{branches}")
        made[branches] = _province(folder, f"sqlite:///{folder / 'p.db'}", rules, branches)
    return made


def test_overdue_issues_the_same_statements_for_10_and_1000_branches(provinces, rules):
    window = Window(date(2026, 1, 1), DAY, DAY)
    counts = {}
    for branches, (store, root) in provinces.items():
        found = []
        counts[branches] = _statements(store, lambda: found.extend(overdue(store, rules, root, window)))
        assert found
    assert len(counts[10]) == len(counts[1000]) and len(counts[10]) <= 8
    assert sum("FROM record" in s for s in counts[1000]) == 1


def _full_scans(store: Store, action) -> list[str]:
    """Return the steps of the query plans of what `action` reads that go through a whole table of records, members, dues, exemptions or ledger items."""
    import re
    import sqlite3

    reads = [(statement, tuple(parameters)) for statement, parameters, many in _executed(store, action)
             if statement.lstrip().upper().startswith("SELECT") and not many]
    assert reads
    con = sqlite3.connect(store.engine.url.database)
    try:
        return [detail for statement, parameters in reads for *_, detail in con.execute("EXPLAIN QUERY PLAN " + statement, parameters)
                if re.match(r"SCAN (record|member|duespayment|memberexemption|rectification)\b", detail)]
    finally:
        con.close()


def test_status_of_one_branch_does_not_read_the_province(provinces, rules):
    store, root = provinces[1000]
    branch = next(o for o in store.orgs() if o.type == "党支部")
    window = Window(date(2026, 1, 1), DAY, DAY)
    assert len(_statements(store, lambda: org_status(store, rules, branch.path, window))) <= 8
    # Nor does it look at every record of the province to find the branch's: 14 s at 50,000 branches.
    found = []
    assert _full_scans(store, lambda: found.extend(org_status(store, rules, branch.path, window))) == []
    assert found and {f.org for f in found} == {branch.path}


def test_overdue_of_one_township_reads_only_its_organizations(provinces, rules):
    store, root = provinces[1000]
    orgs = store.orgs()
    children = {}
    for o in orgs:
        children.setdefault(o.parent_id, []).append(o)
    township = next(o for o in orgs if o.type != "党支部" and o.parent_id is not None and
                    any(c.type == "党支部" for c in children.get(o.id, [])) and
                    any(c.type != "党支部" for c in children.get(o.id, [])))
    window = Window(date(2026, 1, 1), DAY, DAY)
    found = []
    assert _full_scans(store, lambda: found.extend(overdue(store, rules, township.path, window))) == []
    assert found and all(f.org == township.path or f.org.startswith(township.path + "/") for f in found)
    assert found == [f for f in overdue(store, rules, root, window) if f.org == township.path or f.org.startswith(township.path + "/")]


@pytest.mark.parametrize("open_only", [False, True])
def test_the_ledger_of_one_township_is_read_by_its_organizations_not_the_provinces_items(provinces, open_only):
    """A province's first month opened 455,308 ledger items, and the ledger keeps every item ever."""
    store, _ = provinces[1000]
    township = next(o for o in store.orgs() if o.type == "乡镇党委")
    ids = [o.id for o in store.index_around(township.path).subtree(township)]
    assert _full_scans(store, lambda: store.rectifications(ids, open_only)) == []
    assert _full_scans(store, lambda: list(store.open_gaps(ids))) == []


def test_logging_one_meeting_reads_its_branch_roster_not_the_province(provinces, rules):
    from compliance.importing import log_record

    store, root = provinces[1000]
    branch = next(o for o in store.orgs() if o.type == "党支部")
    names = [m.name for m in store.members([branch.id])][:2]
    logged = []
    values = {"org": branch.path, "kind": "theme_day", "date": "2026-11-06", "topic": "学习", "photos": "a.jpg",
              "attendees": "、".join(names)}
    statements = _statements(store, lambda: logged.append(log_record(store, rules, values)))
    assert logged[0].added == 1
    # The whole province's roster took 6 s to read for one logged meeting at 50,000 branches.
    member_reads = [s for s in statements if " ".join(s.split()).startswith("SELECT member.id, member.org_id, member.name")]
    assert member_reads and all("WHERE member.org_id IN" in " ".join(s.split()) for s in member_reads), member_reads
    record = store.record_versions(logged[0].ids[0])[-1]
    assert record["present"] == len(names) and record["attendees"] == "、".join(names)


def test_logging_one_dues_payment_reads_its_branch_roster_not_the_province(provinces, rules):
    from compliance.membership import log_dues

    store, root = provinces[1000]
    branch = next(o for o in store.orgs() if o.type == "党支部")
    member = store.members([branch.id])[0]
    paid = store.dues_paid([member.id]).get(member.id, {})
    month = next(m for m in (f"{y}-{n:02d}" for y in (2026, 2025, 2024) for n in range(12, 0, -1)) if m not in paid)
    added = []
    values = {"org": branch.path, "member": member.name, "month": month, "amount": "10", "paid_on": "2026-11-20"}
    statements = _statements(store, lambda: added.append(log_dues(store, values)))
    assert added == [1] and store.dues_paid([member.id])[member.id][month] == date(2026, 11, 20)
    member_reads = [s for s in statements if " ".join(s.split()).startswith("SELECT member.id, member.org_id, member.name")]
    assert member_reads and all("WHERE member.org_id IN" in " ".join(s.split()) for s in member_reads), member_reads


def test_member_checks_of_a_province_hold_one_organization_at_a_time(provinces, monkeypatch):
    """`members watch`, `mobile list` and `members hours` of a province: its records as one list took 2.3 GB at 10,000 branches."""
    from compliance import members as checks
    from compliance import membership
    from compliance.tracking import watch_months

    store, root = provinces[1000]
    paths = {o.id: o.path for o in store.orgs()}
    everyone = sorted(store.members(), key=lambda m: (paths[m.org_id], m.name))
    records = [r for _, rows in store.scope_records(root) for r in rows]
    dues = store.dues_paid(m.id for m in everyone)
    exempt = store.exemptions(m.id for m in everyone)
    infos = [checks.MemberInfo(m.id, m.org_id, paths[m.org_id], m.name, m.status, m.mobile, m.liaison, m.joined,
                               tuple(exempt.get(m.id, ()))) for m in everyone]
    # The whole province at once, as the commands used to work it out.
    expected = checks.watch(infos, records, dues, {m.org_id for m in everyone if dues.get(m.id)}, DAY,
                            date(DAY.year - 1, DAY.month, 1), warn=watch_months(store))
    calls: list[tuple[int, int]] = []
    for name in ("watch", "mobile_members", "training_hours"):
        def spy(members, found, *args, _check=getattr(membership, name), **kwargs):
            members, found = list(members), list(found)
            calls.append((len({m.org_id for m in members}), len({r.org_id for r in found})))
            return _check(members, found, *args, **kwargs)

        monkeypatch.setattr(membership, name, spy)
    watched = membership.member_watch(store, root, DAY)
    mobile = membership.mobile_list(store, root, DAY)
    hours = membership.hours_list(store, root, DAY.year)
    assert calls and all(orgs == 1 and found <= 1 for orgs, found in calls), max(calls)
    assert watched == expected and any(r.level for r in watched)
    assert [(r["org"], r["member"]) for r in hours] == [(m.org, m.name) for m in infos]
    assert [(r.org, r.member) for r in mobile] == [(m.org, m.name) for m in infos if m.mobile] and mobile


def test_a_supervision_run_issues_the_same_statements_for_10_and_1000_branches(provinces, rules):
    counts = {}
    for branches, (store, root) in provinces.items():
        # The tree as the store last read it is checked against the audit chain: an earlier test
        # that logged dues in one province (not in the other) costs that check two more statements.
        store.orgs()
        result = {}
        counts[branches] = _statements(store, lambda: result.update(run=supervise(store, rules, root, "2026-11", DAY)))
        assert result["run"].written
    # Snapshot rows and ledger items are written with one executemany each, whatever their number.
    assert len(counts[10]) == len(counts[1000]) and sum(s.startswith("INSERT INTO runfinding") for s in counts[1000]) == 1


def test_record_ids_of_an_import_are_kept_as_ranges():
    from compliance.store.records import Ids

    ids = Ids([[7, 3], range(10, 13), range(0), range(20, 22)])
    assert list(ids) == [7, 3, 10, 11, 12, 20, 21] and len(ids) == 7
    assert (ids[0], ids[2], ids[5], ids[-1]) == (7, 10, 20, 21) and ids[1:3] == [3, 10]
    with pytest.raises(IndexError):
        ids[7]


def test_a_province_has_more_organizations_and_gaps_than_a_statement_may_name(provinces, rules, monkeypatch, tmp_path):
    """SQLite allows 32,766 variables a statement; here the limit is 200 and the province has 1,386 organizations."""
    import sqlite3

    from compliance.store import runs

    store, root = provinces[1000]
    monkeypatch.setattr(runs, "CHUNK", 100, raising=False)

    def limit(dbapi_connection, _record) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 200)

    event.listen(store.engine, "connect", limit)
    store.engine.dispose()       # new connections, with the limit
    try:
        result = supervise(store, rules, root, "2026-10", date(2026, 10, 31))
        assert result.written and len(result.gaps) > 200 and len(result.ledger) >= len(result.gaps)
    finally:
        event.remove(store.engine, "connect", limit)
        store.engine.dispose()
