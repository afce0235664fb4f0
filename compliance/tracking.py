"""What the everyday commands ask: one organization's status, and what is overdue below one.

Each function loads the scope once (organizations, roster, records: one query each), then
hands plain values to the pure evaluator.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable, Iterable

from compliance.errors import InputError
from compliance.evaluate import Finding, Record, evaluate_org, worst_first
from compliance.orgs import OrgIndex, OrgRow, org_facts
from compliance.store import Store
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
    for member_id, months in store.dues_paid(by_id).items():
        member = by_id[member_id]
        dues_orgs.add(member.org_id)
        for month, paid_on in months.items():
            held = date(int(month[:4]), int(month[5:]), 1)
            records[member.org_id].append(Record(-member_id, member.org_id, "dues", held, held, member=member.name))
    fallback = default_catalog(store)
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
    return findings


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
