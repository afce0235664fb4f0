"""The store on a real SQLite file and a real PostgreSQL server: schema, imports, versions, views."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, func, select

from compliance import importing, model
from compliance.errors import InputError, NotFound
from compliance.orgs import OrgIndex
from compliance.store import TZ, Store
from compliance.tracking import Window, org_status, overdue
from tests.conftest import write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
RECORDS = f"""
党组织,类型,日期,应到,实到,主题,书记签字,记录人签字,党小组,图片
{BRANCH},党员大会,2026-03-31,10,8,学习党章,是,是,,
{BRANCH},支委会,2026-11-03,5,4,研究发展党员,是,是,,
{BRANCH},主题党日,2026-11-05,,,学习四中全会精神,,,,a.jpg
ZZ1,党小组会,2026-11-06,,,学习,,,第一党小组,
"""


def _count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_schema_from_migrations_matches_the_models(store: Store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), model.SQLModel.metadata)
    assert diff == []


def test_a_scopes_dues_are_read_from_an_index_without_looking_up_their_rows(sqlite_url: str):
    """Evaluation reads a scope's payments member by member: where every township records dues they
    outnumber the records three to one, and each payment's row was looked up through the member index."""
    store = Store(sqlite_url)
    store.upgrade()
    executed: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        executed.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        assert list(store.scope_dues("图河镇党委", (1, 10), date(2026, 11, 20))) == []
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in executed if "duespayment" in s)
    with store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    assert any(line.startswith("SEARCH duespayment USING COVERING INDEX") for line in plan), plan
    store.engine.dispose()


def test_the_entries_about_one_thing_are_read_from_the_audit_logs_index(sqlite_url: str):
    """`record show --history` reads the audit entries about one record, and a transfer those about one member:
    with no index on the thing an entry is about, each read the whole log (session 57's note)."""
    store = Store(sqlite_url)
    store.upgrade()
    executed: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        executed.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        assert store.audit_of("record", 7) == []
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    statement, parameters = next((s, p) for s, p in executed if "auditentry" in s)
    with store.engine.connect() as conn:
        plan = [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    assert any(line.startswith("SEARCH auditentry USING INDEX ix_auditentry_entity (entity=? AND entity_id=?)") for line in plan), plan
    store.engine.dispose()


def test_upgrade_twice_keeps_the_data(town: Store):
    before = _count(town, model.Member.__table__)
    town.upgrade()
    assert _count(town, model.Member.__table__) == before > 0


def test_orgs_get_paths_and_members_derive_committees(town: Store, rules):
    paths = {o.path for o in town.orgs()}
    assert BRANCH in paths and "图河镇党委/马屯村党支部" in paths
    window = Window(date(2026, 1, 1), date(2026, 11, 25), date(2026, 11, 25))
    big = {f.obligation for f in org_status(town, rules, BRANCH, window)}
    small = {f.obligation for f in org_status(town, rules, "图河镇党委/朱庄村党总支/第二党支部", window)}
    assert "branch_committee" in big and "branch_committee" not in small


def test_record_import_then_status(town: Store, rules, tmp_path: Path):
    result = importing.import_records(town, rules, write_csv(tmp_path / "r.csv", RECORDS))
    assert result.added == 4
    window = Window(date(2026, 1, 1), date(2026, 11, 25), date(2026, 11, 25))
    found = {(f.obligation, f.period, f.group): f for f in org_status(town, rules, "ZZ1", window)}
    assert found[("party_congress", "2026-Q1", None)].status == "met"
    assert found[("branch_committee", "2026-11", None)].status == "met"
    assert found[("theme_day", "2026-11", None)].status == "met"
    assert found[("group_meeting", "2026-11", "第一党小组")].status == "met"
    assert found[("group_meeting", "2026-11", "第二党小组")].status == "due"


def test_importing_the_same_file_again_adds_nothing(town: Store, rules, tmp_path: Path):
    path = write_csv(tmp_path / "r.csv", RECORDS)
    importing.import_records(town, rules, path)
    again = importing.import_records(town, rules, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert _count(town, model.Record.__table__) == 4


def test_a_changed_row_becomes_a_new_version_and_the_old_one_stays(town: Store, rules, tmp_path: Path):
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", RECORDS))
    changed = RECORDS.replace("2026-03-31,10,8", "2026-03-31,10,4")
    result = importing.import_records(town, rules, write_csv(tmp_path / "r2.csv", changed))
    assert (result.added, result.updated) == (0, 1)
    with town.engine.connect() as conn:
        rows = conn.execute(select(model.Record.__table__).where(model.Record.__table__.c.kind == "party_congress")
                            .order_by(model.Record.__table__.c.version)).mappings().all()
    assert [(r["version"], r["present"], r["superseded_at"] is None) for r in rows] == [(1, 8, False), (2, 4, True)]
    assert rows[0]["record_id"] == rows[1]["record_id"]
    window = Window(date(2026, 1, 1), date(2026, 11, 25), date(2026, 11, 25))
    congress = [f for f in org_status(town, rules, "ZZ1", window) if f.period == "2026-Q1" and f.obligation == "party_congress"]
    assert congress[0].status == "invalid"


def test_known_at_reproduces_what_was_known_then(town: Store, rules, tmp_path: Path):
    lines = RECORDS.strip().splitlines()
    town.clock = lambda: datetime(2026, 11, 10, 9, 0, tzinfo=TZ)
    importing.import_records(town, rules, write_csv(tmp_path / "a.csv", "\n".join(lines[:3])))
    town.clock = lambda: datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    importing.import_records(town, rules, write_csv(tmp_path / "b.csv", "\n".join([lines[0]] + lines[3:])))
    day = date(2026, 11, 25)

    def view(known_at):
        return {(f.obligation, f.period): f.status for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day, known_at))}

    then = view(datetime(2026, 11, 25, 23, 59, 59, tzinfo=TZ))
    assert then[("theme_day", "2026-11")] == "due"      # entered on the 26th
    assert then[("party_congress", "2026-Q1")] == "met"
    assert view(None)[("theme_day", "2026-11")] == "met"


