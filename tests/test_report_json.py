"""The JSON findings output: exactly what `json.dumps` of the contract's objects gives."""

from __future__ import annotations

import io
import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.evaluate import STATUSES, Finding
from compliance.report.findings import finding_dict, to_json, write_json

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
FINDINGS = st.builds(
    Finding,
    org_id=st.integers(1, 10**6),
    org=st.sampled_from(["江淮省委/张河市委", 'a"b\\c', "党支部\n二"]) | TEXT,
    obligation=TEXT,
    name=TEXT,
    period=TEXT,
    status=st.sampled_from(STATUSES),
    due=st.dates(date(1990, 1, 1), date(2100, 12, 31)),
    days_left=st.none() | st.integers(-10**5, 10**5),
    records=st.lists(st.integers(-10**9, 10**12), max_size=4).map(tuple),
    flags=st.lists(TEXT, max_size=3).map(tuple),
    member=st.none() | TEXT,
    group=st.none() | TEXT,
)


def _dumps(findings: list[Finding]) -> str:
    if not findings:
        return "[]"
    return "[\n" + ",\n".join(json.dumps(finding_dict(f), ensure_ascii=False) for f in findings) + "\n]"


@settings(max_examples=200, deadline=None)
@given(st.lists(FINDINGS, max_size=6))
def test_json_output_is_what_json_dumps_gives(findings):
    assert to_json(findings) == _dumps(findings)
    assert json.loads(to_json(findings)) == [finding_dict(f) for f in findings]


def test_json_output_across_several_written_batches():
    findings = [Finding(i, f"江淮省委/{i % 7}", "study_day", "固定学习日", "2025-01-10", "missed", date(2025, 1, 10),
                        i % 5 or None, (i,) if i % 2 else (), ("unsigned",) if i % 3 else (), f"党员{i % 4}" if i % 3 else None)
                for i in range(4500)]
    out = io.StringIO()
    write_json(iter(findings), out)
    assert out.getvalue() == _dumps(findings)
    assert len(json.loads(out.getvalue())) == 4500


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["org", "member", "note", "n"]),
                                st.one_of(st.none(), st.integers(), st.booleans(), st.text(max_size=12),
                                          st.lists(st.text(max_size=3), max_size=2)), max_size=4), max_size=4))
def test_rows_written_one_at_a_time_are_the_json_of_the_whole_list(rows):
    import contextlib

    from compliance.report.assessments import emit_rows

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        emit_rows(iter(rows), "json", {})
    assert out.getvalue() == json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["org", "total", "items"]),
                                st.one_of(st.none(), st.floats(allow_nan=False), st.text(max_size=12),
                                          st.lists(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), max_size=2)),
                                max_size=3), max_size=4),
       st.lists(st.text(max_size=12), max_size=3))
def test_an_object_with_a_list_written_one_row_at_a_time_is_its_json(rows, warnings):
    import contextlib

    from compliance.report.assessments import emit_json

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        emit_json({"scores": iter(rows), "warnings": warnings, "empty": {}})
    assert out.getvalue() == json.dumps({"scores": rows, "warnings": warnings, "empty": {}}, ensure_ascii=False, indent=2) + "\n"


def test_keys_that_are_not_strings_are_written_as_json_writes_them():
    import contextlib

    from compliance.report.assessments import emit_json

    value = {1: iter([{2: 3}]), None: [1], False: "x", 1.5: {}, "键": iter([])}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        emit_json(value)
    expected = {1: [{2: 3}], None: [1], False: "x", 1.5: {}, "键": []}
    assert out.getvalue() == json.dumps(expected, ensure_ascii=False, indent=2) + "\n"


def test_the_count_line_puts_the_worst_first_whatever_the_order_of_the_findings():
    # A branch's status once said 待完成 before 已完成 in one run and after it in the next.
    from rich.console import Console

    from compliance.report.findings import print_findings

    met = Finding(1, "镇/支部", "branch_committee", "支委会", "2026-01", "met", date(2026, 1, 31), None, (), ())
    later = [met._replace(period="2026-02"), met._replace(period="2026-11", status="due", due=date(2026, 11, 30), days_left=10),
             met._replace(period="2026-10", status="missed", due=date(2026, 10, 31))]
    lines = []
    for findings in ([met, *later], [*reversed(later), met]):
        console = Console(record=True, width=200)
        print_findings(console, findings, "支部", show_org=False, year=2026)
        lines.append(console.export_text().strip().splitlines()[-1])
    # January and February met share a row: the line says so, or 共 4 项 read as one missing (supervision team's try-out).
    assert lines == ["共 4 项：逾期未完成 1 项，待完成 1 项，已完成 2 项（同一事项的几个周期、几名党员合在一行，表中共 3 行）"] * 2
    console = Console(record=True, width=200)
    print_findings(console, later, "支部", show_org=False, year=2026)
    assert console.export_text().strip().splitlines()[-1] == "共 3 项：逾期未完成 1 项，待完成 1 项，已完成 1 项"


