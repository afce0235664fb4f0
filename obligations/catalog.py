"""Catalogs: obligations as data, loaded from `data/catalogs/*.toml` and checked.

A catalog names its obligations (slug, cadence, who owes them, what evidence a record needs,
and the source of the rule). A catalog may `extends` another: it inherits every obligation,
overrides an inherited one field by field by repeating its slug, and removes one with `drop`.
Errors are values with a place: `CatalogError` carries the file, the line and the reason.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, TypeVar

from obligations.cadence import (
    WINDOWS,
    CalendarCadence,
    Cadence,
    DatedCadence,
    Period,
    TermCadence,
)
from obligations.files import CatalogError, read_toml
from obligations.workdays import WorkdayCalendar

T = TypeVar("T")
CADENCES = ("monthly", "quarterly", "half_yearly", "yearly", "dated", "term")
ORG_TYPES = ("县委", "乡镇党委", "街道党工委", "党委", "党总支", "党支部")
SECTORS = ("农村", "社区", "两新", "机关", "事业单位", "国企")
QUORUMS = ("full_members", "committee")
# A quorum's share written as a fraction: those present must be more than it of those due.
# "2/3": more than two thirds (超过); ">=2/3", "≥2/3" or "2/3以上": two thirds or more (以上 includes the number).
SHARE = re.compile(r"\s*(>=|≥)?\s*([1-9])\s*/\s*([1-9]|10)\s*(以上)?\s*")
EVIDENCE_FIELDS = ("topic", "photos", "attendees", "recorder", "lecturer", "hours", "counterpart")
PER = ("org", "group", "member")
MEMBER_FILTERS = ("all", "mobile")

CATALOG_KEYS = {"name", "title", "valid_from", "extends", "source", "drop", "late_entry", "default_sheet", "obligation"}
OBLIGATION_KEYS = {
    "slug", "name", "cadence", "window", "days", "shift_to_workday", "years", "years_by_sector",
    "per", "members", "org_types", "sectors", "requires_committee", "quorum", "quorum_share", "signatures",
    "require", "source", "note", "counts", "also_counts", "lecturer", "lead_days", "min_hours", "arrears_months", "quarterly_by",
    "from_joining_month",
}


@dataclass(frozen=True)
class Kind:
    """A kind of record and obligation from the vocabulary (`data/kinds.toml`)."""

    slug: str
    name: str
    aliases: tuple[str, ...] = ()
    derived: bool = False        # a finding worked out from other records (the six-month watch), never a record's kind
    measure: str | None = None   # the 整改措施 of a missed period of this kind, where holding it again is not the remedy


@dataclass(frozen=True)
class Obligation:
    """One recurring obligation of a catalog."""

    slug: str
    name: str
    cadence: str
    source: str
    window: str | None = None
    days: tuple[int, ...] = ()
    shift_to_workday: bool = False
    years: int = 0
    years_by_sector: tuple[tuple[str, int], ...] = ()
    per: str = "org"
    members: str = "all"
    org_types: tuple[str, ...] = ("党支部",)
    sectors: tuple[str, ...] = ()
    requires_committee: bool = False
    quorum: str | None = None
    # Present must be more than this share of those due (过半数 by default), or with a third 1, at least it.
    quorum_share: tuple[int, int, int] = (1, 2, 0)
    signatures: bool = False
    require: tuple[str, ...] = ()
    valid_from: date = date(1900, 1, 1)
    note: str = ""
    counts: str | None = None        # the kind of record that satisfies it, when not its own slug
    # Kinds of record that satisfy it too, judged by its rules: a 民主评议党员大会 is a 党员大会 (seed 003).
    also_counts: tuple[str, ...] = ()
    lecturer: str | None = None      # "secretary": only a lecture given by the branch secretary counts
    lead_days: int | None = None     # listed as upcoming, not due, until this many days before the due date
    min_hours: float | None = None   # met by the hours (学时) of the records a member attended in the period
    arrears_months: int | None = None   # a payment (its recording date) later than this after the due date does not count
    quarterly_by: str | None = None  # a record of this kind (the branch's consent) moves monthly due dates to the quarter's end
    from_joining_month: bool = False  # a member owes the month they joined in, not only whole months after
    previous: "Obligation | None" = field(default=None, repr=False)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Return the kinds of record that satisfy it: its own (or `counts`), then `also_counts`."""
        return (self.counts or self.slug, *self.also_counts)

    def term_years(self, sector: str | None) -> int:
        """Return the term length in years for an organization of `sector`."""
        return dict(self.years_by_sector).get(sector or "", self.years)

    def applies_to(self, org_type: str, sector: str | None) -> bool:
        """Return True when an organization of this type and sector owes the obligation."""
        if org_type not in self.org_types:
            return False
        return not self.sectors or sector in self.sectors