def test_a_backdated_entry_date_does_not_rewrite_a_past_view(town: Store, rules, tmp_path: Path):
    # 录入日期 says the paper record was made on 11-06, but the database learned of it on the 26th.
    town.clock = lambda: datetime(2026, 11, 26, 9, 0, tzinfo=TZ)
    body = f"党组织,类型,日期,主题,图片,录入日期\n{BRANCH},主题党日,2026-11-05,学习,a.jpg,2026-11-06"
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", body))
    day = date(2026, 11, 25)
    window = Window(date(2026, 1, 1), day, day, datetime(2026, 11, 25, 23, 59, tzinfo=TZ))
    [theme] = [f for f in org_status(town, rules, "ZZ1", window) if f.obligation == "theme_day" and f.period == "2026-11"]
    assert theme.status == "due"


def test_late_entry_uses_the_recorded_date_given_by_an_import(town: Store, rules, tmp_path: Path):
    body = f"党组织,类型,日期,主题,图片,录入日期\n{BRANCH},主题党日,2026-08-05,学习,a.jpg,2026-10-02"
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", body))
    day = date(2026, 11, 20)
    [theme] = [f for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day)) if f.period == "2026-08" and f.obligation == "theme_day"]
    assert theme.status == "met" and theme.flags == ("late_entry",)


@pytest.mark.parametrize("entered, late", [(datetime(2026, 10, 31, 23, 30, tzinfo=TZ), False),
                                           (datetime(2026, 11, 1, 0, 30, tzinfo=TZ), True)])
