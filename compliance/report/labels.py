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
    "no_attendance": "无出席人数",
    "incomplete_evidence": "材料不全",
    "late_entry": "逾期录入",
    "wrong_date": "时间不符",
    "no_quorum": "人数不足",
    "early_election": "提前换届",
    "late_election": "逾期换届",
}


def flag_text(flags: tuple[str, ...] | list[str]) -> str:
    """Return flags as Chinese words joined by 、."""
    return "、".join(FLAG_LABELS.get(f, f) for f in flags)
