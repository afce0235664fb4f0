"""Supervision runs on SQLite and PostgreSQL: snapshots, revisions, the ledger, bulletins, concurrency."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from compliance import importing, model
from compliance.assessment import add_deduction, score_scope
from compliance.errors import InputError, NotFound
from compliance.report.bulletin import make_bulletin, write_bulletin
from compliance.store import TZ, Store
from compliance.store.runs import ELECTED_NOTE, MADE_GOOD_NOTE, PAID_NOTE
from compliance.supervision import GAP_STATUSES, compare, gap_key, kinds_of, supervise
from compliance.tracking import WATCH_OBLIGATIONS, Window, overdue, year_start
from tests.conftest import write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
TOWN = "图河镇党委"


def _count(store: Store, table, **where) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.engine.connect() as conn:
        return conn.execute(query).scalar()


def _records(store: Store, rules, tmp_path: Path, body: str, name: str = "r.csv") -> None:
    importing.import_records(store, rules, write_csv(tmp_path / name, "党组织,类型,日期,应到,实到,主题,书记签字,记录人签字,党小组,图片\n" + body))


@pytest.fixture
def busy_town(town: Store, rules, tmp_path: Path) -> Store:
    """The township with some of 朱庄村第一党支部's meetings logged through October."""
    rows = [f"{BRANCH},党员大会,2026-{m:02d}-15,10,8,学习,是,是,," for m in (3, 6, 9)]
    rows += [f"{BRANCH},主题党日,2026-{m:02d}-05,,,学习,,,,a.jpg" for m in range(1, 9)]
    _records(town, rules, tmp_path, "\n".join(rows))
    return town


def test_a_run_snapshots_findings_and_opens_a_ledger_item_per_gap(busy_town: Store, rules):
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    assert result.written and result.run.revision == 1 and result.run.published_at is None
    assert _count(busy_town, model.RunFinding.__table__, run_id=result.run.id) == len(result.findings)
    assert result.opened == len(result.gaps) == _count(busy_town, model.Rectification.__table__)
    theme = next(r for r in result.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    assert theme.deadline == date(2026, 12, 31) and theme.responsible == "陶英" and "主题党日" in theme.matter


def test_the_gaps_agree_with_overdue(busy_town: Store, rules):
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    day = date(2026, 11, 20)
    listed = overdue(busy_town, rules, TOWN, Window(date(2026, 1, 1), day, day))
    assert sorted((f.org, f.obligation, f.period, f.member, f.group) for f in listed if f.status != "due") == \
        sorted((f.org, f.obligation, f.period, f.member, f.group) for f in result.gaps)


def test_running_the_same_month_twice_duplicates_nothing(busy_town: Store, rules):
    first = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    assert not again.written and again.run.id == first.run.id and again.opened == 0
    assert _count(busy_town, model.SupervisionRun.__table__) == 1
    assert _count(busy_town, model.RunFinding.__table__) == len(first.findings)
    assert _count(busy_town, model.Rectification.__table__) == first.opened


def test_a_published_run_is_frozen_and_a_rerun_is_a_new_revision(busy_town: Store, rules, tmp_path: Path):
    first = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    frozen = _count(busy_town, model.RunFinding.__table__, run_id=first.run.id)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    second = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    assert second.run.revision == 2 and second.run.id != first.run.id
    assert _count(busy_town, model.RunFinding.__table__, run_id=first.run.id) == frozen
    assert busy_town.runs(first.run.scope_org_id, "2026-11")[0].published_at is not None


def test_a_later_valid_record_closes_the_ledger_item(busy_town: Store, rules, tmp_path: Path):
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    assert result.closed == 1
    item = next(r for r in result.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    assert item.closed_on == date(2026, 11, 21) and item.closed_run_id == result.run.id and "自动销号" in item.close_note


def test_an_item_whose_period_is_now_exempt_is_closed_as_owed_no_more(busy_town: Store, rules):
    """An exemption entered after a run left that member's items open (21 in the ledger, 15 in the bulletin), to be chased."""
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    mobile = next(m for m in busy_town.members() if m.mobile and busy_town.org_path(m.org_id) == BRANCH)
    item = next(r for r in busy_town.rectifications() if r.obligation == "mobile_report" and r.member == mobile.name)
    assert item.period == "2026-H1" and item.closed_on is None
    busy_town.add_exemption(mobile.id, mobile.org_id, date(2026, 1, 1), date(2026, 6, 30), "因病经批准")
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    closed = next(r for r in result.ledger if r.id == item.id)
    assert closed.closed_on == date(2026, 11, 21) and closed.close_note == "已不再需要（已登记免除、不再适用或不再检查此项），督查自动销号"
    # The other items stay open: only the exempt period's was closed.
    assert result.closed == 1


def test_a_ledger_item_whose_key_is_not_made_of_its_gap_is_closed_all_the_same(busy_town: Store, rules, tmp_path: Path):
    """A run holds open items as gaps and makes their keys (`OpenLedger`); one edited by hand keeps its own key."""
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    item = next(r for r in busy_town.rectifications() if r.obligation == "theme_day" and r.period == "2026-09")
    table = model.Rectification.__table__
    with busy_town.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == item.id).values(gap_key="legacy-item-6"))
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    assert result.closed == 1
    closed = busy_town.rectification(item.id)
    assert closed.gap_key == "legacy-item-6" and closed.closed_on == date(2026, 11, 21) and "自动销号" in closed.close_note


def test_an_item_made_good_by_a_record_corrected_since_says_so_not_that_one_was_entered(busy_town: Store, rules, tmp_path: Path):
    """A 支委会 short of its quorum, corrected after the run listed it, was closed as 已补录有效记录: nothing was entered late,
    the record was rewritten (try-out)."""
    from compliance.store.runs import AUTO_NOTES, CHANGED_NOTE, MADE_GOOD_NOTE

    busy_town.clock = lambda: datetime(2026, 11, 19, 9, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},支委会,2026-09-10,5,2,研究,是,是,,", "committee.csv")
    busy_town.clock = lambda: datetime(2026, 11, 20, 9, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    busy_town.clock = lambda: datetime(2026, 11, 21, 9, tzinfo=TZ)
    branch = next(o.id for o in busy_town.orgs() if o.path == BRANCH)
    items = {r.period: r for r in busy_town.rectifications() if r.obligation == "branch_committee" and r.org_id == branch}
    assert items["2026-09"].closed_on is None and "无效" in items["2026-09"].matter
    short = next(r for r in busy_town.org_records(branch, "branch_committee") if r["held_on"] == date(2026, 9, 10))
    importing.correct_record(busy_town, rules, short["record_id"], {"present": "4"}, "核对签到表")
    # A 支委会 of October entered late closes its own item as made good.
    _records(busy_town, rules, tmp_path, f"{BRANCH},支委会,2026-10-12,5,5,研究,是,是,,", "late.csv")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    closed = {r.period: r.close_note for r in busy_town.rectifications() if r.obligation == "branch_committee" and r.org_id == branch}
    assert closed["2026-09"] == CHANGED_NOTE and closed["2026-10"] == MADE_GOOD_NOTE and closed["2026-08"] is None
    assert CHANGED_NOTE.startswith("没有补录记录：原有记录在列入台账后更正或恢复") and CHANGED_NOTE in AUTO_NOTES
    # A paper record entered since, dated by its 录入日期 before the item, then corrected: entered since all the same (review).
    busy_town.clock = lambda: datetime(2026, 11, 22, 9, tzinfo=TZ)
    importing.import_records(busy_town, rules, write_csv(tmp_path / "paper.csv", "党组织,类型,日期,应到,实到,主题,录入日期\n"
                                                         f"{BRANCH},支委会,2026-08-11,5,2,研究,2026-08-12"))
    paper = next(r for r in busy_town.org_records(branch, "branch_committee") if r["held_on"] == date(2026, 8, 11))
    importing.correct_record(busy_town, rules, paper["record_id"], {"present": "5"}, "核对签到表")
    # A mobile member's report of the half year, made good by correcting the report of another into his (review: another
    # member's report entered since made it 已补录).
    mobile = next(m for m in busy_town.members() if m.mobile and m.org_id == branch)

    others = [m.name for m in busy_town.members() if m.org_id == branch and m.name != mobile.name]
    busy_town.clock = lambda: datetime(2026, 11, 10, 9, tzinfo=TZ)
    importing.log_record(busy_town, rules, {"org": BRANCH, "kind": "流动党员汇报", "date": "2026-05-06", "member": others[0]})
    busy_town.clock = lambda: datetime(2026, 11, 22, 9, tzinfo=TZ)
    report = next(r for r in busy_town.org_records(branch, "mobile_report") if r["held_on"] == date(2026, 5, 6))
    importing.correct_record(busy_town, rules, report["record_id"], {"member": mobile.name}, "登记错人")
    importing.log_record(busy_town, rules, {"org": BRANCH, "kind": "流动党员汇报", "date": "2026-05-07", "member": others[1]})
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22))
    closed = {(r.obligation, r.period, r.member): r.close_note for r in busy_town.rectifications() if r.org_id == branch}
    assert closed[("branch_committee", "2026-08", None)] == MADE_GOOD_NOTE
    assert closed[("mobile_report", "2026-H1", mobile.name)] == CHANGED_NOTE


def test_an_item_a_run_closed_is_opened_again_when_its_gap_comes_back(busy_town: Store, rules, tmp_path: Path):
    """The record that made a gap good was voided: overdue listed the gap again, but its item stayed closed as 已补录有效记录."""
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    closing = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21), publish=True)
    item = next(r for r in closing.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    assert item.closed_on == date(2026, 11, 21)
    with busy_town.engine.connect() as conn:
        late = conn.execute(select(func.max(model.Record.__table__.c.id))).scalar()
    importing.void_record(busy_town, late, "重复登记")
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22))
    reopened = busy_town.rectification(item.id)
    assert (reopened.closed_on, reopened.close_note, reopened.closed_run_id) == (None, None, None)
    assert (again.opened, again.reopened) == (0, 1)
    # It keeps the day it was first listed and its deadline: each reopening gave it a new 列入台账日期 and a month more (try-out).
    assert (reopened.opened_run_id, reopened.opened_on, reopened.deadline) == (again.run.id, date(2026, 11, 20), item.deadline)
    assert [r.id for r in again.ledger if (r.org_id, r.obligation, r.period) == (item.org_id, "theme_day", "2026-09")] == [item.id]
    # What it was closed on, and why, is kept in the run's audit entry.
    entry = next(e for e in reversed(busy_town.audit_log()) if e.action == "supervise")
    assert json.loads(entry.detail)["reopened"] == [{"id": item.id, "closed_on": "2026-11-21", "close_note": "已补录有效记录，督查自动销号"}]
    # Run again, the item is not reopened twice.
    assert supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22)).opened == 0


def test_an_item_reopened_and_made_good_by_restoring_its_record_says_no_record_was_entered(busy_town: Store, rules, tmp_path: Path):
    """An item a run reopened compared its records with the day it was first opened: restoring the voided record that had
    closed it closed it as 已补录有效记录 again, though nothing was entered since it was reopened (review)."""
    from compliance.store.runs import CHANGED_NOTE, MADE_GOOD_NOTE

    busy_town.clock = lambda: datetime(2026, 11, 20, 9, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    busy_town.clock = lambda: datetime(2026, 11, 21, 9, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    closing = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21), publish=True)
    item = next(r for r in closing.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    assert item.close_note == MADE_GOOD_NOTE
    with busy_town.engine.connect() as conn:
        late = conn.execute(select(func.max(model.Record.__table__.c.id))).scalar()
    busy_town.clock = lambda: datetime(2026, 11, 22, 9, tzinfo=TZ)
    importing.void_record(busy_town, late, "重复登记")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22), publish=True)
    assert busy_town.rectification(item.id).closed_on is None
    busy_town.clock = lambda: datetime(2026, 11, 23, 9, tzinfo=TZ)
    importing.restore_record(busy_town, late, "误作废")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 23))
    assert busy_town.rectification(item.id).close_note == CHANGED_NOTE
    # A record entered after the reopening closes it as entered.
    busy_town.clock = lambda: datetime(2026, 11, 24, 9, tzinfo=TZ)
    importing.void_record(busy_town, late, "重复登记")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 24), publish=True)
    busy_town.clock = lambda: datetime(2026, 11, 25, 9, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-09,,,补录,,,,c.jpg", "later.csv")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25))
    assert busy_town.rectification(item.id).close_note == MADE_GOOD_NOTE


def test_bulletins_before_a_run_reopened_an_item_show_it_as_it_stood_on_their_day(busy_town: Store, rules, tmp_path: Path):
    """A run that reopens an item gives it a new day opened: the bulletins before it left the item out altogether."""
    first = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    closing = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21), publish=True)
    item = next(r for r in closing.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    ids = [o.id for o in busy_town.orgs()]
    before = {run.id: (busy_town.rectifications(ids, as_of=run), busy_town.ledger_counts(ids, run)) for run in (first.run, closing.run)}
    [opened] = [r for r in before[first.run.id][0] if r.id == item.id]
    assert (opened.opened_on, opened.closed_on) == (date(2026, 11, 20), None)
    with busy_town.engine.connect() as conn:
        late = conn.execute(select(func.max(model.Record.__table__.c.id))).scalar()
    importing.void_record(busy_town, late, "重复登记")
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22))
    assert again.reopened == 1 and busy_town.rectification(item.id).opened_on == date(2026, 11, 20)
    # The two bulletins before list the item as they did: open from 20 November, closed by the run of the 21st.
    for run in (first.run, closing.run):
        assert (busy_town.rectifications(ids, as_of=run), busy_town.ledger_counts(ids, run)) == before[run.id]
    [shown] = [r for r in busy_town.rectifications(ids, as_of=closing.run) if r.id == item.id]
    assert (shown.opened_on, shown.closed_on, shown.close_note) == (date(2026, 11, 20), date(2026, 11, 21), MADE_GOOD_NOTE)
    # The run that reopened it, and the ledger now, show it open, from the 20th as it first was.
    [now] = [r for r in busy_town.rectifications(ids, as_of=again.run) if r.id == item.id]
    assert (now.opened_on, now.closed_on, now.opened_run_id) == (date(2026, 11, 20), None, again.run.id)
    assert [r for r in busy_town.rectifications(ids) if r.id == item.id] == [now]


def test_a_published_bulletin_written_again_after_an_item_was_reopened_by_hand_shows_it_closed(busy_town: Store, rules,
                                                                                              tmp_path: Path):
    """`rectify reopen` cleared the closing: November's bulletin, written again in December, showed the item open."""
    supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    item = next(r for r in busy_town.rectifications() if r.obligation == "theme_day")
    busy_town.close_rectification(item.id, "回头看：已补开并规范记录", date(2026, 11, 3))
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    ids = [o.id for o in busy_town.orgs()]
    before = busy_town.rectifications(ids, as_of=november.run), busy_town.ledger_counts(ids, november.run)
    busy_town.reopen_rectification(item.id, "复查未通过")
    assert busy_town.rectification(item.id).closed_on is None
    assert (busy_town.rectifications(ids, as_of=november.run), busy_town.ledger_counts(ids, november.run)) == before
    # The bulletin's workbook, written again from the same run, says 已销号 as it did.
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    assert again.run.id == november.run.id
    # Its notice still says one was closed after a follow-up visit (其中1项已整改销号), as its ledger does (review).
    assert again.closed_by_hand == november.closed_by_hand == {(item.org_id, item.obligation, item.period, item.member, item.group_name)}
    book = load_workbook(next(p for p in write_bulletin(again, tmp_path / "out") if p.suffix == ".xlsx"))
    sheet = book["整改台账"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in sheet.iter_rows(min_row=2)]
    [row] = [r for r in rows if r["编号"] == item.id]
    assert (row["完成销号时间"], row["状态"]) == (datetime(2026, 11, 3), "已销号")
    # A bulletin of today's ledger shows it open.
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5))
    [mine] = [r for r in december.ledger if r.id == item.id]
    assert mine.closed_on is None


def _clock_at(monkeypatch, store: Store, month: int, day: int, hour: int = 10) -> None:
    """Set the store's clock (and the day commands take for today) to `day` of `month` 2026, at `hour`."""
    import compliance.store as store_mod

    moment = datetime(2026, month, day, hour, 0, tzinfo=TZ)
    monkeypatch.setattr(store_mod, "now", lambda: moment)
    store.clock = lambda: moment


def _reopened_by_a_run(store: Store, rules, tmp_path: Path, monkeypatch, void_on: tuple[int, int]):
    """Publish November's runs of the 20th and the 21st (which closes September's 主题党日 item, made good by a record
    entered late), then void that record on `void_on` (month, day); return the runs and the item."""
    _clock_at(monkeypatch, store, 11, 20)
    first = supervise(store, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    _clock_at(monkeypatch, store, 11, 21)
    _records(store, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    closing = supervise(store, rules, TOWN, "2026-11", date(2026, 11, 21), publish=True)
    item = next(r for r in closing.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    with store.engine.connect() as conn:
        late = conn.execute(select(func.max(model.Record.__table__.c.id))).scalar()
    _clock_at(monkeypatch, store, *void_on)
    importing.void_record(store, late, "重复登记")
    return first, closing, item


def test_a_draft_run_again_as_of_an_earlier_day_keeps_the_items_it_reopened(busy_town: Store, rules, tmp_path: Path, monkeypatch):
    """The draft's own reopening was dated its first day: run again as of the day before, it showed the item closed (review)."""
    _, _, item = _reopened_by_a_run(busy_town, rules, tmp_path, monkeypatch, (11, 22))
    draft = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22))
    assert draft.reopened == 1
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    assert again.run.id == draft.run.id and any(f.period == "2026-09" and f.obligation == "theme_day" and f.org == BRANCH
                                                for f in again.snapshot.gaps())
    [shown] = [r for r in again.ledger if r.id == item.id]
    assert (shown.closed_on, shown.opened_run_id) == (None, draft.run.id)


def test_an_item_reopened_by_hand_then_by_a_run_of_an_earlier_day_shows_each_run_its_own_state(busy_town: Store, rules, tmp_path: Path,
                                                                                                monkeypatch):
    """A reopening by a run is dated the run's day, before an earlier reopening by hand: the first kept state replaced
    after the run's day was the hand's, and the run that had just reopened the item showed it closed (review)."""
    _clock_at(monkeypatch, busy_town, 11, 20)
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    item = next(r for r in busy_town.rectifications() if r.obligation == "theme_day" and r.period == "2026-09")
    _clock_at(monkeypatch, busy_town, 11, 25)
    busy_town.close_rectification(item.id, "回头看：已整改", date(2026, 11, 25))
    _clock_at(monkeypatch, busy_town, 12, 5, 9)
    busy_town.reopen_rectification(item.id, "复查未通过")
    _clock_at(monkeypatch, busy_town, 12, 5, 10)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    made_good = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30), publish=True)
    assert busy_town.rectification(item.id).closed_on == date(2026, 11, 30)
    with busy_town.engine.connect() as conn:
        late = conn.execute(select(func.max(model.Record.__table__.c.id))).scalar()
    _clock_at(monkeypatch, busy_town, 12, 5, 11)
    importing.void_record(busy_town, late, "重复登记")
    reopening = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30), publish=True)
    assert reopening.reopened == 1
    ids = [o.id for o in busy_town.orgs()]
    [shown] = [r for r in busy_town.rectifications(ids, as_of=reopening.run) if r.id == item.id]
    assert (shown.closed_on, shown.opened_run_id) == (None, reopening.run.id)
    [counted] = [c for c in busy_town.ledger_counts(ids, reopening.run) if c.org_id == item.org_id]
    mine = [r for r in busy_town.rectifications(ids, as_of=reopening.run) if r.org_id == item.org_id]
    assert (counted.open, counted.closed) == (sum(r.closed_on is None for r in mine), sum(r.closed_on is not None for r in mine))
    # The run before it showed the item closed, and so it stays.
    [before] = [r for r in busy_town.rectifications(ids, as_of=made_good.run) if r.id == item.id]
    assert before.closed_on is not None


def test_a_past_month_run_again_after_a_later_run_reopened_an_item_of_its_gaps_shows_it_open(busy_town: Store, rules,
                                                                                             tmp_path: Path, monkeypatch):
    """November run again after December's: a gap of its own that December reopened is listed, and its item too, open, as
    the snapshot (judged on what is known now) says, not as closed on the 21st (review)."""
    first, closing, item = _reopened_by_a_run(busy_town, rules, tmp_path, monkeypatch, (12, 3))
    _clock_at(monkeypatch, busy_town, 12, 5)
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5), publish=True)
    assert december.reopened == 1
    _clock_at(monkeypatch, busy_town, 12, 6)
    november = supervise(busy_town, rules, TOWN, "2026-11")
    assert any(f.period == "2026-09" and f.obligation == "theme_day" and f.org == BRANCH for f in november.snapshot.gaps())
    [shown] = [r for r in november.ledger if r.id == item.id]
    assert shown.closed_on is None
    # The runs of the 20th and the 21st show it as they did: open, then closed as made good.
    ids = [o.id for o in busy_town.orgs()]
    assert [(r.opened_on, r.closed_on) for run in (first.run, closing.run)
            for r in busy_town.rectifications(ids, as_of=run) if r.id == item.id] == [(date(2026, 11, 20), None),
                                                                                       (date(2026, 11, 20), date(2026, 11, 21))]