def test_the_entry_day_is_the_day_in_beijing_time(town: Store, rules, tmp_path: Path, entered: datetime, late: bool):
    # Kept as UTC (15:30 and 16:30 on 10-31): the second is already 11-01 in Beijing, after the following month's end.
    town.clock = lambda: entered
    body = f"党组织,类型,日期,主题,图片\n{BRANCH},主题党日,2026-09-05,学习,a.jpg"
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", body))
    [(_, [record])] = list(town.scope_records(BRANCH))
    assert record.recorded_on == entered.date()
    day = date(2026, 11, 20)
    [theme] = [f for f in org_status(town, rules, "ZZ1", Window(date(2026, 1, 1), day, day)) if f.period == "2026-09" and f.obligation == "theme_day"]
    assert theme.status == "met" and theme.flags == (("late_entry",) if late else ())


def test_a_bad_row_writes_nothing(town: Store, rules, tmp_path: Path):
    bad = RECORDS + f"{BRANCH},党员大会,2026-02-30,10,8,x,是,是,,\n"
    before = _count(town, model.Record.__table__)
    with pytest.raises(InputError, match="2026-02-30"):
        importing.import_records(town, rules, write_csv(tmp_path / "r.csv", bad))
    assert _count(town, model.Record.__table__) == before == 0


def test_overdue_fetches_records_once_per_scope(town: Store, rules, tmp_path: Path):
    importing.import_records(town, rules, write_csv(tmp_path / "r.csv", RECORDS))
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(town.engine, "before_cursor_execute", listener)
    try:
        day = date(2026, 11, 25)
        found = overdue(town, rules, "图河镇党委", Window(date(2026, 1, 1), day, day))
    finally:
        event.remove(town.engine, "before_cursor_execute", listener)
    assert found
    record_queries = [s for s in statements if "FROM record" in s]
    assert len(record_queries) == 1
    # audit head, the chain since the tree was last read (two lookups) or the tree, members, records,
    # exemptions, dues, the organizations that record dues, setting: per scope, not per org
    assert len(statements) <= 10


def test_org_import_updates_a_changed_org_and_keeps_the_rest(town: Store, rules, tmp_path: Path):
    path = write_csv(tmp_path / "o.csv", "名称,上级,类型,执行规定\n朱庄村党总支,图河镇党委,党总支,wujin-2016")
    result = importing.import_orgs(town, rules, path)
    assert (result.added, result.updated) == (0, 1)
    [org] = [o for o in town.orgs() if o.path == "图河镇党委/朱庄村党总支"]
    assert org.catalog == "wujin-2016" and org.code == "ZZ"


