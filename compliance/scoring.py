"""Pure scoring: findings + scoresheet + manual deductions -> scores, grades, vetoes, ranks.

No database and no printing. Each item scores its maximum less its deductions, never below 0;
automatic deductions come from findings (a missed or invalid period, an evidence flag) on the
item's obligations; inspectors add manual ones. The total keeps the sheet's published figures
(a sheet may add up to 102 or 98); the grade is read off the total as it stands.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Iterable

from compliance.evaluate import Finding, path_order
from obligations.scoresheet import Grading, Sheet, SheetItem

STATUS_WORDS = {"missed": "逾期未完成", "invalid": "无效"}
FLAG_WORDS = {"unsigned": "未签字", "no_attendance": "未记应到或实到人数", "incomplete_evidence": "材料不全",
              "late_entry": "逾期录入", "wrong_date": "时间不符", "no_quorum": "人数不足"}


@dataclass(frozen=True)
class Deduction:
    """Points taken off one item, with the reason; `auto` when it came from a finding."""

    item: str
    points: float
    reason: str
    auto: bool = False


@dataclass(frozen=True)
class ItemScore:
    item: SheetItem
    deductions: tuple[Deduction, ...]
    score: float
    self_score: float | None = None     # the branch's own score, on sheets that have one

    @property
    def deducted(self) -> float:
        return round(self.item.points - self.score, 2)


@dataclass(frozen=True)
class SectionScore:
    name: str
    points: float
    score: float


@dataclass(frozen=True)
class Score:
    """One organization's score on one sheet for one assessment period."""

    org_id: int
    org: str
    sheet: str
    period: str
    items: tuple[ItemScore, ...]
    sections: tuple[SectionScore, ...]
    total: float
    max_total: float
    grade: str
    vetoes: tuple[str, ...]
    qualified: bool | None      # None when the sheet has no bar
    self_total: float | None = None
    rank: int | None = None
    group: str = ""             # the township the unit is ranked in


def auto_deductions(sheet: Sheet, findings: Iterable[Finding]) -> list[Deduction]:
    """Return the deductions findings make on the sheet's automatic items."""
    by_obligation: dict[str, list[SheetItem]] = defaultdict(list)
    for item in sheet.items:
        if item.auto:
            for slug in item.auto.obligations:
                by_obligation[slug].append(item)
    result = []
    for f in findings:
        for item in by_obligation.get(f.obligation, ()):
            rule = item.auto
            assert rule is not None
            who = f" {f.group or f.member}" if f.group or f.member else ""
            if f.status in STATUS_WORDS:
                points = rule.per_missed if f.status == "missed" else rule.per_invalid
                if points:
                    result.append(Deduction(item.id, points, f"{f.name}{who} {f.period} {STATUS_WORDS[f.status]}", True))
            elif f.status == "met" and rule.per_flag:
                for flag in f.flags:
                    if flag in rule.flags:
                        result.append(Deduction(item.id, rule.per_flag, f"{f.name}{who} {f.period} {FLAG_WORDS.get(flag, flag)}", True))
    return result


def _points_left(points: float, deductions: Iterable[Deduction]) -> float:
    return round(max(0.0, points - sum(d.points for d in deductions)), 2)


def score_org(sheet: Sheet, grading: Grading, org_id: int, org: str, period: str, findings: Iterable[Finding],
              manual: Iterable[Deduction] = (), vetoes: Iterable[str] = (), self_assessed: Iterable[Deduction] = ()) -> Score:
    """Return the score of one organization: items, sections, total, grade, vetoes and the bar.

    On a sheet with self scores (武进), `self_assessed` are the branch's own deductions: each
    item then has a self score beside the assessment score, and the sheet a self total.
    """
    deductions: dict[str, list[Deduction]] = defaultdict(list)
    for d in [*auto_deductions(sheet, findings), *manual]:
        deductions[d.item].append(d)
    own: dict[str, list[Deduction]] = defaultdict(list)
    for d in self_assessed:
        own[d.item].append(d)
    items = tuple(
        ItemScore(item, tuple(deductions[item.id]), _points_left(item.points, deductions[item.id]),
                  _points_left(item.points, own[item.id]) if sheet.self_score else None)
        for item in sheet.items
    )
    sections = tuple(
        SectionScore(s.name, s.points, round(sum(i.score for i in items if i.item.section == s.name), 2)) for s in sheet.sections
    )
    total = round(sum(i.score for i in items), 2)
    veto_texts = tuple(dict.fromkeys(vetoes))
    qualified = None if sheet.bar is None else (total >= sheet.bar and not veto_texts)
    self_total = round(sum(i.self_score or 0 for i in items), 2) if sheet.self_score else None
    # A veto (一票否决) decides the grade too: 优秀 beside 不合格 contradicted itself, and counted among the 优秀 (try-out).
    grade = grading.bands[-1][0] if veto_texts else grading.grade(total)
    return Score(org_id, org, sheet.name, period, items, sections, total, sheet.max_points, grade, veto_texts, qualified, self_total)


def rank(scores: Iterable[Score]) -> list[Score]:
    """Return scores ranked within their group (township) and sheet, highest first, a vetoed branch after every other; ties
    share a rank.

    A veto (一票否决) fails the branch whatever its points: ranked by them, two vetoed branches
    with full marks came first, and the ranking decides 先进 and 后进 (try-out, review). Branches are
    ranked among those one sheet assesses, as they are graded (DOMAIN): a 两新 branch's 98.9 of 100 ranked
    above a 机关 branch's 98 of the grid sheet's 98 (try-out).
    """
    groups: dict[tuple[str, str], list[Score]] = defaultdict(list)
    for s in scores:
        groups[s.group, s.sheet].append(s)
    result: list[Score] = []
    for group in sorted(groups):
        ordered = sorted(groups[group], key=lambda s: (bool(s.vetoes), -s.total, path_order(s.org)))
        for i, s in enumerate(ordered):
            before = ordered[i - 1]
            place = i + 1 if i == 0 or (s.total, bool(s.vetoes)) != (before.total, bool(before.vetoes)) else result[-1].rank
            result.append(replace(s, rank=place))
    return result


def quota_warnings(scores: list[Score], grading: Grading) -> list[str]:
    """Return warnings where the grades break the quotas: too many 优秀, or 一般+差 outside the band."""
    if not scores:
        return []
    n = len(scores)
    counts: dict[str, int] = defaultdict(int)
    for s in scores:
        counts[s.grade] += 1
    warnings = []
    for grade, share in grading.max_share:
        if counts[grade] > share * n:
            warnings.append(f"{grade} {counts[grade]} 个，占 {counts[grade] / n:.0%}，超过 {share:.0%} 的比例")
    if grading.low_grades:
        low = sum(counts[g] for g in grading.low_grades)
        lo, hi = grading.low_share - grading.low_tolerance, grading.low_share + grading.low_tolerance
        # Whole units, each end of the band to the nearest: among 6 units (0.3–0.9) 0 or 1 is "about 10%", among 14
        # (0.7–2.1) 1 or 2; rounded outwards, 0 and 3 of 14 (21%) had passed (try-out).
        fewest, most = math.floor(lo * n + 0.5), math.floor(hi * n + 0.5)
        if not fewest <= low <= most:
            names = "、".join(grading.low_grades)
            should = f"{fewest}" if fewest == most else f"{fewest}–{most}"
            warnings.append(f"{names}共 {low} 个，占 {low / n:.0%}，不在 {grading.low_share:.0%} 左右（{n} 个单位中应为 {should} 个）")
    return warnings
