"""Catalogs, organizations and overdue summaries rendered for the terminal, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from operator import itemgetter
from typing import Any, Callable

from rich.console import Console
from rich.table import Table

from compliance.evaluate import Finding, path_order
from compliance.orgs import OrgIndex, OrgRow
from compliance.report import tables
from compliance.report.labels import share_words
from obligations.catalog import Catalog, Obligation
from obligations.rules import Rules

CADENCE_LABELS = {
    "monthly": "每月", "quarterly": "每季度", "half_yearly": "每半年", "yearly": "每年",
    "dated": "每月固定日", "term": "任期",
}
WINDOW_LABELS = {"Q1": "第一季度", "Q2": "第二季度", "Q3": "第三季度", "Q4": "第四季度（年底）", "H1": "上半年", "H2": "下半年"}
PER_LABELS = {"org": "每个组织", "group": "每个党小组", "member": "每名党员"}


def cadence_text(ob: Obligation) -> str:
    """Return a cadence in Chinese: 每季度, 每月10日、20日（遇休息日顺延）, 任期3年（农村5年）."""
    if ob.cadence == "dated":
        text = "每月" + "、".join(f"{d}日" for d in ob.days)
        return text + ("（遇休息日可顺延至下一个工作日）" if ob.shift_to_workday else "")
    if ob.cadence == "term":
        extra = "，".join(f"{s}{n}年" for s, n in ob.years_by_sector)
        return f"任期{ob.years}年" + (f"（{extra}）" if extra else "")
    text = CADENCE_LABELS[ob.cadence]
    return text + (f"，限{WINDOW_LABELS[ob.window]}" if ob.window else "")


def evidence_text(ob: Obligation, kind_names: dict[str, str] | None = None) -> str:
    """Return an obligation's evidence rules in Chinese; `kind_names` names the kinds of record it also counts."""
    parts = []
    share = ("过半数" if ob.quorum_share == (1, 2, 0) else share_words(ob.quorum_share) if ob.quorum_share[2]
             else f"超过{share_words(ob.quorum_share)}")
    if ob.quorum == "full_members":
        parts.append(f"正式党员{share}到会")
    if ob.quorum == "committee":
        parts.append(f"支委{share}到会")
    if ob.signatures:
        parts.append("书记和记录人签字")
    names = {"topic": "主题", "photos": "图片", "attendees": "参会人员", "recorder": "记录人", "lecturer": "主讲人", "hours": "学时", "counterpart": "谈话对象"}
    if ob.require:
        parts.append("须有" + "、".join(names[f] for f in ob.require))
    if ob.also_counts:
        also = "、".join((kind_names or {}).get(kind, kind) for kind in ob.also_counts)
        parts.append(f"{also}的记录也计入（按本项要求判断）")
    return "；".join(parts)


def applies_text(ob: Obligation) -> str:
    """Return who owes an obligation, in Chinese."""
    text = "、".join(ob.org_types)
    if ob.sectors:
        text += f"（{'、'.join(ob.sectors)}）"
    if ob.requires_committee:
        text += "，设支委会的"
    if ob.per != "org":
        text += "，" + PER_LABELS[ob.per] + ("（流动党员）" if ob.members == "mobile" else "")
    return text


CSV_HEADINGS = {
    "name": "名称", "title": "标题", "valid_from": "施行日期", "extends": "继承自", "obligations": "事项数",
    "slug": "代码", "cadence": "周期", "applies_to": "适用", "evidence": "证据要求", "source": "出处",
    "path": "路径", "code": "代码", "type": "类型", "sector": "领域", "catalog": "执行规定",
    "founded": "成立日期", "tracked_from": "启用日期", "secretary": "书记", "dissolved": "撤销日期", "has_committee": "有支委会",
    "sectors": "适用领域", "total": "标注总分", "items": "条目合计", "bar": "合格线", "warnings": "提醒",
    "id": "编号", "section": "部分", "text": "条目", "points": "分值", "auto": "自动扣分",
}


def _write(rows: list[dict[str, Any]], fmt: str) -> None:
    """Write rows as JSON (English keys, the stable form) or CSV (Chinese headings, for Excel)."""
    if fmt == "json":
        sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    out = io.StringIO()
    out.write("\ufeff")
    if rows:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([CSV_HEADINGS.get(key, key) for key in rows[0]])
        # Numbers as the table writes them: 2, not 2.0 (review).
        writer.writerows([["" if v is None else f"{v:g}" if isinstance(v, float) else v for v in row.values()] for row in rows])
    sys.stdout.write(out.getvalue())


