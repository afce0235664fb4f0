"""The rule set in force: vocabulary, working-day calendar and catalogs, loaded together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from obligations.catalog import Catalog, CatalogError, Kind, kind_lookup, load_catalogs, load_kinds
from obligations.paths import data_dir
from obligations.scoresheet import Grading, SheetSet, load_grading, load_sheets
from obligations.workdays import WorkdayCalendar, load_calendar

# A kind with a note in brackets, full-width or not: 党员大会（扩大）, 三会一课(党课).
_NOTED = re.compile(r"(.+?)[（(](.+)[)）]")
# The year a meeting was for, written before its kind: 2026年度组织生活会, 年度民主评议党员.
_YEAR = re.compile(r"(?:\d{4}年度?|本?年度)(.+)")
# Notes that say how a meeting was held, not what it was.
HOW_HELD = frozenset({"扩大", "扩大会议", "线上", "线下", "视频", "视频会议", "网络", "网上", "专题", "联合", "临时", "补开", "集中"})
# The four 三会一课 names.
THREE_MEETINGS_ONE_LECTURE = frozenset({"party_congress", "branch_committee", "group_meeting", "party_lecture"})


@dataclass(frozen=True)
class Rules:
    """Everything `data/` says: kinds by slug, the name→slug lookup, the calendar, the catalogs."""

    kinds: dict[str, Kind]
    lookup: dict[str, str]
    calendar: WorkdayCalendar
    catalogs: dict[str, Catalog]
    sheets: SheetSet
    grading: Grading
    folder: Path | None = None       # the data folder they were read from

    def kind(self, word: str) -> str | None:
        """Return the slug for a slug, Chinese name or alias (spaces ignored), or None.

        A kind with a note in brackets that says how it was held is that kind (党员大会（扩大）, 支委会（线上）), and
        三会一课 with one of its four in brackets is that one (三会一课（党课）): each was 未知的类型 (clerk's try-out).
        Other brackets name another kind as often as not (换届（延期批准）, 党费（基数核定）): they stay unknown (review).
        A year before the kind (2026年度组织生活会, 年度民主评议党员) is left out: a record counts for the period of its date.
        """
        key = word.strip().replace(" ", "")
        found = self.lookup.get(key)
        if found is None and (year := _YEAR.fullmatch(key)):
            # 2026年度组织生活会 was 未知的类型 (try-out); the period a record counts for is its date's.
            key = year.group(1)
            found = self.lookup.get(key)
        if found is None and (noted := _NOTED.fullmatch(key)):
            before, inside = noted.group(1), noted.group(2)
            if inside in HOW_HELD:
                found = self.lookup.get(before)
            elif before == "三会一课" and (one := self.lookup.get(inside)) in THREE_MEETINGS_ONE_LECTURE:
                found = one
        return found

    def counted_kinds(self) -> dict[str, set[str]]:
        """Return, by obligation slug, the kinds of record it counts in any catalog (its own slug, or the kind it counts, and
        those it also counts)."""
        kinds: dict[str, set[str]] = {}
        for catalog in self.catalogs.values():
            for ob in catalog.every_obligation():
                kinds.setdefault(ob.slug, set()).update(ob.kinds)
        return kinds

    def kinds_counted(self, catalog: str, slug: str, start: date) -> frozenset[str]:
        """Return the kinds of record that count for obligation `slug` of `catalog` in a period beginning on `start`: those of
        the version in force then (`Catalog.version_at`). For a catalog not loaded, or an obligation it does not have (an
        item opened under a catalog since changed), those it counts in any catalog (`counted_kinds`).

        A 民主评议党员大会 counts as the 党员大会 in tuhe-2021 from its date on, not under the national catalog: the union of every
        catalog named it against a national branch's 党员大会 (review).
        """
        found = self.catalogs[catalog].version_at(slug, start) if catalog in self.catalogs else None
        if found is not None:
            return frozenset(found.kinds)
        return frozenset(self.counted_kinds().get(slug, {slug}))

    def kind_name(self, slug: str) -> str:
        """Return the name users see for a record kind; a kind the vocabulary no longer (or not here) defines is shown by its slug, marked."""
        kind = self.kinds.get(slug)
        return kind.name if kind is not None else f"{slug}（规则中无此类型）"

    def sheet(self, name: str):
        """Return the scoring sheet called `name`; KeyError names the known ones."""
        try:
            return self.sheets.sheets[name]
        except KeyError:
            raise KeyError(f"没有名为「{name}」的评分表，可用：{'、'.join(sorted(self.sheets.sheets))}") from None

    def catalog(self, name: str) -> Catalog:
        """Return the catalog called `name`; KeyError names the known ones."""
        try:
            return self.catalogs[name]
        except KeyError:
            where = f"（读自 {self.folder / 'catalogs'}；其他文件夹的规则用环境变量 COMPLIANCE_DATA 指定）" if self.folder else ""
            raise KeyError(f"没有名为「{name}」的规则集，可用：{'、'.join(sorted(self.catalogs))}{where}") from None


def load_rules(folder: Path | None = None, extra_catalog: Path | None = None) -> Rules:
    """Return the rules in `folder` (default: the data folder), optionally with one more catalog file."""
    folder = folder or data_dir()
    kinds = load_kinds(folder / "kinds.toml")
    calendar = load_calendar(folder / "workdays")
    catalogs = load_catalogs(folder / "catalogs", kinds, calendar, extra_catalog)
    sheets = load_sheets(folder / "scoresheets", set(kinds))
    return Rules(kinds, kind_lookup(kinds), calendar, catalogs, sheets, load_grading(folder / "grading.toml"), folder)


@lru_cache(maxsize=4)
def default_rules(folder: str | None = None) -> Rules:
    """Return the rules of the data folder, loaded once per process."""
    return load_rules(Path(folder) if folder else None)


__all__ = ["Rules", "load_rules", "default_rules", "CatalogError"]