def test_a_past_month_run_again_after_a_later_run_reopened_an_item_made_good_since_shows_it_closed(busy_town: Store, rules,
                                                                                                  tmp_path: Path, monkeypatch):
    """Not one of its gaps (made good again since December's run reopened it), the item is read as it stood on the run's
    day, closed on the 21st: read as it is now, it was opened after that day and the bulletin left it out (review)."""
    _, closing, item = _reopened_by_a_run(busy_town, rules, tmp_path, monkeypatch, (12, 3))
    _clock_at(monkeypatch, busy_town, 12, 5)
    assert supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5), publish=True).reopened == 1
    _clock_at(monkeypatch, busy_town, 12, 6)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-09,,,补录,,,,c.jpg", "again.csv")
    _clock_at(monkeypatch, busy_town, 12, 7)
    november = supervise(busy_town, rules, TOWN, "2026-11")
    assert november.run.as_of == date(2026, 11, 30) and not any(
        f.period == "2026-09" and f.obligation == "theme_day" and f.org == BRANCH for f in november.snapshot.gaps())
    [shown] = [r for r in november.ledger if r.id == item.id]
    assert (shown.closed_on, shown.close_note) == (date(2026, 11, 21), MADE_GOOD_NOTE)
    # The workbook says how it was closed: one made good by a run and one no longer owed both read 已销号 (try-out).
    book = load_workbook(next(p for p in write_bulletin(november, tmp_path / "out") if p.suffix == ".xlsx"))
    sheet = book["整改台账"]
    header = [c.value for c in sheet[1]]
    [row] = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == item.id]
    assert (row["状态"], row["销号说明"]) == ("已销号", MADE_GOOD_NOTE)
    # Printed on A4 as wide as the page, the ledger landscape, the header on every page: it printed in portrait at its
    # own width, over two pages a row (try-out).
    setup = sheet.page_setup
    assert (setup.paperSize, setup.orientation, setup.fitToWidth or 1, setup.fitToHeight) == (9, "landscape", 1, 0)   # 1 is the default, left out
    assert sheet.print_title_rows.replace("$", "") == "1:1" and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert book["排名"].page_setup.orientation in (None, "portrait") and book["排名"].print_title_rows.replace("$", "") == "1:1"
    mine = [r for r in november.ledger if r.org_id == item.org_id]
    [counted] = [c for c in november.ledger_counts if c.org_id == item.org_id]
    assert (counted.open, counted.closed) == (sum(r.closed_on is None for r in mine), sum(r.closed_on is not None for r in mine))


def test_an_item_closed_as_owed_no_more_is_opened_again_when_the_exemption_is_withdrawn(busy_town: Store, rules):
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    mobile = next(m for m in busy_town.members() if m.mobile and busy_town.org_path(m.org_id) == BRANCH)
    item = next(r for r in busy_town.rectifications() if r.obligation == "mobile_report" and r.member == mobile.name)
    exemption = busy_town.add_exemption(mobile.id, mobile.org_id, date(2026, 1, 1), date(2026, 6, 30), "因病经批准")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21), publish=True)
    assert busy_town.rectification(item.id).closed_on == date(2026, 11, 21)
    busy_town.void_exemption(exemption, mobile.org_id, "登记错人")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 22))
    assert busy_town.rectification(item.id).closed_on is None


def test_an_open_item_whose_gap_becomes_an_invalid_period_says_so(busy_town: Store, rules, tmp_path: Path):
    """A meeting entered late and short of its quorum made the period invalid: the bulletin said 无效, its ledger item 逾期未完成."""
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    item = next(r for r in busy_town.rectifications() if r.obligation == "branch_committee" and r.period == "2026-09")
    assert item.matter == "支委会 2026年9月 逾期未完成" and item.measure.startswith("查明未开展支委会的原因")
    short = importing.import_records(busy_town, rules, write_csv(tmp_path / "short.csv", "党组织,类型,日期,应到,实到,主题,书记签字,记录人签字\n"
                                                                  f"{BRANCH},支委会,2026-09-28,5,2,研究,是,是"))
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    now = busy_town.rectification(item.id)
    found = next(f for f in november.gaps if f.obligation == "branch_committee" and f.period == "2026-09")
    assert found.status == "invalid" and now.closed_on is None
    assert now.matter == "支委会 2026年9月 无效（人数不足；另：逾期录入）" and now.measure.startswith("到会人数须超过应到人数的半数")
    # October's published bulletin, written again, says what it said: restated since, not then.
    assert [r for r in busy_town.rectifications(as_of=october.run) if r.id == item.id] == [item]
    # Its record voided, the period is missed again, and the item says so (it kept saying 无效).
    [record_id] = short.ids
    busy_town.void_record(record_id, "录错支部")
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    again = busy_town.rectification(item.id)
    assert (again.matter, again.measure, again.closed_on) == (item.matter, item.measure, None)
    assert [r for r in busy_town.rectifications(as_of=october.run) if r.id == item.id] == [item]
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    assert [r.matter for r in november.ledger if r.id == item.id] == [item.matter]


def test_last_years_open_item_whose_gap_becomes_an_invalid_period_says_so(busy_town: Store, rules, tmp_path: Path):
    """After New Year a late 支委会 short of its quorum (or an election held late) left last year's item saying 逾期未完成, 补开:
    only this year's items were restated, last year's were only checked for being met."""
    other = "图河镇党委/马屯村党支部"
    supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26), publish=True)
    item = next(r for r in busy_town.rectifications() if r.obligation == "branch_committee" and r.period == "2026-11"
                and busy_town.org_paths([r.org_id])[r.org_id] == other)
    assert item.matter == "支委会 2026年11月 逾期未完成" and item.closed_on is None
    supervise(busy_town, rules, TOWN, "2027-02", date(2027, 2, 26))
    # Entered late, then the same day's run made again: its snapshot is the same, but the item is restated (review).
    short = importing.import_records(busy_town, rules, write_csv(tmp_path / "short.csv", "党组织,类型,日期,应到,实到,主题,书记签字,记录人签字\n"
                                                                  f"{other},支委会,2026-11-27,5,2,研究,是,是"))
    february = supervise(busy_town, rules, TOWN, "2027-02", date(2027, 2, 26))
    now = busy_town.rectification(item.id)
    assert now.closed_on is None and now.matter == "支委会 2026年11月 无效（人数不足）"
    assert now.measure.startswith("到会人数须超过应到人数的半数")
    assert [r.id for r in busy_town.rectifications() if r.gap_key == item.gap_key] == [item.id]
    assert not any(f.period == "2026-11" for f in february.gaps)      # still last year's: restated, not in this year's list
    # Its record voided, the period is missed again, and the item says so.
    [record_id] = short.ids
    busy_town.void_record(record_id, "录错支部")
    supervise(busy_town, rules, TOWN, "2027-02", date(2027, 2, 27))
    again = busy_town.rectification(item.id)
    assert (again.matter, again.measure, again.closed_on) == (item.matter, item.measure, None)


def test_a_gap_closed_by_hand_is_not_reopened(busy_town: Store, rules):
    first = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    branch = next(o.id for o in busy_town.orgs() if o.path == BRANCH)
    item = next(r for r in first.ledger if r.org_id == branch and r.obligation == "branch_committee")
    busy_town.close_rectification(item.id, "回头看：已补开并规范记录", date(2026, 11, 3))
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    reopened = [r for r in result.ledger if r.gap_key == item.gap_key]
    assert len(reopened) == 1 and reopened[0].closed_on == date(2026, 11, 3)
    # The bulletin still counts its gap, which the calendar shows, and says it was rectified: it said nothing,
    # so its problems did not square with the ledger's open items (try-out).
    from compliance.report.bulletin import make_bulletin

    b = make_bulletin(result)
    org = busy_town.org_paths([item.org_id])[item.org_id]
    assert "（其中1项已整改销号，见整改台账）" in b.summary
    [row] = [r for r in b.branch_rows if org.endswith(r[0])]
    # Beside the obligation whose item was closed, not after the list, where it read as the last one's (try-out).
    assert "、支委会10项（其中1项已整改销号）、党课" in row[3], row[3]
    assert sum(r[3].count("已整改销号") for r in b.branch_rows) == 1


def test_an_item_closed_by_hand_by_mistake_is_reopened_and_the_closing_kept_in_the_audit_log(runner, busy_town: Store, rules,
                                                                                               tmp_path: Path):
    """A team that closed the wrong item (销号), or found on a later visit it was not done, had no way back (try-out)."""
    from compliance.cli import app

    db = ["--db", busy_town.url]
    first = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    item = next(i for i in first.ledger if i.obligation == "theme_day")
    busy_town.close_rectification(item.id, "回头看：已补开并规范记录", date(2026, 11, 3))
    no_reason = runner.invoke(app, db + ["rectify", "reopen", str(item.id), "--reason", " "])
    assert no_reason.exit_code == 2 and "--reason" in no_reason.stderr
    early = runner.invoke(app, db + ["rectify", "reopen", str(item.id), "--reason", "误销号", "--deadline", "2026-12-01"])
    assert early.exit_code == 2 and "--deadline：值「2026-12-01」早于今天（2026-12-05）" in early.stderr
    assert busy_town.rectification(item.id).closed_on == date(2026, 11, 3)      # nothing written
    reopened = runner.invoke(app, db + ["rectify", "reopen", str(item.id), "--reason", "回头看：主题党日仍未召开"])
    assert reopened.exit_code == 0, reopened.output
    assert f"已撤销销号：整改事项 {item.id}" in reopened.stdout and "原于 2026-11-03 销号（回头看：已补开并规范记录）" in reopened.stdout
    assert "已过，台账将显示为超期未销号" in reopened.stdout       # October's deadline has passed
    again = busy_town.rectification(item.id)
    assert (again.closed_on, again.close_note, again.deadline, again.opened_on) == (None, None, item.deadline, item.opened_on)
    [entry] = [e for e in busy_town.audit_log() if e.action == "rectify_reopen"]
    assert entry.entity_id == str(item.id) and entry.reason == "回头看：主题党日仍未召开"
    assert json.loads(entry.detail) == {"closed_on": "2026-11-03", "close_note": "回头看：已补开并规范记录"}
    assert busy_town.verify_audit()[1] is None
    twice = runner.invoke(app, db + ["rectify", "reopen", str(item.id), "--reason", "x"])
    assert twice.exit_code == 2 and f"整改事项 {item.id} 尚未销号" in twice.stderr
    # The next run finds it open (not 已整改销号) and chases it; closed again by hand with a new deadline set first.
    # Its bulletin, as of 20 November, shows the ledger as it stood that day: the item closed, reopened only today.
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    [mine] = [r for r in november.ledger if r.id == item.id]
    assert (mine.closed_on, mine.close_note) == (date(2026, 11, 3), "回头看：已补开并规范记录")
    assert (item.org_id, item.obligation, item.period, item.member, item.group_name) in november.closed_by_hand
    assert item.gap_key in {g.gap_key for g in busy_town.open_gaps()}        # the runs match it open
    busy_town.close_rectification(item.id, "回头看：已整改", date(2026, 12, 4))
    later = runner.invoke(app, db + ["rectify", "reopen", str(item.id), "--reason", "复查未通过", "--deadline", "2026-12-31"])
    assert later.exit_code == 0 and "整改时限 2026-12-31" in later.stdout and "已过" not in later.stdout
    assert busy_town.rectification(item.id).deadline == date(2026, 12, 31)
    # An item a run closed is a run's to open again, when its record is voided or corrected.
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    made_good = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 21))
    auto = next(r for r in made_good.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    refused = runner.invoke(app, db + ["rectify", "reopen", str(auto.id), "--reason", "x"])
    assert refused.exit_code == 2 and "是督查时自动销号的" in refused.stderr and refused.stderr.count("\n") == 1
    assert busy_town.rectification(auto.id).closed_on == date(2026, 11, 21)
    missing = runner.invoke(app, db + ["rectify", "reopen", "99999", "--reason", "x"])
    assert missing.exit_code != 0 and "没有编号为 99999 的整改事项" in missing.stderr


def test_a_matter_found_on_a_visit_is_entered_by_hand_kept_by_runs_and_closed_by_hand(runner, busy_town: Store, rules):
    """The ledger held only the tracker's gaps: what the team found on its visit (records kept badly) had no place in it."""
    from compliance.cli import app

    db = ["--db", busy_town.url]
    branch = busy_town.index_around(BRANCH).resolve(BRANCH)
    added = runner.invoke(app, db + ["rectify", "add", "--org", BRANCH, "--matter", "10月党小组会记录缺签字",
                                     "--measure", "补签并规范记录"])
    assert added.exit_code == 0, added.output
    [item] = [r for r in busy_town.rectifications() if r.obligation == "inspection"]
    assert f"已登记整改事项 {item.id}：{BRANCH} 10月党小组会记录缺签字" in added.stdout
    # By default due at the end of next month, the branch's secretary responsible, as a run's items are.
    assert (item.deadline, item.responsible, item.opened_on, item.opened_run_id) == (date(2027, 1, 31), "陶英", date(2026, 12, 5), None)
    [entry] = [e for e in busy_town.audit_log() if e.action == "rectify_add"]
    assert entry.entity_id == str(item.id) and json.loads(entry.detail)["matter"] == "10月党小组会记录缺签字"
    # Runs neither match it to a gap nor close it as owed no more; their ledger (and bulletin) lists it, open.
    for day in (date(2026, 12, 5), date(2026, 12, 5)):
        run = supervise(busy_town, rules, TOWN, "2026-12", day)
        assert [r.closed_on for r in run.ledger if r.id == item.id] == [None]
        assert sum(c.open for c in run.ledger_counts if c.org_id == branch.id) == \
            sum(1 for r in run.ledger if r.org_id == branch.id and r.closed_on is None)
    assert busy_town.rectification(item.id).closed_on is None
    # A run of a month before it was entered does not list it.
    assert item.id not in {r.id for r in supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30)).ledger}
    closed = runner.invoke(app, db + ["rectify", "close", str(item.id), "--note", "回头看：已补签"])
    assert closed.exit_code == 0 and busy_town.rectification(item.id).close_note == "回头看：已补签"
    # What is wrong with the options is refused before anything is written.
    for args, words in ((["--matter", " ", "--measure", "x"], "--matter：不能为空"),
                        (["--matter", "x", "--measure", "y" * 501], "--measure：不能超过500个字（现有 501 个）"),
                        (["--matter", "x", "--measure", "y", "--deadline", "2026-12-04"], "--deadline：值「2026-12-04」早于发现日期（2026-12-05）")):
        refused = runner.invoke(app, db + ["rectify", "add", "--org", BRANCH, *args])
        assert refused.exit_code == 2 and words in refused.stderr, refused.output
    given = runner.invoke(app, db + ["rectify", "add", "--org", "朱庄村党总支", "--matter", "党总支公示栏未更新", "--measure", "更新公示栏",
                                     "--deadline", "2026-12-20", "--responsible", "王主任"])
    assert given.exit_code == 0 and "整改时限 2026-12-20，责任人 王主任" in given.stdout
    assert len([r for r in busy_town.rectifications() if r.obligation == "inspection"]) == 2


def test_items_entered_by_hand_review(runner, busy_town: Store, rules):
    """Review of rectify add: its text was read as markup (a traceback after the close was saved); its --responsible became the
    branch's in the bulletin; a frozen bulletin written again listed it; and a visit's finding could only be dated today."""
    from compliance.cli import app

    db = ["--db", busy_town.url]
    branch = busy_town.index_around(BRANCH).resolve(BRANCH)
    published = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5), publish=True)
    before = {c.org_id: c for c in published.ledger_counts}[branch.id]
    added = runner.invoke(app, db + ["rectify", "add", "--org", BRANCH, "--matter", "记录缺签字[/]", "--measure", "补[b]签",
                                     "--responsible", "王五"])
    assert added.exit_code == 0, added.output
    [item] = [r for r in busy_town.rectifications() if r.obligation == "inspection"]
    listed = runner.invoke(app, db + ["rectify", "list", "--under", BRANCH], terminal_width=250)
    assert listed.exit_code == 0 and "[/]" in listed.stdout and "[b]" in listed.stdout, listed.output    # kept as typed
    # The frozen bulletin, written again, is as it was; the next draft lists the item, and the secretary stays responsible.
    again = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5))
    assert not again.written and {c.org_id: c for c in again.ledger_counts}[branch.id] == before
    assert item.id not in {r.id for r in again.ledger}
    closed = runner.invoke(app, db + ["rectify", "close", str(item.id), "--note", "已补签"])
    assert closed.exit_code == 0 and f"已销号：整改事项 {item.id}（记录缺签字[/]）" in closed.stdout, closed.output
    # Dated the day of the visit: a November finding entered in December is November's, due at the end of December.
    late = runner.invoke(app, db + ["rectify", "add", "--org", BRANCH, "--matter", "公示栏未更新", "--measure", "更新", "--on", "2026-11-27"])
    assert late.exit_code == 0 and "整改时限 2026-12-31" in late.stdout, late.output
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30))
    mine = [r for r in november.ledger if r.obligation == "inspection"]
    assert [(r.matter, r.opened_on) for r in mine] == [("公示栏未更新", date(2026, 11, 27))]
    # The notice says what the visits found beside the calendar's gaps; December's draft counts its own month's.
    from compliance.report.bulletin import make_bulletin

    # Named, branch and matter: the number alone sent readers to the XLSX's 整改台账 (try-out).
    assert november.by_hand == 1 and "督导组现场检查另发现问题1项，已列入整改台账（朱庄村党总支/第一党支部「公示栏未更新」）。" \
        in make_bulletin(november).summary, make_bulletin(november).summary
    assert supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5)).by_hand == 0      # frozen before it was entered
    assert {c.org_id: c for c in november.ledger_counts}[branch.id].responsible == "陶英"
    future = runner.invoke(app, db + ["rectify", "add", "--org", BRANCH, "--matter", "x", "--measure", "y", "--on", "2026-12-06"])
    assert future.exit_code == 2 and "--on：值「2026-12-06」晚于今天（2026-12-05）" in future.stderr
    starts = busy_town.index_around(BRANCH).starts_of(branch)
    if starts is not None:
        early = (starts - timedelta(days=1)).isoformat()
        before = runner.invoke(app, db + ["rectify", "add", "--org", BRANCH, "--matter", "x", "--measure", "y", "--on", early])
        assert before.exit_code == 2 and f"--on：值「{early}」早于「{BRANCH}」成立或启用跟踪的日期" in before.stderr


def test_the_notice_counts_each_item_entered_by_hand_once_and_a_frozen_bulletin_none_entered_after_it(busy_town: Store, rules):
    """A finding dated after November's run, or entered after it was published, was counted in no notice; and a published
    past month's bulletin, written again after later runs, listed an item entered after it was published (review)."""
    branch = busy_town.index_around(BRANCH).resolve(BRANCH)
    _at(busy_town, "2026-11-25T10:00")
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25), publish=True)
    _at(busy_town, "2026-11-28T10:00")
    after_day = busy_town.add_rectification(branch.id, "会议室未悬挂党旗", "悬挂", date(2026, 12, 31), "陶英", date(2026, 11, 28))
    _at(busy_town, "2026-12-02T10:00")
    after_publish = busy_town.add_rectification(branch.id, "公示栏未更新", "更新", date(2026, 12, 31), "陶英", date(2026, 11, 20))
    _at(busy_town, "2026-12-26T10:00")
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 26))
    assert december.by_hand == 2 and {after_day.id, after_publish.id} <= {r.id for r in december.ledger}
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25))
    assert not again.written and again.run.id == november.run.id and again.by_hand == 0
    assert not {after_day.id, after_publish.id} & {r.id for r in again.ledger}
    assert {c.org_id: c.open for c in again.ledger_counts} == {c.org_id: c.open for c in november.ledger_counts}


def _raced_by_a_publication(store: Store, run_id: int, write, start: datetime):
    """Call `write(store)` while another connection publishes the run `run_id`, the publication started when the writer takes its
    time; return the order the two committed in, what `write` returned and the run published. One clock for both ticks a second
    a call from `start`."""
    import threading
    from itertools import count

    ticks = count()

    def tick() -> datetime:
        return start + timedelta(seconds=next(ticks))

    publisher = Store(store.url, clock=tick)
    order: list[str] = []
    published = []

    def publish() -> None:
        published.append(publisher.publish_run(run_id))
        order.append("publish")

    other = threading.Thread(target=publish)

    def writer_clock() -> datetime:
        moment = tick()
        if not other.is_alive() and not order:
            other.start()
            other.join(timeout=1.0)     # done unless the writer holds the write lock
        return moment

    before, store.clock = store.clock, writer_clock
    try:
        done = write(store)
        order.append("write")
        other.join(timeout=30)
    finally:
        store.clock = before
        publisher.engine.dispose()
    assert not other.is_alive()
    return order, done, published[0]


