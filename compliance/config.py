"""Settings for reminders: who gets them, how they are sent, how long before a deadline.

Read from the TOML file in $COMPLIANCE_CONFIG, else `compliance.toml` in the user's config
folder; SMTP and webhook settings may also come from the environment (COMPLIANCE_SMTP_HOST,
COMPLIANCE_SMTP_PORT, COMPLIANCE_SMTP_SENDER, COMPLIANCE_SMTP_USER, COMPLIANCE_SMTP_PASSWORD,
COMPLIANCE_SMTP_SECURITY, COMPLIANCE_SMTP_CA_FILE, COMPLIANCE_WEBHOOK_URL, COMPLIANCE_WEBHOOK_FORMAT),
which wins over the file.

    [smtp]
    host = "smtp.example.cn"
    port = 465
    sender = "dangjianban@example.cn"
    security = "auto"           # ssl (port 465), starttls, none; auto: ssl on 465, else STARTTLS when offered (required with a user)
    ca_file = "/etc/ssl/our-ca.pem"     # a CA of the office's own, when the server's certificate is issued by one
    [webhook]
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
    format = "wecom"            # or "dingtalk"
    [lead_days]                 # remind this many days before a period's due date
    default = 5
    study_day = 3
    party_congress = 7
    [[recipient]]
    org = "图河镇党委/朱庄村党总支/第一党支部"    # code, path or unique name
    email = "zz1@example.cn"
    webhook = true              # the [webhook] robot; or its own robot's address: webhook = "https://…"
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from compliance.errors import InputError
from obligations.files import CatalogError, line_in_table, read_toml
from obligations.paths import example_file

WEBHOOK_FORMATS = ("wecom", "dingtalk")
# Days before its due date that reminders of an obligation start, unless [lead_days] names it: five, and a month for the
# year-end meetings, whose preparation (征求意见, 谈心谈话, 对照检查材料) takes weeks. With five, a branch heard of its
# 组织生活会 and 民主评议 from 26 December (try-out).
DEFAULT_LEAD = 5
PREPARED_LEADS = {"life_meeting": 30, "member_review": 30}
# How a mail server's connection is secured: TLS from the start (port 465), STARTTLS required,
# none at all; auto: TLS from the start on port 465, elsewhere STARTTLS whenever the server offers
# it, and required when a user is set (a password goes in clear only with none).
SMTP_SECURITY = ("auto", "ssl", "starttls", "none")


@dataclass(frozen=True)
class Recipient:
    org: str
    email: str | None = None
    webhook: bool = False
    webhook_url: str | None = None     # the recipient's own group robot, instead of [webhook] url


# The outbox's recipient of a message to a recipient's own robot: this and the recipient's org as
# configured. The address itself is read from the settings when sending: the outbox keeps no keys.
OWN_WEBHOOK = "webhook:"


@dataclass(frozen=True)
class Settings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "compliance@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "auto"
    smtp_ca_file: str | None = None      # PEM certificates to trust for the mail server, instead of the system's
    webhook_url: str | None = None
    webhook_format: str = "wecom"
    lead_days: dict[str, int] = field(default_factory=lambda: {"default": DEFAULT_LEAD, **PREPARED_LEADS})
    recipients: tuple[Recipient, ...] = ()
    path: str | None = None

    def unreached(self) -> list[str]:
        """Return what in the settings sends nothing: a channel without recipients, or recipients without their channel."""
        where = self.path or "配置"
        said = []
        if self.webhook_url and not any(r.webhook and not r.webhook_url for r in self.recipients):
            said.append(f"{where}：已配置 webhook 地址，但没有 [[recipient]] 设 webhook = true，不会发出群消息")
        if not self.webhook_url and any(r.webhook and not r.webhook_url for r in self.recipients):
            said.append(f"{where}：有 [[recipient]] 设 webhook = true，但没有配置 webhook 地址（[webhook] url 或 COMPLIANCE_WEBHOOK_URL），不会发出群消息")
        if self.smtp_host and not any(r.email for r in self.recipients):
            said.append(f"{where}：已配置 SMTP 服务器，但没有 [[recipient]] 填写 email，不会发出邮件")
        for r in self.recipients:
            if not r.email and not r.webhook:
                said.append(f"{where}：[[recipient]] {r.org} 没有 email，也没有 webhook，收不到任何消息")
        if not self.smtp_host and any(r.email for r in self.recipients):
            said.append(f"{where}：有 [[recipient]] 填写了 email，但没有配置 SMTP 服务器（[smtp] host 或 COMPLIANCE_SMTP_HOST），邮件发送会失败")
        return said

    def nobody(self) -> str | None:
        """Return what reminders reach with no settings at all (the log and the outbox alone), else None."""
        if self.recipients or self.smtp_host or self.webhook_url:
            return None
        return (f"没有配置收件人（配置文件 {config_path()}；可复制示例 {example_file('compliance.toml')} 到该位置后修改）："
                "提醒只写入日志和发件箱，不发邮件或群消息")

    def own_webhooks(self) -> list[tuple[str, Recipient]]:
        """Return the recipients with their own robot, each with the outbox's name of its messages.

        `OWN_WEBHOOK` + the org as configured; a second robot of the same org (a township's
        committee group and its office's) is `#2`, and so on, so that neither message is taken
        for the other's.
        """
        seen: dict[str, int] = {}
        found = []
        for r in self.recipients:
            if r.webhook_url:
                n = seen[r.org] = seen.get(r.org, 0) + 1
                found.append((f"{OWN_WEBHOOK}{r.org}" + (f"#{n}" if n > 1 else ""), r))
        return found

    def webhook_for(self, recipient: str) -> str | None:
        """Return the address a webhook message goes to: a recipient's own robot (named by `own_webhooks`), else [webhook] url."""
        if recipient.startswith(OWN_WEBHOOK):
            return next((r.webhook_url for name, r in self.own_webhooks() if name == recipient), None)
        return self.webhook_url

    def longest_lead(self) -> int:
        """Return the longest lead time of any obligation, in days."""
        return max([self.lead_days.get("default", DEFAULT_LEAD), *self.lead_days.values()])

    def lead(self, obligation: str) -> int:
        """Return how many days before a due date reminders start for `obligation`."""
        return self.lead_days.get(obligation, self.lead_days.get("default", DEFAULT_LEAD))


def config_path() -> Path:
    return Path(os.environ.get("COMPLIANCE_CONFIG") or platformdirs.user_config_path("compliance", appauthor=False) / "compliance.toml")


SECTIONS = {"smtp": {"host", "port", "sender", "user", "password", "security", "ca_file"}, "webhook": {"url", "format"}}
TOP_KEYS = {"smtp", "webhook", "lead_days", "recipient"}
RECIPIENT_KEYS = {"org", "email", "webhook"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _whole_address(url: str) -> bool:
    """Return whether `url` (beginning http:// or https://) has a host, no spaces and a valid port, if any."""
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
        parts.port      # ValueError when out of range
    except ValueError:
        return False
    return bool(parts.hostname) and not re.search(r"\s", url)


def load_settings(path: Path | None = None, obligations: Mapping[str, Any] | None = None) -> Settings:
    """Return the settings; a missing file means defaults (console reminders only).

    A setting that cannot be used is an InputError naming the file (or variable), the line and
    the value: an unknown section or key (a misspelt one would be ignored), a port that is not a
    number, an address that is not one, a lead time that is not a whole number of days or (given
    `obligations`, the vocabulary by slug: `Rules.kinds`) names no obligation, by code or name.
    """
    path = path or config_path()
    raw: dict = {}
    text = ""
    named = os.environ.get("COMPLIANCE_CONFIG")
    if named and Path(named) == path and not path.is_file():
        # Mistyped, it turned e-mail and webhooks off without a word: reminders went to the log alone.
        raise InputError(f"COMPLIANCE_CONFIG：配置文件 {path} {'是文件夹' if path.is_dir() else '不存在'}；"
                         "请改正路径，或取消这个环境变量以使用默认位置")
    if path.is_file():
        try:
            text, raw = read_toml(path)
        except CatalogError as exc:
            hint = "（设置名用英文，如 study_day；中文名须加引号，如 \"固定学习日\" = 3）" if "TOML" in exc.reason else ""
            raise InputError(f"配置文件 {exc}{hint}") from None

    def fail(reason: str, key: str | None = None, header: str | None = None, index: int = 0) -> InputError:
        line = line_in_table(text, header, key, index) if key or header else None
        return InputError(f"配置文件 {path}{f':{line}' if line else ''}：{reason}")

    for key, value in raw.items():
        if key not in TOP_KEYS:
            header = next((h for h in (f"[{key}]", f"[[{key}]]") if line_in_table(text, h, None)), None)
            raise fail(f"未知的设置「{key}」（可用：smtp、webhook、lead_days、recipient）", None if header else key, header)
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise fail(f"{key} 应写成 [{key}] 一节", key)
            for name in value:
                if name not in SECTIONS[key]:
                    raise fail(f"[{key}] 中未知的设置「{name}」（可用：{'、'.join(sorted(SECTIONS[key]))}）", name, f"[{key}]")
                if name != "port" and not isinstance(value[name], str):
                    raise fail(f"[{key}] {name} 应为文字，写在引号里（值：{value[name]!r}）", name, f"[{key}]")
    smtp, hook = raw.get("smtp", {}), raw.get("webhook", {})
    env = os.environ
    url = env.get("COMPLIANCE_WEBHOOK_URL") or hook.get("url")
    if url:
        url = url.strip()
        where = "环境变量 COMPLIANCE_WEBHOOK_URL" if env.get("COMPLIANCE_WEBHOOK_URL") else None
        reason = None
        if not re.match(r"https?://", url):
            reason = f"webhook 地址「{url}」应以 http:// 或 https:// 开头（群机器人的完整地址）"
        elif not _whole_address(url):
            # As a recipient's own robot is checked: "https://" alone failed every send later.
            reason = f"webhook 地址「{url}」不是完整的群机器人地址（缺少主机名、含空格或端口号无效）"
        if reason is not None:
            raise InputError(f"{where}：{reason}") if where else fail(f"[webhook] url：{reason}", "url", "[webhook]")
    sender = env.get("COMPLIANCE_SMTP_SENDER") or smtp.get("sender")
    if sender is not None and not EMAIL.fullmatch(sender.strip()):
        where = "环境变量 COMPLIANCE_SMTP_SENDER" if env.get("COMPLIANCE_SMTP_SENDER") else None
        reason = f"发件人「{sender}」不是邮箱地址"
        raise InputError(f"{where}：{reason}") if where else fail(f"[smtp] sender：{reason}", "sender", "[smtp]")
    security = (env.get("COMPLIANCE_SMTP_SECURITY") or smtp.get("security", "auto")).strip().lower()
    if security not in SMTP_SECURITY:
        reason = f"值「{security}」应为 {'、'.join(SMTP_SECURITY)} 之一（ssl：465端口；starttls：587等端口；auto：465用ssl，其他端口服务器支持时用starttls）"
        if env.get("COMPLIANCE_SMTP_SECURITY"):
            raise InputError(f"环境变量 COMPLIANCE_SMTP_SECURITY：{reason}")
        raise fail(f"[smtp] security：{reason}", "security", "[smtp]")
    ca_file = env.get("COMPLIANCE_SMTP_CA_FILE") or smtp.get("ca_file")
    if ca_file and not Path(ca_file).expanduser().is_file():
        reason = f"证书文件「{ca_file}」不存在"
        if env.get("COMPLIANCE_SMTP_CA_FILE"):
            raise InputError(f"环境变量 COMPLIANCE_SMTP_CA_FILE：{reason}")
        raise fail(f"[smtp] ca_file：{reason}", "ca_file", "[smtp]")
    fmt = env.get("COMPLIANCE_WEBHOOK_FORMAT") or hook.get("format", "wecom")
    if fmt not in WEBHOOK_FORMATS:
        if env.get("COMPLIANCE_WEBHOOK_FORMAT"):
            raise InputError(f"环境变量 COMPLIANCE_WEBHOOK_FORMAT：值「{fmt}」应为 {' 或 '.join(WEBHOOK_FORMATS)}")
        raise fail(f"[webhook] format 应为 {' 或 '.join(WEBHOOK_FORMATS)}（值：{fmt}）", "format", "[webhook]")
    leads = raw.get("lead_days", {})
    if not isinstance(leads, dict):
        raise fail("lead_days 应写成 [lead_days] 一节", "lead_days")
    lead = {"default": DEFAULT_LEAD, **PREPARED_LEADS}
    for name, days in leads.items():
        if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 366:
            raise fail(f"[lead_days] {name} 应为 0 到 366 的整数天数（值：{days!r}）", name, "[lead_days]")
        slug = name
        if obligations is not None and name != "default" and name not in obligations:
            # A Chinese name (quoted in TOML) is taken for its obligation's code.
            slug = next((k for k, kind in obligations.items() if name in (kind.name, *kind.aliases)), "")
            if not slug:
                raise fail(f"[lead_days] 中的「{name}」不是事项代码或名称（如 study_day 或 \"固定学习日\"，见 data/kinds.toml）",
                           name, "[lead_days]")
        lead[slug] = days
    recipients = []
    if not isinstance(raw.get("recipient", []), list):
        raise fail("收件人应写成 [[recipient]]（两层方括号），每个收件党组织一节", None, "[recipient]")
    for i, r in enumerate(raw.get("recipient", []), start=1):
        if not isinstance(r, dict) or not r.get("org") or not isinstance(r["org"], str):
            raise fail(f"第 {i} 个 [[recipient]] 须有 org（党组织的代码、路径或唯一名称）", "org", "[[recipient]]", i - 1)
        for name in r:
            if name not in RECIPIENT_KEYS:
                raise fail(f"第 {i} 个 [[recipient]] 中未知的设置「{name}」（可用：org、email、webhook）", name, "[[recipient]]", i - 1)
        email = r.get("email")
        if email is not None and (not isinstance(email, str) or not EMAIL.fullmatch(email.strip())):
            raise fail(f"第 {i} 个 [[recipient]] 的 email「{email}」不是邮箱地址", "email", "[[recipient]]", i - 1)
        hook_value = r.get("webhook", False)
        own = hook_value.strip() if isinstance(hook_value, str) else None
        if own is None and not isinstance(hook_value, bool):
            raise fail(f"第 {i} 个 [[recipient]] 的 webhook 应为 true、false 或群机器人地址（值：{hook_value!r}）", "webhook", "[[recipient]]", i - 1)
        if own is not None and not re.match(r"https?://", own):
            raise fail(f"第 {i} 个 [[recipient]] 的 webhook 应为 true、false 或以 http:// 或 https:// 开头的群机器人地址（值：{own!r}）",
                       "webhook", "[[recipient]]", i - 1)
        if own is not None and not _whole_address(own):
            raise fail(f"第 {i} 个 [[recipient]] 的 webhook 地址「{own}」不是完整的群机器人地址（缺少主机名、含空格或端口号无效）",
                       "webhook", "[[recipient]]", i - 1)
        recipients.append(Recipient(r["org"].strip(), email.strip() if email else None, bool(hook_value), own))
    port_text = env.get("COMPLIANCE_SMTP_PORT")
    port_value: object = port_text if port_text else smtp.get("port", 25)
    try:
        port = int(port_value) if not isinstance(port_value, bool) else -1
    except (TypeError, ValueError):
        port = -1
    if not 1 <= port <= 65535:
        if port_text:
            raise InputError(f"环境变量 COMPLIANCE_SMTP_PORT：值「{port_text}」不是端口号（1 到 65535 的整数）")
        raise fail(f"[smtp] port：值「{port_value}」不是端口号（1 到 65535 的整数）", "port", "[smtp]")
    return Settings(
        smtp_host=env.get("COMPLIANCE_SMTP_HOST") or smtp.get("host"), smtp_port=port,
        smtp_sender=env.get("COMPLIANCE_SMTP_SENDER") or smtp.get("sender", "compliance@localhost"),
        smtp_user=env.get("COMPLIANCE_SMTP_USER") or smtp.get("user"),
        smtp_password=env.get("COMPLIANCE_SMTP_PASSWORD") or smtp.get("password"),
        smtp_security=security, smtp_ca_file=str(Path(ca_file).expanduser()) if ca_file else None,
        webhook_url=url or None, webhook_format=fmt,
        lead_days=lead, recipients=tuple(recipients), path=str(path) if path.is_file() else None,
    )