def test_the_tree_is_read_again_only_after_a_change_by_any_process(town: Store, rules, tmp_path: Path):
    """A command read the tree for its permission check and again for its work: 0.7 s each at 50,000 branches."""
    reads: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        if " ".join(statement.split()).startswith("SELECT org.id, org.code, org.name"):
            reads.append(statement)

    event.listen(town.engine, "before_cursor_execute", listener)
    try:
        first = town.orgs()
        read = len(reads)                    # 0 or 1: the fixture's own writes touched the tree or not
        first.pop()                          # the caller's own list: the next one is whole again
        assert town.orgs() == town.orgs() == first + [town.orgs()[-1]] and len(reads) == read
        # Another process logs a meeting: the chain grows by an entry that is not the tree's.
        other = Store(town.url)
        importing.log_record(other, rules, {"org": "ZZ1", "kind": "主题党日", "date": "2026-11-05"})
        assert len(town.orgs()) == len(first) + 1 and len(reads) == read
        # It adds a village.
        importing.import_orgs(other, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n新村党支部,图河镇党委,党支部"))
        assert "图河镇党委/新村党支部" in {o.path for o in town.orgs()} and len(reads) == read + 1
        other.engine.dispose()
    finally:
        event.remove(town.engine, "before_cursor_execute", listener)


# A second township, with names that LIKE would match carelessly: Latin letters in another case
# (SQLite's LIKE ignores it) and the pattern characters % and _.
OTHER_ORGS = """
名称,上级,类型,代码
河口镇党委,,乡镇党委,HK
Ab村党支部,河口镇党委,党总支,
第一党支部,Ab村党支部,党支部,
aB村党支部,河口镇党委,党总支,
第三党支部,aB村党支部,党支部,
x_1%村党支部,河口镇党委,党支部,
xa1b村党支部,河口镇党委,党支部,
"""


@pytest.mark.parametrize("ref", ["ZZ1", BRANCH, "第二党支部", "朱庄村党总支/第一党支部", " /图河镇党委/朱庄村党总支/ ", "TH", "河口镇党委/Ab村党支部",
                                 "x_1%村党支部", "Ab村党支部/第一党支部"])
def test_an_index_around_one_organization_answers_as_the_whole_trees_and_holds_only_its_line_and_subtree(
        town: Store, rules, tmp_path: Path, ref: str):
    """Status, overdue of a township and a logged meeting read the tree around one organization, not a province's."""
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", OTHER_ORGS))
    whole = OrgIndex(town.orgs())
    org = whole.resolve(ref)
    index = Store(town.url).index_around(ref)
    assert index.resolve(ref) == org and index.find(ref) == whole.find(ref)
    line = {org.path} | {a for a in (org.path.rsplit("/", n)[0] for n in range(1, org.path.count("/") + 1))}
    below = {o.path for o in whole.subtree(org)}
    # Every name `ref` might match is in too, so that `find` sees what it would see on the whole tree.
    named = {o.path for o in whole.by_id.values() if o.code == OrgIndex.clean(ref) or o.name == OrgIndex.clean(ref)}
    # A root's subtree is most of the tree: the whole tree, kept for the process, is read instead.
    assert set(index.by_path) == (set(whole.by_path) if org.parent_id is None else line | below | named)
    assert index.subtree(org) == whole.subtree(org)
    assert (index.catalog_of(org, "x"), index.sector_of(org), index.starts_of(org)) == (
        whole.catalog_of(org, "x"), whole.sector_of(org), whole.starts_of(org))


@pytest.mark.parametrize("ref", ["第一党支部", "不存在支部", "马屯村", "图河镇党委/第一党支部"])
def test_a_name_that_names_several_organizations_or_none_gets_the_whole_trees_answer(town: Store, rules, tmp_path: Path, ref: str):
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", OTHER_ORGS))
    with pytest.raises(NotFound) as expected:
        OrgIndex(town.orgs()).resolve(ref)
    with pytest.raises(NotFound) as got:
        Store(town.url).index_around(ref).resolve(ref)
    assert str(got.value) == str(expected.value)


def test_org_paths_are_those_of_the_ids_given_in_any_number(town: Store):
    index = OrgIndex(town.orgs())
    ids = list(index.by_id)
    unknown = list(range(10**6, 10**6 + 6000))        # more than one IN list's worth (IN_LIMIT)
    assert town.org_paths(ids + ids[:2] + unknown) == {i: index.by_id[i].path for i in ids}
    assert town.org_paths([]) == {}


def test_the_index_around_an_organization_is_read_again_after_a_change_to_the_tree(town: Store, rules, tmp_path: Path):
    reads: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:
        if " ".join(statement.split()).startswith("SELECT org.id, org.code, org.name"):
            reads.append(statement)

    store = Store(town.url)          # a command's own store, which has not read the whole tree
    event.listen(store.engine, "before_cursor_execute", listener)
    try:
        first = store.index_around("ZZ")
        read = len(reads)
        importing.log_record(Store(town.url), rules, {"org": "ZZ1", "kind": "主题党日", "date": "2026-11-05"})
        assert store.index_around("ZZ") is first and len(reads) == read
        assert store.index_around("ZZ1") is not first and len(reads) > read      # another organization
        importing.import_orgs(Store(town.url), rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n第三党支部,朱庄村党总支,党支部"))
        again = store.index_around("ZZ")
        assert "图河镇党委/朱庄村党总支/第三党支部" in again.by_path and "图河镇党委/马屯村党支部" not in again.by_path
        # Once the whole tree is in hand, it answers.
        whole = store.orgs()
        read = len(reads)
        assert set(store.index_around("ZZ2").by_id.values()) == set(whole) and len(reads) == read
    finally:
        event.remove(store.engine, "before_cursor_execute", listener)


def test_the_index_of_an_organization_by_id_is_around_it_when_another_organizations_code_is_its_path(town: Store, rules, tmp_path: Path):
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv",
                                                 "名称,上级,类型,代码\n河口镇党委,,乡镇党委,HK\n某支部,河口镇党委,党支部,图河镇党委/马屯村党支部"))
    whole = OrgIndex(town.orgs())
    mt = whole.by_code["MT"]
    index = Store(town.url).index_of(mt.id)
    assert index.sector_of(index.by_id[mt.id]) == whole.sector_of(mt) == "农村"
    assert index.subtree(mt) == whole.subtree(mt) and "河口镇党委" not in index.by_path
    with pytest.raises(NotFound):
        Store(town.url).index_of(max(whole.by_id) + 1)