def test_a_ledger_write_takes_its_time_under_the_write_lock_so_a_frozen_bulletin_lists_what_committed_before_it(busy_town: Store,
                                                                                                             rules):
    """`rectify add` and `rectify reopen` took their time before the write lock: a publication that committed in between
    was stamped later, and its frozen bulletin listed the item added after it and read the item reopened after it as open."""
    draft = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25))
    ids = [o.id for o in busy_town.orgs()]
    branch = busy_town.index_around(BRANCH).resolve(BRANCH)
    order, added, run = _raced_by_a_publication(busy_town, draft.run.id, lambda s: s.add_rectification(
        branch.id, "会议室未悬挂党旗", "悬挂", date(2026, 12, 31), "陶英", date(2026, 11, 24)), datetime(2026, 12, 5, 10, 0, tzinfo=TZ))
    # Listed by the frozen bulletin when committed before it was published; the publication waits for the write.
    listed = added.id in {r.id for r in busy_town.rectifications(ids, as_of=run)}
    assert listed == (order[0] == "write") and order == ["write", "publish"]
    # Reopened while November's revision 2 is published: it was reopened first, so that bulletin shows it open.
    busy_town.close_rectification(added.id, "回头看：已整改", date(2026, 12, 5))
    busy_town.clock = lambda: datetime(2026, 12, 5, 11, 0, tzinfo=TZ)
    second = busy_town.save_run(draft.scope.id, "2026-11", date(2026, 11, 25), "changed", [], [], {}).run
    order, _, second = _raced_by_a_publication(busy_town, second.id, lambda s: s.reopen_rectification(added.id, "复查未通过"),
                                               datetime(2026, 12, 5, 12, 0, tzinfo=TZ))
    [shown] = [r for r in busy_town.rectifications(ids, as_of=second) if r.id == added.id]
    assert second.revision == 2 and (shown.closed_on is None) == (order[0] == "write") and order == ["write", "publish"]


def test_the_same_matter_entered_twice_by_hand_is_refused_while_open(runner, busy_town: Store, rules):
    """`rectify add` run twice by mistake gave two items, and the notice counted both (try-out)."""
    from compliance.cli import app

    db = ["--db", busy_town.url]
    args = ["rectify", "add", "--org", BRANCH, "--matter", "党小组会记录缺签字", "--measure", "补签并规范记录"]
    first = runner.invoke(app, db + args)
    assert first.exit_code == 0, first.output
    [item] = [r for r in busy_town.rectifications() if r.obligation == "inspection"]
    again = runner.invoke(app, db + args)
    assert again.exit_code != 0
    assert again.stderr.strip() == (f"错误：整改事项 {item.id} 尚未销号，问题与此相同（同一党组织、同一整改事项）：未重复登记；"
                                    "如确是另一问题，请在 --matter 中写明区别（rectify list 可查看）")
    # However spaced or ended (review).
    for variant in ("党小组会记录 缺签字。", "党小组会记录缺签字；"):
        assert runner.invoke(app, db + [*args[:5], variant, *args[6:]]).exit_code != 0
    # Another branch's, another matter, or the same found again after the first was closed: each is an item of its own.
    other = runner.invoke(app, db + ["rectify", "add", "--org", "图河镇党委/朱庄村党总支/第二党支部", *args[4:]])
    assert other.exit_code == 0, other.output
    assert runner.invoke(app, db + [*args[:5], "支委会记录缺签字", *args[6:]]).exit_code == 0
    busy_town.close_rectification(item.id, "回头看：已补签", date(2026, 12, 5))
    assert runner.invoke(app, db + args).exit_code == 0
    november = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 5))
    assert november.by_hand == 4
    # Named by branch, each matter quoted (review: 、 and ； inside matters read as the list's).
    from compliance.report.bulletin import make_bulletin

    said = make_bulletin(november).summary.split("已列入整改台账（", 1)[1].split("）。", 1)[0]
    assert said.count("「") == 4 and said.count("；") == 1 and said.count("朱庄村党总支/第一党支部") == 1, said


def test_an_item_closed_by_hand_is_not_reopened_beside_the_same_matter_entered_again(runner, busy_town: Store):
    """`rectify reopen` of an item whose matter was entered again after it was closed left two open items of one matter."""
    from compliance.cli import app

    db = ["--db", busy_town.url]
    args = ["rectify", "add", "--org", BRANCH, "--matter", "党小组会记录缺签字", "--measure", "补签并规范记录"]
    assert runner.invoke(app, db + args).exit_code == 0
    [first] = [r for r in busy_town.rectifications() if r.obligation == "inspection"]
    busy_town.close_rectification(first.id, "回头看：已补签", date(2026, 12, 5))
    assert runner.invoke(app, db + [*args[:5], "党小组会记录 缺签字。", *args[6:]]).exit_code == 0
    [again] = [r for r in busy_town.rectifications() if r.obligation == "inspection" and r.id != first.id]
    refused = runner.invoke(app, db + ["rectify", "reopen", str(first.id), "--reason", "误销号"])
    assert refused.exit_code != 0
    assert refused.stderr.strip() == (f"错误：整改事项 {again.id} 尚未销号，问题与事项 {first.id} 相同（同一党组织、同一整改事项）："
                                      f"未重新打开；请跟进事项 {again.id}（rectify list 可查看）")
    assert busy_town.rectification(first.id).closed_on == date(2026, 12, 5)
    assert [e for e in busy_town.audit_log() if e.action == "rectify_reopen"] == []
    # Once the one entered again is closed, the first may be reopened.
    busy_town.close_rectification(again.id, "回头看：已补签", date(2026, 12, 5))
    assert runner.invoke(app, db + ["rectify", "reopen", str(first.id), "--reason", "误销号"]).exit_code == 0
    assert busy_town.rectification(first.id).closed_on is None


def test_only_township_and_county_users_enter_ledger_items(runner, busy_town: Store):
    from compliance.cli import app

    db = ["--db", busy_town.url]
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "镇党建办", "--role", "乡镇", "--org", TOWN]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "陶英", "--role", "支部书记", "--org", BRANCH]).exit_code == 0
    args = ["rectify", "add", "--org", BRANCH, "--matter", "记录缺签字", "--measure", "补签"]
    refused = runner.invoke(app, db + ["--user", "陶英", *args])
    assert refused.exit_code != 0 and "陶英" in refused.stderr
    assert not [r for r in busy_town.rectifications() if r.obligation == "inspection"]
    assert runner.invoke(app, db + ["--user", "镇党建办", *args]).exit_code == 0
    assert [e.actor for e in busy_town.audit_log() if e.action == "rectify_add"] == ["镇党建办"]


def test_the_run_compares_with_last_month(busy_town: Store, rules):
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    c = november.comparison
    assert c.previous is not None and c.previous.id == october.run.id
    assert c.new_gaps and all(f.due >= date(2026, 10, 1) for f in c.new_gaps)
    assert any(org == BRANCH for org, _, _ in c.worse)


def test_a_run_reads_the_month_befores_gaps_as_they_come(busy_town: Store, rules):
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    gaps = busy_town.run_findings(october.run.id, GAP_STATUSES)
    assert iter(gaps) is gaps       # read as it comes: a province's snapshot is not held a second time
    assert list(gaps) == [f for f in october.findings if f.status in GAP_STATUSES] != []
    assert list(busy_town.run_findings(october.run.id)) == october.findings


def test_the_comparison_counts_each_gap_once_and_lists_the_gaps_closed(busy_town: Store, rules, tmp_path: Path):
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-20,,,学习,,,,a.jpg", name="late.csv")
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    c = november.comparison
    closed = [f for f in c.closed_gaps if f.org == BRANCH and f.obligation == "theme_day" and f.period == "2026-09"]
    assert len(closed) == 1 and closed[0].status == "missed"
    # Given whole, as its gaps, or each gap twice, the month before compares the same; its
    # organizations' findings come together (a run reads them so), or it says they do not.
    assert compare(november.findings, october.findings, october.run, 2026) == c
    assert compare(november.findings, (f for f in october.findings for _ in range(2)), october.run, 2026) == c
    with pytest.raises(ValueError, match="not together"):
        compare(november.findings, october.gaps * 2, october.run, 2026)
    # Read by organization, a snapshot saved in any order compares the same.
    by_org = list(busy_town.run_findings(october.run.id, GAP_STATUSES, by_org=True))
    assert sorted(by_org, key=lambda f: f.org_id) == by_org and sorted(by_org) == sorted(october.gaps)
    assert compare(november.findings, by_org, october.run, 2026) == c
    before = {f.org: 0 for f in october.gaps}
    for f in october.gaps:
        before[f.org] += 1
    assert all(before[org] == then for org, then, _ in c.better + c.worse)


def test_a_snapshot_gives_back_every_finding_as_it_was_each_organizations_gaps_first():
    from compliance.evaluate import Finding
    from compliance.supervision import Snapshot

    def finding(org_id, status, period, due, days_left=None, records=(), flags=(), member=None, group=None):
        return Finding(org_id, f"江淮省委/支部{org_id}", "dues" if member else "theme_day", "主题党日", period, status, due, days_left,
                       records, flags, member, group)

    findings = [finding(2, "due", "2026-11", date(2026, 11, 30), 10),
                finding(2, "missed", "2026-10", date(2026, 10, 31), -20, member="王芳"),
                finding(1, "invalid", "2026-09", date(2026, 9, 30), None, (7, 12), ("wrong_date", "unsigned"), group="第一党小组"),
                finding(2, "invalid", "2026-08", date(2026, 8, 31), -100000, (3,), ("arrears_too_late",), member="王芳"),
                finding(1, "due", "2026-11", date(2026, 11, 30), 0)]
    snapshot = Snapshot.of(findings)
    assert len(snapshot) == 5 and snapshot.gap_count == 3 and snapshot.orgs_with_gaps() == [2, 1]
    # Organizations in the order they first come, each one's gaps first, then in the order given.
    assert list(snapshot) == [findings[1], findings[3], findings[0], findings[2], findings[4]]
    assert all(type(f) is Finding and type(f.due) is date for f in snapshot)
    assert list(snapshot.gaps()) == [findings[1], findings[3], findings[2]]
    assert snapshot.gaps_of(1) == [findings[2]] and snapshot.of_org(3) == [] and snapshot.gaps_of(3) == []
    assert Snapshot.of([]).gap_count == len(Snapshot.of([])) == 0 and list(Snapshot.of([])) == []


def test_as_of_must_fall_in_the_month(busy_town: Store, rules):
    with pytest.raises(InputError, match="不在督查月份"):
        supervise(busy_town, rules, TOWN, "2026-11", date(2026, 10, 31))
    with pytest.raises(InputError, match="不是月份"):
        supervise(busy_town, rules, TOWN, "2026-13", None)
    # Written as a dues month may be: 2026年11月 was refused (try-out); the run keeps 2026-11, and the same month again is it.
    for text in ("2026-11", "2026年11月", "2026/11", "２０２６－１１", "2026 年 11 月"):
        assert supervise(busy_town, rules, TOWN, text, date(2026, 11, 20)).run.month == "2026-11"
    assert len(busy_town.runs(busy_town.index_around(TOWN).resolve(TOWN).id, "2026-11")) == 1
    for bad in ("2026年13月", "26-11", "2026-11-05", "十一月"):
        with pytest.raises(InputError, match=f"--month：值「{bad}」不是月份（应写作 2026-11）"):
            supervise(busy_town, rules, TOWN, bad, None)


def test_bulletin_files_open_and_agree_with_the_run(busy_town: Store, rules, tmp_path: Path):
    supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    md, xlsx, docx, png = write_bulletin(result, tmp_path / "out")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    book = load_workbook(xlsx)
    assert book.sheetnames == ["汇总", "问题清单", "排名", "记录不规范", "本月待完成", "整改台账"]
    ledger = list(book["整改台账"].iter_rows(min_row=2, values_only=True))
    assert len(ledger) == len(result.ledger)
    problems = list(book["问题清单"].iter_rows(min_row=2, values_only=True))
    assert sum(row[1] + row[2] for row in problems) == len(result.gaps)
    # A table with no rows says so: its header alone read as a sheet left unfilled (try-out).
    assert not result.record_marks and list(book["记录不规范"].iter_rows(min_row=2, values_only=True)) == [
        ("（本月召开及补录的会议和活动的记录没有未签字或材料不全的）", None, None)]
    doc = Document(str(docx))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "关于2026年11月基层党组织组织生活督查情况的通报" in text and "图河镇党委督导组" in text
    assert f"共发现问题{len(result.gaps)}项" in text and "与2026-10督查相比" in text
    assert len(doc.inline_shapes) == 1 and len(doc.tables) >= 3
    # Its sections are headings (Word's outline read none), in black 黑体 as GB/T 9704 sets them, not the template's blue.
    headings = [p for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert [p.text for p in headings][:4] == ["一、基本情况", "二、存在问题", "三、完成率排名", "四、整改要求"]
    level = doc.styles["Heading 1"]
    assert level.font.color.rgb == (0, 0, 0) and level.font.name == "SimHei" and level.font.size.pt == 16
    # A4, as official documents are printed (python-docx's own template is US Letter).
    assert [(round(s.page_width.mm), round(s.page_height.mm)) for s in doc.sections] == [(210, 297)]
    # A rate is a number the sheet can sort and sum, shown as a percentage, not the text "99.6%".
    rates = [row[2] for row in book["排名"].iter_rows(min_row=2)]
    assert rates and all(isinstance(c.value, (int, float)) and 0 <= c.value <= 1 and c.number_format == "0.0%" for c in rates)
    assert f"共发现问题{len(result.gaps)}项" in md.read_text(encoding="utf-8")
    # The summary of the ledger gives each branch's earliest deadline, and says so: 整改时限 alone read as the month's.
    assert "| 组织 | 未销号 | 已销号 | 最早整改时限 | 责任人 |" in md.read_text(encoding="utf-8")
    assert [c.text for c in doc.tables[-1].rows[0].cells] == ["组织", "未销号", "已销号", "最早整改时限", "责任人"]
    # The files say what they are, who issued them and when the run was saved: python-docx's template
    # said "python-docx" on 2013-12-23, and XlsxWriter the moment of writing.
    made = result.run.updated_at.astimezone(timezone.utc).replace(tzinfo=None)
    props = doc.core_properties
    assert (props.title, props.author, props.last_modified_by) == (text.split("\n")[0], "图河镇党委督导组", "图河镇党委督导组")
    assert props.comments == "" and props.created.replace(tzinfo=None) == made
    assert (book.properties.title, book.properties.creator, book.properties.created) == (props.title, props.author, made)
    # Made again from the same run, the workbook is the same to the byte.
    assert write_bulletin(result, tmp_path / "again")[1].read_bytes() == xlsx.read_bytes()


def test_the_bulletin_counts_branches_with_gaps_apart_from_a_committees_own(busy_town: Store, rules):
    from compliance.report.assessments import run_dict
    from compliance.report.bulletin import make_bulletin

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    orgs = {f.org for f in result.gaps}
    branches = orgs & set(result.branches)
    assert branches and orgs - branches            # 朱庄村党总支 owes meetings of its own
    summary = make_bulletin(result).summary
    assert f"所属{len(result.branches)}个党支部" in summary
    assert f"{len(branches)}个党支部存在问题，另有{len(orgs - branches)}个党委（党总支）本级存在问题" in summary
    counted = run_dict(result, [])
    assert (counted["branches_with_gaps"], counted["committees_with_gaps"]) == (len(branches), len(orgs - branches))


def test_a_branch_scored_alone_when_its_township_cannot_be_scored_whole_gets_no_place(busy_town: Store, rules, tmp_path: Path,
                                                                                      monkeypatch):
    """Ranked in its township, a branch's score failed outright when another branch of the township had no sheet to be
    scored on (a sector two sheets claim): it scored on its own before (review)."""
    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "o2.csv", "名称,上级,类型,领域\n图河镇非公企业党支部,图河镇党委,党支部,两新"))
    monkeypatch.setitem(rules.sheets.shared, "两新", ["two-new-2020", "grid-2023"])
    with pytest.raises(InputError, match="图河镇非公企业党支部"):
        score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    [alone], warnings = score_scope(busy_town, rules, BRANCH, "2026-Q3", as_of=date(2026, 10, 10))
    assert alone.org == BRANCH and alone.rank is None
    assert any(w.startswith(f"「{TOWN}」的其他党支部无法一并考核") and w.endswith("未给出名次") for w in warnings), warnings


def test_scores_use_findings_manual_deductions_and_vetoes(busy_town: Store, rules):
    add_deduction(busy_town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 1.5, "党群服务中心标识不统一")
    scores, _ = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    branch = next(s for s in scores if s.org == BRANCH)
    by_id = {i.item.id: i for i in branch.items}
    assert by_id["一.1"].score == pytest.approx(1.5)
    assert by_id["二.2"].deducted > 0               # 支委会 and 党小组会 missed in Q3
    assert branch.sheet == "village-2020" and branch.rank is not None
    assert all(s.group == TOWN for s in scores)
    with pytest.raises(InputError, match="--points"):
        add_deduction(busy_town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 9, "超过分值")
    with pytest.raises(InputError, match="--item"):
        add_deduction(busy_town, rules, BRANCH, "village-2020", "九.9", None, "2026-Q3", 1, "无此条目")


def test_a_branch_with_an_empty_roster_is_scored_with_a_warning(busy_town: Store, rules, tmp_path: Path):
    """A branch with no members and no records scored 99 (优秀) and ranked first, with nothing said."""
    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "new.csv", """
        名称,上级,类型,代码,成立日期,启用日期,书记
        新村党支部,图河镇党委,党支部,XC,2026-01-01,2026-01-01,王五
    """))
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    assert "图河镇党委/新村党支部" in {s.org for s in scores}          # still scored: its meetings count
    # ... but neither graded nor ranked, as its warning says: it was 优秀 and ranked first beside it (review).
    empty_one = next(s for s in scores if s.org == "图河镇党委/新村党支部")
    assert (empty_one.grade, empty_one.rank) == ("未评定", None)
    assert all(s.rank is not None for s in scores if s is not empty_one)
    empty = [w for w in warnings if "花名册上没有党员" in w]
    assert len(empty) == 1 and empty[0].startswith("「图河镇党委/新村党支部」") and "member import" in empty[0]
    # A branch whose members all left before the period is empty in it too; one that had members then is not.
    importing.import_members(busy_town, write_csv(tmp_path / "m.csv", """
        姓名,党组织,类别,离开日期,离开原因
        赵一,图河镇党委/新村党支部,正式,2026-06-30,转出
    """))
    _, warnings = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    assert sum("新村党支部」花名册上没有党员" in w for w in warnings) == 1
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026-H1", as_of=date(2026, 7, 10))
    assert "图河镇党委/新村党支部" in {s.org for s in scores} and not [w for w in warnings if "新村党支部」花名册上没有党员" in w]


def test_a_deduction_on_an_organization_that_is_not_scored_is_refused(busy_town: Store, rules):
    for ref, kind in (("图河镇党委", "乡镇党委"), ("ZZ", "党总支")):
        with pytest.raises(InputError, match=f"是{kind}；考核只给党支部评分，扣分请记在党支部上"):
            add_deduction(busy_town, rules, ref, "village-2020", "一.1", None, "2026-Q3", 1, "标识不统一")


def test_grade_quotas_are_checked_among_the_units_of_one_sheet(busy_town: Store, rules, tmp_path: Path):
    """The 优秀 share was counted over a township's branches on every sheet together: a 两新 branch scored on its own sheet
    counted among the villages' (try-out; DOMAIN: "among the units one sheet assesses")."""
    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "o2.csv", "名称,上级,类型,领域\n图河镇非公企业党支部,图河镇党委,党支部,两新"))
    importing.import_members(busy_town, write_csv(tmp_path / "m2.csv", f"姓名,党组织\n工人甲,{TOWN}/图河镇非公企业党支部"))
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    sheets = {s.sheet for s in scores}
    assert sheets == {"village-2020", "two-new-2020"}
    assert [(s.sheet, s.grade) for s in scores if s.sheet == "two-new-2020"] == [("two-new-2020", "优秀")]
    # Fewer than five on a sheet are no proportion to keep: said, not checked (review: one 两新 branch was 100%).
    assert [w for w in warnings if "占" in w or "比例" in w] == [
        f"单位少于 5 个，未检查等次比例：{TOWN}（评分表 two-new-2020） 1 个、{TOWN}（评分表 village-2020） 3 个"]
    for i in range(4):
        importing.import_orgs(busy_town, rules, write_csv(tmp_path / f"o{i}.csv", f"名称,上级,类型,领域\n新村{i}党支部,图河镇党委,党支部,农村"))
    # Three with members; the fourth's roster is empty, its grade said to be none: not among the 优秀 counted (try-out).
    importing.import_members(busy_town, write_csv(tmp_path / "m.csv", "姓名,党组织\n" + "\n".join(
        f"村民{i},图河镇党委/新村{i}党支部" for i in range(3))))
    _, warnings = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    assert [w for w in warnings if "占" in w or "比例" in w] == [
        f"{TOWN}（评分表 village-2020）：优秀 6 个，占 100%，超过 40% 的比例",
        f"单位少于 5 个，未检查等次比例：{TOWN}（评分表 two-new-2020） 1 个"]
    assert any(w.startswith(f"「{TOWN}/新村3党支部」花名册上没有党员") for w in warnings)