@dataclass(frozen=True)
class Catalog:
    """A named, dated set of obligations, with inheritance already applied."""

    name: str
    title: str
    valid_from: date
    source: str
    obligations: tuple[Obligation, ...]
    extends: str | None = None
    late_entry: bool = True
    default_sheet: str | None = None
    path: str = ""
    calendar: WorkdayCalendar = field(default_factory=WorkdayCalendar, repr=False, compare=False)
    # Inherited obligations `drop` removed, each with the day from which it is no longer owed: the
    # periods before that day are still judged by the rule as it was (the catalog's valid_from).
    dropped: tuple[tuple[Obligation, date], ...] = ()
    _memo: dict[Hashable, Any] = field(default_factory=dict, repr=False, compare=False)

    def every_obligation(self) -> tuple[Obligation, ...]:
        """Return the obligations in force and those dropped from a date (still owed before it), newest version of each."""
        return self.obligations + tuple(ob for ob, _ in self.dropped)

    def obligation(self, slug: str) -> Obligation | None:
        """Return the obligation with `slug`, or None when this catalog has none."""
        return next((o for o in self.obligations if o.slug == slug), None)

    def version_at(self, slug: str, start: date) -> Obligation | None:
        """Return the version of obligation `slug` (a dropped one's too) that judges a period beginning on `start`: the newest in force then."""
        found = next((o for o in self.every_obligation() if o.slug == slug), None)
        while found is not None and found.previous is not None and start < found.valid_from:
            found = found.previous
        return found

    def periods(self, obligation: Obligation, first: date, last: date) -> tuple[Period, ...]:
        """Return `obligation`'s periods overlapping the window; computed once per window, not per organization."""
        return self.memo(("periods", obligation.slug, obligation.valid_from, first, last),
                         lambda: tuple(self.cadence(obligation).periods(first, last)))

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        """Return what `make()` returns, made once per `key` for this catalog (its periods, and what evaluation derives from them)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = make()
            return value

    def cadence(self, obligation: Obligation) -> Cadence:
        """Return the cadence object that generates `obligation`'s periods."""
        if obligation.cadence == "dated":
            return DatedCadence(obligation.days, self.calendar, obligation.shift_to_workday)
        if obligation.cadence == "term":
            return TermCadence(obligation.years)
        return CalendarCadence(obligation.cadence, obligation.window)


KIND_KEYS = frozenset({"slug", "name", "aliases", "derived", "measure"})


def load_kinds(path: Path) -> dict[str, Kind]:
    """Return the vocabulary of kinds by slug.

    Raises CatalogError naming the file, line and reason for a syntax error, an unknown field, a
    missing slug or name, and a slug, name or alias given twice: a second 「党课」 would take the
    word over, and records typed 党课 would count for nothing.
    """
    raw = read_raw(path)
    tables = raw.data.get("kind")
    if not isinstance(tables, list) or not tables:
        raise CatalogError(path, None, "没有任何 [[kind]]（记录类型）")
    kinds: dict[str, Kind] = {}
    words: dict[str, str] = {}

    def error(reason: str, index: int, key: str | None) -> CatalogError:
        return CatalogError(path, _line_of_table(raw.text, "kind", index, key), reason)

    for i, k in enumerate(tables):
        for key in k:
            if key not in KIND_KEYS:
                raise error(f"第 {i + 1} 个 kind：未知字段 {key!r}（可用：{'、'.join(sorted(KIND_KEYS))}）", i, key)
        for key in ("slug", "name"):
            if not isinstance(k.get(key), str) or not k[key].strip():
                raise error(f"第 {i + 1} 个 kind：缺少字段 {key}", i, key if key in k else None)
        aliases = k.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
            raise error(f"第 {i + 1} 个 kind：aliases 必须是名称的列表，如 [\"支部党员大会\"]", i, "aliases")
        slug = k["slug"]
        if slug in kinds:
            raise error(f"记录类型 {slug!r} 重复", i, "slug")
        for key, word in [("slug", slug), ("name", k["name"])] + [("aliases", a) for a in aliases]:
            owner = words.get(word)
            if owner is not None and owner != slug:
                raise error(f"「{word}」已是记录类型 {owner!r} 的名称或别名，不能再用于 {slug!r}", i, key)
            words[word] = slug
        kinds[slug] = Kind(slug, k["name"], tuple(aliases), bool(k.get("derived", False)), k.get("measure"))
    return kinds


