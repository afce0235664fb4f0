"""What the everyday commands ask: one organization's status, and what is overdue below one.

Each function loads the scope once (organizations, roster, records: one query each), then
hands plain values to the pure evaluator.
"""

from __future__ import annotations

import errno
import heapq
import os
import shutil
import tempfile
import time
from array import array
from bisect import bisect_left
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from pathlib import Path
from typing import BinaryIO, Callable, Collection, Iterable, Iterator, NamedTuple, Sequence

from dateutil.relativedelta import relativedelta

from compliance.errors import InputError, ScratchError, os_reason
from compliance.evaluate import (MONTH_STARTS, SEVERITY, Finding, NameLists, Paid, Record, evaluate_org, judges_dues_by_member,
                                 path_order, tally, worst_first)
from compliance.members import (ACTIVITY_KINDS, REVIEW_MONTHS, WATCH_MONTHS, WATCH_OBLIGATIONS, WATCH_SLUGS, DuesLimit, MemberInfo,
                                WatchRun, index_month, month_index, watch_runs, watch_start)
from compliance.orgs import MemberRow, OrgFacts, OrgIndex, OrgRow, org_facts
from compliance.store import Store
from compliance.store.scope import Ids, Payment, by_org, ids_of
from obligations.cadence import TermCadence, month_end, parse_period_key
from obligations.catalog import Catalog, Obligation
from obligations.rules import Rules

DEFAULT_CATALOG = "national-2018"
OVERDUE_STATUSES = ("missed", "invalid", "due")


@dataclass(frozen=True)
class Window:
    """The periods to list and the moment to judge them at."""

    first: date
    last: date
    as_of: date
    known_at: datetime | None = None
    # The month a member's run of months is counted from (its key is its first month, so a
    # supervision year keeps one); by default a year before `first`.
    watch_from: date | None = None


def year_start(day: date) -> date:
    """Return the first day of the periods a check on `day` lists: 1 January, and in January 1 December before it.

    December's periods, and the fourth quarter's, the second half's and the year's own, end on
    the year's last day: a check in December sees them still open, and one in January from its
    own 1 January would never judge them.
    """
    return date(day.year - 1, 12, 1) if day.month == 1 else date(day.year, 1, 1)


def default_catalog(store: Store) -> str:
    """Return the database's default catalog (set by `init --catalog`)."""
    return store.setting("default_catalog") or DEFAULT_CATALOG


def watch_months(store: Store) -> int:
    """Return the months after which a member is put on the watch list (关注): `init --watch-months`, 3 by default."""
    return int(store.setting("watch_months") or WATCH_MONTHS)


def _lasting_kinds(rules: Rules) -> frozenset[str]:
    """Return the record kinds read however old they are: elections and approved delays (terms), and consents."""
    kinds = {"term_delay"}
    for catalog in rules.catalogs.values():
        kinds.update(o.counts or o.slug for o in catalog.obligations if o.cadence == "term")
        kinds.update(o.quarterly_by for o in catalog.every_obligation() if o.quarterly_by)
    return frozenset(kinds)


def evaluate_orgs(store: Store, rules: Rules, index: OrgIndex, root: OrgRow, orgs: Iterable[OrgRow], window: Window,
                  progress: Callable[[int, int], None] | None = None, keep: Collection[str] | None = None) -> list[Finding]:
    """Return the findings of `orgs` (all at or below `root`) for the window, in the order of `orgs`.

    `progress(done, total)` is told as it goes; with `keep`, only findings of those statuses are made.
    """
    given = list(orgs)
    by_org_id = dict(iter_findings(store, rules, index, root, given, window, progress, keep))
    return [f for org in given for f in by_org_id[org.id]]