def test_score_names_the_items_its_catalog_cannot_deduct_from(busy_town: Store, rules):
    """The village sheet deducts on 大党委会议 and others that tuhe-2021 does not have: full marks, with nothing said (try-out)."""
    _, warnings = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    said = [w for w in warnings if w.startswith("评分表 village-2020 的条目 一.7、二.6、三.10、四.3、四.4 自动扣分依据的事项（")]
    assert len(said) == 1 and said[0].endswith("）不在规则集 tuhe-2021 中，这些条目不会自动扣分：请检查组评定后登记（compliance deduct）")
    assert "书记讲党课" in said[0] and "大党委" in said[0], said


def test_a_veto_entered_for_a_quarter_is_pointed_out_by_the_years_score(busy_town: Store, rules):
    """A veto entered for 2026-Q4 left the year's score 合格 with no hint (try-out)."""
    add_deduction(busy_town, rules, BRANCH, "wujin-2016", None, "no_dedicated_funds", "2026-Q3", None, "经费未列入预算")
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026", sheet="wujin-2016", as_of=date(2026, 11, 20))
    assert not next(s for s in scores if s.org == BRANCH).vetoes
    assert f"「{BRANCH}」（2026-Q3）1个党支部的一票否决登记在 2026 年的季度或半年考核中，不计入年度考核；" \
           "年度也应否决的，请以 --period 2026 登记（compliance deduct --veto）" in warnings, warnings
    add_deduction(busy_town, rules, BRANCH, "wujin-2016", None, "no_dedicated_funds", "2026", None, "经费未列入预算")
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026", sheet="wujin-2016", as_of=date(2026, 11, 20))
    assert next(s for s in scores if s.org == BRANCH).vetoes and not [w for w in warnings if "季度或半年考核" in w]


def test_a_deduction_entered_for_a_quarter_is_pointed_out_by_the_half_years_and_years_scores(busy_town: Store, rules):
    """2 points deducted for 2026-Q3 counted in neither 2026-H2 nor 2026, with nothing said (try-out)."""
    add_deduction(busy_town, rules, BRANCH, "village-2020", "五.1", None, "2026-Q3", 2, "党务公开栏未更新")
    for period, words in (("2026", "2026 年的季度或半年"), ("2026-H2", "2026-H2 内的季度")):
        _, warnings = score_scope(busy_town, rules, TOWN, period, as_of=date(2026, 11, 20))
        assert f"「{BRANCH}」五.1（2026-Q3）：1个党支部另有登记在 {words}考核中的人工扣分条目，不计入本次考核；本期也应扣分的，" \
               f"请以 --period {period} 登记（compliance deduct）" in warnings, warnings
    _, warnings = score_scope(busy_town, rules, TOWN, "2026-H1", as_of=date(2026, 11, 20))
    assert not [w for w in warnings if "人工扣分" in w]
    # Entered for the year too, it is said no more (review).
    add_deduction(busy_town, rules, BRANCH, "village-2020", "五.1", None, "2026", 2, "党务公开栏未更新")
    _, warnings = score_scope(busy_town, rules, TOWN, "2026", as_of=date(2026, 11, 20))
    assert not [w for w in warnings if "人工扣分" in w], warnings


def test_wujin_veto_and_bar(busy_town: Store, rules):
    add_deduction(busy_town, rules, BRANCH, "wujin-2016", None, "secretary_disciplined", "2026", None, "书记受党内警告处分")
    scores, _ = score_scope(busy_town, rules, TOWN, "2026", sheet="wujin-2016", as_of=date(2026, 11, 20))
    branch = next(s for s in scores if s.org == BRANCH)
    assert branch.qualified is False and any("党内警告" in v for v in branch.vetoes)


def test_a_veto_is_named_in_the_sheets_words_and_a_deduction_is_not_entered_twice(busy_town: Store, rules, tmp_path: Path):
    """--veto took only the English key and the list showed it; the same deduction run twice counted twice; a vacancy on the
    roster and the same veto entered by an assessor were both listed."""
    from compliance.assessment import veto_text

    add_deduction(busy_town, rules, BRANCH, "wujin-2016", None, "未落实党建工作专项经费", "2026", None, "经费未列入预算")
    [entered] = busy_town.list_deductions()
    assert entered["item"] == "veto:no_dedicated_funds" and veto_text(rules, "wujin-2016", entered["item"]) == "未落实党建工作专项经费"
    add_deduction(busy_town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 1, "标识不统一")
    with pytest.raises(InputError, match=r"与已登记的扣分（编号 \d+）相同"):
        add_deduction(busy_town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 1.0, " 标识不统一 ")
    add_deduction(busy_town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 1, "标识不统一（第二次检查）")
    with pytest.raises(InputError, match="--points：值「100」应大于0"):
        add_deduction(busy_town, rules, BRANCH, "village-2020", "一.1", None, "2026-Q3", 100.0, "过多")
    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,书记\n马屯村党支部,图河镇党委,党支部,空缺"))
    add_deduction(busy_town, rules, "马屯村党支部", "wujin-2016", None, "secretary_vacant", "2026", None, "书记调离后未配备")
    scores, _ = score_scope(busy_town, rules, TOWN, "2026", sheet="wujin-2016", as_of=date(2026, 11, 20))
    vacant = next(s for s in scores if s.org.endswith("马屯村党支部"))
    assert list(vacant.vetoes) == ["党支部书记缺职（书记调离后未配备）"]


def test_two_runs_started_at_once_write_once(busy_town: Store):
    env = {**os.environ, "COMPLIANCE_DB": busy_town.url}
    command = [sys.executable, "-m", "compliance", "supervise", "--under", TOWN, "--month", "2026-11",
               "--as-of", "2026-11-20", "--format", "json"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode() for o in outputs]
    written = [json.loads(out)["written"] for out, _ in outputs]
    assert sorted(written) == [False, True]
    assert _count(busy_town, model.SupervisionRun.__table__) == 1
    gaps = json.loads(outputs[0][0])["gaps"]
    assert _count(busy_town, model.Rectification.__table__) == gaps


def test_publishing_the_same_snapshot_again_makes_no_new_revision(busy_town: Store, rules):
    first = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    assert not again.written and again.run.id == first.run.id and again.run.revision == 1


def test_publishing_a_draft_with_the_same_snapshot_freezes_it(busy_town: Store, rules):
    draft = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    published = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    assert published.run.id == draft.run.id and published.run.published_at is not None


def test_overlapping_scopes_run_at_once_open_each_gap_once(busy_town: Store):
    env = {**os.environ, "COMPLIANCE_DB": busy_town.url}
    base = [sys.executable, "-m", "compliance", "supervise", "--month", "2026-11", "--as-of", "2026-11-20", "--format", "json"]
    procs = [subprocess.Popen(base + ["--under", scope], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for scope in (TOWN, "图河镇党委/朱庄村党总支", TOWN)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode()[-500:] for o in outputs]
    with busy_town.engine.connect() as conn:
        keys = conn.execute(select(model.Rectification.__table__.c.gap_key)).scalars().all()
    assert len(keys) == len(set(keys)) == json.loads(outputs[0][0])["gaps"]


def test_january_is_not_compared_with_december_and_last_years_items_can_still_close(busy_town: Store, rules, tmp_path: Path):
    busy_town.clock = lambda: datetime(2026, 12, 28, 9, tzinfo=TZ)
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    item = next(r for r in december.ledger if r.obligation == "theme_day" and r.period == "2026-10")
    busy_town.clock = lambda: datetime(2027, 1, 8, 9, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-10-09,,,补录,,,,c.jpg", "late.csv")
    busy_town.clock = lambda: datetime(2027, 1, 26, 9, tzinfo=TZ)
    january = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26))
    assert january.comparison.cross_year and not january.comparison.closed_gaps
    closed = next(r for r in january.ledger if r.id == item.id)
    assert closed.closed_on == date(2027, 1, 8)       # the day the record was entered
    assert any(rates for rates in january.rates.values())        # last year's months, from December's run
    md, *_ = write_bulletin(january, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert "不与上年2026-12的结果逐项比较。" in text and "已解决" not in text
    # What it checked is said as it is: last December's periods and the year's own are among its problems.
    assert "督导组对图河镇党委所属3个党支部2026年12月以来（含2026年第四季度、下半年和全年事项）的组织生活情况进行了督查" in text
    # The console and JSON said 与 2026-12 相比：新增问题 0 项 while the bulletin said it did not compare (try-out).
    from compliance.report.assessments import print_run, run_dict
    from rich.console import Console

    assert run_dict(january, [])["comparison"]["cross_year"] is True
    console = Console(record=True, width=200)
    print_run(console, january, [])
    said = console.export_text()
    assert "本月为2027年度首次督查，不与上年 2026-12 的结果逐项比较。" in said and "相比" not in said


def test_january_says_how_many_of_decembers_gaps_it_still_checks_were_made_good(busy_town: Store, rules, tmp_path: Path):
    """Items of December's periods made good in January were named nowhere in January's bulletin (try-out)."""
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    study = [f for f in december.gaps if f.obligation == "study_day" and f.period.startswith("2026-12") and f.org == BRANCH]
    assert study
    _at(busy_town, "2027-01-10T10:00")
    _records(busy_town, rules, tmp_path, f"{BRANCH},固定学习日,{study[0].due.isoformat()},,,学习,,,,", "late.csv")
    january = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26))
    assert january.comparison.cross_year
    assert [(f.org, f.obligation, f.period) for f in january.comparison.closed_gaps] == [(BRANCH, "study_day", study[0].period)]
    md, *_ = write_bulletin(january, tmp_path / "out")
    assert "上年2026-12督查发现的问题中，仍在本次督查范围的（上年12月及年底到期的事项等）已解决1项。" in md.read_text(encoding="utf-8")


def _at(store: Store, day: str) -> None:
    store.clock = lambda: datetime.fromisoformat(day).replace(tzinfo=TZ)


def _void_late_theme_day_and_run_again(store: Store, rules, held: date):
    """Void, on 27 January 2027, the 主题党日 of `held` entered late (topic 补录), and run January again on the 28th."""
    _at(store, "2027-01-27T10:00")
    late = next(r["record_id"] for r in store.org_records(store.index_around(BRANCH).resolve(BRANCH).id, "theme_day", held)
                if r["topic"] == "补录")
    store.void_record(late, "重复登记")
    _at(store, "2027-01-28T10:00")
    return supervise(store, rules, TOWN, "2027-01", date(2027, 1, 28))


def test_last_years_item_made_good_after_new_year_opens_again_when_its_record_is_voided(busy_town: Store, rules, tmp_path: Path):
    """A meeting of last October entered in January closed its item; voided as a duplicate, the item stayed 已销号 while
    status said 逾期未完成 (try-out): January's own pass reaches back to December only."""
    _at(busy_town, "2026-12-28T10:00")
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    item = next(r for r in december.ledger if r.obligation == "theme_day" and r.period == "2026-10")
    other = next(r for r in december.ledger if r.obligation == "theme_day" and r.period == "2026-11")
    _at(busy_town, "2027-01-05T10:00")
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-10-09,,,补录,,,,c.jpg\n{BRANCH},主题党日,2026-11-09,,,补录,,,,c.jpg",
             "late.csv")
    _at(busy_town, "2027-01-26T10:00")
    supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26))
    # Closed on the day the records were entered (`_fixed_on`).
    assert busy_town.rectification(item.id).closed_on == busy_town.rectification(other.id).closed_on == date(2027, 1, 5)
    # The same again, nothing changed since: nothing reopens.
    assert supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26)).run.revision == 1
    again = _void_late_theme_day_and_run_again(busy_town, rules, date(2026, 10, 9))
    reopened = busy_town.rectification(item.id)
    assert (reopened.closed_on, reopened.matter) == (None, item.matter)
    assert busy_town.rectification(other.id).closed_on == date(2027, 1, 5)       # its record stands
    assert [r.id for r in again.ledger if r.gap_key == item.gap_key] == [item.id]
    assert (again.opened, again.reopened) == (0, 1)         # it said 新建整改事项 1 项 of an item opened again
    from compliance.report.assessments import print_run
    from rich.console import Console

    console = Console(record=True, width=200)
    print_run(console, again, [])
    assert "新建整改事项 0 项，重新打开 1 项，自动销号 0 项。" in console.export_text()
    status = {(f.obligation, f.period): f.status for f in overdue(busy_town, rules, BRANCH, Window(date(2026, 1, 1), date(2027, 1, 28), date(2027, 1, 28)))}
    assert status[("theme_day", "2026-10")] == "missed"


def test_last_years_item_opens_again_when_its_record_is_moved_to_another_branch(busy_town: Store, rules, tmp_path: Path):
    """A record of last October corrected to another branch (登记错了支部) left the first branch's item 已销号: the correction
    is logged under the branch it moved to, and only that one was looked at again."""
    from compliance import importing

    _at(busy_town, "2026-12-28T10:00")
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    item = next(r for r in december.ledger if r.obligation == "theme_day" and r.period == "2026-10")
    _at(busy_town, "2027-01-05T10:00")
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-10-09,,,补录,,,,c.jpg", "late.csv")
    _at(busy_town, "2027-01-26T10:00")
    supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26))
    assert busy_town.rectification(item.id).closed_on == date(2027, 1, 5)
    _at(busy_town, "2027-01-27T10:00")
    late = next(r["record_id"] for r in busy_town.org_records(busy_town.index_around(BRANCH).resolve(BRANCH).id, "theme_day",
                                                              date(2026, 10, 9)) if r["topic"] == "补录")
    importing.correct_record(busy_town, rules, late, {"org": "图河镇党委/朱庄村党总支/第二党支部"}, "登记错了支部")
    _at(busy_town, "2027-01-28T10:00")
    again = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 28))
    assert busy_town.rectification(item.id).closed_on is None and again.reopened == 1


def test_last_decembers_item_voided_in_january_is_reopened_once_by_januarys_own_pass(busy_town: Store, rules, tmp_path: Path):
    """December's periods are January's own (`year_start`): looked for among last year's closed items too, the gap was handed
    over twice, and the run failed with a KeyError (review)."""
    _at(busy_town, "2027-01-25T10:00")
    january = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 25))
    item = next(r for r in january.ledger if r.obligation == "theme_day" and r.period == "2026-12")
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-12-09,,,补录,,,,c.jpg", "late.csv")
    _at(busy_town, "2027-01-26T10:00")
    supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26))
    # On the day the record was entered: the run of the 25th that listed it open was a draft, which this one replaced.
    assert busy_town.rectification(item.id).closed_on == date(2027, 1, 25)
    again = _void_late_theme_day_and_run_again(busy_town, rules, date(2026, 12, 9))
    assert busy_town.rectification(item.id).closed_on is None and again.reopened == 1


def test_a_past_months_run_made_again_leaves_the_items_of_later_periods_open(busy_town: Store, rules):
    """November's run made again after December's closed December's 固定学习日 items as 已不再需要, and December's
    made again in 2027 closed the items of 2027's periods (1,267 in the try-out): periods it never judged, as owed no more."""
    from obligations.cadence import parse_period_key

    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28), publish=True)
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    later = {r.id for r in december.ledger if r.closed_on is None and parse_period_key(r.period)[1] > date(2026, 11, 30)}
    assert {r.period for r in december.ledger if r.id in later} >= {"2026-12-10", "2026-12-20"}
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30))
    # The ledger as it stands (a run's own `ledger` is as it stood on its day: without the later items).
    assert november.run.revision == 2 and later <= {r.id for r in busy_town.rectifications() if r.closed_on is None}
    assert not later & {r.id for r in november.ledger}
    january = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26), publish=True)
    this_year = {r.id for r in january.ledger if r.closed_on is None and parse_period_key(r.period)[0].year == 2027}
    assert this_year       # January's 固定学习日 of the 10th and 20th, say
    again = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 31))
    assert this_year | later <= {r.id for r in busy_town.rectifications() if r.closed_on is None}
    # What the runs of their own months did close stays closed, and what they judge they still close.
    assert again.closed == 0


def test_the_periods_that_end_on_the_years_last_day_are_judged_in_january(busy_town: Store, rules):
    """December's run sees December's meetings, the fourth quarter's and the year's own still open; January's kept
    only its own year's periods: 8 of a branch's gaps a year never reached the ledger."""
    supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28), publish=True)
    january = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 26))
    ledger = [(r.org_id, r.obligation, r.period, r.member, r.group_name) for r in january.ledger]
    assert len(ledger) == len(set(ledger))          # December's study days were opened once, in December
    branch = {(r.obligation, r.period) for r in january.ledger if january.org_paths[r.org_id] == BRANCH}
    assert {("theme_day", "2026-12"), ("branch_committee", "2026-12"), ("party_congress", "2026-Q4"),
            ("party_lecture", "2026-Q4"), ("life_meeting", "2026")} <= branch
    # Not last year's earlier periods: they were December's run's to keep.
    assert not any(f.period in ("2026-11", "2026-Q3") for f in january.gaps)
    again = supervise(busy_town, rules, TOWN, "2027-01", date(2027, 1, 27))
    assert again.opened == 0
    # February keeps its own year's periods again: last December's gaps are not 已解决 for it, nor any branch better.
    february = supervise(busy_town, rules, TOWN, "2027-02", date(2027, 2, 26))
    assert february.comparison.previous is not None and not february.comparison.better
    assert not any(f.period.startswith("2026") for f in february.comparison.closed_gaps)
    from compliance.report.bulletin import comparison_text

    # January's own count had them: the comparison says how many it leaves out, rather than show every branch worse unexplained.
    left_out = sum(1 for f in january.gaps if f.period.startswith("2026") and "/" not in f.period)
    assert february.comparison.left_out == left_out > 0
    assert f"（2027-01督查发现的上年度问题{left_out}项不在本月督查清单之列，未计入比较，其整改情况见整改台账。）" in \
        comparison_text(february.comparison, 2027, TOWN)
    # January's ranking counts the periods it lists: last December's and the year's own among them.
    met, total = january.tallies[BRANCH]
    assert total - met == sum(1 for f in january.gaps if f.org == BRANCH and f.due >= date(2026, 12, 1))
    assert any(f.org == BRANCH and f.due.year == 2026 for f in january.gaps)
    listed = overdue(busy_town, rules, TOWN, Window(year_start(date(2027, 1, 5)), date(2027, 1, 5), date(2027, 1, 5)))
    assert any(f.obligation == "theme_day" and f.period == "2026-12" and f.status == "missed" for f in listed)
    assert year_start(date(2027, 2, 1)) == date(2027, 1, 1) and year_start(date(2027, 1, 31)) == date(2026, 12, 1)


def test_a_scope_without_branches_and_a_month_not_begun_are_refused(busy_town: Store, rules, tmp_path: Path):
    from compliance.errors import NotFound

    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n空镇党委,,乡镇党委"))
    with pytest.raises(NotFound, match="没有党支部"):
        supervise(busy_town, rules, "空镇党委", "2026-11", date(2026, 11, 20))
    with pytest.raises(InputError, match="尚未开始"):
        supervise(busy_town, rules, TOWN, "2099-05")
    # A branch is what a team checks, not a team's scope: its bulletin read 第一党支部督导组 对第一党支部所属1个党支部 (try-out).
    with pytest.raises(InputError, match="是党支部；督查的是乡镇党委、党总支等所属的各党支部"):
        supervise(busy_town, rules, BRANCH, "2026-11", date(2026, 11, 20))


def test_an_outstanding_election_costs_points_in_every_later_quarter(busy_town: Store, rules, tmp_path: Path):
    _records(busy_town, rules, tmp_path, f"{BRANCH},换届,2021-04-06,10,10,换届选举,是,是,,", "e.csv")
    scores, _ = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    branch = next(s for s in scores if s.org == BRANCH)
    assert next(i for i in branch.items if i.item.id == "一.2").deducted == pytest.approx(3.0)


