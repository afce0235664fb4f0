"""The time zone every date and instant of the tracker is read in."""

from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