def kind_lookup(kinds: dict[str, Kind]) -> dict[str, str]:
    """Return a map from every slug, name and alias of a record kind to its slug (derived kinds are no records)."""
    lookup: dict[str, str] = {}
    for kind in kinds.values():
        if kind.derived:
            continue
        for word in (kind.slug, kind.name, *kind.aliases):
            lookup[word] = kind.slug
    return lookup


def _line_of(text: str, table_index: int | None, key: str | None) -> int | None:
    """Return the 1-based line of `key` in the `table_index`-th [[obligation]] (or at top level)."""
    lines = text.splitlines()
    lo, hi = 0, len(lines)
    headers = [i for i, line in enumerate(lines) if line.strip() == "[[obligation]]"]
    if table_index is not None and table_index < len(headers):
        lo = headers[table_index]
        hi = headers[table_index + 1] if table_index + 1 < len(headers) else len(lines)
    elif table_index is None and headers:
        hi = headers[0]
    if key is None:
        return lo + 1
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for i in range(lo, hi):
        if pattern.match(lines[i]):
            return i + 1
    return lo + 1


def _line_of_table(text: str, table: str | None, index: int | None, key: str | None) -> int | None:
    """Return the 1-based line of `key` in the `index`-th [[table]], or among the top-level keys."""
    lines = text.splitlines()
    if table is None:
        lo = 0
    else:
        headers = [i for i, line in enumerate(lines) if line.strip() == f"[[{table}]]"]
        if index is None or index >= len(headers):
            return None
        lo = headers[index]
    hi = next((i for i in range(lo + 1, len(lines)) if lines[i].strip().startswith("[")), len(lines))
    if key is not None:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for i in range(lo, hi):
            if pattern.match(lines[i]):
                return i + 1
    return lo + 1 if table is not None else None


@dataclass
class _RawCatalog:
    path: Path
    text: str
    data: dict[str, Any]

    def error(self, reason: str, index: int | None = None, key: str | None = None) -> CatalogError:
        return CatalogError(self.path, _line_of(self.text, index, key), reason)


def read_raw(path: Path) -> _RawCatalog:
    """Parse one catalog file's TOML; a syntax error becomes a CatalogError with its line."""
    text, data = read_toml(path)
    return _RawCatalog(path, text, data)


def _did_you_mean(word: Any, known: Iterable[str]) -> str:
    """Return 「（是否应为 X？）」 for a misspelt word close to one of `known`, else ""."""
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.75)
    return f"（是否应为 {close[0]!r}？）" if close else ""


def parse_share(value: Any) -> tuple[int, int, int] | None:
    """Return a quorum share as (numerator, denominator, 1 when the share itself will do), in lowest terms; None when it is not one.

    "2/3" is more than two thirds, (2, 3, 0); ">=2/3", "≥2/3" or "2/3以上" two thirds or more,
    (2, 3, 1). The denominator is 2 to 10, and the share below one and no looser than 过半数,
    which a local rule cannot loosen (支部工作条例 第十一、十二条): "1/2以上" is refused.
    """
    m = SHARE.fullmatch(value) if isinstance(value, str) else None
    if m is None or (m.group(1) and m.group(4)):
        return None
    numerator, denominator = int(m.group(2)), int(m.group(3))
    at_least = 1 if m.group(1) or m.group(4) else 0
    if not denominator + at_least <= 2 * numerator < 2 * denominator:
        return None
    common = math.gcd(numerator, denominator)
    return numerator // common, denominator // common, at_least


