"""Member-level data: exemptions and dues payments."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Callable, Collection, Iterable, Iterator, Sequence

from sqlalchemy import Engine, delete, func, insert, or_, select, update

from compliance.store import tables
from compliance.store.scope import exemptions_in_force
from compliance.store.sql import IN_LIMIT, chunks, insert_counting_new

EXEMPTION = tables.MEMBER_EXEMPTION
AUDIT = tables.AUDIT_ENTRY
# The 离开原因 of the row a transfer left on the other roster when it was undone: never on it; taken
# again by a later transfer there.
UNDONE_TRANSFER = "撤销转接"
MEMBER = tables.MEMBER
DUES = tables.DUES_PAYMENT
DUES_VERSION = tables.DUES_VERSION
DUES_CHUNK = 20_000
GRADE = tables.MEMBER_GRADE


class MemberQueries:
    """Exemptions and dues; expects `self.engine`, `self.clock`, `self.writing` and `self.audit` (see `Store`)."""

    engine: Engine
    clock: Callable[[], datetime]
    audit: Callable[..., None]
    writing: Callable[[], Any]

    def add_exemption(self, member_id: int, org_id: int, start: date, end: date, reason: str) -> int:
        with self.writing() as conn:
            exemption_id = conn.execute(insert(EXEMPTION).values(member_id=member_id, start=start, end=end, reason=reason,
                                                                 created_at=self.clock())).inserted_primary_key[0]
            self.audit(conn, "exempt", "member", member_id, org_id, {"start": start, "end": end}, reason)
            return exemption_id

    def set_grades(self, rows: Sequence[tuple[int, int, int, str, str | None]], reason: str) -> tuple[int, int]:
        """Give each (member id, organization id, year, grade, note) in one transaction; return how many were new and how many
        replaced another grade. A grade given alike already is left as it is; one replaced is kept, marked superseded."""
        current: dict[tuple[int, int], Any] = {}
        with self.writing() as conn:
            for part in chunks(sorted({r[0] for r in rows})):
                query = select(GRADE.c.id, GRADE.c.member_id, GRADE.c.year, GRADE.c.grade, GRADE.c.note).where(
                    GRADE.c.member_id.in_(part), GRADE.c.superseded_at.is_(None))
                for row in conn.execute(query):
                    current[(row.member_id, row.year)] = row
            stamp = self.clock()
            new = changed = 0
            for member_id, org_id, year, grade, note in rows:
                was = current.get((member_id, year))
                if was is not None and (was.grade, was.note) == (grade, note):
                    continue
                if was is not None:
                    conn.execute(update(GRADE).where(GRADE.c.id == was.id).values(superseded_at=stamp))
                changed += was is not None
                new += was is None
                conn.execute(insert(GRADE).values(member_id=member_id, org_id=org_id, year=year, grade=grade, note=note,
                                                  created_at=stamp))
                self.audit(conn, "grade", "member", member_id, org_id,
                           {"year": year, "grade": grade, **({"was": was.grade} if was is not None else {})}, reason)
            return new, changed

    def grades(self, org_ids: Iterable[int], year: int) -> dict[int, tuple[str, str | None]]:
        """Return the current grade and note of each member of the organizations `org_ids` graded in `year`, by member id."""
        found: dict[int, tuple[str, str | None]] = {}
        with self.engine.connect() as conn:
            for part in chunks(sorted(set(org_ids))):
                query = select(GRADE.c.member_id, GRADE.c.grade, GRADE.c.note).where(
                    GRADE.c.org_id.in_(part), GRADE.c.year == year, GRADE.c.superseded_at.is_(None))
                found.update((member_id, (grade, note)) for member_id, grade, note in conn.execute(query))
        return found

    def transferred_to(self, member_id: int) -> tuple[int, int] | None:
        """Return (member id, organization id) a transfer of `member_id` made on the other roster (the latest), None when it was not transferred."""
        query = (select(AUDIT.c.detail).where(AUDIT.c.action == "transfer", AUDIT.c.entity == "member",
                                              AUDIT.c.entity_id == str(member_id)).order_by(AUDIT.c.seq.desc()).limit(1))
        with self.engine.connect() as conn:
            detail = conn.execute(query).scalar()
        if not detail:
            return None
        found = json.loads(detail)
        return found["member_id"], found["org_ids"][1]

    def set_member_left(self, member_id: int, org_id: int, left_on: date | None, left_reason: str | None, note: str,
                        name: str | None = None) -> bool:
        """Mark a member as having left the roster on `left_on` for `left_reason` (None, None: back on it); False when another writer did first.

        The change is made only while the member still stands as the caller read them, and the
        audit entry keeps what it replaced.
        """
        with self.writing() as conn:
            before = conn.execute(select(MEMBER.c.left_on, MEMBER.c.left_reason).where(MEMBER.c.id == member_id)).one()
            if (before.left_on is None) != (left_on is not None):
                return False
            conn.execute(update(MEMBER).where(MEMBER.c.id == member_id).values(left_on=left_on, left_reason=left_reason))
            detail = {"left_on": left_on, "left_reason": left_reason} if left_on is not None else \
                {"was_left_on": before.left_on, "was_left_reason": before.left_reason}
            if name is not None:
                detail["name"] = name
            self.audit(conn, "leave" if left_on is not None else "unleave", "member", member_id, org_id, detail, note)
            return True

    def transfer_member(self, member_id: int, org_id: int, to_org_id: int, day: date, group: str | None, note: str) -> int | None:
        """Move a member to another organization's roster on `day`, in one transaction; return their new id, None when they had left meanwhile.

        They leave this roster (转出) and are added to the other with their own values, arrived that
        day, or take again the row a transfer there left when it was undone (`undo_transfer`); the
        audit entry names both organizations (`org_ids`, so that either one's log lists it), the
        member and the new member id.
        """
        with self.writing() as conn:
            stamp = self.clock()
            before = conn.execute(select(MEMBER).where(MEMBER.c.id == member_id)).mappings().one()
            if before["left_on"] is not None:
                return None
            conn.execute(update(MEMBER).where(MEMBER.c.id == member_id).values(left_on=day, left_reason="转出"))
            values = {k: before[k] for k in ("status", "mobile", "joined", "born", "gender")}
            m = MEMBER.c
            undone = conn.execute(select(m.id).where(m.org_id == to_org_id, m.name == before["name"],
                                                     m.left_reason == UNDONE_TRANSFER)).scalar()
            if undone is not None:
                conn.execute(update(MEMBER).where(m.id == undone).values(**values, group_name=group, arrived_on=day, left_on=None,
                                                                         left_reason=None))
                new_id = undone
            else:
                new_id = conn.execute(insert(MEMBER).values(**values, name=before["name"], org_id=to_org_id, group_name=group,
                                                            arrived_on=day, created_at=stamp)).inserted_primary_key[0]
            self.audit(conn, "transfer", "member", member_id, org_id, {"name": before["name"], "left_on": day,
                                                                        "org_ids": [org_id, to_org_id], "member_id": new_id}, note)
            return new_id

    def undo_transfer(self, member_id: int, org_id: int, new_id: int, to_org_id: int, reason: str) -> bool:
        """Undo a transfer entered by mistake: the member is back on this roster, and off the other from the day they came; False when either changed meanwhile."""
        with self.writing() as conn:
            old = conn.execute(select(MEMBER.c.left_on).where(MEMBER.c.id == member_id)).scalar_one()
            new = conn.execute(select(MEMBER.c.arrived_on, MEMBER.c.left_on).where(MEMBER.c.id == new_id)).one()
            if old is None or new.left_on is not None or new.arrived_on != old:
                return False
            conn.execute(update(MEMBER).where(MEMBER.c.id == member_id).values(left_on=None, left_reason=None))
            # On the other roster from the day they came until that day: never.
            conn.execute(update(MEMBER).where(MEMBER.c.id == new_id).values(left_on=new.arrived_on, left_reason=UNDONE_TRANSFER))
            self.audit(conn, "unleave", "member", member_id, org_id, {"was_left_on": old, "was_left_reason": "转出",
                                                                       "org_ids": [org_id, to_org_id], "undid_transfer_to": new_id},
                       reason)
            return True

    def moved_members(self, day: date) -> dict[tuple[int, str], tuple[date | None, date | None]]:
        """Return the members who came onto a roster, or had left one by `day`, by (organization id, name): few, in one statement.

        Each to (day arrived, day left by `day`), either None.
        """
        m = MEMBER.c
        query = select(m.org_id, m.name, m.arrived_on, m.left_on).where(or_(m.arrived_on.is_not(None), m.left_on <= day))
        with self.engine.connect() as conn:
            return {(org_id, name): (arrived, left if left is not None and left <= day else None)
                    for org_id, name, arrived, left in conn.execute(query)}

    def void_exemption(self, exemption_id: int, org_id: int, reason: str) -> bool:
        """Withdraw an approved exemption with the reason: it stays listed and no longer counts; False when it was already withdrawn."""
        with self.writing() as conn:
            changed = conn.execute(update(EXEMPTION).where(EXEMPTION.c.id == exemption_id, EXEMPTION.c.voided_at.is_(None))
                                   .values(voided_at=self.clock(), void_reason=reason)).rowcount
            if changed:
                member_id = conn.execute(select(EXEMPTION.c.member_id).where(EXEMPTION.c.id == exemption_id)).scalar_one()
                self.audit(conn, "void", "exemption", exemption_id, org_id, {"member_id": member_id}, reason)
            return bool(changed)

    def exemption(self, exemption_id: int) -> dict[str, Any] | None:
        """Return an exemption as stored, withdrawn or not, with its member's `name` and `org_id`; None when there is none with that id."""
        query = (select(EXEMPTION, MEMBER.c.name, MEMBER.c.org_id).join(MEMBER, MEMBER.c.id == EXEMPTION.c.member_id)
                 .where(EXEMPTION.c.id == exemption_id))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            return dict(row) if row is not None else None

    def exemption_rows(self, member_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Return the exemptions of `member_ids` as stored, withdrawn ones too (id, member_id, start, end, reason, created_at, voided_at, void_reason)."""
        rows: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for chunk in chunks(list(member_ids)):
                rows.extend(dict(row) for row in conn.execute(select(EXEMPTION).where(EXEMPTION.c.member_id.in_(chunk))).mappings())
        return rows

    def exemptions(self, member_ids: Iterable[int]) -> dict[int, list[tuple[date, date]]]:
        result: dict[int, list[tuple[date, date]]] = {}
        ids = list(member_ids)
        with self.engine.connect() as conn:
            for chunk in chunks(ids):
                for member_id, start, end in conn.execute(select(EXEMPTION.c.member_id, EXEMPTION.c.start, EXEMPTION.c.end)
                                                          .where(EXEMPTION.c.member_id.in_(chunk), *exemptions_in_force())):
                    result.setdefault(member_id, []).append((start, end))
        return result

    def dues_paid(self, member_ids: Iterable[int]) -> dict[int, dict[str, date]]:
        """Return, per member, the months paid and when."""
        result: dict[int, dict[str, date]] = {}
        ids = list(member_ids)
        with self.engine.connect() as conn:
            for chunk in chunks(ids):
                for member_id, month, paid_on in conn.execute(select(DUES.c.member_id, DUES.c.month, DUES.c.paid_on)
                                                              .where(DUES.c.member_id.in_(chunk))):
                    result.setdefault(member_id, {})[month] = paid_on
        return result

    def joined_months(self, member_ids: Collection[int], since: date) -> dict[int, tuple[str, str, date]]:
        """Return, of those of `member_ids` who joined (入党日期) on `since` or later, (name, the month they joined as 2026-11, the day).

        Only the few who joined lately: a province's dues file names a million members (review: 310 MB for all of them).
        """
        m = MEMBER.c
        ids = sorted(member_ids)
        found: dict[int, tuple[str, str, date]] = {}
        with self.engine.connect() as conn:
            for first in range(0, len(ids), IN_LIMIT):
                query = select(m.id, m.name, m.joined).where(m.id.in_(ids[first:first + IN_LIMIT]), m.joined >= since)
                found.update((member_id, (name, f"{joined:%Y-%m}", joined)) for member_id, name, joined in conn.execute(query))
        return found

    def paid_months(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], tuple[float, date]]:
        """Return those of `keys` (member id, month) that hold a payment, to its amount and day paid."""
        found: dict[tuple[int, str], tuple[float, date]] = {}
        with self.engine.connect() as conn:
            for first in range(0, len(keys), IN_LIMIT):
                part = keys[first:first + IN_LIMIT]
                query = (select(DUES.c.member_id, DUES.c.month, DUES.c.amount, DUES.c.paid_on)
                         .where(DUES.c.member_id.in_(sorted({m for m, _ in part})), DUES.c.month.in_(sorted({month for _, month in part}))))
                found.update(((m, month), (amount, paid_on)) for m, month, amount, paid_on in conn.execute(query))
        wanted = set(keys)
        return {key: held for key, held in found.items() if key in wanted}

    def full_members_on(self, org_ids: Iterable[int], day: date) -> dict[int, int]:
        """Return, of each of `org_ids` with any, how many full members (正式) were on its roster on `day`."""
        m = MEMBER.c
        found: dict[int, int] = {}
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(set(org_ids))):
                query = (select(m.org_id, func.count()).where(m.org_id.in_(chunk), m.status == "正式",
                                                               or_(m.arrived_on.is_(None), m.arrived_on <= day),
                                                               or_(m.left_on.is_(None), m.left_on > day))
                         .group_by(m.org_id))
                found.update((org_id, n) for org_id, n in conn.execute(query))
        return found

    def on_roster_between(self, org_ids: Iterable[int], first: date, last: date) -> set[int]:
        """Return those of `org_ids` that had a member on their roster at some time from `first` to `last`."""
        m = MEMBER.c
        found: set[int] = set()
        with self.engine.connect() as conn:
            for chunk in chunks(sorted(set(org_ids))):
                query = (select(m.org_id).where(m.org_id.in_(chunk), or_(m.arrived_on.is_(None), m.arrived_on <= last),
                                                or_(m.left_on.is_(None), m.left_on > first))
                         .distinct())
                found.update(conn.execute(query).scalars())
        return found

    def dues_payment(self, member_id: int, month: str) -> dict[str, Any] | None:
        """Return a member's payment for `month` as stored; None when none is registered."""
        with self.engine.connect() as conn:
            row = conn.execute(select(DUES).where(DUES.c.member_id == member_id, DUES.c.month == month)).mappings().first()
            return dict(row) if row is not None else None

    def change_dues(self, member_id: int, org_id: int, month: str, reason: str, amount: float | None = None,
                    paid_on: date | None = None, member_name: str | None = None) -> dict[str, Any] | None:
        """Correct a member's payment for `month` (its amount and/or date), or withdraw it when neither is given; return it as it was.

        Its values before go to the version table with when they stood, so `--known-at` sees them;
        one audit entry. None, and nothing written, when the month holds no payment.
        """
        withdraw = amount is None and paid_on is None
        with self.writing() as conn:
            old = conn.execute(select(DUES).where(DUES.c.member_id == member_id, DUES.c.month == month)).mappings().first()
            if old is None:
                return None
            stamp = self.clock()
            conn.execute(insert(DUES_VERSION).values(
                member_id=member_id, month=month, amount=old["amount"], paid_on=old["paid_on"],
                valid_from=old["corrected_at"] or old["created_at"], superseded_at=stamp, change="void" if withdraw else "correct",
                reason=reason))
            where = (DUES.c.id == old["id"],)
            before = {"amount": old["amount"], "paid_on": old["paid_on"]}
            if withdraw:
                conn.execute(delete(DUES).where(*where))     # kept in the version table, with its reason
                after = None
            else:
                after = {"amount": old["amount"] if amount is None else amount, "paid_on": old["paid_on"] if paid_on is None else paid_on}
                conn.execute(update(DUES).where(*where).values(**after, corrected_at=stamp))
            self.audit(conn, "void" if withdraw else "correct", "dues", f"{member_id}:{month}", org_id,
                       {"member_id": member_id, "member": member_name, "month": month, "before": before, "after": after}, reason)
            return dict(old)

    def voided_dues(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], list[tuple[float, date, datetime, str]]]:
        """Return, for those of `keys` (member id, month) with a withdrawn payment, each withdrawn one's amount, date paid, when and why."""
        found: dict[tuple[int, str], list[tuple[float, date, datetime, str]]] = {}
        v = DUES_VERSION.c
        with self.engine.connect() as conn:
            if conn.execute(select(v.id).where(v.change == "void").limit(1)).first() is None:
                return found         # nothing was ever withdrawn: a province's import reads nothing more
            for first in range(0, len(keys), IN_LIMIT):
                part = keys[first:first + IN_LIMIT]
                query = select(v.member_id, v.month, v.amount, v.paid_on, v.superseded_at, v.reason).where(
                    v.change == "void", v.member_id.in_(sorted({m for m, _ in part})), v.month.in_(sorted({month for _, month in part})))
                for member_id, month, amount, paid_on, at, reason in conn.execute(query):
                    found.setdefault((member_id, month), []).append((amount, paid_on, at, reason))
        wanted = set(keys)
        return {key: rows for key, rows in found.items() if key in wanted}

    def dues_rows(self, member_ids: Sequence[int], year: int | None = None, known_at: datetime | None = None) -> list[dict[str, Any]]:
        """Return the payments registered for `member_ids` (of `year`'s months), as stored, by member and month.

        With `known_at`, those registered by then, with the values they had then (`corrected_at`:
        when they replaced earlier ones, if they did), those corrected or withdrawn since among them.
        """
        rows: list[dict[str, Any]] = []
        v = DUES_VERSION.c
        with self.engine.connect() as conn:
            for chunk in chunks(list(member_ids)):
                query = select(DUES).where(DUES.c.member_id.in_(chunk))
                if year is not None:
                    query = query.where(DUES.c.month.like(f"{year}-%"))
                if known_at is None:
                    rows.extend(dict(row) for row in conn.execute(query).mappings())
                    continue
                query = query.where(func.coalesce(DUES.c.corrected_at, DUES.c.created_at) <= known_at)
                rows.extend(dict(row) for row in conn.execute(query).mappings())
                versions = select(DUES_VERSION).where(v.member_id.in_(chunk))
                if year is not None:
                    versions = versions.where(v.month.like(f"{year}-%"))
                history = [dict(row) for row in conn.execute(versions).mappings()]
                # A version's values were a correction when an earlier one was corrected at the moment they came.
                corrections = {(h["member_id"], h["month"], h["superseded_at"]) for h in history if h["change"] == "correct"}
                rows.extend({"member_id": h["member_id"], "month": h["month"], "amount": h["amount"], "paid_on": h["paid_on"],
                             "corrected_at": h["valid_from"] if (h["member_id"], h["month"], h["valid_from"]) in corrections else None}
                            for h in history if h["valid_from"] <= known_at < h["superseded_at"])
        return sorted(rows, key=lambda r: (r["member_id"], r["month"]))

    def dues_versions(self, member_id: int, month: str) -> list[dict[str, Any]]:
        """Return a member's earlier values for `month`, corrected or withdrawn, oldest first."""
        with self.engine.connect() as conn:
            query = (select(DUES_VERSION).where(DUES_VERSION.c.member_id == member_id, DUES_VERSION.c.month == month)
                     .order_by(DUES_VERSION.c.superseded_at, DUES_VERSION.c.id))
            return [dict(row) for row in conn.execute(query).mappings()]

    def add_dues(self, fields: Sequence[str], rows: Sequence[tuple[Any, ...]], meta: dict[str, Any],
                 refuse: Callable[[Iterator[tuple[int, float, date]]], None] | None = None, member_name: str | None = None) -> int:
        """Insert dues payments (tuples of the values of `fields`, which include member_id and org_id; months already paid are skipped); one audit entry; return how many were new.

        When rows were skipped, `refuse` is given, in the transaction, every row's index with the
        amount and date paid that its month holds now; it raises to write nothing.
        """
        if not rows:
            return 0
        org_at = list(fields).index("org_id")
        stored = [i for i, name in enumerate(fields) if name != "org_id"]
        names = [fields[i] for i in stored]
        with self.writing() as conn:
            stamp = self.clock()
            # Dicts for a chunk at a time: a province's 2.9 million payments as dicts took gigabytes.
            values = ([dict(zip(names, [r[i] for i in stored]), created_at=stamp) for r in part]
                      for part in chunks(rows, DUES_CHUNK))
            added = insert_counting_new(conn, DUES, ["member_id", "month"], values)
            if refuse is not None and added < len(rows):
                refuse(_held(conn, [fields.index(name) for name in ("member_id", "month")], rows))
            if not added:
                return 0        # nothing registered: nothing to account for
            org_ids = sorted({r[org_at] for r in rows if r[org_at]})
            detail = {**meta, "rows": len(rows), "added": added, "org_ids": org_ids}
            if len(rows) == 1:
                # One payment logged: what was paid, by whom, for which month and when.
                detail["payment"] = {name: rows[0][i] for i, name in enumerate(fields) if name != "org_id"}
                if member_name is not None:
                    detail["member"] = member_name
            self.audit(conn, "dues", "dues", None, org_ids[0] if len(org_ids) == 1 else None, detail)
            return added


def _held(conn: Any, key: list[int], rows: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, float, date]]:
    """Yield each row's index with the amount and date paid stored for its member and month, a chunk of rows at a time.

    Each chunk reads only its members' payments for its months: a province's history is not read whole.
    """
    member_at, month_at = key
    for first in range(0, len(rows), IN_LIMIT):
        part = rows[first:first + IN_LIMIT]
        members, months = sorted({r[member_at] for r in part}), sorted({r[month_at] for r in part})
        query = (select(DUES.c.member_id, DUES.c.month, DUES.c.amount, DUES.c.paid_on)
                 .where(DUES.c.member_id.in_(members), DUES.c.month.in_(months)))
        paid = {(m, month): (amount, on) for m, month, amount, on in conn.execute(query)}
        for at, r in enumerate(part, first):
            amount, on = paid[r[member_at], r[month_at]]
            yield at, amount, on