def iter_findings(store: Store, rules: Rules, index: OrgIndex, root: OrgRow, orgs: Iterable[OrgRow], window: Window,
                  progress: Callable[[int, int], None] | None = None, keep: Collection[str] | None = None,
                  ids: Ids | None = None, bare_met: bool = False,
                  only: Collection[str] | None = None, spans: bool = False) -> Iterator[tuple[int, list[Finding]]]:
    """Yield (organization id, its findings) for `orgs` (all at or below `root`), in id order.

    With `bare_met`, met findings come without records and flags (see `evaluate_org`). With
    `only` (obligation slugs, the watch's among them), only those obligations are judged, and
    only the records and payments they are judged on are read. With `spans`, a member's run of
    months has the months it spans as its period (see `watch_findings`).

    The scope is read with one query each for records, members, dues and exemptions, and one
    for which organizations record dues, whatever its size, streamed in organization order: only
    one organization's rows are held at a time. Records and payments are read from `_watch_since`
    on (records of lasting kinds whenever held), so that years of history cost nothing.
    With `ids` (a range of ids, first to last, or a frozenset of them, as `in_scope` takes them,
    holding the id of every one of `orgs`), only those organizations of the scope are read;
    without, the ids of `orgs` (`ids_of`).
    """
    orgs = sorted(orgs, key=lambda o: o.id)      # the order the scope's rows stream in
    if ids is None:
        ids = ids_of(o.id for o in orgs)
        if ids is None:
            return
    since = _watch_since(window)      # yearly periods and the watch look back one year; terms further
    watched = only is None or not WATCH_OBLIGATIONS.isdisjoint(only)
    kinds = None if only is None else _judged_kinds(rules, only, watched)
    records = by_org(store.scope_records(root.path, window.known_at, since, _lasting_kinds(rules), ids, kinds))
    roster = by_org(store.scope_members(root.path, ids))
    # Payments for months before `since` are judged by nothing, however many years of them there are;
    # whether an organization records dues at all, and from which month, is asked apart (`dues_starts`), of payments however old.
    dues_read = watched or "dues" in only
    payments = by_org(store.scope_dues(root.path, ids, window.as_of, window.known_at, since) if dues_read else ())
    dues_starts = store.dues_starts(root.path, ids, window.as_of, window.known_at) if dues_read else {}
    exemptions = store.scope_exemptions(root.path, ids, window.known_at)
    fallback = default_catalog(store)
    warn = watch_months(store)
    rules_of_dues: dict[str, tuple[int, str | None]] = {}     # catalog name -> its `dues_rule`
    for done, org in enumerate(orgs, start=1):
        findings: list[Finding] = []
        if progress is not None:
            progress(done, len(orgs))
        catalog = _catalog(rules, index, org, fallback)
        org_records = records.take(org.id)
        members = roster.take(org.id)
        # Dues payments are judged as they are where the catalog judges each member's own (nearly
        # always), else as monthly "dues" records of their member, recorded on the day they were
        # paid; a branch that records no dues at all is not judged on them.
        dues: dict[int, dict[str, date]] = {}
        by_member = judges_dues_by_member(catalog)
        if (paid := payments.take(org.id)):
            if by_member:
                _dues_months(paid, dues)
            else:
                org_records.extend(_dues_records(org.id, paid, members, dues))
        by_name: Paid | None = {} if by_member else None
        if by_name is not None and dues:
            for m in members:
                if m.id in dues:
                    by_name.setdefault(m.name, []).append((m.id, dues[m.id]))
        dues_from = dues_starts.get(org.id)
        records_dues = dues_from is not None
        facts = org_facts(index, org, members, exemptions, window.as_of, dues_from)
        skip = [] if records_dues else ["dues"]
        if only is not None:
            skip.extend(o.slug for o in catalog.every_obligation() if o.slug not in only)
        names: NameLists = {}       # its attendance lists, split once for its hours and its watch
        findings.extend(evaluate_org(catalog, facts, org_records, window.first, window.last, window.as_of, keep,
                                     skip=skip, bare_met=bare_met, paid=by_name, names=names))
        if members and watched:
            infos = [MemberInfo(m.id, org.id, org.path, m.name, m.status, m.mobile, m.liaison, m.joined,
                                tuple(exemptions.get(m.id, ())), m.counted_from() if m.arrived_on else None) for m in members
                     if (m.left_on is None or window.as_of < m.left_on) and (m.arrived_on is None or m.arrived_on <= window.as_of)]
            runs = watch_runs(infos, org_records, dues, {org.id} if records_dues else set(), window.as_of,
                              watch_start(window.watch_from or since, facts.starts), warn,
                              dues_limit(rules_of_dues.get(catalog.name) or rules_of_dues.setdefault(catalog.name, dues_rule(catalog)),
                                         org_records) if dues else None, names, dues_starts)
            findings.extend(f for f in watch_findings(rules, org, runs, window, spans=spans)
                            if (keep is None or f.status in keep) and (only is None or f.obligation in only))
        yield org.id, findings


def dues_rule(catalog: Catalog) -> tuple[int, str | None]:
    """Return the arrears limit in months of `catalog`'s dues judged per member (0: none), and the kind of record that is consent to payment by quarter."""
    ob = next((o for o in catalog.every_obligation() if (o.counts or o.slug) == "dues" and o.per == "member"), None)
    return (ob.arrears_months or 0, ob.quarterly_by) if ob is not None else (0, None)


def dues_limit(rule: tuple[int, str | None], records: list[Record]) -> DuesLimit | None:
    """Return the `DuesLimit` of a `dues_rule` for an organization's members (None: the rule has no limit).

    A member's consent to payment by quarter is looked for among `records` (the organization's,
    of the consent's kind among them) only when one of their payments is late.
    """
    months, kind = rule
    if not months:
        return None

    def consent_from(name: str) -> date | None:
        return min((r.held_on for r in records if r.kind == kind and r.member in (None, "", name)), default=None) if kind else None

    return DuesLimit(months, consent_from)


