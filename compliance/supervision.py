"""A monthly supervision run: evaluate a scope, keep a snapshot, keep the rectification ledger.

Seed 003 附件2 §五.2: from the 25th to the end of every month the township's discipline
committee and Party-building office check every branch, report to the township committee and
publish a bulletin (通报材料). The ledger columns follow seed 000 (整改台账).
"""

from __future__ import annotations

import hashlib
import marshal
import re
import unicodedata
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from itertools import chain, groupby
from operator import attrgetter
from datetime import date, datetime, time, timedelta
from typing import Callable, Collection, Iterable, Iterator, Mapping, NamedTuple

from compliance.errors import InputError, NotFound
from compliance.evaluate import COMMITTEE_MIN_FULL_MEMBERS, DUES, Finding, owed_on_roster, path_order
from compliance.members import month_index
from compliance.orgs import OrgIndex, OrgRow
from compliance.report.labels import STATUS_LABELS, a_meeting, finding_period, problem_text, quorum_words
from compliance.store import TZ, OrgMove, Store
from compliance.store.runs import OpenGap, OrgLedger, RectificationRow, RunRow
from compliance.blocks import summarize_orgs
from compliance.pipeline import fewer_collections
from compliance.tracking import DEFAULT_CATALOG, WATCH_OBLIGATIONS, Window, run_span, year_start
from obligations.cadence import month_end, next_month_end, parse_period_key
from obligations.catalog import EVIDENCE_FIELDS, Catalog, Kind, Obligation
from obligations.rules import Rules

# A run keeps what needs attention; met periods are counted (rates, ranking), not stored one by one.
SNAPSHOT_STATUSES = ("invalid", "missed", "due")
GAP_STATUSES = ("missed", "invalid")
# What `_item_states` says of an open item whose term is due again, its election put off with approval: owed no more for
# now, closed as `DELAYED_NOTE` says.
DELAYED = "delayed"
# And of an open item whose term an election entered since has ended, held before tracking began: history now, its
# election entered as the item asked (无换届选举记录，如已换届请补录), not a period owed no more (try-out).
ELECTED = "elected"
RUN_STATUSES = ("met", *SNAPSHOT_STATUSES)      # what a run counts, keeps or closes items with
MONTHS_CHARTED = 6
# The supervision period is the 25th to the month's end (seed 003, 附件2 §五.2).
SUPERVISION_FIRST_DAY = 25
# The flags of a record that does not count for its period (`record_problems`; a member's hours short of the year's).
NOT_COUNTED = ("no_quorum", "wrong_date", "not_secretary", "arrears_too_late", "short_hours")


@dataclass(frozen=True)
class Comparison:
    """What changed since the previous month's run."""

    previous: RunRow | None
    cross_year: bool = False        # last month was last year: its window differs, nothing is compared
    new_gaps: tuple[Finding, ...] = ()
    closed_gaps: tuple[Finding, ...] = ()
    better: tuple[tuple[str, int, int], ...] = ()   # (org, gaps before, gaps now)
    worse: tuple[tuple[str, int, int], ...] = ()
    # The previous run's gaps of periods before this run's first (last year's, in February): not compared.
    left_out: int = 0
    # The organizations with gaps in the previous run that are no longer in the scope (`org move`): their gaps were
    # not made good, and are not compared; and those with gaps now moved into it since: their gaps are not new.
    moved_out: tuple[str, ...] = ()
    moved_in: tuple[str, ...] = ()


@dataclass
class SupervisionResult:
    """A run and everything a bulletin shows about it."""

    scope: OrgRow
    run: RunRow
    written: bool
    opened: int
    closed: int
    snapshot: Snapshot
    branches: list[str]
    comparison: Comparison
    ledger_counts: list[OrgLedger]      # the scope's ledger as it stood on the run's day, counted by organization
    read_ledger: Callable[[], list[RectificationRow]]
    org_paths: dict[int, str] = field(default_factory=dict)
    rates: dict[str, dict[str, float | None]] = field(default_factory=dict)
    tallies: dict[str, tuple[int, int]] = field(default_factory=dict)    # org → (met, met + gaps) of the periods listed (`year_start` on)
    published_draft: bool = False    # the same snapshot as the month's draft, which this run published
    # org → (records of the month not signed by the secretary and the recorder, records lacking evidence the rules ask for)
    record_marks: dict[str, tuple[int, int]] = field(default_factory=dict)
    reopened: int = 0       # items a run had closed (自动销号), opened again by this one: not among `opened`
    # The gaps (`_gap_of`) of the scope whose items were closed by hand (回头看): still gaps on the calendar, but rectified.
    closed_by_hand: frozenset[tuple] = frozenset()
    # Of `closed`, the items of the run's gaps made good since its day by dues paid late (补交): opened, if new, and closed at once.
    settled: int = 0
    # Items the team entered by hand (`rectify add`) since the month before's run: what its visits found, beside the calendar's gaps.
    by_hand: int = 0
    # The items the run has opened or reopened, and closed, over every time it was made (a draft run again, then published):
    # `opened` and `closed` are this time's alone.
    run_totals: tuple[int, int] = (0, 0)
    # Those items (`by_hand`): (organization id, matter) each, which the bulletin names (it gave their number alone: try-out).
    by_hand_items: tuple[tuple[int, str], ...] = ()
    # The names of the kinds of record the scope's catalogs ask to be signed (党员大会、支委会), as `record_marks` counts them.
    signed_kinds: tuple[str, ...] = ()
    # The first day one of `record_marks`' records was held, when some were held before the month (entered or corrected since the month
    # before's run): `record list --since` it finds them all.
    record_marks_since: date | None = None

    @property
    def findings(self) -> list[Finding]:
        """The snapshot's findings, unpacked whole: a small scope's. A province's readers go through `snapshot`, an organization at a time."""
        return list(self.snapshot)

    @property
    def gaps(self) -> list[Finding]:
        """The snapshot's gaps, unpacked whole (see `findings`)."""
        return list(self.snapshot.gaps())

    @cached_property
    def due_in_month(self) -> dict[str, dict[tuple[str, str], list[str]]]:
        """The month's periods still open on the run's day with nothing that meets them yet, by organization:
        (obligation, its name) → one entry per period, its member or party group ("" for the organization's own).

        Not gaps: they are missed only once the month has ended, and counted in the next month's run
        if they are; a run from the 25th shows them so that they are done by the month's end. The
        periods that end in the month are all there: the month's, and a quarter's or year's ending with it.
        The six-month watch is left out: its runs of months are members' own, not the month's to do.
        """
        return self._due[0]

    @property
    def due_recorded(self) -> dict[str, dict[tuple[str, str], list[tuple[str, ...]]]]:
        """Those of `due_in_month`'s periods that have records which do not count (yet), by organization:
        (obligation, its name) → the flags that keep each such period's records from counting (`NOT_COUNTED`).

        A month's only 支委会 short of its quorum leaves the period due: the clerk is told why, not only that it is.
        """
        return self._due[1]

    @cached_property
    def _due(self) -> tuple[dict[str, dict[tuple[str, str], list[str]]], dict[str, dict[tuple[str, str], list[tuple[str, ...]]]]]:
        found: dict[str, dict[tuple[str, str], list[str]]] = {}
        recorded: dict[str, dict[tuple[str, str], list[tuple[str, ...]]]] = {}
        for f in self.snapshot.due_by(parse_month(self.run.month)[1]):
            if f.obligation not in WATCH_OBLIGATIONS:       # a member's run of months: the watch's, not the month's to do
                found.setdefault(f.org, {}).setdefault((f.obligation, f.name), []).append(f.member or f.group or "")
                if f.records:
                    why = tuple(flag for flag in f.flags if flag in NOT_COUNTED)
                    recorded.setdefault(f.org, {}).setdefault((f.obligation, f.name), []).append(why)
        return found, recorded

    @cached_property
    def ledger(self) -> list[RectificationRow]:
        """The scope's ledger items as they stood on the run's day (those later runs opened left out, those closed later
        open), oldest first, read when first asked for: a province's bulletin counts them (`ledger_counts`), and its
        workbook is written by a process that reads them itself."""
        return self.read_ledger()


