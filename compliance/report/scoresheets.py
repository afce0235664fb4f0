"""A period's scores as files to print, sign and send on: `score --out`.

The table and JSON of `score` were the team's own view: the sheet of one branch, item by item,
was printed to the terminal alone, and `--format csv` had the totals (try-out). A team hands each
branch its 得分表 and sends the county a summary; so a workbook (得分汇总, and 得分明细 with every
item of every branch) and a document of one page per branch, each with lines for the signatures.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Iterator, Sequence

from compliance.assessment import period_bounds
from compliance.report.assessments import qualified_text, reasons_text, sheet_rows
from compliance.report.bulletin import XLSX_ROWS, _Workbook
from compliance.report.labels import period_label
from compliance.scoring import Score

SUMMARY_HEADERS = ["名次", "党组织", "评分表", "得分", "满分", "自评分", "等次", "合格", "一票否决", "排名范围"]
SUMMARY_WIDTHS = [6, 40, 14, 8, 8, 8, 8, 8, 30, 24]
ITEM_HEADERS = ["党组织", "条目", "考核内容", "分值", "得分", "自评", "扣分", "扣分原因"]
ITEM_WIDTHS = [36, 6, 50, 6, 6, 6, 6, 50]
WARNING_HEADERS = ["提醒"]
# A page per branch: a province's document would be tens of thousands of pages; the workbook has every branch, and
# a township's or a county's document is made whole.
DOCX_BRANCHES = 2000
SIGNATURES = "考核组成员（签字）：__________　　被考核党组织书记（签字）：__________　　日期：____年__月__日"


def stem(scope_path: str, period: str) -> str:
    """Return the name of the files, without the suffix: 考核得分-图河镇党委-2026; a scope's whole path, 考核得分-图河镇党委-
    朱庄村党总支-第一党支部-2026: two 第一党支部 of two 党总支 wrote one file (review)."""
    return f"考核得分-{scope_path.replace('/', '-')}-{period}"


# What XML (and so a DOCX) cannot hold: a Word soft line break (\v) pasted into a deduction's reason failed the whole file (review).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub(" ", text)


def period_words(period: str) -> str:
    """Return the period as a sheet's heading says it: 2026年度, 2026年上半年, 2026年第三季度."""
    if period.isdigit():
        return f"{period}年度"
    if period[5:6].upper() == "Q":
        return f"{period[:4]}年第{period_label(period, int(period[:4]))}"      # 2026年第三季度
    return period_label(period)


def summary_rows(scores: Sequence[Score], shown: Any) -> Iterator[list[Any]]:
    """Yield the summary's rows: numbers as numbers, so that the workbook sums and sorts them."""
    for s in scores:
        yield [s.rank if s.rank is not None else "—", shown(s.org), s.sheet, s.total, s.max_total,
               s.self_total if s.self_total is not None else "", s.grade, qualified_text(s), "；".join(s.vetoes), f"{s.group}，同一评分表"]


def item_rows(scores: Sequence[Score], shown: Any) -> Iterator[list[Any]]:
    """Yield every item of every branch's sheet, deducted or not: the sheet as it is filled in."""
    for s in scores:
        org = shown(s.org)
        for i in s.items:
            own = i.self_score if i.self_score is not None else ""
            yield [org, i.item.id, i.item.text, i.item.points, i.score, own, i.deducted or "", reasons_text(i)]


def write_score_xlsx(scores: Sequence[Score], warnings: Sequence[str], path: Path, title: str, author: str,
                     shown: Any, sheet_limit: int = XLSX_ROWS) -> Path:
    """Write the scores as a workbook: 得分汇总, 得分明细 (going on in 「得分明细（续1）」 past `sheet_limit` rows), 提醒."""
    book = _Workbook(path)
    book.table(book.table_sheet("得分汇总", SUMMARY_HEADERS, SUMMARY_WIDTHS), summary_rows(scores, shown), sheet_limit)
    book.table(book.table_sheet("得分明细", ITEM_HEADERS, ITEM_WIDTHS), item_rows(scores, shown), sheet_limit)
    if warnings:
        book.table(book.table_sheet("提醒", WARNING_HEADERS, [120]), ([w] for w in warnings), sheet_limit)
    book.close({"title": title, "author": author})
    return path


def _rows(s: Score, own: bool) -> list[list[str]]:
    """Return the texts of a branch's table, row by row: the header, then the sheet (`assessments.sheet_rows`)."""
    return [["条目", "考核内容", "分值", "得分", *(["自评"] if own else []), "扣分原因"], *sheet_rows(s)]


def _table_template(doc: Any, rows: list[list[str]], widths: list[float]) -> Any:
    """Return a branch's table made with python-docx, to be copied for every branch of the same sheet.

    Made cell by cell, a document of 1,876 branches took 129 s, most of it python-docx finding
    and adding elements (cProfile); with a copy of the first branch's table, its texts
    replaced, 11.0 s (the demo's township repeated, one after the other on one machine).
    """
    from docx.shared import Cm

    table = doc.add_table(rows=0, cols=len(widths))
    table.style = "Table Grid"
    table.autofit = False
    for n, texts in enumerate(rows):
        cells = table.add_row().cells
        if len(texts) == 1:
            cells = [cells[0].merge(cells[-1])]
        for cell, text in zip(cells, texts):
            cell.text = _xml(text)
            if n == 0 or len(texts) == 1:
                cell.paragraphs[0].runs[0].bold = True
    for column, width in zip(table.columns, widths):
        column.width = Cm(width)
    for row, texts in zip(table.rows, rows):
        if len(texts) == 1:
            row.cells[0].width = Cm(sum(widths))        # one cell merged across: its own width was the last column's (review)
            continue
        for cell, width in zip(row.cells, widths):
            cell.width = Cm(width)
    element = table._tbl
    element.getparent().remove(element)
    return element


