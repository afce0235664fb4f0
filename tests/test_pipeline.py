"""A large file is read and checked in a second process while the first writes: the same records, the same errors."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from compliance import importing, model
from compliance.errors import InputError
from compliance.store import Store
from tests.conftest import TOWN_ORGS, write_csv

BRANCH = "图河镇党委/朱庄村党总支/第一党支部"
HEADER = "党组织,类型,日期,应到,实到,主题,录入日期,记录人,书记签字,记录人签字,主讲人,学时,图片"


@pytest.fixture(params=[False, True], ids=["one process", "checked ahead"])
def ahead(request, monkeypatch) -> bool:
    """Import in chunks of 3 rows, every file checked ahead in a worker, or none."""
    monkeypatch.setattr(importing, "CHUNK", 3)
    monkeypatch.setattr(importing, "CHECK_AHEAD_BYTES", 0 if request.param else 1 << 40)
    return request.param


def _stored(store: Store) -> list[tuple]:
    """Return every column of every stored version but the moment of the import."""
    table = model.Record.__table__
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            select(*[c for c in table.c if c.name != "recorded_at"]).order_by(table.c.id))]


def _rows(count: int) -> list[str]:
    return [f"{BRANCH},主题党日,2026-{1 + i % 10:02d}-{1 + i % 27:02d},10,8,第{i}次活动,2026-11-01,王{i},是,否,李{i},{i % 4},p{i}.jpg"
            for i in range(count)]


def _town(url: str, rules, tmp_path: Path) -> Store:
    store = Store(url)
    store.upgrade()
    store.set_setting("default_catalog", "tuhe-2021")
    importing.import_orgs(store, rules, write_csv(tmp_path / "orgs.csv", TOWN_ORGS))
    return store


def test_a_file_checked_ahead_stores_what_one_process_stores(rules, tmp_path: Path, monkeypatch):
    path = write_csv(tmp_path / "records.csv", "\n".join([HEADER, *_rows(20)]))
    monkeypatch.setattr(importing, "CHUNK", 3)
    found = {}
    for limit in (1 << 40, 0):
        monkeypatch.setattr(importing, "CHECK_AHEAD_BYTES", limit)
        store = _town(f"sqlite:///{tmp_path / f'{limit}.db'}", rules, tmp_path)
        result = importing.import_records(store, rules, path)
        found[limit] = (result.added, list(result.ids), _stored(store))
        again = importing.import_records(store, rules, path)
        assert (again.added, again.unchanged) == (0, 20)
    assert found[0] == found[1 << 40]
    assert found[0][:2] == (20, list(range(1, 21)))


@pytest.mark.parametrize("changes, first", [
    # Two bad rows in later chunks: the first in file order is named, the other counted.
    ({7: f"{BRANCH},主题党日,2026-13-01,10,8,坏日期,2026-11-01", 8: f"{BRANCH},主题党日,2026-03-01,8,10,人数不对,2026-11-01"},
     "records.csv 第9行「日期」列：值「2026-13-01」"),
    # A bad row checked in the worker, then a repeated row with other content found by the writer.
    ({1: f"{BRANCH},茶话会,2026-03-01,8,8,,2026-11-01", 6: _rows(1)[0].replace(",10,8,", ",10,9,")},
     "records.csv 第3行「类型」列：值「茶话会」"),
])
def test_problems_found_by_either_process_are_named_in_file_order_and_nothing_is_written(town: Store, rules, tmp_path: Path,
                                                                                        ahead, changes, first):
    rows = _rows(10)
    for index, row in changes.items():
        rows[index] = row
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *rows])))
    message = str(caught.value)
    assert message.startswith(first) and "另有 1 处错误" in message, message
    assert _stored(town) == []


def test_an_unreadable_cell_stops_the_import_from_the_worker(town: Store, rules, tmp_path: Path, ahead):
    rows = _rows(8)
    rows[5] = f"{BRANCH},主题党日,2026-03-01,10,8,{'长' * 501},2026-11-01"
    with pytest.raises(InputError, match="第7行「主题」列"):
        importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *rows])))
    assert _stored(town) == []
    result = importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *_rows(8)])))
    assert result.added == 8 and len(_stored(town)) == 8


def test_the_worker_starts_with_small_chunks_and_doubles_them_up_to_full_size():
    from compliance.pipeline import _chunks

    assert [len(c) for c in _chunks(range(40), 8, start=1)] == [1, 2, 4, 8, 8, 8, 8, 1]
    assert [c[0] for c in _chunks(range(40), 8, start=1)] == [0, 1, 3, 7, 15, 23, 31, 39]
    assert [len(c) for c in _chunks(range(20), 8)] == [8, 8, 4]


def test_the_worker_has_time_to_spare_only_while_checked_chunks_wait_for_the_parent():
    import time

    from compliance import pipeline

    if not pipeline.can_fork():
        pytest.skip("workers are forked on Linux only")

    def check(chunk: list[int], spare: bool) -> tuple[bool, bytes]:
        return spare, bytes(100_000)     # larger than a pipe's buffer: a send waits until the parent reads

    with pipeline.checked_chunks(range(40), check, 2, ahead=True) as chunks:
        spares = [next(chunks)[0]]
        time.sleep(0.5)                  # busy with the first chunk: the next ones queue up in the worker
        spares += [spare for spare, _ in chunks]
    # Nothing waited when the worker began; while the parent was busy, chunks did.
    assert spares[0] is False and True in spares[1:]
    # Without a worker, one process does all the work either way.
    with pipeline.checked_chunks(range(4), check, 2, ahead=False) as chunks:
        assert [spare for spare, _ in chunks] == [True, True]


def test_the_import_worker_leaves_a_ctrl_c_to_the_command():
    """Ctrl-C reaches the whole process group: the worker died of it with a traceback of its own (Process ForkProcess-1:
    ... KeyboardInterrupt) among the command's words (try-out). The command stops it."""
    import os
    import signal

    from compliance import pipeline

    if not pipeline.can_fork():
        pytest.skip("workers are forked on Linux only")

    def check(chunk: list[int], spare: bool) -> list[int]:
        if 4 in chunk:
            os.kill(os.getpid(), signal.SIGINT)     # in the worker
        return chunk

    with pipeline.checked_chunks(range(10), check, 2, ahead=True) as chunks:
        assert [n for chunk in chunks for n in chunk] == list(range(10))


