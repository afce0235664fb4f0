"""Reminders: what each branch should hear about today, and sending it with retries.

`compose` is pure: findings in, one message per organization out (what falls due soon, what is
overdue). `deliver` sends what the outbox holds: console, e-mail over SMTP, or a group-robot
webhook (WeCom / DingTalk text messages), retrying with back-off; nothing is dropped.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Callable

from compliance.config import OWN_WEBHOOK, Settings
from compliance.errors import send_reason
from compliance.evaluate import Finding
from compliance.report.labels import SINCE_OBLIGATIONS, STATUS_LABELS, finding_period, flag_text, not_counted_words, problem_text
from compliance.store.timezone import TZ

log = logging.getLogger("compliance.reminders")
MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=1)       # 1, 2, 4, 8 minutes between attempts


@dataclass(frozen=True)
class Reminder:
    org_id: int
    org: str
    subject: str
    body: str
    reason: str
    late: int = 0           # lines of overdue items


# Members named in one line of a reminder; the rest are counted.
NAMES_SHOWN = 5


def _line(f: Finding, today: date, members: list[str] | None = None) -> str:
    """Return a reminder's line for a finding; with `members`, for that item of each of them (one line, not one each)."""
    if members:
        shown = "、".join(members[:NAMES_SHOWN]) + (f"等{len(members)}人" if len(members) > NAMES_SHOWN else "")
        who = f" {shown}"
    else:
        who = f" {f.group or f.member}" if f.group or f.member else ""
    when = finding_period(f.obligation, f.period, today.year)
    if f.obligation in SINCE_OBLIGATIONS:
        # The six-month watch is no task with a deadline: the branch looks into it, and at six months reviews it.
        if f.status == "due":
            return f"· {f.name}{who} {when}：{flag_text(f.flags) or '关注'}，{f.due.isoformat()}满6个月"
        return f"· {f.name}{who} {when}：{flag_text(f.flags) or STATUS_LABELS[f.status]}"
    if f.status == "upcoming":
        return f"· {f.name}{who} {when}：{(f.due - today).days}天后（{f.due.isoformat()}）"
    if f.status == "due":
        left = f"还剩{f.days_left}天（{f.due.isoformat()}截止）" if f.days_left else f"今天（{f.due.isoformat()}）截止"
        # A meeting held short of its quorum left the secretary thinking it done: status says why it does not count.
        counted = not_counted_words(f.flags)
        return f"· {f.name}{who} {when}：{left}" + (f"；{counted}" if counted else "")
    problems = f"（{problem_text(f.flags)}）" if f.flags else ""
    return f"· {f.name}{who} {when}：{STATUS_LABELS[f.status]}，已逾期{(today - f.due).days}天{problems}"


def _lines(findings: list[Finding], today: date, newest_first: bool) -> list[str]:
    """Return the lines for `findings`, by due date: one line per item, members owing the same item on one line."""
    groups: dict[tuple, list[Finding]] = {}
    for f in findings:
        key = (f.obligation, f.period, f.status, f.due, f.flags) if f.member else (id(f),)
        groups.setdefault(key, []).append(f)
    ordered = sorted(groups.values(), key=lambda g: g[0].due, reverse=newest_first)
    return [_line(g[0], today, [f.member for f in g if f.member] if g[0].member else None) for g in ordered]


def short_path(path: str) -> str:
    """Return an organization as a reminder names it: with its superior, as every village has a 第一党支部 (朱庄村党总支/第一党支部)."""
    return "/".join(path.split("/")[-2:])


