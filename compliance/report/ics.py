"""The coming obligations of an organization as an RFC 5545 calendar, with stable UIDs.

Dated occurrences (固定学习日) are all-day events on their day; period obligations are all-day
events on the period's last day with an alarm some days before. A UID is made from the
organization, obligation, period and group or member, so importing an updated file into a
phone's calendar updates its events instead of adding copies. An item done since is exported
cancelled (STATUS:CANCELLED, without its alarm), and every export carries a higher SEQUENCE: left
out, it stayed in a phone that had imported it, with its alarm.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Sequence

from icalendar import Alarm, Calendar, Event

from compliance.evaluate import Finding
from compliance.report.labels import not_counted_words, period_label
from compliance.tracking import WATCH_OBLIGATIONS

# SEQUENCE counts minutes from here: each export's is higher than the last one's.
_SEQUENCE_FROM = datetime(2020, 1, 1, tzinfo=timezone.utc)


def uid(f: Finding) -> str:
    who = f.group or f.member or ""
    return f"{f.org_id}-{f.obligation}-{f.period}-{who}@compliance"


def _when(f: Finding) -> str:
    """Return the period of `f` in words, and the day it moved to when a dated occurrence falls on a day of rest (顺延)."""
    label = period_label(f.period)
    if len(f.period.split("-")) == 3 and f.due.isoformat() != f.period:
        return f"{label}，顺延至{f.due.month}月{f.due.day}日"
    return label


def _event_uid(f: Finding, members: list[str]) -> str:
    """Return the stable UID of the event of `f` (of the members it stands for, when it stands for members)."""
    return f"{f.org_id}-{f.obligation}-{f.period}-members@compliance" if members else uid(f)


def _event(f: Finding, members: list[str], stamp: datetime, sequence: int, summary: str) -> Event:
    """Return the all-day event of `f` on its due day, titled `summary`."""
    event = Event()
    event.add("uid", _event_uid(f, members))
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("summary", summary)
    event.add("dtstart", f.due)
    event.add("dtend", f.due + timedelta(days=1))
    return event


def _dated(f: Finding) -> bool:
    """Return whether `f` is an occurrence on a day (固定学习日), not a period whose event stands on its last day."""
    return len(f.period.split("-")) == 3


def _names(members: list[str]) -> str:
    return "、".join(members[:5]) + (f"等{len(members)}人" if len(members) > 5 else "")


def _events(findings: list[Finding]) -> list[tuple[Finding, list[str]]]:
    """Return each event's finding, with the members it stands for: an item each member owes (党费 of a month) is one event, not one a member."""
    grouped: dict[tuple, tuple[Finding, list[str]]] = {}
    events: list[tuple[Finding, list[str]]] = []
    for f in findings:
        if not f.member:
            events.append((f, []))
            continue
        key = (f.obligation, f.period, f.due)
        if key not in grouped:
            grouped[key] = (f, [])
            events.append(grouped[key])
        grouped[key][1].append(f.member)
    return events


# The hour of the day an alarm rings, in the phone's time (an all-day event has no time zone).
ALARM_HOUR = 9


def build_calendar(findings: list[Finding], org: str, lead_days: dict[str, int], stamp: datetime,
                   done: Sequence[Finding] = (), missed: Sequence[Finding] = ()) -> bytes:
    """Return the .ics bytes for `findings` (their due dates), with an alarm `lead_days` before each; the items `done`, cancelled;
    and the items `missed` lately, marked 逾期 (a phone holding them from an earlier export kept them as still to do).

    Members' own items of one period are one event naming them; a calendar of six months had
    154 events, 19 of them each month for the members' dues. A period's event, on its last day,
    says 截止 in its title: 支委会（2026年12月） on 31 December read as a meeting that day (try-out).
    """
    sequence = max(0, int((stamp - _SEQUENCE_FROM).total_seconds() // 60))
    cal = Calendar()
    cal.add("prodid", "-//compliance//组织生活日历//ZH")
    cal.add("version", "2.0")
    # With its parent's name: a phone holding the calendars of several branches had three called 第一党支部 组织生活.
    cal.add("x-wr-calname", f"{''.join(org.split('/')[-2:])} 组织生活")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for f, members in sorted(_events(findings), key=lambda e: (e[0].due, e[0].obligation, e[0].period)):
        who = f" {_names(members)}" if members else f" {f.group}" if f.group else ""
        event = _event(f, members, stamp, sequence, f"{f.name}{who}（{_when(f)}）{'' if _dated(f) else '截止'}")
        counted = not_counted_words(f.flags)
        event.add("description", f"{org}：{f.name}{who}，{_when(f)}，截止 {f.due.isoformat()}" + (f"；{counted}" if counted else ""))
        lead = lead_days.get(f.obligation, lead_days.get("default", 5))
        if lead:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{f.name}{who} 还有{lead}天截止")
            # At 09:00 of the day `lead` days before: relative to an all-day event's start, -lead days alone rang at midnight.
            alarm.add("trigger", timedelta(days=-lead, hours=ALARM_HOUR))
            event.add_component(alarm)
        cal.add_component(event)
    for f, members in _events(list(missed)):
        who = f" {f.group}" if f.group else f" {_names(members)}" if members else ""
        event = _event(f, members, stamp, sequence, f"逾期：{f.name}{who}（{_when(f)}）")
        counted = not_counted_words(f.flags)
        event.add("description", f"{org}：{f.name}{who}，{_when(f)}，截止 {f.due.isoformat()}，"
                  + ("逾期未完成" if f.status == "missed" else "无效") + (f"（{counted}）" if counted else ""))
        cal.add_component(event)
    shown = {str(e["uid"]) for e in cal.walk("VEVENT")}
    for f, members in _events(list(done)):
        if _event_uid(f, members) in shown:
            continue        # some members still owe it: the event stands for them
        event = _event(f, members, stamp, sequence, f"已完成：{f.name}{f' {f.group}' if f.group else ''}（{_when(f)}）")
        event.add("status", "CANCELLED")
        cal.add_component(event)
    return cal.to_ical()


def coming(findings: list[Finding], today: date, until: date) -> list[Finding]:
    """Return the findings still to do between today and `until` (due or upcoming); a member's run of months away is no date to keep."""
    return [f for f in findings if f.status in ("due", "upcoming") and today <= f.due <= until and f.obligation not in WATCH_OBLIGATIONS]


# How far back an export marks items missed: a phone may hold them from an export made up to two months before.
MISSED_DAYS = 62


def missed_lately(findings: list[Finding], today: date) -> list[Finding]:
    """Return the findings missed or invalid whose due day fell within `MISSED_DAYS` before today (not a member's run of months away)."""
    since = today - timedelta(days=MISSED_DAYS)
    return [f for f in findings if f.status in ("missed", "invalid") and since <= f.due < today and f.obligation not in WATCH_OBLIGATIONS]


def done_by_then(findings: list[Finding], since: date, until: date) -> list[Finding]:
    """Return the findings done (met or exempt) whose due day falls between `since` and `until`: a calendar exported before has
    them (from before today too: one missed, marked 逾期, and made good since by a record entered late)."""
    return [f for f in findings if f.status in ("met", "exempt") and since <= f.due <= until and f.obligation not in WATCH_OBLIGATIONS]
