"""Simplified Chinese labels for statuses and flags."""

STATUS_LABELS = {
    "met": "已完成",
    "invalid": "无效",
    "missed": "逾期未完成",
    "due": "待完成",
    "upcoming": "未开始",
    "exempt": "免除",
}
STATUS_STYLES = {
    "met": "green",
    "invalid": "bold magenta",
    "missed": "bold red",
    "due": "yellow",
    "upcoming": "dim",
    "exempt": "dim",
}
FLAG_LABELS = {
    "unsigned": "未签字",
    "no_attendance": "未记应到或实到人数",
    "incomplete_evidence": "材料不全",
    "late_entry": "逾期录入",
    "wrong_date": "时间不符",
    "no_quorum": "人数不足",
    "early_election": "提前换届",
    "late_election": "逾期换届",
    "approved_delay": "经批准延期",
    "no_election_record": "无换届选举记录，如已换届请补录",
    "not_secretary": "非书记主讲",
    "unverified_lecturer": "未登记书记，无法核对主讲人",
    "paid_late": "逾期补交",
    "arrears_too_late": "补交超过6个月",
    "short_hours": "学时不足",
    "watch": "关注（未满6个月）",        # 满3个月 was read as 3 months, of a run of 5 (try-out); 7月起 says since when
    "review_membership": "满6个月，提请支部审查",
    "before_dues_start": "本党组织首次登记党费之前的月份",
    "before_tracking": "启用日期之前",
}


# Findings keyed by the month a run began (the six-month watch): "5月起".
SINCE_OBLIGATIONS = frozenset({"absence_watch", "dues_watch"})


def finding_period(obligation: str, key: str, year: int | None = None) -> str:
    """Return a finding's period label; a watch run reads from its first month on (5月起)."""
    label = period_label(key, year)
    return f"{label}起" if obligation in SINCE_OBLIGATIONS else label


# Flags of a record that does not count for its period: a period with only such records is still to do.
NOT_COUNTED_FLAGS = frozenset({"no_quorum", "wrong_date", "not_secretary", "arrears_too_late", "short_hours", "late_election"})


def not_counted_words(flags: tuple[str, ...] | list[str]) -> str:
    """Return what a period still due with records that do not count says of them (已有记录但人数不足), else ""."""
    why = [f for f in flags if f in NOT_COUNTED_FLAGS]
    return f"已有记录但{flag_text(why)}" if why else ""


def flag_text(flags: tuple[str, ...] | list[str]) -> str:
    """Return flags as Chinese words joined by 、."""
    return "、".join(FLAG_LABELS.get(f, f) for f in flags)


def problem_text(flags: tuple[str, ...] | list[str]) -> str:
    """Return a finding's flags as words: those that keep its records from counting first, the others after 另：.

    `2月20日（时间不符、逾期录入）` read as two reasons the record did not count, when 逾期录入 takes
    nothing away (try-out): `2月20日（时间不符；另：逾期录入）`, as `log` says it.
    """
    why = [f for f in flags if f in NOT_COUNTED_FLAGS]
    also = [f for f in flags if f not in why]
    if why and also:
        return f"{flag_text(why)}；另：{flag_text(also)}"
    return flag_text(why or also)


_CN_DIGITS = "一二三四"


def period_label(key: str, year: int | None = None) -> str:
    """Return a period key in short Chinese: 1月, 一季度, 上半年, 2026年, 1月10日; the year only when not `year`."""
    parts = key.split("-")
    if "/" in key:
        return key.replace("/", "至")
    if not parts[0].isdigit():
        return key
    prefix = "" if year is not None and int(parts[0]) == year else f"{parts[0]}年"
    if len(parts) == 1:
        return f"{parts[0]}年"
    if len(parts) == 3:
        return f"{prefix}{int(parts[1])}月{int(parts[2])}日"
    tail = parts[1]
    if tail.startswith("Q"):
        return f"{prefix}{_CN_DIGITS[int(tail[1]) - 1]}季度"
    if tail.startswith("H"):
        return f"{prefix}{'上' if tail == 'H1' else '下'}半年"
    return f"{prefix}{int(tail)}月"


def yuan(amount: float) -> str:
    """Return an amount of money as written: 12 for 12.0, 12.5 as it is."""
    return str(int(amount)) if float(amount).is_integer() else str(amount)


_CN_NUMBERS = "零一二三四五六七八九十"


def share_words(share: tuple[int, int, int]) -> str:
    """Return a quorum share in words: 半数 for (1, 2, 0), 三分之二 for (2, 3, 0), 三分之二以上 for (2, 3, 1)."""
    numerator, denominator, at_least = share
    words = "半数" if (numerator, denominator) == (1, 2) else f"{_CN_NUMBERS[denominator]}分之{_CN_NUMBERS[numerator]}"
    return words + ("以上" if at_least else "")


def quorum_words(share: tuple[int, int, int]) -> str:
    """Return what a quorum asks of those present, against those due: 超过应到人数的半数, 达到应到人数的三分之二以上."""
    return f"{'达到' if share[2] else '超过'}应到人数的{share_words(share)}"


def a_meeting(name: str) -> bool:
    """Tell whether a kind of record is a meeting held (支委会, 党课, 主题党日), not a task done (流动党员双联归档, 党课计划)."""
    return name.endswith(("会", "会议", "党课", "党日", "学习日"))