def test_a_checked_row_sent_as_a_tuple_keeps_every_value(town: Store, rules, tmp_path: Path):
    # A value the check makes but ROW_FIELDS leaves out would be lost by every import.
    header = ",".join(c.chinese for c in importing.RECORD_COLUMNS)
    values = {"党组织": BRANCH, "类型": "谈心谈话", "日期": "2026-03-02", "应到": "2", "实到": "2", "参会情况": "", "主题": "谈心", "记录人": "王",
              "书记签字": "是", "记录人签字": "是", "党员": "党员第一党支部0", "党小组": "第一党小组", "主讲人": "李",
              "参会人员": "党员第一党支部0、党员第一党支部1", "请假人员": "", "谈话对象": "党员第一党支部1", "学时": "2",
              "图片": "a.jpg", "录入日期": "2026-03-03"}
    path = write_csv(tmp_path / "one.csv", header + "\n" + ",".join(values[c.chinese] for c in importing.RECORD_COLUMNS))
    table = importing.stream_table(path, importing.RECORD_COLUMNS, normalize=True)
    ctx = importing._RecordContext(town, rules, file=table)
    chunk = list(table.rows)
    checked = importing._CheckRows(table, ctx)(chunk)
    row = importing._record_row(importing._Problems(table), chunk[0][0], chunk[0][1], ctx)
    assert checked.problems == 0 and row is not None
    assert set(row) == set(importing.ROW_FIELDS)
    values = tuple(row[name] for name in importing.ROW_FIELDS)
    # The identity is hashed where the row is checked: the one `record correct` gives the same values.
    wire = (*values[:importing._HELD], date(2026, 3, 2).toordinal(), date(2026, 3, 3).toordinal())
    assert checked.rows == [(chunk[0][0], wire, importing.row_identity(values))]
    # Left to the writer (the checking worker had no time to spare), it is the same identity.
    unhashed = importing._CheckRows(table, ctx)(chunk, False).rows
    assert unhashed == [(chunk[0][0], wire, None)]
    assert importing._with_identities(unhashed) == checked.rows
    # The writer turns the day numbers back into the day held and the first recording.
    assert (importing._day(wire[importing._HELD]), importing._first(wire[importing._FIRST])) == (row["held_on"], row["first_recorded_at"])
    assert importing.row_identity(values) == importing.record_identity(
        row["org_id"], "heart_talk", date(2026, 3, 2), "第一党小组", row["member_id"], "谈心\x1e党员第一党支部1")
    assert row["held_on"] == date(2026, 3, 2) and row["first_recorded_at"].date() == date(2026, 3, 3)


