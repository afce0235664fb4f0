"""The database: engine, schema upgrades and every query. The only code that talks SQL.

`--db URL`, else `COMPLIANCE_DB`, else `compliance.db` in the user's data folder. A bare
file path is taken as a SQLite file. Writes happen in one transaction each, so an import is
loaded whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import platformdirs
from sqlalchemy import Engine, create_engine, event, func, insert, inspect, make_url, or_, select, text, update
from sqlalchemy.exc import ArgumentError, DatabaseError as DriverError, SQLAlchemyError

from compliance.store import tables
from compliance.errors import DatabaseError, NotFound, db_reason
from compliance.orgs import MemberRow, OrgIndex, OrgRow
from compliance.store.audit import AUDIT, LOCAL_ADMIN, AuditQueries
from compliance.store.members import MemberQueries
from compliance.store.records import RecordQueries
from compliance.store.runs import SupervisionQueries
from compliance.store.scheduling import SchedulingQueries
from compliance.store.scope import ScopeQueries, in_scope, like_escape
from compliance.store.sql import chunks
from compliance.store.users import UserQueries

from compliance.store.timezone import TZ  # noqa: E402  (re-exported)
MIGRATIONS = Path(__file__).parent.parent / "migrations"
# The newest migration; tests/test_store.py checks it against the migrations folder. Commands
# compare the database with it without loading Alembic, which is slow to import.
HEAD_REVISION = "0016"
ORG = tables.ORG
AUDIT_HEAD = tables.AUDIT_HEAD
MEMBER = tables.MEMBER
MEMBER_CHUNK = 20_000
RECORD = tables.RECORD
SETTING = tables.SETTING

# The columns a re-import compares: a change in any of them makes a new version.
RECORD_CONTENT = (
    "org_id", "kind", "held_on", "member_id", "group_name", "expected", "present", "topic",
    "recorder", "lecturer", "secretary_signed", "recorder_signed", "attendees", "excused",
    "counterpart", "hours", "photos",
)


def now() -> datetime:
    """Return the current instant in Asia/Shanghai, to the second."""
    return datetime.now(TZ).replace(microsecond=0)


def resolve_url(db: str | None) -> str:
    """Return the SQLAlchemy URL for `--db`, else $COMPLIANCE_DB, else the user data folder."""
    value = db or os.environ.get("COMPLIANCE_DB")
    if not value:
        folder = platformdirs.user_data_path("compliance", appauthor=False)
        folder.mkdir(parents=True, exist_ok=True)
        value = str(folder / "compliance.db")
    if "://" not in value:
        value = "sqlite:///" + str(Path(value).expanduser().resolve())
    return value


def shown_url(url: str) -> str:
    """Return a database URL as it may be shown: its password, if any, as *** (in the address or as a query parameter)."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # Not a URL SQLAlchemy reads: everything between :// and the last @ is hidden.
        return re.sub(r"://.*@", "://***@", url) if "@" in url else url
    secret = {k for k in parsed.query if k.lower() in ("password", "passwd", "pwd")}
    if parsed.password is None and not secret:
        return url          # as given: SQLAlchemy's own rendering would quote a file's Chinese path
    if secret:
        parsed = parsed.update_query_dict({k: "***" for k in secret})
    shown = parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")
    # A raw @ in a password (p@ss, which SQLAlchemy reads as host "ss@…"): hidden up to the last @ before the path.
    return re.sub(r"(://[^:/@]*:)[^/]*@", r"\1***@", shown)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


