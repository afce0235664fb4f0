"""The store's Core tables (`compliance.store.tables`) are the models' tables, and commands start without SQLModel."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from compliance import importing, model
from compliance.store import Store, tables
from compliance.store.coltypes import UTCDateTime
from tests.conftest import TOWN_ORGS, write_csv

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]


def test_the_core_tables_are_what_the_models_generate():
    """Regenerate with: python -m compliance.model"""
    assert Path(tables.__file__).read_text(encoding="utf-8") == model.core_tables_source()


def _pairs():
    core = {t.name: t for t in tables.METADATA.sorted_tables}
    models = {t.name: t for t in model.SQLModel.metadata.sorted_tables}
    assert sorted(core) == sorted(models)
    return [(models[name], core[name]) for name in sorted(models)]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_the_core_tables_have_the_models_ddl(dialect):
    for ours, theirs in [(m, c) for m, c in _pairs()]:
        assert str(CreateTable(theirs).compile(dialect=dialect)) == str(CreateTable(ours).compile(dialect=dialect))
        indexes = sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in ours.indexes)
        assert sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in theirs.indexes) == indexes


def test_the_core_tables_have_the_models_defaults_and_types():
    for ours, theirs in _pairs():
        assert list(theirs.columns.keys()) == list(ours.columns.keys())
        for column in ours.columns:
            other = theirs.columns[column.name]
            # The same value of the same type (0, 0.0 and False are equal).
            assert [(type(d.arg), d.arg) for d in (other.default,) if d] == [(type(d.arg), d.arg) for d in (column.default,) if d], column
            assert type(other.type).__name__ == ("String" if type(column.type).__name__ == "AutoString" else type(column.type).__name__)
            for dialect in DIALECTS:
                # The SQL type and the driver-side conversions each dialect applies.
                impl, theirs_impl = column.type.dialect_impl(dialect), other.type.dialect_impl(dialect)
                assert type(theirs_impl.impl if hasattr(theirs_impl, "impl") else theirs_impl) == \
                    type(impl.impl if hasattr(impl, "impl") else impl), column


def test_utc_datetime_binds_and_returns_what_sqlmodels_does():
    from sqlmodel.sql.sqltypes import UTCDateTime as Theirs

    ours, theirs = UTCDateTime(), Theirs()
    shanghai = timezone(timedelta(hours=8))
    for dialect in DIALECTS:
        for value in (None, datetime(2026, 11, 20, 10, 30, tzinfo=shanghai), datetime(2026, 1, 1, tzinfo=UTC)):
            bound = ours.process_bind_param(value, dialect)
            assert bound == theirs.process_bind_param(value, dialect)
            assert bound is None or bound.tzinfo == UTC
        for stored in (None, datetime(2026, 11, 20, 2, 30), datetime(2026, 11, 20, 10, 30, tzinfo=shanghai)):
            returned = ours.process_result_value(stored, dialect)
            assert returned == theirs.process_result_value(stored, dialect)
            assert returned is None or (returned.tzinfo == UTC and returned == returned.astimezone(UTC))
        with pytest.raises(ValueError):
            ours.process_bind_param(datetime(2026, 11, 20, 10, 30), dialect)
        with pytest.raises(ValueError):
            theirs.process_bind_param(datetime(2026, 11, 20, 10, 30), dialect)
    assert ours.impl.timezone and repr(ours) == "UTCDateTime()"


def test_commands_start_without_sqlmodel(tmp_path: Path, rules):
    """Importing SQLModel, and building the models with it and pydantic, was 0.2 s of every command's start.

    pydantic itself may still be imported: typer (from 0.29) checks a command's parameters with it.
    """
    db = tmp_path / "c.db"
    store = Store(f"sqlite:///{db}")
    store.upgrade()
    importing.import_orgs(store, rules, write_csv(tmp_path / "orgs.csv", TOWN_ORGS))
    store.engine.dispose()
    records = write_csv(tmp_path / "records.csv", """
        党组织,类型,日期,主题
        图河镇党委/朱庄村党总支/第一党支部,支委会,2026-11-03,研究发展党员
    """)
    script = ("import sys\n"
              "from compliance.cli import app\n"
              "for args in sys.argv[1:]:\n"
              "    app(args.split(), standalone_mode=False)\n"
              "print('LOADED', sorted(m for m in ('sqlmodel', 'compliance.model', 'sqlalchemy.orm') if m in sys.modules))\n")
    commands = [f"record import {records}", "status --org 图河镇党委/朱庄村党总支/第一党支部 --as-of 2026-11-20",
                "overdue --under 图河镇党委 --as-of 2026-11-20"]
    env = {**os.environ, "COLUMNS": "120", "COMPLIANCE_DB": str(db)}
    shown = subprocess.run([sys.executable, "-c", script, *commands], capture_output=True, text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "新增 1 条" in shown.stdout and "支委会" in shown.stdout
    assert "LOADED []" in shown.stdout


def test_the_generator_refuses_a_column_it_could_not_copy_whole():
    """A type the copy does not import, or a setting it does not write, is an error rather than a copy that differs."""
    from sqlalchemy import Column, Integer, MetaData, Numeric, Table

    table = Table("t", MetaData(), Column("id", Integer, primary_key=True), Column("n", Numeric(10, 2)),
                  Column("u", Integer, onupdate=1), Column("k", Integer, key="kk"), Column("f", Integer, default=lambda: 1))
    with pytest.raises(TypeError, match="t.n"):
        model._core_type(table.c.n)
    assert model._core_type(table.c.id) == "Integer()"
    assert model._unwritten(table.c.u) == "onupdate"
    assert model._unwritten(table.c.kk) == "key 'kk'"
    assert model._unwritten(table.c.f).startswith("default")
    assert model._unwritten(table.c.id) is None