def _judged_kinds(rules: Rules, only: Collection[str], watched: bool) -> frozenset[str] | None:
    """Return the record kinds the obligations `only` are judged on (every version of them); None when that is every kind (学时).

    With `watched`, the kinds the watch counts as taking part are among them, and the consents
    to payment of dues by quarter, which move the day a payment is too late (`dues_limit`).
    """
    kinds = {"term_delay", *(ACTIVITY_KINDS if watched else ())}
    if watched:
        kinds.update(o.quarterly_by for catalog in rules.catalogs.values() for o in catalog.every_obligation() if o.quarterly_by)
    for catalog in rules.catalogs.values():
        for newest in catalog.every_obligation():
            ob: Obligation | None = newest
            while ob is not None:
                if ob.slug in only:
                    if ob.min_hours:
                        return None     # a member's hours add up over records of every kind
                    kinds.update(ob.kinds)
                    if ob.quarterly_by:
                        kinds.add(ob.quarterly_by)
                ob = ob.previous
    return frozenset(kinds)


def _dues_months(paid: Iterable[Payment], dues: dict[int, dict[str, date]]) -> None:
    """Gather each member's months paid (month -> day paid) in `dues`, in one loop."""
    for _, member_id, month, paid_on in paid:
        months = dues.get(member_id)
        if months is None:
            months = dues[member_id] = {}
        months[month] = paid_on


def _dues_records(org_id: int, paid: list[Payment], members: Iterable[MemberRow], dues: dict[int, dict[str, date]]) -> list[Record]:
    """Return an organization's dues payments as monthly "dues" records of their members, and gather each member's months paid in `dues`.

    A payment is a record of its member held on its month's first day and recorded the day it
    was paid: what a catalog that does not judge dues by member (`judges_dues_by_member`) is
    given. Each is made as a plain tuple (a named tuple's own __new__ is a Python call).
    """
    _dues_months(paid, dues)
    names = {m.id: m.name for m in members}
    starts, new = MONTH_STARTS, tuple.__new__
    # Record's fields: id, org_id, kind, held_on, recorded_on, eight of a meeting's, member, five lists.
    return [new(Record, (-member_id, org_id, "dues", starts[month], paid_on, None, None, None, None, None, None, None, None,
                         names.get(member_id), None, None, None, None, None)) for _, member_id, month, paid_on in paid]


def org_path(store: Store, org_ref: str) -> str:
    """Return the full path of the organization `org_ref` names."""
    return store.index_around(org_ref).resolve(org_ref).path


def org_status(store: Store, rules: Rules, org_ref: str, window: Window) -> list[Finding]:
    """Return one organization's findings, in obligation and period order."""
    index = store.index_around(org_ref)
    org = index.resolve(org_ref)
    return evaluate_orgs(store, rules, index, org, [org], window)


class AloneRecord(NamedTuple):
    """A record judged by itself (`record_alone`)."""

    findings: list[Finding]                    # of its organization's periods that list it
    expected_unlike_roster: tuple[int, int] | None   # (应到, full members on the roster) of a meeting whose quorum counts them, when they differ
    not_mobile: tuple[str, str] | None = None  # (member, obligation) of a record only mobile members owe, naming one who is not mobile
    alone_in_talk: str | None = None           # the member of a 谈心谈话 that names no counterpart: it counts for them alone
    not_owed: bool = False                     # a kind the catalog asks of some organizations, which this one does not owe
    record: Record | None = None               # the record judged
    # Of each period (obligation, period key) the record is short of the quorum for: (实到, 应到 judged against, whether that is
    # the roster's full members (no 应到 entered), the share asked).
    short_of: dict[tuple[str, str], tuple[int, int, bool, tuple[int, int, int]]] = {}
    # The first day its organization owes anything (founded or tracked), when the record was held before it and counts for
    # nothing: a year mistyped (2016 for 2026) was logged without a word (try-out).
    before_start: date | None = None


def record_alone(store: Store, rules: Rules, record_id: int, as_of: date) -> AloneRecord:
    """Return the findings the current version of record `record_id` makes by itself of its organization's periods, from its year (in January, from last December: `year_start`) to `as_of`.

    What a secretary who has just logged it needs to hear: whether it counts, whatever other
    records of the same period say. Only findings that list the record are returned. A
    meeting whose quorum is counted against full members and whose 应到 is not the roster's
    full members of its day is pointed out: the quorum is judged on the 应到 written down.
    """
    store.record_versions(record_id)          # NotFound when there is none
    return dict(records_alone(store, rules, [record_id], as_of)).get(record_id, AloneRecord([], None))


