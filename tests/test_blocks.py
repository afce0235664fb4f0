"""Evaluation in worker processes gives what one process gives: overdue lists and supervision runs, on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import date, datetime

import pytest
from dateutil.relativedelta import relativedelta

from benchmarks.generate_province import generate_province
from compliance import blocks, importing, pipeline, tracking
from compliance.evaluate import Finding
from compliance.orgs import OrgIndex
from compliance.store import TZ
from compliance.supervision import gap_key, supervise
from obligations.cadence import parse_period_key
from compliance.members import ACTIVITY_KINDS
from compliance.tracking import WATCH_SLUGS, Window, iter_findings, overdue
from tests.conftest import gone, load_province, running

DAY = date(2026, 11, 20)
CSV_HEADER = "党组织,事项,事项代码,周期,周期代码,党小组,党员,状态,截止日期,剩余天数,记录编号,问题\n"


@pytest.fixture(autouse=True)
def ctrl_c_raises():
    """Ctrl-C is Python's KeyboardInterrupt here, and in the processes started here, as in a terminal.

    A runner started as a background job of a script (`bash .ci/run &`, under nohup) has SIGINT
    ignored, which a process and its children inherit; `interrupts_noted` then rightly changes
    nothing, and the tests of Ctrl-C found no Ctrl-C to handle.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(params=["sqlite", "postgresql"])
def province(request, tmp_path, rules, monkeypatch):
    """A generated province of 60 branches, loaded twice (one copy per process count), with a low parallel threshold."""
    folder = tmp_path / "p"
    generate_province(folder, 60, seed=11, years=1, dues_share=0.5)
    urls = [request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")]
    urls.append(f"sqlite:///{tmp_path / 'second.db'}" if request.param == "sqlite" else urls[0])
    stores = [load_province(url, rules, folder) for url in dict.fromkeys(urls)]
    monkeypatch.setattr(blocks, "PARALLEL_MIN", 10)
    root = next(o.path for o in stores[0].orgs() if o.parent_id is None)
    return stores, root


def test_overdue_in_two_processes_lists_what_one_process_lists(province, rules):
    stores, root = province
    window = Window(date(2026, 1, 1), DAY, DAY)
    one = overdue(stores[0], rules, root, window, jobs=1)
    two = overdue(stores[0], rules, root, window, jobs=2)
    assert one and {f.status for f in one} >= {"missed", "due"}
    assert two == one
    assert {type(f) for f in two} == {Finding}      # equal as tuples is not enough: callers read fields by name


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_overdue_written_block_by_block_and_merged_is_the_list_written_at_once(province, rules, tmp_path, jobs, fmt):
    import io

    from compliance.report.findings import JSON_END, csv_encoder, json_encoder, write_csv, write_csv_bytes, write_json, write_json_bytes
    from compliance.tracking import _segments, merged_bytes, overdue_runs

    encoder, write_list, write_bytes, end = ((json_encoder, write_json, write_json_bytes, JSON_END) if fmt == "json"
                                             else (csv_encoder, write_csv, write_csv_bytes, "\n"))
    stores, root = province
    window = Window(date(2026, 1, 1), DAY, DAY)
    whole = io.StringIO()
    write_list(overdue(stores[0], rules, root, window, jobs=1), whole)
    folder = tmp_path / f"runs{jobs}"
    folder.mkdir()
    runs = overdue_runs(stores[0], rules, root, window, encoder(), folder, jobs, end)
    merged = io.BytesIO()
    write_bytes(merged_bytes(runs, folder), merged)
    assert merged.getvalue() == whole.getvalue().encode()
    assert sorted(run.path for run in runs) == sorted(folder.iterdir())
    assert all(run.ends[-1] == run.path.stat().st_size and list(run.keys) == sorted(set(run.keys)) for run in runs)
    if jobs == 2:
        # One file a block, and the merge is what orders them: read one after another, the
        # missed items of a later block would follow the due ones of an earlier.
        assert len(runs) > 2
        read = b"".join(run.path.read_bytes() for run in runs)
        body = merged.getvalue()
        body = body[2:-2] + end.encode() if fmt == "json" else body.split(b"\n", 1)[1]
        assert sorted(read.split(b"\n")) == sorted(body.split(b"\n")) and read != body
        # The merge copies stretches of groups, not a group at a time.
        assert len(list(_segments(runs))) < sum(len(run.keys) for run in runs)
        # More files than are merged at once: merged in rounds, in files that replace them.
        again = io.BytesIO()
        write_bytes(merged_bytes(runs, folder, fan_in=2), again)
        assert again.getvalue() == merged.getvalue()
        assert len(list(folder.iterdir())) == 2 and sum(run.path.exists() for run in runs) <= 1
        with pytest.raises(ValueError):
            merged_bytes(runs, folder, fan_in=1)


def _run(folder, name: str, groups: list[tuple[int, str]]):
    """A scratch file of `overdue_runs` made by hand: its groups' keys and texts, in order."""
    from array import array

    from compliance.tracking import Run

    path = folder / name
    data, ends = b"", array("q")
    for _key, text in groups:
        data += text.encode()
        ends.append(len(data))
    path.write_bytes(data)
    return Run(path, array("q", [key for key, _ in groups]), ends)


@pytest.mark.parametrize("fan_in", [2, 3, 64])
def test_scratch_files_whose_keys_interleave_are_merged_group_by_group(tmp_path, fan_in):
    from compliance.tracking import merged_bytes

    # Organizations whose ids are not in the order of their paths: each file's groups fall between another's.
    runs = [_run(tmp_path, "a", [(1, "一\n"), (4, "四\n四\n"), (7, "七\n")]),
            _run(tmp_path, "b", [(2, "二\n"), (3, "三\n"), (8, "八\n"), (9, "九\n")]),
            _run(tmp_path, "c", [(5, "五\n"), (6, "六\n")]),
            _run(tmp_path, "d", []),
            _run(tmp_path, "e", [(10, "十" * 400_000 + "\n")])]
    merged = b"".join(merged_bytes(runs, tmp_path, fan_in=fan_in)).decode()
    assert merged == "一\n二\n三\n四\n四\n五\n六\n七\n八\n九\n" + "十" * 400_000 + "\n"
    assert len(list(tmp_path.iterdir())) == (5 if fan_in >= 5 else fan_in)


def test_a_scratch_file_shorter_than_its_groups_is_a_one_line_error(tmp_path):
    from compliance.errors import ScratchError
    from compliance.tracking import merged_bytes

    folder = tmp_path / "scratch"
    folder.mkdir()
    run = _run(folder, "a", [(1, "一\n"), (2, "二\n")])
    run.path.write_bytes("一\n".encode())
    with pytest.raises(ScratchError, match="临时文件短于预期"):
        b"".join(merged_bytes([run], folder))


@pytest.mark.parametrize("values", [[], ["{}"], ["{\"a\": 1}", "[]", "\"乙\""]])
def test_json_values_in_chunks_of_any_size_are_written_as_the_values_are(values):
    import io

    from compliance.report.findings import JSON_END, write_json_bytes, write_json_lines

    expected = io.StringIO()
    write_json_lines(values, expected)
    data = "".join(value + JSON_END for value in values).encode()
    for size in (1, 2, 3, 7, len(data) or 1):
        out = io.BytesIO()
        write_json_bytes((data[i:i + size] for i in range(0, len(data), size)), out)
        assert out.getvalue().decode() == expected.getvalue(), size


def test_bytes_for_a_terminal_that_is_not_utf8_are_decoded_whole_characters_at_a_time():
    import io

    from compliance.report.findings import binary_out

    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="gb18030")
    text.write("表头\n")
    out = binary_out(text)
    data = "江淮省委/第一党支部\n".encode()
    for i in range(len(data)):          # one byte at a time: characters split between writes
        out.write(data[i:i + 1])
    out.flush()
    assert raw.getvalue().decode("gb18030") == "表头\n江淮省委/第一党支部\n"
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert binary_out(utf8) is utf8.buffer