def compose(findings: list[Finding], today: date, settings: Settings) -> list[Reminder]:
    """Return one reminder per organization: items due within their lead time, then overdue items, the latest first.

    An item every member owes (dues, a talk, training hours) is one line naming who has not done
    it, not a line per member: a branch's list ran to a hundred lines and a group robot's message
    was cut after the oldest of them.
    """
    soon: dict[int, list[Finding]] = {}
    late: dict[int, list[Finding]] = {}
    watched: dict[int, list[Finding]] = {}     # the six-month watch: members for the branch to look into, not tasks
    names: dict[int, str] = {}
    for f in findings:
        names[f.org_id] = f.org
        if f.obligation in SINCE_OBLIGATIONS:
            if f.status in ("due", "missed"):
                watched.setdefault(f.org_id, []).append(f)
        elif f.status == "due" and f.days_left is not None and f.days_left <= settings.lead(f.obligation):
            soon.setdefault(f.org_id, []).append(f)
        elif f.status == "upcoming" and (f.due - today).days <= settings.lead(f.obligation):
            soon.setdefault(f.org_id, []).append(f)     # a day of its own, not yet come (a 固定学习日)
        elif f.status in ("missed", "invalid"):
            late.setdefault(f.org_id, []).append(f)
    result = []
    for org_id in sorted(set(soon) | set(late) | set(watched), key=lambda i: names[i]):
        parts, reasons, late_lines = [], [], 0
        # Counted as the lines are: an item owed by several members is one.
        if soon.get(org_id):
            lines = _lines(soon[org_id], today, newest_first=False)
            parts.append("即将到期：\n" + "\n".join(lines))
            reasons.append(f"{len(lines)}项即将到期")
        if late.get(org_id):
            lines = _lines(late[org_id], today, newest_first=True)
            # A branch behind since January read every 固定学习日 of the year each morning, 已逾期322天 at the end (try-out):
            # the latest are listed, the earlier counted.
            shown = lines[:LATE_SHOWN] + ([f"……另有{len(lines) - LATE_SHOWN}项更早逾期的事项（compliance status 可查看全部）"]
                                           if len(lines) > LATE_SHOWN else [])
            parts.append("已经逾期（最近的在前）：\n" + "\n".join(shown))
            reasons.append(f"{len(lines)}项逾期")
            late_lines = len(lines)
        if watched.get(org_id):
            lines = _lines(watched[org_id], today, newest_first=False)
            parts.append("党员情况（请支部了解原因；满6个月的提请支部审查）：\n" + "\n".join(lines))
            reasons.append(f"{len(lines)}项党员情况")
        org = names[org_id]
        subject = f"【组织生活提醒】{short_path(org)} {today.isoformat()}"
        body = f"{org}：\n" + "\n\n".join(parts) + CLOSING
        result.append(Reminder(org_id, org, subject, body, "，".join(reasons), late_lines))
    return result


# The overdue items a reminder lists, the latest first; the earlier ones are counted.
LATE_SHOWN = 15

# What a reminder ends with.
CLOSING = "\n\n请按时完成并及时登记。"

# Organizations below a recipient named one by one in its reminder; the rest are counted.
DIGEST_SHOWN = 10


def with_digest(org_id: int, org: str, own: Reminder | None, below: list[Reminder], today: date) -> Reminder | None:
    """Return the reminder for a recipient at `org` (a township, say): its own items, then a line per organization below it that has any.

    A township office chases its villages: it got only its own items. None when neither has any.
    """
    if not below:
        return own
    # The most overdue first, a few of them: a group robot cuts a long message, and a county has hundreds below it.
    ranked = sorted(below, key=lambda r: (-r.late, r.org))
    # Named below the recipient, as `overdue --under` names them: the last two parts mixed 第9村党总支/第二党支部 with
    # 图河镇党委/官场村党支部 in one list (try-out).
    lines = [f"· {r.org[len(org) + 1:] if r.org.startswith(org + '/') else r.org}：{r.reason}" for r in ranked[:DIGEST_SHOWN]]
    if len(ranked) > DIGEST_SHOWN:
        lines.append(f"· 另有{len(ranked) - DIGEST_SHOWN}个党组织")
    digest = f"下属党组织（{len(below)}个有待办或逾期事项，逾期多的在前）：\n" + "\n".join(lines)
    if own is None:
        body = f"{org}：\n{digest}\n\n详见 compliance overdue --under {org}"
        return Reminder(org_id, org, f"【组织生活提醒】{short_path(org)} {today.isoformat()}", body, f"下属{len(below)}个党组织有事项")
    # The closing line last, after the organizations below: it stood between the two (try-out).
    body = own.body.removesuffix(CLOSING) + f"\n\n{digest}\n\n详见 compliance overdue --under {org}" + CLOSING
    return Reminder(org_id, org, own.subject, body, f"{own.reason}；下属{len(below)}个党组织有事项")