def print_catalogs(console: Console, rules: Rules, fmt: str) -> None:
    """Print every catalog: name, title, valid from, parent and number of obligations."""
    catalogs = sorted(rules.catalogs.values(), key=lambda c: c.name)
    rows = [{"name": c.name, "title": c.title, "valid_from": c.valid_from.isoformat(), "extends": c.extends,
             "obligations": len(c.obligations)} for c in catalogs]
    if fmt != "table":
        return _write(rows, fmt)
    table = Table(title="规则集", header_style="bold")
    for heading in ("名称", "标题", "施行日期", "继承自", "事项数"):
        table.add_column(heading)
    for r in rows:
        table.add_row(r["name"], r["title"], r["valid_from"], r["extends"] or "—", str(r["obligations"]))
    console.print(table)


def print_catalog(console: Console, catalog: Catalog, fmt: str, kind_name: Callable[[str], str] | None = None) -> None:
    """Print one catalog's obligations with cadence, who owes them, evidence and source; `kind_name` names record kinds."""
    kind_names = {kind: kind_name(kind) if kind_name else kind for o in catalog.obligations for kind in o.also_counts}
    rows = [{"slug": o.slug, "name": o.name, "cadence": cadence_text(o), "applies_to": applies_text(o),
             "evidence": evidence_text(o, kind_names), "source": o.source} for o in catalog.obligations]
    if fmt != "table":
        return _write(rows, fmt)
    console.print(f"[bold]{catalog.name}[/]：{catalog.title}（施行日期 {catalog.valid_from.isoformat()}"
                  + (f"，继承 {catalog.extends}" if catalog.extends else "") + "）")
    console.print(f"出处：{catalog.source}")
    table = Table(header_style="bold", show_lines=True)
    table.add_column("代码", no_wrap=True)
    for heading in ("名称", "周期", "适用", "证据要求", "出处"):
        table.add_column(heading, overflow="fold")
    for r in rows:
        table.add_row(r["slug"], r["name"], r["cadence"], r["applies_to"], r["evidence"] or "—", r["source"])
    console.print(table)


def print_orgs(console: Console, index: OrgIndex, orgs: list[OrgRow], default_catalog: str, fmt: str,
               root: str | None = None) -> None:
    """Print organizations with their effective catalog, sector and 启用日期 (above `tables.TABLE_LIMIT`, counts per unit below
    `root`); `org export` writes their own values.

    JSON gives a vacant secretary's post as `secretary` null and `secretary_vacant` true, and
    `has_committee` as stored (null: derived from the roster); CSV writes them as the import reads them.
    """
    if fmt == "json":
        return _write([{"path": o.path, "code": o.code, "type": o.type, "sector": index.sector_of(o),
                        "catalog": index.catalog_of(o, default_catalog), "founded": o.founded,
                        "tracked_from": index.tracked_from_of(o), "secretary": None if o.secretary_vacant else o.secretary,
                        "secretary_vacant": o.secretary_vacant, "has_committee": o.has_committee, "dissolved": o.dissolved}
                       for o in orgs], fmt)
    rows = [{"path": o.path, "code": o.code, "type": o.type, "sector": index.sector_of(o),
             "catalog": index.catalog_of(o, default_catalog), "founded": o.founded, "tracked_from": index.tracked_from_of(o),
             "secretary": "（空缺）" if o.secretary_vacant else o.secretary,
             "has_committee": None if o.has_committee is None else "是" if o.has_committee else "否", "dissolved": o.dissolved}
            for o in orgs]
    if fmt != "table":
        return _write(rows, fmt)
    tables.print_listing(console, rows, lambda: _orgs_table(rows), lambda: tables.counts_table(
        f"党组织（{len(rows)} 个）", rows, itemgetter("path"), root,
        [("党组织", tables.every), ("党支部", lambda r: r["type"] == "党支部"), ("书记空缺", lambda r: r["secretary"] == "（空缺）")],
        orgs=None, ranked=False), "个")


def _orgs_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"党组织（{len(rows)} 个）", header_style="bold")
    for heading in ("路径", "代码", "类型", "领域", "执行规定", "启用日期", "书记"):
        table.add_column(heading, overflow="fold")
    for r in rows:
        # One dissolved is still listed (its records are kept): said, or an emptied township read as one still at work (try-out).
        gone = f"（{r['dissolved'].isoformat()} 撤销）" if r["dissolved"] else ""
        # From when it is checked (its own 启用日期 or a superior's), as the README said the table showed (try-out).
        table.add_row(r["path"] + gone, r["code"] or "", r["type"], r["sector"] or "", r["catalog"],
                      r["tracked_from"].isoformat() if r["tracked_from"] else "", r["secretary"] or "")
    return table