class Store(SupervisionQueries, AuditQueries, RecordQueries, UserQueries, SchedulingQueries, MemberQueries, ScopeQueries):
    """A compliance database.

    `clock` returns the current instant; tests pass a fixed one (the way APScheduler injects
    its clock), so what a record's entry time says can be controlled.
    """

    def __init__(self, url: str, clock: Callable[[], datetime] | None = None):
        self.url = url
        self.clock = clock or now
        self.actor = LOCAL_ADMIN        # who the audit log names; the command line sets the acting user
        self._orgs: tuple[tuple[Any, ...] | None, list[OrgRow]] | None = None     # (audit head, tree): see `orgs`
        self._around: tuple[str | int, tuple[Any, ...] | None, OrgIndex] | None = None  # (name or id, audit head, index): see `index_around`
        try:
            self.engine: Engine = create_engine(url)
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise DatabaseError(f"无法打开数据库 {shown_url(url)}：{db_reason(exc)}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def in_memory(self) -> bool:
        """Whether the database is SQLite in memory: one connection for every use, which a worker's own would not see,
        and which a read closing rolls back, with whatever a write in progress has written."""
        url = self.engine.url
        return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")

    # --- schema -----------------------------------------------------------------------
    def _alembic(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        return cfg

    def revision(self) -> str | None:
        """Return the schema revision of the database, or None when it has none."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DriverError as exc:      # OperationalError (cannot open), or SQLite's 「file is not a database」
            raise DatabaseError(f"无法打开数据库 {shown_url(self.url)}：{db_reason(exc)}") from exc

    def upgrade(self) -> None:
        """Create the schema or upgrade it to the newest revision; data is kept."""
        from alembic import command

        cfg = self._alembic()
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except DriverError as exc:
            raise DatabaseError(f"无法初始化数据库 {shown_url(self.url)}：{db_reason(exc)}") from exc
        self._orgs = self._around = None        # a migration may change the tree without an audit entry

    def require_current(self) -> None:
        """Raise DatabaseError unless the schema is at the newest revision."""
        head = HEAD_REVISION
        current = self.revision()
        if current is None:
            raise DatabaseError(f"数据库 {shown_url(self.url)} 尚未初始化：请先运行 compliance init")
        if current != head:
            raise DatabaseError(f"数据库结构版本为 {current}，需要 {head}：请运行 compliance init 升级")

    def today(self) -> date:
        """Return today's date in Asia/Shanghai by the store's clock."""
        return self.clock().astimezone(TZ).date()

    # --- settings ---------------------------------------------------------------------
    def setting(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(SETTING.c.value).where(SETTING.c.key == key)).scalar()

    def set_setting(self, key: str, value: str) -> None:
        """Change a database-wide setting, with its audit entry."""
        with self.writing() as conn:
            before = conn.execute(select(SETTING.c.value).where(SETTING.c.key == key)).scalar()
            if before == value:
                return
            self.audit(conn, "setting", "setting", key, detail={"before": before, "after": value})
            if conn.execute(select(SETTING.c.key).where(SETTING.c.key == key)).first():
                conn.execute(update(SETTING).where(SETTING.c.key == key).values(value=value))
            else:
                conn.execute(insert(SETTING).values(key=key, value=value))

    # --- organizations and members ----------------------------------------------------
    def orgs(self) -> list[OrgRow]:
        """Return every organization; read again only when the tree has changed since the last read.

        Every change to the tree is audited (entity "org"), in its own transaction, so an
        unchanged head of the audit chain means an unchanged tree, and so does a chain that has
        only grown since, by entries of other things (a record logged, a run saved). A command
        reads the tree two or three times (its permission check, then its own work), 0.7 s each
        at 50,000 branches. The head is read first: a change made between the two reads is seen
        as a change next time.
        """
        with self.engine.connect() as conn:
            return list(self._whole(conn, _head(conn)))

    def _whole(self, conn: Any, head: tuple[Any, ...] | None) -> list[OrgRow]:
        """Return the tree kept from an earlier read if it is unchanged since, else read it (see `orgs`)."""
        kept = self._orgs              # read once: a scheduler thread may replace it meanwhile
        if kept is None or not _unchanged(conn, kept[0], head):
            kept = self._orgs = (head, _org_rows(conn, None))
        elif kept[0] != head:
            kept = self._orgs = (head, kept[1])
        return kept[1]

    def index_around(self, ref: str | None) -> OrgIndex:
        """Return an index of the organizations `ref` may name and, when it names one, of its ancestors and everything below it.

        What a command about one organization's subtree needs (a branch's status, a township's
        overdue items, a meeting logged), without reading a province's whole tree: 0.6 s at
        50,000 branches. `find` and `resolve` of `ref` answer as on the whole tree, since every
        organization whose code, path or name is `ref`, or whose path ends with it, is in. When
        `ref` names none or several, the index is the whole tree's, for the names the error
        suggests. The last index is kept while the tree is unchanged (see `orgs`). Without
        `ref` (a listing of every root), the index is the whole tree's.
        """
        if not ref:
            return OrgIndex(self.orgs())
        text = OrgIndex.clean(ref)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:       # an argument that was not UTF-8 names no stored organization
            return OrgIndex(self.orgs())
        o = ORG.c

        def named(conn: Any) -> tuple[OrgRow | None, list[OrgRow]]:
            rows: list[OrgRow] = []
            for variant in dict.fromkeys((text, OrgIndex.slashed(text))):     # as typed, then with ／ read as /
                match = or_(o.code == variant, o.path == variant, o.name == variant)
                if "/" in variant:
                    match = or_(match, o.path.like("%/" + like_escape(variant), escape="\\"))
                rows += _org_rows(conn, match)
            if not rows and text.isascii():
                rows = _org_rows(conn, func.upper(o.code) == text.upper())     # a code typed in the other case: no index serves it
            found = OrgIndex(rows).find(text)
            return (found if isinstance(found, OrgRow) else None), rows

        return self._around_one(text, named)

    def index_of(self, org_id: int) -> OrgIndex:
        """Return an index of the organization with id `org_id`, its ancestors and everything below it (NotFound when there is none)."""
        def by_id(conn: Any) -> tuple[OrgRow | None, list[OrgRow]]:
            rows = _org_rows(conn, ORG.c.id == org_id)
            return (rows[0] if rows else None), []

        index = self._around_one(org_id, by_id)
        if org_id not in index.by_id:
            raise NotFound(f"找不到编号为 {org_id} 的党组织")
        return index

    def _around_one(self, key: str | int, find: Callable[[Any], tuple[OrgRow | None, list[OrgRow]]]) -> OrgIndex:
        """Return the index of the organization `find` reads (with the rows it read to find it), its ancestors and subtree.

        The whole tree's when `find` finds none, when the organization is a root (its subtree is
        most of the tree) or when the tree is in hand already. Kept by `key` while the tree is unchanged.
        """
        with self.engine.connect() as conn:
            head = _head(conn)
            kept = self._around        # read once: a scheduler thread may replace it meanwhile
            if kept is not None and kept[0] == key and _unchanged(conn, kept[1], head):
                self._around = (key, head, kept[2])
                return kept[2]
            whole = self._orgs
            if whole is not None and _unchanged(conn, whole[0], head):
                self._orgs = (head, whole[1])
                index = OrgIndex(whole[1])           # the tree is in hand already (a scheduler, a second scope)
            else:
                found, named = find(conn)
                if found is None:
                    return OrgIndex(self._whole(conn, head))       # for the error's suggestions
                if found.parent_id is None:
                    index = OrgIndex(self._whole(conn, head))
                else:
                    # A name holds no "/" (`import_orgs`): the ancestors' paths are those before each "/".
                    parts = found.path.split("/")
                    line = {"/".join(parts[:i]) for i in range(1, len(parts))}
                    rows = {r.id: r for r in named}
                    rows[found.id] = found
                    rows.update((r.id, r) for r in _org_rows(conn, or_(ORG.c.path.in_(sorted(line)), in_scope(found.path))))
                    index = OrgIndex(rows.values())
        self._around = (key, head, index)
        return index

    def org_path(self, org_id: int) -> str:
        """Return the path of the organization with id `org_id` (NotFound when there is none)."""
        path = self.org_paths([org_id]).get(org_id)
        if path is None:
            raise NotFound(f"找不到编号为 {org_id} 的党组织")
        return path

    def org_paths(self, org_ids: Iterable[int]) -> dict[int, str]:
        """Return the paths of the organizations with these ids (ids of none are left out).

        For listings that show each row's organization (users, the outbox, the audit log): a read
        of their organizations, not of a province's whole tree (68,546 rows, 0.6 s at 50,000 branches).
        """
        wanted = sorted(set(org_ids))
        paths: dict[int, str] = {}
        with self.engine.connect() as conn:
            for part in chunks(wanted):
                paths.update(conn.execute(select(ORG.c.id, ORG.c.path).where(ORG.c.id.in_(part))).all())
        return paths

    def members(self, org_ids: Iterable[int] | None = None) -> list[MemberRow]:
        """Return the members of the given organizations (all members when None)."""
        cols = [MEMBER.c[name] for name in MemberRow._fields]
        query = select(*cols)
        with self.engine.connect() as conn:
            if org_ids is None:
                return [MemberRow(*row) for row in conn.execute(query)]
            ids = list(org_ids)
            result: list[MemberRow] = []
            for chunk in chunks(ids):
                result.extend(MemberRow(*row) for row in conn.execute(query.where(MEMBER.c.org_id.in_(chunk))))
            return result

    def add_orgs(self, rows: list[dict[str, Any]], updates: list[dict[str, Any]], meta: dict[str, Any] | None = None) -> int:
        """Insert new organizations in order (parents first) and update changed ones; return the count added.

        A row's `parent_path` names its parent, which may be a row inserted earlier in `rows`.
        `meta` (file, sha256, rows) goes into the one audit entry of the import. A file that changes
        nothing writes nothing, not even an audit entry.
        """
        if not rows and not updates:
            return 0
        with self.writing() as conn:
            stamp = self.clock()
            # The updated organizations by id too, so that `audit log --org` finds the entry under them.
            self.audit(conn, "import", "org", detail={**(meta or {}), "added": [r["path"] for r in rows],
                                                      "updated": [{k: v for k, v in u.items()} for u in updates],
                                                      "org_ids": sorted({u["id"] for u in updates})})
            # Read on this transaction's connection: on "sqlite://" every use shares one connection,
            # and a read of its own would end this transaction, audit entry and all.
            ids = {path: org_id for org_id, path in conn.execute(select(ORG.c.id, ORG.c.path))}
            for row in rows:
                values = {k: v for k, v in row.items() if k != "parent_path"}
                values["parent_id"] = ids.get(row["parent_path"]) if row.get("parent_path") else None
                values["created_at"] = stamp
                ids[row["path"]] = conn.execute(insert(ORG).values(**values)).inserted_primary_key[0]
            for change in updates:
                org_id = change.pop("id")
                conn.execute(update(ORG).where(ORG.c.id == org_id).values(**change))
        return len(rows)

    def move_org(self, org_id: int, old_path: str, parent_id: int, parent_path: str, pin: dict[str, Any],
                 reason: str | None, old_parent_id: int | None = None) -> int | None:
        """Put the organization at `old_path` under the one at `parent_path` (id `parent_id`), its path and every path below
        it now starting with the new one (`parent_path`/its name).

        One transaction with its audit entry (which names the superior it left, and both paths, so that whoever sees
        either sees it: `org_moves`); `pin` holds the values set on it so that what it inherited stays (its 启用日期,
        执行规定, sector). Return how many organizations' paths changed, None when
        either was moved, or the new path taken, since they were read (nothing is written then). Its records, roster,
        ledger and runs are tied to it by id and follow it; what was written before keeps the old path.
        """
        new_path = f"{parent_path}/{old_path.rsplit('/', 1)[-1]}"
        with self.writing() as conn:
            o = ORG.c
            paths = dict(conn.execute(select(o.id, o.path).where(o.id.in_([org_id, parent_id]))).all())
            if paths.get(org_id) != old_path or paths.get(parent_id) != parent_path or \
                    conn.execute(select(o.id).where(o.path == new_path)).first() is not None:
                return None
            below = conn.execute(select(o.id, o.path).where(in_scope(old_path))).all()
            self.audit(conn, "move", "org", org_id, org_id, {"from": old_path, "to": new_path, "moved": len(below),
                                                             "org_ids": sorted(i for i, _ in below), "paths": [old_path, new_path],
                                                             "from_parent": old_parent_id, **pin}, reason)
            conn.execute(update(ORG).where(o.id == org_id).values(parent_id=parent_id, **pin))
            # No new path is an old one: the new one is free, and nothing is below a free path.
            for found_id, path in below:
                conn.execute(update(ORG).where(o.id == found_id).values(path=new_path + path[len(old_path):]))
            return len(below)

    def org_moves(self, since: datetime | None = None) -> list[OrgMove]:
        """Return the moves of organizations (`move_org`), oldest first; those from `since` when given."""
        a = AUDIT.c
        query = select(a.at, a.entity_id, a.detail).where(a.entity == "org", a.action == "move").order_by(a.seq)
        if since is not None:
            # An entry's time is kept to the second: one in the same second as `since`, after it, is not left out.
            query = query.where(a.at >= since.replace(microsecond=0))
        moves = []
        with self.engine.connect() as conn:
            for at, org_id, text_ in conn.execute(query):
                detail = json.loads(text_)
                moves.append(OrgMove(at, int(org_id), detail["from"], detail["to"], tuple(detail.get("org_ids", ())),
                                     detail.get("from_parent")))
        return moves

    def moved_places(self) -> MovedPlaces:
        """Return the places organizations were moved from, to look up a path written before a move."""
        return MovedPlaces(self.org_moves())

    def add_members(self, fields: Sequence[str], rows: Sequence[tuple[Any, ...]], updates: list[dict[str, Any]],
                    meta: dict[str, Any] | None = None, org_ids: Iterable[int] = ()) -> None:
        """Insert new members (tuples of the values of `fields`, which include org_id) and update changed ones, in one transaction with its audit entry.

        A file that changes nothing writes nothing, not even an audit entry. `org_ids` names the
        organizations whose members it updates, for the audit entry.
        """
        if not rows and not updates:
            return
        org_at = list(fields).index("org_id")
        with self.writing() as conn:
            stamp = self.clock()
            self.audit(conn, "import", "member", detail={**(meta or {}), "added": len(rows), "updated": len(updates),
                                                         "org_ids": sorted({r[org_at] for r in rows} | set(org_ids))})
            for part in chunks(rows, MEMBER_CHUNK):      # dicts for a chunk at a time, not for a province's roster
                conn.execute(insert(MEMBER), [dict(zip(fields, r), created_at=stamp) for r in part])
            for change in updates:
                member_id = change.pop("id")
                conn.execute(update(MEMBER).where(MEMBER.c.id == member_id).values(**change))

    # --- records ----------------------------------------------------------------------
    def record_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(RECORD).where(RECORD.c.superseded_at.is_(None))).scalar() or 0


class OrgMove(NamedTuple):
    """An organization put under another superior (`Store.move_org`): when, which, its paths, those moved with it, and the
    superior it left (None: it was at the top)."""

    at: datetime
    org_id: int
    old_path: str
    new_path: str
    org_ids: tuple[int, ...]
    from_parent: int | None


class MovedPlaces:
    """The places organizations were moved from (`Store.org_moves`), for a path written before a move: each old path
    with the latest move from it."""

    def __init__(self, moves: Iterable[OrgMove]) -> None:
        self._by_old = {m.old_path: m for m in moves}

    def nearest(self, path: str, taken: Callable[[str], bool] = lambda place: False) -> tuple[str, OrgMove] | None:
        """Return the nearest place at or above `path` that a move left, and that move.

        None when no move left one, or when a place for which `taken` is true (an organization is there
        now) comes first: a path below it names what is there, not what was moved away.
        """
        place = path
        while self._by_old:
            if taken(place):
                return None
            m = self._by_old.get(place)
            if m is not None:
                return place, m
            if "/" not in place:
                return None
            place = place.rsplit("/", 1)[0]
        return None


def _jsonable(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """Return a record's content without the columns the store fills in."""
    if row is None:
        return None
    return {k: v for k, v in row.items() if k in RECORD_CONTENT or k == "first_recorded_at"}