class SendError(Exception):
    """A message could not be delivered this time; the text says why."""


class Undeliverable(SendError):
    """A message that no retry can deliver (its recipient's robot is no longer in the settings): it fails for good at once."""


def send_console(message: dict) -> None:
    log.warning("%s\n%s", message["subject"], message["body"])


def send_email(settings: Settings, message: dict) -> None:
    """Send `message` by e-mail, over TLS as `settings.smtp_security` says (see `config.SMTP_SECURITY`).

    It has a Date and a Message-ID (RFC 5322; mail without them is often taken for spam), unique
    to each sending, with the outbox message's `id` in it. A user and password never go over a
    connection that is not encrypted unless `security` is "none": in "auto", a server on a port
    other than 465 that offers no STARTTLS is refused when a login is set.
    """
    if not settings.smtp_host:
        raise SendError("没有配置 SMTP 服务器")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.smtp_sender, message["recipient"], message["subject"]
    mail["Date"] = format_datetime(datetime.now(TZ).replace(microsecond=0))
    domain = settings.smtp_sender.rpartition("@")[2] or "localhost"
    mail["Message-ID"] = make_msgid(idstring=f"compliance.{message['id']}" if message.get("id") is not None else "compliance", domain=domain)
    mail.set_content(message["body"])
    security = settings.smtp_security
    if security == "auto":
        security = "ssl" if settings.smtp_port == 465 else "auto"
    where = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
    try:
        context = ssl.create_default_context(cafile=settings.smtp_ca_file)
        connect = smtplib.SMTP_SSL if security == "ssl" else smtplib.SMTP
        kwargs = {"context": context} if security == "ssl" else {}
        with connect(settings.smtp_host, settings.smtp_port, timeout=20, **kwargs) as smtp:
            if security in ("starttls", "auto"):
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=context)
                    smtp.ehlo()
                elif security == "starttls" or settings.smtp_user:
                    why = "（[smtp] security = \"starttls\"）" if security == "starttls" else "，不以明文发送用户名和密码"
                    raise SendError(f"{where}：服务器不支持 STARTTLS{why}；如服务器用465端口加密，请设 security = \"ssl\"；"
                                    "确需明文登录的内网服务器，设 security = \"none\"")
            if settings.smtp_user:
                try:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                except smtplib.SMTPNotSupportedError:
                    raise SendError(f"{where}：服务器不支持登录（AUTH）：不需要登录的服务器请去掉 user 和 password") from None
            smtp.send_message(mail)
    except SendError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        # A recipient the server refuses for good (5xx: no such mailbox) is not retried five times over a quarter of an
        # hour. Other 5xx replies are retried: some providers answer a rate limit with 550.
        codes = [code for code, _ in exc.recipients.values()] if isinstance(exc, smtplib.SMTPRecipientsRefused) else []
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        raise (Undeliverable if permanent else SendError)(f"{where}：{send_reason(exc)}") from None


# Group robots' error codes that a later try may get past: system busy (-1), over a rate or concurrency limit
# (WeCom 45009, 45033; DingTalk 130101, 410100).
WEBHOOK_TRANSIENT = frozenset({-1, 45009, 45033, 130101, 410100})
# Group robots cap a text message: WeCom at 2048 bytes, DingTalk at 20000.
WEBHOOK_LIMITS = {"wecom": 2048, "dingtalk": 20000}