def test_the_earliest_problem_in_the_file_is_named_whichever_process_found_it(town: Store, rules, tmp_path: Path, ahead):
    # Row 5 repeats row 2 with other content (found while writing), row 6 has an unknown kind
    # (found while checking); both are in one chunk, and row 5 comes first in the file.
    rows = _rows(8)
    rows[3] = rows[0].replace(",10,8,", ",10,9,")
    rows[4] = rows[4].replace("主题党日", "茶话会")
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *rows])))
    message = str(caught.value)
    assert message.startswith("records.csv 第5行：与第2行是同一条记录") and "另有 1 处错误" in message, message


def test_an_import_collects_garbage_less_often_and_restores_the_setting(town: Store, rules, tmp_path: Path, ahead,
                                                                      monkeypatch):
    import gc

    from compliance import pipeline

    seen = []
    write = importing._load_chunk

    def watched(*args):
        seen.append(gc.get_threshold()[0])
        return write(*args)

    monkeypatch.setattr(importing, "_load_chunk", watched)
    before = gc.get_threshold()
    importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *_rows(10)])))
    assert seen and set(seen) == {pipeline.YOUNG_COLLECTION}
    assert gc.get_threshold() == before


def test_collecting_less_often_leaves_automatic_collection_off_when_it_was_off():
    import gc

    from compliance import pipeline

    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with pipeline.fewer_collections():
            assert gc.get_threshold()[0] == 0
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_a_files_earliest_problems_are_all_named_whichever_process_found_them(town: Store, rules, tmp_path: Path,
                                                                               ahead, monkeypatch):
    monkeypatch.setattr(importing, "PROBLEMS_SHOWN", 3)
    rows = _rows(16)
    for index in (13, 4, 10, 1, 7):       # one bad date in each chunk of 3 rows
        rows[index] = f"{BRANCH},主题党日,2026-13-{index:02d},10,8,坏日期{index},2026-11-01"
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *rows])))
    assert str(caught.value) == "records.csv 第3行「日期」列：值「2026-13-01」：不是有效日期（另有 4 处错误，未导入任何数据）"
    assert caught.value.details == ("records.csv 第6行「日期」列：值「2026-13-04」：不是有效日期",
                                    "records.csv 第9行「日期」列：值「2026-13-07」：不是有效日期",
                                    "……其余 2 处错误未列出")
    assert _stored(town) == []


