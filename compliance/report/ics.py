"""The coming obligations of an organization as an RFC 5545 calendar, with stable UIDs.

Dated occurrences (固定学习日) are all-day events on their day; period obligations are all-day
events on the period's last day with an alarm some days before. A UID is made from the
organization, obligation, period and group or member, so importing an updated file into a
phone's calendar updates its events instead of adding copies.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from compliance.evaluate import Finding
from compliance.report.labels import period_label


def uid(f: Finding) -> str:
    who = f.group or f.member or ""
    return f"{f.org_id}-{f.obligation}-{f.period}-{who}@compliance"


def build_calendar(findings: list[Finding], org: str, lead_days: dict[str, int], stamp: datetime) -> bytes:
    """Return the .ics bytes for `findings` (their due dates), with an alarm `lead_days` before each."""
    cal = Calendar()
    cal.add("prodid", "-//compliance//组织生活日历//ZH")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{org.rsplit('/', 1)[-1]} 组织生活")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    for f in sorted(findings, key=lambda f: (f.due, f.obligation, f.period)):
        event = Event()
        who = f" {f.group or f.member}" if f.group or f.member else ""
        event.add("uid", uid(f))
        event.add("dtstamp", stamp)
        event.add("summary", f"{f.name}{who}（{period_label(f.period)}）")
        event.add("dtstart", f.due)
        event.add("dtend", f.due + timedelta(days=1))
        event.add("description", f"{org}：{f.name}{who}，周期 {f.period}，截止 {f.due.isoformat()}")
        lead = lead_days.get(f.obligation, lead_days.get("default", 5))
        if lead:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", f"{f.name}{who} 还有{lead}天截止")
            alarm.add("trigger", timedelta(days=-lead))
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()


def coming(findings: list[Finding], today: date, until: date) -> list[Finding]:
    """Return the findings still to do between today and `until` (due or upcoming)."""
    return [f for f in findings if f.status in ("due", "upcoming") and today <= f.due <= until]