def test_bytes_for_a_terminal_that_writes_its_own_line_ends_go_through_it(monkeypatch):
    import io

    from compliance.report import findings
    from compliance.report.findings import binary_out

    # Where the system's line end is not "\n" (Windows), text written to stdout has its "\n" made "\r\n":
    # the bytes must be written through the text layer, as the text was before, not to its buffer.
    monkeypatch.setattr(findings.os, "linesep", "\r\n")
    raw = io.BytesIO()
    text = io.TextIOWrapper(raw, encoding="utf-8", newline="\r\n")
    out = binary_out(text)
    assert out is not text.buffer
    out.write("[\n{},\n第一\n]".encode())
    out.flush()
    assert raw.getvalue() == "[\r\n{},\r\n第一\r\n]".encode()


@pytest.mark.parametrize("jobs", [1, 2])
def test_overdue_lines_that_hold_line_breaks_and_backslashes_come_back_as_they_were_made(province, rules, tmp_path, jobs):
    import io

    from compliance.report.findings import csv_encoder, write_csv_bytes
    from compliance.tracking import merged_bytes, overdue_runs

    stores, root = province
    window = Window(date(2026, 1, 1), DAY, DAY)

    def line(f: Finding) -> str:      # what a CSV row holds when a value has a line break: some lines have one, some not
        return f"{f.org}\n{f.period}\\n\\\\{f.status}\n" if f.status == "missed" else f"{f.org} {f.period}\\{f.status}"

    made = "".join(line(f) + "\n" for f in overdue(stores[0], rules, root, window, jobs=1))
    assert "\\n" in made
    assert b"".join(merged_bytes(overdue_runs(stores[0], rules, root, window, line, tmp_path, jobs), tmp_path)) == made.encode()
    # CSV rows whose cells hold line breaks: quoted, and merged back whole.
    encode = csv_encoder()

    def row(f: Finding) -> str:
        return encode(f._replace(member=f"{f.member or ''}\r\n乙", group="甲\n") if f.status == "missed" else f)

    merged = io.BytesIO()
    write_csv_bytes(merged_bytes(overdue_runs(stores[0], rules, root, window, row, tmp_path, jobs), tmp_path), merged)
    text = merged.getvalue().decode()
    assert text == "\ufeff" + CSV_HEADER + "".join(row(f) + "\n" for f in overdue(stores[0], rules, root, window, jobs=1))
    assert ',"甲\n",' in text and '乙",' in text