def test_rows_with_the_same_problem_are_named_together_whichever_process_found_them(town: Store, rules, tmp_path: Path,
                                                                                     ahead, monkeypatch):
    # A township's file that misspells one branch in 12 rows, and has one bad date: before, the first 10 problems named
    # were the misspelling ten times, and the bad date was left among the 3 未列出.
    monkeypatch.setattr(importing, "PROBLEMS_SHOWN", 3)
    rows = _rows(16)
    for index in range(2, 14):
        rows[index] = rows[index].replace(BRANCH, "图河镇党委/朱庄村党总支/第一支布")
    rows[14] = rows[14].replace("主题党日,2026-", "主题党日,2026-1")
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, write_csv(tmp_path / "records.csv", "\n".join([HEADER, *rows])))
    first, *rest = str(caught.value).split("（同样的问题")
    assert first.startswith("records.csv 第4行「党组织」列：值「图河镇党委/朱庄村党总支/第一支布」：找不到该党组织")
    assert rest == ["共 12 行：第4、5、6、7、8行等；另有 1 处错误，未导入任何数据）"]
    assert len(caught.value.details) == 1 and caught.value.details[0].startswith("records.csv 第16行「日期」列：值「2026-1")
    assert _stored(town) == []


def _import_detail(store: Store) -> dict:
    import json

    return json.loads([e for e in store.audit_log() if e.action == "import" and e.entity == "record"][-1].detail)


@pytest.mark.parametrize("head", [64, 1 << 20], ids=["told from the first bytes", "decoded whole"])
def test_the_audit_keeps_the_sha256_of_the_imported_file_however_it_was_read(town: Store, rules, tmp_path: Path, ahead,
                                                                              head, monkeypatch):
    import hashlib

    from compliance import tabular

    # With a head of 64 bytes the file's digest is worked out beside the import (in a thread
    # once the worker that checks ahead is forked); otherwise at once, from the whole file.
    monkeypatch.setattr(tabular, "ENCODING_HEAD", head)
    path = write_csv(tmp_path / "records.csv", "\n".join([HEADER, *_rows(12)]))
    assert path.stat().st_size > 64
    assert importing.import_records(town, rules, path).added == 12
    detail = _import_detail(town)
    assert detail["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest() and detail["rows"] == 12


def test_a_gb18030_file_is_told_from_its_first_bytes_and_read_whole(town: Store, rules, tmp_path: Path, ahead,
                                                                    monkeypatch):
    from compliance import tabular

    monkeypatch.setattr(tabular, "ENCODING_HEAD", 64)
    path = write_csv(tmp_path / "records.csv", "\n".join([HEADER, *_rows(12)]), encoding="gb18030")
    assert importing.import_records(town, rules, path).added == 12
    topics = {r.topic for _, records in town.scope_records(BRANCH) for r in records}
    assert topics == {f"第{i}次活动" for i in range(12)}


def test_ascii_first_bytes_leave_the_encoding_to_the_whole_file(town: Store, rules, tmp_path: Path, ahead, monkeypatch):
    # English headers and a first row of ASCII fill the first bytes: GB18030 comes only later,
    # and the file is decoded whole to tell, as any file was before.
    from compliance import tabular

    header = "org,kind,date,expected,present,topic"
    first = f"{header}\n"
    monkeypatch.setattr(tabular, "ENCODING_HEAD", len(first))
    path = tmp_path / "records.csv"
    path.write_bytes((first + f"{BRANCH},主题党日,2026-03-05,10,8,学习\n").encode("gb18030"))
    assert path.read_bytes()[:len(first)].isascii()
    assert importing.import_records(town, rules, path).added == 1
    assert [r.topic for _, records in town.scope_records(BRANCH) for r in records] == ["学习"]


def test_a_byte_further_on_that_the_encoding_does_not_allow_names_the_line_and_writes_nothing(
        town: Store, rules, tmp_path: Path, ahead, monkeypatch):
    from compliance import tabular

    monkeypatch.setattr(tabular, "ENCODING_HEAD", 200)
    rows = _rows(12)
    path = tmp_path / "records.csv"
    # UTF-8 in the first bytes; row 10 (line 11 of the file) holds a GBK-encoded topic.
    text = "\n".join([HEADER, *rows[:9]]) + "\n"
    before, after = rows[9].split("第9次活动")
    path.write_bytes(text.encode("utf-8") + before.encode("utf-8") + "党员".encode("gbk") + after.encode("utf-8")
                     + ("\n" + "\n".join(rows[10:]) + "\n").encode("utf-8"))
    assert len(text.encode("utf-8")) > 200
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, path)
    message = str(caught.value)
    assert message.startswith("records.csv 第11行「主题」列：含有 UTF-8 编码不允许的字节（十六进制 B5 B3）"), message
    assert "未导入任何数据" in message
    assert _stored(town) == []


