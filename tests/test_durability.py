"""Concurrency, crashes, backups and schema upgrades, on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from compliance import importing, model
from compliance.errors import DatabaseError
from compliance.store import HEAD_REVISION, Store, backup_sqlite, restore_sqlite
from obligations.rules import default_rules
from tests.conftest import gone, running, write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
RECORD = model.Record.__table__


def _records(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RECORD)).scalar()


def _logger(url: str, worker: int, count: int) -> None:
    """Log `count` records, one transaction each, as one of several processes."""
    store = Store(url)
    rules = default_rules()
    for i in range(count):
        importing.log_record(store, rules, {"org": "ZZ1", "kind": "主题党日", "date": "2026-10-05", "topic": f"进程{worker}-第{i}条"})
    store.engine.dispose()


def test_eight_processes_logging_at_once_lose_nothing(town: Store):
    town.engine.dispose()
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_logger, args=(town.url, w, 200)) for w in range(8)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(300)
    assert [p.exitcode for p in workers] == [0] * 8
    assert _records(town) == 1600
    count, problem = town.verify_audit()
    assert problem is None and count == 3 + 1600     # the catalog setting, two roster imports, one entry per record


def _big_import(path: Path, rows: int) -> Path:
    lines = ["党组织,类型,日期,主题"] + [f"{BRANCH},主题党日,2026-{1 + i % 10:02d}-05,第{i}次学习" for i in range(rows)]
    return write_csv(path, "\n".join(lines))


@pytest.mark.parametrize("delay", [0.8, 1.6, 2.4])
def test_an_import_killed_midway_leaves_nothing_half_written(town: Store, tmp_path: Path, delay: float):
    path = _big_import(tmp_path / "big.csv", 30000)
    env = {**os.environ, "COMPLIANCE_DB": town.url}
    proc = subprocess.Popen([sys.executable, "-m", "compliance", "record", "import", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert _records(town) in (0, 30000)
    assert town.verify_audit()[1] is None
    # The worker that reads the file ahead goes with the import it was forked from.
    assert gone(str(path), 10), running(str(path))


def test_backup_of_a_live_database_and_restore(tmp_path: Path, rules):
    db = tmp_path / "live.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    from tests.conftest import TOWN_ORGS

    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS))
    importing.import_records(store, rules, _big_import(tmp_path / "r.csv", 500))
    assert backup_sqlite(store, tmp_path / "copy.db") == 2
    importing.log_record(store, rules, {"org": "ZZ1", "kind": "党员大会", "date": "2026-11-02"})
    assert _records(store) == 501
    kept = restore_sqlite(store, tmp_path / "copy.db", db)
    assert kept is not None and kept.exists()
    restored = Store(f"sqlite:///{db}")
    assert _records(restored) == 500 and restored.verify_audit() == (3, None)
    entry = restored.audit_log()[-1]
    assert entry.action == "restore" and '"replaced":{"last_hash"' in entry.detail and '"seq":3' in entry.detail
    assert _records(Store(f"sqlite:///{kept}")) == 501


def test_a_restore_keeps_the_outbox_so_the_days_reminders_are_not_sent_again(tmp_path: Path, rules):
    """Restored as the backup had it, the day's reminders went out a second time: what was sent cannot be unsent (try-out)."""
    from datetime import datetime

    from compliance.reminders import deliver
    from compliance.config import Settings
    from compliance.store import TZ
    from tests.conftest import TOWN_ORGS

    db = tmp_path / "live.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS))
    org = next(o.id for o in store.orgs() if o.code == "ZZ1")
    now = datetime(2026, 12, 25, 7, 30, tzinfo=TZ)
    early = {"org_id": org, "day": date(2026, 12, 25), "channel": "console", "recipient": "ZZ1", "subject": "s", "body": "b", "reason": "r"}
    assert store.queue_messages([early], now) == 1          # queued before the backup, sent after it
    backup_sqlite(store, tmp_path / "copy.db")
    later = early | {"recipient": "ZZ1-2"}
    assert store.queue_messages([later], now) == 1
    deliver(store, Settings(), now)
    assert {m.recipient: m.status for m in store.messages()} == {"ZZ1": "sent", "ZZ1-2": "sent"}
    restore_sqlite(store, tmp_path / "copy.db", db)
    restored = Store(f"sqlite:///{db}")
    assert {m.recipient: m.status for m in restored.messages()} == {"ZZ1": "sent", "ZZ1-2": "sent"}
    assert restored.queue_messages([early, later], now) == 0 and restored.due_messages(now) == []
    assert '"outbox_kept":2' in restored.audit_log()[-1].detail