def test_a_periods_words_put_what_keeps_it_from_counting_first_whatever_its_status():
    """`2026年（剩24天，时间不符、逾期录入）` read as two reasons the record did not count (review); a term with no
    election on record at all says to add it, not 届满未换届 beside it (review)."""
    from compliance.report.findings import _when

    due = Finding(1, "镇/支部", "democratic_review", "民主评议党员", "2026", "due", date(2026, 12, 31), 24, (3,),
                  ("wrong_date", "late_entry"))
    assert _when(due, 2026) == "2026年（剩24天，时间不符；另：逾期录入）"
    assert _when(due._replace(flags=("late_entry", "unsigned")), 2026) == "2026年（剩24天，逾期录入、未签字）"
    term = Finding(1, "镇/支部", "committee_election", "换届", "2021-03-05/2026-03-04", "missed", date(2026, 3, 4), None, (), ())
    assert _when(term, 2026) == "2021-03-05至2026-03-04（届满未换届）"
    assert _when(term._replace(flags=("no_election_record",)), 2026) == "2021-03-05至2026-03-04（无换届选举记录，如已换届请补录）"


def test_a_members_run_of_months_says_what_the_branch_does_and_when_six_months_come():
    """A run at six months was 逾期未完成, one short of them 待完成 with 剩85天, which did not say to what (try-out)."""
    from compliance.report.findings import _when, status_label

    due = Finding(1, "镇/支部", "dues_watch", "连续未交纳党费", "2026-10", "due", date(2027, 3, 1), 85, (), ("watch",), "孙红")
    assert (status_label(due), _when(due, 2026)) == ("关注", "10月起（85天后满6个月）")
    assert _when(due._replace(days_left=0), 2026) == "10月起（今天满6个月）"
    reached = Finding(1, "镇/支部", "absence_watch", "连续未参加组织生活", "2026-03", "missed", date(2026, 8, 31), None, (),
                      ("review_membership",), "孙悦")
    assert (status_label(reached), _when(reached, 2026)) == ("提请支部审查", "3月起（已满6个月）")
    assert status_label(reached._replace(status="met", flags=())) == "已中断"


def test_the_overdue_table_puts_the_branch_with_most_missed_first_as_its_help_says(runner):
    """The help said 最严重、最早的在前, and a county read 九段村's 三季度 before 安福村's 一季度 as a fault (try-out): the
    table lists branches, the one with the most missed first; JSON and CSV are worst and earliest first."""
    from rich.console import Console

    from compliance.cli import app
    from compliance.report.findings import print_findings

    early = Finding(1, "镇/安福村党支部", "party_congress", "党员大会", "2026-Q1", "missed", date(2026, 3, 31), None, (), ())
    later = [early._replace(org_id=2, org="镇/九段村党支部", period=f"2026-{m:02d}", obligation="branch_committee", name="支委会",
                            due=date(2026, m, 28)) for m in (7, 8, 9)]
    console = Console(record=True, width=200)
    print_findings(console, [early, *later], "镇", root="镇")
    lines = [line for line in console.export_text().splitlines() if "党支部" in line]
    assert lines[0].split("│")[1].strip() == "九段村党支部" and lines[1].split("│")[1].strip() == "安福村党支部", lines
    said = "".join(runner.invoke(app, ["overdue", "--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "表格按党组织列出，逾期未完成最多的党组织在前；JSON、CSV按最严重、最早的在前" in said, said


def test_tables_put_the_second_branch_before_the_third():
    """By code point 第三党支部 came before 第二党支部 in the status and overdue table, which re-sorted worst_first's order by
    path (review)."""
    from rich.console import Console

    from compliance.report.findings import print_findings

    second = Finding(1, "镇/第二党支部", "branch_committee", "支委会", "2026-10", "missed", date(2026, 10, 31), None, (), ())
    third = second._replace(org_id=2, org="镇/第三党支部")
    tenth = second._replace(org_id=3, org="镇/第十党支部")
    console = Console(record=True, width=200)
    print_findings(console, [tenth, third, second], "镇", root="镇")
    text = console.export_text()
    assert text.index("第二党支部") < text.index("第三党支部") < text.index("第十党支部"), text