def test_a_correction_may_move_a_record_to_an_organization_outside_its_own_subtree(town: Store, rules):
    logged = importing.log_record(town, rules, {"org": "ZZ1", "kind": "主题党日", "date": "2026-11-05", "topic": "学习"})
    record_id = logged.ids[0]
    importing.correct_record(town, rules, record_id, {"org": "马屯村党支部"}, "登记错了支部")
    current = town.record_versions(record_id)[-1]
    assert current["org_id"] == OrgIndex(town.orgs()).resolve("MT").id and current["version"] == 2


def test_a_township_tracked_from_a_date_exempts_its_branches_before_it(town: Store, rules, tmp_path: Path):
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,启用日期\n图河镇党委,,乡镇党委,2026-07-01"))
    window = Window(date(2026, 1, 1), date(2026, 11, 25), date(2026, 11, 25))
    found = {(f.obligation, f.period): f.status for f in org_status(town, rules, "ZZ1", window)}
    assert found[("theme_day", "2026-06")] == "exempt"
    assert found[("theme_day", "2026-07")] == "missed"


def test_member_reimport_with_fewer_columns_keeps_the_roster(town: Store, tmp_path: Path):
    name = next(m.name for m in town.members() if m.mobile)
    before = next(m for m in town.members() if m.name == name)
    result = importing.import_members(town, write_csv(tmp_path / "m.csv", f"姓名,党组织\n{name},{BRANCH}"))
    assert (result.updated, result.unchanged) == (0, 1)
    assert next(m for m in town.members() if m.name == name) == before


def test_member_reimport_of_the_same_rows_reports_unchanged(town: Store, tmp_path: Path):
    body = f"姓名,党组织,党小组,类别,流动党员,联系人,性别\n新党员,{BRANCH},第一党小组,正式,否,陶英,女"
    assert importing.import_members(town, write_csv(tmp_path / "m.csv", body)).added == 1
    again = importing.import_members(town, write_csv(tmp_path / "m.csv", body))
    assert (again.updated, again.unchanged) == (0, 1)