def test_restore_refuses_a_broken_or_tampered_backup(tmp_path: Path, rules):
    db = tmp_path / "live.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    from tests.conftest import TOWN_ORGS

    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", TOWN_ORGS))
    not_a_db = tmp_path / "junk.db"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match=r"不是可用的 SQLite 数据库（文件不是数据库）$"):      # SQLite's "file is not a database"
        restore_sqlite(store, not_a_db, db)
    backup_sqlite(store, tmp_path / "copy.db")
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        conn.execute("UPDATE auditentry SET actor = '别人'")
    with pytest.raises(DatabaseError, match="审计日志校验失败"):
        restore_sqlite(store, tmp_path / "copy.db", db)
    # The live database given as the backup, by another path: accepted, a copy kept and a restore logged of nothing (try-out).
    import os

    os.link(db, tmp_path / "hard.db")
    for same in (tmp_path / "." / "live.db", tmp_path / "hard.db"):
        with pytest.raises(DatabaseError, match=r"就是正在使用的数据库，不是备份"):
            restore_sqlite(store, same, db)
    assert not list(tmp_path.glob("live.db.before-restore-*"))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_store(request: pytest.FixtureRequest):
    """Yield a store on an empty database (no schema), on SQLite and on PostgreSQL."""
    store = Store(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    yield store
    store.engine.dispose()


def _at_revision(store: Store, revision: str) -> Store:
    """Return `store`, its empty database given the schema of migration `revision`."""
    from alembic import command

    cfg = store._alembic()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return store


def test_a_ledger_from_before_items_entered_by_hand_upgrades_whole_and_takes_them(empty_store: Store):
    """0012 lets a ledger item have no run (`rectify add`): the items of 0011 stay as they were, their gap keys unique."""
    from datetime import datetime

    from sqlalchemy.exc import IntegrityError

    from compliance.store import TZ

    store = _at_revision(empty_store, "0011")
    stamp = datetime(2026, 11, 28, 9, 0, tzinfo=TZ)
    item = dict(gap_key="k" * 40, org_id=1, obligation="theme_day", period="2026-10", matter="主题党日 10月 未完成", measure="补开",
                deadline=date(2026, 12, 31), responsible="陶英", opened_run_id=1, opened_on=date(2026, 11, 28), created_at=stamp)
    with store.engine.begin() as conn:
        conn.execute(insert(model.Org.__table__).values(id=1, name="支部", path="支部", type="党支部", secretary_vacant=False, created_at=stamp))
        conn.execute(insert(model.SupervisionRun.__table__).values(id=1, scope_org_id=1, month="2026-11", revision=1, as_of=date(2026, 11, 28),
                                                                   fingerprint="f", created_at=stamp, updated_at=stamp))
        conn.execute(insert(model.Rectification.__table__).values(**item))
    with store.engine.connect() as conn:
        before = [tuple(r) for r in conn.execute(text("SELECT * FROM rectification ORDER BY id"))]
    store.upgrade()
    assert store.revision() == HEAD_REVISION
    with store.engine.connect() as conn:
        assert [tuple(r) for r in conn.execute(text("SELECT * FROM rectification ORDER BY id"))] == before
    row = store.add_rectification(1, "记录缺签字", "补签", date(2027, 1, 31), "陶英", date(2026, 12, 5))
    assert row.opened_run_id is None and row.obligation == "inspection" and row.period == "2026-12"
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(model.Rectification.__table__).values(**item))        # the gap key is still unique


def test_the_ledger_history_is_not_dropped_by_a_downgrade(empty_store: Store):
    """0013 keeps what reopened items were (`rectificationpast`): a downgrade that would drop that history stops."""
    from datetime import datetime

    from alembic import command

    from compliance.store import TZ

    store = _at_revision(empty_store, "0013")
    stamp = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
    with store.engine.begin() as conn:
        conn.execute(insert(model.Org.__table__).values(id=1, name="支部", path="支部", type="党支部", secretary_vacant=False, created_at=stamp))
        conn.execute(insert(model.Rectification.__table__).values(
            id=1, gap_key="k", org_id=1, obligation="inspection", period="2026-11", matter="记录缺签字", measure="补签",
            deadline=date(2026, 12, 31), responsible="陶英", opened_on=date(2026, 11, 20), created_at=stamp))
        conn.execute(insert(model.RectificationPast.__table__).values(
            item_id=1, replaced_on=date(2026, 12, 5), replaced_at=stamp, matter="记录缺签字", measure="补签", deadline=date(2026, 12, 31),
            responsible="陶英", opened_on=date(2026, 11, 20), closed_on=date(2026, 11, 25), close_note="已补签"))
    cfg = store._alembic()
    with pytest.raises(RuntimeError, match="rectificationpast"), store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012")
    assert store.revision() == "0013"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM rectificationpast")).scalar() == 1


def test_the_oldest_schema_with_data_upgrades_without_losing_a_row(empty_store: Store):
    store = _at_revision(empty_store, "0001")
    from datetime import datetime

    from compliance.store import TZ

    stamp = datetime(2026, 3, 1, 9, 0, tzinfo=TZ)
    with store.engine.begin() as conn:
        conn.execute(insert(model.Org.__table__).values(id=1, name="镇党委", path="镇党委", type="乡镇党委", secretary_vacant=False, created_at=stamp))
        conn.execute(insert(model.Org.__table__).values(id=2, name="支部", path="镇党委/支部", parent_id=1, type="党支部",
                                                         secretary_vacant=True, created_at=stamp))
        conn.execute(insert(model.Member.__table__).values(org_id=2, name="张三", status="正式", mobile=True, created_at=stamp))
        conn.execute(insert(RECORD).values(record_id=1, version=1, identity="x" * 40, org_id=2, kind="theme_day",
                                           held_on=date(2026, 2, 5), topic="学习", first_recorded_at=stamp, recorded_at=stamp))
    before = {}
    with store.engine.connect() as conn:
        for table in ("org", "member", "record"):
            before[table] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
    store.upgrade()
    assert store.revision() == HEAD_REVISION
    with store.engine.connect() as conn:
        for table, rows in before.items():
            after = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY id"))]
            # Columns added since (a member's days on the roster, 0011) come last, empty.
            width = len(rows[0])
            assert [r[:width] for r in after] == rows and all(v is None for r in after for v in r[width:]), table
        assert conn.execute(text("SELECT seq FROM audithead")).scalar() == 0