def records_alone(store: Store, rules: Rules, record_ids: Iterable[int], as_of: date) -> Iterator[tuple[int, AloneRecord]]:
    """Yield (record id, `record_alone` of it) for those of `record_ids` that are current, organization by organization.

    Each organization's records, roster and exemptions are read once, whatever number of its records is asked about.
    """
    orgs = store.record_orgs(record_ids)
    wanted: dict[int, set[int]] = {}
    for record_id, org_id in orgs.items():
        wanted.setdefault(org_id, set()).add(record_id)
    fallback = default_catalog(store)
    unrelated: dict[tuple[str, str], frozenset[str]] = {}      # by catalog name and record kind
    for org_id in sorted(wanted):
        index = store.index_of(org_id)
        org = index.by_id[org_id]
        ids = (org.id, org.id)
        mine = [r for _, records in store.scope_records(org.path, None, None, (), ids) for r in records if r.id in wanted[org_id]]
        members = [m for _, rows in store.scope_members(org.path, ids) for m in rows]
        # Its records may be from before it starts: every member's 入党日期 counts for a meeting's full members.
        facts = org_facts(index, org, members, store.scope_exemptions(org.path, ids), as_of, late_from=date.min)
        catalog = _catalog(rules, index, org, fallback)
        # An election is judged against the one before it (and the delays approved): alone, it began a term of its own,
        # and one held months late was 已登记 without a word, 逾期换届 in every list after (try-out).
        terms = {ob.counts or ob.slug for ob in catalog.every_obligation() if ob.cadence == "term"}
        before = ([r for _, records in store.scope_records(org.path, None, None, (), ids, terms | {"term_delay"}) for r in records]
                  if any(r.kind in terms for r in mine) else [])
        for record in sorted(mine, key=lambda r: r.id):
            key = (catalog.name, record.kind)
            if key not in unrelated:
                unrelated[key] = _unrelated(catalog, record.kind)
            context = [r for r in before if r.id != record.id and (r.held_on < record.held_on or r.kind == "term_delay")] \
                if record.kind in terms else []
            yield record.id, _alone(catalog, facts, members, record, as_of, unrelated[key], context)


def _alone(catalog: Catalog, facts: OrgFacts, members: list[MemberRow], record: Record, as_of: date,
           unrelated: frozenset[str], context: Sequence[Record] = ()) -> AloneRecord:
    """Judge `record` by itself (with `context`: an election's earlier elections and approved delays)."""
    # From its year's periods, and in January last December's too: a 固定学习日 held on 5 January falls to 20 December's.
    # An election, from the one before it: a term that ended in an earlier year was not judged, and a late election
    # held in April 2027 for a term ended in 2026 was 已登记 without a word (review).
    first = min([year_start(record.held_on), *(r.held_on for r in context if r.kind == record.kind)])
    found = evaluate_org(catalog, facts, [record, *context], first, as_of, as_of, skip=unrelated)
    short = None
    # The full members of the meeting's day: on its roster, and full by then, as the import's 应到 counts them (转正 a year
    # after joining); today's full members made the 应到 the import had just derived "below the roster" (review).
    full = facts.full_on(record.held_on)
    # An 应到 above the roster (a typo: 30 for 3) or below it (the quorum is judged on it): either way worth checking.
    if record.expected is not None and full and record.expected != full and any(
            ob.quorum == "full_members" and record.kind in ob.kinds for ob in catalog.obligations):
        short = (record.expected, full)
    member = record.member
    not_mobile = None
    if member is not None and not any(m.mobile for m in members if m.name == member):
        owed = [ob for ob in catalog.obligations if ob.members == "mobile" and record.kind in ob.kinds]
        if owed:
            not_mobile = (member, owed[0].name)
    alone = member if record.kind == "heart_talk" and member is not None and not record.counterpart else None
    listed = [f for f in found if record.id in f.records]
    short_of = {}
    for lacking in listed:
        if "no_quorum" in lacking.flags and record.present is not None:
            ob = catalog.version_at(lacking.obligation, parse_period_key(lacking.period)[0])
            if ob is not None:
                due, roster = (record.expected, False) if record.expected is not None else (full, True)
                short_of[(lacking.obligation, lacking.period)] = (record.present, due, roster, ob.quorum_share)
    # A 支委会 of a branch without a committee, a 党小组会 of one without groups: owed by others, counted for nothing here.
    counted_by = {ob.slug for ob in catalog.obligations if record.kind in ob.kinds}
    not_owed = bool(counted_by) and not listed and not_mobile is None and not any(f.obligation in counted_by for f in found)
    # An election before then starts the term judged, and a consent to pay dues by quarter moves the periods after it
    # (`_lasting_kinds`): they count, though listed by no period of their year (review).
    lasting = record.kind == "term_delay"
    for newest in catalog.every_obligation():
        ob: Obligation | None = newest
        while ob is not None and not lasting:
            lasting = (ob.cadence == "term" and (ob.counts or ob.slug) == record.kind) or ob.quarterly_by == record.kind
            ob = ob.previous
    early = facts.starts if facts.starts is not None and record.held_on < facts.starts and not listed and not lasting else None
    return AloneRecord(listed, short, not_mobile, alone, not_owed, record, short_of, early)