def test_a_branch_without_a_sheet_is_skipped_with_a_warning(busy_town: Store, rules, tmp_path: Path):
    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,领域\n镇机关党支部,图河镇党委,党支部,机关"))
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    assert scores and not any(s.org.endswith("镇机关党支部") for s in scores)
    assert any("镇机关党支部" in w and "没有适用的评分表" in w for w in warnings)


def test_a_period_still_running_is_said_to_be_and_quotas_are_a_whole_townships(busy_town: Store, rules):
    _, ended = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 10, 10))
    assert not any("尚未结束" in w for w in ended)
    _, running = score_scope(busy_town, rules, TOWN, "2026-Q3", as_of=date(2026, 8, 1))
    assert running[0] == "考核周期 2026-Q3 尚未结束：得分为截至 2026-08-01 的情况，周期结束后可能变化"
    # One branch's score is not a township's share of grades ("优秀 1 个，占 100%" was warned of).
    scores, alone = score_scope(busy_town, rules, BRANCH, "2026-Q3", as_of=date(2026, 10, 10))
    assert len(scores) == 1 and not any("占" in w for w in alone)


def test_a_period_not_begun_is_refused(busy_town: Store, rules):
    with pytest.raises(InputError, match="尚未开始"):
        score_scope(busy_town, rules, TOWN, "2099-Q1")


def test_a_branch_that_owed_nothing_in_the_period_is_not_scored(busy_town: Store, rules):
    """score --period 1999 gave every branch 100: each period was exempt, before the branches were tracked."""
    # ... and says why: tracked from a later day, they were said to be neither founded nor dissolved (try-out).
    with pytest.raises(NotFound, match="在考核周期 1999 内没有已成立、未撤销的党支部可以考核：都在 2025-01-01 或以后才成立或启用"):
        score_scope(busy_town, rules, TOWN, "1999")
    # 马屯村党支部 was founded on 2026-05-12: it is not scored for the first quarter, and says why.
    scores, warnings = score_scope(busy_town, rules, TOWN, "2026-Q1", as_of=date(2026, 4, 10))
    assert scores and not any(s.org.endswith("马屯村党支部") for s in scores)
    assert "未考核：「图河镇党委/马屯村党支部」2026-05-12 才成立或启用，考核周期 2026-Q1 内没有应完成的事项" in warnings
    assert any(s.org.endswith("马屯村党支部") for s in score_scope(busy_town, rules, TOWN, "2026-Q2", as_of=date(2026, 7, 10))[0])


def test_every_write_waits_for_the_one_holding_the_audit_head(busy_town: Store):
    """Writers take the audit head first, so a run of an overlapping scope cannot interleave with another write."""
    import threading
    import time

    order: list[str] = []
    holding = threading.Event()

    def hold() -> None:
        with busy_town.writing():
            holding.set()
            time.sleep(0.5)          # keep the lock while the other writer tries
            order.append("first")

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    orgs = {o.path: o.id for o in busy_town.orgs()}
    busy_town.add_deduction(orgs[BRANCH], "village-2020", "一.1", "2026-Q3", 1.0, "标识不统一")
    order.append("second")
    thread.join(10)
    assert order == ["first", "second"]


def test_a_past_quarter_is_scored_the_day_after_it_ends(busy_town: Store, rules):
    busy_town.clock = lambda: datetime(2026, 11, 20, 9, 0, tzinfo=TZ)
    scores, _ = score_scope(busy_town, rules, TOWN, "2026-Q3")
    branch = next(s for s in scores if s.org == BRANCH)
    reasons = [d.reason for i in branch.items for d in i.deductions]
    assert any("2026-09" in r for r in reasons)          # September's missed meetings count


def test_publishing_an_unchanged_draft_says_it_was_published(runner, tmp_path: Path, busy_town: Store):
    from compliance.cli import app

    args = ["--db", busy_town.url, "supervise", "--under", TOWN, "--month", "2026-11", "--as-of", "2026-11-20", "--out", str(tmp_path)]
    assert "草稿" in runner.invoke(app, args).output
    published = runner.invoke(app, [*args, "--publish"])
    assert published.exit_code == 0 and "第1版 已发布（冻结）" in published.output
    assert "（与草稿结果相同，未重复写入，已将草稿发布）" in published.output
    again = runner.invoke(app, [*args, "--publish"])
    assert "（与上次结果相同，未重复写入）" in again.output and "已将草稿发布" not in again.output


def test_a_run_made_again_or_published_after_its_draft_gives_what_the_run_opened_in_all(runner, tmp_path: Path, busy_town: Store):
    """The run on 12-26 opened 44 items; run again on 12-29 it said 新建整改事项 0 项, and published on 12-30 0 and 0 (try-out)."""
    from compliance.cli import app

    args = ["--db", busy_town.url, "supervise", "--under", TOWN, "--month", "2026-11", "--as-of", "2026-11-20", "--out", str(tmp_path)]
    first = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert first["opened"] > 0 and (first["run_opened"], first["run_closed"]) == (first["opened"], first["closed"])
    published = runner.invoke(app, [*args, "--publish"], env={"COLUMNS": "200"})
    assert published.exit_code == 0, published.output
    assert "新建整改事项 0 项" in published.output
    assert f"本版督查累计（含此前各次运行）：新建或重新打开整改事项 {first['opened']} 项，自动销号 {first['closed']} 项。" in published.output


def test_an_item_closed_after_its_deadline_is_marked_closed_late(runner, busy_town: Store, rules, tmp_path: Path):
    import csv
    import io

    from compliance.cli import app

    result = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26))     # deadlines: 2026-11-30
    late, in_time = result.ledger[0], result.ledger[1]
    assert late.deadline == in_time.deadline == date(2026, 11, 30)
    db = ["--db", busy_town.url]
    for item, day in ((late, "2026-12-01"), (in_time, "2026-11-30")):
        assert runner.invoke(app, db + ["rectify", "close", str(item.id), "--note", "已整改", "--on", day]).exit_code == 0
    listed = runner.invoke(app, db + ["rectify", "list", "--format", "csv"]).stdout.lstrip("\ufeff")
    rows = {r["编号"]: r for r in csv.DictReader(io.StringIO(listed))}
    assert (rows[str(late.id)]["逾期销号"], rows[str(late.id)]["超期"]) == ("是", "否")
    assert rows[str(in_time.id)]["逾期销号"] == "否"
    # The day each was listed, as the JSON has it: the CSV had no 列入台账日期 (county try-out).
    assert rows[str(late.id)]["列入台账日期"] == late.opened_on.isoformat() == "2026-10-26"
    org = next(r["组织"] for r in rows.values() if r["编号"] == str(late.id))
    table = runner.invoke(app, db + ["rectify", "list", "--under", org]).output
    assert "（逾期）" in table and "；逾期销号 1 项" in table
    # The next month's bulletin shows it in its ledger too.
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 1))
    xlsx = write_bulletin(december, tmp_path / "out")[1]
    sheet = load_workbook(xlsx)["整改台账"]
    assert [c.value for c in sheet[1]][4:] == ["列入台账日期", "整改时限", "责任人", "完成销号时间", "状态", "销号说明"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    closed = {str(row[0]): row[7:] for row in rows}
    # The day stays a day (it was "2026-12-01（逾期）", text among dates); the state is a column of its own, and so is the note.
    assert (closed[str(late.id)], closed[str(in_time.id)]) == ((datetime(2026, 12, 1), "逾期销号", "已整改"),
                                                               (datetime(2026, 11, 30), "已销号", "已整改"))
    assert all(row[9] is None for row in rows if row[7] is None)
    assert {str(row[0]): row[4] for row in rows}[str(late.id)] == datetime(2026, 10, 26)       # 列入台账日期
    # An item still open past its deadline was not marked at all (try-out).
    still = {(row[5] < datetime(2026, 12, 1), row[8]) for row in rows if row[7] is None}
    assert still == {(True, "超期未销号"), (False, "未销号")}
    # Text wraps in its column: a long path or matter was cut off by the cell beside it; a day keeps its own format.
    second = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert all(second[j].alignment.wrap_text for j in (1, 2, 3, 6)) and second[4].number_format == second[5].number_format == "yyyy-mm-dd"


def test_the_bulletin_sends_evidence_to_the_office_of_its_scope(busy_town: Store, rules):
    """A township's bulletin names its own 党建办 (seed 003, 附件2 §五); a scope above or below a township, its team."""
    from compliance.report.bulletin import make_bulletin

    town = make_bulletin(supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25)))
    village = make_bulletin(supervise(busy_town, rules, "朱庄村党总支", "2026-11", date(2026, 11, 25)))
    assert "报图河镇党建办，" in town.requirements[1]
    assert "报朱庄村党总支督导组，" in village.requirements[1] and village.office == "朱庄村党总支督导组"
    assert "镇党建办" not in village.requirements[1]


def test_the_ledger_counted_in_sql_is_the_ledger_counted_item_by_item(busy_town: Store, rules):
    from compliance.report.bulletin import make_bulletin

    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26))     # deadlines: 2026-11-30
    busy_town.close_rectification(october.ledger[0].id, "已整改", date(2026, 12, 1))
    busy_town.close_rectification(october.ledger[1].id, "已整改", date(2026, 11, 20))
    # Closed by hand after the run's day: open and late as the run shows the ledger, in SQL too, where it was neither
    # closed nor late, nor open with a deadline (a comparison with NULL; review).
    busy_town.close_rectification(october.ledger[2].id, "已整改", date(2026, 12, 3))
    result = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 1))
    assert "ledger" not in vars(result)
    assert next(i for i in result.ledger if i.id == october.ledger[2].id).closed_on is None
    by_org: dict[int, list] = {}
    for item in result.ledger:
        by_org.setdefault(item.org_id, []).append(item)
    expected = [(org_id, sum(i.closed_on is None for i in items), sum(i.closed_on is not None for i in items),
                 sum(i.closed_on is None and i.deadline < date(2026, 12, 1) for i in items),
                 min((i.deadline for i in items if i.closed_on is None), default=None), items[-1].responsible)
                for org_id, items in sorted(by_org.items())]
    assert [tuple(c) for c in result.ledger_counts] == expected
    late = sum(row[3] for row in expected)
    assert late and any(row[2] for row in expected)      # items past their deadline, and items closed
    b = make_bulletin(result)
    assert len(b.ledger_rows) == len(result.ledger) and f"已超过整改时限的{late}项" in b.requirements[0]
    assert sorted(b.ledger_summary) == sorted([result.org_paths[row[0]].removeprefix(TOWN + "/"), str(row[1]), str(row[2]),
                                               row[4].isoformat() if row[4] else "", row[5]] for row in expected)


def test_closing_a_rectification_on_an_impossible_date_is_refused(runner, tmp_path: Path, busy_town: Store, rules):
    from compliance.cli import app

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    item = result.ledger[0].id
    db = ["--db", busy_town.url]
    bad = runner.invoke(app, db + ["rectify", "close", str(item), "--note", "x", "--on", "2026-10-01"])
    assert bad.exit_code == 2 and "开立日期" in bad.stderr


def test_closing_one_rectification_reads_that_item_not_the_whole_ledger(runner, busy_town: Store, rules):
    # A province's ledger has hundreds of thousands of items; the team closes them one at a time.
    from sqlalchemy import Engine, event

    from compliance.cli import app

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    item = result.ledger[1]
    ledger_reads: list[str] = []

    def listen(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "FROM rectification" in statement:
            ledger_reads.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", listen)
    try:
        closed = runner.invoke(app, ["--db", busy_town.url, "rectify", "close", str(item.id), "--note", "回头看：已整改",
                                     "--on", "2026-11-20"])
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
    assert closed.exit_code == 0, closed.output
    # The item, and its own past states (the day it was last reopened, `Store.reopened_on`), each by its index.
    assert ledger_reads and all("WHERE rectification.id =" in s or "WHERE rectificationpast.item_id =" in s for s in ledger_reads), \
        ledger_reads
    assert {r.id: r.closed_on for r in busy_town.rectifications()}[item.id] == date(2026, 11, 20)
    assert busy_town.rectification(item.id) == next(r for r in busy_town.rectifications() if r.id == item.id)
    assert busy_town.rectification(10 ** 9) is None


def test_open_gaps_are_the_open_items_fields_a_run_matches_by_and_read_by_organization(busy_town: Store, rules, monkeypatch):
    from compliance.store import runs

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    closed = result.ledger[0]
    assert busy_town.close_rectification(closed.id, "回头看：已整改", date(2026, 11, 20)) is not None

    def expected(ids):
        return [runs.OpenGap(*(getattr(i, name) for name in runs.OpenGap._fields)) for i in busy_town.rectifications(ids, True)]

    orgs = sorted({i.org_id for i in result.ledger})
    assert len(orgs) > 2
    for ids in (None, orgs, orgs[:1]):
        found = list(busy_town.open_gaps(ids))
        assert found == expected(ids) and found
        assert closed.gap_key not in {g.gap_key for g in found} and all(type(g.opened_on) is date for g in found)
    # A run holds the gaps alone and makes the keys of those it finds (`OpenLedger`): every
    # item's key is made of its own gap.
    found = list(busy_town.open_gaps())
    assert all(g.gap_key == gap_key(g.org_id, g.obligation, g.period, g.member, g.group_name) for g in found)
    # Equal values are one object: a province's open ledger repeats its periods and members.
    by_period: dict[str, set[int]] = {}
    for g in found:
        by_period.setdefault(g.period, set()).add(id(g.period))
    assert len(by_period) < len(found) and all(len(ids) == 1 for ids in by_period.values())
    # More organizations than a statement names: the rows are filtered as they come.
    monkeypatch.setattr(runs, "CHUNK", 1)
    assert list(busy_town.open_gaps(orgs[1:])) == [g for g in expected(None) if g.org_id in orgs[1:]]


def test_a_run_stores_what_needs_attention_and_counts_what_was_met(busy_town: Store, rules):
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    with busy_town.engine.connect() as conn:
        statuses = {row[0] for row in conn.execute(select(model.RunFinding.__table__.c.status))}
    assert statuses and "met" not in statuses          # met periods are counted, not stored one by one
    met, total = result.tallies[BRANCH]
    assert met >= 11 and total == met + sum(1 for f in result.gaps if f.org == BRANCH)    # 3 党员大会 and 8 主题党日 were held
    assert result.rates[BRANCH]["2026-08"] is not None


def test_the_ranking_counts_an_election_outstanding_from_before_the_year(busy_town: Store, rules, tmp_path: Path):
    """A branch whose only gap was a 换届 owed since 2020 was ranked at 100%, beside the gap in its own problem list (try-out)."""
    importing.import_orgs(busy_town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,成立日期\n老村党支部,图河镇党委,党支部,2015-03-01"))
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    old = "图河镇党委/老村党支部"
    term = [f for f in result.gaps if f.org == old and "/" in f.period]
    assert term and term[0].due < date(2026, 1, 1), term
    met, total = result.tallies[old]
    assert total - met == sum(1 for f in result.gaps if f.org == old)


def test_a_large_scope_is_charted_by_its_units():
    from compliance.report.bulletin import CHART_ROWS, chart_rates

    few = {f"村{i}党支部": {"2026-10": 1.0} for i in range(3)}
    assert chart_rates(few) == (few, "各党支部逐月完成率")
    many = {f"{'甲乙'[i % 2]}镇党委/村{i}党支部": {"2026-09": i % 2 * 0.5, "2026-10": None} for i in range(CHART_ROWS + 2)}
    rates, title = chart_rates(many)
    assert rates == {"甲镇党委": {"2026-09": 0.0, "2026-10": None}, "乙镇党委": {"2026-09": 0.5, "2026-10": None}}
    assert "下级党组织" in title
    units = {f"镇{i}/村党支部": {"2026-10": i / 100} for i in range(CHART_ROWS + 5)}
    rates, title = chart_rates(units)
    assert len(rates) == CHART_ROWS and "镇44" not in rates and "镇0" in rates and "最低" in title


def test_a_province_bulletin_keeps_the_notice_short_and_the_workbook_whole(tmp_path: Path):
    from docx import Document
    from openpyxl import load_workbook

    from compliance.report.bulletin import DOCX_ROWS, Bulletin, write_chart, write_docx, write_xlsx

    rows = [[f"镇{i}/村党支部", "2", "0", "主题党日2项"] for i in range(DOCX_ROWS + 30)]
    ranking = [[str(i), f"镇{i}/村党支部", "50.0%", "1", "2"] for i in range(1, DOCX_ROWS + 31)]
    b = Bulletin(title="通报", office="督导组", date="2026-11-20", summary="概况", comparison="比较", branch_rows=rows,
                 ranking_rows=ranking, ledger_rows=[["1", "镇0/村党支部", "=事项", "措施 https://example.cn", "2026-11-20", "2026-12-31", "²", "", "未销号",
                                                 "2026-12-01"],
                                                ["2", "镇0/村党支部", "20261201", "措施", "2026-11-20", "2026-12-31", "²", "", "未销号", "12"]],
                 ledger_summary=[], requirements=["按时整改"], rates={}, revision=1, published=False)
    chart, labels = write_chart(b, tmp_path / "c.png")
    doc = Document(str(write_docx(b, tmp_path / "b.docx", chart, labels)))
    assert [len(t.rows) for t in doc.tables] == [DOCX_ROWS + 1, DOCX_ROWS + 2]
    assert any(f"共{DOCX_ROWS + 30}行" in p.text and "问题清单" in p.text for p in doc.paragraphs)
    # The ranking's both ends, the worst too: its first hundred named the best alone (try-out).
    places = [row.cells[0].text for row in doc.tables[1].rows[1:]]
    assert places[:2] == ["1", "2"] and places[DOCX_ROWS // 2] == "…" and places[-1] == str(DOCX_ROWS + 30)
    assert any(f"下表列出前{DOCX_ROWS // 2}名和后{DOCX_ROWS // 2}名" in p.text and "排名" in p.text for p in doc.paragraphs)
    book = load_workbook(write_xlsx(b, tmp_path / "b.xlsx"))
    assert book.sheetnames == ["汇总", "问题清单", "排名", "记录不规范", "本月待完成", "整改台账"]
    assert book["问题清单"].max_row == DOCX_ROWS + 31 and book["问题清单"]["A1"].font.bold
    assert book["汇总"]["A1"].value == "通报" and book["排名"].freeze_panes == "A2"
    # Numbers are numbers; text stays text, even when it looks like a formula, a link or a digit.
    ledger = [[(c.value, c.data_type) for c in row] for row in book["整改台账"].iter_rows(min_row=2)]
    assert ledger == [[(1, "n"), ("镇0/村党支部", "s"), ("=事项", "s"), ("措施 https://example.cn", "s"), (datetime(2026, 11, 20), "d"),
                       (datetime(2026, 12, 31), "d"), ("²", "s"), (None, "n"), ("未销号", "s"), ("2026-12-01", "s")],
                      # What users write stays text: a note of a day or of digits is no date or number (review).
                      [(2, "n"), ("镇0/村党支部", "s"), ("20261201", "s"), ("措施", "s"), (datetime(2026, 11, 20), "d"),
                       (datetime(2026, 12, 31), "d"), ("²", "s"), (None, "n"), ("未销号", "s"), ("12", "s")]]
    # A day is a date Excel sorts and filters (text before), shown as it is written.
    assert book["整改台账"]["E2"].number_format == book["整改台账"]["F2"].number_format == "yyyy-mm-dd"
    assert not book["整改台账"]._hyperlinks


@pytest.mark.parametrize("published, revision, byline", [(False, 2, "督导组　2026-11-20（草稿）　第2版"),
                                                       (True, 1, "督导组　2026-11-20")])
def test_every_format_marks_a_draft_and_its_revision_alike(tmp_path: Path, published: bool, revision: int, byline: str):
    from compliance.report.bulletin import Bulletin, write_chart, write_docx, write_markdown, write_xlsx

    b = Bulletin(title="通报", office="督导组", date="2026-11-20", summary="概况", comparison="比较", branch_rows=[],
                 ranking_rows=[], ledger_rows=[], ledger_summary=[], requirements=[], rates={}, revision=revision,
                 published=published)
    chart, labels = write_chart(b, tmp_path / "c.png")
    assert write_markdown(b, tmp_path / "b.md").read_text(encoding="utf-8").splitlines()[2] == byline
    assert Document(str(write_docx(b, tmp_path / "b.docx", chart, labels))).paragraphs[1].text == byline
    assert load_workbook(write_xlsx(b, tmp_path / "b.xlsx"))["汇总"]["A2"].value == byline


def test_a_workbook_that_cannot_be_written_raises_the_os_error_the_command_reports(tmp_path: Path):
    from compliance.report.bulletin import Bulletin, write_xlsx

    b = Bulletin(title="通报", office="督导组", date="2026-11-20", summary="概况", comparison="比较", branch_rows=[],
                 ranking_rows=[], ledger_rows=[], ledger_summary=[], requirements=[], rates={}, revision=1, published=False)
    with pytest.raises(FileNotFoundError):
        write_xlsx(b, tmp_path / "missing" / "b.xlsx")
    assert not (tmp_path / "missing").exists()


def test_a_run_that_fails_midway_gives_back_the_collectors_setting(busy_town: Store, rules, monkeypatch):
    import gc

    from compliance import supervision

    def broken(self, org, tally):
        raise RuntimeError("counting failed")

    monkeypatch.setattr(supervision.Rates, "add", broken)
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="counting failed"):
        supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    gc.collect()            # the evaluation's generator, if still open, is finished here at the latest
    assert gc.get_threshold() == before


def _cells(path: Path) -> dict[str, list[tuple]]:
    book = load_workbook(path)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def test_the_workbook_begun_when_the_run_is_saved_is_the_one_written_after_it(busy_town: Store, rules, tmp_path: Path):
    from compliance.report.bulletin import LedgerXlsx, bulletin_stem, make_bulletin, write_xlsx

    supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    started: list[LedgerXlsx | None] = []

    def saved(scope, paths, run) -> None:
        # The ledger is saved: read now, it is the ledger the run returns.
        assert [r.id for r in busy_town.iter_rectifications(paths)] == [r.id for r in busy_town.rectifications(paths)]
        started.append(LedgerXlsx.start(busy_town, tmp_path / "beside" / f"{bulletin_stem(scope.name, run)}.xlsx", scope.path, paths, run))

    (tmp_path / "beside").mkdir()
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), saved=saved)
    job = started[0]
    assert job is not None and job.process.poll() is None     # its ledger written, it waits for the rest
    b = make_bulletin(result)
    path = job.finish(b)
    assert path == tmp_path / "beside" / "通报-图河镇党委-2026-11.xlsx" and job.process.returncode == 0
    assert "ledger" not in vars(result)      # the command counted the ledger; only the process read its items
    beside, serial = _cells(path), _cells(write_xlsx(b, tmp_path / "serial.xlsx"))
    assert beside == serial
    assert len(beside["整改台账"]) == len(result.ledger) + 1 and beside["汇总"][0][0] == b.title