def backup_sqlite(store: Store, target: Path) -> int:
    """Copy a live SQLite database with SQLite's online backup API; return the audit entries it verified."""
    import sqlite3

    source = store.engine.raw_connection()
    try:
        with sqlite3.connect(target) as dest:
            source.driver_connection.backup(dest)
        dest.close()
    finally:
        source.close()
    copy = Store(resolve_url(str(target)))
    try:
        count, problem = copy.verify_audit()
    finally:
        copy.engine.dispose()
    if problem:
        target.unlink()
        raise DatabaseError(f"备份的审计日志校验失败：{problem}；备份文件已删除")
    return count


def restore_sqlite(store: Store, backup: Path, target: Path, actor: str = LOCAL_ADMIN) -> Path | None:
    """Bring back a backup over `target` after checking it; return where the replaced database was kept.

    The backup must pass SQLite's integrity check, carry this program's schema (an older one is
    upgraded after the restore) and a verified audit chain. Nothing is changed when a check fails.
    """
    import sqlite3

    if not backup.is_file():
        raise DatabaseError(f"{backup}：{'是文件夹，不是文件' if backup.is_dir() else '文件不存在'}")
    if target.exists() and os.path.samefile(backup, target):       # by another path, a link or a hard link (review)
        # Restored onto itself, it was accepted: a copy kept and a restore logged, of nothing (try-out).
        raise DatabaseError(f"{backup}：就是正在使用的数据库，不是备份；请给出 compliance backup 写出的备份文件")
    try:
        with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as probe:
            ok = probe.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in probe.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        probe.close()
    except sqlite3.DatabaseError as exc:
        # SQLite's own reasons are English.
        reason = {"file is not a database": "文件不是数据库", "database disk image is malformed": "文件已损坏"}.get(str(exc), "无法读取")
        raise DatabaseError(f"{backup}：不是可用的 SQLite 数据库（{reason}）") from None
    if ok != "ok":
        raise DatabaseError(f"{backup}：完整性检查失败（{ok}）")
    if "alembic_version" not in tables or "record" not in tables:
        raise DatabaseError(f"{backup}：不是本程序的数据库备份")
    copy = Store(resolve_url(str(backup)))
    try:
        revision = copy.revision()
        if revision is None or revision > HEAD_REVISION:
            raise DatabaseError(f"{backup}：数据库结构版本 {revision} 不是本程序能恢复的版本（最新 {HEAD_REVISION}）")
        count, problem = copy.verify_audit() if "auditentry" in tables else (0, None)
    finally:
        copy.engine.dispose()
    if problem:
        raise DatabaseError(f"{backup}：审计日志校验失败：{problem}")
    kept = None
    replaced = None
    if target.exists() and store.revision() is not None and inspect(store.engine).has_table("audithead"):
        with store.engine.connect() as conn:
            replaced = dict(conn.execute(text("SELECT seq, last_hash FROM audithead WHERE id = 1")).mappings().one())
    store.engine.dispose()
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{store.clock():%Y%m%d%H%M%S}")
        with sqlite3.connect(target) as current, sqlite3.connect(kept) as dest:
            current.backup(dest)
    with sqlite3.connect(backup) as source, sqlite3.connect(target) as dest:
        source.backup(dest)
    restored = Store(resolve_url(str(target)))
    restored.upgrade()
    outbox = _keep_outbox(target, kept) if kept else 0
    # The restored chain records what it replaced: the head it overwrote and where that was kept.
    restored.actor = actor
    restored.audit_now("restore", "database", detail={"file": backup.name, "sha256": _sha256(backup),
                                                      "replaced": replaced, "kept": str(kept) if kept else None}
                       | ({"outbox_kept": outbox} if outbox else {}))
    restored.engine.dispose()
    return kept


