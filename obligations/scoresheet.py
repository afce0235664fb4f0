"""Scoring sheets as data (`data/scoresheets/*.toml`): sections, items, automatic deductions, vetoes.

A sheet keeps the published figures even where they do not add up (the 武进 sheet totals 102,
the grid sheet 98): `check_sheet` returns those as warnings, not errors. Errors are
`CatalogError`s naming the file, line and reason, like catalog errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obligations.catalog import SECTORS, CatalogError, _line_of_table, read_raw
from obligations.files import read_toml

SHEET_KEYS = {"name", "title", "source", "sectors", "total", "self_score", "bar", "veto", "section", "item", "note"}
ITEM_KEYS = {"id", "section", "points", "text", "source", "auto", "inferred", "note"}
AUTO_KEYS = {"obligations", "per_missed", "per_invalid", "per_flag", "flags"}
FLAGS = ("unsigned", "no_attendance", "incomplete_evidence", "late_entry", "wrong_date", "no_quorum")


@dataclass(frozen=True)
class AutoRule:
    """How findings turn into deductions on an item."""

    obligations: tuple[str, ...]
    per_missed: float = 0.2
    per_invalid: float = 0.2
    per_flag: float = 0.0
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SheetItem:
    """One scored item: its section, text, maximum points and source."""

    id: str
    section: str
    text: str
    points: float
    source: str
    auto: AutoRule | None = None
    inferred: bool = False


@dataclass(frozen=True)
class Section:
    name: str
    points: float


@dataclass(frozen=True)
class Veto:
    key: str
    text: str


@dataclass(frozen=True)
class Sheet:
    """A 100-point (as published) scoring sheet."""

    name: str
    title: str
    source: str
    sections: tuple[Section, ...]
    items: tuple[SheetItem, ...]
    total: float = 100
    sectors: tuple[str, ...] = ()
    self_score: bool = False
    bar: float | None = None
    vetoes: tuple[Veto, ...] = ()
    path: str = ""

    def item(self, item_id: str) -> SheetItem | None:
        return next((i for i in self.items if i.id == item_id), None)

    @property
    def max_points(self) -> float:
        """Return the sum of the items' points (which published sheets do not always make 100)."""
        return round(sum(i.points for i in self.items), 2)


@dataclass(frozen=True)
class Grading:
    """Grade bands (lowest score of each) and the quota check of an assessment."""

    bands: tuple[tuple[str, float], ...]
    max_share: tuple[tuple[str, float], ...] = ()
    low_grades: tuple[str, ...] = ()
    low_share: float = 0.10
    low_tolerance: float = 0.05
    source: str = ""
    # Fewer units on one sheet than this are not checked against the quotas: 40% of 3 and "about 10%" of 4 are no
    # whole numbers of branches to keep to.
    min_units: int = 5

    def grade(self, score: float) -> str:
        """Return the grade of a score: the first band whose minimum it reaches (bands sorted high to low)."""
        for name, minimum in self.bands:
            if score >= minimum:
                return name
        return self.bands[-1][0]