def test_a_past_months_bulletin_made_after_later_runs_shows_the_ledger_as_it_stood_on_its_day(busy_town: Store, rules,
                                                                                                tmp_path: Path):
    """November's bulletin, published after December's run, listed December's items (432 of them, for periods not yet over
    on its day) and a closure of 5 December, against its 问题 count (try-out)."""
    from compliance.report.bulletin import LedgerXlsx, bulletin_stem, make_bulletin

    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28))
    first = {r.id for r in november.ledger}
    busy_town.close_rectification(november.ledger[0].id, "回头看：已整改", date(2026, 12, 5))
    _at(busy_town, "2026-12-28T10:00")
    december = supervise(busy_town, rules, TOWN, "2026-12", date(2026, 12, 28))
    assert december.opened and len(december.ledger) > len(first)
    started: list[LedgerXlsx | None] = []

    def saved(scope, paths, run) -> None:
        started.append(LedgerXlsx.start(busy_town, tmp_path / f"{bulletin_stem(scope.name, run)}.xlsx", scope.path, paths, run))

    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28), publish=True, saved=saved)
    assert {r.id for r in again.ledger} == first and all(r.closed_on is None for r in again.ledger)
    assert sum(c.open for c in again.ledger_counts) == len(first) and not any(c.closed for c in again.ledger_counts)
    b = make_bulletin(again)
    rows = _cells(started[0].finish(b))["整改台账"][1:]
    assert sorted(int(row[0]) for row in rows) == sorted(first) and not any(row[7] for row in rows)
    # The ledger itself is as December's run and the hand closure left it.
    assert busy_town.rectification(november.ledger[0].id).closed_on == date(2026, 12, 5)
    # October, run for the first time after them: its gaps' items, which November's run opened, are its ledger's.
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 31))
    listed = {r.gap_key: r for r in october.ledger}
    assert {gap_key(f.org_id, f.obligation, f.period, f.member, f.group) for f in october.gaps} <= set(listed)
    assert any(r.opened_on == date(2026, 11, 28) for r in listed.values())
    assert not any(r.opened_on == date(2026, 12, 28) for r in listed.values())
    assert sum(c.open + c.closed for c in october.ledger_counts) == len(october.ledger)


def _late_payer(store: Store, tmp_path: Path) -> tuple[str, str]:
    """Pay one member's dues of January to April on time and of May to October on 10 November; return them and another member."""
    from compliance import membership

    branch = store.index_around(BRANCH).resolve(BRANCH).id
    payer, other = [m.name for m in store.members() if m.org_id == branch][:2]
    rows = [f"{payer},{BRANCH},2026-{m:02d},10,2026-{m:02d}-08" for m in range(1, 5)]
    rows += [f"{payer},{BRANCH},2026-{m:02d},10,2026-11-10" for m in range(5, 11)]
    membership.import_dues(store, write_csv(tmp_path / "d.csv", "姓名,党组织,月份,金额,交纳日期\n" + "\n".join(rows)))
    return payer, other


def test_a_past_months_run_made_after_a_later_one_closes_at_once_the_items_of_dues_paid_since(busy_town: Store, rules,
                                                                                                tmp_path: Path):
    """October's run made in December, after November's, opened 15 items for dues paid late in November, overdue the day they
    were made, that no later run closed (try-out). They are rectified: opened and closed (自动销号) at once, today."""
    from rich.console import Console

    from compliance.report.assessments import print_run, run_dict

    payer, other = _late_payer(busy_town, tmp_path)
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28))
    assert not any(f.member == payer and f.obligation == "dues" for f in november.gaps)
    still = {r.gap_key for r in busy_town.rectifications(open_only=True)}
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 31))
    paid_late = [f for f in october.gaps if f.member == payer and f.obligation == "dues"]
    assert [f.period for f in paid_late] == [f"2026-{m:02d}" for m in range(5, 10)]
    assert october.written and october.settled == len(paid_late) and october.opened == len(paid_late)
    items = {r.gap_key: r for r in busy_town.rectifications()}
    for f in paid_late:
        item = items[gap_key(f.org_id, f.obligation, f.period, f.member, f.group)]
        assert item.opened_run_id == item.closed_run_id == october.run.id
        assert item.closed_on == busy_town.today() and item.close_note == PAID_NOTE
    # The others' items, November's, stay open: their dues are unpaid still.
    assert still <= {r.gap_key for r in busy_town.rectifications(open_only=True)}
    assert any(r.member == other and r.obligation == "dues" for r in busy_town.rectifications(open_only=True))
    # Its bulletin shows them closed, by the run itself.
    shown = {r.gap_key: r for r in october.ledger}
    assert all(shown[gap_key(f.org_id, f.obligation, f.period, f.member, f.group)].closed_on for f in paid_late)
    assert run_dict(october, [])["settled"] == len(paid_late)
    console = Console(record=True, width=300)
    print_run(console, october, [])
    assert f"自动销号的整改事项中，{len(paid_late)} 项的问题是判断日期之后补交党费整改的（今天销号）。" in console.export_text()
    # So does its bulletin's table of problems: 党费7项 said nothing of the five paid since (try-out).
    md, *_ = write_bulletin(october, tmp_path / "out")
    row = next(line for line in md.read_text(encoding="utf-8").splitlines() if line.startswith("| 朱庄村党总支/第一党支部 |"))
    assert f"（其中{len(paid_late)}项已整改销号）" in row, row
    # Run again: nothing written, nothing closed, nothing said.
    again = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 31))
    assert not again.written and again.settled == 0
    console = Console(record=True, width=300)
    print_run(console, again, [])
    assert "补交党费" not in console.export_text()


def test_a_past_months_run_closes_the_items_of_dues_paid_after_its_day_when_run_again(busy_town: Store, rules,
                                                                                       tmp_path: Path):
    """The first run, October's made in December: what was paid late is closed at once; a payment made after it is closed when
    the month is run again, though its snapshot, as of 31 October, is the same."""
    from compliance import membership

    payer, other = _late_payer(busy_town, tmp_path)
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 31))
    open_items = busy_town.rectifications(open_only=True)
    assert not any(r.member == payer and r.obligation == "dues" for r in open_items)
    assert october.settled == 5 and october.opened > october.settled
    september = next(r for r in open_items if r.member == other and r.obligation == "dues" and r.period == "2026-09")
    membership.import_dues(busy_town, write_csv(tmp_path / "e.csv", f"姓名,党组织,月份,金额,交纳日期\n{other},{BRANCH},2026-09,10,2026-12-04"))
    again = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 31))
    assert again.written and again.settled == again.closed == 1 and again.opened == again.reopened == 0
    assert busy_town.rectification(september.id).closed_on == busy_town.today()
    # November's, as of its last day, finds September paid since, its item closed already: it closes nothing again.
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30))
    assert november.settled == 0 and busy_town.rectification(september.id).closed_on == busy_town.today()


def test_dues_paid_late_close_an_item_keyed_by_hand_and_open_no_twin(busy_town: Store, rules, tmp_path: Path):
    """An item whose key is not made of its gap (a database edited by hand) was closed, while a new item for the same gap, under
    its proper key, was opened and left open (review)."""
    from compliance import membership

    payer, other = _late_payer(busy_town, tmp_path)
    supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 31))
    item = next(r for r in busy_town.rectifications(open_only=True) if r.member == other and r.period == "2026-07")
    with busy_town.engine.begin() as conn:
        conn.execute(model.Rectification.__table__.update().where(model.Rectification.__table__.c.id == item.id).values(gap_key="legacy-1"))
    membership.import_dues(busy_town, write_csv(tmp_path / "e.csv", f"姓名,党组织,月份,金额,交纳日期\n{other},{BRANCH},2026-07,10,2026-12-04"))
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30))
    assert busy_town.rectification(item.id).closed_on == busy_town.today()
    # Closed: the item keyed by hand, and the item a gap's key always opens beside it (as before for a gap still open).
    assert november.settled == 2
    assert not [r for r in busy_town.rectifications(open_only=True) if r.member == other and r.period == "2026-07"]


def test_a_draft_run_again_with_an_earlier_day_keeps_the_items_it_opened_in_its_ledger(busy_town: Store, rules):
    """Run again as of the 25th, a draft of the 28th is replaced, day and all: its items, opened on the 28th, were left out
    of its bulletin's ledger (review)."""
    first = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28))
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25))
    assert again.run.id == first.run.id and again.run.as_of == date(2026, 11, 25)
    assert {r.id for r in first.ledger} <= {r.id for r in again.ledger}
    assert sum(c.open + c.closed for c in again.ledger_counts) == len(again.ledger)


def test_a_workbook_that_cannot_be_written_reports_the_file_and_one_stopped_leaves_nothing(busy_town: Store, rules,
                                                                                          tmp_path: Path):
    from compliance.report.bulletin import LedgerXlsx, make_bulletin

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    paths = result.org_paths
    missing = LedgerXlsx.start(busy_town, tmp_path / "missing" / "b.xlsx", TOWN, paths, result.run)
    with pytest.raises(OSError) as raised:
        missing.finish(make_bulletin(result))
    assert raised.value.filename and "missing" in str(raised.value.filename)
    assert missing.process.returncode == 0 and not Path(missing._tmpdir.name).exists()
    # A run that fails after saving stops the process: no workbook, no temporary files.
    stopped = LedgerXlsx.start(busy_town, tmp_path / "stopped.xlsx", TOWN, paths, result.run)
    stopped.close()
    assert stopped.process.returncode is not None and not (tmp_path / "stopped.xlsx").exists()
    assert not Path(stopped._tmpdir.name).exists()


def test_a_workbook_process_that_cannot_start_leaves_the_workbook_to_the_command(busy_town: Store, rules, tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch):
    import tempfile

    from compliance.report.bulletin import LedgerXlsx

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert LedgerXlsx.start(busy_town, tmp_path / "b.xlsx", TOWN, result.org_paths, result.run) is None
    assert not list(tmp_path.glob("compliance-xlsx-*"))


def test_a_workbook_process_that_failed_early_reports_its_own_error(busy_town: Store, rules, tmp_path: Path):
    from compliance.errors import ComplianceError
    from compliance.report.bulletin import LedgerXlsx, make_bulletin

    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20))
    empty = Store(f"sqlite:///{tmp_path / 'empty.db'}")      # no tables: reading the ledger fails at once
    job = LedgerXlsx.start(empty, tmp_path / "b.xlsx", TOWN, result.org_paths, result.run)
    job.process.wait()      # it has answered and gone before the rest of the bulletin is sent
    with pytest.raises(ComplianceError, match="写入通报 XLSX 时出错：OperationalError"):
        job.finish(make_bulletin(result))
    assert not (tmp_path / "b.xlsx").exists()


def test_the_cli_writes_the_same_workbook_with_one_process_or_more(busy_town: Store, rules, tmp_path: Path):
    from typer.testing import CliRunner

    from compliance.cli import app

    supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    books = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        result = CliRunner().invoke(app, ["--db", busy_town.url, "supervise", "--under", TOWN, "--month", "2026-11", "--as-of", "2026-11-20",
                                          "--out", str(out), "--format", "json", "--jobs", jobs])
        assert result.exit_code == 0, result.output
        files = json.loads(result.stdout)["files"]
        books[jobs] = _cells(next(Path(f) for f in files if f.endswith(".xlsx")))
    assert books["1"] == books["2"] and len(books["2"]["整改台账"]) > 1


def test_a_table_longer_than_a_sheet_goes_on_in_continuation_sheets(tmp_path: Path):
    from openpyxl import load_workbook
    from xlsxwriter.worksheet import Worksheet

    from compliance.report.bulletin import XLSX_ROWS, Bulletin, LEDGER_HEADERS, write_markdown, write_xlsx

    assert XLSX_ROWS == Worksheet().xls_rowmax
    ledger = [[str(i), f"镇{i}/村党支部", f"事项{i}", "措施", "2026-12-31", "张三", ""] for i in range(1, 8)]
    b = Bulletin(title="通报", office="督导组", date="2026-11-20", summary="概况", comparison="比较", branch_rows=[],
                 ranking_rows=[], ledger_rows=ledger, ledger_summary=[], requirements=[], rates={}, revision=1, published=False)
    # Four rows a sheet: a header and three items, so seven items take three sheets and none is dropped.
    book = load_workbook(write_xlsx(b, tmp_path / "b.xlsx", sheet_rows=4))
    assert book.sheetnames == ["汇总", "问题清单", "排名", "记录不规范", "本月待完成", "整改台账", "整改台账（续1）", "整改台账（续2）"]
    sheets = [book["整改台账"], book["整改台账（续1）"], book["整改台账（续2）"]]
    assert all([c.value for c in sheet[1]] == LEDGER_HEADERS for sheet in sheets)
    assert [[row[2] for row in sheet.iter_rows(min_row=2, values_only=True)] for sheet in sheets] == [
        ["事项1", "事项2", "事项3"], ["事项4", "事项5", "事项6"], ["事项7"]]
    # Exactly full sheets make no empty sheet after them.
    exact = load_workbook(write_xlsx(b, tmp_path / "exact.xlsx", sheet_rows=8))
    assert exact.sheetnames[5:] == ["整改台账"] and exact["整改台账"].max_row == 8
    assert "「整改台账」表" in write_markdown(b, tmp_path / "b.md").read_text(encoding="utf-8")


def test_the_comparison_names_the_organizations_whose_problems_grew_most_not_every_one():
    from compliance.report.bulletin import WORSE_NAMED, comparison_text
    from compliance.supervision import Comparison

    previous = SimpleNamespace(month="2026-10")
    few = Comparison(previous, worse=(("省/乙", 1, 2), ("省/甲", 0, 4)))
    assert comparison_text(few, 2026, "省").endswith("增加的2个。问题增加的有：乙（1→2）、甲（0→4）。")
    # A province's run: 24,140 organizations made a paragraph of two million characters.
    many = Comparison(previous, worse=tuple((f"省/组织{i:03d}", 1, 1 + i % 50) for i in range(1, 1001)))
    text = comparison_text(many, 2026, "省")
    named = text.split("：", 1)[1].rstrip("。").split("、")
    assert "增加的1000个" in text and f"问题增加最多的{WORSE_NAMED}个是" in text and len(named) == WORSE_NAMED
    assert named[0] == "组织049（1→50）" and all("→50）" in n or "→49）" in n for n in named) and len(text) < 1000
    # Those whose problems fell are named too, most improved first (they were only counted).
    mixed = Comparison(previous, better=(("省/丙", 5, 1), ("省/丁", 3, 2)), worse=(("省/乙", 1, 2),))
    assert comparison_text(mixed, 2026, "省").endswith("问题增加的有：乙（1→2）。问题减少的有：丙（5→1）、丁（3→2）。")
    fell = comparison_text(Comparison(previous, better=tuple((f"省/组织{i:03d}", 60, 60 - i % 50) for i in range(1, 1001))), 2026, "省")
    assert f"问题减少最多的{WORSE_NAMED}个是：组织049（60→11）" in fell and "问题增加" not in fell and len(fell) < 1000


def test_the_notice_names_every_sheet_the_ledger_takes():
    from types import SimpleNamespace

    from compliance.report.bulletin import XLSX_ROWS, _ledger_sheets

    def named(rows: int) -> str:
        return _ledger_sheets(SimpleNamespace(ledger_rows=range(rows)))

    # a sheet holds its header and XLSX_ROWS - 1 items
    assert named(0) == named(XLSX_ROWS - 1) == "「整改台账」表"
    assert named(XLSX_ROWS) == "「整改台账」至「整改台账（续1）」2张表"
    assert named(2 * XLSX_ROWS) == "「整改台账」至「整改台账（续2）」3张表"


def test_an_election_item_closes_when_the_last_election_before_tracking_is_entered(town: Store, rules, tmp_path: Path):
    """无换届选举记录，如已换届请补录: entering it, as the measure asks, makes the old term history, and closes its item."""
    from tests.conftest import TOWN_ORGS

    town.clock = lambda: datetime(2026, 3, 20, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace(
        "第一党支部,朱庄村党总支,党支部,ZZ1,,,,", "第一党支部,朱庄村党总支,党支部,ZZ1,,,2015-03-01,")))
    branch = next(o.id for o in town.orgs() if o.path == BRANCH)
    supervise(town, rules, TOWN, "2026-03", date(2026, 3, 25))
    item = next(i for i in town.rectifications() if (i.obligation, i.org_id) == ("committee_election", branch))
    assert (item.period, item.closed_on) == ("2015-03-01/2020-02-29", None) and "无换届选举记录" in item.matter
    town.clock = lambda: datetime(2026, 4, 20, 9, 0, tzinfo=TZ)
    importing.log_record(town, rules, {"org": BRANCH, "kind": "换届", "date": "2024-06-01"})
    supervise(town, rules, TOWN, "2026-04", date(2026, 4, 27))
    closed = next(i for i in town.rectifications() if i.id == item.id)
    # Closed as the election entered, which it was: it said 已不再需要（已登记免除、不再适用或不再检查此项） (supervision team's try-out).
    assert (closed.closed_on, closed.close_note) == (date(2026, 4, 27), ELECTED_NOTE)


def test_last_years_election_item_says_invalid_once_the_late_election_is_held(town: Store, rules, tmp_path: Path):
    """A term that ended in 2026, its election held in April 2027: the item kept asking 按程序及时组织换届选举."""
    from tests.conftest import TOWN_ORGS

    town.clock = lambda: datetime(2026, 3, 20, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace(
        "第一党支部,朱庄村党总支,党支部,ZZ1,,,,", "第一党支部,朱庄村党总支,党支部,ZZ1,,,2021-03-05,")))
    branch = next(o.id for o in town.orgs() if o.path == BRANCH)
    supervise(town, rules, TOWN, "2026-03", date(2026, 3, 25))
    item = next(i for i in town.rectifications() if (i.obligation, i.org_id) == ("committee_election", branch))
    assert item.period == "2021-03-05/2026-03-04" and "逾期未完成" in item.matter
    town.clock = lambda: datetime(2027, 4, 3, 9, 0, tzinfo=TZ)
    importing.log_record(town, rules, {"org": BRANCH, "kind": "换届", "date": "2027-04-02"})
    supervise(town, rules, TOWN, "2027-04", date(2027, 4, 27))
    now = next(i for i in town.rectifications() if i.id == item.id)
    assert now.closed_on is None and "无效（逾期换届）" in now.matter and now.measure.startswith("换届选举逾期进行")
    # December made again in April does not see the election (held after its day): the item stays as April's run left it.
    december = supervise(town, rules, TOWN, "2026-12", date(2026, 12, 31))
    assert december.written and next(i for i in town.rectifications() if i.id == item.id) == now