def _unrelated(catalog: Catalog, kind: str) -> frozenset[str]:
    """Return the slugs of the obligations no version of which a record of `kind` can bear on: judging them alone lists nothing of it.

    An obligation bears on the records it counts, the consent (quarterly_by) that moves its dates,
    every record for a member's hours, and, for a committee term, its approved delays.
    """
    related = set()
    for newest in catalog.every_obligation():
        ob: Obligation | None = newest
        while ob is not None:
            if kind in ob.kinds or kind == ob.quarterly_by or ob.min_hours or ob.cadence == "term":
                related.add(newest.slug)
            ob = ob.previous
    return frozenset(o.slug for o in catalog.every_obligation() if o.slug not in related)


def _catalog(rules: Rules, index: OrgIndex, org: OrgRow, fallback: str) -> Catalog:
    """Return the catalog `org` follows; an InputError naming it when that catalog is unknown."""
    try:
        return rules.catalog(index.catalog_of(org, fallback))
    except KeyError as exc:
        raise InputError(f"党组织「{org.path}」：{exc.args[0]}") from None


def terms_untracked(store: Store, rules: Rules, index: OrgIndex, orgs: Iterable[OrgRow]) -> list[OrgRow]:
    """Return those of `orgs` whose committee term their catalog asks for but cannot be followed: no 成立日期 and no election on record.

    A term is chained from the founding or from an election (`evaluate._terms`); with neither, it
    is left out of every view, which a user would take for nothing owed.
    """
    fallback = default_catalog(store)
    owing: dict[int, tuple[OrgRow, set[str]]] = {}
    for org in orgs:
        if org.founded is not None:
            continue
        try:
            catalog = rules.catalog(index.catalog_of(org, fallback))
        except KeyError:
            continue
        kinds = {ob.counts or ob.slug for ob in catalog.obligations
                 if ob.cadence == "term" and ob.applies_to(org.type, index.sector_of(org))}
        if kinds:
            owing[org.id] = (org, kinds)
    if not owing:
        return []
    held = store.orgs_with_kinds(owing, {kind for _, kinds in owing.values() for kind in kinds})
    return sorted((org for org_id, (org, _) in owing.items() if org_id not in held), key=lambda o: path_order(o.path))


def terms_lapsed(store: Store, rules: Rules, index: OrgIndex, orgs: Iterable[OrgRow]) -> list[tuple[OrgRow, date]]:
    """Return those of `orgs` whose first committee term, counted from their 成立日期, ended before today with no election
    on record, each with the day it ended. Just imported, every such organization was 逾期未完成 at the first `overdue`
    without a word at the import (migration try-out)."""
    fallback = default_catalog(store)
    today = store.today()
    owing: dict[int, tuple[OrgRow, set[str], date]] = {}
    for org in orgs:
        if org.founded is None:
            continue
        try:
            catalog = rules.catalog(index.catalog_of(org, fallback))
        except KeyError:
            continue
        terms = [ob for ob in catalog.obligations if ob.cadence == "term" and ob.applies_to(org.type, index.sector_of(org))]
        term = TermCadence(terms[0].term_years(index.sector_of(org))).term(org.founded) if terms else None
        if term is not None and term.due < today:
            owing[org.id] = (org, {ob.counts or ob.slug for ob in terms}, term.end)
    if not owing:
        return []
    held = store.orgs_with_kinds(owing, {kind for _, kinds, _ in owing.values() for kind in kinds})
    return sorted(((org, due) for org_id, (org, _, due) in owing.items() if org_id not in held), key=lambda pair: path_order(pair[0].path))


def overdue(store: Store, rules: Rules, under: str | None, window: Window, jobs: int = 1,
            keep: Collection[str] = OVERDUE_STATUSES, only: Collection[str] | None = None) -> list[Finding]:
    """Return missed, invalid and due findings (those of `keep`) at or below `under` (every root when None), worst first.

    With `jobs` above 1, a large scope is evaluated in that many processes (`compliance.blocks`);
    with `only`, only those obligations are judged (`iter_findings`).
    """
    from compliance.blocks import summarize_orgs     # it builds on this module

    index = store.index_around(under)
    findings: list[Finding] = []
    for root in _roots(index, under):
        for found in summarize_orgs(store, rules, index, root, index.subtree(root), window,
                                    _as_tuples if jobs > 1 else _as_they_are, keep=keep, jobs=jobs, only=only):
            findings.extend(found if jobs <= 1 else map(Finding._make, found))
    return worst_first(findings)