def test_declaring_a_vacancy_clears_the_secretary_and_a_blank_keeps_it(town: Store, rules, tmp_path: Path):
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,书记\n第一党支部,朱庄村党总支,党支部,空缺"))
    branch = next(o for o in town.orgs() if o.path == BRANCH)
    assert branch.secretary_vacant and branch.secretary is None
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\n第一党支部,朱庄村党总支,党支部"))
    assert next(o for o in town.orgs() if o.path == BRANCH).secretary_vacant
    importing.import_orgs(town, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,书记\n第一党支部,朱庄村党总支,党支部,王新"))
    branch = next(o for o in town.orgs() if o.path == BRANCH)
    assert not branch.secretary_vacant and branch.secretary == "王新"


def test_the_head_revision_commands_check_is_the_newest_migration(store: Store):
    from alembic.script import ScriptDirectory

    from compliance.store import HEAD_REVISION

    assert ScriptDirectory.from_config(store._alembic()).get_current_head() == HEAD_REVISION == store.revision()


def test_a_record_batch_writes_with_a_larger_sqlite_page_cache_and_gives_the_connection_back_as_it_was(sqlite_url, rules,
                                                                                                       tmp_path: Path):
    from compliance.store.records import BATCH_CACHE_KB

    store = Store(sqlite_url)
    store.upgrade()

    def cache_size(conn) -> int:
        return conn.connection.dbapi_connection.execute("PRAGMA cache_size").fetchone()[0]

    with store.engine.connect() as conn:
        default = cache_size(conn)
    with pytest.raises(RuntimeError):
        with store.record_batch("test") as batch:
            assert cache_size(batch.conn) == -BATCH_CACHE_KB
            raise RuntimeError("a bad row")
    with store.record_batch("test") as batch:
        assert cache_size(batch.conn) == -BATCH_CACHE_KB
    with store.engine.connect() as conn:
        assert cache_size(conn) == default != -BATCH_CACHE_KB


def test_a_member_import_written_in_chunks_stores_every_column_of_every_row_and_one_audit_entry(town: Store, tmp_path: Path,
                                                                                                 monkeypatch):
    from compliance import store as store_module

    monkeypatch.setattr(store_module, "MEMBER_CHUNK", 2)
    rows = [f"新党员{i},{BRANCH},第{1 + i % 2}党小组,{'预备' if i % 3 == 0 else '正式'},{'是' if i == 1 else '否'},"
            f"{'陶英' if i == 1 else ''},2020-0{1 + i}-15,1990-01-0{1 + i},{'女' if i % 2 else '男'}" for i in range(5)]
    body = "姓名,党组织,党小组,类别,流动党员,联系人,入党日期,出生日期,性别\n" + "\n".join(rows)
    before = len(town.audit_log())
    assert importing.import_members(town, write_csv(tmp_path / "m.csv", body)).added == 5
    stored = {m.name: m for m in town.members() if m.name.startswith("新党员")}
    assert [(stored[f"新党员{i}"].group_name, stored[f"新党员{i}"].status, stored[f"新党员{i}"].mobile, stored[f"新党员{i}"].liaison,
             stored[f"新党员{i}"].joined, stored[f"新党员{i}"].gender) for i in range(5)] == [
        (f"第{1 + i % 2}党小组", "预备" if i % 3 == 0 else "正式", i == 1, "陶英" if i == 1 else None,
         date(2020, 1 + i, 15), "女" if i % 2 else "男") for i in range(5)]
    assert [stored[f"新党员{i}"].born for i in range(5)] == [date(1990, 1, 1 + i) for i in range(5)]
    assert len(town.audit_log()) == before + 1


def test_an_interrupted_record_batch_raises_the_interruption_not_a_closed_connection(sqlite_url):
    store = Store(sqlite_url)
    store.upgrade()
    with pytest.raises(KeyboardInterrupt):
        with store.record_batch("test") as batch:
            batch.conn.invalidate()       # what SQLAlchemy does when Ctrl-C interrupts a statement
            raise KeyboardInterrupt
    with store.record_batch("test") as batch:
        assert batch.conn.connection.dbapi_connection.execute("PRAGMA cache_size").fetchone()[0] < 0


def test_an_import_looks_records_up_by_the_index_led_by_the_organization(sqlite_url, rules, tmp_path: Path):
    """Each identity probe of a (re-)import is a search of ix_record_org_identity, never a scan of the table."""
    store = Store(sqlite_url)
    store.upgrade()
    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型,代码\n图河镇党委,,乡镇党委,\n"
                                                                          "第一党支部,图河镇党委,党支部,ZZ1\n第二党支部,图河镇党委,党支部,ZZ2\n"))
    body = "党组织,类型,日期,主题,应到,实到\nZZ1,主题党日,2026-11-05,学习,,\nZZ2,主题党日,2026-11-05,学习,,\nZZ1,支委会,2026-11-03,研究,5,3\n"
    assert importing.import_records(store, rules, write_csv(tmp_path / "r.csv", body)).added == 3
    probes: list[tuple[str, tuple]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def keep(conn, cursor, statement, parameters, context, executemany):
        if "identity" in statement and statement.lstrip().upper().startswith(("SELECT", "WITH")):
            probes.append((statement, parameters))

    # A new row too: it is looked up among earlier versions as well (`corrected_away`), by the index (review).
    again = importing.import_records(store, rules, write_csv(tmp_path / "r2.csv", body.replace("5,3", "5,4") + "ZZ1,党课,2026-11-10,党课,,\nZZ2,党课,2026-11-10,党课,,\n"))
    assert (again.unchanged, again.updated, again.added) == (2, 1, 2)
    assert [statement for statement, _ in probes if "superseded_at IS NOT NULL" in statement]
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        plans = [" ".join(row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters))
                 for statement, parameters in probes]
    assert not [plan for plan in plans if "SCAN record" in plan]
    assert [plan for plan in plans if "USING INDEX ix_record_org_identity (org_id=? AND identity=?)" in plan]


