"""The organization tree in memory: naming organizations, inheritance, roster facts.

Built from plain rows the store returns; no SQL here.
"""

from __future__ import annotations

import difflib
import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterable, Iterator, NamedTuple

from compliance.errors import NotFound
from compliance.evaluate import COMMITTEE_MIN_FULL_MEMBERS, MemberRef, OrgFacts, path_order
from obligations.cadence import year_before


@dataclass(frozen=True)
class OrgRow:
    """An organization as stored."""

    id: int
    code: str | None
    name: str
    parent_id: int | None
    path: str
    type: str
    sector: str | None
    catalog: str | None
    founded: date | None
    tracked_from: date | None
    dissolved: date | None
    secretary: str | None
    secretary_vacant: bool
    has_committee: bool | None


# Why a member leaves a roster: their membership moved elsewhere (组织关系转出), death, leaving the
# Party (开除、除名、劝退、退党), 停止党籍 (a member long out of touch: seed 004's 失联党员), or another.
LEAVE_REASONS = ("转出", "去世", "出党", "停止党籍", "其他")


class MemberRow(NamedTuple):
    """A member as stored (a named tuple: a province has a million)."""

    id: int
    org_id: int
    name: str
    group_name: str | None
    status: str
    mobile: bool
    joined: date | None
    liaison: str | None = None
    born: date | None = None
    gender: str | None = None
    left_on: date | None = None
    left_reason: str | None = None
    arrived_on: date | None = None

    def on_roster(self, day: date) -> bool:
        """Return whether the member is on the roster on `day`: arrived by then, not yet left (they leave on their day)."""
        return (self.left_on is None or day < self.left_on) and (self.arrived_on is None or self.arrived_on <= day)

    def counted_from(self) -> date | None:
        """Return the day the member's months count from here: their 入党日期, or the first month that began on this roster."""
        arrived = self.arrived_on
        if arrived is None:
            return self.joined
        start = arrived if arrived.day == 1 else (arrived.replace(day=28) + timedelta(days=4)).replace(day=1)
        return max(start, self.joined) if self.joined else start


NEAR_SHOWN = 5         # candidates a "not found" names
SAME_SHOWN = 10        # organizations of one name an ambiguous name lists (a county has 400 第一党支部)


def candidates(found: Iterable[OrgRow]) -> str:
    """Return the paths of the organizations an ambiguous name may mean, at most `SAME_SHOWN` of them and how many there are.

    `status --org 第一党支部` in a county printed some 400 paths on one line, 31 KB (try-out).
    """
    paths = sorted(r.path for r in found)
    shown = "、".join(paths[:SAME_SHOWN])
    return shown if len(paths) <= SAME_SHOWN else f"{shown}等{len(paths)}个"