def _filled(template: Any, rows: list[list[str]]) -> Any:
    """Return a copy of `template` with the texts of `rows`, cell by cell."""
    from copy import deepcopy

    from docx.oxml.ns import qn

    table = deepcopy(template)
    tr, tc, p, r, t = qn("w:tr"), qn("w:tc"), qn("w:p"), qn("w:r"), qn("w:t")
    space = "{http://www.w3.org/XML/1998/namespace}space"
    for row, texts in zip(table.iterchildren(tr), rows):
        for cell, text in zip(row.iterchildren(tc), texts):
            paragraph = cell.find(p)
            run = paragraph.find(r)
            if run is None:
                run = paragraph.makeelement(r, {})
                paragraph.append(run)
            node = run.find(t)
            if node is None:
                node = run.makeelement(t, {})
                run.append(node)
            node.text = _xml(text)
            node.set(space, "preserve")
    return table


def write_score_docx(scores: Sequence[Score], path: Path, titles: dict[str, str], author: str,
                     until: date | None = None) -> Path:
    """Write one page per branch: the sheet's title, the branch and period, every item with its deductions, the total, signatures.

    `titles` names each sheet (village-2020: 村（社区）党建观摩、检查、测评得分表). `until` is the day a period not
    yet over was scored as of: a sheet printed before the period's end says so.
    """
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml.ns import qn
    from docx.shared import Mm, Pt

    doc = Document()
    for section in doc.sections:
        # A4, and narrower margins than a notice's: the sheet's table is the page.
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin, section.left_margin, section.right_margin = Mm(20), Mm(20), Mm(20), Mm(20)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = _xml(f"{author} 考核得分表"), _xml(author), _xml(author)
    props.comments = props.keywords = props.subject = props.category = ""
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    style.font.size = Pt(10.5)
    when = f"（截至{until.isoformat()}，周期尚未结束）" if until is not None else ""
    templates: dict[tuple[str, bool, int], Any] = {}
    for n, s in enumerate(scores):
        own = s.self_total is not None
        title = doc.add_paragraph()
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if n:
            title.paragraph_format.page_break_before = True
        run = title.add_run(_xml(titles.get(s.sheet, s.sheet)))
        run.bold = True
        run.font.size = Pt(16)
        # The whole path: a page handed over on its own said 第一党支部 of which 党总支 (try-out of the first version).
        # The sheet is the page's title: 评分表：village-2020 was the program's name for it (try-out).
        info = doc.add_paragraph(_xml(f"被考核党组织：{s.org}　　考核周期：{period_words(s.period)}{when}"))
        rows = _rows(s, own)
        key = (s.sheet, own, len(rows))
        if key not in templates:
            templates[key] = _table_template(doc, rows, [1.3, 7.5 if own else 8.7, 1.2, 1.2, *([1.2] if own else []), 4.6])
        info._p.addnext(_filled(templates[key], rows))
        total = f"合计得分：{s.total:g}（满分{s.max_total:g}）" + (f"，自评{s.self_total:g}" if own else "") + f"　　等次：{s.grade}"
        if s.qualified is not None:
            total += f"　　{qualified_text(s)}"
        if s.rank is not None:
            total += f"　　名次：第{s.rank}名（在{s.group}按本评分表考核的党支部中）"
        doc.add_paragraph(_xml(total)).runs[0].bold = True
        if s.vetoes:
            doc.add_paragraph(_xml("一票否决：" + "；".join(s.vetoes)))
        signatures = doc.add_paragraph()
        signatures.add_run().add_break(WD_BREAK.LINE)
        signatures.add_run(SIGNATURES)
    if not scores:
        doc.add_paragraph("没有党支部的得分。")
    doc.save(path)
    return path


def write_scores(scores: Sequence[Score], warnings: Sequence[str], out: Path, scope_path: str, period: str, day: date,
                 titles: dict[str, str], shown: Any) -> list[Path]:
    """Write the scores as of `day` into folder `out`: the workbook, and the document of a page per branch up to `DOCX_BRANCHES`.

    A file this call began is removed when it fails part way (a full disk, Ctrl-C): a workbook
    without its rows read as a whole one. Above `DOCX_BRANCHES`, a document of the same name
    written before is removed: it stood beside the new workbook as if it were its own (review).
    """
    out.mkdir(parents=True, exist_ok=True)
    name, scope_name = stem(scope_path, period), scope_path.rsplit("/", 1)[-1]
    xlsx, docx = out / f"{name}.xlsx", out / f"{name}.docx"
    title = f"{scope_name} {period_words(period)}考核得分"
    begun: list[Path] = []
    try:
        begun.append(xlsx)
        files = [write_score_xlsx(scores, warnings, xlsx, title, scope_name, shown)]
        begun.append(docx)
        if len(scores) <= DOCX_BRANCHES:
            ended = day > period_bounds(period)[1]
            files.append(write_score_docx(scores, docx, titles, scope_name, None if ended else day))
        else:
            docx.unlink(missing_ok=True)
    except BaseException:
        for path in begun:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass
        raise
    return files