def test_the_row_named_is_the_rows_number_when_a_cell_before_it_holds_a_line_break(town: Store, rules, tmp_path: Path,
                                                                                  ahead, monkeypatch):
    from compliance import tabular

    monkeypatch.setattr(tabular, "ENCODING_HEAD", 200)
    rows = _rows(12)
    rows[2] = rows[2].replace("第2次活动", '"第2次\n活动"')       # row 4 spans two lines of the file
    before, after = rows[9].split("第9次活动")
    path = tmp_path / "records.csv"
    path.write_bytes(("\n".join([HEADER, *rows[:9]]) + "\n" + before).encode("utf-8") + "党员".encode("gbk")
                     + (after + "\n" + "\n".join(rows[10:]) + "\n").encode("utf-8"))
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, path)
    assert str(caught.value).startswith("records.csv 第11行「主题」列：含有 UTF-8 编码不允许的字节"), str(caught.value)
    assert _stored(town) == []


def test_a_character_cut_at_the_end_of_the_first_bytes_does_not_decide_the_encoding(town: Store, rules, tmp_path: Path,
                                                                                    ahead, monkeypatch):
    # The first bytes are ASCII but for the first byte of a GB18030 character (D6 D0, 中), which
    # UTF-8 would take for the start of one of its own: whole lines tell, and they are all ASCII.
    from compliance import tabular

    ascii_lines = "org,kind,date,expected,present,topic\n" + "".join(f"ZZ1,KIND,2026-03-{d:02d},10,8,t{d}\n" for d in (1, 2))
    data = (ascii_lines + "ZZ1,KIND,2026-03-05,10,8,中\n").replace("KIND", "theme_day").encode("gb18030")
    head = data.index("中".encode("gb18030")) + 1
    assert data[:head - 1].isascii() and not data[:head].isascii()
    monkeypatch.setattr(tabular, "ENCODING_HEAD", head)
    path = tmp_path / "records.csv"
    path.write_bytes(data)
    assert importing.import_records(town, rules, path).added == 3
    assert "中" in {r.topic for _, records in town.scope_records(BRANCH) for r in records}


def test_a_bad_byte_in_a_column_without_a_header_is_named_by_its_position(town: Store, rules, tmp_path: Path, ahead,
                                                                         monkeypatch):
    from compliance import tabular

    monkeypatch.setattr(tabular, "ENCODING_HEAD", 200)
    rows = [row + ",备注" for row in _rows(12)]          # a 14th column, its header left blank: not read
    path = tmp_path / "records.csv"
    path.write_bytes(("\n".join([HEADER + ",", *rows[:9]]) + "\n" + rows[9][:-2]).encode("utf-8") + "备注".encode("gbk")
                     + ("\n" + "\n".join(rows[10:]) + "\n").encode("utf-8"))
    with pytest.raises(InputError) as caught:
        importing.import_records(town, rules, path)
    assert str(caught.value).startswith("records.csv 第11行第14列：含有 UTF-8 编码不允许的字节"), str(caught.value)


def test_the_worker_checks_chunks_ahead_while_the_parent_is_busy():
    import multiprocessing
    import time

    from compliance import pipeline

    if not pipeline.can_fork():
        pytest.skip("workers are forked on Linux only")
    checked = multiprocessing.get_context("fork").Value("i", 0)

    def check(chunk: list[int], spare: bool) -> bytes:
        with checked.get_lock():
            checked.value += 1
        return bytes(100_000)        # larger than a pipe's buffer: a send waits until the parent reads

    with pipeline.checked_chunks(range(40), check, 2, ahead=True) as chunks:
        first = next(chunks)
        # The parent is busy with the first chunk: the worker goes on with the next ones.
        deadline = time.monotonic() + 30
        while checked.value < 2 + pipeline.AHEAD and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checked.value >= 2 + pipeline.AHEAD
        # Every chunk arrives, in order (the first of one row, then of two).
        assert len(first) == 100_000 and 1 + sum(1 for _ in chunks) == len(list(pipeline._chunks(range(40), 2, start=1)))
    assert checked.value == len(list(pipeline._chunks(range(40), 2, start=1)))


