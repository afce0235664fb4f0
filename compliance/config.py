"""Settings for reminders: who gets them, how they are sent, how long before a deadline.

Read from the TOML file in $COMPLIANCE_CONFIG, else `compliance.toml` in the user's config
folder; SMTP and webhook settings may also come from the environment (COMPLIANCE_SMTP_HOST,
COMPLIANCE_SMTP_PORT, COMPLIANCE_SMTP_SENDER, COMPLIANCE_SMTP_USER, COMPLIANCE_SMTP_PASSWORD,
COMPLIANCE_WEBHOOK_URL, COMPLIANCE_WEBHOOK_FORMAT), which wins over the file.

    [smtp]
    host = "smtp.example.cn"
    port = 465
    sender = "dangjianban@example.cn"
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
    webhook = true
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from compliance.errors import InputError

WEBHOOK_FORMATS = ("wecom", "dingtalk")


@dataclass(frozen=True)
class Recipient:
    org: str
    email: str | None = None
    webhook: bool = False


@dataclass(frozen=True)
class Settings:
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "compliance@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    webhook_url: str | None = None
    webhook_format: str = "wecom"
    lead_days: dict[str, int] = field(default_factory=lambda: {"default": 5})
    recipients: tuple[Recipient, ...] = ()
    path: str | None = None

    def unreached(self) -> list[str]:
        """Return what in the settings sends nothing: a channel without recipients, or recipients without their channel."""
        where = self.path or "配置"
        said = []
        if self.webhook_url and not any(r.webhook for r in self.recipients):
            said.append(f"{where}：已配置 webhook 地址，但没有 [[recipient]] 设 webhook = true，不会发出群消息")
        if not self.webhook_url and any(r.webhook for r in self.recipients):
            said.append(f"{where}：有 [[recipient]] 设 webhook = true，但没有配置 webhook 地址（[webhook] url 或 COMPLIANCE_WEBHOOK_URL），不会发出群消息")
        if self.smtp_host and not any(r.email for r in self.recipients):
            said.append(f"{where}：已配置 SMTP 服务器，但没有 [[recipient]] 填写 email，不会发出邮件")
        if not self.smtp_host and any(r.email for r in self.recipients):
            said.append(f"{where}：有 [[recipient]] 填写了 email，但没有配置 SMTP 服务器（[smtp] host 或 COMPLIANCE_SMTP_HOST），邮件发送会失败")
        return said

    def lead(self, obligation: str) -> int:
        """Return how many days before a due date reminders start for `obligation`."""
        return self.lead_days.get(obligation, self.lead_days.get("default", 5))


def config_path() -> Path:
    return Path(os.environ.get("COMPLIANCE_CONFIG") or platformdirs.user_config_path("compliance", appauthor=False) / "compliance.toml")


def load_settings(path: Path | None = None) -> Settings:
    """Return the settings; a missing file means defaults (console reminders only)."""
    path = path or config_path()
    raw: dict = {}
    if path.is_file():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}：配置文件格式错误：{exc}") from None
    smtp, hook = raw.get("smtp", {}), raw.get("webhook", {})
    env = os.environ
    fmt = env.get("COMPLIANCE_WEBHOOK_FORMAT") or hook.get("format", "wecom")
    if fmt not in WEBHOOK_FORMATS:
        raise InputError(f"{path}：webhook format 应为 {' 或 '.join(WEBHOOK_FORMATS)}（值：{fmt}）")
    lead = {"default": 5, **{k: int(v) for k, v in raw.get("lead_days", {}).items()}}
    recipients = []
    for i, r in enumerate(raw.get("recipient", []), start=1):
        if not isinstance(r, dict) or not r.get("org"):
            raise InputError(f"{path}：第 {i} 个 [[recipient]] 须有 org")
        recipients.append(Recipient(r["org"], r.get("email"), bool(r.get("webhook", False))))
    try:
        port = int(env.get("COMPLIANCE_SMTP_PORT") or smtp.get("port", 25))
    except ValueError:
        raise InputError(f"SMTP 端口「{env.get('COMPLIANCE_SMTP_PORT')}」不是整数") from None
    return Settings(
        smtp_host=env.get("COMPLIANCE_SMTP_HOST") or smtp.get("host"), smtp_port=port,
        smtp_sender=env.get("COMPLIANCE_SMTP_SENDER") or smtp.get("sender", "compliance@localhost"),
        smtp_user=env.get("COMPLIANCE_SMTP_USER") or smtp.get("user"),
        smtp_password=env.get("COMPLIANCE_SMTP_PASSWORD") or smtp.get("password"),
        webhook_url=env.get("COMPLIANCE_WEBHOOK_URL") or hook.get("url"), webhook_format=fmt,
        lead_days=lead, recipients=tuple(recipients), path=str(path) if path.is_file() else None,
    )
