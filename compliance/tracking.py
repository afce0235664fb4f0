"""What the everyday commands ask: one organization's status, and what is overdue below one.

Each function loads the scope once (organizations, roster, records: one query each), then
hands plain values to the pure evaluator.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Iterable

from dateutil.relativedelta import relativedelta

from compliance.errors import InputError
from compliance.evaluate import Finding, Record, evaluate_org, worst_first
from compliance.members import REVIEW_MONTHS, WATCH_MONTHS, MemberInfo, WatchRun, watch_runs
from compliance.orgs import OrgIndex, OrgRow, org_facts
from compliance.store import Store
from obligations.cadence import month_end
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


def default_catalog(store: Store) -> str:
    """Return the database's default catalog (set by `init --catalog`)."""
    return store.setting("default_catalog") or DEFAULT_CATALOG


def watch_months(store: Store) -> int:
    """Return the months after which a member is put on the watch list (关注): `init --watch-months`, 3 by default."""
    return int(store.setting("watch_months") or WATCH_MONTHS)


def evaluate_orgs(store: Store, rules: Rules, index: OrgIndex, root: OrgRow, orgs: Iterable[OrgRow], window: Window,
                  progress: Callable[[int, int], None] | None = None) -> list[Finding]:
    """Return the findings of `orgs` (all at or below `root`) for the window; `progress(done, total)` is told as it goes."""
    orgs = list(orgs)
    roster = defaultdict(list)
    members = store.members([o.id for o in orgs])
    for member in members:
        roster[member.org_id].append(member)
    wanted = {o.id for o in orgs}
    records: dict[int, list[Record]] = defaultdict(list)
    for record in store.scope_records(root.path, window.known_at):
        if record.org_id in wanted:
            records[record.org_id].append(record)
    exemptions = store.exemptions([m.id for m in members])
    # Dues payments join the records as monthly "dues" records of their member; a branch that
    # records no dues at all is not judged on them.
    dues_orgs: set[int] = set()
    by_id = {m.id: m for m in members}
    dues = store.dues_paid(by_id)
    for member_id, months in dues.items():
        member = by_id[member_id]
        dues_orgs.add(member.org_id)
        for month, paid_on in months.items():
            held = date(int(month[:4]), int(month[5:]), 1)
            # The recording date of a payment is the day it was paid: arrears are judged by it.
            records[member.org_id].append(Record(-member_id, member.org_id, "dues", held, paid_on, member=member.name))
    fallback = default_catalog(store)
    warn = watch_months(store)
    findings: list[Finding] = []
    for done, org in enumerate(orgs, start=1):
        if progress is not None:
            progress(done, len(orgs))
        try:
            catalog = rules.catalog(index.catalog_of(org, fallback))
        except KeyError as exc:
            raise InputError(f"党组织「{org.path}」：{exc.args[0]}") from None
        facts = org_facts(index, org, roster[org.id], exemptions)
        found = evaluate_org(catalog, facts, records[org.id], window.first, window.last, window.as_of)
        findings.extend(f for f in found if f.obligation != "dues" or org.id in dues_orgs)
        if roster[org.id]:
            infos = [MemberInfo(m.id, org.id, org.path, m.name, m.status, m.mobile, m.liaison, m.joined,
                                tuple(exemptions.get(m.id, ()))) for m in roster[org.id]]
            runs = watch_runs(infos, records[org.id], dues, dues_orgs, window.as_of, _watch_since(window), warn)
            findings.extend(watch_findings(rules, org, runs, window))
    return findings


WATCH_SLUGS = {"absence": "absence_watch", "dues": "dues_watch"}


def _watch_since(window: Window) -> date:
    """Count runs from a year before the window: a run's first month (its key) stays put as the window moves."""
    return window.first.replace(day=1) - relativedelta(years=1)


def watch_findings(rules: Rules, org: OrgRow, runs: Iterable[WatchRun], window: Window,
                   review: int = REVIEW_MONTHS) -> list[Finding]:
    """Return the six-month watch as findings: one per run of months, keyed by its first month.

    A running run is due (关注, with days left until it reaches `review` months) and then missed
    (提请支部审查, Article 9: the branch meeting decides; the tracker never labels anyone 自行脱党).
    A run that has ended in the window is met, so a supervision ledger item for it closes.
    """
    found = []
    for run in runs:
        last = run.first + relativedelta(months=run.months - 1)
        if not run.running and month_end(last) < window.first:
            continue
        slug = WATCH_SLUGS[run.what]
        due = month_end(run.first + relativedelta(months=review - 1))
        status = "met" if not run.running else "missed" if run.months >= review else "due"
        days_left = (due - window.as_of).days if status == "due" else None
        flags = () if not run.running else ("review_membership",) if run.months >= review else ("watch",)
        found.append(Finding(org.id, org.path, slug, rules.kinds[slug].name, f"{run.first.year}-{run.first.month:02d}",
                             status, due, days_left, (), flags, run.member.name))
    return found


def org_path(store: Store, org_ref: str) -> str:
    """Return the full path of the organization `org_ref` names."""
    return OrgIndex(store.orgs()).resolve(org_ref).path


def org_status(store: Store, rules: Rules, org_ref: str, window: Window) -> list[Finding]:
    """Return one organization's findings, in obligation and period order."""
    index = OrgIndex(store.orgs())
    org = index.resolve(org_ref)
    return evaluate_orgs(store, rules, index, org, [org], window)


def overdue(store: Store, rules: Rules, under: str | None, window: Window) -> list[Finding]:
    """Return missed, invalid and due findings at or below `under` (every root when None), worst first."""
    index = OrgIndex(store.orgs())
    roots = [index.resolve(under)] if under else [o for o in index.by_id.values() if o.parent_id is None]
    findings: list[Finding] = []
    for root in roots:
        findings.extend(evaluate_orgs(store, rules, index, root, index.subtree(root), window))
    return worst_first(f for f in findings if f.status in OVERDUE_STATUSES)