def load_grading(path: Path) -> Grading:
    """Return the grade bands and quotas from `data/grading.toml`."""
    _, raw = read_toml(path)
    try:
        bands = tuple(sorted(((g["name"], float(g["min"])) for g in raw["grade"]), key=lambda b: -b[1]))
        quota = raw.get("quota", {})
        return Grading(bands, tuple(quota.get("max_share", {}).items()), tuple(quota.get("low_grades", ())),
                       float(quota.get("low_share", 0.10)), float(quota.get("low_tolerance", 0.05)), raw.get("source", ""),
                       int(quota.get("min_units", 5)))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CatalogError(path, None, "格式不对：须有 [[grade]]（name 与数字 min），[quota] 的份额须是数字") from None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def read_sheet(path: Path, obligations: set[str]) -> tuple[Sheet, list[str]]:
    """Return the sheet in `path` and its warnings; raise CatalogError naming the line of the first error."""
    raw = read_raw(path)
    data, text = raw.data, raw.text

    def fail(reason: str, table: str | None = None, index: int | None = None, key: str | None = None) -> CatalogError:
        return CatalogError(path, _line_of_table(text, table, index, key), reason)

    for key in data:
        if key not in SHEET_KEYS:
            raise fail(f"未知字段 {key!r}", key=key)
    for key in ("name", "title", "source"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise fail(f"缺少字段 {key}")
    if not _number(data.get("total", 100)):
        raise fail("total 必须是非负数", key="total")
    if data.get("bar") is not None and not _number(data["bar"]):
        raise fail("bar 必须是非负数", key="bar")
    sectors = data.get("sectors", [])
    if not isinstance(sectors, list) or any(s not in SECTORS for s in sectors):
        raise fail(f"sectors 只能包含 {'、'.join(SECTORS)}", key="sectors")
    sections: list[Section] = []
    for i, sec in enumerate(data.get("section", [])):
        if not isinstance(sec, dict) or not sec.get("name") or not _number(sec.get("points")):
            raise fail(f"第 {i + 1} 个 section 须有 name 和非负的 points", "section", i)
        if any(s.name == sec["name"] for s in sections):
            raise fail(f"section「{sec['name']}」重复", "section", i, "name")
        sections.append(Section(sec["name"], float(sec["points"])))
    if not sections:
        raise fail("至少需要一个 [[section]]")
    vetoes = tuple(Veto(v["key"], v["text"]) for v in data.get("veto", []) if isinstance(v, dict) and v.get("key") and v.get("text"))
    if len(vetoes) != len(data.get("veto", [])):
        raise fail("每个 [[veto]] 须有 key 和 text", key="veto")
    items: list[SheetItem] = []
    for i, item in enumerate(data.get("item", [])):
        where = f"第 {i + 1} 个 item"
        if not isinstance(item, dict):
            raise fail(f"{where} 必须是 [[item]] 表", key="item")
        for key in item:
            if key not in ITEM_KEYS:
                raise fail(f"{where}：未知字段 {key!r}", "item", i, key)
        if not item.get("id") or not item.get("text"):
            raise fail(f"{where} 须有 id 和 text", "item", i)
        if any(x.id == item["id"] for x in items):
            raise fail(f"{where}：条目 {item['id']!r} 重复", "item", i, "id")
        if item.get("section") not in {s.name for s in sections}:
            raise fail(f"{where}：section「{item.get('section')}」不在 [[section]] 中", "item", i, "section")
        if not _number(item.get("points")):
            raise fail(f"{where}：points 必须是非负数（值：{item.get('points')!r}）", "item", i, "points")
        auto = item.get("auto")
        rule = None
        if auto is not None:
            if not isinstance(auto, dict) or set(auto) - AUTO_KEYS:
                raise fail(f"{where}：auto 只能包含 {', '.join(sorted(AUTO_KEYS))}", "item", i, "auto")
            unknown = [o for o in auto.get("obligations", []) if o not in obligations]
            if not auto.get("obligations") or unknown:
                raise fail(f"{where}：auto.obligations 须列出已知事项（未知：{'、'.join(unknown) or '空'}）", "item", i, "auto")
            bad_flags = [f for f in auto.get("flags", []) if f not in FLAGS]
            if bad_flags:
                raise fail(f"{where}：未知的问题标记 {'、'.join(bad_flags)}", "item", i, "auto")
            if any(not _number(auto.get(k, 0)) for k in ("per_missed", "per_invalid", "per_flag")):
                raise fail(f"{where}：每项扣分必须是非负数", "item", i, "auto")
            rule = AutoRule(tuple(auto["obligations"]), float(auto.get("per_missed", 0.2)), float(auto.get("per_invalid", 0.2)),
                            float(auto.get("per_flag", 0.0)), tuple(auto.get("flags", ())))
        items.append(SheetItem(str(item["id"]), item["section"], item["text"], float(item["points"]),
                               item.get("source") or f"{data['source']} {item['id']}", rule, bool(item.get("inferred"))))
    if not items:
        raise fail("至少需要一个 [[item]]")
    sheet = Sheet(data["name"], data["title"], data["source"], tuple(sections), tuple(items), float(data.get("total", 100)),
                  tuple(sectors), bool(data.get("self_score")), data.get("bar"), vetoes, str(path))
    return sheet, sheet_warnings(sheet)


def sheet_warnings(sheet: Sheet) -> list[str]:
    """Return where the published figures do not add up, and which points were inferred."""
    warnings = []
    for section in sheet.sections:
        got = round(sum(i.points for i in sheet.items if i.section == section.name), 2)
        if got != section.points:
            warnings.append(f"「{section.name}」标注 {section.points:g} 分，条目合计 {got:g} 分（保留原文分值）")
    if round(sum(s.points for s in sheet.sections), 2) != sheet.total:
        warnings.append(f"各部分标注合计 {sum(s.points for s in sheet.sections):g} 分，总分标注 {sheet.total:g} 分")
    if sheet.max_points != sheet.total:
        warnings.append(f"条目合计 {sheet.max_points:g} 分，不是 {sheet.total:g} 分（保留原文分值）")
    for item in sheet.items:
        if item.inferred:
            warnings.append(f"条目 {item.id} 的分值 {item.points:g} 为推定（原文缺失）")
    fed: dict[str, list[str]] = {}
    for item in sheet.items:
        for slug in item.auto.obligations if item.auto else ():
            fed.setdefault(slug, []).append(item.id)
    for slug, ids in fed.items():
        if len(ids) > 1:
            warnings.append(f"事项 {slug} 同时计入条目 {'、'.join(ids)}，一次缺失会重复扣分")
    return warnings


@dataclass
class SheetSet:
    """Every sheet in a folder, with its warnings."""

    sheets: dict[str, Sheet] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    shared: dict[str, list[str]] = field(default_factory=dict)     # a sector two or more sheets claim: their names

    def shared_text(self, sector: str) -> str:
        """Return why no sheet is chosen for `sector`: which sheets claim it."""
        names = self.shared[sector]
        paths = "、".join(f"{n}（{self.sheets[n].path}）" for n in names)
        return (f"评分表 {paths} 都按领域适用于{sector}：一个领域只能有一份；只给部分党组织用的评分表请去掉 sectors，"
                "由其规则集的 default_sheet 或 score --sheet 选用")


def load_sheets(folder: Path, obligations: set[str]) -> SheetSet:
    """Return every sheet in `folder`; duplicate names are an error."""
    found = SheetSet()
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        sheet, warnings = read_sheet(path, obligations)
        if sheet.name in found.sheets:
            raise CatalogError(path, None, f"评分表名称 {sheet.name!r} 与 {found.sheets[sheet.name].path} 重复")
        # A sector's sheet is chosen by its sectors; with two, the file names' order chose one for every
        # branch of it. Only scoring is stopped (`pick_sheet`), not every command that loads the rules.
        for other in found.sheets.values():
            for sector in sheet.sectors:
                if sector in other.sectors:
                    found.shared.setdefault(sector, [other.name]).append(sheet.name)
        found.sheets[sheet.name] = sheet
        found.warnings[sheet.name] = warnings
    return found