def _keep_outbox(target: Path, kept: Path) -> int:
    """Carry the outbox of the database a restore replaced (`kept`) into the restored one (`target`); return the messages carried.

    What was sent cannot be unsent: restored as the backup had it, the day's reminders went out a
    second time (the job found its messages missing, those pending in the backup were sent again).
    Each message of `kept` replaces the restored one of its organization, day, channel and
    recipient; a message of an organization the backup does not hold is left out.
    """
    import sqlite3

    conn = sqlite3.connect(target)
    try:
        with conn:      # one transaction, committed at its end
            conn.execute("ATTACH DATABASE ? AS kept", (str(kept),))
            columns = [row[1] for row in conn.execute("PRAGMA main.table_info(outboxmessage)") if row[1] != "id"]
            theirs = {row[1] for row in conn.execute("PRAGMA kept.table_info(outboxmessage)")}
            if not columns or not set(columns) <= theirs:
                return 0
            names = ", ".join(columns)
            key = "m.org_id = k.org_id AND m.day = k.day AND m.channel = k.channel AND m.recipient = k.recipient"
            conn.execute(f"DELETE FROM main.outboxmessage AS m WHERE EXISTS (SELECT 1 FROM kept.outboxmessage AS k WHERE {key})")
            return conn.execute(f"INSERT INTO main.outboxmessage ({names}) SELECT {names} FROM kept.outboxmessage "
                                "WHERE org_id IN (SELECT id FROM main.org) ORDER BY id").rowcount
    finally:
        conn.close()


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_store(db: str | None, *, must_exist: bool = True) -> Store:
    """Return the store for `--db` (see `resolve_url`); check the schema unless `must_exist` is False.

    A SQLite file that does not exist is an error here, not an empty database created by a read.
    """
    url = resolve_url(db)
    if must_exist and url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if str(path) != ":memory:" and not path.exists():
            raise DatabaseError(f"数据库文件 {path} 不存在：请先运行 compliance init")
    store = Store(url)
    if must_exist:
        store.require_current()
    return store


