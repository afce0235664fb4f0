"""Shared fixtures: the rules, a real SQLite file, a real PostgreSQL server, a CLI runner.

PostgreSQL: $COMPLIANCE_TEST_PG (a server URL) if set; otherwise the tests start a private
server with Debian's initdb/pg_ctl on 127.0.0.1 for the session. Where neither is possible, the
PostgreSQL cases are skipped with the reason shown in pytest's summary (-ra), never silently.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from contextlib import contextmanager
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from compliance.store import TZ, Store
from obligations.rules import Rules, default_rules

# "Now" for every test in this process, unless a test sets a store's clock itself: the tests
# log 2026's meetings and compare what the commands say of them, which on the real clock would
# change with the date they run on (a November meeting is 逾期录入 from 2027).
NOW = datetime(2026, 12, 5, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    import compliance.store as store_mod

    monkeypatch.setattr(store_mod, "now", lambda: NOW)
    return NOW

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="session")
def rules() -> Rules:
    return default_rules()


def _pg_binaries() -> tuple[str, str] | None:
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{folder}/initdb") and os.path.exists(f"{folder}/pg_ctl"):
            return f"{folder}/initdb", f"{folder}/pg_ctl"
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    return (initdb, pg_ctl) if initdb and pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield an admin URL of a running PostgreSQL server (ending in /postgres)."""
    url = os.environ.get("COMPLIANCE_TEST_PG")
    if url:
        yield url
        return
    binaries = _pg_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL 不可用：没有找到 initdb/pg_ctl（apt-get install postgresql），PostgreSQL 测试跳过")
    initdb, pg_ctl = binaries
    # Not under pytest's basetemp: another pytest session starting meanwhile prunes old basetemp
    # folders, which would delete this running server's data directory.
    base = Path(tempfile.mkdtemp(prefix="compliance-pg-"))
    datadir, sockets = base / "data", base / "sock"
    sockets.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the server as the postgres user.
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = lambda args: subprocess.run(prefix + args, check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run([initdb, "-D", str(datadir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
        run([pg_ctl, "-D", str(datadir), "-l", str(base / "log"), "-w", "start", "-o",
             f"-p {port} -h 127.0.0.1 -k {sockets} -c fsync=off -c full_page_writes=off"])
    except (subprocess.CalledProcessError, OSError, LookupError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        pytest.skip(f"PostgreSQL 无法启动：{detail.strip()[:300]}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(prefix + [pg_ctl, "-D", str(datadir), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(postgres_server: str) -> Iterator[str]:
    """Yield the URL of a new, empty PostgreSQL database; drop it afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'compliance.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Yield an initialized, empty store: once on a SQLite file, once on PostgreSQL."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    store = Store(url)
    store.upgrade()
    store.set_setting("default_catalog", "tuhe-2021")
    yield store
    store.engine.dispose()


def local_catalog(extends: str, valid_from: str, slug: str, counts: str, per: str | None = None) -> str:
    """Return a local catalog "local-2026" (TOML) extending `extends` from `valid_from` with one monthly rule `slug` counting `counts`."""
    lines = ['name = "local-2026"', f'extends = "{extends}"', f"valid_from = {valid_from}", 'source = "某镇文件"', "",
             "[[obligation]]", f'slug = "{slug}"', 'cadence = "monthly"', *([f'per = "{per}"'] if per else []),
             f'counts = "{counts}"', 'source = "某镇文件"']
    return "\n".join(lines) + "\n"


def write_csv(path: Path, text_: str, encoding: str = "utf-8") -> Path:
    """Write a CSV file from a dedented block of lines."""
    lines = [line.strip() for line in text_.strip().splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


TOWN_ORGS = """
名称,上级,类型,代码,领域,执行规定,成立日期,启用日期,书记,有支委会
图河镇党委,,乡镇党委,TH,农村,tuhe-2021,,2025-01-01,周海,
朱庄村党总支,图河镇党委,党总支,ZZ,,,,,江春,
第一党支部,朱庄村党总支,党支部,ZZ1,,,,,陶英,
第二党支部,朱庄村党总支,党支部,ZZ2,,,,,莫军,
马屯村党支部,图河镇党委,党支部,MT,,,2026-05-12,,闫梅,
"""


def roster_csv(org: str, full: int, probationary: int = 0, groups: int = 1, mobile: int = 0) -> str:
    """Return member CSV rows (no header) for a branch."""
    rows = []
    for i in range(full + probationary):
        status = "正式" if i < full else "预备"
        group = f"第{'一二三'[i % groups]}党小组"
        rows.append(f"党员{org[-5:]}{i},{org},{group},{status},{'是' if i < mobile else '否'}")
    return "\n".join(rows)


@pytest.fixture
def town(store: Store, rules: Rules, tmp_path: Path) -> Store:
    """The store with a small township: 朱庄村党总支 (two branches) and 马屯村党支部 (founded mid-2026)."""
    from compliance import importing

    importing.import_orgs(store, rules, write_csv(tmp_path / "orgs.csv", TOWN_ORGS))
    members = "姓名,党组织,党小组,类别,流动党员\n" + "\n".join([
        roster_csv("图河镇党委/朱庄村党总支/第一党支部", 10, 1, groups=2, mobile=1),
        roster_csv("图河镇党委/朱庄村党总支/第二党支部", 5),
        roster_csv("图河镇党委/马屯村党支部", 8),
    ])
    importing.import_members(store, write_csv(tmp_path / "members.csv", members))
    return store


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def as_of() -> date:
    return date(2026, 11, 25)


def running(text: str) -> list[int]:
    """Return the processes whose command line contains `text`."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def gone(text: str, seconds: float) -> bool:
    """Return whether, within `seconds`, no process's command line contains `text`."""
    deadline = time.monotonic() + seconds
    while running(text):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def load_province(url: str, rules: Rules, folder: Path) -> Store:
    """Return a new store at `url` loaded with a generated province in `folder` (benchmarks.generate_province)."""
    from compliance import importing, membership

    store = Store(url)
    store.upgrade()
    importing.import_orgs(store, rules, folder / "orgs.csv")
    importing.import_members(store, folder / "members.csv")
    importing.import_records(store, rules, folder / "records.csv")
    if (folder / "dues.csv").exists():
        membership.import_dues(store, folder / "dues.csv")
    return store


@contextmanager
def whole_tree_reads() -> Iterator[list[str]]:
    """Collect, from every engine (a command's own store too), the statements that read the organization table with no condition."""
    import re

    from sqlalchemy import Engine, event

    found: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        text = " ".join(statement.split())
        if re.search(r"\bFROM org\b", text) and " WHERE " not in text:
            found.append(text)

    event.listen(Engine, "before_cursor_execute", listen)
    try:
        yield found
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