def gap_key(org_id: int, obligation: str, period: str, member: str | None, group: str | None) -> str:
    """Return the key that ties a gap to its ledger item across runs."""
    text = "\x1f".join([str(org_id), obligation, period, member or "", group or ""])
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _key(f: Finding) -> str:
    return gap_key(f.org_id, f.obligation, f.period, f.member, f.group)


def _gap_of(f: Finding) -> tuple:
    """Return what ties a finding to an open ledger item (`OpenLedger.gaps`): the values its gap key is made of."""
    return f.org_id, f.obligation, f.period, f.member, f.group


def _item_gap(item: OpenGap) -> tuple:
    """Return the gap an open ledger item is kept for, as `_gap_of` gives a finding's."""
    return item.org_id, item.obligation, item.period, item.member, item.group_name


class OpenLedger:
    """What a supervision run keeps of its scope's open ledger items: their gaps, and the items it evaluates apart.

    An item's gap key is made of its gap (`gap_key`), so a run holds the gaps alone, tuples of
    shared values, and makes the keys of the gaps it finds among them (`key`). As items, with a
    map of their gaps to keys, the 687,014 open items of a province of 50,000 branches with dues
    everywhere took 366 MB before its evaluation began. An item whose key is not made of its gap
    (a database edited by hand) keeps its own, in `keys`: made good, it is closed all the same.
    """

    def __init__(self, items: Iterable[OpenGap], window_first: date, day: date):
        self.gaps: set[tuple] = set()
        self.obligations: dict[int, set[str]] = {}      # by organization, the obligations of its open items
        # Open items the month's own pass may not judge: last year's periods, and the watch's items (a
        # member's run broken up by payments or records entered late is found by no pass as it was).
        self.recheck: list[OpenGap] = []
        # The gap keys of the open watch items, by (organization id, obligation, member). A run's
        # key is its first month, counted from January of the year before the run that opened its
        # item: a run begun before it is keyed by that January, and the key moves on at a new year
        # (or in a run of a past month) while the run is the same.
        self.watched: dict[tuple, list[str]] = {}
        self.keys: dict[tuple, str] = {}
        # By organization, the gaps of the open items of the periods the month's own pass judges
        # (neither last year's, nor the watch's, nor a committee's term): one the pass finds neither
        # kept nor met is owed no more (an exemption entered since, a rule no longer in force). Not
        # an item a later run opened: a past month's run made again sees its period not yet begun
        # or not yet over, and would close it as owed no more.
        self.current: dict[int, list[tuple]] = {}
        # The gaps of the open items of committee terms, by organization, obligation and the day the term began: an
        # approved delay moves a term's end, and its period's key with it (2021-03-05/2027-03-03 for .../2026-03-04).
        self.terms: dict[tuple[int, str, str], tuple] = {}
        starts: dict[str, date] = {}
        for item in items:
            gap = _item_gap(item)
            self.gaps.add(gap)
            if "/" in item.period:
                self.terms[item.org_id, item.obligation, item.period.split("/", 1)[0]] = gap
            if gap_key(*gap) != item.gap_key:
                self.keys[gap] = item.gap_key
            self.obligations.setdefault(item.org_id, set()).add(item.obligation)
            watch = item.obligation in WATCH_OBLIGATIONS
            if watch:
                self.watched.setdefault((item.org_id, item.obligation, item.member), []).append(item.gap_key)
            start = starts.get(item.period) or starts.setdefault(item.period, parse_period_key(item.period)[0])
            if start < window_first or (watch and item.opened_on <= day):
                self.recheck.append(item)
            elif not watch and "/" not in item.period and item.opened_on <= day:
                self.current.setdefault(item.org_id, []).append(gap)

    def key(self, gap: tuple) -> str:
        """Return the gap key of the open item kept for `gap` (one of `gaps`)."""
        return self.keys.get(gap) or gap_key(*gap)