def print_overdue_summary(console: Console, findings: list[Finding], root: str | None = None) -> None:
    """Print, per organization, how many items are missed, invalid and due (paths relative to `root`)."""
    per_org: dict[str, Counter[str]] = {}
    for f in findings:
        per_org.setdefault(f.org, Counter())[f.status] += 1
    if not per_org:
        return
    table = Table(title="各党组织汇总", header_style="bold")
    for heading in ("党组织", "逾期未完成", "无效", "待完成"):
        table.add_column(heading)
    for org, counts in sorted(per_org.items(), key=lambda item: (-item[1]["missed"], -item[1]["invalid"], path_order(item[0]))):
        table.add_row(tables.shown_path(org, root), str(counts["missed"]), str(counts["invalid"]), str(counts["due"]))
    console.print(table)


def print_sheet(console: Console, sheet: Any, warnings: list[str], rules: Rules, fmt: str) -> None:
    """Print one scoring sheet: its items (number, section, text, points, automatic deductions), vetoes, bar and warnings.

    JSON gives the whole sheet as one object; CSV one row per item, as a table for Excel.
    """
    from compliance.scoring import FLAG_WORDS

    owed = {name: {ob.slug for ob in c.every_obligation()} | {ob.counts for ob in c.every_obligation() if ob.counts}
            for name, c in sorted(rules.catalogs.items())}

    def auto_words(item: Any) -> str:
        rule = item.auto
        if rule is None:
            return ""
        names = "、".join(rules.kind_name(slug) for slug in rule.obligations)
        said = [f"{names}：每期逾期未完成扣 {rule.per_missed:g} 分", f"无效扣 {rule.per_invalid:g} 分"]
        if rule.per_flag:
            said.append(f"{'、'.join(FLAG_WORDS.get(f, f) for f in rule.flags)}每项扣 {rule.per_flag:g} 分")
        # Obligations a catalog does not have are never deducted from where it is in force (try-out: 大党委会议).
        lacking = [name for name, slugs in owed.items() if not slugs.intersection(rule.obligations)]
        note = "（现有规则集均无此事项，不会自动扣分）" if len(lacking) == len(owed) else f"（规则集 {'、'.join(lacking)} 无此事项）" if lacking else ""
        return "，".join(said) + note

    items = [{"id": i.id, "section": i.section, "text": i.text, "points": i.points, "auto": auto_words(i)} for i in sheet.items]
    if fmt == "json":
        whole = {"name": sheet.name, "title": sheet.title, "source": sheet.source, "total": sheet.total, "items_total": sheet.max_points,
                 "bar": sheet.bar, "sections": [{"name": x.name, "points": x.points} for x in sheet.sections], "items": items,
                 "vetoes": [{"key": v.key, "text": v.text} for v in sheet.vetoes], "warnings": warnings}
        sys.stdout.write(json.dumps(whole, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt == "csv":
        return _write(items, fmt)
    table = Table(title=f"{sheet.name}：{sheet.title}", header_style="bold")
    for heading in ("编号", "部分", "条目", "分值", "自动扣分"):
        table.add_column(heading, overflow="fold", no_wrap=heading in ("编号", "分值"))
    for row in items:
        table.add_row(row["id"], row["section"], row["text"], f"{row['points']:g}", row["auto"] or "—（检查组评定）")
    console.print(table)
    console.print("各部分：" + "，".join(f"{x.name} {x.points:g} 分" for x in sheet.sections)
                  + f"；标注总分 {sheet.total:g}，条目合计 {sheet.max_points:g}", markup=False, soft_wrap=True)
    if sheet.bar is not None:
        console.print(f"合格线：{sheet.bar:g} 分，且无一票否决情形", markup=False)
    for v in sheet.vetoes:
        console.print(f"一票否决：{v.text}（deduct --veto {v.key}）", markup=False, soft_wrap=True)
    console.print(f"来源：{sheet.source}", markup=False, soft_wrap=True)
    for w in warnings:
        console.print(f"提醒：{w}", style="yellow", markup=False, soft_wrap=True)


def print_sheets(console: Console, rows: list[dict[str, Any]], fmt: str) -> None:
    """Print the scoring sheets: name, title, sectors, published total, items' total, bar, warnings."""
    if fmt != "table":
        return _write(rows, fmt)
    table = Table(title="考核评分表", header_style="bold")
    for heading in ("名称", "标题", "适用领域", "标注总分", "条目合计", "合格线", "提醒"):
        table.add_column(heading, overflow="fold", no_wrap=heading == "名称")      # the name --sheet takes: whole
    for r in rows:
        # A sheet of no sector is chosen for none: by --sheet, or as a catalog's default sheet.
        table.add_row(r["name"], r["title"], r["sectors"] or "不自动选用（用 --sheet 或规则集指定）", f"{r['total']:g}", f"{r['items']:g}",
                      "—" if r["bar"] is None else f"{r['bar']:g}", str(r["warnings"]) if r["warnings"] else "")
    console.print(table)