class OrgIndex:
    """Finds organizations by code, path or unique name, and walks the tree."""

    def __init__(self, rows: Iterable[OrgRow]):
        self.by_id = {r.id: r for r in rows}
        self.by_code = {r.code: r for r in self.by_id.values() if r.code}
        self.by_path = {r.path: r for r in self.by_id.values()}
        self.by_name: dict[str, list[OrgRow]] = defaultdict(list)
        for r in self.by_id.values():
            self.by_name[r.name].append(r)
        self._by_folded_code: dict[str, list[OrgRow]] | None = None

    @staticmethod
    def clean(ref: str) -> str:
        """Return `ref` as `find` reads it: without the spaces and slashes around it."""
        return ref.strip().strip("/")

    @staticmethod
    def slashed(ref: str) -> str:
        """Return `ref` with full-width slashes (／, as a Chinese input method types them) as "/": what `find` tries when `ref` names none."""
        return OrgIndex.clean(ref.replace("／", "/"))

    def find(self, ref: str) -> OrgRow | None | list[OrgRow]:
        """Return the organization `ref` names, None when none, or the candidates when ambiguous.

        Only organizations whose code, path or name is `ref` (or `slashed(ref)`), or whose path ends with "/" + it,
        bear on the answer (`Store.index_around` reads just those). A name may hold a full-width slash itself.
        """
        found = self._find(self.clean(ref))
        if found is None and "／" in ref:
            found = self._find(self.slashed(ref))
        return found

    def _find(self, ref: str) -> OrgRow | None | list[OrgRow]:
        if ref in self.by_code:
            return self.by_code[ref]
        if ref in self.by_path:
            return self.by_path[ref]
        if "/" in ref:
            candidates = [r for p, r in self.by_path.items() if p.endswith("/" + ref)]
        else:
            candidates = self.by_name.get(ref, [])
        if len(candidates) == 1:
            return candidates[0]
        if not candidates and ref.isascii():
            # A code typed in the other case (lw1 for LW1), when only one code reads so.
            folded = self._folded_codes().get(ref.upper(), [])
            if len(folded) == 1:
                return folded[0]
        if not candidates and "/" not in ref:
            joined = self._joined(ref)
            if joined is not None:
                return joined
        return candidates or None

    def _joined(self, ref: str) -> OrgRow | None:
        """Return the one organization whose name ends `ref` and whose superiors' names, run together, make the rest of it
        (东湖村党总支第一党支部, as offices write a branch's full name: each row was refused with a suggestion, try-out); None
        when none or more than one does."""
        found: dict[int, OrgRow] = {}
        for cut in range(1, len(ref)):
            prefix = ref[:cut]
            for r in self.by_name.get(ref[cut:], ()):
                above = ""
                parent = self.by_id.get(r.parent_id) if r.parent_id is not None else None
                while parent is not None and len(above) < len(prefix):
                    above = parent.name + above
                    parent = self.by_id.get(parent.parent_id) if parent.parent_id is not None else None
                if above == prefix:
                    found[r.id] = r
        return next(iter(found.values())) if len(found) == 1 else None

    def _folded_codes(self) -> dict[str, list[OrgRow]]:
        """Return the organizations by code in upper case, made on first use: a file's rows each look one up."""
        if self._by_folded_code is None:
            folded: dict[str, list[OrgRow]] = {}
            for code, r in self.by_code.items():
                folded.setdefault(code.upper(), []).append(r)
            self._by_folded_code = folded
        return self._by_folded_code

    def resolve(self, ref: str) -> OrgRow:
        """Return the organization `ref` names; NotFound lists the candidates when it is ambiguous."""
        found = self.find(ref)
        if isinstance(found, OrgRow):
            return found
        if found:
            raise NotFound(f"党组织「{ref}」不唯一，请用代码或完整路径指定：{candidates(found)}")
        # A name typed short (九段村 for 九段村党支部): those whose name begins with it; else those spelled near it. Either
        # way those under the parent `ref` names, when it names one they are under.
        parent, _, tail = self.slashed(ref).rpartition("/")
        # 西岭村党总支第一党支部, the path typed without its slashes, as people write it (try-out).
        typed = {ref, abbreviated(ref)} if "/" not in ref and len(ref) > 1 else set()
        joined = sorted(r.path for r in self.by_id.values() if typed and not typed.isdisjoint(unslashed(r.path)))
        near = joined or under_parent(sorted(r.path for r in self.by_id.values() if tail and r.name.startswith(tail)), parent) \
            or self.spelled_near(ref)
        hint = f"，是否是：{'、'.join(near[:NEAR_SHOWN])}{'等' if len(near) > NEAR_SHOWN else ''}" if near else ""
        raise NotFound(f"找不到党组织「{ref}」{hint}（可用代码、完整路径或唯一的名称）")

    def spelled_near(self, ref: str) -> list[str]:
        """Return the paths of the organizations whose names are spelled near `ref`'s last part (马屯村支部 for 马屯村党支部),
        those under a parent `ref` names first (朱庄村党总支/第一支部: that 党总支's 第一党支部, not every one).

        `status --org 马屯村支部` said only 找不到, where an import of the same name asked 是否是 (try-out).
        """
        parent, _, tail = self.slashed(ref).rpartition("/")
        names: dict[str, list[str]] = defaultdict(list)
        for r in self.by_id.values():
            names[r.name].append(r.path)
        return spelled_like(tail, parent, names, NEAR_SHOWN)

    def subtree(self, root: OrgRow) -> list[OrgRow]:
        """Return `root` and every organization below it, in path order (`path_order`: 第二党支部 before 第三党支部)."""
        prefix = root.path + "/"
        return sorted((r for r in self.by_id.values() if r.path == root.path or r.path.startswith(prefix)),
                      key=lambda r: path_order(r.path))

    def catalog_of(self, org: OrgRow, default: str) -> str:
        """Return the catalog `org` follows: its own, else its nearest ancestor's, else `default`."""
        return self._inherited(org, "catalog") or default

    def _inherited(self, org: OrgRow, field: str):
        row: OrgRow | None = org
        while row is not None:
            value = getattr(row, field)
            if value:
                return value
            row = self.by_id.get(row.parent_id) if row.parent_id else None
        return None

    def sector_of(self, org: OrgRow) -> str | None:
        """Return `org`'s sector, inherited from the nearest ancestor that has one."""
        return self._inherited(org, "sector")

    def tracked_from_of(self, org: OrgRow) -> date | None:
        """Return the date tracking starts for `org`: its own 启用日期, else its nearest ancestor's."""
        return self._inherited(org, "tracked_from")

    def starts_of(self, org: OrgRow) -> date | None:
        """Return the first day `org` owes anything (OrgFacts.starts): founded or tracked, the later."""
        days = [d for d in (org.founded, self.tracked_from_of(org)) if d]
        return max(days) if days else None