def _check_top(raw: _RawCatalog) -> None:
    data = raw.data
    for key in data:
        if key not in CATALOG_KEYS:
            raise raw.error(f"未知字段 {key!r}{_did_you_mean(key, CATALOG_KEYS)}", None, key)
    if not isinstance(data.get("name"), str) or not data["name"]:
        raise raw.error("缺少字段 name（规则集名称）")
    if "valid_from" not in data:
        raise raw.error("缺少字段 valid_from（开始执行的日期，如 valid_from = 2026-01-01）")
    if isinstance(data["valid_from"], str):
        raise raw.error(f"valid_from 的值 {data['valid_from']!r} 是文字：日期不加引号，写作 valid_from = {data['valid_from']}",
                        None, "valid_from")
    if not isinstance(data.get("valid_from"), date):
        raise raw.error("valid_from 必须是日期，如 2018-10-28", None, "valid_from")
    if not data.get("source"):
        raise raw.error("缺少字段 source（规则出处）")


def _check_obligation(raw: _RawCatalog, i: int, ob: dict[str, Any], kinds: dict[str, Kind], inherited: bool) -> None:
    def fail(reason: str, key: str | None = None) -> CatalogError:
        return raw.error(f"第 {i + 1} 个 obligation：{reason}", i, key)

    for key in ob:
        if key not in OBLIGATION_KEYS:
            raise fail(f"未知字段 {key!r}{_did_you_mean(key, OBLIGATION_KEYS)}", key)
    slug = ob.get("slug")
    if slug not in kinds or kinds[slug].derived:
        named = next((k.slug for k in kinds.values() if (slug == k.name or slug in k.aliases) and not k.derived), None)
        hint = f"（「{slug}」的 slug 是 {named!r}）" if named else _did_you_mean(slug, [k for k in kinds if not kinds[k].derived])
        raise fail(f"未知的事项 slug {slug!r}{hint}（见 data/kinds.toml）", "slug")
    if not inherited:
        if "cadence" not in ob:
            raise fail(f"{slug}：缺少 cadence", None)
        if not ob.get("source"):
            raise fail(f"{slug}：缺少 source（规则出处）", None)
    checks = [
        ("cadence", lambda v: v in CADENCES, f"未知的周期 cadence{_did_you_mean(ob.get('cadence'), CADENCES)}，可用：{', '.join(CADENCES)}"),
        ("window", lambda v: v in WINDOWS, f"未知的 window，可用：{', '.join(WINDOWS)}"),
        ("days", lambda v: isinstance(v, list) and v and all(isinstance(d, int) and 1 <= d <= 28 for d in v), "days 必须是 1–28 的整数列表（每个月都有的日子）"),
        ("years", lambda v: isinstance(v, int) and v >= 1, "years 必须是正整数"),
        ("years_by_sector", lambda v: isinstance(v, dict) and all(k in SECTORS and isinstance(n, int) and n >= 1 for k, n in v.items()), "years_by_sector 的键必须是领域、值是正整数"),
        ("per", lambda v: v in PER, f"per 必须是 {', '.join(PER)} 之一"),
        ("members", lambda v: v in MEMBER_FILTERS, f"members 必须是 {', '.join(MEMBER_FILTERS)} 之一"),
        ("org_types", lambda v: isinstance(v, list) and v and all(t in ORG_TYPES for t in v), f"org_types 只能包含 {'、'.join(ORG_TYPES)}"),
        ("sectors", lambda v: isinstance(v, list) and all(s in SECTORS for s in v), f"sectors 只能包含 {'、'.join(SECTORS)}"),
        ("quorum", lambda v: v in QUORUMS, f"quorum 必须是 {', '.join(QUORUMS)} 之一"),
        ("quorum_share", lambda v: parse_share(v) is not None,
         "quorum_share 须写作小于 1 的分数，如 \"2/3\"（到会人数须超过应到人数的这一比例）或 \"2/3以上\"（达到即可）；"
         "分母 2–10；不能低于过半数"),
        ("require", lambda v: isinstance(v, list) and all(f in EVIDENCE_FIELDS for f in v), f"require 只能包含 {', '.join(EVIDENCE_FIELDS)}"),
        ("shift_to_workday", lambda v: isinstance(v, bool), "shift_to_workday 必须是 true 或 false"),
        ("counts", lambda v: v in kinds, "counts 必须是已知的记录类型（见 data/kinds.toml）"),
        ("also_counts", lambda v: isinstance(v, list) and all(isinstance(k, str) and k in kinds and not kinds[k].derived for k in v)
         and len(set(v)) == len(v),
         "also_counts 必须是已知记录类型的列表（见 data/kinds.toml），每种只写一次，如 [\"member_review\"]；[] 表示不再计入其他类型"),
        ("lecturer", lambda v: v == "secretary", "lecturer 只能是 secretary"),
        ("lead_days", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 366, "lead_days 必须是 1–366 的整数"),
        ("min_hours", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0, "min_hours 必须是正数"),
        ("arrears_months", lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 24, "arrears_months 必须是 1–24 的整数"),
        ("quarterly_by", lambda v: v in kinds, "quarterly_by 必须是已知的记录类型（见 data/kinds.toml）"),
        ("signatures", lambda v: isinstance(v, bool), "signatures 必须是 true 或 false"),
        ("requires_committee", lambda v: isinstance(v, bool), "requires_committee 必须是 true 或 false"),
        ("from_joining_month", lambda v: isinstance(v, bool), "from_joining_month 必须是 true 或 false"),
    ]
    for key, ok, reason in checks:
        if key in ob and not ok(ob[key]):
            raise fail(f"{slug}：{reason}（值：{ob[key]!r}）", key)