__all__ = ["Store", "open_store", "resolve_url", "now", "TZ", "date"]


def _head(conn: Any) -> tuple[Any, ...] | None:
    """Return the head of the audit chain (seq, hash), None before its first entry."""
    head = conn.execute(select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.last_hash)).first()
    return tuple(head) if head is not None else None


def _unchanged(conn: Any, key: tuple[Any, ...] | None, head: tuple[Any, ...] | None) -> bool:
    """Return whether the tree is as it was when the chain's head was `key`, the head now being `head` (see `Store.orgs`)."""
    return head is not None and key is not None and (key == head or _only_grown(conn, key))


def _org_rows(conn: Any, where: Any) -> list[OrgRow]:
    """Return the organizations that meet `where` (every one when None)."""
    query = select(*(ORG.c[name] for name in OrgRow.__dataclass_fields__))
    return [OrgRow(*row) for row in conn.execute(query if where is None else query.where(where))]


def _only_grown(conn: Any, key: tuple[int, str] | None) -> bool:
    """Return whether the audit chain still holds the entry `key` (seq, hash) and no entry since has changed the tree."""
    if key is None:
        return False
    seq, last_hash = key
    if conn.execute(select(AUDIT.c.hash).where(AUDIT.c.seq == seq)).scalar() != last_hash:
        return False         # rewritten (a restored backup) or no entry at all yet
    changed = select(AUDIT.c.seq).where(AUDIT.c.seq > seq, AUDIT.c.entity == "org").limit(1)
    return conn.execute(changed).first() is None
