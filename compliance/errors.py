"""One error hierarchy: each error carries its one-line message and exit code (todoman's way)."""

import errno
import re


class ComplianceError(Exception):
    """Base class: `str()` is the one-line message shown to the user.

    `details` are further one-line messages of the same kind, shown after it (a file's next bad
    rows, so that one round of fixing can mend them all).
    """

    exit_code = 1
    details: tuple[str, ...] = ()


class InputError(ComplianceError):
    """Bad input: a file, row, column or value that cannot be accepted."""

    exit_code = 2


class NotFound(ComplianceError):
    """Something named by the user does not exist, or the name is ambiguous."""

    exit_code = 3


class DatabaseError(ComplianceError):
    """The database cannot be opened, is not initialized, or refused a change."""

    exit_code = 4


class Cancelled(ComplianceError):
    """Ctrl-C stopped a command after it had written something the user must be told of."""

    exit_code = 130


class ScratchError(ComplianceError):
    """Temporary files could not be made or written: a full disk, a folder that cannot be written."""


# Why a file or folder could not be read or written, in the user's words (the system's own are English).
OS_REASONS = {errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "超出磁盘配额", errno.EFBIG: "文件超出允许的大小",
              errno.EACCES: "没有权限", errno.EPERM: "没有权限", errno.EROFS: "文件系统只读",
              errno.ENOENT: "文件或文件夹不存在", errno.ENOTDIR: "不是文件夹", errno.EISDIR: "是文件夹，不是文件",
              errno.EEXIST: "已存在", errno.ENAMETOOLONG: "文件名过长", errno.EMFILE: "打开的文件过多",
              errno.ENFILE: "打开的文件过多", errno.EIO: "读写出错（磁盘或网络存储故障）", errno.EBUSY: "正被占用",
              errno.ECONNREFUSED: "连接被拒绝", errno.ECONNRESET: "连接被对方重置", errno.ETIMEDOUT: "连接超时",
              errno.EHOSTUNREACH: "无法到达主机", errno.ENETUNREACH: "网络不可达"}


def os_reason(exc: OSError) -> str:
    """Return why `exc` happened in Chinese: its own reason when this program gave it one, else the reason for its errno, else the errno's name."""
    if exc.strerror and not exc.strerror.isascii():
        return exc.strerror
    if exc.errno in OS_REASONS:
        return OS_REASONS[exc.errno]
    return f"系统错误 {errno.errorcode.get(exc.errno, exc.errno)}" if exc.errno else "系统错误"


# SQLite's and the PostgreSQL driver's words for what went wrong (English), and the user's.
DB_REASONS = (("unable to open database file", "无法打开数据库文件（所在文件夹不存在，或没有权限）"),
              ("file is not a database", "不是数据库文件"),
              ("database is locked", "数据库正被其他程序写入（已锁定），请稍后再试"),
              ("attempt to write a readonly database", "数据库文件只读，无法写入"),
              ("database or disk is full", "磁盘空间不足"),
              ("disk I/O error", "磁盘读写出错"),
              ("database disk image is malformed", "数据库文件已损坏"),
              ("Connection refused", "无法连接数据库服务器（连接被拒绝：服务器是否在运行、地址和端口是否正确？）"),
              ("password authentication failed", "登录数据库服务器失败（用户名或密码不对）"),
              ("could not translate host name", "无法解析数据库服务器的主机名"),
              ("timeout expired", "连接数据库服务器超时"))
DRIVERS = {"psycopg": "pip install 'compliance[postgres]'", "psycopg2": "pip install 'compliance[postgres]'"}


def db_reason(exc: BaseException) -> str:
    """Return why the database could not be opened or used, in Chinese where the reason is a known one (the drivers' own words are English)."""
    if isinstance(exc, ImportError):
        if not exc.name:        # a driver that is there but cannot load (psycopg without its libpq)
            return f"数据库驱动无法加载：{exc}"
        module = exc.name.split(".")[0]
        how = DRIVERS.get(module)
        return f"缺少数据库驱动 {module}" + (f"，请安装：{how}" if how else "")
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    if text.startswith("Can't load plugin: sqlalchemy.dialects:"):
        kind = text.rsplit(":", 1)[-1]
        return f"不认识的数据库类型「{kind}」（应为 SQLite 文件路径，或 sqlite:///…、postgresql+psycopg://… 地址）"
    if text.startswith("Could not parse SQLAlchemy URL"):
        return "不是数据库地址（应为 SQLite 文件路径，或 sqlite:///…、postgresql+psycopg://… 地址）"
    for words, reason in DB_REASONS:
        if words in text:
            return reason
    missing = re.search(r'database "([^"]+)" does not exist', text)
    if missing:
        return f"数据库服务器上没有名为「{missing.group(1)}」的数据库"
    return text[:300]


def _reply(text: bytes | str) -> str:
    """Return a mail server's reply text, decoded and cut short."""
    said = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return said.strip()[:120]


def send_reason(exc: BaseException) -> str:
    """Return why sending to a mail server or a web address failed, in Chinese (urllib's and smtplib's own words are English)."""
    import smtplib
    import socket
    import ssl
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return f"服务器返回 HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        return send_reason(exc.reason)
    if isinstance(exc, urllib.error.URLError):
        return f"地址无法访问（{exc.reason}）"
    if isinstance(exc, socket.gaierror):
        return "无法解析主机名"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "连接超时"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "服务器不支持此请求（含中文的邮箱地址须服务器支持 SMTPUTF8）"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"服务器证书无法验证（{exc.verify_message}）；单位自建的证书请用 [smtp] ca_file 指定其根证书"
    if isinstance(exc, ssl.SSLError):
        return f"加密连接失败（{exc.reason or exc}）：请核对端口与 [smtp] security（465 用 ssl，587 用 starttls）"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return "登录失败（用户名或密码不对）"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # The server's own reply says why (550 5.1.1 User unknown): an address mistyped in the settings, say.
        replies = [f"{address}：{code} {_reply(text)}" for address, (code, text) in exc.recipients.items()]
        return "收件人被拒绝" + (f"（{'；'.join(replies)}）" if replies else "")
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"服务器拒绝（{exc.smtp_code} {_reply(exc.smtp_error)}）"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a server that took the connection and never answered as a disconnection.
        return "连接超时（服务器接受了连接但没有应答）" if "timed out" in str(exc) else "服务器断开了连接"
    if isinstance(exc, OSError):
        return os_reason(exc)
    return type(exc).__name__