def _build(raw: _RawCatalog, ob: dict[str, Any], i: int, base: Obligation | None, kinds: dict[str, Kind], valid_from: date) -> Obligation:
    values: dict[str, Any] = {k: v for k, v in ob.items()}
    for key in ("days", "org_types", "sectors", "require", "also_counts"):
        if key in values:
            values[key] = tuple(values[key])
    if "years_by_sector" in values:
        values["years_by_sector"] = tuple(sorted(values["years_by_sector"].items()))
    if "quorum_share" in values:
        values["quorum_share"] = parse_share(values["quorum_share"])
    values["valid_from"] = valid_from
    if base is not None and "cadence" in values and "window" not in values:
        values["window"] = None  # a new cadence does not keep the old one's part of the year
    if base is not None and set(ob) <= {"slug", "source", "note"}:
        # Citing the local source for an unchanged rule does not make the rule start later.
        values["valid_from"] = base.valid_from
        obligation = replace(base, **values)
    elif base is not None:
        obligation = replace(base, **values, previous=base)
    else:
        values.setdefault("name", kinds[ob["slug"]].name)
        obligation = Obligation(**values)
    def fail(reason: str, key: str) -> CatalogError:
        return raw.error(f"第 {i + 1} 个 obligation：{obligation.slug}：{reason}", i, key)
    if obligation.cadence == "dated" and not obligation.days:
        raise fail("周期为 dated 时必须给出 days", "cadence")
    if "days" in ob and obligation.cadence != "dated":
        raise fail(f"days 只用于 dated 周期（每月的固定日子），周期为 {obligation.cadence} 时不起作用", "days")
    if obligation.cadence == "term" and obligation.years < 1:
        raise fail("周期为 term 时必须给出 years", "cadence")
    if obligation.window and obligation.cadence != "yearly":
        raise fail("window 只能用于 yearly 周期", "window")
    if obligation.per == "member" and obligation.cadence in ("dated", "term"):
        raise fail("按党员计的事项不能用 dated 或 term 周期", "per")
    if "quorum_share" in ob and not obligation.quorum:
        raise fail("quorum_share 只能用于有 quorum（到会人数要求）的事项", "quorum_share")
    if obligation.min_hours and obligation.per != "member":
        raise fail("min_hours 只能用于按党员计（per = \"member\"）的事项", "min_hours")
    if obligation.also_counts and (obligation.cadence == "term" or (obligation.counts or obligation.slug) == "dues"):
        raise fail("also_counts 不能用于换届（term）和党费", "also_counts")
    if (obligation.counts or obligation.slug) in obligation.also_counts:
        raise fail(f"also_counts 不必列出它自己计入的记录类型 {obligation.counts or obligation.slug!r}", "also_counts")
    if obligation.quarterly_by and obligation.cadence != "monthly":
        raise fail("quarterly_by 只能用于 monthly 周期", "quarterly_by")
    if obligation.from_joining_month and (obligation.per != "member" or obligation.cadence != "monthly"):
        raise fail("from_joining_month 只能用于按党员计（per = \"member\"）的 monthly 事项", "from_joining_month")
    return obligation