# A parent's type, left out when a branch is written after its village: 王圩村第二党支部 for 王圩村党总支/第二党支部.
_PARENT_TYPE = re.compile(r"(党总支|党委|党工委)$")


def dissolved_apart(old: OrgIndex, new: OrgIndex) -> tuple[list[tuple[OrgRow, list[str]]], list[tuple[OrgRow, OrgRow]]]:
    """Return what the 撤销日期 changed between the trees `old` and `new` leave at odds: each organization given one, with the
    paths of those below it still at work after it (checked still); and each whose 撤销日期 was cleared, with its nearest
    superior still dissolved (checked again, under one that is no more)."""
    changed = {o.id for o in new.by_id.values() if (old.by_id[o.id].dissolved if o.id in old.by_id else None) != o.dissolved}
    alive: dict[int, list[str]] = {}
    cleared: list[tuple[OrgRow, OrgRow]] = []
    for o in (new.by_id.values() if changed else ()):
        gone: OrgRow | None = None
        for a in _above(new, o):
            if a.id in changed and a.dissolved is not None and (o.dissolved is None or o.dissolved > a.dissolved):
                alive.setdefault(a.id, []).append(o.path)
            if gone is None and a.dissolved is not None:
                gone = a
        if o.id in changed and o.dissolved is None and gone is not None:
            cleared.append((o, gone))
    ended = sorted(((new.by_id[i], sorted(paths)) for i, paths in alive.items()), key=lambda e: e[0].path)
    return ended, sorted(cleared, key=lambda c: c[0].path)


def _above(index: OrgIndex, org: OrgRow) -> Iterator[OrgRow]:
    """Yield the organizations above `org`, nearest first."""
    row = index.by_id.get(org.parent_id) if org.parent_id else None
    while row is not None:
        yield row
        row = index.by_id.get(row.parent_id) if row.parent_id else None


def unslashed(path: str) -> tuple[str, ...]:
    """Return a path as it may be typed without its slashes: its last two parts joined, the whole of it joined, and the last
    two joined without the parent's type (王圩村第二党支部: the 党总支 is left out as often as the slash, try-out); each also
    without 党, as names are abbreviated (`abbreviated`)."""
    parts = path.split("/")
    forms = ["".join(parts[-2:]), "".join(parts)]
    if len(parts) > 1 and (village := _PARENT_TYPE.sub("", parts[-2])) and village != parts[-2]:
        forms.append(village + parts[-1])
    return tuple(forms) + tuple(short for form in forms if (short := abbreviated(form)) != form)


def abbreviated(text: str) -> str:
    """Return `text` without 党, as names are written short: 东湖村第二支部 for 东湖村第二党支部, 东湖村总支 for 东湖村党总支 (try-out)."""
    return text.replace("党", "")


def spelled_like(tail: str, parent: str, names: dict[str, list[str]], most: int) -> list[str]:
    """Return the paths (by name in `names`) of the up to `most` names spelled near `tail`, those under `parent` first
    (`under_parent`): what a name not found may mean, for `OrgIndex.resolve` and an import's `Suggestions`."""
    close = difflib.get_close_matches(tail, list(names), n=most, cutoff=0.75) if tail else []
    return under_parent(sorted(p for name in close for p in names[name]), parent)


def under_parent(paths: list[str], parent: str) -> list[str]:
    """Return those of `paths` whose parent's path ends with `parent` (a whole name: 朱庄村党总支, not 大朱庄村党总支), or all
    of them when none is or `parent` is empty."""
    if not parent:
        return paths
    under = [p for p in paths if ("/" + p.rsplit("/", 1)[0]).endswith("/" + parent)]
    if not under and "/" not in parent:
        # A parent typed short (幸福社区 for 幸福社区党委): every 第一党支部 of the street was offered (try-out).
        under = [p for p in paths if "/" in p and p.rsplit("/", 2)[-2].startswith(parent)]
    return under or paths