def test_an_election_item_closes_once_the_election_is_put_off_with_approval(town: Store, rules, tmp_path: Path):
    """A term overdue, its election then put off with approval (换届延期批准): status said 待完成（经批准延期）, and the item
    stayed open, overdue in the ledger, against a branch the rules let wait (try-out). Once the new deadline passes without
    an election, the item is opened again."""
    from compliance.store.runs import DELAYED_NOTE
    from tests.conftest import TOWN_ORGS

    town.clock = lambda: datetime(2026, 3, 20, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace(
        "第一党支部,朱庄村党总支,党支部,ZZ1,,,,", "第一党支部,朱庄村党总支,党支部,ZZ1,,,2021-03-05,")))
    branch = next(o.id for o in town.orgs() if o.path == BRANCH)
    town.clock = lambda: datetime(2027, 2, 20, 9, 0, tzinfo=TZ)
    supervise(town, rules, TOWN, "2027-02", date(2027, 2, 25))
    item = next(i for i in town.rectifications() if (i.obligation, i.org_id) == ("committee_election", branch))
    assert item.period == "2021-03-05/2026-03-04" and item.closed_on is None
    # A month run again from before the term ended sees it running, with no delay: its item stays open (review: it was
    # closed as 已批准延期换届, a delay never approved).
    supervise(town, rules, TOWN, "2025-08", date(2025, 8, 31))
    assert next(i for i in town.rectifications() if i.id == item.id).closed_on is None
    town.clock = lambda: datetime(2027, 3, 2, 9, 0, tzinfo=TZ)
    importing.log_record(town, rules, {"org": BRANCH, "kind": "换届延期批准", "date": "2027-03-01",
                                       "topic": "批准延期至2027-03-03（镇党委批复〔2027〕2号）"})
    town.clock = lambda: datetime(2027, 3, 2, 10, 0, tzinfo=TZ)
    supervise(town, rules, TOWN, "2027-03", date(2027, 3, 2))
    closed = next(i for i in town.rectifications() if i.id == item.id)
    assert (closed.closed_on, closed.close_note) == (date(2027, 3, 2), DELAYED_NOTE)
    # The new deadline passed without an election: the term, to its new end, is owed again.
    town.clock = lambda: datetime(2027, 4, 26, 9, 0, tzinfo=TZ)
    supervise(town, rules, TOWN, "2027-04", date(2027, 4, 26))
    [again] = [i for i in town.rectifications() if (i.obligation, i.org_id, i.closed_on) == ("committee_election", branch, None)]
    assert again.id == item.id and again.matter == "换届 2021-03-05至2026-03-04 逾期未完成（经批准延期）", again


def test_a_meeting_short_of_a_tightened_quorum_is_held_again_with_the_share_its_rule_asks(town: Store, tmp_path: Path):
    """The measure of a meeting short of its quorum said 「超过应到人数的半数」 whatever share the catalog asked."""
    from obligations.rules import load_rules
    from tests.conftest import TOWN_ORGS

    path = tmp_path / "county.toml"
    path.write_text('name = "county-2026"\nextends = "tuhe-2021"\nvalid_from = 2026-07-01\nsource = "某县组发〔2026〕3号"\n\n'
                    '[[obligation]]\nslug = "party_congress"\nquorum_share = "2/3"\nsource = "某县组发〔2026〕3号"\n', encoding="utf-8")
    rules = load_rules(extra_catalog=path)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace("tuhe-2021", "county-2026")))
    # 4 of 10 in February (short of half, the rule then); 6 of 10 in August (half is not two thirds).
    _records(town, rules, tmp_path, f"{BRANCH},党员大会,2026-02-10,10,4,学习,是,是,,\n{BRANCH},党员大会,2026-08-10,10,6,学习,是,是,,")
    result = supervise(town, rules, TOWN, "2026-11", date(2026, 11, 20))
    branch = next(o.id for o in town.orgs() if o.path == BRANCH)
    measures = {r.period: r.measure for r in result.ledger if r.obligation == "party_congress" and r.org_id == branch}
    name = rules.kind_name("party_congress")
    assert measures["2026-Q1"] == f"到会人数须超过应到人数的半数，按要求重新召开{name}并规范记录"
    assert measures["2026-Q3"] == f"到会人数须超过应到人数的三分之二，按要求重新召开{name}并规范记录"


def test_a_month_run_again_after_its_end_closes_items_on_the_day_it_does(busy_town: Store, rules, tmp_path: Path):
    """November run again on 5 December (as of 30 November) closes what was made good on 5 December, not on 30 November."""
    busy_town.clock = lambda: datetime(2026, 12, 1, 9, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-11", publish=True)
    busy_town.clock = lambda: datetime(2026, 12, 5, 17, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    result = supervise(busy_town, rules, TOWN, "2026-11")
    assert result.run.as_of == date(2026, 11, 30) and result.closed == 1
    item = next(r for r in result.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    assert (item.opened_on, item.closed_on) == (date(2026, 11, 30), date(2026, 12, 5))
    # A run given its day (--as-of) acts as of that day: what it closes, it closes on that day.
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-10-08,,,补录,,,,c.jpg", "later.csv")
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 30))
    item = next(r for r in again.ledger if r.obligation == "theme_day" and r.period == "2026-10")
    assert item.closed_on == date(2026, 11, 30)
    # A run of the same day inside the scope, made later, shows as closed what the township's run closed on 5 December:
    # it showed it open, though its gap was gone (review).
    village = supervise(busy_town, rules, "图河镇党委/朱庄村党总支", "2026-11", date(2026, 11, 30))
    made_good = next(r for r in village.ledger if r.obligation == "theme_day" and r.period == "2026-09")
    assert made_good.closed_on == date(2026, 12, 5)


def test_records_of_a_month_before_entered_late_are_counted_by_that_months_committee_and_listed_from_their_day(
        town: Store, rules, tmp_path: Path):
    """A 支委会 of October entered after October's run was judged by November's roster: a branch down to six full members
    in November had its unsigned October minutes left out, though evaluation owed October's 支委会 (eight then). And the
    command the run printed to list them (record list --since the month's first day) did not reach them."""
    from compliance import membership
    from compliance.report.assessments import run_dict

    mt = "图河镇党委/马屯村党支部"
    town.clock = lambda: datetime(2026, 11, 2, 9, tzinfo=TZ)
    supervise(town, rules, TOWN, "2026-10", date(2026, 10, 31), publish=True)
    for n in (0, 1):
        membership.leave_member(town, mt, f"党员屯村党支部{n}", date(2026, 11, 1), "转出", None)
    town.clock = lambda: datetime(2026, 11, 20, 9, tzinfo=TZ)
    _records(town, rules, tmp_path, "\n".join([
        f"{mt},支委会,2026-10-20,5,5,研究工作,否,是,,",     # October's, entered late: eight full members then, a committee
        f"{mt},支委会,2026-11-05,5,5,研究工作,否,是,,",     # November's: six full members, no committee, owes none
    ]), "late.csv")
    town.clock = lambda: datetime(2026, 11, 28, 9, tzinfo=TZ)
    result = supervise(town, rules, TOWN, "2026-11", date(2026, 11, 28))
    assert result.record_marks == {mt: (1, 0)}
    assert result.record_marks_since == date(2026, 10, 20)
    assert run_dict(result, [])["record_marks_since"] == "2026-10-20"


def test_an_unsigned_member_review_meeting_is_an_unsigned_record_where_it_is_a_party_congress(busy_town: Store, rules,
                                                                                               tmp_path: Path):
    """Under tuhe-2021 an unsigned 民主评议党员大会 made the quarter's 党员大会 finding 未签字, but the bulletin's 记录不规范
    did not count it: the kinds asked to be signed were the obligations' own (review)."""
    from compliance.supervision import record_asks

    _records(busy_town, rules, tmp_path, f"{BRANCH},民主评议党员,2026-11-10,10,8,民主评议党员,否,是,,", "review.csv")
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28))
    assert result.record_marks == {BRANCH: (1, 0)}
    assert record_asks(rules.catalog("tuhe-2021"), "member_review", "党支部", "农村")[0]
    assert not record_asks(rules.catalog("national-2018"), "member_review", "党支部", "农村")[0]


def test_the_months_records_that_count_but_are_unsigned_or_lack_evidence_are_in_the_bulletin(busy_town: Store, rules, tmp_path: Path):
    """28 unsigned minutes in the demo, a 主题党日 without photos: counted, never in a bulletin, whose own 整改要求 asks for signatures."""
    other = "图河镇党委/朱庄村党总支/第二党支部"
    _records(busy_town, rules, tmp_path, "\n".join([
        f"{BRANCH},支委会,2026-11-03,5,4,研究工作,否,是,,",           # unsigned
        f"{BRANCH},支委会,2026-10-30,5,4,研究工作,否,否,,",           # unsigned, but October's: November's check reads November's
        f"{BRANCH},主题党日,2026-11-05,,,学习,,,,",                   # no photos
        f"{other},党员大会,2026-11-06,5,4,学习,否,否,,",              # unsigned
        f"{other},主题党日,2026-11-07,,,,,,,",                        # neither topic nor photos: one record
        f"{other},主题党日,2026-11-08,,,学习,,,,c.jpg",              # in order
        "图河镇党委/朱庄村党总支,支委会,2026-11-04,5,4,研究工作,否,否,,",  # a 党总支 owes no 支委会: kept, counts for nothing
        f"{other},支委会,2026-11-09,3,3,研究工作,否,否,,",              # 5 full members: no committee, owes no 支委会 (try-out)
    ]), "marks.csv")
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28))
    assert result.record_marks == {BRANCH: (1, 1), other: (1, 1)}
    md, xlsx, docx, _png = write_bulletin(result, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert "本月（11月1日至28日）召开的会议和活动的记录中，2条未经书记和记录人签字、2条缺少规定的材料（主题、图片等），涉及2个党组织，须补签、补齐" in text
    assert "| 朱庄村党总支/第一党支部 | 1 | 1 |" in text and "由书记和记录人补签" in text
    # Which records are to be signed: all of them, it read, beside a count of 党员大会 and 支委会 alone (supervision team's try-out).
    # tuhe-2021's 民主评议党员大会 is a 党员大会 (`also_counts`), signed as one (review)
    assert result.signed_kinds == ("党员大会", "民主评议党员", "支委会")
    assert "全年归档，党员大会、民主评议党员、支委会的会议记录须由书记和记录人签字。" in text
    rows = list(load_workbook(xlsx)["记录不规范"].iter_rows(values_only=True))
    assert rows[0] == ("党组织", "未签字", "材料不全") and sorted(rows[1:]) == [("朱庄村党总支/第一党支部", 1, 1), ("朱庄村党总支/第二党支部", 1, 1)]
    doc = Document(str(docx))
    assert any([c.text for c in t.rows[0].cells] == ["党组织", "未签字", "材料不全"] for t in doc.tables)
    assert not any("compliance" in p.text for p in doc.paragraphs)      # an official notice, not a command line
    # Signed since, the branch's 支委会 is told no more.
    table, orgs = model.Record.__table__, model.Org.__table__
    with busy_town.engine.connect() as conn:
        [committee] = conn.execute(select(table.c.record_id).join(orgs, orgs.c.id == table.c.org_id).where(
            orgs.c.path == BRANCH, table.c.kind == "branch_committee", table.c.held_on == date(2026, 11, 3))).scalars().all()
    importing.correct_record(busy_town, rules, committee, {"secretary_signed": "是"}, "已补签")
    later = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28))
    assert later.record_marks == {BRANCH: (0, 1), other: (1, 1)}
    # Records lacking material alone are told to be completed, not signed again (try-out: 须补签、补齐 with none unsigned).
    from dataclasses import replace as replaced

    from compliance.report.bulletin import make_bulletin

    # A township below a county is named by its own name in its bulletin, as its branches are named below it (try-out).
    from compliance.report.bulletin import _short

    assert (_short("沭河县委/新集镇党委", "沭河县委/新集镇党委"), _short("沭河县委/新集镇党委/李庄村党支部", "沭河县委/新集镇党委")) == (
        "新集镇党委", "李庄村党支部")
    lacking = make_bulletin(replaced(later, record_marks={BRANCH: (0, 1)}))
    assert "1条缺少规定的材料（主题、图片等），涉及1个党组织，须补齐（见“记录不规范”）" in lacking.summary, lacking.summary
    assert not [r for r in lacking.requirements if "补签" in r] and "缺少材料的记录补齐主题、图片等，并据实更正登记。" in lacking.requirements
    from compliance.report.assessments import run_dict

    assert run_dict(later, [])["record_marks"] == [{"org": BRANCH, "unsigned": 0, "incomplete_evidence": 1},
                                                  {"org": other, "unsigned": 1, "incomplete_evidence": 1}]
    # Two full members came on 10 November: seven since, but November began with five, and its 支委会 is not owed (review).
    arrivals = "姓名,党组织,类别,转入日期\n" + "\n".join(f"新来{i},{other},正式,2026-11-10" for i in range(2))
    importing.import_members(busy_town, write_csv(tmp_path / "arrivals.csv", arrivals))
    assert supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 28)).record_marks[other] == (1, 1)


def test_a_run_made_after_its_month_says_so_and_sets_no_deadline_gone_by(busy_town: Store, rules, tmp_path: Path):
    """November's check made on 12-05 said 2026年11月30日，督导组…进行了督查 and 须于11月30日前完成并登记 (try-out)."""
    result = supervise(busy_town, rules, TOWN, "2026-11")          # made on the tests' today, 2026-12-05
    assert result.run.as_of == date(2026, 11, 30) and result.due_in_month
    md, *_ = write_bulletin(result, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert "2026年12月5日，督导组补做11月督查，按11月30日的情况对图河镇党委所属" in text
    assert "已于11月30日到期：未完成的计入下月督查，已完成的须及时补录" in text and "须于11月30日前完成" not in text
    assert "已于2026-11-30到期，未完成的计入下月督查，已完成的及时补录登记。" in text and "前完成并及时登记" not in text, \
        text[text.index("四、整改要求"):]
    # Its date is the day it was made, and the heading of what was still to do says its day is past, as the command does (review).
    assert text.splitlines()[2] == "图河镇党委督导组　2026-12-05（草稿）"
    assert "### 本月待完成（截至督查日尚未完成，已于月底到期；未完成的计入下月督查，已完成的及时补录）" in text and "月底前完成" not in text
    from rich.console import Console

    from compliance.report.assessments import print_run

    console = Console(record=True, width=300)
    print_run(console, result, [])
    assert "已于月底到期，未完成的计入下月督查；见通报" in console.export_text()
    # The deadline of the problems found is still to come, and said as before; the items are the ledger's, one by one (the
    # 问题清单 counts them by branch: it said 对照问题清单逐项认领, try-out).
    assert "各党支部要对照整改台账逐项认领，查找原因，明确责任人，本月新发现的问题于2026-12-31前完成整改" in text


def test_a_second_revision_made_after_its_month_says_it_checks_again_not_that_it_was_made_late(busy_town: Store, rules,
                                                                                                 tmp_path: Path):
    """A run made on the 26th and made again in December, a record entered since, said 督导组补做11月督查 (review)."""
    clock = busy_town.clock
    busy_town.clock = lambda: datetime(2026, 11, 26, 16, tzinfo=TZ)
    first = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 26), publish=True)
    md, *_ = write_bulletin(first, tmp_path / "first")
    assert "2026年11月26日，督导组对图河镇党委所属" in md.read_text(encoding="utf-8")
    busy_town.clock = clock
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "late.csv")
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 26))
    assert again.run.revision == 2
    md, *_ = write_bulletin(again, tmp_path / "again")
    text = md.read_text(encoding="utf-8")
    assert "2026年12月5日，督导组重新核查（第2版）11月督查，按11月26日的情况对图河镇党委所属" in text and "补做" not in text


def test_the_months_periods_still_open_on_the_run_day_are_in_the_bulletin_to_be_done_by_its_end(busy_town: Store, rules, tmp_path: Path):
    """A team checking from the 25th saw last month's gaps only: the month's own 支委会 not yet held came a month later, if at all."""
    from compliance.report.assessments import run_dict

    other = "图河镇党委/马屯村党支部"     # 8 members: it has a committee
    _records(busy_town, rules, tmp_path, f"{BRANCH},支委会,2026-11-03,5,4,研究工作,是,是,,\n{BRANCH},主题党日,2026-11-05,,,学习,,,,a.jpg",
             "nov.csv")
    busy_town.clock = lambda: datetime(2026, 11, 27, 16, tzinfo=TZ)      # made in its month: made late, it says otherwise (below)
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25))
    due = result.due_in_month
    # What overdue calls due by the month's last day, the six-month watch apart, and nothing else.
    window = Window(date(2026, 1, 1), date(2026, 11, 25), date(2026, 11, 25))
    expected: dict[str, dict[tuple[str, str], int]] = {}
    for f in overdue(busy_town, rules, TOWN, window, keep=("due",)):
        if f.due <= date(2026, 11, 30) and f.obligation not in WATCH_OBLIGATIONS:
            expected.setdefault(f.org, {}).setdefault((f.obligation, f.name), []).append(f.member or f.group or "")
    assert {org: {k: sorted(v) for k, v in items.items()} for org, items in due.items()} == \
        {org: {k: sorted(v) for k, v in items.items()} for org, items in expected.items()}
    assert ("branch_committee", "支委会") not in due.get(BRANCH, {}) and ("theme_day", "主题党日") not in due.get(BRANCH, {})
    assert due[other][("branch_committee", "支委会")] == [""] and due[other][("theme_day", "主题党日")] == [""]
    # A quarter's or a year's period still open is not the month's to do.
    assert not any(obligation in ("party_congress", "life_meeting", "member_review") for c in due.values() for obligation, _ in c)
    total = sum(len(who) for items in due.values() for who in items.values())
    md, xlsx, docx, _png = write_bulletin(result, tmp_path / "out")
    text = md.read_text(encoding="utf-8")
    assert f"截至11月25日，{len(due)}个党组织本月还有{total}项尚未完成：" in text and "须于11月30日前完成并登记，到期未完成的计入下月督查" in text
    assert "本月尚未完成的事项（会议、活动、党费等），于2026-11-30前完成并及时登记。" in text
    rows = list(load_workbook(xlsx)["本月待完成"].iter_rows(values_only=True))
    assert rows[0] == ("党组织", "待完成", "事项") and sum(r[1] for r in rows[1:]) == total
    mine = next(r for r in rows[1:] if r[0] == "马屯村党支部")
    assert "支委会1项" in mine[2] and "主题党日1项" in mine[2]
    assert not any("compliance" in p.text for p in Document(str(docx)).paragraphs)     # an official notice, not a command line
    # Owed by members or party groups, it names them: the clerk need not run overdue to know whose.
    groups = next(r for r in rows[1:] if r[0] == "朱庄村党总支/第一党支部")
    assert "党小组会2项（第一党小组、第二党小组）" in groups[2]
    assert any([c.text for c in t.rows[0].cells] == ["党组织", "待完成", "事项"] for t in Document(str(docx)).tables)
    d = run_dict(result, [])
    assert sum(o["items"] for o in d["due_in_month"]) == total
    assert next(o for o in d["due_in_month"] if o["org"] == other)["by_obligation"]["branch_committee"] == 1
    assert next(o for o in d["due_in_month"] if o["org"] == BRANCH)["who"]["group_meeting"] == ["第一党小组", "第二党小组"]
    # Held since, the 支委会 is to do no more; once the month has ended, a run of the next month counts it missed.
    _records(busy_town, rules, tmp_path, f"{other},支委会,2026-11-26,5,4,研究工作,是,是,,", "late.csv")
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 27))
    assert ("branch_committee", "支委会") not in again.due_in_month.get(other, {})
    assert again.due_in_month[other][("theme_day", "主题党日")] == [""]


def test_items_due_with_records_that_do_not_count_yet_say_why(busy_town: Store, rules, tmp_path: Path):
    """A month's only 支委会, short of its quorum, left the period due: 本月待完成 listed 支委会1项 and said nothing of the record."""
    from compliance.report.assessments import run_dict

    other = "图河镇党委/马屯村党支部"
    _records(busy_town, rules, tmp_path, f"{other},支委会,2026-11-03,5,2,研究工作,是,是,,\n{BRANCH},支委会,2026-11-03,5,4,研究工作,是,是,,",
             "nov.csv")
    result = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 25))
    assert result.due_in_month[other][("branch_committee", "支委会")] == [""]
    assert result.due_recorded[other] == {("branch_committee", "支委会"): [("no_quorum",)]}
    assert BRANCH not in result.due_recorded          # its 支委会 counts: not due at all
    md, xlsx, docx, _png = write_bulletin(result, tmp_path / "out")
    rows = list(load_workbook(xlsx)["本月待完成"].iter_rows(values_only=True))
    mine = next(r for r in rows[1:] if r[0] == "马屯村党支部")
    assert "支委会1项（已有记录但人数不足）" in mine[2] and "主题党日1项" in mine[2] and "主题党日1项（" not in mine[2]
    assert "（其中1项已有记录，但人数不足，不能计入）" in md.read_text(encoding="utf-8")
    assert any("支委会1项（已有记录但人数不足）" in c.text for t in Document(str(docx)).tables for row in t.rows for c in row.cells)
    d = run_dict(result, [])
    assert next(o for o in d["due_in_month"] if o["org"] == other)["not_counted"] == {"branch_committee": {"items": 1, "flags": ["no_quorum"]}}
    # Held again with enough present, it is to do no more.
    _records(busy_town, rules, tmp_path, f"{other},支委会,2026-11-20,5,4,研究工作,是,是,,", "again.csv")
    again = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 26))
    assert ("branch_committee", "支委会") not in again.due_in_month.get(other, {}) and other not in again.due_recorded