# A scratch file of `overdue_runs` holds its findings' text in `overdue`'s order, in groups of
# one sort key: severity, due day (its ordinal) and the rank of its organization's path, made
# one integer (room for 100 million organizations).
KEY_SEVERITY = 10 ** 15
KEY_DUE = 10 ** 8
# Files merged at once, far below the usual limit of 1,024 open files; more are merged in rounds.
MERGE_FAN_IN = 64
# Bytes read from a scratch file at once.
COPY_SIZE = 1 << 20
SCRATCH_PREFIX = "compliance-overdue-"
# A scratch folder left behind by a command that was killed, untouched this long, is removed by the next.
STALE_SECONDS = 3600


def scratch_error(exc: OSError, folder: Path | str | None = None) -> ScratchError:
    """Return the one-line error for temporary files that could not be made or written (in `folder`)."""
    reason = os_reason(exc)
    where = f"临时文件夹 {folder}" if folder else "临时文件夹"
    advice = "" if exc.errno in (errno.EMFILE, errno.ENFILE) else \
        "（清单的临时文件约与输出一样大；可将环境变量 TMPDIR 设为空间足够的文件夹后重试）"
    return ScratchError(f"无法写入{where}：{reason}{advice}")


@contextmanager
def scratch_folder() -> Iterator[Path]:
    """Yield a new temporary folder for `overdue_runs` (in TMPDIR), removed afterwards.

    A command killed before it could remove its folder (by SIGTERM, SIGKILL or the kernel's
    out-of-memory killer) leaves it behind: the folder's name holds its process id, and a later
    command removes the folders of processes that are gone, once untouched for `STALE_SECONDS`.
    """
    try:
        temp = Path(tempfile.gettempdir())
        _sweep(temp)
        scratch = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=temp)
    except OSError as exc:
        raise scratch_error(exc) from None
    with scratch as folder:
        yield Path(folder)