def test_overdue_json_of_every_root_and_of_nothing_is_what_one_list_writes(tmp_path, rules):
    import io

    from compliance.report.findings import JSON_END, json_encoder, write_json, write_json_bytes
    from compliance.tracking import merged_bytes, overdue_runs

    store = load_province(f"sqlite:///{tmp_path / 'two.db'}", rules, _two_provinces(tmp_path))
    assert len([o for o in store.orgs() if o.parent_id is None]) == 2
    before = date(2024, 6, 30)      # the generated provinces keep their rules from 2025
    outputs = []
    for window in (Window(date(2026, 1, 1), DAY, DAY), Window(date(2024, 1, 1), before, before)):
        whole, merged = io.StringIO(), io.BytesIO()
        write_json(overdue(store, rules, None, window, jobs=1), whole)
        write_json_bytes(merged_bytes(overdue_runs(store, rules, None, window, json_encoder(), tmp_path, 1, JSON_END), tmp_path),
                         merged)
        assert merged.getvalue().decode() == whole.getvalue()
        outputs.append(whole.getvalue())
    assert "\"org\": \"江淮省委/" in outputs[0] and "\"org\": \"江海省委/" in outputs[0]
    assert outputs[1] == "[]"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_overdue_json_and_csv_on_the_command_line_are_the_list_and_leave_no_files(province, rules, runner, tmp_path, monkeypatch, fmt):
    import io
    import tempfile

    from compliance.cli import app
    from compliance.report.findings import write_csv, write_json

    stores, root = province
    whole = io.StringIO()
    findings = overdue(stores[0], rules, root, Window(date(2026, 1, 1), DAY, DAY), jobs=1)
    (write_json if fmt == "json" else write_csv)(findings, whole)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def no_list(*args, **kwargs):
        raise AssertionError("the command made the whole list")

    monkeypatch.setattr(tracking, "overdue", no_list)
    result = runner.invoke(app, ["--db", stores[0].url, "overdue", "--under", root, "--as-of", DAY.isoformat(), "--jobs", "2",
                                 "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout == whole.getvalue() + ("\n" if fmt == "json" else "")
    assert result.stdout.count("\n") > len(findings) > 100
    assert list(scratch.iterdir()) == []


def test_overdue_json_scratch_files_that_cannot_be_written_are_a_one_line_error_and_left_ones_are_removed(tmp_path, rules, runner, monkeypatch):
    import resource
    import tempfile

    folder = tmp_path / "p"
    generate_province(folder, 600, seed=5, years=1, dues_share=0.0)
    store = load_province(f"sqlite:///{tmp_path / 'scratch.db'}", rules, folder)
    root = next(o.path for o in store.orgs() if o.parent_id is None)
    assert len(store.orgs()) >= blocks.PARALLEL_MIN

    def small_files() -> None:      # in the command's process: a file may not grow past 40,000 bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    args = [sys.executable, "-m", "compliance", "--db", store.url, "overdue", "--under", root, "--as-of", DAY.isoformat(),
            "--format", "json"]
    for jobs, scratch in (("1", tmp_path / "one"), ("2", tmp_path / "two")):
        scratch.mkdir()
        done = subprocess.run(args + ["--jobs", jobs], capture_output=True, text=True, preexec_fn=small_files, timeout=300,
                              env={**os.environ, "TMPDIR": str(scratch)})
        assert done.returncode == 1 and done.stdout == ""
        assert re.fullmatch(rf"错误：无法写入临时文件夹 {re.escape(str(scratch))}：文件超出允许的大小（.*TMPDIR.*）\n",
                            done.stderr), done.stderr
        assert list(scratch.iterdir()) == []
    # A temporary folder that cannot be made (tempfile falls back to /tmp from a bad TMPDIR, not from its own setting).
    from compliance.cli import app

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(not_a_folder))
    result = runner.invoke(app, args[3:])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "错误：无法写入临时文件夹：不是文件夹（清单的临时文件约与输出一样大；可将环境变量 TMPDIR 设为空间足够的文件夹后重试）\n"
    # Killed (kill -9, out of memory): the folder stays, and a later command removes it once it
    # has been untouched for an hour, but not a live process's, nor a fresh one.
    scratch = tmp_path / "killed"
    scratch.mkdir()
    proc = subprocess.Popen(args + ["--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TMPDIR": str(scratch)})
    deadline = time.monotonic() + 60
    while not any(scratch.glob("*/*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert gone(store.url, 10), running(store.url)
    [left] = scratch.iterdir()
    assert left.name.startswith(f"compliance-overdue-{proc.pid}-") and any(left.iterdir())
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    fresh = scratch / f"compliance-overdue-{int(ended.stdout)}-fresh"
    live = scratch / f"compliance-overdue-{os.getpid()}-live"
    for folder in (fresh, live):
        folder.mkdir()
    hour_ago = time.time() - 3601
    for folder in (left, live):
        os.utime(folder, (hour_ago, hour_ago))
    done = subprocess.run(args + ["--jobs", "2"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 0 and json.loads(done.stdout), done.stderr
    assert sorted(scratch.iterdir()) == sorted([fresh, live])


@pytest.mark.parametrize("limit", [50, 10 ** 6])
def test_overdue_table_of_a_large_scope_is_counted_where_made_and_prints_what_the_list_prints(province, rules, runner, monkeypatch,
                                                                                               limit):
    from compliance import tracking
    from compliance.cli import app, console
    from compliance.report import tables
    from compliance.report.findings import print_findings

    stores, root = province
    monkeypatch.setattr(tables, "TABLE_LIMIT", limit)
    findings = overdue(stores[0], rules, root, Window(date(2026, 1, 1), DAY, DAY), jobs=1)
    assert 50 < len(findings) < 10 ** 6
    with console.capture() as captured:
        print_findings(console, findings, f"{root} 待办与逾期事项（截至 {DAY.isoformat()}）", root=root, year=DAY.year)
    lists = []
    real = tracking.overdue
    monkeypatch.setattr(tracking, "overdue", lambda *args, **kwargs: lists.append(1) or real(*args, **kwargs))
    result = runner.invoke(app, ["--db", stores[0].url, "overdue", "--under", root, "--as-of", DAY.isoformat(), "--jobs", "2"])
    assert result.exit_code == 0, result.output
    assert result.stdout == captured.get()
    # Above the limit the counts alone are printed, and no list is made; below it the list is.
    assert ("按下级党组织汇总" in result.stdout, len(lists)) == ((True, 0) if limit == 50 else (False, 1))


def _two_provinces(tmp_path):
    """Return a folder of generated CSVs holding two provinces (the second one's root renamed and recoded)."""
    first, second, both = tmp_path / "a", tmp_path / "b", tmp_path / "both"
    generate_province(first, 12, seed=3, years=1, dues_share=0.5)
    generate_province(second, 12, seed=4, years=1, dues_share=0.5)
    both.mkdir()
    for name in sorted(p.name for p in first.iterdir() if p.suffix == ".csv"):
        one = first.joinpath(name).read_text(encoding="utf-8")
        header, *rows = second.joinpath(name).read_text(encoding="utf-8").splitlines(keepends=True)
        both.joinpath(name).write_text(one + "".join(rows).replace("江淮省委", "江海省委").replace(",JH,", ",JX,"), encoding="utf-8")
    return both


def test_member_checks_in_two_processes_list_what_one_process_lists(province):
    from compliance import membership

    store, root = province[0][0], province[1]
    flagged = lambda r: r.level is not None      # noqa: E731  (made in the workers)
    one = (membership.member_watch(store, root, DAY, jobs=1), membership.member_watch(store, root, DAY, keep=flagged, jobs=1),
           membership.mobile_list(store, root, DAY, jobs=1), membership.hours_list(store, root, DAY.year, jobs=1))
    two = (membership.member_watch(store, root, DAY, jobs=2), membership.member_watch(store, root, DAY, keep=flagged, jobs=2),
           membership.mobile_list(store, root, DAY, jobs=2), membership.hours_list(store, root, DAY.year, jobs=2))
    assert two == one
    assert 0 < len(one[1]) < len(one[0]) and one[2] and one[3]
    assert [r.org for r in one[0]] == sorted(r.org for r in one[0])


def test_a_supervision_run_in_two_processes_saves_what_one_process_saves(province, rules):
    stores, root = province
    if len(stores) == 1:
        pytest.skip("one PostgreSQL database: the two runs are compared on SQLite")
    one = supervise(stores[0], rules, root, "2026-11", DAY, jobs=1)
    two = supervise(stores[1], rules, root, "2026-11", DAY, jobs=2)
    assert one.opened > 0 and one.opened == two.opened
    assert two.run.fingerprint == one.run.fingerprint
    assert two.findings == one.findings
    assert two.rates == one.rates and two.tallies == one.tallies
    assert [(i.gap_key, i.matter) for i in two.ledger] == [(i.gap_key, i.matter) for i in one.ledger]


def test_a_supervision_run_in_two_processes_repeats_nothing_and_closes_what_was_made_good(province, rules):
    stores, root = province
    store = stores[0]
    first = supervise(store, rules, root, "2026-11", DAY, jobs=2)
    again = supervise(store, rules, root, "2026-11", DAY, jobs=2)
    assert first.written and not again.written and again.opened == 0
    # The ledger read back for the bulletin holds one copy of a repeated value, not one per item.
    alike = [i for i in first.ledger if i.measure == first.ledger[0].measure and i.deadline == first.ledger[0].deadline]
    assert len(alike) > 1 and all(i.measure is alike[0].measure and i.deadline is alike[0].deadline for i in alike)
    # A gap made good by a record logged late closes its ledger item in the next run.
    item = next(i for i in first.ledger if i.obligation == "branch_committee" and i.member is None and i.group_name is None)
    branch = next(o for o in store.orgs() if o.id == item.org_id)
    year, month = (int(x) for x in item.period.split("-"))
    importing.log_record(store, rules, {"org": branch.path, "kind": "支委会", "date": date(year, month, 15).isoformat(),
                                        "present": "5", "expected": "5", "recorded_on": "2026-11-21"})
    later = supervise(store, rules, root, "2026-11", date(2026, 11, 21), jobs=2)
    assert later.closed >= 1
    assert any(i.gap_key == item.gap_key and i.closed_on is not None for i in later.ledger)


def test_last_years_items_made_good_close_alike_in_one_process_and_in_two(province, rules):
    stores, root = province
    if len(stores) == 1:
        pytest.skip("one PostgreSQL database: the two runs are compared on SQLite")
    runs = []
    for store, jobs in zip(stores, (1, 2)):
        december = supervise(store, rules, root, "2026-12", date(2026, 12, 28), jobs=jobs)
        item = next(i for i in december.ledger if i.obligation == "branch_committee" and i.member is None
                    and i.group_name is None)
        branch = next(o for o in store.orgs() if o.id == item.org_id)
        year, month = (int(x) for x in item.period.split("-"))
        importing.log_record(store, rules, {"org": branch.path, "kind": "支委会", "date": date(year, month, 15).isoformat(),
                                            "present": "5", "expected": "5"})
        # In January the year's window starts again: December's items are older, evaluated apart.
        january = supervise(store, rules, root, "2027-01", date(2027, 1, 26), jobs=jobs)
        closed = {i.gap_key for i in january.ledger if i.closed_on is not None}
        assert item.gap_key in closed
        assert len({i.org_id for i in january.ledger if i.period < "2027"}) >= blocks.PARALLEL_MIN
        runs.append(closed)
    assert runs[0] == runs[1]


def test_last_years_watch_items_are_judged_apart_on_the_records_the_watch_counts(province, rules, monkeypatch):
    stores, root = province
    store = stores[0]
    december = supervise(store, rules, root, "2026-12", date(2026, 12, 28))
    # A meeting of May entered late ends a run of 2026-01 before January's window (July on): only
    # a pass of its own, counted from January 2026, sees that run end.
    watch_items = [i for i in december.ledger if i.obligation == "absence_watch"]
    ended = min(watch_items, key=lambda i: i.period)
    branch = next(o for o in store.orgs() if o.id == ended.org_id)
    store.clock = lambda: datetime(2027, 1, 10, 9, 0, tzinfo=TZ)
    importing.log_record(store, rules, {"org": branch.path, "kind": "主题党日", "date": "2026-05-15", "topic": "学习",
                                        "photos": "p.jpg", "attendees": ended.member})
    reads: list[tuple[date | None, frozenset[str] | None]] = []
    read = type(store).scope_records

    def spy(self, root_path, known_at=None, since=None, always=(), ids=None, kinds=None):
        reads.append((since, None if kinds is None else frozenset(kinds)))
        return read(self, root_path, known_at, since, always, ids, kinds)

    monkeypatch.setattr(type(store), "scope_records", spy)
    january = supervise(store, rules, root, "2027-01", date(2027, 1, 26))
    assert {i.gap_key: i.closed_on for i in january.ledger}[ended.gap_key] == date(2027, 1, 26)
    # Those the month's own pass keeps under the same key (a run going on, counted from January
    # 2026 as the item's was) are judged there, and not read again.
    kept = {gap_key(f.org_id, f.obligation, f.period, f.member, f.group) for f in january.findings}
    older = [i for i in january.ledger if i.period < "2027"]
    assert any(i.obligation in WATCH_SLUGS.values() and i.gap_key in kept for i in older)
    watch = [i for i in older if i.obligation in WATCH_SLUGS.values() and i.gap_key not in kept]
    other = [i for i in older if i.obligation not in WATCH_SLUGS.values() and i.gap_key not in kept]
    assert ended.gap_key in {i.gap_key for i in watch} and other
    since = {name: min(parse_period_key(i.period)[0] for i in items).replace(day=1) - relativedelta(years=1)
             for name, items in (("watch", watch), ("other", other))}
    # this year's window reads every kind; last year's items are read twice, the watch's on its own kinds
    apart = [r for r in reads if r[1] is not None]
    assert [s for s, _ in apart] == [since["watch"], since["other"]], (reads, since)
    # (and the consents to paying dues by quarter, which move the day a payment is too late for the watch)
    assert apart[0][1] <= ACTIVITY_KINDS | {"term_delay", "dues_by_quarter"}


def test_last_years_watch_item_closes_when_the_member_takes_part_again(province, rules):
    stores, root = province
    store = stores[0]
    december = supervise(store, rules, root, "2026-12", date(2026, 12, 28))
    item = next(i for i in december.ledger if i.obligation == "absence_watch")
    branch = next(o for o in store.orgs() if o.id == item.org_id)
    store.clock = lambda: datetime(2026, 12, 20, 9, 0, tzinfo=TZ)
    importing.log_record(store, rules, {"org": branch.path, "kind": "主题党日", "date": "2026-12-15", "topic": "学习",
                                        "photos": "p.jpg", "attendees": item.member})
    # In January the run of months without organizational life has ended in December: met, closed.
    january = supervise(store, rules, root, "2027-01", date(2027, 1, 26))
    closed = {i.gap_key: i for i in january.ledger if i.closed_on is not None}
    assert item.gap_key in closed and closed[item.gap_key].closed_on == date(2027, 1, 26)
    # The run ended: no record was made good, as its closing said (已补录有效记录) of one ended by a 请假 too (try-out).
    assert closed[item.gap_key].close_note == "连续未参加组织生活已中断（已参加、请假或汇报），督查自动销号"
    # Closed by a run: `rectify reopen` leaves it to the runs, as it does the other closings a run makes.
    from compliance.store.runs import AUTO_NOTES, ENDED_NOTES
    from compliance.tracking import WATCH_OBLIGATIONS

    assert set(ENDED_NOTES) == WATCH_OBLIGATIONS and set(ENDED_NOTES.values()) <= set(AUTO_NOTES)


@pytest.fixture
def scope(province):
    """The first store of `province`, its tree, its root and every organization at or below it."""
    stores, root_path = province
    index = OrgIndex(stores[0].orgs())
    root = index.resolve(root_path)
    return stores[0], index, root, index.subtree(root)


def test_the_findings_of_some_obligations_are_those_a_whole_evaluation_makes_of_them(scope, rules):
    store, index, root, orgs = scope
    window = Window(date(2025, 1, 1), DAY, DAY)
    for keep, bare_met in ((None, False), (("met",), True)):
        whole = dict(iter_findings(store, rules, index, root, orgs, window, keep=keep, bare_met=bare_met))
        slugs = {f.obligation for found in whole.values() for f in found}
        # elections (terms), 学时 (every kind of record), payments, the watch and plain meetings
        assert {"committee_election", "training_hours", "dues", "absence_watch", "branch_committee"} <= slugs, slugs
        for only in [{slug} for slug in sorted(slugs)] + [{"committee_election", "branch_committee"},
                                                              {"absence_watch", "branch_committee"}, {"dues_watch", "committee_election"}]:
            part = dict(iter_findings(store, rules, index, root, orgs, window, keep=keep, bare_met=bare_met, only=only))
            assert part == {org_id: [f for f in found if f.obligation in only] for org_id, found in whole.items()}, only


def test_a_few_organizations_of_a_scope_are_read_by_id_and_judged_as_in_the_whole(scope, rules):
    from sqlalchemy import event

    store, index, root, orgs = scope
    window = Window(date(2026, 1, 1), DAY, DAY)
    whole = dict(iter_findings(store, rules, index, root, orgs, window))
    few = sorted(orgs, key=lambda o: o.id)[::5]         # a fifth, spread over the whole range of ids
    assert len(few) >= blocks.PARALLEL_MIN
    statements: list[str] = []
    listen = lambda _conn, _cursor, statement, *_args: statements.append(statement)  # noqa: E731
    event.listen(store.engine, "before_cursor_execute", listen)
    try:
        for jobs in (1, 2):
            found = list(blocks.summarize_orgs(store, rules, index, root, few, window, lambda i, f: (i, f), jobs=jobs))
            assert found == [(o.id, whole[o.id]) for o in few], jobs
    finally:
        event.remove(store.engine, "before_cursor_execute", listen)
    # one process: the few by id; two (forked, their statements are not seen here): none of the scope
    records = [s for s in statements if "FROM record" in s]
    assert len(records) == 1 and "org.id IN (" in records[0] and " BETWEEN " not in records[0]


def test_a_scope_is_cut_into_blocks_of_consecutive_ids_and_even_weight(province):
    stores, root = province
    orgs = sorted(stores[0].orgs(), key=lambda o: o.id)
    cut = blocks._blocks(orgs, 8)
    assert [o for b in cut for o in b] == orgs
    # A branch weighs 1, an organization above branches a quarter: each block but the last
    # reaches an eighth of the whole and passes it by less than one branch.
    weights = [sum(1 if o.type == "党支部" else 0.25 for o in b) for b in cut]
    share = sum(weights) / 8
    assert len(cut) == 8 and all(share <= w < share + 1 for w in weights[:-1]) and weights[-1] <= share


def test_worker_processes_exit_when_the_command_is_killed(tmp_path, rules):
    folder = tmp_path / "p"
    generate_province(folder, 600, seed=5, years=1, dues_share=0.0)
    db = tmp_path / "killed.db"
    store = load_province(f"sqlite:///{db}", rules, folder)
    root = next(o for o in store.orgs() if o.parent_id is None)
    assert len(store.orgs()) >= blocks.PARALLEL_MIN
    proc = subprocess.Popen([sys.executable, "-m", "compliance", "--db", str(db), "overdue", "--under", root.path,
                             "--as-of", DAY.isoformat(), "--jobs", "2", "--format", "json"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "TMPDIR": str(tmp_path)})
    deadline = time.monotonic() + 60
    while len(running(str(db))) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    workers = [pid for pid in running(str(db)) if pid != proc.pid]
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert workers, "the command ended before its workers were seen"
    assert gone(str(db), 10), running(str(db))


def test_an_organization_digest_depends_on_the_values_of_its_findings_not_on_which_objects_hold_them():
    from compliance.evaluate import Finding
    from compliance.supervision import Fingerprint

    def finding(status: str, org: str) -> Finding:
        return Finding(7, org, "".join(["branch_", "committee"]), "支委会", "2026-03", status, DAY, None, (3, 4), ("unsigned",))

    shared = "江淮省委/一支部"
    one = Fingerprint.of_org([finding("met", shared), finding("missed", shared)])
    other = Fingerprint.of_org([finding("met", "".join(["江淮省委/", "一支部"])), finding("missed", "江淮省委/一支部")])
    assert one == other
    assert Fingerprint.of_org([finding("met", shared), finding("invalid", shared)]) != one


def test_a_database_in_memory_is_evaluated_in_one_process(tmp_path, rules, monkeypatch):
    # A worker's new connection to "sqlite://" would open another, empty database.
    folder = tmp_path / "p"
    generate_province(folder, 20, seed=2, years=1, dues_share=0.0)
    memory = load_province("sqlite://", rules, folder)
    monkeypatch.setattr(blocks, "PARALLEL_MIN", 10)
    root = next(o.path for o in memory.orgs() if o.parent_id is None)
    window = Window(date(2026, 1, 1), DAY, DAY)
    assert overdue(memory, rules, root, window, jobs=2) == overdue(memory, rules, root, window, jobs=1) != []


def test_a_worker_that_dies_is_a_one_line_error(province, rules):
    import multiprocessing

    from compliance.errors import ComplianceError
    from compliance.tracking import OVERDUE_STATUSES

    stores, root_path = province
    index = OrgIndex(stores[0].orgs())
    root = index.resolve(root_path)
    parent, last = os.getpid(), max(o.id for o in index.subtree(root))

    # The worker evaluating the last organization dies, whenever that is: killed from the progress callback, the
    # workers had at times finished every block already on a loaded machine, and nothing broke (the test failed once).
    def dies_at_the_last(org_id: int, findings: list) -> list:
        if org_id == last and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return findings

    found = blocks.summarize_orgs(stores[0], rules, index, root, index.subtree(root), Window(date(2026, 1, 1), DAY, DAY),
                                  dies_at_the_last, keep=OVERDUE_STATUSES, jobs=2)
    with pytest.raises(ComplianceError, match="工作进程意外退出.*--jobs 1"):
        list(found)
    assert not multiprocessing.active_children()


def test_the_jobs_help_names_the_limits_the_code_uses():
    from compliance.cli import JOBS_OPTION

    assert f"最多 {blocks.MAX_JOBS} 个" in JOBS_OPTION.help and f"少于 {blocks.PARALLEL_MIN} 个" in JOBS_OPTION.help


def _young_threshold(_org_id, _findings):
    return gc.get_threshold()[0], os.getpid()


def test_evaluation_collects_garbage_less_often_in_the_workers_too_and_restores_the_setting(province, rules):
    stores, root = province
    store = stores[0]
    index = OrgIndex(store.orgs())
    top = index.resolve(root)
    before = gc.get_threshold()
    seen = list(blocks.summarize_orgs(store, rules, index, top, index.subtree(top), Window(date(2026, 1, 1), DAY, DAY),
                                      _young_threshold, keep=("missed",), jobs=2))
    # Raised to YOUNG_COLLECTION, never lowered (mypy, run in this process by test_types, leaves it higher).
    assert {threshold for threshold, _ in seen} == {max(before[0], pipeline.YOUNG_COLLECTION)}
    assert os.getpid() not in {pid for _, pid in seen}
    assert gc.get_threshold() == before


def test_scores_in_two_processes_are_what_one_process_scores(province, rules):
    from compliance.assessment import score_scope

    stores, root = province
    one = score_scope(stores[0], rules, root, "2026-Q3", as_of=DAY, jobs=1)
    two = score_scope(stores[0], rules, root, "2026-Q3", as_of=DAY, jobs=2)
    assert len(one[0]) >= blocks.PARALLEL_MIN and any(s.total < s.max_total for s in one[0])
    assert len({s.rank for s in one[0]}) > 1 and one[1]
    assert two == one


def test_overdue_of_one_obligation_and_status_lists_what_the_whole_list_holds_of_them(province, rules, runner, monkeypatch):
    """A county sent each township its 党员大会 missed: it filtered a 15,682-row CSV by hand (try-out)."""
    from compliance.cli import app
    from compliance.report import tables

    stores, root = province
    whole = overdue(stores[0], rules, root, Window(date(2026, 1, 1), DAY, DAY), jobs=1)
    wanted = [f for f in whole if f.obligation in ("party_congress", "dues") and f.status == "missed"]
    assert wanted and len(wanted) < len(whole) and {f.obligation for f in wanted} == {"party_congress", "dues"}
    args = ["--db", stores[0].url, "overdue", "--under", root, "--as-of", DAY.isoformat(), "--jobs", "2",
            "--obligation", "党员大会", "--obligation", "dues", "--status", "missed"]
    listed = runner.invoke(app, args + ["--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [(f["org"], f["obligation"], f["period"], f["member"]) for f in json.loads(listed.stdout)] == \
        [(f.org, f.obligation, f.period, f.member) for f in wanted]
    monkeypatch.setattr(tables, "TABLE_LIMIT", 10)         # counted by unit, where made
    counted = runner.invoke(app, args)
    assert counted.exit_code == 0 and "只列党员大会、党费、逾期未完成" in counted.stdout and f"共 {len(wanted)} 项" in counted.stdout
    # By its slug as by its name, 党课 alone: party_lecture took in 书记讲党课 too, which counts 党课 records (review).
    assert tracking.obligation_slugs(rules, ["party_lecture"]) == tracking.obligation_slugs(rules, ["党课"]) == {"party_lecture"}
    unknown = runner.invoke(app, args[:-6] + ["--obligation", "茶话会"])
    assert unknown.exit_code == 2 and unknown.stderr.startswith("错误：--obligation：没有名为「茶话会」的事项（可用：")


# Run by the test below in a process of its own: the workers start slowly, and a Ctrl-C to the
# whole group reaches them before they could set it aside.
INTERRUPTED_MAP = """
import sys, time
from compliance import blocks
from compliance.orgs import OrgIndex
from compliance.store import Store

store = Store(sys.argv[1])
index = OrgIndex(store.orgs())
root = index.resolve(sys.argv[2])
blocks.PARALLEL_MIN = 10
detach = blocks._detach


def slow_detach():
    time.sleep(2)
    detach()


def work(block, ids, whole):
    time.sleep(0.2)
    yield len(block)


blocks._detach = slow_detach
print("ready", flush=True)
try:
    list(blocks.map_blocks(store, index, root, index.subtree(root), work, jobs=2))
except KeyboardInterrupt:
    print("cancelled", flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def test_a_ctrl_c_while_the_workers_start_ends_the_map_cleanly(province, tmp_path):
    """Ctrl-C reaches the whole process group. A worker forked a moment before died of it in the pool's machinery, and
    `overdue` hung, its other worker waiting on a lock (try-out: 2 times in 6)."""
    stores, root = province
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTED_MAP, stores[0].url, root], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        time.sleep(1)            # the workers are forked at once and wait in `slow_detach`
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert (proc.returncode, out, err) == (130, "cancelled\n", "")


def test_a_ctrl_c_says_the_command_was_cancelled(monkeypatch, capsys, sqlite_url):
    """Typer turns a KeyboardInterrupt into exit code 130 and says nothing: the command stopped without a word."""
    from compliance import cli
    from compliance.store import Store

    Store(sqlite_url).upgrade()

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tracking, "overdue_runs", interrupted)
    monkeypatch.setattr(tracking, "overdue", interrupted)
    monkeypatch.setattr(sys, "argv", ["compliance", "--db", sqlite_url, "overdue"])
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 130 and capsys.readouterr().err == "错误：已取消\n"


def test_a_ctrl_c_noted_while_the_pool_shuts_down_is_raised_and_a_second_one_at_once():
    """A Ctrl-C while the pool shut down was dropped when the handler went back, and the command went on (review)."""
    with pytest.raises(KeyboardInterrupt):
        with pipeline.interrupts_noted() as interrupted:
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 5
            while not interrupted() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert interrupted()            # noted, not raised
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)                   # the second is raised here
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_while_the_pool_shuts_down_after_the_last_block_is_raised(province, monkeypatch):
    """Noted while the workers exited, it was dropped with the handler, and a supervision run went on to save (review)."""
    from concurrent.futures import ProcessPoolExecutor

    stores, root = province
    index = OrgIndex(stores[0].orgs())
    top = index.resolve(root)
    real = ProcessPoolExecutor.shutdown

    def shutdown(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "shutdown", shutdown)
    done = []
    with pytest.raises(KeyboardInterrupt):
        for n in blocks.map_blocks(stores[0], index, top, index.subtree(top), lambda block, ids, whole: iter([len(block)]), jobs=2):
            done.append(n)
    assert sum(done) == len(index.subtree(top))       # every block was done: the Ctrl-C came after


class Made:
    """What a block's work makes, in a worker: an object that can be referred to weakly."""

    def __init__(self, block: int):
        self.block = block


def test_each_blocks_results_are_let_go_once_yielded(province):
    """The futures were kept in a list to the end, each holding its block's results: a province's findings twice over
    in the parent (the benchmark's library call at 10,000 branches: 241 MB against 188 MB)."""
    import weakref

    stores, root = province
    index = OrgIndex(stores[0].orgs())
    top = index.resolve(root)
    seen: list[tuple[int, weakref.ref]] = []
    held_late = []
    for made in blocks.map_blocks(stores[0], index, top, index.subtree(top), lambda block, ids, whole: iter([Made(block[0].id)]),
                                  jobs=2):
        seen.append((made.block, weakref.ref(made)))
        del made
        if len(seen) > 2:
            held_late += [ref() is not None for _, ref in seen[:-2]]
    assert len(seen) > 4 and not any(held_late)