def test_scope_rows_come_grouped_by_organization_and_by_org_skips_those_not_asked_for(town: Store):
    from compliance.store.scope import by_org

    groups = list(town.scope_members("图河镇党委"))
    ids = [org_id for org_id, _ in groups]
    assert ids == sorted(set(ids)) and len(ids) >= 3
    assert all(m.org_id == org_id for org_id, rows in groups for m in rows)
    assert sum(len(rows) for _, rows in groups) == len([m for m in town.members() if m.org_id in ids])
    walk = by_org(town.scope_members("图河镇党委"))
    assert walk.take(0) == []                                  # before every organization
    assert walk.take(ids[1]) == groups[1][1]                   # the first is skipped
    assert walk.take(ids[1]) == []                             # taken once
    assert walk.take(ids[-1]) == groups[-1][1]
    assert walk.take(ids[-1] + 1) == []


def test_a_scope_takes_no_other_tree_whose_name_differs_in_case(store: Store, rules, tmp_path: Path):
    """SQLite's LIKE ignores the case of Latin letters: ABC党委's scope took in abc党委's branch, its records and its runs."""
    from compliance.supervision import supervise

    importing.import_orgs(store, rules, write_csv(tmp_path / "o.csv", "名称,上级,类型\nABC党委,,党委\n甲支部,ABC党委,党支部\n"
                                                                    "abc党委,,党委\n乙支部,abc党委,党支部"))
    importing.import_records(store, rules, write_csv(tmp_path / "r.csv", "党组织,类型,日期,主题\n"
                                                                       "abc党委/乙支部,主题党日,2026-10-08,学习\n"))
    supervise(store, rules, "abc党委", "2026-11", date(2026, 11, 20))
    index = OrgIndex(store.orgs())
    assert not store.later_run("ABC党委", date(2026, 10, 31)) and store.later_run("abc党委", date(2026, 10, 31))
    assert [org_id for org_id, _ in store.scope_records("ABC党委")] == []
    assert [org_id for org_id, _ in store.scope_records("abc党委")] == [index.resolve("abc党委/乙支部").id]


def test_who_entered_each_deduction_is_read_from_the_log_in_one_pass(town: Store):
    """`deduction list` names who entered each deduction: the first 'deduct' entry's actor, not a later void's."""
    org_id = town.index_around(None).resolve("ZZ1").id
    first = town.add_deduction(org_id, "village-2020", "四.5", "2026", 1.0, "县委检查")
    town.actor = "镇党建办"
    second = town.add_deduction(org_id, "village-2020", "一.1", "2026", 0.5, "记录不全")
    town.actor = "县管理员"
    assert town.void_deduction(second, "录错")
    assert town.done_by_each("deduct", "deduction", [first, second, 999]) == {str(first): "本地管理员", str(second): "镇党建办"}
    assert [d["id"] for d in town.list_deductions([org_id])] == [first]
    assert [d["void_reason"] for d in town.list_deductions([org_id], voided=True)] == [None, "录错"]