def _sweep(temp: Path) -> None:
    """Remove the scratch folders in `temp` of processes that are gone, untouched for `STALE_SECONDS`; skip what cannot be."""
    if os.name != "posix":      # os.kill(pid, 0) ends the process on Windows
        return
    for folder in temp.glob(SCRATCH_PREFIX + "*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            if time.time() - folder.stat().st_mtime >= STALE_SECONDS:
                shutil.rmtree(folder)
        except OSError:
            continue        # another user's, or removed meanwhile


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True         # another user's process
    return True


@dataclass(frozen=True)
class Run:
    """A scratch file of `overdue_runs`, and where each group of its findings (those of one sort key) ends.

    `keys` are the groups' sort keys, strictly increasing; `ends` the byte offset after each
    group. No two files hold the same key: an organization's findings are all in one file.
    """

    path: Path
    keys: array
    ends: array

    def start(self, group: int) -> int:
        """Return the byte offset where `group` begins."""
        return self.ends[group - 1] if group else 0


def overdue_runs(store: Store, rules: Rules, under: str | None, window: Window, line: Callable[[Finding], str],
                 folder: Path, jobs: int = 1, end: str = "\n", keep: Collection[str] = OVERDUE_STATUSES,
                 only: Collection[str] | None = None) -> list[Run]:
    """Write the findings `overdue` returns (with `keep` and `only`) as `line` makes them, each followed by `end`, into files in `folder`; return them.

    Each block of organizations (`compliance.blocks`) is sorted worst first where it is
    evaluated, a worker process when `jobs` is above 1, and written to a file of its own with
    the sort key of each group of its findings: `merged_bytes` copies the files' groups in
    `overdue`'s order. A province's findings (2,234,733 of them at 50,000 branches) are then
    neither sent back to this process nor held in it, and neither are their lines: the merge
    copies stretches of bytes. A scope evaluated in this process is one block. A file that
    cannot be written is a `ScratchError`.
    """
    from compliance.blocks import map_blocks     # it builds on this module

    index = store.index_around(under)
    rank = {o.id: i for i, o in enumerate(sorted(index.by_id.values(), key=lambda o: path_order(o.path)))}
    runs: list[Run] = []
    for root in _roots(index, under):
        def work(block: list[OrgRow], ids: Ids | None, _whole: bool, root: OrgRow = root) -> Iterator[Run]:
            found = [f for _, fs in iter_findings(store, rules, index, root, block, window, None, keep, ids=ids, only=only)
                     for f in fs]
            if found:
                yield _scratch_run(folder, worst_first(found), rank, line, end)

        runs.extend(map_blocks(store, index, root, index.subtree(root), work, jobs))
    return runs


def _scratch_run(folder: Path, findings: list[Finding], rank: dict[int, int], line: Callable[[Finding], str], end: str) -> Run:
    """Write `findings` (worst first) to a new file in `folder` as `line` makes them, each followed by `end`; return it as a `Run`."""
    severity = SEVERITY
    keys, ends = array("q"), array("q")
    try:
        handle, name = tempfile.mkstemp(dir=folder, suffix=".txt")
        with open(handle, "wb") as out:
            written = 0
            for key, group in groupby(findings, lambda f: severity[f.status] * KEY_SEVERITY + f.due.toordinal() * KEY_DUE
                                      + rank[f.org_id]):
                written += out.write((end.join(map(line, group)) + end).encode())
                keys.append(key)
                ends.append(written)
    except OSError as exc:
        raise scratch_error(exc, folder.parent) from None
    return Run(Path(name), keys, ends)


def merged_bytes(runs: list[Run], folder: Path, fan_in: int = MERGE_FAN_IN) -> Iterator[bytes]:
    """Return the bytes of the files `overdue_runs` wrote, in the order `overdue` gives their findings.

    Each file is in order and no two hold the same key, so the merge copies from the file with
    the smallest next key every group before the next key of any other file: stretches of many
    findings, as organizations with near ids are near in path. Of more than `fan_in` files,
    the smallest are first merged into one in `folder` (and removed), until `fan_in` are left.
    Every file is open before this returns, so an error comes before the first byte.
    """
    if fan_in < 2:
        raise ValueError("fan_in must be at least 2")
    runs = list(runs)
    files: list[BinaryIO] = []
    try:
        while len(runs) > fan_in:
            runs.sort(key=lambda run: run.ends[-1] if run.ends else 0)
            count = min(fan_in, len(runs) - fan_in + 1)
            group, runs = runs[:count], runs[count:]
            runs.append(_merged_run(group, folder))
            for run in group:
                run.path.unlink()
        for run in runs:
            files.append(open(run.path, "rb"))
    except OSError as exc:
        for file in files:
            file.close()
        raise scratch_error(exc, folder.parent) from None
    return _copied(runs, files, folder)


def _segments(runs: list[Run]) -> Iterator[tuple[int, int, int]]:
    """Yield (run number, its first group, the group after its last) in key order: each a run's groups before any other run's next."""
    heap = [(run.keys[0], n) for n, run in enumerate(runs) if run.keys]
    heapq.heapify(heap)
    at = [0] * len(runs)
    while heap:
        n = heap[0][1]
        keys, first = runs[n].keys, at[n]
        if len(heap) == 1:
            after = len(keys)
        else:
            after = bisect_left(keys, heap[1][0] if len(heap) == 2 else min(heap[1][0], heap[2][0]), first + 1)
        yield n, first, after
        at[n] = after
        if after < len(keys):
            heapq.heapreplace(heap, (keys[after], n))
        else:
            heapq.heappop(heap)


def _pieces(file: BinaryIO, size: int) -> Iterator[bytes]:
    """Yield the next `size` bytes of `file`, at most `COPY_SIZE` at a time."""
    while size > 0:
        piece = file.read(min(size, COPY_SIZE))
        if not piece:
            raise OSError(errno.EIO, "临时文件短于预期")
        size -= len(piece)
        yield piece


def _copied(runs: list[Run], files: list[BinaryIO], folder: Path) -> Iterator[bytes]:
    try:
        for n, first, after in _segments(runs):
            yield from _pieces(files[n], runs[n].start(after) - runs[n].start(first))
    except OSError as exc:
        raise scratch_error(exc, folder.parent) from None
    finally:
        for file in files:
            file.close()


def _merged_run(runs: list[Run], folder: Path) -> Run:
    """Merge `runs` into a new file in `folder`; return it."""
    keys, ends = array("q"), array("q")
    try:
        handle, name = tempfile.mkstemp(dir=folder, suffix=".txt")
        with ExitStack() as stack:
            out = stack.enter_context(open(handle, "wb"))
            files = [stack.enter_context(open(run.path, "rb")) for run in runs]
            for n, first, after in _segments(runs):
                run = runs[n]
                shift = out.tell() - run.start(first)
                for piece in _pieces(files[n], run.start(after) - run.start(first)):
                    out.write(piece)
                keys.extend(run.keys[first:after])
                ends.extend(end + shift for end in run.ends[first:after])
    except OSError as exc:
        raise scratch_error(exc, folder.parent) from None
    return Run(Path(name), keys, ends)


def overdue_counts(store: Store, rules: Rules, under: str | None, window: Window, jobs: int = 1,
                   keep: Collection[str] = OVERDUE_STATUSES,
                   only: Collection[str] | None = None) -> dict[str, tuple[dict[str, int], dict[str, int]]]:
    """Return, by organization path, the count of the findings `overdue` returns (with `keep` and `only`) by status and by obligation name.

    Organizations without findings are left out. Each organization's findings are counted where
    they are made (in `jobs` processes for a large scope) and then dropped.
    """
    from compliance.blocks import summarize_orgs     # it builds on this module

    index = store.index_around(under)
    found: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for root in _roots(index, under):
        for counted in summarize_orgs(store, rules, index, root, index.subtree(root), window, _tally, keep=keep,
                                      jobs=jobs, only=only):
            if counted is not None:
                found[counted[0]] = counted[1]
    return found


def obligation_slugs(rules: Rules, words: Collection[str]) -> frozenset[str]:
    """Return the obligations `words` name (a slug, a name such as 党员大会, or the name of the record kind it counts),
    in whichever catalog; InputError names a word that names none, and the names there are."""
    named: dict[str, set[str]] = {}
    counting: dict[str, set[str]] = {}      # by the record kind an obligation counts, when it is not its own slug
    for catalog in rules.catalogs.values():
        for ob in catalog.every_obligation():
            for word in (ob.slug, ob.name):
                named.setdefault(word, set()).add(ob.slug)
            counting.setdefault(ob.counts or ob.slug, set()).add(ob.slug)
    for slug in WATCH_OBLIGATIONS:
        for word in (slug, rules.kinds[slug].name):
            named.setdefault(word, set()).add(slug)
    found: set[str] = set()
    for word in words:
        text = word.strip().replace(" ", "")
        # An obligation's own slug or name first: party_lecture is 党课, not 书记讲党课 too, which counts 党课 records (review).
        slugs = named.get(text) or counting.get(rules.kind(text) or "")
        if not slugs:
            names = "、".join(dict.fromkeys(rules.kinds[s].name if s in rules.kinds else s for s in sorted(named) if s in rules.kinds))
            raise InputError(f"--obligation：没有名为「{word}」的事项（可用：{names}）")
        found |= slugs
    return frozenset(found)


def scope_size(store: Store, under: str | None) -> int:
    """Return the number of organizations at or below `under` (every one when None)."""
    index = store.index_around(under)
    return sum(len(index.subtree(root)) for root in _roots(index, under))


def _roots(index: OrgIndex, under: str | None) -> list[OrgRow]:
    return [index.resolve(under)] if under else [o for o in index.by_id.values() if o.parent_id is None]


def _tally(_org_id: int, findings: list[Finding]) -> tuple[str, tuple[dict[str, int], dict[str, int]]] | None:
    return (findings[0].org, tally(findings)) if findings else None


def _as_they_are(_org_id: int, findings: list[Finding]) -> list[Finding]:
    return findings


def _as_tuples(_org_id: int, findings: list[Finding]) -> list[tuple]:
    """Return findings as plain tuples, which a worker pickles in 60% of the time a named tuple takes."""
    return [tuple(f) for f in findings]


def _watch_since(window: Window) -> date:
    """Return the day records are read from: a year before the window (a run's first month, its key, stays put as the
    window moves), or the watch's own first month (`Window.watch_from`) if earlier."""
    since = window.first.replace(day=1) - relativedelta(years=1)
    return min(since, window.watch_from) if window.watch_from else since


def watch_findings(rules: Rules, org: OrgRow, runs: Iterable[WatchRun], window: Window,
                   review: int = REVIEW_MONTHS, spans: bool = False) -> list[Finding]:
    """Return the six-month watch as findings: one per run of months, keyed by its first month.

    With `spans`, a finding's period is the months its run spans, first to last (2025-03/2025-10,
    `run_span` reads it), instead of its first month: which run a ledger item's first month is in.

    A running run is due (关注, with days left until it reaches `review` months) and then missed
    (提请支部审查, Article 9: the branch meeting decides; the tracker never labels anyone 自行脱党).
    A run that has ended in the window is met, so a supervision ledger item for it closes.
    """
    found = []
    for run in runs:
        through = run.through()              # months as integers (month_index)
        if not run.running and month_end(index_month(through)) < window.first:
            continue
        if run.first > window.last:
            continue        # keyed by a month after the window (a past year's status, as of today)
        slug = WATCH_SLUGS[run.what]
        # Due when its `review`th month counts: reached, or ahead, each month to come counting.
        if run.months >= review and len(run.counted) >= review:
            reached = run.counted[review - 1]
        else:
            base = max(through, month_index(window.as_of) - 1) if run.running else through
            reached = base + review - run.months
        due = month_end(index_month(reached))
        status = "met" if not run.running else "missed" if run.months >= review else "due"
        days_left = (due - window.as_of).days if status == "due" else None
        flags = () if not run.running else ("review_membership",) if run.months >= review else ("watch",)
        period = f"{run.first.year}-{run.first.month:02d}"
        if spans:
            end = index_month(through)
            period = f"{period}/{end.year}-{end.month:02d}"
        found.append(Finding(org.id, org.path, slug, rules.kinds[slug].name, period, status, due, days_left, (), flags,
                             run.member.name))
    return found


def run_span(period: str) -> tuple[int, int]:
    """Return the first and last months (`month_index`) of a run's period as `watch_findings` makes it with `spans`."""
    first, _, last = period.partition("/")
    return month_index(date(int(first[:4]), int(first[5:7]), 1)), month_index(date(int(last[:4]), int(last[5:7]), 1))