def month_key(text: str) -> str:
    """Return a month as a run keeps it (YYYY-MM) from the forms a dues month takes too (2026-11, 2026年11月, 2026/11,
    ２０２６－１１); InputError names the bad value. `supervise --month 2026年11月` was refused (try-out)."""
    m = re.fullmatch(r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?", unicodedata.normalize("NFKC", text).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise InputError(f"--month：值「{text}」不是月份（应写作 2026-11）")
    return f"{m.group(1)}-{int(m.group(2)):02d}"


def parse_month(text: str) -> tuple[date, date]:
    """Return the first and last day of a month (`month_key`); InputError names the bad value."""
    key = month_key(text)
    first = date(int(key[:4]), int(key[5:]), 1)
    return first, month_end(first)


def made_after_month(run: RunRow) -> bool:
    """Return whether `run` (this revision of it) was made after its month had ended: its month's deadlines are past."""
    return run.updated_at.astimezone(TZ).date() > parse_month(run.month)[1]


class Fingerprint:
    """A hash of what a run saw: of each organization's findings in evaluation order (fixed for the same data), organizations in id order.

    Met findings come bare (without records and flags: see `supervise`), so they weigh by key,
    status and due date: what a run counts and closes ledger items with. What it keeps (the
    snapshot) weighs with its records and flags too.
    """

    def __init__(self, as_of: date):
        self._hash = hashlib.sha256(as_of.isoformat().encode())

    @staticmethod
    def of_org(findings: Iterable[Finding]) -> bytes:
        """Return the digest of one organization's findings (made where they are evaluated)."""
        rows = [(f.org_id, f.obligation, f.period, f.member or "", f.group or "", f.status, f.due.toordinal(), f.flags,
                 f.records) for f in findings]
        # marshal version 2 writes values only (no back-references), so equal rows give equal bytes.
        return hashlib.sha256(marshal.dumps(rows, 2)).digest()

    def add(self, org_digest: bytes) -> None:
        self._hash.update(org_digest)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def responsible_of(org: OrgRow) -> str:
    """Return who a ledger item of `org` names responsible (责任人): its secretary, or who stands in for a vacant post."""
    return "（书记空缺，由上级党组织指定）" if org.secretary_vacant else (org.secretary or "党组织书记")


def ledger_item(f: Finding, org: OrgRow, run_month_first: date, kinds: Mapping[str, Kind],
                quorum_share: Callable[[Finding], tuple[int, int, int]] | None = None) -> dict:
    """Return a new ledger item for a gap: matter, measure (from `kinds`, the vocabulary), deadline (end of next month), responsible.

    `quorum_share` gives the share of those due a meeting of the gap's obligation needs present
    (half when not given), which a measure for a meeting short of it names.
    """
    who = f" {f.group or f.member}" if f.group or f.member else ""
    problems = f"（{problem_text(f.flags)}）" if f.flags else ""
    matter = f"{f.name}{who} {finding_period(f.obligation, f.period)} {STATUS_LABELS[f.status]}{problems}"
    share = quorum_share(f) if quorum_share is not None and "no_quorum" in f.flags else (1, 2, 0)
    measure = _measure(f, kinds[f.obligation].measure if f.obligation in kinds else None, share)
    return {"gap_key": _key(f), "org_id": f.org_id, "obligation": f.obligation, "period": f.period, "member": f.member,
            "group_name": f.group, "matter": matter, "measure": measure, "deadline": next_month_end(run_month_first),
            "responsible": responsible_of(org), "status": f.status}


# The measure of an invalid period, by what made its record not count (`record_problems`, `_terms`).
# Only organizations' periods have windows and quorums; a member's period is invalid by arrears alone.
INVALID_MEASURES = {
    "late_election": "换届选举逾期进行，查明原因并向上级党组织作出说明；今后按期换届，确需延期的，报上级党组织批准，延期一般不超过1年",
    "wrong_date": "查明{name}未在规定时间内完成的原因，今后按规定时间完成并规范记录",
    "no_quorum": "到会人数须{share}，按要求重新召开{name}并规范记录",
    "not_secretary": "党组织书记每年至少讲1次党课，由书记按要求补讲并规范记录",
    "arrears_too_late": "党费补交超过规定期限，对该党员进行提醒教育，督促其今后按规定按时足额交纳",
}
# What an invalid period's record lacks besides, to be supplied with it.
EVIDENCE_LABELS = {"no_attendance": "应到、实到人数", "unsigned": "书记和记录人签字", "incomplete_evidence": "所缺资料"}


def _measure(f: Finding, given: str | None, share: tuple[int, int, int] = (1, 2, 0)) -> str:
    """Return the rectification measure (整改措施) of a gap: the kind's own (`given`) for a missed period, else the general one.

    An invalid period's measure follows what made its record not count (`INVALID_MEASURES`): a
    late election is not held again, a lecture is given again by the secretary.

    The item's matter names the member; the measure follows the obligation and status, so a
    province's ledger keeps one copy of each (`REPEATING` in the store). A member put to the
    branch for review (six months, Article 9) is put to it here too; the tracker never labels
    anyone 自行脱党.
    """
    if given is not None and f.status == "missed":
        text = given
    elif f.status == "invalid" and (remedies := [INVALID_MEASURES[flag] for flag in f.flags if flag in INVALID_MEASURES]):
        text = "；".join(r.format(name=f.name, share=quorum_words(share)) for r in remedies)
        if evidence := [EVIDENCE_LABELS[flag] for flag in f.flags if flag in EVIDENCE_LABELS]:
            text += f"；补齐{'、'.join(evidence)}"
    elif f.member:
        text = (f"查明该党员未完成{f.name}的原因，督促其按要求完成并规范记录" if f.status == "missed"
                else f"对照要求规范该党员的{f.name}记录，补齐相关资料")
    elif f.status == "missed":
        # A task is done, not held: 流动党员双联归档 was to be 补开 (migration try-out).
        text = (f"查明未开展{f.name}的原因，按要求补开并规范记录，明确专人按期组织" if a_meeting(f.name)
                else f"查明未完成{f.name}的原因，按要求补做并登记，明确专人按期完成")
    else:
        text = f"对照要求重新规范开展{f.name}，补齐到会人数、签字和图文资料"
    if "no_election_record" in f.flags:
        text = f"核实最近一次换届选举情况，已换届的补录换届选举记录；未换届的，{text}"
    return text + ("；已连续满6个月，提请支部审查" if "review_membership" in f.flags else "")


class Tally(NamedTuple):
    """One organization's met and counted periods: of the year, and per charted month."""

    yearly: tuple[int, int] | None
    monthly: dict[str, tuple[int, int]]


_UNSEEN = object()


class Rates:
    """Per organization and month, the periods that ended that month and how many were met; per organization, those due from `window_first` (the run's `year_start`)."""

    def __init__(self, months: list[date], window_first: date, as_of: date):
        self.labels = {(m.year, m.month): f"{m:%Y-%m}" for m in months}
        self.window_first, self.as_of = window_first, as_of
        self.monthly: dict[str, dict[str, tuple[int, int]]] = {}
        self.yearly: dict[str, tuple[int, int]] = {}
        self._label_of: dict[date, str | None] = {}      # a due day's charted month, None when not charted

    def tally(self, findings: Iterable[Finding], starts: date | None = None) -> Tally:
        """Return the counts of one organization's findings; `starts`, the first day it owes anything (`OrgIndex.starts_of`).

        A committee term that ended before then is in no month of the chart: its election, still owed, is a gap from the
        first day tracked, and the month it fell due was not tracked. Its 0% was the one figure in months no branch was
        tracked in (supervision team's try-out). It counts in the year's tally all the same.
        """
        met = total = 0
        monthly: dict[str, list[int]] = {}
        window_first, label_of = self.window_first, self._label_of
        for f in findings:
            status, due = f.status, f.due
            if status != "met" and status not in GAP_STATUSES:
                continue
            # And an election still outstanding from before the year (a term gone by, missed), listed among the gaps as
            # scoring counts it: the ranking gave 100% to a branch whose only gap it was (try-out).
            if due >= window_first or (status == "missed" and "/" in f.period):
                met += status == "met"
                total += 1
            if starts is not None and due < starts and "/" in f.period:
                continue
            # A province's periods fall due on a few hundred days: each day's label is found once.
            label = label_of.get(due, _UNSEEN)
            if label is _UNSEEN:
                label = label_of[due] = self.labels.get((due.year, due.month)) if due < self.as_of else None
            if label is not None:
                counts = monthly.setdefault(label, [0, 0])
                counts[0] += status == "met"
                counts[1] += 1
        return Tally((met, total) if total else None, {label: (a, b) for label, (a, b) in monthly.items()})

    def add(self, org: str, tally: Tally) -> None:
        if tally.yearly:
            self.yearly[org] = tally.yearly
        if tally.monthly:
            self.monthly[org] = tally.monthly

    def rates(self) -> dict[str, dict[str, float | None]]:
        return {org: {label: (by[label][0] / by[label][1] if label in by else None) for label in self.labels.values()}
                for org, by in self.monthly.items()}

    def tallies(self) -> dict[str, tuple[int, int]]:
        return dict(self.yearly)


class Packed(NamedTuple):
    """One organization's findings in a snapshot, packed (`marshal`): its gaps, and the others (due)."""

    gaps: bytes
    others: bytes
    gap_count: int
    count: int

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Packed:
        gaps: list[tuple] = []
        others: list[tuple] = []
        for f in findings:
            # A date is not a value marshal writes: the due day goes as its ordinal, last.
            (gaps if f.status in GAP_STATUSES else others).append((*f[:6], *f[7:], f.due.toordinal()))
        return cls(_pack(gaps), _pack(others), len(gaps), len(gaps) + len(others))


def _pack(rows: list[tuple]) -> bytes:
    # Version 4 writes a value held more than once (an organization's path, a status) once, then refers to it.
    return marshal.dumps(rows, 4) if rows else b""


_DAYS: dict[int, date] = {}     # a snapshot's due days, by ordinal: a province's fall on a few hundred days


def _unpack(packed: bytes) -> list[Finding]:
    return _findings(marshal.loads(packed)) if packed else []


def _findings(rows: Iterable[tuple]) -> list[Finding]:
    days, new = _DAYS, tuple.__new__
    found = []
    for row in rows:
        ordinal = row[11]
        due = days.get(ordinal) or days.setdefault(ordinal, date.fromordinal(ordinal))
        found.append(new(Finding, (*row[:6], due, *row[6:11])))
    return found


class Snapshot:
    """The findings a run keeps (its snapshot), organization by organization, each organization's packed until read.

    With dues everywhere, a province of 50,000 branches keeps 1.3 million findings: as Finding
    tuples they were held for the whole run and took about 290 MB. Packed (`Packed`), each
    reader unpacks one organization at a time; read whole, each organization's gaps come first.
    """

    def __init__(self) -> None:
        self._orgs: dict[int, Packed] = {}       # in the order added
        self.gap_count = 0
        self._count = 0

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Snapshot:
        """Return the snapshot of `findings`, its organizations in the order they first come."""
        by_org: dict[int, list[Finding]] = {}
        for f in findings:
            by_org.setdefault(f.org_id, []).append(f)
        snapshot = cls()
        for org_id, found in by_org.items():
            snapshot.add(org_id, Packed.of(found))
        return snapshot

    def add(self, org_id: int, packed: Packed) -> None:
        if packed.count:
            self._orgs[org_id] = packed
            self.gap_count += packed.gap_count
            self._count += packed.count

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[Finding]:
        for org_id in self._orgs:
            yield from self.of_org(org_id)

    def gaps(self) -> Iterator[Finding]:
        for packed in self._orgs.values():
            yield from _unpack(packed.gaps)

    def due_by(self, last: date) -> Iterator[Finding]:
        """Yield the findings still due (their periods not yet ended) whose due day is `last` or before, an organization at a time.

        Rows due later (a quarter's, a year's, members' yearly hours) are passed over as unpacked, not made into findings.
        """
        ordinal = last.toordinal()
        for packed in self._orgs.values():
            if packed.others:
                rows = [row for row in marshal.loads(packed.others) if row[11] <= ordinal and row[5] == "due"]
                if rows:
                    yield from _findings(rows)

    def of_org(self, org_id: int) -> list[Finding]:
        packed = self._orgs.get(org_id)
        return _unpack(packed.gaps) + _unpack(packed.others) if packed else []

    def gaps_of(self, org_id: int) -> list[Finding]:
        packed = self._orgs.get(org_id)
        return _unpack(packed.gaps) if packed else []

    def orgs_with_gaps(self) -> list[int]:
        return [org_id for org_id, packed in self._orgs.items() if packed.gap_count]


class OrgCheck(NamedTuple):
    """What a supervision run keeps of one organization's findings."""

    kept: Packed               # the year's findings that need attention (the snapshot)
    made_good: list[str]       # gap keys of open ledger items whose periods are now met
    not_owed: list[str]        # gap keys of open ledger items whose periods are owed no more (now exempt, say)
    tally: Tally
    digest: bytes | None       # of the findings kept or met (see `Fingerprint`); None when there are none
    delayed: tuple[str, ...] = ()   # gap keys of open items of terms whose election was since put off with approval


class _RunCheck:
    """Make an organization's `OrgCheck` from its findings (in a worker process, for a large scope)."""

    def __init__(self, rates: Rates, ledger: OpenLedger, keep_from: date, index: OrgIndex):
        self.rates, self.ledger, self.open_gaps = rates, ledger, ledger.gaps
        self.keep_from = keep_from
        self.index = index
        # Most met periods are of an obligation with no open item in their organization: their
        # gap is not made to be looked up.
        self.open_obligations = ledger.obligations

    def __call__(self, org_id: int, found: list[Finding]) -> OrgCheck:
        keep_from = self.keep_from
        open_gaps = self.open_gaps
        open_here = self.open_obligations.get(org_id, ())
        kept: list[Finding] = []
        made_good: list[str] = []
        seen: list[Finding] = []
        current = self.ledger.current.get(org_id)
        judged: set[tuple] = set()      # the gaps of the open items of this pass's periods that it found kept or met
        delayed: list[str] = []
        for f in found:
            # Last year's periods feed the chart only, but for those that ended in its December (`year_start`);
            # an election still not held stays listed, and so does a member's run of months begun before the
            # year (counted from `watch_from`).
            if f.due < keep_from and not ("/" in f.period and f.status == "missed") and f.obligation not in WATCH_OBLIGATIONS:
                continue
            if f.status == "met":
                if f.obligation in open_here and (gap := _gap_of(f)) in open_gaps:
                    made_good.append(self.ledger.key(gap))
            elif f.status in SNAPSHOT_STATUSES:
                kept.append(f)
                if current is not None and f.obligation in open_here:
                    judged.add(_gap_of(f))
                if f.status == "due" and "approved_delay" in f.flags and (gap := _gap_of(f)) in open_gaps:
                    # A term overdue, its election since put off with approval: due again (`DELAYED`).
                    delayed.append(self.ledger.key(gap))
            else:
                continue
            seen.append(f)
        not_owed = []
        if current is not None:
            met = set(made_good)
            not_owed = [key for gap in current if gap not in judged and (key := self.ledger.key(gap)) not in met]
        starts = self.index.starts_of(self.index.by_id[org_id])
        return OrgCheck(Packed.of(kept), made_good, not_owed, self.rates.tally(found, starts), Fingerprint.of_org(seen) if seen else None,
                        tuple(delayed))


def compare(current: Snapshot | Iterable[Finding], previous: Iterable[Finding], prev_run: RunRow | None, year: int,
            keep_from: date | None = None, scope_paths: Mapping[int, str] | None = None,
            moved_in: Collection[int] = ()) -> Comparison:
    """Return new and closed gaps and the branches that got better or worse since `previous`.

    Runs keep their own year's periods (in January, from 1 December: `year_start`): a run in January is not
    compared with December's, whose year it is not; only the gaps of December's that it keeps and that are no
    gaps now are given (`closed_gaps`, with `keep_from`).
    With `keep_from` (the current run's `year_start`), the previous run's gaps the current run
    does not keep are left out: January's run keeps last December's periods, February's does not,
    and they were not resolved for it.
    `previous` (the previous run's snapshot, or its gaps) comes organization by organization
    (`Store.run_findings` with `by_org`), each organization's findings together; a ValueError
    says when they do not. It is read once, as it comes, and compared one organization at a
    time: only that organization's gap keys are held, and the gaps closed since. A province's
    snapshot beside the month before's took 1.56 GB at 50,000 branches; the keys of every gap
    of both, 155 MB with dues everywhere. With `scope_paths` (the scope's organizations now, by id, to their paths),
    the previous run's gaps of an organization moved elsewhere since (`org move`) are left out, and it is named in
    `moved_out`: they were not made good; and one moved within the scope is named by its path now, once (by the
    previous run's path it was better, and by today's worse). The gaps of the organizations of `moved_in` (ids: moved
    into the scope since the previous run) are not new to them, and not compared: they are named in `moved_in`.
    """
    if prev_run is None:
        return Comparison(None)
    cross_year = prev_run.as_of.year != year
    if cross_year and keep_from is None:
        return Comparison(prev_run, cross_year=True)
    if not isinstance(current, Snapshot):
        current = Snapshot.of(current)
    new: dict[int, list[Finding]] = {}
    closed: list[Finding] = []
    then_count: Counter[int] = Counter()
    now_count: Counter[int] = Counter()
    paths: dict[int, str] = {}
    done: set[int] = set()
    dropped = [0]

    def kept_by_run(f: Finding) -> bool:
        if keep_from is None or _kept_by_run(f, keep_from):
            return True
        dropped[0] += 1
        return False

    kept = (f for f in previous if f.status in GAP_STATUSES and kept_by_run(f))
    moved_out: list[str] = []
    for org_id, group in groupby(kept, key=attrgetter("org_id")):
        if org_id in done:
            raise ValueError(f"the findings of organization {org_id} are not together")
        done.add(org_id)
        then = {_key(f): f for f in group}
        was = next(iter(then.values())).org
        if scope_paths is not None and org_id not in scope_paths:
            moved_out.append(was)
            continue
        paths[org_id] = scope_paths[org_id] if scope_paths is not None else was
        now = {_key(f): f for f in current.gaps_of(org_id)}
        closed.extend(f for key, f in then.items() if key not in now)
        new[org_id] = [f for key, f in now.items() if key not in then]
        then_count[org_id] = len(then)
        if now:
            now_count[org_id] = len(now)
    order = current.orgs_with_gaps()
    came: list[str] = []
    for org_id in order:
        if org_id in moved_in and org_id not in done:
            came.append(current.gaps_of(org_id)[0].org)
            new[org_id] = []
        elif org_id not in done:       # an organization without gaps the month before
            found = current.gaps_of(org_id)
            now = {_key(f): f for f in found}
            new[org_id] = list(now.values())
            now_count[org_id] = len(now)
            paths[org_id] = found[0].org
    if cross_year:
        # Not compared with last year's run, but what it found that this run still looks at (last December's
        # periods, those ending with the year, a run of months) and that is no gap now is said: January is when last
        # year's gaps are made good, and its bulletin named none (try-out).
        return Comparison(prev_run, cross_year=True, closed_gaps=tuple(closed), moved_out=tuple(moved_out), moved_in=tuple(came))
    new_gaps = [f for org_id in order for f in new[org_id]]
    orgs = sorted(set(now_count) | set(then_count), key=lambda org_id: path_order(paths[org_id]))
    return Comparison(
        prev_run,
        new_gaps=tuple(new_gaps),
        closed_gaps=tuple(closed),
        better=tuple((paths[o], then_count[o], now_count[o]) for o in orgs if now_count[o] < then_count[o]),
        worse=tuple((paths[o], then_count[o], now_count[o]) for o in orgs if now_count[o] > then_count[o]),
        left_out=dropped[0],
        moved_out=tuple(moved_out),
        moved_in=tuple(came),
    )


def _kept_by_run(f: Finding, keep_from: date) -> bool:
    """Whether a run from `keep_from` keeps finding `f` (as `_RunCheck` does): its periods from then, an election
    still not held, a member's run of months."""
    return f.due >= keep_from or ("/" in f.period and f.status == "missed") or f.obligation in WATCH_OBLIGATIONS


def moved_notice(store: Store, result: SupervisionResult) -> str | None:
    """Say so when organizations moved into or out of the run's scope after its day (`org move`): a past month is supervised
    with the tree of today, so a village merged since is counted in its new township's October (try-out)."""
    after = datetime.combine(result.run.as_of + timedelta(days=1), time(0), tzinfo=TZ)
    paths = result.org_paths
    moved = [m for m in store.org_moves(after) if result.scope.id not in m.org_ids
             and (m.org_id in paths or m.from_parent in paths)]
    if not moved:
        return None
    named = "、".join(dict.fromkeys(m.new_path for m in moved[:3])) + (f"等{len(moved)}个" if len(moved) > 3 else "")
    return (f"{result.run.as_of.isoformat()} 之后有党组织调整了隶属关系（{named}），本次督查按现在的隶属关系：调入的计入本范围，"
            "调出的不再计入")


def early_notice(as_of: date) -> str | None:
    """Say so when a run is made before the month's supervision period: it sees the month's meetings as still due."""
    if as_of.day >= SUPERVISION_FIRST_DAY:
        return None
    return (f"督查日期 {as_of.isoformat()} 早于本月督查期（{SUPERVISION_FIRST_DAY}日至月底）：本月应开的会议尚未到期，"
            f"只计为待完成；定时督查仍会在督查期内运行")


def refuse_branch_scope(scope: OrgRow) -> None:
    """Raise InputError when `scope` is a branch: a team checks the branches of an organization above them.

    Its bulletin read 第二党支部督导组 对第二党支部所属1个党支部….
    """
    if scope.type == "党支部":
        raise InputError(f"--under：「{scope.path}」是党支部；督查的是乡镇党委、党总支等所属的各党支部，"
                         "请给出上级党组织；一个党支部的完成情况请用 status --org 查看")


@fewer_collections()      # a province's findings, snapshot rows and ledger form no cycles
def supervise(store: Store, rules: Rules, under: str, month: str, as_of: date | None = None, publish: bool = False,
              progress: Callable[[int, int], None] | None = None, jobs: int = 1,
              saved: Callable[[OrgRow, dict[int, str], RunRow], None] | None = None) -> SupervisionResult:
    """Run the month's supervision of the scope `under`; running it again for the same month repeats nothing.

    `as_of` defaults to today, or the month's last day for a past month; it must fall in the month.
    With `jobs` above 1, a large scope is evaluated in that many processes (`compliance.blocks`).
    `saved(scope, paths of its organizations by id, run)` is called once the run and its ledger are
    saved, before the comparison with the month before: the bulletin's ledger can be written from then on.
    """
    month = month_key(month)
    first, last = parse_month(month)
    if as_of is None and store.today() < first:
        raise InputError(f"--month：督查月份 {month} 尚未开始")
    day = as_of or min(store.today(), last)
    if not first <= day <= last:
        raise InputError(f"--as-of：值「{day.isoformat()}」不在督查月份 {month} 内")
    index = OrgIndex(store.orgs())
    scope = index.resolve(under)
    refuse_branch_scope(scope)
    orgs = index.subtree(scope)
    if not any(o.type == "党支部" for o in orgs):
        raise NotFound(f"「{scope.path}」及其下级没有党支部可以督查")
    window_first = date(day.year, 1, 1)
    # The months charted before the run's month, which have ended; in the first months of a
    # year they reach back into the last, which is evaluated for the chart only.
    months = [(first - timedelta(days=1)).replace(day=1)]
    while len(months) < MONTHS_CHARTED:
        months.insert(0, (months[0] - timedelta(days=1)).replace(day=1))
    by_id = {o.id: o for o in orgs}
    ledger = OpenLedger(store.open_gaps(by_id), window_first, day)
    # One pass over the scope, organization by organization: the snapshot keeps what needs
    # attention, met periods only count (rates, ranking) or close an open ledger item.
    made_good: dict[str, date] = {}
    # Items are closed (销号) on the run's day; a month run again after its end, as of its last
    # day by default, closes them today, when it does. A day given (`as_of`) is acted as of.
    closed_on = max(day, store.today()) if as_of is None else day
    not_owed: set[str] = set()
    delayed: set[str] = set()      # of not_owed: terms whose election was put off with approval since their items opened
    elected: set[str] = set()      # of not_owed: terms ended by an election held before tracking, entered since their items opened
    # The ranking counts the periods the run lists: in January, last December's and the year's own too (`year_start`).
    rates = Rates(months, year_start(day), day)
    seen = Fingerprint(day)
    # A member's run of months is counted from January of last year all year long, so each
    # month's run keys it by the same first month; one begun earlier is keyed by that January.
    watch_from = date(day.year - 1, 1, 1)
    window = Window(min(window_first, months[0]), day, day, watch_from=watch_from)
    kept: dict[int, Packed] = {}
    # Periods not yet begun and exempt ones count nowhere: they are not made at all. Met ones
    # are only counted and keyed: they come bare, without the records and flags of judging them.
    checks = summarize_orgs(store, rules, index, scope, orgs, window, _RunCheck(rates, ledger, year_start(day), index), keep=RUN_STATUSES,
                            jobs=jobs, progress=progress, bare_met=True)
    # strict: the checks are read to their end, so the worker processes are done with before saving;
    # closed on an error too, so they stop (and give back the collector's setting) before this call does.
    with closing(checks):
        for org, check in zip(sorted(orgs, key=lambda o: o.id), checks, strict=True):
            kept[org.id] = check.kept
            made_good.update(dict.fromkeys(check.made_good, closed_on))
            made_good.update(dict.fromkeys(check.not_owed, closed_on))
            not_owed.update(check.not_owed)
            if check.delayed:
                made_good.update(dict.fromkeys(check.delayed, closed_on))
                not_owed.update(check.delayed)
                delayed.update(check.delayed)
            rates.add(org.path, check.tally)
            if check.digest is not None:
                seen.add(check.digest)
    snapshot = Snapshot()
    for o in orgs:
        snapshot.add(o.id, kept[o.id])
    del kept
    # An item this pass has judged, under its own key, is not evaluated again: still kept (a
    # member's run going on, an election not held), or made good (a run that ended this year).
    again = {_item_gap(i) for i in ledger.recheck}
    kept_again = {gap for org_id in {i.org_id for i in ledger.recheck} for f in snapshot.of_org(org_id)
                  if (gap := _gap_of(f)) in again}
    recheck = [i for i in ledger.recheck if i.gap_key not in made_good and _item_gap(i) not in kept_again]
    # A month run again after a later run (of this scope, or one inside or around it) leaves the items as that run left
    # them, but for closing those now met or owed no more: a later run may have restated or reopened them on records
    # held after this run's day, which this one does not see.
    latest = not store.later_run(scope.path, day)
    rechecked, restated = _recheck(store, rules, index, scope, recheck, ledger, window_first, day, jobs, latest)
    if latest:
        restated += _reopened(store, rules, index, scope, window_first, day, jobs)
    for key, exempt in rechecked:
        made_good.setdefault(key, closed_on)
        if exempt:
            not_owed.add(key)
        if exempt == DELAYED:
            delayed.add(key)
        if exempt == ELECTED:
            elected.add(key)
    # A past month's gaps that arrears paid since have made good are rectified already: their items are closed as they
    # are opened, on the day the run finds it (October's run made in December opened 15 items for dues paid late in
    # November, overdue the day they were made; try-out).
    settled = _settled(store, rules, index, scope, snapshot, day, jobs)
    # The key of the gap's item, and the key a new item takes (`ledger_item`): they differ for an item keyed by hand.
    settled_keys: set[str] = set()
    for gap, exempt in settled:
        for key in {ledger.key(gap), gap_key(*gap)}:
            settled_keys.add(key)
            made_good.setdefault(key, store.today())
            if exempt:
                not_owed.add(key)
    settled_open = any(gap in ledger.gaps for gap, _ in settled)
    # A member has one run of each kind going at a time: while an item is open for it, under
    # whatever first month, the run is that item's.
    carried = {who for who, keys in ledger.watched.items() if not all(key in made_good for key in keys)}
    del ledger, again, kept_again, recheck      # the ledger is read again, whole, after saving
    default = store.setting("default_catalog") or DEFAULT_CATALOG

    def quorum_share(f: Finding) -> tuple[int, int, int]:
        # The rule the period was judged by: the newest version in force when it began (`_judge_versions`).
        found = rules.catalogs[index.catalog_of(by_id[f.org_id], default)].version_at(f.obligation, parse_period_key(f.period)[0])
        return found.quorum_share if found is not None else (1, 2, 0)

    # Last year's gaps still open come after the run's own: their items exist, and only say what the gap is now.
    to_open = (ledger_item(f, by_id[f.org_id], first, rules.kinds, quorum_share) for f in chain(
        (f for f in snapshot.gaps() if (f.org_id, f.obligation, f.member) not in carried), restated))
    # The kinds of record that count for each obligation: an item made good by a record corrected since says so (`save_run`).
    kinds = kinds_of(rules, lambda: index, default)
    # Last year's items made good or restated are changes the snapshot does not show: the run is saved for them.
    stored = store.save_run(scope.id, month, day, seen.hexdigest(), snapshot, to_open, made_good, publish, not_owed,
                            renew=latest, pending=bool(rechecked or restated or settled_open),
                            settled=settled_keys, kinds=kinds, delayed=delayed, elected=elected)
    paths = {o.id: o.path for o in orgs}
    if saved is not None:
        saved(scope, paths, stored.run)
    previous_month = f"{first - timedelta(days=1):%Y-%m}"
    previous_runs = store.runs(scope.id, previous_month)
    published = [r for r in previous_runs if r.published_at is not None]
    prev_run = (published or previous_runs or [None])[-1]
    previous = store.run_findings(prev_run.id, GAP_STATUSES, by_org=True) if prev_run else ()
    # Moved into the scope since the month before's run, from a superior outside it (`org move`): by each one's first move
    # since (moved away and back, it was there all along); not when the scope itself moved, everything below it along.
    first_moves: dict[int, OrgMove] = {}
    for m in store.org_moves(prev_run.updated_at) if prev_run else ():
        for i in m.org_ids:
            first_moves.setdefault(i, m)
    moved_in = {i for i, m in first_moves.items() if i in paths and scope.id not in m.org_ids and m.from_parent not in paths}
    comparison = compare(snapshot, previous, prev_run, day.year, year_start(day), paths, moved_in)
    branches = [o.path for o in orgs if o.type == "党支部"]
    # And the records of months before entered since the month before's run, which no bulletin would list: a 主题党日 of
    # October without photos, entered after October's run, was in none (supervision team's try-out).
    # Not those entered after the run's day, which the next month's lists (a past month run again: review).
    entered_by = datetime.combine(stored.run.as_of + timedelta(days=1), time(), tzinfo=TZ)
    marks, marks_since = record_marks(store, rules, index, scope, orgs, first, stored.run.as_of, default,
                                      (prev_run.updated_at, entered_by) if prev_run else None)
    gaps = ledger_gaps(store, scope.path, stored.run)
    by_hand = tuple(store.by_hand_items(by_id, stored.run, prev_run, first))
    return SupervisionResult(scope, stored.run, stored.written, stored.opened, stored.closed, snapshot, branches, comparison,
                             store.ledger_counts(by_id, stored.run, gaps), partial(store.rectifications, by_id, as_of=stored.run, gaps=gaps), paths, rates.rates(),
                             rates.tallies(), stored.published, marks, stored.reopened,
                             frozenset(store.closed_by_hand(scope.path, stored.run, gaps)), stored.settled,
                             len(by_hand), store.run_item_totals(stored.run.id), by_hand, _signed_kinds(rules, index, orgs, default),
                             record_marks_since=marks_since)


def kinds_of(rules: Rules, index: Callable[[], OrgIndex], default: str) -> Callable[[int, str, date], frozenset[str]]:
    """Return the kinds of record that count for an obligation of an organization (by id) in a period beginning on a day
    (`store.runs.KindsOf`): by the organization's catalog, in `index()` (asked for once, when first needed), and the
    version in force then (`Rules.kinds_counted`)."""
    found: list[OrgIndex] = []

    @lru_cache(maxsize=None)
    def counted(catalog: str, obligation: str, start: date) -> frozenset[str]:
        return rules.kinds_counted(catalog, obligation, start)

    def kinds(org_id: int, obligation: str, start: date) -> frozenset[str]:
        if not found:
            found.append(index())
        org = found[0].by_id.get(org_id)
        return counted(found[0].catalog_of(org, default) if org is not None else default, obligation, start)
    return kinds


def _signed_kinds(rules: Rules, index: OrgIndex, orgs: list[OrgRow], default: str) -> tuple[str, ...]:
    """Return the names of the kinds of record that the catalogs of `orgs` ask to be signed by the secretary and the recorder."""
    slugs: dict[str, None] = {}
    for name in dict.fromkeys(index.catalog_of(o, default) for o in orgs):
        catalog = rules.catalogs.get(name)
        for ob in catalog.obligations if catalog is not None else ():
            if ob.signatures:
                for kind in ob.kinds:       # a 民主评议党员大会 that counts as the 党员大会 is signed as one (tuhe-2021)
                    slugs.setdefault(kind)
    return tuple(rules.kind_name(slug) for slug in slugs)


def _settled(store: Store, rules: Rules, index: OrgIndex, scope: OrgRow, snapshot: Snapshot, day: date,
             jobs: int = 1) -> list[tuple[tuple, bool]]:
    """Return the gaps (`_gap_of`) of `snapshot`, a run as of `day`, that dues paid after `day` have made good by today, each
    with whether it is owed no more rather than met.

    Only an obligation judged on dues payments is made good after its period has ended: a month
    can be paid late (补交, within 6 months under the national rule). Only the organizations with
    a payment made after `day` for a month of the run's are evaluated again, as of today, for
    those obligations. A member's run of months unpaid (dues_watch) that such payments have ended
    is not among them: the next run as of a later day closes its item.
    """
    today = store.today()
    if day >= today:
        return []
    slugs: set[str] = set()
    for catalog in rules.catalogs.values():
        for ob in catalog.every_obligation():
            version: Obligation | None = ob
            while version is not None:
                if (version.counts or version.slug) == DUES and version.per == "member":
                    slugs.add(version.slug)
                version = version.previous
    if not slugs:
        return []
    wanted = {_gap_of(f) for org_id in sorted(store.settled_since(scope.path, day, year_start(day))) if org_id in index.by_id
              for f in snapshot.gaps_of(org_id) if f.obligation in slugs and "/" not in f.period}
    if not wanted:
        return []
    orgs = [index.by_id[org_id] for org_id in sorted({gap[0] for gap in wanted})]
    window = Window(min(parse_period_key(gap[2])[0] for gap in wanted), day, today)
    found: list[tuple[tuple, bool]] = []
    # DUES among them: the payments are read only for it (`tracking`), whatever the obligation judged on them is called.
    for made_good in summarize_orgs(store, rules, index, scope, orgs, window, partial(_made_good_of, wanted),
                                    keep=("met", "exempt"), jobs=jobs, bare_met=True, only=slugs | {DUES}):
        found.extend(made_good)
    return found


def _made_good_of(wanted: Collection[tuple], _org_id: int, findings: list[Finding]) -> list[tuple[tuple, bool]]:
    """Return (gap, whether it is exempt) of the met and exempt periods of `findings` that are among `wanted` (`_gap_of`)."""
    return [(gap, f.status == "exempt") for f in findings if f.status in ("met", "exempt") and (gap := _gap_of(f)) in wanted]


def ledger_gaps(store: Store, scope_path: str, run: RunRow) -> frozenset[str]:
    """Return the keys of `run`'s gaps when a later run was made of its scope (or one inside or around it), else none.

    A bulletin shows the ledger as it stood on its run's day (`Store.rectifications`); a past
    month's run made after later runs lists too the items of its own gaps that a later run opened.
    """
    if not store.later_run(scope_path, run.as_of):
        return frozenset()
    return frozenset(map(_key, store.run_findings(run.id, GAP_STATUSES)))


def record_asks(catalog: Catalog, kind: str, org_type: str, sector: str | None) -> tuple[bool, tuple[str, ...], bool]:
    """Return what the obligations an organization of `org_type` and `sector` owes under `catalog` ask of its records of
    `kind`: to be signed by the secretary and the recorder; which of `EVIDENCE_FIELDS` to be filled in; and whether they
    are all a committee's (支委会), owed only by an organization that has one. As `record_marks` counts them."""
    counting = [ob for ob in catalog.obligations if kind in ob.kinds and ob.applies_to(org_type, sector)]
    require = {f for ob in counting for f in ob.require}
    return (any(ob.signatures for ob in counting), tuple(f for f in EVIDENCE_FIELDS if f in require),
            bool(counting) and all(ob.requires_committee for ob in counting))


def record_marks(store: Store, rules: Rules, index: OrgIndex, scope: OrgRow, orgs: list[OrgRow], first: date, last: date,
                 default: str, entered: tuple[datetime, datetime | None] | None = None) -> tuple[dict[str, tuple[int, int]], date | None]:
    """Return, by organization path, how many of the records of `orgs` (`scope` and below) held from `first` to `last` (with
    `entered`, and those held before `first` written after its first time and, unless None, by its second) are unsigned
    and how many lack evidence; and the first day such a record held before `first` was held (None: none was), from
    which `record list` finds them all.

    What the team finds reading the month's minutes (seed 000 组织建设 2: signed by the secretary
    and the recorder; 活动开展 1: topic and photos): a record of a kind an obligation of the
    organization's catalog asks `signatures` of (of the obligations it owes), not signed by both;
    one lacking a field its `require` lists. These flags (`unsigned`, `incomplete_evidence`) do not
    make a record invalid, though it may not count for other reasons (a quorum); they are told
    here, to be mended, not put on the ledger.

    A record only a committee's obligations count (支委会), of an organization whose committee its roster decides, counts
    when the organization had one in the month the record was held, as evaluation owes that month's 支委会
    (`OrgFacts.full_on`): a record of October entered late was judged by November's roster.
    """
    from compliance.store.scope import ids_of

    by_id = {o.id: o for o in orgs}
    asked: dict[tuple[str, str, str, str | None], tuple[bool, tuple[str, ...], bool]] = {}
    found: dict[str, tuple[int, int]] = {}
    earliest: date | None = None

    def add(org: OrgRow, unsigned: int, lacking: int, held: date | None) -> None:
        nonlocal earliest
        was = found.get(org.path, (0, 0))
        found[org.path] = (was[0] + unsigned, was[1] + lacking)
        if held is not None and (earliest is None or held < earliest):
            earliest = held

    # Records only a committee's obligations count (支委会) of organizations whose committee the roster decides:
    # a branch of fewer than seven full members has none, and owes none (条例 第八条). By the month each was held in.
    committee_only: dict[date, list[tuple[OrgRow, int, int, date | None]]] = {}
    for org_id, kind, signed, lacks, n, held in store.record_marks(scope.path, ids_of(by_id), first, last, EVIDENCE_FIELDS,
                                                                   entered):
        org = by_id.get(org_id)
        catalog = rules.catalogs.get(index.catalog_of(org, default)) if org is not None else None
        if catalog is None:
            continue
        sector = index.sector_of(org)
        key = (catalog.name, kind, org.type, sector)
        if key not in asked:
            asked[key] = record_asks(catalog, kind, org.type, sector)
        signatures, required, needs_committee = asked[key]
        unsigned = n if signatures and not signed else 0
        lacking = n if any(lacks[EVIDENCE_FIELDS.index(f)] for f in required) else 0
        if not (unsigned or lacking) or (needs_committee and org.has_committee is False):
            continue
        if needs_committee and org.has_committee is None:
            committee_only.setdefault(first if held is None else held.replace(day=1), []).append((org, unsigned, lacking, held))
            continue
        add(org, unsigned, lacking, held)
    for month, marked in sorted(committee_only.items()):
        # As evaluation owes a month's 支委会: by the full members on the roster on its first day (`OrgFacts.full_on`).
        full = store.full_members_on({org.id for org, _, _, _ in marked}, month)
        for org, unsigned, lacking, held in marked:
            if full.get(org.id, 0) >= COMMITTEE_MIN_FULL_MEMBERS:
                add(org, unsigned, lacking, held)
    return found, earliest


def _recheck(store: Store, rules: Rules, index: OrgIndex, scope: OrgRow, items: list[OpenGap],
             ledger: OpenLedger, window_first: date, day: date, jobs: int = 1,
             restate: bool = True) -> tuple[set[tuple[str, bool]], list[Finding]]:
    """Return (gap key, whether it is owed no more rather than met) of `items` (open ledger items the month's own pass has not judged) now made good;
    and, with `restate`, the gaps of those items whose items no longer say what they are (missed now invalid, invalid now missed).

    `ledger` holds the gap of every open item.

    Items of periods before this year (last year's, and committee terms that began earlier) can
    still be made good by a record entered late, or stop being owed (exempt: a term closed by an
    election held before tracking began, entered late), or change (an election held late makes a
    missed term invalid; voiding a record makes an invalid period missed again); only their
    organizations, years and obligations are evaluated again, for their met and exempt periods
    and, with `restate`, their gaps (found in one pass, as an overdue list finds them), in `jobs`
    processes when there are many.
    The watch's items and the others (a term can reach back years) are evaluated apart, each from
    its own earliest period and on the records it is judged on.

    A watch item stands for the member's run that its first month is in, whatever month the run
    begins in now (a meeting entered late, without the member, can make it begin earlier, or join
    it to an earlier run): open while that run goes on, made good once it has ended, or when no run
    is in that month any more (payments or records entered late have broken it up into runs too
    short to list; the member's later run is found under its own first month).
    """
    keys: set[tuple[str, bool]] = set()
    restated: list[Finding] = []
    # A member who has left the roster, or came onto it, owes only the periods of their days on it
    # (`owed_on_roster`), and is watched no more, or from then: their other items are owed no more, not made good.
    moved = store.moved_members(day)
    if moved:
        default = store.setting("default_catalog") or DEFAULT_CATALOG
        for item in items:
            days = moved.get((item.org_id, item.member)) if item.member else None
            if days is None or item.obligation in WATCH_OBLIGATIONS:
                continue
            start, end = parse_period_key(item.period)
            ob = rules.catalogs[index.catalog_of(index.by_id[item.org_id], default)].version_at(item.obligation, start)
            if ob is not None and not owed_on_roster(ob, start, end, days[1], days[0]):
                keys.add((item.gap_key, True))
    # A watch item's run was counted from January of the year before the run that opened it,
    # which is no later than the January of its own first month: counted from there, the run
    # is found again in the same months (`supervise`'s `watch_from`).
    groups: dict[int | None, list[OpenGap]] = {}
    for item in items:
        groups.setdefault(int(item.period[:4]) if item.obligation in WATCH_OBLIGATIONS else None, []).append(item)
    for year, group in sorted(groups.items(), key=lambda g: (g[0] is None, g[0] or 0)):
        since = min(parse_period_key(item.period)[0] for item in group)
        orgs = [index.by_id[i] for i in sorted({item.org_id for item in group})]
        only = {item.obligation for item in group}
        # Those organizations have years of met periods: only the open items' own are handed back.
        if year is None:
            window = Window(since, window_first - timedelta(days=1), day)
            # Those still gaps are handed back too where their items are to be restated: a record entered since has
            # made a missed period invalid (an election held late), or voiding one has made it missed again.
            said = store.said_invalid(scope.path) if restate else None
            for found, gaps in summarize_orgs(store, rules, index, scope, orgs, window, partial(_item_states, ledger, said),
                                              keep=("met", "exempt", "due", "upcoming", "invalid", "missed") if restate
                                              else ("met", "exempt", "due", "upcoming"),
                                              jobs=jobs, bare_met=True, only=only):
                keys.update(found)
                restated.extend(map(Finding._make, gaps))
            continue
        window = Window(since, min(date(year, 12, 31), day), day, watch_from=date(year, 1, 1))
        firsts: dict[tuple, list[tuple[int, str]]] = {}
        for item in group:
            firsts.setdefault((item.org_id, item.obligation, item.member), []).append(
                (month_index(parse_period_key(item.period)[0]), item.gap_key))
        in_a_run: set[str] = set()
        for found_runs in summarize_orgs(store, rules, index, scope, orgs, window, partial(_runs_of_items, firsts),
                                         keep=("met", "due", "missed"), jobs=jobs, bare_met=True, only=only, spans=True):
            for key, ended in found_runs:
                in_a_run.add(key)
                if ended:
                    keys.add((key, False))
        # Only items opened by then: a run of a past month does not yet see a later item's run.
        # A member who left is watched no more: their run is owed no more, not made good.
        keys.update((item.gap_key, moved.get((item.org_id, item.member), (None, None))[1] is not None) for item in group
                    if item.gap_key not in in_a_run and item.opened_on <= day)
    return keys, restated


def _reopened(store: Store, rules: Rules, index: OrgIndex, scope: OrgRow, window_first: date, day: date,
              jobs: int = 1) -> list[Finding]:
    """Return the gaps, found again, of the items of periods before this year that a run closed, since voided or corrected
    records or payments have left them undone (`Store.reopenable`): the run opens their items again (`save_run`).

    Within the year the month's own pass finds such a gap and reopens its item; in January it
    reaches back to December only, so a 支委会 of last February made good in January, whose record
    was then voided as a duplicate, stayed 已销号 while status said 逾期未完成. Only the
    organizations, obligations and periods of those items are evaluated again: not those the
    run's own pass finds (`_kept_by_run`: periods ending from `year_start` on, in January last
    December's and the year's; a committee's term), whose gaps it hands over itself.
    """
    keep_from = year_start(day)
    items = [i for i in store.reopenable(scope.path, window_first.year, WATCH_OBLIGATIONS)
             if i.org_id in index.by_id and "/" not in i.period and parse_period_key(i.period)[1] < keep_from]
    if not items:
        return []
    wanted = {_item_gap(i) for i in items}
    window = Window(min(parse_period_key(i.period)[0] for i in items), window_first - timedelta(days=1), day)
    orgs = [index.by_id[org_id] for org_id in sorted({i.org_id for i in items})]
    found: list[Finding] = []
    for gaps in summarize_orgs(store, rules, index, scope, orgs, window, partial(_gaps_of_items, wanted),
                               keep=GAP_STATUSES, jobs=jobs, bare_met=True, only={i.obligation for i in items}):
        found.extend(map(Finding._make, gaps))
    return found


def _gaps_of_items(wanted: Collection[tuple], _org_id: int, findings: list[Finding]) -> list[tuple]:
    """Return, as plain tuples (which pickle faster), the gaps of `findings` that are among `wanted` (`_gap_of`)."""
    return [tuple(f) for f in findings if _gap_of(f) in wanted]


def _runs_of_items(firsts: dict[tuple, list[tuple[int, str]]], _org_id: int, findings: list[Finding]) -> list[tuple[str, bool]]:
    """Return (gap key, whether the run has ended) of the watch items whose first month is in one of the runs `findings` span.

    `firsts` holds, by (organization id, obligation, member), the first month (`month_index`) and gap key of each item.
    """
    found = []
    for f in findings:
        for first, key in firsts.get((f.org_id, f.obligation, f.member), ()):
            start, end = run_span(f.period)
            if start <= first <= end:
                found.append((key, f.status == "met"))
    return found


def _item_states(ledger: OpenLedger, said_invalid: Collection[str] | None, _org_id: int,
                 findings: list[Finding]) -> tuple[list[tuple[str, bool | str]], list[tuple]]:
    """Return (gap key, whether its period is now exempt) of the open items (in `ledger`) kept for the met and exempt periods
    of `findings`; and, as plain tuples (which pickle faster), its gaps whose open items do not say what they are:
    invalid ones whose items say missed, missed ones whose items say invalid (gap keys in `said_invalid`). An item whose
    key is not made of its gap (a database edited by hand) is not restated: its gap's ledger item is keyed by the gap."""
    closed, gaps = [], []
    for f in findings:
        gap = _gap_of(f)
        if "approved_delay" in f.flags and f.status not in GAP_STATUSES and gap not in ledger.gaps:
            # The term the item was opened for, before its end moved (`OpenLedger.terms`).
            gap = ledger.terms.get((f.org_id, f.obligation, f.period.split("/", 1)[0]), gap)
        if f.status in GAP_STATUSES:
            if (said_invalid is not None and gap in ledger.gaps and gap not in ledger.keys
                    and (f.status == "invalid") != (ledger.key(gap) in said_invalid)):
                gaps.append(tuple(f))
        elif gap in ledger.gaps:
            if f.status in ("due", "upcoming"):
                # A term overdue whose election was since put off with approval (换届延期批准) is due again, to its new
                # deadline: its item stayed open, and overdue, against a branch the rules let wait (try-out). Without
                # an approval, a term still running as of a past month run again is no item of that day's (review).
                if "approved_delay" in f.flags:
                    closed.append((ledger.key(gap), DELAYED))
                continue
            closed.append((ledger.key(gap), ELECTED if f.status == "exempt" and f.records and "/" in f.period else f.status == "exempt"))
    return closed, gaps