def test_a_checked_chunk_is_pickled_without_the_memo_and_a_cycle_is_an_error_not_a_hang():
    """The memo's bookkeeping was two thirds of pickling a chunk (a sixth of the worker's time at 1,000 branches)."""
    import multiprocessing
    import pickle
    import pickletools

    from compliance import pipeline

    kind = "主题党日"
    chunk = ([(2, (7, kind, None, 10, 8, "第1次活动"), "a" * 40), (3, (7, kind, None, 10, 9, "第2次活动"), None)], [], 0, 2)
    receive, send = multiprocessing.Pipe(duplex=False)
    outbox = pipeline._Outbox(send)          # what the worker sends the parent
    outbox.post(("chunk", chunk))
    outbox.finish()
    payload = receive.recv_bytes()
    assert pickle.loads(payload) == ("chunk", chunk)
    opcodes = {op.name for op, _, _ in pickletools.genops(bytes(payload))}
    assert not opcodes & {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "GET", "BINGET", "LONG_BINGET"}
    looped: list = [1]
    looped.append(looped)
    with pytest.raises(ValueError):
        pipeline._dumps(("chunk", looped))


def test_a_chunk_that_cannot_be_pickled_stops_the_import_with_one_line():
    from compliance import pipeline
    from compliance.errors import ComplianceError

    if not pipeline.can_fork():
        pytest.skip("workers are forked on Linux only")

    def check(chunk: list[int], spare: bool) -> list:
        looped: list = list(chunk)
        looped.append(looped)
        return looped

    with pytest.raises(ComplianceError, match="检查数据时出错：ValueError"):
        with pipeline.checked_chunks(range(4), check, 2, ahead=True) as chunks:
            list(chunks)


def test_an_error_that_will_not_pickle_reaches_the_parent_as_its_text():
    from compliance import pipeline
    from compliance.errors import ComplianceError

    if not pipeline.can_fork():
        pytest.skip("workers are forked on Linux only")

    def check(chunk: list[int], spare: bool) -> list[int]:
        error = ComplianceError("第3行：坏数据")
        error.me = error          # refers to itself: no pickle without the memo
        raise error

    with pytest.raises(ComplianceError, match="第3行：坏数据"):
        with pipeline.checked_chunks(range(4), check, 2, ahead=True) as chunks:
            list(chunks)


def test_problems_beyond_those_counted_are_let_go_and_the_rest_still_counted(tmp_path: Path, monkeypatch):
    # A file may have a problem of its own in each of a million rows: only the earliest are kept, and every one counted.
    from compliance.tabular import Table

    monkeypatch.setattr(importing, "PROBLEMS_SHOWN", 2)
    problems = importing._Problems(Table(tmp_path / "x.csv", {"org": "党组织"}, []), counted=2)
    problems.add(2, "org", "甲", "找不到该党组织")
    for number in range(3, 10):
        problems.add(number, "org", f"乙{number}", "找不到该党组织")
    problems.add(20, "org", "甲", "找不到该党组织")
    problems.add(21, "org", "乙3", "找不到该党组织")
    assert len(problems.same) <= 4
    with pytest.raises(InputError) as caught:
        problems.raise_if_any()
    assert str(caught.value) == ("x.csv 第2行「党组织」列：值「甲」：找不到该党组织（同样的问题共 2 行：第2、20行；另有 8 处错误，未导入任何数据）")
    assert caught.value.details == ("x.csv 第3行「党组织」列：值「乙3」：找不到该党组织（同样的问题共 2 行：第3、21行）",
                                    "……其余 6 处错误未列出")