def test_a_row_of_items_due_says_which_have_records_that_do_not_count():
    from compliance.report.bulletin import _due_items

    items = {("group_meeting", "党小组会"): ["第一党小组", "第二党小组"], ("party_congress", "党员大会"): [""]}
    recorded = {("group_meeting", "党小组会"): [("wrong_date",)], ("party_congress", "党员大会"): [("no_quorum", "wrong_date")]}
    assert _due_items(items, recorded) == "党小组会2项（第一党小组、第二党小组；其中1项已有记录但时间不符）、党员大会1项（已有记录但人数不足、时间不符）"
    assert _due_items(items) == "党小组会2项（第一党小组、第二党小组）、党员大会1项"


def test_a_row_of_items_due_names_five_members_of_each_obligation_and_counts_them_all():
    from compliance.report.bulletin import _due_items

    items = {("dues", "党费"): [f"党员{i}" for i in range(7, 0, -1)], ("branch_committee", "支委会"): [""]}
    assert _due_items(items) == "党费7项（党员1、党员2、党员3、党员4、党员5等）、支委会1项"


@pytest.mark.parametrize("rates", [{"村党支部": {"2026-10": 0.5, "2026-11": None}}, {}, {"村党支部": {"2026-10": None}}])
def test_without_a_chinese_font_the_chart_has_no_english_and_the_docx_gives_its_title(tmp_path: Path, monkeypatch, rates):
    from matplotlib import pyplot as plt
    from matplotlib.text import Text

    from compliance.report import bulletin
    from compliance.report.bulletin import Bulletin, draw_chart, write_chart, write_docx

    b = Bulletin(title="通报", office="督导组", date="2026-11-20", summary="概况", comparison="比较", branch_rows=[],
                 ranking_rows=[], ledger_rows=[], ledger_summary=[], requirements=[], rates=rates, revision=1, published=False)
    figure, _ = draw_chart(b, None)
    words = [t.get_text() for t in figure.findobj(Text) if t.get_text()]
    plt.close(figure)
    # User-facing text is Chinese: a machine without a Chinese font drew an English title (or an English "no data").
    assert words and not [w for w in words if re.search("[A-Za-z]", w)]
    monkeypatch.setattr(bulletin, "_cjk_font", lambda: None)
    chart, labels = write_chart(b, tmp_path / "c.png")
    texts = [p.text for p in Document(str(write_docx(b, tmp_path / "b.docx", chart, labels))).paragraphs]
    # A chart of months all empty is no chart either: it gave the title and a key to an empty picture (review).
    drawn = any(v is not None for r in rates.values() for v in r.values())
    title = texts.index("各党支部逐月完成率" if drawn else "各党支部逐月完成率：暂无已结束月份的数据")
    assert texts[title + 1] == "" and (texts[title + 2] == "图例：1. 村党支部" if drawn else "图例" not in texts[title + 2])


def test_records_dated_as_entered_before_a_run_found_their_period_empty_are_found(busy_town: Store, rules):
    """`Store.backdated_records`: a 录入日期 given before the day a run listed the period's gap, of that period's kind, member
    or party group; not one dated after it, nor one of another period or kind."""
    clock = busy_town.clock
    busy_town.clock = lambda: datetime(2026, 11, 20, 16, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 20), publish=True)
    busy_town.clock = clock
    items = {(r.obligation, r.period, r.group_name): r for r in busy_town.rectifications() if r.org_id == busy_town.index_around(BRANCH).resolve(BRANCH).id}
    group_item = items[("group_meeting", "2026-07", "第一党小组")]
    logged = [importing.log_record(busy_town, rules, values).ids[0] for values in (
        {"org": BRANCH, "kind": "党小组会", "group": "第一党小组", "date": "2026-07-12", "recorded_on": "2026-07-13"},
        {"org": BRANCH, "kind": "党小组会", "group": "第二党小组", "date": "2026-07-14", "recorded_on": "2026-11-21"},
        {"org": BRANCH, "kind": "主题党日", "date": "2026-09-05", "topic": "学习", "photos": "a.jpg", "recorded_on": "2026-09-06"},
    )]
    found = busy_town.backdated_records(logged, kinds_of(rules, lambda: busy_town.index_around(None), "national-2018"))
    theme_item = items[("theme_day", "2026-09", None)]
    assert [(record_id, entered, item_id, listed) for record_id, _, entered, item_id, listed in found] == [
        (logged[0], date(2026, 7, 13), group_item.id, date(2026, 11, 20)),
        (logged[2], date(2026, 9, 6), theme_item.id, date(2026, 11, 20))]


def test_the_ledger_narrowed_in_sql_keeps_what_a_filter_in_python_would(busy_town: Store, rules):
    """`rectify list --opened/--closed/--obligation/--overdue` choose items in SQL (`LedgerFilter`), on SQLite and PostgreSQL."""
    from compliance.store.runs import LedgerFilter

    clock = busy_town.clock
    busy_town.clock = lambda: datetime(2026, 10, 26, 16, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26), publish=True)
    busy_town.clock = clock
    supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 26))
    every = busy_town.rectifications()
    first = next(r for r in every if r.opened_on == date(2026, 10, 26))
    busy_town.close_rectification(first.id, "回头看", date(2026, 12, 1))
    every = busy_town.rectifications()
    cases = [(LedgerFilter(opened=(date(2026, 10, 1), date(2026, 10, 31))), lambda r: r.opened_on.month == 10),
             (LedgerFilter(closed=(date(2026, 12, 1), date(2026, 12, 31))), lambda r: r.closed_on is not None and r.closed_on.month == 12),
             (LedgerFilter(obligations={"theme_day", "branch_committee"}), lambda r: r.obligation in ("theme_day", "branch_committee")),
             (LedgerFilter(overdue_on=date(2026, 12, 5)), lambda r: r.closed_on is None and r.deadline < date(2026, 12, 5))]
    for narrow, keep in cases:
        wanted = [r for r in every if keep(r)]
        assert wanted and busy_town.rectifications(narrow=narrow) == wanted, narrow
    assert [r.id for r in busy_town.rectifications(narrow=LedgerFilter(closed=(date(2026, 12, 1), date(2026, 12, 31))))] == [first.id]


def test_an_item_put_right_before_its_deadline_is_closed_on_that_day_not_on_the_later_run_s(busy_town: Store, rules,
                                                                                            tmp_path: Path):
    """Gaps listed in October (due by 30 November) put right on 26 and 28 November, after November's run: December's run
    closed them on its own day, 26 December, as 逾期销号 (supervision team's try-out)."""
    busy_town.clock = lambda: datetime(2026, 10, 26, 9, tzinfo=TZ)
    october = supervise(busy_town, rules, TOWN, "2026-10", None, publish=True)
    items = {r.obligation: r for r in october.ledger if r.org_id == next(o.id for o in busy_town.orgs() if o.path == BRANCH)
             and (r.obligation, r.period) in (("theme_day", "2026-09"), ("branch_committee", "2026-09"), ("party_lecture", "2026-Q3"))}
    assert {o: items[o].deadline for o in ("theme_day", "branch_committee", "party_lecture")} == dict.fromkeys(
        ("theme_day", "branch_committee", "party_lecture"), date(2026, 11, 30))
    busy_town.clock = lambda: datetime(2026, 11, 26, 9, tzinfo=TZ)
    november = supervise(busy_town, rules, TOWN, "2026-11", None, publish=True)
    # Put right the afternoon after November's run, two days later, and after the deadline.
    busy_town.clock = lambda: datetime(2026, 11, 26, 15, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-08,,,补录,,,,b.jpg", "theme.csv")
    # The 党总支's own run, the morning of the 28th: it closes the 主题党日's item, and lists the 支委会's open that day.
    busy_town.clock = lambda: datetime(2026, 11, 28, 9, tzinfo=TZ)
    village = supervise(busy_town, rules, "图河镇党委/朱庄村党总支", "2026-11", None)
    busy_town.clock = lambda: datetime(2026, 11, 28, 10, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},支委会,2026-09-10,5,5,研究,是,是,,", "committee.csv")
    busy_town.clock = lambda: datetime(2026, 12, 3, 10, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},党课,2026-09-20,10,9,党课,是,是,,", "lecture.csv")
    # A typo corrected after the deadline does not make the 支委会 put right late (review).
    busy_town.clock = lambda: datetime(2026, 12, 20, 10, tzinfo=TZ)
    committee = next(r for r in busy_town.org_records(items["branch_committee"].org_id, "branch_committee") if r["held_on"] == date(2026, 9, 10))
    importing.correct_record(busy_town, rules, committee["record_id"], {"topic": "研究工作"}, "错字")
    busy_town.clock = lambda: datetime(2026, 12, 26, 9, tzinfo=TZ)
    december = supervise(busy_town, rules, TOWN, "2026-12", None)
    closed = {o: busy_town.rectification(items[o].id) for o in items}
    assert {o: (r.closed_on, r.close_note, r.closed_run_id) for o, r in closed.items()} == {
        # November's run showed it open on the 26th: closed the day after, not on the day of a bulletin that listed it open.
        "theme_day": (date(2026, 11, 27), MADE_GOOD_NOTE, village.run.id),
        # Entered on the 28th, the day the 党总支's run listed it open: the 29th.
        "branch_committee": (date(2026, 11, 29), MADE_GOOD_NOTE, december.run.id),
        "party_lecture": (date(2026, 12, 3), MADE_GOOD_NOTE, december.run.id)}
    ids = [o.id for o in busy_town.orgs()]
    shown = {r.id: r for r in busy_town.rectifications(ids, as_of=december.run)}
    assert [shown[items[o].id].closed_on > shown[items[o].id].deadline for o in ("theme_day", "branch_committee", "party_lecture")] \
        == [False, False, True]
    # November's published bulletin, written again, still lists them open.
    assert all(r.closed_on is None for r in busy_town.rectifications(ids, as_of=november.run) if r.id in {i.id for i in items.values()})
    state = {row[0]: row[8] for row in make_bulletin(december).ledger_rows}
    assert [state[str(items[o].id)] for o in ("theme_day", "branch_committee", "party_lecture")] == ["已销号", "已销号", "逾期销号"]


def test_a_runs_new_ledger_items_are_numbered_on_from_the_last(busy_town: Store, rules):
    """On PostgreSQL the items a run found already listed took numbers all the same (ON CONFLICT DO NOTHING draws on the
    sequence): November's new items were 24, 32 and 35 after October's 1 to 20, read as items deleted (supervision team's try-out)."""
    october = supervise(busy_town, rules, TOWN, "2026-10", date(2026, 10, 26))
    first = sorted(r.id for r in october.ledger)
    november = supervise(busy_town, rules, TOWN, "2026-11", date(2026, 11, 26))
    new = sorted(r.id for r in november.ledger if r.opened_run_id == november.run.id)
    assert first == list(range(1, len(first) + 1)) and len(new) == november.opened > 1
    assert new == list(range(len(first) + 1, len(first) + 1 + len(new)))


def test_an_election_due_before_its_branch_was_tracked_is_charted_in_no_month(town: Store, rules, tmp_path: Path):
    """Tracked from September, a branch whose term had ended in July had a 0% July cell in the chart, the one figure in months
    no branch was tracked in (supervision team's try-out). The election is still owed: a gap, counted in the year's ranking."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,启用日期\n图河镇党委,,乡镇党委,2026-09-01"))
    importing.log_record(town, rules, {"org": BRANCH, "kind": "换届", "date": date(2021, 7, 10)})
    result = supervise(town, rules, TOWN, "2026-11", date(2026, 11, 20))
    [term] = [f for f in result.gaps if f.org == BRANCH and "/" in f.period]
    assert term.status == "missed" and date(2026, 5, 1) <= term.due < date(2026, 9, 1), term
    charted = {month: rate for month, rate in result.rates[BRANCH].items() if rate is not None}
    assert charted and min(charted) >= "2026-09", result.rates[BRANCH]
    met, total = result.tallies[BRANCH]
    assert total - met == sum(1 for f in result.gaps if f.org == BRANCH)


def test_the_chart_leaves_out_the_months_before_any_branch_owed_anything_and_the_notice_says_where_this_month_is(tmp_path: Path):
    """Tracked from July, November's chart had 05 and 06 as columns of dashes, and no word of November (supervision team's try-out)."""
    from matplotlib import pyplot as plt

    from compliance.report.bulletin import CHART_NOTE, Bulletin, draw_chart, write_chart, write_docx

    months = ["2026-05", "2026-06", "2026-07", "2026-08"]
    rates = {"第一党支部": dict(zip(months, [None, None, 0.5, None])), "第二党支部": dict(zip(months, [None, None, None, 1.0]))}
    b = Bulletin(title="通报", office="督导组", date="2026-09-26", summary="概况", comparison="比较", branch_rows=[],
                 ranking_rows=[], ledger_rows=[], ledger_summary=[], requirements=[], rates=rates, revision=1, published=False)
    figure, _ = draw_chart(b, None)
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["2026/07", "2026/08"]
    plt.close(figure)
    chart, labels = write_chart(b, tmp_path / "c.png")
    assert CHART_NOTE in [p.text for p in Document(str(write_docx(b, tmp_path / "b.docx", chart, labels))).paragraphs]


def test_a_flawed_record_of_a_month_gone_by_entered_after_its_run_is_in_the_next_bulletin(busy_town: Store, rules, tmp_path: Path):
    """A 主题党日 of 26 October without photos, entered on 24 November, after October's run: October's bulletin could not see
    it and November's read November's records only, so no bulletin listed it (supervision team's try-out)."""
    busy_town.clock = lambda: datetime(2026, 10, 26, 9, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-10", None, publish=True)
    busy_town.clock = lambda: datetime(2026, 11, 24, 9, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-10-26,,,学习,,,,", "late.csv")
    busy_town.clock = lambda: datetime(2026, 11, 26, 9, tzinfo=TZ)
    november = supervise(busy_town, rules, TOWN, "2026-11", None)
    assert november.record_marks == {BRANCH: (0, 1)}
    text = write_bulletin(november, tmp_path / "out")[0].read_text(encoding="utf-8")
    assert "本月（11月1日至26日）召开的会议和活动的记录，以及上次督查后补录或更正的以前月份的记录中，1条缺少规定的材料" in text


def test_the_first_record_version_written_after_a_moment_is_found_by_its_id(busy_town: Store, rules, tmp_path: Path):
    from compliance.store.scope import _first_written_after

    with busy_town.engine.connect() as conn:
        last = conn.execute(select(func.max(model.Record.__table__.c.id))).scalar()
    written = {}
    for day in (10, 12, 14):
        busy_town.clock = lambda day=day: datetime(2026, 12, day, 9, tzinfo=TZ)
        written[day] = importing.log_record(busy_town, rules, {"org": BRANCH, "kind": "主题党日", "date": f"2026-11-{day}",
                                                               "topic": "学习", "photos": "a.jpg"}).ids[0]
    with busy_town.engine.connect() as conn:
        ids = {day: conn.execute(select(model.Record.__table__.c.id).where(model.Record.__table__.c.record_id == record)).scalar()
               for day, record in written.items()}
        found = [_first_written_after(conn, datetime(2026, 12, day, 12, tzinfo=TZ)) for day in (9, 10, 11, 12, 13, 14)]
    assert last < ids[10] < ids[12] < ids[14]
    assert found == [ids[10], ids[12], ids[12], ids[14], ids[14], None]


def test_the_first_version_written_after_a_moment_is_found_though_a_writers_clock_is_behind(busy_town: Store, rules,
                                                                                             monkeypatch):
    """Ids follow the order versions are written in, their times each writer's clock: a version written at 09:00 by one
    machine, then two by another whose clock is 50 minutes behind. Bisecting on the times as they are would skip the
    first (review)."""
    from compliance.store import scope

    ids = []
    for hour, minute in ((9, 0), (8, 10), (8, 20)):
        busy_town.clock = lambda hour=hour, minute=minute: datetime(2026, 12, 14, hour, minute, tzinfo=TZ)
        record = importing.log_record(busy_town, rules, {"org": BRANCH, "kind": "主题党日", "date": f"2026-11-{minute or 1:02d}",
                                                         "topic": "学习", "photos": "a.jpg"}).ids[0]
        with busy_town.engine.connect() as conn:
            ids.append(conn.execute(select(model.Record.__table__.c.id).where(model.Record.__table__.c.record_id == record)).scalar())
    moment = datetime(2026, 12, 14, 8, 30, tzinfo=TZ)
    with busy_town.engine.connect() as conn:
        assert scope._first_written_after(conn, moment) <= ids[0]
        monkeypatch.setattr(scope, "SKEW", timedelta(0))       # trusting every clock, the search finds none written since
        assert scope._first_written_after(conn, moment) is None


def test_an_election_item_made_history_by_a_later_start_of_tracking_is_owed_no_more_not_entered(town: Store, rules, tmp_path: Path):
    """A late election entered before its item was listed, the term then made history by a later 启用日期: it was closed as
    已补录换届选举记录, though nothing had been entered since (review)."""
    from compliance.store.runs import NOT_OWED_NOTE
    from tests.conftest import TOWN_ORGS

    town.clock = lambda: datetime(2026, 3, 19, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS.replace(
        "第一党支部,朱庄村党总支,党支部,ZZ1,,,,", "第一党支部,朱庄村党总支,党支部,ZZ1,,,2021-03-05,")))
    importing.log_record(town, rules, {"org": BRANCH, "kind": "换届", "date": "2026-03-10"})
    town.clock = lambda: datetime(2026, 3, 25, 9, 0, tzinfo=TZ)
    supervise(town, rules, TOWN, "2026-03", date(2026, 3, 25))
    branch = next(o.id for o in town.orgs() if o.path == BRANCH)
    item = next(i for i in town.rectifications() if (i.obligation, i.org_id) == ("committee_election", branch))
    assert item.period == "2021-03-05/2026-03-04" and "无效" in item.matter
    town.clock = lambda: datetime(2026, 4, 20, 9, 0, tzinfo=TZ)
    importing.import_orgs(town, rules, write_csv(tmp_path / "o2.csv", TOWN_ORGS.replace(
        "第一党支部,朱庄村党总支,党支部,ZZ1,,,,", "第一党支部,朱庄村党总支,党支部,ZZ1,,,2021-03-05,2026-04-01")))
    supervise(town, rules, TOWN, "2026-04", date(2026, 4, 27))
    closed = town.rectification(item.id)
    assert (closed.closed_on, closed.close_note) == (date(2026, 4, 27), NOT_OWED_NOTE)


def test_a_past_month_run_again_lists_no_flawed_record_entered_after_its_day(busy_town: Store, rules, tmp_path: Path):
    """October run again in December listed a record of September entered in late November, which November's bulletin had
    listed already (review)."""
    busy_town.clock = lambda: datetime(2026, 9, 26, 9, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-09", None, publish=True)
    busy_town.clock = lambda: datetime(2026, 10, 26, 9, tzinfo=TZ)
    supervise(busy_town, rules, TOWN, "2026-10", None, publish=True)
    busy_town.clock = lambda: datetime(2026, 11, 24, 9, tzinfo=TZ)
    _records(busy_town, rules, tmp_path, f"{BRANCH},主题党日,2026-09-20,,,学习,,,,", "late.csv")
    busy_town.clock = lambda: datetime(2026, 11, 26, 9, tzinfo=TZ)
    assert supervise(busy_town, rules, TOWN, "2026-11", None).record_marks == {BRANCH: (0, 1)}
    busy_town.clock = lambda: datetime(2026, 12, 1, 9, tzinfo=TZ)
    assert supervise(busy_town, rules, TOWN, "2026-10", None).record_marks == {}


def test_a_task_missed_is_to_be_done_not_held_again():
    """流动党员双联归档's item asked the township to 补开 it, as if it were a meeting (migration try-out)."""
    from compliance.evaluate import Finding
    from compliance.supervision import _measure

    task = Finding(1, "镇", "mobile_archive", "流动党员双联归档", "2026-Q3", "missed", date(2026, 9, 30), None, (), ())
    assert _measure(task, None) == "查明未完成流动党员双联归档的原因，按要求补做并登记，明确专人按期完成"
    meeting = task._replace(obligation="branch_committee", name="支委会")
    assert _measure(meeting, None) == "查明未开展支委会的原因，按要求补开并规范记录，明确专人按期组织"
