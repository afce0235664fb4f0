"""Assessment scores for a scope and period: findings and inspectors' deductions on each unit's sheet."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta

from compliance.errors import ComplianceError, InputError, NotFound
from compliance.orgs import OrgIndex, OrgRow
from compliance.scoring import Deduction, Score, quota_warnings, rank, score_org
from compliance.store import Store
from compliance.tracking import Window, default_catalog
from obligations.cadence import parse_period_key
from obligations.catalog import Catalog
from obligations.rules import Rules
from obligations.scoresheet import Sheet

TOWNSHIP_TYPES = ("乡镇党委", "街道党工委")
VETO_PREFIX = "veto:"
# The grade of a branch whose roster is empty in the period: none (its points are too high to mean one).
UNGRADED = "未评定"
UNSCORED = "未考核："      # begins the warning of a branch without a sheet (the terminal lists those last)


def own_sheet(store: Store, rules: Rules, org_ref: str) -> str | None:
    """Return the name of the sheet `score` scores the organization `org_ref` on without --sheet; None when none applies."""
    index = store.index_around(org_ref)
    try:
        return pick_sheet(rules, index, index.resolve(org_ref), default_catalog(store)).name
    except (NotFound, InputError):      # no sheet of its own, or a sector two installed sheets share
        return None


def sector_sheets(rules: Rules, explicit: str) -> dict[str, str] | None:
    """Return the sheets `--sheet 机关=village-2020,社区=grid-2023` gives by sector; None when it names one sheet for all.

    A county's 机关 branches had no sheet, and `--sheet` scored every branch of the scope on the one it
    named (county try-out). Raise InputError for a pair without a sector or sheet, or a sheet not installed.
    """
    if "=" not in explicit:
        return None
    chosen: dict[str, str] = {}
    for pair in explicit.replace("，", ",").split(","):
        sector, _, name = (part.strip() for part in pair.partition("="))
        if not sector or not name:
            raise InputError(f"--sheet：「{pair.strip()}」应写作 领域=评分表名称，如 机关=village-2020（多个领域用逗号分开）")
        try:
            rules.sheet(name)
        except KeyError as exc:
            raise InputError(f"--sheet：{exc.args[0]}") from None
        if chosen.get(sector, name) != name:
            raise InputError(f"--sheet：领域「{sector}」给了两个评分表（{chosen[sector]}、{name}），只能给一个")
        chosen[sector] = name
    return chosen


def pick_sheet(rules: Rules, index: OrgIndex, org: OrgRow, fallback_catalog: str, explicit: str | None = None) -> Sheet:
    """Return the sheet for `org`: `explicit` (one sheet, or the sheet given for its sector), else its catalog's
    default sheet, else the sheet of its sector."""
    if explicit:
        chosen = sector_sheets(rules, explicit)
        if chosen is None:
            return rules.sheet(explicit)
        if (sector := index.sector_of(org)) in chosen:
            return rules.sheet(chosen[sector])
    catalog = rules.catalog(index.catalog_of(org, fallback_catalog))
    if catalog.default_sheet:
        return rules.sheet(catalog.default_sheet)
    sector = index.sector_of(org)
    if sector in rules.sheets.shared:
        raise InputError(f"「{org.path}」（领域：{sector}）：{rules.sheets.shared_text(sector)}")
    for sheet in rules.sheets.sheets.values():
        if sector in sheet.sectors:
            return sheet
    raise NotFound(f"「{org.path}」（领域：{sector or '未填'}）没有适用的评分表：请用 --sheet 指定"
                   + (f"，只为这一领域指定的写作 --sheet {sector}=评分表名称（sheet list 可查看）" if sector else ""))


def township_of(index: OrgIndex, org: OrgRow) -> str:
    """Return the path of the township (乡镇党委/街道党工委) above `org`, else of its root."""
    row: OrgRow | None = org
    top = org
    while row is not None:
        if row.type in TOWNSHIP_TYPES:
            return row.path
        top = row
        row = index.by_id.get(row.parent_id) if row.parent_id else None
    return top.path


def period_bounds(period: str) -> tuple[date, date]:
    """Return the first and last day of an assessment period: a quarter, a half year or a year."""
    try:
        first, last = parse_period_key(period)
    except ValueError:
        raise InputError(f"--period：值「{period}」不是考核周期（如 2026-Q3、2026-H1、2026）") from None
    if "-" in period and period[5] not in "QH":
        raise InputError(f"--period：值「{period}」不是考核周期（如 2026-Q3、2026-H1、2026）")
    return first, last


def unscored_items(sheet: Sheet, catalog: Catalog) -> list[str]:
    """Return the items of `sheet` deducted from automatically on obligations none of which `catalog` has (they never are)."""
    slugs = {ob.slug for ob in catalog.every_obligation()} | {ob.counts for ob in catalog.every_obligation() if ob.counts}
    return [item.id for item in sheet.items if item.auto and not slugs.intersection(item.auto.obligations)]


def _parts(period: str) -> list[str]:
    """Return the assessment periods within `period`: a year's quarters and halves, a half year's quarters."""
    if period.isdigit():
        return [f"{period}-{p}" for p in ("Q1", "Q2", "Q3", "Q4", "H1", "H2")]
    if period.endswith("-H1") or period.endswith("-H2"):
        year, half = period[:4], period[-1]
        return [f"{year}-Q{q}" for q in ((1, 2) if half == "1" else (3, 4))]
    return []


def judged_day(period: str, as_of: date | None, today: date) -> date:
    """Return the day `period` is scored as of: `as_of`, else today, or the day after the period once it is over."""
    # A period ends at midnight after its last day: judged the day after, its last month counts too.
    return as_of or min(today, period_bounds(period)[1] + timedelta(days=1))


def score_scope(store: Store, rules: Rules, under: str, period: str, sheet: str | None = None,
                as_of: date | None = None, jobs: int = 1) -> tuple[list[Score], list[str]]:
    """Return the ranked scores of every branch at or below `under` for `period`, and quota warnings.

    Each branch is scored as its findings are made, in `jobs` processes for a large scope
    (`compliance.blocks`): a province's findings are never held at once.
    """
    from compliance.blocks import summarize_orgs      # it loads multiprocessing: only when scoring

    first, last = period_bounds(period)
    day = judged_day(period, as_of, store.today())
    if day < first:
        raise InputError(f"--period：考核周期 {period} 尚未开始（判断日期 {day.isoformat()}）")
    index = store.index_around(under)
    root = index.resolve(under)
    branches = [o for o in index.subtree(root) if o.type == "党支部"]
    if not branches:
        raise NotFound(f"「{root.path}」及其下级没有党支部可以考核")
    fallback = default_catalog(store)
    warnings: list[str] = []
    # A branch that owed nothing in the period would score full marks for periods it was exempt from.
    owing = []
    for o in branches:
        start = index.starts_of(o)
        if start is not None and start > last:
            warnings.append(f"{UNSCORED}「{o.path}」{start.isoformat()} 才成立或启用，考核周期 {period} 内没有应完成的事项")
        elif o.dissolved is not None and o.dissolved < first:
            warnings.append(f"{UNSCORED}「{o.path}」已于 {o.dissolved.isoformat()} 撤销，考核周期 {period} 内没有应完成的事项")
        else:
            owing.append(o)
    if not owing:
        # Tracked only from a later 启用日期, they were said to be neither founded nor dissolved (try-out).
        later = sorted(start for o in branches if (start := index.starts_of(o)) is not None and start > last)
        why = f"：都在 {later[0].isoformat()} 或以后才成立或启用（成立日期、启用日期）" if len(later) == len(branches) else ""
        raise NotFound(f"「{root.path}」及其下级在考核周期 {period} 内没有已成立、未撤销的党支部可以考核{why}")
    branches = owing
    if sheet and (chosen := sector_sheets(rules, sheet)):      # a pair mistyped is said once, before any branch is scored
        # A sector mistyped (机构 for 机关) gave its branches no sheet, and nothing said why (review).
        present = {index.sector_of(o) for o in branches}
        for sector in sorted(set(chosen) - present):
            warnings.append(f"--sheet：范围内没有领域为「{sector}」的党支部，{sector}={chosen[sector]} 没有用上"
                            f"（范围内的领域：{'、'.join(sorted(x or '未填' for x in present))}）")
    sheets: dict[int, Sheet] = {}
    for o in branches:
        try:
            sheets[o.id] = pick_sheet(rules, index, o, fallback, sheet)
        except NotFound as exc:
            warnings.append(f"{UNSCORED}{exc}")
    branches = [o for o in branches if o.id in sheets]
    if not branches:
        raise NotFound("；".join(warnings))
    # Items a sheet scores from obligations the branches' catalog does not have are never deducted from: full marks
    # for 大党委会议 no one held, with nothing said (try-out).
    by_name = {x.name: x for x in sheets.values()}
    for sheet_name, catalog_name in sorted({(sheets[o.id].name, index.catalog_of(o, fallback)) for o in branches}):
        if unchecked := unscored_items(by_name[sheet_name], rules.catalog(catalog_name)):
            slugs = dict.fromkeys(slug for item in by_name[sheet_name].items if item.id in unchecked and item.auto
                                  for slug in item.auto.obligations)
            warnings.append(f"评分表 {sheet_name} 的条目 {'、'.join(unchecked)} 自动扣分依据的事项（{'、'.join(map(rules.kind_name, slugs))}）"
                            f"不在规则集 {catalog_name} 中，这些条目不会自动扣分：请检查组评定后登记（compliance deduct）")
    # A branch whose roster is empty owes nothing per member: scored on its meetings alone, it
    # ranked first (优秀) with nothing done. Most likely its roster was never imported.
    staffed = store.on_roster_between([o.id for o in branches], first, min(last, day))
    warnings += [f"「{o.path}」花名册上没有党员（考核周期 {period} 内）：涉及党员的事项（党员大会人数、民主评议、党费等）无从考核，"
                 "得分偏高，不评定等次、不排名次；请先导入花名册（compliance member import）" for o in branches if o.id not in staffed]
    manual: dict[int, list[Deduction]] = defaultdict(list)
    own: dict[int, list[Deduction]] = defaultdict(list)
    vetoes: dict[int, list[str]] = defaultdict(list)
    entered: dict[int, set[str]] = defaultdict(set)       # the keys of the vetoes entered
    vetoed_in_part: dict[int, str] = {}                   # a veto entered for a quarter or half of a year scored
    # Items deducted by hand in a quarter or half of the period scored and not in it: (org id, item) → periods.
    deducted_in_part: dict[tuple[int, str], list[str]] = defaultdict(list)
    deducted_here: set[tuple[int, str]] = set()
    for name in {s.name for s in sheets.values()}:
        veto_texts = {v.key: v.text for v in rules.sheet(name).vetoes}
        for row in store.deductions([o.id for o in branches if sheets[o.id].name == name], period, name):
            if row["item"].startswith(VETO_PREFIX):
                key = row["item"][len(VETO_PREFIX):]
                vetoes[row["org_id"]].append(f"{veto_texts.get(key, key)}（{row['reason']}）")
                entered[row["org_id"]].add(key)
            else:
                target = own if row["self_assessed"] else manual
                target[row["org_id"]].append(Deduction(row["item"], row["points"], row["reason"]))
                if not row["self_assessed"]:
                    deducted_here.add((row["org_id"], row["item"]))
        parts = _parts(period)
        if parts:
            # A veto or deduction entered for a quarter or half of the year is that period's: the year's score passed it
            # over, with nothing said (try-out).
            ids = [o.id for o in branches if sheets[o.id].name == name]
            for part in parts:
                for row in store.deductions(ids, part, name):
                    if row["item"].startswith(VETO_PREFIX):
                        if not vetoes[row["org_id"]]:
                            vetoed_in_part.setdefault(row["org_id"], part)
                    elif not row["self_assessed"]:
                        deducted_in_part[(row["org_id"], row["item"])].append(part)
    # Where the parts are, and what leaves them out: a year's quarters and halves, a half year's quarters.
    within, scored, this = ((f"{period} 年的季度或半年", "年度", "年度") if period.isdigit() else
                            (f"{period} 内的季度", "本次", "本期"))
    if vetoed_in_part := {org_id: part for org_id, part in vetoed_in_part.items() if not vetoes[org_id]}:
        named = [f"「{index.by_id[org_id].path}」（{part}）" for org_id, part in sorted(vetoed_in_part.items())]
        warnings.append(f"{'、'.join(named[:3])}{'等' if len(named) > 3 else ''}{len(named)}个党支部的一票否决登记在 {within}"
                        f"考核中，不计入{scored}考核；{this}也应否决的，请以 --period {period} 登记（compliance deduct --veto）")
    # Those of an item deducted in the period scored too are said no more (review: a deduction entered each quarter and for
    # the year was still pointed out, its points added up).
    apart: dict[int, list[str]] = defaultdict(list)
    for (org_id, item), parts in sorted(deducted_in_part.items()):
        if (org_id, item) not in deducted_here:
            apart[org_id].append(f"{item}（{'、'.join(dict.fromkeys(parts))}）")
    if apart:
        named = [f"「{index.by_id[org_id].path}」{'、'.join(items)}" for org_id, items in sorted(apart.items())]
        warnings.append(f"{'；'.join(named[:3])}{'等' if len(named) > 3 else ''}：{len(named)}个党支部另有登记在 {within}"
                        f"考核中的人工扣分条目，不计入本次考核；本期也应扣分的，请以 --period {period} 登记（compliance deduct）")

    def score(org_id: int, findings: list) -> Score:
        # Periods that ended within the assessment period; and an election still outstanding,
        # which fails every period until it is held.
        counted = [f for f in findings if first <= f.due <= last or ("/" in f.period and f.status == "missed" and f.due < first)]
        org = index.by_id[org_id]
        sheet_ = sheets[org_id]
        org_vetoes = list(vetoes[org_id])
        # A vacancy the roster declares is a veto of itself, unless an assessor has entered it (with its reason).
        if org.secretary_vacant and any(v.key == "secretary_vacant" for v in sheet_.vetoes) and "secretary_vacant" not in entered[org_id]:
            org_vetoes.insert(0, next(v.text for v in sheet_.vetoes if v.key == "secretary_vacant"))
        s = score_org(sheet_, rules.grading, org_id, org.path, period, counted, manual[org_id], org_vetoes, own[org_id])
        # An empty roster's points are too high to grade: it was graded 优秀 and ranked, beside the warning (review).
        return replace(s, group=township_of(index, org), grade=s.grade if org_id in staffed else UNGRADED)

    found = {s.org_id: s for s in summarize_orgs(store, rules, index, root, branches, Window(first, last, day), score, jobs=jobs)}
    ranked = rank(found[o.id] for o in branches if o.id in staffed) + [found[o.id] for o in branches if o.id not in staffed]
    groups: dict[str, list[Score]] = defaultdict(list)
    for s in ranked:
        groups[s.group].append(s)
    few: list[str] = []
    for group in sorted(groups):
        # The quotas are a township's: a scope below one (a village, one branch) holds only part of its branches.
        if root.path.startswith(group + "/"):
            if index.resolve(group).type not in TOWNSHIP_TYPES:
                continue        # no township above: the top of the tree, which may be a province
            # And so is the ranking: within the scope, one branch of fourteen was 名次 1.
            try:
                places = {s.org_id: s.rank for s in score_scope(store, rules, group, period, sheet, as_of, jobs)[0]}
            except ComplianceError as exc:
                # Another branch of the township cannot be scored (no sheet for its sector, say): no place to give.
                ranked = [replace(s, rank=None) if s.group == group else s for s in ranked]
                warnings.append(f"「{group}」的其他党支部无法一并考核（{exc}），未给出名次")
                continue
            ranked = [replace(s, rank=places.get(s.org_id)) if s.group == group else s for s in ranked]
            warnings.append(f"名次为在「{group}」按同一评分表考核的党支部中的名次")
            continue
        # Among the units one sheet assesses (DOMAIN): a township's 两新 branches are graded on a sheet of their own.
        by_sheet: dict[str, list[Score]] = defaultdict(list)
        for s in groups[group]:
            by_sheet[s.sheet].append(s)
        if len(by_sheet) > 1:
            # Two 名次 1 in one table, and nothing said why (review).
            warnings.append(f"「{group}」的党支部按 {len(by_sheet)} 张评分表考核（{'、'.join(sorted(by_sheet))}），名次按评分表分别排列")
        for name in sorted(by_sheet):
            where = f"{group}（评分表 {name}）" if len(by_sheet) > 1 else group
            # Not one with an empty roster, whose grade is said to be none (its points too high): it counted among the 优秀.
            graded = [s for s in by_sheet[name] if s.org_id in staffed]
            if not graded:
                continue
            if len(graded) < rules.grading.min_units:
                few.append(f"{where} {len(graded)} 个")
                continue
            warnings += [f"{where}：{w}" for w in quota_warnings(graded, rules.grading)]
    if few:
        # A share of a few units is no proportion: one 两新 branch graded 优秀 was 100% of its sheet (review).
        warnings.append(f"单位少于 {rules.grading.min_units} 个，未检查等次比例：{'、'.join(few)}")
    if day <= last:
        warnings.insert(0, f"考核周期 {period} 尚未结束：得分为截至 {day.isoformat()} 的情况，周期结束后可能变化")
    return ranked, warnings


def add_deduction(store: Store, rules: Rules, org_ref: str, sheet_name: str, item: str | None, veto: str | None,
                  period: str, points: float | None, reason: str, self_assessed: bool = False) -> int:
    """Record an inspector's deduction on one item (or a veto, or the branch's self-assessment) after checking every value."""
    org = store.index_around(org_ref).resolve(org_ref)
    if org.type != "党支部":
        # `score` scores branches only: a deduction elsewhere would count nowhere.
        raise InputError(f"--org：「{org.path}」是{org.type}；考核只给党支部评分，扣分请记在党支部上")
    sheet = rules.sheet(sheet_name)
    first, _ = period_bounds(period)
    if first > store.today():
        # `score` refuses a period not begun: a deduction for it could not be seen or withdrawn until then.
        raise InputError(f"--period：考核周期 {period} 尚未开始（今天 {store.today().isoformat()}）")
    if not reason or not reason.strip():
        raise InputError("--reason：扣分须写明原因")
    if veto:
        # By its key or its words on the sheet (党支部书记缺职).
        key = next((v.key for v in sheet.vetoes if veto.strip() in (v.key, v.text)), None)
        if key is None and not sheet.vetoes:
            raise InputError(f"--veto：评分表 {sheet.name} 没有一票否决情形")
        if key is None:
            known = "、".join(f"{v.key}（{v.text}）" for v in sheet.vetoes)
            raise InputError(f"--veto：值「{veto}」不是评分表 {sheet.name} 的否决情形，可用：{known}")
        # A veto is one whatever its reason: entered twice, it was listed twice on the branch's score.
        for d in store.list_deductions([org.id], period):
            if (d["sheet"], d["item"]) == (sheet.name, VETO_PREFIX + key):
                raise InputError(f"--veto：「{org.path}」{period} 已登记此否决情形（编号 {d['id']}，原因：{d['reason']}）；"
                                 f"如需更改原因，请先用 compliance deduction void {d['id']} --reason 原因 撤销后再登记")
        return store.add_deduction(org.id, sheet.name, VETO_PREFIX + key, period, 0.0, reason.strip())
    if self_assessed and (veto or not sheet.self_score):
        raise InputError(f"--self：评分表 {sheet.name} 没有自评分" if not sheet.self_score else "--self 不能与 --veto 同用")
    target = sheet.item(item or "")
    if target is None:
        raise InputError(f"--item：值「{item}」不是评分表 {sheet.name} 的条目（如 {sheet.items[0].id}）")
    if points is None:
        raise InputError(f"--points：扣分须给出分数（大于0且不超过该条目分值 {target.points:g}）")
    if not 0 < points <= target.points:
        raise InputError(f"--points：值「{points:g}」应大于0且不超过该条目分值 {target.points:g}")
    _refuse_repeat(store, org.id, sheet.name, target.id, period, float(points), reason.strip(), self_assessed)
    return store.add_deduction(org.id, sheet.name, target.id, period, float(points), reason.strip(), self_assessed)


def deduction_notes(store: Store, rules: Rules, deduction_id: int) -> list[str]:
    """Return what an assessor should know of a deduction just entered: entered silently, these were found only in the scores.

    The manual deductions of its item adding up to more than the item's points (the item scores 0,
    the rest counts nowhere); a veto of a vacant secretary for a branch whose record names one.
    """
    d = store.deduction(deduction_id)
    if d is None:
        return []
    org = store.index_around(store.org_path(d["org_id"])).by_id[d["org_id"]]
    if d["item"] == VETO_PREFIX + "secretary_vacant" and org.secretary and not org.secretary_vacant:
        return [f"提示：党组织信息中「{org.path}」的书记为 {org.secretary}，与书记缺职不符；如书记确已缺职，请在党组织信息中更正"]
    item = None if d["item"].startswith(VETO_PREFIX) else rules.sheet(d["sheet"]).item(d["item"])
    if item is None:
        return []
    if not d["self_assessed"]:
        # The findings' own deductions count on the item too: a manual 0.5 on an item the findings had taken 2.8 of 3
        # from counted 0.2, and nothing said so (county try-out).
        try:
            scores, _ = score_scope(store, rules, org.path, d["period"], d["sheet"])
        except ComplianceError:
            scores = []
        scored = next((i for s in scores for i in s.items if i.item.id == item.id), None)
        if scored is not None and (auto := round(sum(x.points for x in scored.deductions if x.auto), 2)):
            total = round(sum(x.points for x in scored.deductions), 2)
            if total > item.points:
                return [f"提示：条目 {item.id} 在 {d['period']} 的扣分合计 {total:g} 分（按督查发现自动扣分 {auto:g} 分、"
                        f"人工扣分 {round(total - auto, 2):g} 分），超过其分值 {item.points:g} 分：该条目得0分，"
                        f"超出的 {round(total - item.points, 2):g} 分不计入得分"]
            return []
    total = sum(float(e["points"]) for e in store.list_deductions([org.id], d["period"])
                if (e["sheet"], e["item"], bool(e["self_assessed"])) == (d["sheet"], d["item"], bool(d["self_assessed"])))
    if total > item.points:
        return [f"提示：条目 {item.id} 在 {d['period']} 已登记{'自评' if d['self_assessed'] else '人工'}扣分合计 {total:g} 分，"
                f"超过其分值 {item.points:g} 分：该条目得0分，超出的部分不计入得分"]
    return []


def _refuse_repeat(store: Store, org_id: int, sheet: str, item: str, period: str, points: float, reason: str, self_assessed: bool) -> None:
    """Refuse a deduction the same as one in force: run twice by mistake, it would count twice."""
    for d in store.list_deductions([org_id], period):
        if (d["sheet"], d["item"], float(d["points"]), d["reason"], bool(d["self_assessed"])) == (sheet, item, points, reason, self_assessed):
            raise InputError(f"与已登记的扣分（编号 {d['id']}）相同：同一党支部、考核周期、评分表、条目、分数和原因；"
                             "如确是另一次扣分，请在原因中写明（deduction list 可查看）")


def veto_text(rules: Rules, sheet: str, item: str) -> str:
    """Return how a veto's deduction row (item `veto:KEY`) is shown: the words of the sheet, else the key."""
    key = item[len(VETO_PREFIX):]
    try:
        return next((v.text for v in rules.sheet(sheet).vetoes if v.key == key), key)
    except (KeyError, NotFound):
        return key