def build_catalog(raw: _RawCatalog, parent: Catalog | None, kinds: dict[str, Kind], calendar: WorkdayCalendar) -> Catalog:
    """Check one parsed catalog and return it with its parent's obligations merged in."""
    _check_top(raw)
    data = raw.data
    inherited = {o.slug: o for o in parent.obligations} if parent else {}
    order = list(inherited)
    dropped = list(parent.dropped) if parent else []
    for slug in data.get("drop", []):
        if slug not in inherited:
            raise raw.error(f"drop 中的 {slug!r} 不是继承来的事项", None, "drop")
        dropped.append((inherited.pop(slug), data["valid_from"]))
        order.remove(slug)
    seen: set[str] = set()
    obligations = dict(inherited)
    entries = data.get("obligation", [])
    if not isinstance(entries, list):
        raise raw.error("obligation 必须写成 [[obligation]] 表", None, "obligation")
    for i, ob in enumerate(entries):
        if not isinstance(ob, dict):
            raise raw.error(f"第 {i + 1} 个 obligation 必须是 [[obligation]] 表（值：{ob!r}）", None, "obligation")
        _check_obligation(raw, i, ob, kinds, ob.get("slug") in inherited)
        slug = ob["slug"]       # a known kind's slug: checked just above
        if slug in seen:
            raise raw.error(f"第 {i + 1} 个 obligation：事项 {slug!r} 重复", i, "slug")
        seen.add(slug)
        obligations[slug] = _build(raw, ob, i, inherited.get(slug), kinds, data["valid_from"])
        was = next(((old, until) for old, until in dropped if old.slug == slug), None)
        if was is not None:
            # Added again after a drop: the periods before it keep the dropped rule (up to the drop), none between.
            old, until = was
            gap = old if until >= data["valid_from"] else replace(old, org_types=(), valid_from=until, previous=old)
            obligations[slug] = replace(obligations[slug], previous=gap)
        if slug not in order:
            order.append(slug)
    return Catalog(
        name=data["name"],
        title=data.get("title", data["name"]),
        valid_from=data["valid_from"],
        source=data["source"],
        obligations=tuple(obligations[s] for s in order),
        extends=data.get("extends"),
        late_entry=bool(data.get("late_entry", parent.late_entry if parent else True)),
        default_sheet=data.get("default_sheet", parent.default_sheet if parent else None),
        path=str(raw.path),
        calendar=calendar,
        # One added again under its slug judges it, the dropped rule as its earlier version.
        dropped=tuple((ob, until) for ob, until in dropped if ob.slug not in obligations),
    )


def load_catalogs(folder: Path, kinds: dict[str, Kind], calendar: WorkdayCalendar, extra: Path | None = None) -> dict[str, Catalog]:
    """Return every catalog in `folder` (and the file `extra`, if given) by name, inheritance applied.

    Raises CatalogError for the first bad file: a syntax error, an unknown field or cadence, a
    duplicate slug or name, a missing source, an `extends` that names no catalog, or a cycle.
    """
    raws: dict[str, _RawCatalog] = {}
    paths = sorted(folder.glob("*.toml"))
    if extra is not None:
        paths = [p for p in paths if p.resolve() != extra.resolve()] + [extra]
    for path in paths:
        raw = read_raw(path)
        name = raw.data.get("name")
        if not isinstance(name, str) or not name:
            raise raw.error("缺少字段 name（规则集名称）")
        if name in raws and extra is not None and path == extra:
            # The checked file stands for the installed catalog of the same name (a new version of
            # it, edited elsewhere); in the folder beside it, both would be loaded, and every command refused.
            if extra.resolve().parent == folder.resolve():
                raise raw.error(f"规则集名称 {name!r} 与同一目录中的 {raws[name].path} 重复：新的规则集须改用新名称", None, "name")
        elif name in raws:
            raise raw.error(f"规则集名称 {name!r} 与 {raws[name].path} 重复", None, "name")
        raws[name] = raw
    built: dict[str, Catalog] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> Catalog:
        if name in built:
            return built[name]
        raw = raws[name]
        parent_name = raw.data.get("extends")
        parent = None
        if parent_name is not None:
            if parent_name in chain or parent_name == name:
                cycle = " → ".join((*chain, name, parent_name))
                raise raw.error(f"extends 形成循环：{cycle}", None, "extends")
            if parent_name not in raws:
                raise raw.error(f"extends 指向不存在的规则集 {parent_name!r}", None, "extends")
            parent = resolve(parent_name, (*chain, name))
        built[name] = build_catalog(raw, parent, kinds, calendar)
        return built[name]

    for name in raws:
        resolve(name, ())
    return built
