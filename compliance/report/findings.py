"""Findings rendered as a rich table, JSON (the contract in DESIGN.md) or CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterable

from rich.console import Console
from rich.table import Table

from compliance.evaluate import Finding
from compliance.report.labels import STATUS_LABELS, STATUS_STYLES, flag_text

CSV_HEADERS = ["党组织", "事项", "事项代码", "周期", "党小组", "党员", "状态", "截止日期", "剩余天数", "记录编号", "问题"]


def finding_dict(f: Finding) -> dict[str, Any]:
    """Return a finding as the JSON contract's object."""
    return {
        "org": f.org,
        "obligation": f.obligation,
        "name": f.name,
        "period": f.period,
        "group": f.group,
        "member": f.member,
        "status": f.status,
        "due": f.due.isoformat(),
        "days_left": f.days_left,
        "records": list(f.records),
        "flags": list(f.flags),
    }


def to_json(findings: Iterable[Finding]) -> str:
    """Return findings as a JSON list."""
    return json.dumps([finding_dict(f) for f in findings], ensure_ascii=False, indent=2)


def to_csv(findings: Iterable[Finding]) -> str:
    """Return findings as CSV with Chinese headers (UTF-8 with BOM, so Excel opens it as Chinese)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADERS)
    for f in findings:
        writer.writerow([
            f.org, f.name, f.obligation, f.period, f.group or "", f.member or "", STATUS_LABELS[f.status],
            f.due.isoformat(), "" if f.days_left is None else f.days_left,
            " ".join(str(i) for i in f.records), flag_text(f.flags),
        ])
    return out.getvalue()


def _when(f: Finding) -> str:
    if f.status == "due":
        return f"剩 {f.days_left} 天" if f.days_left else "今天截止"
    return f.due.isoformat()


def findings_table(findings: list[Finding], title: str, show_org: bool = True) -> Table:
    """Return a rich table of findings with Chinese headings."""
    table = Table(title=title, show_lines=False, header_style="bold")
    if show_org:
        table.add_column("党组织", overflow="fold")
    table.add_column("事项")
    table.add_column("周期")
    table.add_column("对象")
    table.add_column("状态")
    table.add_column("截止")
    table.add_column("问题")
    for f in findings:
        who = f.group or f.member or ""
        status = f"[{STATUS_STYLES[f.status]}]{STATUS_LABELS[f.status]}[/]"
        cells = [f.name, f.period, who, status, _when(f), flag_text(f.flags)]
        table.add_row(*([f.org] if show_org else []), *cells)
    return table


def print_findings(console: Console, findings: list[Finding], title: str, show_org: bool = True) -> None:
    """Print a table of findings and a one-line count by status."""
    if not findings:
        console.print(f"{title}：没有需要列出的事项。")
        return
    console.print(findings_table(findings, title, show_org))
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    summary = "，".join(f"{STATUS_LABELS[s]} {n} 项" for s, n in counts.items())
    console.print(f"共 {len(findings)} 项：{summary}")