def org_facts(index: OrgIndex, org: OrgRow, members: list[MemberRow],
              exemptions: dict[int, list[tuple[date, date]]] | None = None, as_of: date | None = None,
              dues_from: date | None = None, late_from: date | None = None) -> OrgFacts:
    """Return what evaluation needs of `org`, given its roster (and its members' approved exemptions).

    The roster is that of `as_of` (of now when None): a member who had left it by then, or
    arrives later, counts neither as a full member nor for the party groups. Each meeting is
    judged on the full members of its day (`OrgFacts.full_on`); a committee the roster implies
    (seven full members) is owed each period that began with seven on it; a party group owes
    the periods that began after the first of its members came and before the last left. The members who came or
    left are among its members, each with their days, for the periods they owe. `dues_from` is the
    first month of the organization's dues payments (`Store.dues_starts`). The full members not yet a year in the
    Party (`OrgFacts.full_late`) are those who could be on a day from the day it starts, or from `late_from`.
    """
    def left(m: MemberRow) -> date | None:
        """Return the day `m` left, when it is known by `as_of`: a view of a day before it does not know it."""
        return m.left_on if m.left_on is not None and (as_of is None or m.left_on <= as_of) else None

    moved = [m for m in members if m.left_on is not None or m.arrived_on is not None]
    if moved:         # those who leave after `as_of` are not known to have moved then
        moved = [m for m in moved if left(m) is not None or m.arrived_on is not None]
    group_spans: tuple[tuple[str, date, date], ...] = ()
    full_arrived: tuple[date, ...] = ()
    full_left: tuple[date, ...] = ()
    if not moved:
        full = steady = sum(1 for m in members if m.status == "正式")
        has_committee = org.has_committee if org.has_committee is not None else full >= COMMITTEE_MIN_FULL_MEMBERS
        groups = tuple(sorted({m.group_name for m in members if m.group_name}))
    else:
        day = as_of or date.max
        staying = [m for m in members if (m.arrived_on is None or m.arrived_on <= day) and left(m) is None]
        full = sum(1 for m in staying if m.status == "正式")
        full_arrived = tuple(sorted(m.arrived_on for m in moved if m.status == "正式" and m.arrived_on is not None))
        full_left = tuple(sorted(gone for m in moved if m.status == "正式" and (gone := left(m)) is not None))
        steady = sum(1 for m in members if m.status == "正式" and m.arrived_on is None)
        if org.has_committee is not None:
            has_committee = org.has_committee
        else:
            # Seven on the roster on any day known: each period is then judged by its first day.
            def count(d: date) -> int:
                return steady + bisect_right(full_arrived, d) - bisect_right(full_left, d)

            days = {*full_arrived, *(d - timedelta(days=1) for d in full_left), day if as_of else date.min}
            has_committee = max(map(count, days)) >= COMMITTEE_MIN_FULL_MEMBERS
        groups = tuple(sorted({m.group_name for m in staying if m.group_name}))
        # A party group is there from the day its first member came (from the start when one of
        # them did not arrive) until the day its last left (for good when one of them stays).
        came: dict[str, date] = {}
        went: dict[str, date] = {}
        for m in members:
            if m.group_name and (m.arrived_on is None or m.arrived_on <= day):
                name = m.group_name
                came[name] = min(came.get(name, date.max), m.arrived_on or date.min)
                went[name] = max(went.get(name, date.min), left(m) or date.max)
        group_spans = tuple(sorted((name, since, went[name]) for name, since in came.items()
                                   if since != date.min or went[name] != date.max))
    # Those who may have been 预备 on a day the organization owes anything: joined within a year before it starts.
    starts = late_from or index.starts_of(org)
    since = year_before(starts) if starts is not None and starts > date.min else date.min
    full_late = tuple((m.joined, m.arrived_on or date.min, left(m) or date.max) for m in members
                      if m.joined is not None and m.joined > since and m.status == "正式")
    exemptions = exemptions or {}
    # A member who arrives after `as_of` is not there yet in a view of then.
    refs = tuple(MemberRef(m.name, m.mobile, m.joined, tuple(exemptions.get(m.id, ())), left(m), m.arrived_on)
                 for m in sorted(members, key=lambda m: m.name) if m.arrived_on is None or as_of is None or m.arrived_on <= as_of)
    return OrgFacts(
        id=org.id, path=org.path, type=org.type, sector=index.sector_of(org), founded=org.founded,
        tracked_from=index.tracked_from_of(org), dissolved=org.dissolved, has_committee=has_committee,
        secretary=None if org.secretary_vacant else org.secretary,
        full_members=full, groups=groups, members=refs, full_arrived=full_arrived, full_left=full_left, full_steady=steady,
        committee_by_roster=bool(full_arrived or full_left) and org.has_committee is None, group_spans=group_spans,
        dues_from=dues_from, full_late=full_late,
    )