def fit(text: str, limit: int) -> str:
    """Return `text` cut to at most `limit` UTF-8 bytes, saying so at the end when cut."""
    if len(text.encode("utf-8")) <= limit:
        return text
    tail = "\n……（内容较长，详见 compliance overdue）"
    budget = limit - len(tail.encode("utf-8"))
    cut = text.encode("utf-8")[:budget].decode("utf-8", "ignore")
    return cut.rsplit("\n", 1)[0] + tail


def _host(url: str) -> str:
    """Return the host (and port) of a web address: the address itself may carry a key (WeCom's ?key=...)."""
    return urllib.parse.urlsplit(url).netloc


def send_webhook(settings: Settings, message: dict) -> None:
    """Post a text message in the WeCom / DingTalk group-robot format ({"msgtype": "text", ...}).

    The address is read from the settings when sending (the outbox keeps no keys), so a
    corrected address applies to messages waiting for a retry: the recipient's own robot for a
    message to one (`Settings.webhook_for`), else [webhook] url.
    """
    url = settings.webhook_for(message["recipient"])
    if url is None and message["recipient"].startswith(OWN_WEBHOOK):
        raise Undeliverable(f"配置中已没有收件人「{message['recipient'][len(OWN_WEBHOOK):]}」的群机器人地址（[[recipient]] webhook）")
    if not url or not url.startswith(("http://", "https://")):
        raise SendError(f"webhook 地址未配置或不是 http(s) 地址：{url!r}")
    content = fit(f"{message['subject']}\n{message['body']}", WEBHOOK_LIMITS.get(settings.webhook_format, 2048))
    payload = {"msgtype": "text", "text": {"content": content}}
    request = urllib.request.Request(url, data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            answer = response.read().decode("utf-8", "replace")
    except (OSError, urllib.error.URLError, ValueError) as exc:
        raise SendError(f"webhook {_host(url)}：{send_reason(exc)}") from None
    try:
        said = json.loads(answer)
        code, why = said.get("errcode", 0), said.get("errmsg", "")
    except (ValueError, AttributeError):
        code, why = 0, ""
    if code != 0:
        # Busy or over its rate limit, the robot may take it later; any other error (a key no longer valid) it never will.
        error = Undeliverable if code not in WEBHOOK_TRANSIENT else SendError
        raise error(f"webhook {_host(url)}：群机器人返回错误（errcode {code}：{str(why)[:120]}）")


def deliver(store, settings: Settings, now: datetime, keep_lease: Callable[[], bool] | None = None,
            logged: list[int] | None = None) -> tuple[int, int, int]:
    """Send every message due at `now`; return (sent, failed and to be retried, failed for good). A failure is retried with back-off.

    Each message is claimed before it is sent, so two senders never send the same one; with
    `keep_lease`, the lease is renewed before each message and sending stops if it was lost.
    The ids of the messages only written to the log (channel "console", counted as sent) go to `logged`, when given.
    """
    sent = retrying = failed = 0
    for message in store.due_messages(now):
        if keep_lease is not None and not keep_lease():
            break
        if not store.claim_message(message.id):
            continue
        data = {"id": message.id, "recipient": message.recipient, "subject": message.subject, "body": message.body}
        try:
            if message.channel == "email":
                send_email(settings, data)
            elif message.channel == "webhook":
                send_webhook(settings, data)
            else:
                send_console(data)
                if logged is not None:
                    logged.append(message.id)
        except Exception as exc:  # any failure of one message is recorded; the others still go
            attempt = message.attempts + 1
            retry_at = now + BACKOFF * (2 ** (attempt - 1)) if attempt < MAX_ATTEMPTS and not isinstance(exc, Undeliverable) else None
            store.mark_failed(message.id, str(exc), retry_at)
            failed += retry_at is None
            retrying += retry_at is not None
            log.warning("提醒 %s 第%s次发送失败：%s", message.id, attempt, exc)
            continue
        store.mark_sent(message.id, now)
        sent += 1
    return sent, retrying, failed
