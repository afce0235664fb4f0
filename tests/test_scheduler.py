"""The scheduler with a controlled clock; reminders over real SMTP and HTTP servers on loopback; the calendar feed."""

from __future__ import annotations

import json
import re
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from icalendar import Calendar

from compliance.config import Recipient, Settings, load_settings
from compliance.reminders import deliver
from compliance.schedule import JobBook, Runner
from compliance.store import TZ, Store
from obligations.rules import default_rules

TOWN = "图河镇党委"
BRANCH = "图河镇党委/朱庄村党总支/第一党支部"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def supervision_runs(store: Store) -> list[tuple[str, int]]:
    scope = next(o.id for o in store.orgs() if o.path == TOWN)
    return [(r.month, r.revision) for r in store.runs(scope)]


@pytest.fixture
def book(town: Store):
    jobs = JobBook(town, clock=lambda: at("2026-11-20T12:00"))
    jobs.add_supervision(TOWN)
    jobs.close()
    return town


def test_the_25th_job_fires_once_a_month(book: Store, rules):
    runner = Runner(book, rules, Settings(), name="甲")
    assert runner.tick(at("2026-11-25T08:59"))[1] == []
    _, ran = runner.tick(at("2026-11-25T09:00:30"))
    assert any("2026-11 督查完成" in line for line in ran)
    assert runner.tick(at("2026-11-25T09:05"))[1] == []
    assert runner.tick(at("2026-11-30T23:00"))[1] == []
    runner.tick(at("2026-12-25T09:01"))
    assert supervision_runs(book) == [("2026-11", 1), ("2026-12", 1)]


def test_a_scheduler_down_on_the_25th_runs_the_missed_supervision_once_at_start_up(book: Store, rules):
    runner = Runner(book, rules, Settings(), name="甲")
    _, ran = runner.tick(at("2026-11-27T10:00"))
    assert sum("督查完成" in line for line in ran) == 1
    assert supervision_runs(book) == [("2026-11", 1)]
    assert runner.tick(at("2026-11-27T10:01"))[1] == []


def test_a_run_missed_beyond_its_grace_is_skipped_not_run_late(book: Store, rules):
    _, ran = Runner(book, rules, Settings(), name="甲").tick(at("2026-12-03T10:00"))
    assert any("超过宽限时间" in line for line in ran) and supervision_runs(book) == []
    # How to make up for it is said (try-out).
    assert any("如需补做，请运行 compliance supervise --under 图河镇党委 --month 2026-11" in line for line in ran), ran


def test_a_bulletin_the_job_cannot_write_is_one_line_saying_how_to_write_it(town: Store, rules, tmp_path: Path, runner, caplog):
    """A file where the bulletin's folder was: a traceback in the log, and the month's bulletin never written (try-out)."""
    from compliance.cli import app

    blocker = tmp_path / "afile"
    blocker.write_text("x", encoding="utf-8")
    refused = runner.invoke(app, ["--db", town.url, "scheduler", "add-supervision", "--under", TOWN, "--out", str(blocker)])
    assert refused.exit_code == 2 and "--out：无法写入" in refused.stderr
    folder = tmp_path / "通报"
    jobs = JobBook(town, clock=lambda: at("2026-11-20T12:00"))
    jobs.add_supervision(TOWN, out=str(folder))
    jobs.close()
    folder.write_text("x", encoding="utf-8")         # the share unmounted, a file in its place
    with caplog.at_level("ERROR", logger="compliance.schedule"):
        _, ran = Runner(town, rules, Settings(), name="甲").tick(at("2026-11-25T09:01"))
    [line] = [line for line in ran if "督查" in line]
    assert "2026-11 督查完成" in line and "已保存；但通报文件未能写入" in line and "\n" not in line
    assert "compliance supervise --under 图河镇党委 --month 2026-11 --out 目录" in line
    assert supervision_runs(town) == [("2026-11", 1)] and not any(r.exc_info for r in caplog.records)
    folder.unlink()
    _, ran = Runner(town, rules, Settings(), name="甲").tick(at("2026-12-25T09:01"))
    assert any("2026-12 督查完成" in line and f"通报：{folder}" in line for line in ran), ran


def test_the_job_of_a_township_dissolved_with_its_branches_says_so_instead_of_failing(book: Store, rules, tmp_path: Path):
    """A township dissolved with its branches: its job supervised it every month still, or, its villages moved to another
    township, failed every month with 没有党支部可以督查 (try-out)."""
    from compliance import importing
    from tests.conftest import write_csv

    rows = "名称,上级,类型,撤销日期\n图河镇党委,,乡镇党委,2026-10-31\n第一党支部,图河镇党委/朱庄村党总支,党支部,2026-10-31\n" \
           "第二党支部,图河镇党委/朱庄村党总支,党支部,2026-10-31\n马屯村党支部,图河镇党委,党支部,2026-11-15"
    importing.import_orgs(book, rules, write_csv(tmp_path / "o.csv", rows))
    # A branch still at work in November: November is supervised.
    _, ran = Runner(book, rules, Settings(), name="甲").tick(at("2026-11-25T09:01"))
    assert any("2026-11 督查完成" in line for line in ran), ran
    _, ran = Runner(book, rules, Settings(), name="甲").tick(at("2026-12-25T09:01"))
    assert [line for line in ran if "督查" in line] == [
        "图河镇党委 已于 2026-10-31 撤销，2026-12 未督查；如不再需要此任务，请运行 compliance scheduler remove supervision:图河镇党委"]
    assert supervision_runs(book) == [("2026-11", 1)]


def test_an_existing_run_of_the_month_is_not_repeated(book: Store, rules):
    from compliance.supervision import supervise

    supervise(book, rules, TOWN, "2026-11", date(2026, 11, 25))      # the team ran it by hand that morning
    _, ran = Runner(book, rules, Settings(), name="甲").tick(at("2026-11-25T09:01"))
    assert any("已有结果（判断日期 2026-11-25）" in line for line in ran) and supervision_runs(book) == [("2026-11", 1)]


def test_a_run_before_the_supervision_period_does_not_stand_for_the_months_check(book: Store, rules):
    """A check on the 5th saw the month's meetings still due: it kept the scheduled run of the 25th from running at all."""
    from compliance.supervision import supervise

    early = supervise(book, rules, TOWN, "2026-11", date(2026, 11, 5))
    _, ran = Runner(book, rules, Settings(), name="甲").tick(at("2026-11-25T09:01"))
    assert any("2026-11 督查完成" in line for line in ran)
    scope = next(o.id for o in book.orgs() if o.path == TOWN)
    assert [r.as_of for r in book.runs(scope, "2026-11")][-1] == date(2026, 11, 25) and early.run.as_of == date(2026, 11, 5)


def test_listing_the_jobs_does_not_move_a_run_that_is_already_due(town: Store):
    # The job book's paused scheduler, woken by its shutdown, used to process the jobs due by the
    # real clock once: a missed run the scheduler would have caught up at start-up was skipped.
    book = JobBook(town, clock=lambda: at("2020-01-20T12:00"))
    book.add_supervision(TOWN)
    book.close()
    for _ in range(3):
        again = JobBook(town)
        assert [j["next_run"] for j in again.jobs()] == ["2020-01-25T09:00+08:00"]
        again.close()
        time.sleep(0.2)       # the scheduler's thread outlives close() for a moment


def test_jobs_survive_a_restart(book: Store, rules):
    fresh = Store(book.url)
    listing = JobBook(fresh)
    try:
        assert [j["id"] for j in listing.jobs()] == [f"supervision:{TOWN}"]
    finally:
        listing.close()
    Runner(fresh, rules, Settings(), name="乙").tick(at("2026-11-25T09:01"))
    assert supervision_runs(fresh) == [("2026-11", 1)]


def test_a_second_scheduler_stands_by_and_takes_over_without_running_anything_twice(book: Store, rules):
    first = Runner(book, rules, Settings(), name="甲")
    second = Runner(Store(book.url), rules, Settings(), name="乙")
    assert first.tick(at("2026-11-25T08:00"))[0] is None
    holder, ran = second.tick(at("2026-11-25T08:00:30"))
    assert holder == "甲" and ran == []
    first.tick(at("2026-11-25T09:00:10"))                 # 甲 runs November, then dies
    holder, _ = second.tick(at("2026-11-25T09:01:00"))    # heartbeat still fresh
    assert holder == "甲"
    holder, ran = second.tick(at("2026-11-25T09:03:00"))  # 甲's lease has expired
    assert holder is None and not any("督查完成" in line for line in ran)
    second.tick(at("2026-12-25T09:00:10"))
    assert supervision_runs(book) == [("2026-11", 1), ("2026-12", 1)]


def test_sigterm_stops_the_scheduler_cleanly_and_frees_the_lease(book: Store):
    env = {**os.environ, "COMPLIANCE_DB": book.url}
    proc = subprocess.Popen([sys.executable, "-m", "compliance", "scheduler", "run", "--poll", "0.2", "--name", "丙"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert "调度器已启动" in line, proc.stderr.read()
    deadline = time.monotonic() + 20
    while Store(book.url).lease_holder()[0] != "丙" and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "调度器已停止" in out
    assert Store(book.url).lease_holder() == (None, None)


# Run in its own process: the scheduler, its SIGTERM sent by the first wait between ticks, from the
# waiting thread itself while it holds a lock (threading.Event's wait holds its own for an instant
# each time: a handler that set the event then waited for that lock for ever, once in ~40 runs of
# the test above). Sent only once the scheduler has put its own handler in.
SIGNAL_IN_THE_WAIT = """
import os, signal, sys, threading, time

sent = []

def send():
    if threading.current_thread() is threading.main_thread() and not sent \\
            and signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        sent.append(True)
        os.kill(os.getpid(), signal.SIGTERM)
        sum(range(10000))        # the handler runs here, between bytecodes

real_wait, real_sleep = threading.Event.wait, time.sleep

def wait(self, timeout=None):
    with self._cond:
        send()
    return real_wait(self, timeout)

def sleep(seconds):
    send()
    return real_sleep(seconds)

threading.Event.wait, time.sleep = wait, sleep
sys.argv = ["compliance", "scheduler", "run", "--poll", "0.2", "--name", "丁"]
from compliance.cli import main
main()
"""


def test_a_sigterm_that_comes_while_the_scheduler_waits_to_tick_stops_it(book: Store):
    env = {**os.environ, "COMPLIANCE_DB": book.url}
    proc = subprocess.Popen([sys.executable, "-c", SIGNAL_IN_THE_WAIT], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the scheduler did not stop within 60 s of a SIGTERM that came while it waited")
    assert proc.returncode == 0, err
    assert "调度器已启动" in out and "调度器已停止" in out
    assert Store(book.url).lease_holder() == (None, None)


# --- reminders -----------------------------------------------------------------------------

class Smtp:
    """A real SMTP server on 127.0.0.1 that refuses the first `failures` messages.

    With `tls` ("starttls" or "ssl"), it offers STARTTLS (and then only takes mail and logins
    after it) or speaks TLS from the start, with a certificate for 127.0.0.1 from `ca` (a
    trustme.CA); with `login`, a (user, password) it requires.
    """

    def __init__(self, failures: int, tls: str | None = None, ca=None, login: tuple[str, str] | None = None,
                 refuse: str | None = None, busy: str = "451 Try again later"):
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.failures, self.received, self.logins = failures, [], []
        outer = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if refuse is not None:
                    return refuse           # the reply to every recipient: 550 5.1.1 User unknown, say
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                if outer.failures > 0:
                    outer.failures -= 1
                    return busy
                outer.received.append(envelope)
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            given = (auth_data.login.decode(), auth_data.password.decode())
            outer.logins.append(given)
            return AuthResult(success=given == login)

        from tests.conftest import _free_port

        self.port = _free_port()
        options: dict = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ca.issue_cert("127.0.0.1").configure_cert(context)
            options = {"ssl_context": context} if tls == "ssl" else {"tls_context": context, "require_starttls": True}
        if login is not None:
            # Logins only after STARTTLS; a connection in TLS from the start (which aiosmtpd does not count as such) is one already.
            options.update(authenticator=authenticate, auth_require_tls=tls == "starttls")
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class Hook:
    """A real HTTP server on 127.0.0.1 answering like a group-robot webhook; fails the first `failures` posts."""

    def __init__(self, failures: int, answer: bytes = b'{"errcode":0,"errmsg":"ok"}'):
        self.failures, self.received = failures, []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.failures != 0:
                    outer.failures -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                outer.received.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=test"
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


def _remind(store: Store, rules, settings: Settings, when: str) -> None:
    from compliance.schedule import Context, reminders_job

    reminders_job(ctx=Context(store, rules, settings, at(when)), fire_time=at(when))


def test_reminders_go_by_email_and_webhook_once_per_branch_and_day(town: Store, rules):
    with Smtp(failures=2) as smtp, Hook(failures=2) as hook:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port, webhook_url=hook.url,
                            recipients=(Recipient("ZZ1", email="zz1@example.cn", webhook=True),))
        _remind(town, rules, settings, "2026-11-20T08:00")
        _remind(town, rules, settings, "2026-11-20T15:00")     # the same day again: nothing new
        start = at("2026-11-20T08:00")
        for minutes in (0, 1, 3, 7):                           # back-off: 1, 2, 4 minutes
            deliver(town, settings, start + timedelta(minutes=minutes))
        messages = town.messages()
        email = [m for m in messages if m.channel == "email"]
        webhook = [m for m in messages if m.channel == "webhook"]
        assert len(email) == len(webhook) == 1
        assert email[0].status == webhook[0].status == "sent" and email[0].attempts == 3
        assert len(smtp.received) == 1 and len(hook.received) == 1
        text = hook.received[0]["text"]["content"]
        assert hook.received[0]["msgtype"] == "text" and "第一党支部" in text and "逾期" in text
        mail = smtp.received[0].content.decode("utf-8", "replace")
        assert "zz1@example.cn" in smtp.received[0].rcpt_tos and "Subject:" in mail


def test_remind_now_makes_and_sends_todays_reminders_once(runner, tmp_path: Path, town: Store, monkeypatch):
    """An office that had just set up its mail could not see it work before the next morning's run (try-out)."""
    from compliance.cli import app

    with Smtp(failures=0) as smtp:
        config = tmp_path / "compliance.toml"
        config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n\n[[recipient]]\norg = "ZZ1"\nemail = "zz1@example.cn"\n',
                          encoding="utf-8")
        monkeypatch.setenv("COMPLIANCE_CONFIG", str(config))
        first = runner.invoke(app, ["--db", town.url, "scheduler", "remind-now"])
        assert first.exit_code == 0, first.output
        assert len(smtp.received) == 1 and "zz1@example.cn" in smtp.received[0].rcpt_tos
        queued = int(re.search(r"新增待发消息 (\d+) 条", first.stdout).group(1))
        # The mail, and the log's own lines, which are no sends (try-out: 成功 15 条 of reminders no one received).
        assert queued >= 2 and f"发送提醒：成功 1 条（另有 {queued - 1} 条只写入日志）" in first.stdout, first.stdout
        # The organizations no recipient hears are said: their reminders are logged, and 已发送 read as delivered
        # (administrator's try-out). ZZ1 has its recipient.
        [line] = [x for x in first.stdout.splitlines() if "新增待发消息" in x]
        unheard = line.split("无人收到：")[1].split("、")
        assert "本级和上级都没有配置收件人" in line and unheard and BRANCH not in unheard, line
        assert all(path.startswith("图河镇党委") for path in unheard), unheard
        again = runner.invoke(app, ["--db", town.url, "scheduler", "remind-now"])
        assert again.exit_code == 0 and "新增待发消息 0 条" in again.stdout and "发送提醒：成功 0 条" in again.stdout, again.output
        # Run again after the settings changed, it said 0 条 alone, not why (try-out).
        assert f"（另有 {queued} 条今天已经生成过，不再重复生成，内容不随改过的设置更新；新增的收件人今天即可收到）" in again.stdout, again.output
        assert "另有" not in line.split("；")[0]
        assert len(smtp.received) == 1
    assert [m.status for m in town.messages() if m.channel == "email"] == ["sent"]


def test_the_mornings_reminders_check_the_audit_chain(runner, town: Store, monkeypatch, tmp_path: Path):
    """An audit entry deleted in the database went unnoticed until someone ran audit verify (administrator's try-out)."""
    from sqlalchemy import text

    from compliance.cli import app

    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(tmp_path / "empty.toml"))
    quiet = runner.invoke(app, ["--db", town.url, "scheduler", "remind-now"])
    assert quiet.exit_code == 0 and "审计日志校验失败" not in quiet.stdout, quiet.output
    with town.engine.begin() as conn:
        conn.execute(text("DELETE FROM auditentry WHERE seq = 2"))
    warned = runner.invoke(app, ["--db", town.url, "scheduler", "remind-now"])
    assert warned.exit_code == 0, warned.output
    assert "警告：审计日志校验失败：第2条缺失" in "".join(warned.stdout.split()), warned.stdout


def test_remind_now_says_how_a_failed_send_is_retried_with_no_scheduler(runner, tmp_path: Path, town: Store, monkeypatch):
    """It said a failed send would be retried by the scheduler, which a new office does not run yet (review)."""
    from compliance.cli import app

    with Smtp(failures=1) as smtp:
        config = tmp_path / "compliance.toml"
        config.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n\n[[recipient]]\norg = "ZZ1"\nemail = "zz1@example.cn"\n',
                          encoding="utf-8")
        monkeypatch.setenv("COMPLIANCE_CONFIG", str(config))
        said = runner.invoke(app, ["--db", town.url, "scheduler", "remind-now"])
    assert said.exit_code == 0, said.output
    assert "待重试 1 条（运行中的调度器按时重试；未运行调度器时，改好设置后几分钟再运行 scheduler remind-now）" in said.stdout, said.stdout


def _fail_for_good(town: Store, rules, settings: Settings, day: str) -> None:
    """Queue the reminders of `day` and try them as the back-off does, until their five attempts are spent."""
    _remind(town, rules, settings, f"{day}T08:00")
    start = at(f"{day}T08:00")
    for minutes in (0, 1, 3, 7, 15, 31):
        deliver(town, settings, start + timedelta(minutes=minutes))


def test_a_server_that_always_fails_leaves_the_message_failed_and_kept(town: Store, rules):
    with Hook(failures=-1) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),))
        _fail_for_good(town, rules, settings, "2026-11-20")
        start = at("2026-11-20T08:00")
        [message] = [m for m in town.messages() if m.channel == "webhook"]
        assert message.status == "failed" and message.attempts == 5
        # In Chinese, naming the server but not the address's key (urllib said "HTTP Error 500: Internal Server Error").
        assert message.last_error == f"webhook 127.0.0.1:{hook.server.server_address[1]}：服务器返回 HTTP 500"
        assert town.messages(failed_only=True) == [message]
        assert town.retry_failed(start) == 1 and town.messages(failed_only=True) == []


def test_putting_failed_messages_back_is_logged(runner, town: Store, rules):
    """`outbox retry` changed the outbox and left no audit entry (try-out)."""
    from compliance.cli import app

    with Hook(failures=-1) as hook:
        _fail_for_good(town, rules, Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),)), "2026-11-20")
    done = runner.invoke(app, ["--db", town.url, "outbox", "retry"])
    assert done.exit_code == 0 and "已放回队列：1 条" in done.stdout
    [entry] = [e for e in town.audit_log() if e.entity == "outbox"]
    assert (entry.action, json.loads(entry.detail)) == ("retry", {"messages": 1})


def test_putting_failed_messages_back_leaves_those_a_later_days_message_replaced(town: Store, rules):
    """With the server down on the 2nd and back by the 5th, the 2nd's reminder, its day counts stale, went out just before the 5th's."""
    with Hook(failures=-1) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),))
        for day in ("2026-11-02", "2026-11-05"):
            _fail_for_good(town, rules, settings, day)
    failed = {m.day.isoformat(): m for m in town.messages(failed_only=True) if m.channel == "webhook"}
    assert sorted(failed) == ["2026-11-02", "2026-11-05"]
    assert town.retry_failed(at("2026-11-05T09:00")) == 1
    assert [m.day.isoformat() for m in town.messages(failed_only=True) if m.channel == "webhook"] == ["2026-11-02"]


def test_a_refusal_no_retry_can_get_past_fails_at_once_and_says_the_servers_reason(town: Store, rules):
    """A 550 for a mistyped address, and a robot's errcode 93000, were each tried five times over a quarter of an hour,
    one said as 收件人被拒绝 without the server's reason, the other as raw JSON (try-out)."""
    answer = '{"errcode":93000,"errmsg":"invalid webhook url, hint: [1700000000_1]"}'.encode()
    with Smtp(failures=0, refuse="550 5.1.1 User unknown") as smtp, Hook(failures=0, answer=answer) as hook:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port, webhook_url=hook.url,
                            recipients=(Recipient("ZZ1", email="zz1@example.cn", webhook=True),))
        _remind(town, rules, settings, "2026-11-20T08:00")
        assert deliver(town, settings, at("2026-11-20T08:00"))[2] == 2        # failed for good, at the first try
    errors = {m.channel: (m.status, m.attempts, m.last_error) for m in town.messages() if m.channel != "console"}
    assert errors["email"] == ("failed", 1, f"SMTP 127.0.0.1:{smtp.port}：收件人被拒绝（zz1@example.cn：550 5.1.1 User unknown）")
    port = hook.server.server_address[1]
    assert errors["webhook"] == ("failed", 1, f"webhook 127.0.0.1:{port}：群机器人返回错误（errcode 93000：invalid webhook url, hint: [1700000000_1]）")
    # Over its rate limit, a robot is tried again later; so is mail some providers refuse with 550 for sending too fast.
    with Hook(failures=0, answer=b'{"errcode":45009,"errmsg":"api freq out of limit"}') as busy, \
            Smtp(failures=1, busy="550 Ip frequency limited") as limited:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=limited.port, webhook_url=busy.url,
                            recipients=(Recipient("ZZ2", email="zz2@example.cn", webhook=True),))
        _remind(town, rules, settings, "2026-11-21T08:00")
        assert deliver(town, settings, at("2026-11-21T08:00"))[1:] == (2, 0)


def test_a_server_that_never_answers_is_said_to_time_out():
    """smtplib reports a server that took the connection and never replied as a disconnection, which the try-out took at its word."""
    import smtplib

    from compliance.errors import send_reason

    assert send_reason(smtplib.SMTPServerDisconnected("Connection unexpectedly closed: timed out")) == "连接超时（服务器接受了连接但没有应答）"
    assert send_reason(smtplib.SMTPServerDisconnected("Connection unexpectedly closed")) == "服务器断开了连接"


def test_a_server_that_refuses_the_connection_is_named_in_chinese(town: Store, rules):
    import socket

    with socket.socket() as closed:      # a port just given up: nothing listens on it
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, webhook_url=f"http://127.0.0.1:{port}/send?key=secret",
                        recipients=(Recipient("ZZ1", email="zz1@example.cn", webhook=True),))
    _remind(town, rules, settings, "2026-11-20T08:00")
    deliver(town, settings, at("2026-11-20T08:00"))
    errors = {m.channel: m.last_error for m in town.messages() if m.channel in ("email", "webhook")}
    # It said "<urlopen error [Errno 111] Connection refused>" and "SMTP：[Errno 111] Connection refused".
    assert errors == {"webhook": f"webhook 127.0.0.1:{port}：连接被拒绝", "email": f"SMTP 127.0.0.1:{port}：连接被拒绝"}


def test_outbox_list_names_each_messages_branch_without_reading_the_whole_tree(runner, town: Store, rules, monkeypatch):
    from compliance.cli import app
    from tests.conftest import whole_tree_reads

    settings = Settings(webhook_url="http://127.0.0.1:9/none", recipients=(Recipient("ZZ1", webhook=True),))
    _remind(town, rules, settings, "2026-11-20T08:00")
    with whole_tree_reads() as whole:
        result = runner.invoke(app, ["--db", town.url, "outbox", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    branch = "图河镇党委/朱庄村党总支/第一党支部"
    assert [r["org"] for r in rows if r["channel"] == "webhook"] == [branch]
    assert {r["org"] for r in rows} == {"图河镇党委", branch, "图河镇党委/朱庄村党总支/第二党支部", "图河镇党委/马屯村党支部"}
    assert whole == []
    monkeypatch.setenv("COLUMNS", "200")
    table = runner.invoke(app, ["--db", town.url, "outbox", "list"], terminal_width=200)
    assert "朱庄村党总支/第一党支部" in table.stdout
    # Nothing failed: said so, not that the outbox is empty.
    failed = runner.invoke(app, ["--db", town.url, "outbox", "list", "--failed"])
    assert failed.exit_code == 0 and failed.stdout.strip() == "没有发送失败的消息。"


def test_outbox_list_keeps_to_a_day_and_an_organization_when_asked(runner, town: Store, rules):
    """A year of a county's daily reminders was listed whole: no way to see this week's, or one village's (try-out)."""
    from compliance.cli import app

    settings = Settings(recipients=(Recipient("ZZ1", email="zz1@example.cn"),))
    _remind(town, rules, settings, "2026-11-20T08:00")
    _remind(town, rules, settings, "2026-11-26T08:00")
    args = ["--db", town.url, "outbox", "list", "--format", "json"]
    every = json.loads(runner.invoke(app, args).stdout)
    assert {r["day"] for r in every} == {"2026-11-20", "2026-11-26"}
    recent = json.loads(runner.invoke(app, args + ["--since", "2026-11-21"]).stdout)
    assert recent and {r["day"] for r in recent} == {"2026-11-26"} and len(recent) < len(every)
    village = json.loads(runner.invoke(app, args + ["--under", "朱庄村党总支"]).stdout)
    assert village and all(r["org"].startswith("图河镇党委/朱庄村党总支") for r in village)
    assert sorted(r["id"] for r in village) == sorted(r["id"] for r in every if r["org"].startswith("图河镇党委/朱庄村党总支"))
    none = runner.invoke(app, ["--db", town.url, "outbox", "list", "--since", "2026-12-01"])
    assert none.exit_code == 0 and none.stdout.strip() == "没有符合条件的消息。"
    bad = runner.invoke(app, ["--db", town.url, "outbox", "list", "--since", "上周"])
    assert bad.exit_code == 2 and "--since" in bad.stderr and "上周" in bad.stderr


def test_outbox_list_keeps_a_township_or_branch_user_to_their_own(runner, town: Store, rules):
    """Without --under, a branch secretary's outbox is her branch's: recipients' addresses of other branches are not hers (review)."""
    from compliance.cli import app

    settings = Settings(recipients=(Recipient("ZZ1", email="zz1@example.cn"), Recipient("MT", email="mt@example.cn")))
    _remind(town, rules, settings, "2026-11-20T08:00")
    db = ["--db", town.url]
    assert runner.invoke(app, db + ["user", "add", "县管理员", "--role", "县"]).exit_code == 0
    assert runner.invoke(app, db + ["--user", "县管理员", "user", "add", "陶英", "--role", "支部书记", "--org", "ZZ1"]).exit_code == 0
    every = json.loads(runner.invoke(app, db + ["--user", "县管理员", "outbox", "list", "--format", "json"]).stdout)
    assert {r["recipient"] for r in every} >= {"zz1@example.cn", "mt@example.cn"}
    mine = json.loads(runner.invoke(app, db + ["--user", "陶英", "outbox", "list", "--format", "json"]).stdout)
    assert mine and {r["org"] for r in mine} == {"图河镇党委/朱庄村党总支/第一党支部"} and "mt@example.cn" not in {r["recipient"] for r in mine}
    other = runner.invoke(app, db + ["--user", "陶英", "outbox", "list", "--under", "MT"])
    assert other.exit_code == 5, other.output
    none = runner.invoke(app, db + ["--user", "陶英", "outbox", "list", "--failed"])
    assert none.exit_code == 0 and none.stdout.strip() == "没有符合条件的消息。", none.stdout


def test_reminder_text_names_the_branch_obligation_period_and_days(town: Store, rules):
    from compliance.reminders import compose
    from compliance.tracking import Window, overdue

    today = date(2026, 11, 26)
    findings = overdue(town, rules, "ZZ1", Window(date(2026, 1, 1), today, today))
    [reminder] = compose(findings, today, Settings(lead_days={"default": 5}))
    assert "主题党日" in reminder.body and "还剩4天（2026-11-30截止）" in reminder.body
    # With its superior: every village has a 第一党支部, and a township's group chat gets all of them.
    assert "已逾期" in reminder.body and reminder.subject == "【组织生活提醒】朱庄村党总支/第一党支部 2026-11-26"


def test_the_year_end_meetings_are_reminded_of_a_month_ahead(town: Store, rules, tmp_path: Path):
    """With the lead of five days, a branch heard of its 组织生活会 and 民主评议 from 26 December: too late to prepare
    them (征求意见, 谈心谈话), where a 主题党日 needs none (try-out). A month, unless the settings name them."""
    from compliance.reminders import compose
    from compliance.tracking import Window, overdue

    today = date(2026, 12, 5)
    found = overdue(town, rules, "ZZ1", Window(date(2026, 1, 1), today, today))
    [reminder] = compose(found, today, load_settings(tmp_path / "none.toml", obligations=rules.kinds))
    soon = reminder.body.split("已经逾期", 1)[0]
    assert "组织生活会 2026年：还剩26天（2026-12-31截止）" in soon and "民主评议党员 2026年：还剩26天" in soon, reminder.body
    assert "主题党日" not in soon, reminder.body          # 26 days ahead: beyond its five
    config = tmp_path / "c.toml"
    config.write_text('[lead_days]\ndefault = 3\n"组织生活会" = 10\n', encoding="utf-8")
    [later] = compose(found, today, load_settings(config, obligations=rules.kinds))
    soon = later.body.split("已经逾期", 1)[0]
    assert "组织生活会" not in soon and "民主评议党员 2026年：还剩26天" in soon, later.body


def test_a_reminder_says_a_meeting_held_short_of_its_quorum_does_not_count(town: Store, rules):
    """The reminder said only 还剩6天 of a 党员大会 held with 8 of 17: the secretary took it for done (try-out)."""
    from compliance import importing
    from compliance.reminders import compose
    from compliance.tracking import Window, overdue

    importing.log_record(town, rules, {"org": "ZZ1", "kind": "党员大会", "date": "2026-11-16", "expected": "10", "present": "4",
                                       "topic": "学习", "secretary_signed": "是", "recorder_signed": "是"})
    today = date(2026, 12, 25)
    [reminder] = compose(overdue(town, rules, "ZZ1", Window(date(2026, 1, 1), today, today)), today, Settings(lead_days={"default": 7}))
    assert "党员大会 四季度：还剩6天（2026-12-31截止）；已有记录但人数不足" in reminder.body, reminder.body


# --- calendar --------------------------------------------------------------------------------

def test_calendar_feed_parses_and_keeps_its_uids(runner, tmp_path: Path, town: Store):
    from compliance.cli import app

    args = ["--db", town.url, "calendar", "--org", "ZZ1", "--months", "3"]
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    assert runner.invoke(app, args + ["--out", str(first)]).exit_code == 0
    assert runner.invoke(app, args + ["--out", str(second)]).exit_code == 0
    events = [Calendar.from_ical(p.read_bytes()).walk("VEVENT") for p in (first, second)]
    uids = [sorted(str(e["UID"]) for e in found) for found in events]
    assert uids[0] == uids[1] and len(uids[0]) == len(set(uids[0])) > 0
    study = [e for e in events[0] if str(e["SUMMARY"]).startswith("固定学习日")]
    assert study and all(e.walk("VALARM") for e in events[0] if not str(e["SUMMARY"]).startswith("逾期："))
    # A period's event, on its last day, says 截止: 支委会（2026年12月） on the 31st read as a meeting that day (try-out).
    titles = {str(e["SUMMARY"]) for e in events[0]}
    assert "支委会（2026年12月）截止" in titles and "固定学习日（2026年12月10日）" in titles, titles
    # What was missed lately is marked 逾期, at its due day: a phone holding it from an earlier export kept it as to do (try-out).
    late = {str(e["SUMMARY"]): e for e in events[0] if str(e["SUMMARY"]).startswith("逾期：")}
    assert late and all(not e.walk("VALARM") and e.decoded("DTSTART") < date(2026, 12, 5) for e in late.values()), sorted(late)
    assert all(date(2026, 10, 4) <= e.decoded("DTSTART") for e in late.values())
    said = runner.invoke(app, args + ["--out", str(first)]).stdout
    assert f"另有近两个月逾期未完成 {len(late)} 项，标为「逾期」" in said, said
    # An alarm 5 days before 10 December rings on 5 December at 09:00; it rang at midnight.
    [alarm] = study[0].walk("VALARM")
    start = study[0].decoded("DTSTART")
    rings = datetime.combine(start, datetime.min.time()) + alarm.decoded("TRIGGER")
    assert ((start - rings.date()).days, rings.hour) == (5, 9) and "还有5天截止" in str(alarm["DESCRIPTION"])
    # 20 December 2026 is a Sunday: its study day sits on the 21st, and its title said the 20th alone.
    [moved] = [e for e in study if e.decoded("DTSTART") == date(2026, 12, 21)]
    assert str(moved["SUMMARY"]) == "固定学习日（2026年12月20日，顺延至12月21日）"
    assert str(Calendar.from_ical(first.read_bytes())["X-WR-CALNAME"]) == "朱庄村党总支第一党支部 组织生活"
    # Three months from 5 December run to the end of March: the first quarter's meetings, due on 31 March, are in it.
    assert {e.decoded("DTSTART") for e in events[0] if str(e["SUMMARY"]).startswith("党员大会")} == {date(2026, 12, 31), date(2027, 3, 31)}
    # A name without .ics, which a phone does not take for a calendar, is given it.
    named = runner.invoke(app, args + ["--out", str(tmp_path / "日历")])
    assert named.exit_code == 0 and f"已写出{tmp_path / '日历.ics'}（" in "".join(named.stdout.split()) and (tmp_path / "日历.ics").is_file()
    assert not (tmp_path / "日历").exists() and "至2027-03-31；" in "".join(named.stdout.split())
    # A folder is no file name to add .ics to: `--out .` failed with a traceback (review).
    for folder in (".", str(tmp_path)):
        refused = runner.invoke(app, args + ["--out", folder])
        assert refused.exit_code == 2 and refused.stderr == f"错误：--out：无法写入 {folder}：是文件夹，不是文件\n", refused.output


def test_a_calendar_exported_again_cancels_what_has_been_done_since(runner, tmp_path: Path, town: Store, rules, monkeypatch):
    """A meeting held since was left out of the next export: a phone that had the first kept it, alarm and all (try-out)."""
    from compliance import importing, store as store_module
    from compliance.cli import app

    args = ["--db", town.url, "calendar", "--org", "ZZ1", "--months", "2"]
    first, second = tmp_path / "a.ics", tmp_path / "b.ics"
    assert runner.invoke(app, args + ["--out", str(first)]).exit_code == 0
    importing.log_record(town, rules, {"org": "ZZ1", "kind": "支委会", "date": "2026-12-04", "expected": "3", "present": "3",
                                       "topic": "研究年终组织生活会", "secretary_signed": "是", "recorder_signed": "是"})
    monkeypatch.setattr(store_module, "now", lambda: datetime(2026, 12, 5, 11, 0, tzinfo=TZ))
    result = runner.invoke(app, args + ["--out", str(second)])
    assert result.exit_code == 0, result.output
    before, after = ({str(e["UID"]): e for e in Calendar.from_ical(p.read_bytes()).walk("VEVENT")} for p in (first, second))
    [held] = [key for key in before if "-branch_committee-2026-12-" in key]
    assert str(after[held]["STATUS"]) == "CANCELLED" and not after[held].walk("VALARM")
    assert str(after[held]["SUMMARY"]).startswith("已完成：支委会")
    assert all(int(after[key]["SEQUENCE"]) > int(event["SEQUENCE"]) for key, event in before.items())
    late = sum(str(e["SUMMARY"]).startswith("逾期：") for e in after.values())
    cancelled = sum(str(e.get("STATUS", "")) == "CANCELLED" for e in after.values())
    assert f"（{len(after) - cancelled - late}项" in "".join(result.stdout.split())
    # A period gone by, marked 逾期, and made good since by a record entered late: cancelled too, not left as 逾期 (review).
    [november] = [key for key, e in before.items() if "-branch_committee-2026-11" in key]
    assert str(before[november]["SUMMARY"]).startswith("逾期：支委会")
    importing.log_record(town, rules, {"org": "ZZ1", "kind": "支委会", "date": "2026-11-20", "expected": "3", "present": "3",
                                       "topic": "研究发展党员", "secretary_signed": "是", "recorder_signed": "是"})
    third = tmp_path / "c.ics"
    assert runner.invoke(app, args + ["--out", str(third)]).exit_code == 0
    made_good = {str(e["UID"]): e for e in Calendar.from_ical(third.read_bytes()).walk("VEVENT")}[november]
    assert str(made_good["STATUS"]) == "CANCELLED" and str(made_good["SUMMARY"]).startswith("已完成：支委会"), made_good
    # What it says of an item is in words: 周期 2026-Q4 was the period's key.
    assert all("周期 20" not in str(e["DESCRIPTION"]) for e in before.values())


def test_a_calendar_has_one_event_for_an_item_every_member_owes(runner, tmp_path: Path, town: Store):
    """Six months made 154 events, 19 of them each month for each member's dues, and a member's run of months away as a deadline."""
    from compliance.cli import app

    member = next(m for m in town.members() if town.org_path(m.org_id).endswith("第一党支部"))
    assert runner.invoke(app, ["--db", town.url, "dues", "log", "--org", "ZZ1", "--member", member.name, "--month", "2026-10",
                               "--amount", "10", "--paid-on", "2026-10-05"]).exit_code == 0
    out = tmp_path / "c.ics"
    assert runner.invoke(app, ["--db", town.url, "calendar", "--org", "ZZ1", "--months", "3", "--out", str(out)]).exit_code == 0
    events = Calendar.from_ical(out.read_bytes()).walk("VEVENT")
    dues = [str(e["SUMMARY"]) for e in events if str(e["SUMMARY"]).startswith("党费")]
    months = {s[s.index("（"):] for s in dues}
    assert dues and len(dues) == len(months)                # one a month, not one a member
    assert all("等11人" in s for s in dues)
    assert not [e for e in events if "连续" in str(e["SUMMARY"])]


def test_a_calendar_goes_into_a_folder_not_yet_made(runner, tmp_path: Path, town: Store):
    """`supervise --out` and `backup` make a missing folder; `calendar --out` refused it with 没有那个文件或目录."""
    from compliance.cli import app

    out = tmp_path / "日程" / "第一党支部.ics"
    result = runner.invoke(app, ["--db", town.url, "calendar", "--org", "ZZ1", "--months", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert Calendar.from_ical(out.read_bytes()).walk("VEVENT")


def test_a_calendar_of_a_committee_with_nothing_of_its_own_points_to_its_branches(runner, tmp_path: Path, town: Store):
    from compliance.cli import app

    # A 党总支 owes its own elections only (a village's term: 5 years from 2025), none within a month.
    result = runner.invoke(app, ["--db", town.url, "calendar", "--org", "朱庄村党总支", "--months", "1", "--out", str(tmp_path / "t.ics")])
    assert result.exit_code == 0, result.output
    flat = "".join(result.stdout.split())
    assert "（0项" in flat and "提示：「图河镇党委/朱庄村党总支」本身在这段时间没有要召开的会议" in flat
    assert "（如--org图河镇党委/朱庄村党总支/第一党支部）" in flat
    branch = runner.invoke(app, ["--db", town.url, "calendar", "--org", "ZZ1", "--months", "1", "--out", str(tmp_path / "b.ics")])
    assert branch.exit_code == 0 and "（0项" not in "".join(branch.stdout.split()) and "提示" not in branch.stdout


def test_a_malformed_webhook_address_fails_the_message_not_the_scheduler(town: Store, rules):
    settings = Settings(webhook_url="qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc", recipients=(Recipient("ZZ1", webhook=True),))
    _remind(town, rules, settings, "2026-11-20T08:00")
    deliver(town, settings, at("2026-11-20T08:00"))
    [message] = [m for m in town.messages() if m.channel == "webhook"]
    assert message.status == "pending" and message.attempts == 1 and "http" in message.last_error
    assert message.recipient == "webhook"          # the address (and its key) is read from the settings when sending


def test_a_claimed_message_is_not_sent_by_a_second_sender(town: Store, rules):
    _remind(town, rules, Settings(), "2026-11-20T08:00")
    [message] = town.due_messages(at("2026-11-20T08:00"))[:1]
    assert town.claim_message(message.id) is True
    assert town.claim_message(message.id) is False


def test_long_webhook_messages_are_cut_to_the_robot_limit():
    from compliance.reminders import fit

    text = "\n".join(f"· 固定学习日 第{i}次：已经逾期" for i in range(300))
    cut = fit(text, 2048)
    assert len(cut.encode("utf-8")) <= 2048 and cut.endswith("详见 compliance overdue）")


# --- settings that send nothing ---------------------------------------------------------------

def test_a_webhook_without_recipients_is_pointed_out_when_reminders_are_added(runner, tmp_path: Path, town: Store, monkeypatch):
    """COMPLIANCE_WEBHOOK_URL without a [[recipient]] that takes it sent nothing, and nothing said so."""
    from compliance.cli import app

    config = tmp_path / "compliance.toml"
    config.write_text('[webhook]\nurl = "http://127.0.0.1:9/hook"\n\n[[recipient]]\norg = "ZZ1"\nemail = "zz1@example.org"\n',
                      encoding="utf-8")
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(config))
    result = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"])
    assert result.exit_code == 0, result.output
    flat = "".join(result.stdout.split())
    assert "提示：" + str(config) + "：已配置webhook地址，但没有[[recipient]]设webhook=true，不会发出群消息" in flat
    assert "没有配置SMTP服务器（[smtp]host或COMPLIANCE_SMTP_HOST），邮件发送会失败" in flat


def test_settings_whose_channels_reach_their_recipients_say_nothing():
    both = Settings(smtp_host="127.0.0.1", webhook_url="http://127.0.0.1:9/hook",
                    recipients=(Recipient("ZZ1", email="a@example.org"), Recipient("XZ1", webhook=True)))
    assert both.unreached() == [] and Settings().unreached() == [] and both.nobody() is None
    # No settings at all: reminders reach the log alone, said when they are added (the try-out expected mail).
    alone = Settings().nobody()
    assert alone.startswith("没有配置收件人（配置文件 ") and alone.endswith("提醒只写入日志和发件箱，不发邮件或群消息")
    # It pointed to the README's Reminders section (English, for developers); it names an example file in Chinese that
    # loads as it stands, every obligation of its [lead_days] known.
    example = Path(alone.split("可复制示例 ", 1)[1].split(" 到该位置", 1)[0])
    settings = load_settings(example, obligations=default_rules().kinds)
    assert example.name == "compliance.toml" and settings.lead_days["default"] == 5 and len(settings.recipients) == 3
    assert settings.lead("life_meeting") == 30 and settings.lead("study_day") == 3 and settings.lead("party_lecture") == 5
    assert settings.smtp_port == 465 and settings.webhook_format == "wecom" and not settings.unreached()
    assert Settings(smtp_host="127.0.0.1").unreached() == ["配置：已配置 SMTP 服务器，但没有 [[recipient]] 填写 email，不会发出邮件"]
    assert "没有配置 webhook 地址" in Settings(recipients=(Recipient("ZZ1", webhook=True),)).unreached()[0]


def test_a_config_file_named_but_missing_is_an_error_not_reminders_to_nobody(runner, tmp_path: Path, town: Store, monkeypatch):
    """A mistyped COMPLIANCE_CONFIG turned e-mail and webhooks off without a word (try-out)."""
    from compliance.cli import app

    monkeypatch.setenv("COMPLIANCE_CONFIG", str(tmp_path / "typo.toml"))
    result = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"])
    assert result.exit_code == 2 and f"COMPLIANCE_CONFIG：配置文件 {tmp_path / 'typo.toml'} 不存在" in result.stderr
    assert json.loads(runner.invoke(app, ["--db", town.url, "scheduler", "jobs", "--format", "json"]).stdout) == []
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(tmp_path / "empty.toml"))
    added = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"])
    assert added.exit_code == 0 and "提示：没有配置收件人" in added.stdout and "不发邮件或群消息" in "".join(added.stdout.split())


def test_adding_a_scope_s_supervision_again_says_it_replaces_the_job_and_what_it_drops(runner, tmp_path: Path, town: Store):
    """The second add-supervision said 已添加 and dropped the first one's --out without a word; jobs showed cron[day='25', …]."""
    from compliance.cli import app

    args = ["--db", town.url, "scheduler", "add-supervision", "--under", TOWN]
    first = runner.invoke(app, args + ["--out", str(tmp_path / "通报")])
    assert first.exit_code == 0 and "已添加任务supervision:图河镇党委（每月25日09:00）" in "".join(first.stdout.split())
    second = runner.invoke(app, args + ["--day", "26"])
    flat = "".join(second.stdout.split())
    assert "已替换任务supervision:图河镇党委（每月26日09:00）" in flat
    assert f"提示：原任务的通报输出目录{tmp_path / '通报'}不再使用；本任务不写通报文件，需要时请加--out" in flat
    rows = json.loads(runner.invoke(app, ["--db", town.url, "scheduler", "jobs", "--format", "json"]).stdout)
    assert [(r["trigger"], r["out"]) for r in rows] == [("每月26日 09:00", None)]
    assert runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders", "--time", "08:00"]).exit_code == 0
    rows = json.loads(runner.invoke(app, ["--db", town.url, "scheduler", "jobs", "--format", "json"]).stdout)
    assert sorted(r["trigger"] for r in rows) == ["每天 08:00", "每月26日 09:00"]


def test_adding_a_job_again_without_its_time_keeps_the_job_s_time(runner, town: Store):
    """add-reminders again without --time put the job back to 08:00 and said 已添加; add-supervision likewise went back to the 25th, 09:00."""
    from compliance.cli import app

    def said(*args: str) -> str:
        result = runner.invoke(app, ["--db", town.url, "scheduler", *args])
        assert result.exit_code == 0, result.output
        return "".join(result.stdout.split())

    assert said("add-reminders", "--time", "07:30").startswith("已添加任务reminders（每天07:30），下次运行")
    assert said("add-reminders").startswith("保留原任务reminders（每天07:30），下次运行")
    assert said("add-reminders", "--time", "09:00").startswith("已替换任务reminders（每天09:00），下次运行")
    supervision = ("add-supervision", "--under", TOWN)
    assert said(*supervision, "--day", "27", "--time", "10:15").startswith(f"已添加任务supervision:{TOWN}（每月27日10:15）")
    assert said(*supervision).startswith(f"保留原任务supervision:{TOWN}（每月27日10:15）")
    assert said(*supervision, "--time", "11:00").startswith(f"已替换任务supervision:{TOWN}（每月27日11:00）")
    assert said(*supervision, "--day", "26").startswith(f"已替换任务supervision:{TOWN}（每月26日11:00）")
    rows = json.loads(runner.invoke(app, ["--db", town.url, "scheduler", "jobs", "--format", "json"]).stdout)
    assert sorted(r["trigger"] for r in rows) == ["每天 09:00", "每月26日 11:00"]


def test_a_job_added_again_unchanged_keeps_the_run_it_still_owes(town: Store):
    """Added again as it was (保留原任务) after its time had passed while no scheduler ran, the job was rebuilt and November's run was lost."""
    first = JobBook(town, clock=lambda: at("2026-11-20T12:00"))
    try:
        first.add_supervision(TOWN)
        first.add_reminders()
    finally:
        first.close()
    later = JobBook(town, clock=lambda: at("2026-11-26T12:00"))
    try:
        later.add_supervision(TOWN)
        later.add_reminders()
        runs = {j["id"]: j["next_run"] for j in later.jobs()}
    finally:
        later.close()
    assert runs == {f"supervision:{TOWN}": "2026-11-25T09:00+08:00", "reminders": "2026-11-21T08:00+08:00"}


def test_jobs_say_which_runs_gone_by_a_scheduler_makes_as_it_makes_them(town: Store):
    """`scheduler jobs` checked the grace time against the first run gone by, where the runner makes the latest; and it said a
    supervision run would be made up after its month had ended, which the job refuses (review)."""
    from compliance.cli.scheduling import _missed_words

    book = JobBook(town, clock=lambda: at("2026-09-20T12:00"))
    try:
        book.add_supervision(TOWN)
        book.add_supervision("朱庄村党总支", day=28)
        book.add_reminders()
        months = {j["id"]: j for j in book.jobs(at("2026-12-05T10:00"))}
        ended = {j["id"]: j for j in book.jobs(at("2026-12-02T10:00"))}
    finally:
        book.close()
    town_job = months[f"supervision:{TOWN}"]
    assert (town_job["missed"], town_job["made_up"], town_job["next_run"]) == (
        ["2026-09-25T09:00+08:00", "2026-10-25T09:00+08:00", "2026-11-25T09:00+08:00"], False, "2026-12-25T09:00+08:00")
    assert _missed_words(town_job, TOWN, None) == (
        "（2026-09-25 09:00 至 2026-11-25 09:00 的 3 次运行已过而未运行：当时调度器未在运行，该月督查期（25日至月底）已过，不再补做；"
        f"如需补做，请对 2026-09、2026-10、2026-11 各运行 compliance supervise --under {TOWN} --month 该月）")
    daily = months["reminders"]
    assert (daily["made_up"], daily["next_run"], len(daily["missed"])) == (True, "2026-12-05T08:00+08:00", 76)
    # On 2 December the run of 28 November is within its 7 days of grace, but its month has ended: not made up.
    village = ended["supervision:图河镇党委/朱庄村党总支"]
    assert (village["missed"][-1], village["made_up"], village["next_run"]) == ("2026-11-28T09:00+08:00", False, "2026-12-28T09:00+08:00")
    assert _missed_words(village, "图河镇党委/朱庄村党总支", None).endswith(
        "的 3 次运行已过而未运行：当时调度器未在运行，该月督查期（25日至月底）已过，不再补做；"
        "如需补做，请对 2026-09、2026-10、2026-11 各运行 compliance supervise --under 图河镇党委/朱庄村党总支 --month 该月）")
    # Two years of a daily job gone by: the latest is judged, not the 400th (review).
    old_book = JobBook(town, clock=lambda: at("2024-12-01T12:00"))
    try:
        old_book.remove("reminders")
        old_book.add_reminders()
        [years] = [j for j in old_book.jobs(at("2026-12-05T10:00")) if j["id"] == "reminders"]
    finally:
        old_book.close()
    assert (years["made_up"], years["next_run"], len(years["missed"]), years["missed"][0]) == (
        True, "2026-12-05T08:00+08:00", 734, "2024-12-02T08:00+08:00")


def test_a_job_added_again_unchanged_says_when_its_owed_run_went_by(runner, town: Store):
    """保留原任务 …，下次运行 showed a time gone by, with no word of it, where `scheduler jobs` said it (try-out)."""
    from compliance.cli import app

    first = JobBook(town, clock=lambda: at("2026-11-20T12:00"))
    try:
        first.add_reminders()
    finally:
        first.close()
    again = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"], env={"COLUMNS": "300"})
    assert again.exit_code == 0, again.output
    # Daily since 21 November: the runs gone by are made once, as the latest, this morning's, within its grace time (review).
    assert "保留原任务 reminders（每天 08:00），下次运行 2026-12-05T08:00+08:00（已过而未运行：当时调度器未在运行；" \
           "在宽限时间内启动 scheduler run 即补做；更早的 14 次不再补做）" in again.stdout, again.stdout
    wrong = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders", "--time", "0800"])
    assert wrong.exit_code != 0 and "--time：值「0800」应写作 时:分，如 08:00" in wrong.stderr, wrong.output


@pytest.mark.parametrize("body, message", [
    # The port's value was shown as None, with no file, after the job had been changed.
    ('[smtp]\nhost = "127.0.0.1"\nport = "twenty-five"\n', ":3：[smtp] port：值「twenty-five」不是端口号（1 到 65535 的整数）"),
    ('[smtp]\nhost = "127.0.0.1"\nprot = 25\n', ":3：[smtp] 中未知的设置「prot」"),
    ('[lead_days]\nstudy_dya = 3\n', ":2：[lead_days] 中的「study_dya」不是事项代码"),
    ('[lead_days]\nparty_congress = -2\n', ":2：[lead_days] party_congress 应为 0 到 366 的整数天数（值：-2）"),
    ('[[recipient]]\norg = "ZZ1"\n\n[[recipient]]\norg = "ZZ2"\nemail = "not-an-email"\n',
     ":6：第 2 个 [[recipient]] 的 email「not-an-email」不是邮箱地址"),
    ('[[recipient]]\norg = "ZZ1"\nwebhook = "yes"\n', ":3：第 1 个 [[recipient]] 的 webhook 应为 true、false 或以 http:// 或 https:// 开头的群机器人地址"),
    ('[smpt]\nhost = "x"\n', ":1：未知的设置「smpt」"),
    ('[smtp\nhost = "x"\n', ":1: TOML 语法错误"),
    # A number where an address goes failed every send with Python's English; one pair of brackets read as "no org".
    ('[webhook]\nurl = 123\n', ":2：[webhook] url 应为文字，写在引号里（值：123）"),
    ('[recipient]\norg = "ZZ1"\nemail = "a@example.org"\n', ":1：收件人应写成 [[recipient]]（两层方括号）"),
    # An address without its scheme failed every send later; a sender that is no address was taken.
    ('[webhook]\nurl = "127.0.0.1:18765/send"\n', ":2：[webhook] url：webhook 地址「127.0.0.1:18765/send」应以 http:// 或 https:// 开头"),
    # The shared robot's address was checked for its scheme only: "https://" alone was taken, and every send failed.
    ('[webhook]\nurl = "https://"\n', ":2：[webhook] url：webhook 地址「https://」不是完整的群机器人地址（缺少主机名、含空格或端口号无效）"),
    ('[webhook]\nurl = "https://qyapi.weixin.qq.com:99999/send"\n', "「https://qyapi.weixin.qq.com:99999/send」不是完整的群机器人地址"),
    ('[smtp]\nhost = "127.0.0.1"\nsender = "dangjianban"\n', ":3：[smtp] sender：发件人「dangjianban」不是邮箱地址"),
    ('[lead_days]\n固定学习日 = 3\n', ":2: TOML 语法错误（第1列附近）（设置名用英文，如 study_day；中文名须加引号"),
])
def test_a_reminder_setting_that_cannot_be_used_is_named_before_anything_changes(runner, tmp_path: Path, town: Store, monkeypatch,
                                                                                 body: str, message: str):
    """Misspelt keys, impossible lead times and addresses passed; a bad port was named as 「None」 once the job was changed."""
    from compliance.cli import app
    from compliance.schedule import JobBook

    config = tmp_path / "compliance.toml"
    config.write_text(body, encoding="utf-8")
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(config))
    result = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith(f"错误：配置文件 {config}") and message in result.stderr, result.stderr
    book = JobBook(town)
    try:
        assert book.jobs() == []
    finally:
        book.close()


def test_a_recipient_the_tree_does_not_hold_is_pointed_out(runner, tmp_path: Path, town: Store, monkeypatch):
    from compliance.cli import app

    config = tmp_path / "compliance.toml"
    config.write_text('[smtp]\nhost = "127.0.0.1"\n\n[[recipient]]\norg = "不存在村党支部"\nemail = "a@example.org"\n', encoding="utf-8")
    monkeypatch.setenv("COMPLIANCE_CONFIG", str(config))
    monkeypatch.setenv("COMPLIANCE_SMTP_PORT", "0")
    refused = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"])
    assert refused.exit_code == 2 and "环境变量 COMPLIANCE_SMTP_PORT：值「0」不是端口号" in refused.stderr
    monkeypatch.delenv("COMPLIANCE_SMTP_PORT")
    result = runner.invoke(app, ["--db", town.url, "scheduler", "add-reminders"])
    assert result.exit_code == 0, result.output
    assert "收件党组织「不存在村党支部」找不到，不会收到提醒" in "".join(result.stdout.split())


def test_a_reminder_names_members_owing_one_item_on_one_line_latest_first():
    """One line per member and oldest first: a branch got 51-140 lines and the robot's cut kept only year-old dues."""
    from compliance.evaluate import Finding
    from compliance.reminders import compose

    today = date(2026, 12, 5)
    path = "图河镇党委/朱庄村党总支/第一党支部"
    members = [f"党员{i}" for i in range(7)]
    findings = [Finding(1, path, "dues", "党费", month, "missed", due, None, (), (), member=m)
                for month, due in (("2025-12", date(2025, 12, 31)), ("2026-10", date(2026, 10, 31))) for m in members]
    findings.append(Finding(1, path, "party_congress", "党员大会", "2026-Q3", "missed", date(2026, 9, 30), None, (), ("unsigned",)))
    # A member's month paid too late is said so, apart from those not paid.
    findings.append(Finding(1, path, "dues", "党费", "2026-03", "invalid", date(2026, 3, 31), None, (-9,), ("arrears_too_late",), member="张三"))
    [reminder] = compose(findings, today, Settings())
    lines = [line for line in reminder.body.splitlines() if line.startswith("·")]
    assert lines == ["· 党费 党员0、党员1、党员2、党员3、党员4等7人 10月：逾期未完成，已逾期35天",
                     "· 党员大会 三季度：逾期未完成，已逾期66天（未签字）",
                     "· 党费 张三 3月：无效，已逾期249天（补交超过6个月）",
                     "· 党费 党员0、党员1、党员2、党员3、党员4等7人 2025年12月：逾期未完成，已逾期339天"]
    assert reminder.reason == "4项逾期" and reminder.late == 4      # as many as the lines


def test_a_township_recipient_hears_which_branches_below_it_have_items(town: Store, rules):
    """A [[recipient]] at the township got only the township's own item, not its villages' overdue items."""
    with Hook(failures=0) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("TH", webhook=True),))
        _remind(town, rules, settings, "2026-11-20T08:00")
        deliver(town, settings, at("2026-11-20T08:00"))
        [sent] = [m for m in town.messages() if m.channel == "webhook"]
        assert sent.status == "sent"
        text = hook.received[0]["text"]["content"]
    assert "下属党组织（3个有待办或逾期事项，逾期多的在前）：" in text
    # Named below the township, as `overdue --under` names them; 图河镇党委/马屯村党支部 stood beside 朱庄村党总支/第一党支部 (try-out).
    for branch in ("朱庄村党总支/第一党支部", "朱庄村党总支/第二党支部", "马屯村党支部"):
        assert f"· {branch}：" in text
    assert "图河镇党委/马屯村党支部" not in text
    assert "详见 compliance overdue --under 图河镇党委" in text
    # The township's own items come first and the closing line last, not between them (try-out).
    assert text.count("请按时完成并及时登记。") == 1 and text.endswith("请按时完成并及时登记。"), text
    assert text.index("下属党组织") < text.index("请按时完成并及时登记。")
    # Its own items and the list below stand apart, a blank line between them (review: they ran onto one line).
    assert "\n\n下属党组织（" in text, text


def test_a_send_to_be_retried_is_not_counted_as_failed_nor_as_sent(town: Store, rules):
    """`scheduler run` said 成功 16 条，失败 0 条 when 6 sends had just failed and waited to be retried."""
    with Hook(failures=1) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),))
        _remind(town, rules, settings, "2026-11-20T08:00")
        _, said = Runner(town, rules, settings, name="甲").tick(at("2026-11-20T08:00:30"))
    assert [line for line in said if line.startswith("发送提醒")] == ["发送提醒：成功 4 条，待重试 1 条，最终失败 0 条"]
    # `outbox list --failed` showed nothing while it waited to be retried.
    [waiting] = town.messages(failed_only=True)
    assert waiting.channel == "webhook" and waiting.status == "pending" and waiting.last_error


def test_outbox_csv_and_table_say_channel_and_status_in_chinese(runner, town: Store, rules, monkeypatch):
    """The CSV said `webhook` and `pending`, the table `console`; the help promised the content, which only JSON had."""
    import csv
    import io

    from compliance.cli import app

    settings = Settings(webhook_url="http://127.0.0.1:9/none", recipients=(Recipient("ZZ1", webhook=True),))
    _remind(town, rules, settings, "2026-11-20T08:00")
    rows = list(csv.DictReader(io.StringIO(runner.invoke(app, ["--db", town.url, "outbox", "list", "--format", "csv"]).stdout)))
    assert {(r["渠道"], r["状态"]) for r in rows} == {("日志", "待发送"), ("群机器人", "待发送")}
    assert all(r["内容"].startswith(r["党组织"]) for r in rows)
    as_json = json.loads(runner.invoke(app, ["--db", town.url, "outbox", "list", "--format", "json"]).stdout)
    assert {(r["channel"], r["status"]) for r in as_json} == {("console", "pending"), ("webhook", "pending")}
    monkeypatch.setenv("COLUMNS", "200")
    table = runner.invoke(app, ["--db", town.url, "outbox", "list"], terminal_width=200).stdout
    assert "console" not in table and "webhook" not in table and "群机器人" in table and "日志" in table
    # The table named no recipient: which robot or address a message goes to was only in JSON and CSV.
    assert "共用群机器人" in table


def test_a_digest_names_the_most_overdue_organizations_first_and_counts_the_rest():
    from compliance.reminders import Reminder, with_digest

    today = date(2026, 12, 5)
    below = [Reminder(i, f"图河镇党委/村{i:02d}党支部", "s", "b", f"{i}项逾期", i) for i in range(1, 13)]
    sent = with_digest(99, "图河镇党委", None, below, today)
    lines = [line for line in sent.body.splitlines() if line.startswith("·")]
    assert lines[0] == "· 村12党支部：12项逾期" and lines[9] == "· 村03党支部：3项逾期"
    assert lines[10:] == ["· 另有2个党组织"] and "下属党组织（12个有待办或逾期事项" in sent.body and "逾期多的在前" in sent.body


def test_reminders_list_what_overdue_lists(town: Store, rules):
    """Reminders looked back a year: last year's periods, which `overdue` never shows, filled every message."""
    from compliance.tracking import Window, overdue, year_start

    with Hook(failures=0) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),))
        _remind(town, rules, settings, "2026-02-10T08:00")
        deliver(town, settings, at("2026-02-10T08:00"))
        text = hook.received[0]["text"]["content"]
    today = date(2026, 2, 10)
    listed = overdue(town, rules, "ZZ1", Window(year_start(today), today, today))
    assert "2025年" not in text and listed and all(f.due.year == 2026 for f in listed if f.status in ("missed", "invalid"))


def test_reminder_settings_take_a_notepad_file_and_chinese_names_of_obligations(tmp_path: Path, rules):
    """A file saved by Notepad (with a byte-order mark) was a TOML syntax error at line 1; 固定学习日 was no key."""
    from compliance.config import load_settings

    config = tmp_path / "compliance.toml"
    config.write_bytes('[lead_days]\n"固定学习日" = 3\nparty_congress = 7\n'.encode("utf-8-sig"))
    settings = load_settings(config, obligations=rules.kinds)
    assert settings.lead("study_day") == 3 and settings.lead("party_congress") == 7 and settings.lead("theme_day") == 5


def test_a_recipient_with_its_own_robot_gets_its_messages_there(tmp_path: Path, town: Store, rules, monkeypatch):
    """Every `webhook = true` posted to the one [webhook] robot: a branch's own group could not be reached."""
    from compliance.config import load_settings

    monkeypatch.delenv("COMPLIANCE_WEBHOOK_URL", raising=False)
    with Hook(failures=0) as township, Hook(failures=0) as branch:
        config = tmp_path / "compliance.toml"
        config.write_text(f'[webhook]\nurl = "{township.url}"\n\n[[recipient]]\norg = "ZZ1"\nwebhook = "{branch.url}"\n\n'
                          '[[recipient]]\norg = "ZZ2"\nwebhook = true\n', encoding="utf-8")
        settings = load_settings(config, obligations=rules.kinds)
        assert settings.unreached() == []
        _remind(town, rules, settings, "2026-11-20T08:00")
        assert deliver(town, settings, at("2026-11-20T08:00"))[1:] == (0, 0)
        own = [m["text"]["content"] for m in branch.received]
        shared = [m["text"]["content"] for m in township.received]
    assert len(own) == len(shared) == 1
    assert "第一党支部" in own[0] and "第二党支部" not in own[0]
    assert "第二党支部" in shared[0] and "第一党支部" not in shared[0]
    # The outbox names which robot, not its key.
    assert sorted(m.recipient for m in town.messages() if m.channel == "webhook") == ["webhook", "webhook:ZZ1"]
    # A township's two groups: each robot of the same organization gets its own message.
    with Hook(failures=0) as committee, Hook(failures=0) as office:
        config.write_text(f'[[recipient]]\norg = "TH"\nwebhook = "{committee.url}"\n\n'
                          f'[[recipient]]\norg = "TH"\nwebhook = "{office.url}"\n', encoding="utf-8")
        both = load_settings(config)
        _remind(town, rules, both, "2026-11-21T08:00")
        deliver(town, both, at("2026-11-21T08:00"))
        assert len(committee.received) == len(office.received) == 1
    assert sorted(m.recipient for m in town.messages() if m.day == date(2026, 11, 21) and m.channel == "webhook") == [
        "webhook:TH", "webhook:TH#2"]
    # A robot taken out of the settings while its message waits: the message fails naming the recipient.
    config.write_text(f'[[recipient]]\norg = "TH"\nwebhook = "{branch.url}"\n', encoding="utf-8")
    _remind(town, rules, both, "2026-11-22T08:00")
    deliver(town, load_settings(config), at("2026-11-22T08:00"))
    [lost] = [m for m in town.messages() if m.day == date(2026, 11, 22) and m.recipient == "webhook:TH#2"]
    assert lost.last_error == "配置中已没有收件人「TH#2」的群机器人地址（[[recipient]] webhook）"
    # No retry can deliver it: it fails for good at once, and the outbox shows its error as written.
    assert (lost.status, lost.attempts) == ("failed", 1)
    from compliance.cli import app
    from typer.testing import CliRunner

    table = CliRunner().invoke(app, ["--db", town.url, "outbox", "list", "--failed"], terminal_width=250, env={"COLUMNS": "250"})
    assert "（[[recipient]] webhook）" in table.stdout, table.output
    assert "TH#2 的群机器人" in table.stdout
    # After a Chinese name, no space: 马屯村党支部 的群机器人 (try-out).
    from compliance.cli.scheduling import _recipient_words

    assert _recipient_words("webhook", "webhook:马屯村党支部") == "马屯村党支部的群机器人"
    # A recipient with neither channel is pointed out.
    config.write_text('[[recipient]]\norg = "ZZ1"\n', encoding="utf-8")
    assert load_settings(config).unreached() == [f"{config}：[[recipient]] ZZ1 没有 email，也没有 webhook，收不到任何消息"]
    # Only a recipient's own robot: no [webhook] url is needed, and none is pointed out as missing.
    config.write_text(f'[[recipient]]\norg = "ZZ1"\nwebhook = "{branch.url}"\n', encoding="utf-8")
    assert load_settings(config).unreached() == []


@pytest.mark.parametrize("value, words", [('"ftp://robot.example.cn/send"', "应为 true、false 或以 http:// 或 https:// 开头的群机器人地址"),
                                           ("1", "应为 true、false 或群机器人地址"),
                                           ('"https://"', "不是完整的群机器人地址"),
                                           ('"https://exa mple.cn/send"', "不是完整的群机器人地址"),
                                           ('"https://robot.example.cn:99999/send"', "不是完整的群机器人地址")])
def test_a_recipients_robot_address_that_is_not_one_is_refused_with_its_line(tmp_path: Path, value: str, words: str):
    from compliance.config import load_settings
    from compliance.errors import InputError

    config = tmp_path / "compliance.toml"
    config.write_text(f'[[recipient]]\norg = "ZZ1"\nwebhook = {value}\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_settings(config)
    assert str(caught.value).startswith(f"配置文件 {config}:3：第 1 个 [[recipient]] 的 webhook") and words in str(caught.value)


def test_outbox_retry_says_which_failed_messages_wait_for_their_own_retry(runner, town: Store, rules):
    """`outbox list --failed` listed a message waiting to be retried, and `outbox retry` then said 0 without a word on it."""
    from compliance.cli import app

    with Hook(failures=-1) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),))
        _remind(town, rules, settings, "2026-11-20T08:00")
        deliver(town, settings, at("2026-11-20T08:00"))
    done = runner.invoke(app, ["--db", town.url, "outbox", "retry"], env={"COLUMNS": "200"})
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == ["没有需要放回队列的消息。", "另有 1 条发送失败、正等待自动重试（下次重试：2026-11-20 08:01），不必放回"]


def test_a_study_day_is_reminded_of_within_its_lead_time(town: Store, rules):
    """A 固定学习日 on the 10th stays 未开始 until it comes: reminders only told of it on the day or once missed."""
    with Hook(failures=0) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),),
                            lead_days={"default": 5, "study_day": 7})
        _remind(town, rules, settings, "2026-12-05T08:00")
        deliver(town, settings, at("2026-12-05T08:00"))
        text = hook.received[0]["text"]["content"]
    soon = text.split("即将到期：", 1)[1].split("已经逾期", 1)[0]
    assert "固定学习日 12月10日：5天后（2026-12-10）" in soon, text
    assert "12月20日" not in soon         # 15 days ahead: beyond its 7 days


def _mail(settings: Settings) -> tuple[str, str]:
    """Send one e-mail through `settings`; return (its status, its last error)."""
    from compliance.reminders import send_email

    try:
        send_email(settings, {"id": 7, "recipient": "zz1@example.cn", "subject": "【组织生活提醒】测试", "body": "请按时召开。"})
    except Exception as exc:        # SendError: its text is what the outbox keeps
        return "failed", str(exc)
    return "sent", ""


def test_mail_goes_over_starttls_or_tls_with_a_login_a_date_and_a_message_id(tmp_path: Path):
    """[smtp] took no TLS setting: port 465 could not work and a password went in clear; mails had no Date or Message-ID."""
    import trustme

    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    for tls, port_security in (("starttls", "auto"), ("starttls", "starttls"), ("ssl", "ssl")):
        with Smtp(failures=0, tls=tls, ca=ca, login=("dangjianban", "s3cret")) as smtp:
            settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_sender="dangjianban@example.cn",
                                smtp_user="dangjianban", smtp_password="s3cret", smtp_security=port_security,
                                smtp_ca_file=str(ca_file))
            assert _mail(settings) == ("sent", ""), (tls, port_security)
            assert smtp.logins == [("dangjianban", "s3cret")]
            mail = smtp.received[0].content.decode()
            assert "\nDate: " in mail and re.search(r"Message-ID: <[^>]*compliance\.7@example\.cn>", mail), mail
            # Not trusting the office's own CA, the server's certificate is refused, and said so.
            status, error = _mail(replace(settings, smtp_ca_file=None))
            assert status == "failed" and "服务器证书无法验证" in error and "ca_file" in error, error
    # STARTTLS required of a server that does not offer it; a login to a server that takes none.
    with Smtp(failures=0) as plain:
        settings = Settings(smtp_host="127.0.0.1", smtp_port=plain.port, smtp_security="starttls")
        status, error = _mail(settings)
        assert status == "failed" and "服务器不支持 STARTTLS" in error, error
        # auto never logs in in clear: a server without STARTTLS is refused when a login is set, unless security is none.
        status, error = _mail(replace(settings, smtp_security="auto", smtp_user="u", smtp_password="p"))
        assert status == "failed" and "服务器不支持 STARTTLS，不以明文发送用户名和密码" in error, error
        status, error = _mail(replace(settings, smtp_security="none", smtp_user="u", smtp_password="p"))
        assert status == "failed" and "服务器不支持登录（AUTH）" in error, error
        assert _mail(replace(settings, smtp_security="auto")) == ("sent", "")
        # Each sending's Message-ID is its own (several offices share a mail domain).
        ids = [re.search(r"Message-ID: (<[^>]+>)", m.content.decode()).group(1) for m in plain.received]
        assert len(ids) == 1 and _mail(replace(settings, smtp_security="auto")) == ("sent", "")
        assert re.search(r"Message-ID: (<[^>]+>)", plain.received[1].content.decode()).group(1) != ids[0]


def test_smtp_security_and_ca_file_settings_are_checked(tmp_path: Path, monkeypatch):
    from compliance.config import load_settings
    from compliance.errors import InputError

    monkeypatch.delenv("COMPLIANCE_SMTP_SECURITY", raising=False)
    monkeypatch.delenv("COMPLIANCE_SMTP_CA_FILE", raising=False)
    for body, said in (('[smtp]\nhost = "smtp.example.cn"\nsecurity = "tls"\n', ":3：[smtp] security：值「tls」应为 auto、ssl、starttls、none 之一"),
                       ('[smtp]\nhost = "smtp.example.cn"\nca_file = "/nowhere/ca.pem"\n', ":3：[smtp] ca_file：证书文件「/nowhere/ca.pem」不存在")):
        path = tmp_path / "c.toml"
        path.write_text(body, encoding="utf-8")
        try:
            load_settings(path)
        except InputError as exc:
            assert said in str(exc), str(exc)
        else:
            raise AssertionError(body)
    path.write_text('[smtp]\nhost = "smtp.example.cn"\nsecurity = "SSL"\n', encoding="utf-8")
    assert load_settings(path).smtp_security == "ssl"


def test_a_reminder_tells_of_the_six_month_watch_as_a_watch_not_a_task_overdue():
    """姜强 6月：逾期未完成，已逾期5天 and 孟娜国 7月：还剩26天（…截止）: the tracker only prompts the branch to review."""
    from compliance.evaluate import Finding
    from compliance.reminders import compose

    today = date(2026, 12, 5)
    org = (4, "图河镇党委/朱庄村党总支/第一党支部")
    review = Finding(*org, "dues_watch", "连续未交纳党费", "2026-06", "missed", date(2026, 11, 30), None, (), ("review_membership",), "姜强")
    watch = Finding(*org, "absence_watch", "连续未参加组织生活", "2026-07", "due", date(2026, 12, 31), 26, (), ("watch",), "孟娜国")
    [reminder] = compose([review, watch], today, Settings(lead_days={"default": 30}))
    lines = reminder.body.splitlines()
    assert "· 连续未交纳党费 姜强 6月起：满6个月，提请支部审查" in lines, reminder.body
    assert "· 连续未参加组织生活 孟娜国 7月起：关注（未满6个月），2026-12-31满6个月" in lines, reminder.body
    assert "逾期未完成" not in reminder.body and "截止" not in reminder.body and lines[-1] == "请按时完成并及时登记。"
    # Under a heading of their own, not 已经逾期 or 即将到期, and counted apart from what is overdue.
    assert "已经逾期" not in reminder.body and "即将到期" not in reminder.body and "党员情况（请支部了解原因；满6个月的提请支部审查）：" in lines
    assert reminder.late == 0 and reminder.reason == "2项党员情况"


def test_a_branch_is_refused_as_a_supervision_jobs_scope(town: Store):
    """A job for one branch would write a bulletin of 第一党支部督导组 every month; supervise refuses that scope, and so does the job."""
    from compliance.errors import InputError

    jobs = JobBook(town, clock=lambda: at("2026-11-20T12:00"))
    try:
        with pytest.raises(InputError, match="是党支部；督查的是乡镇党委、党总支等所属的各党支部"):
            jobs.add_supervision("ZZ1")
        assert jobs.jobs() == []
    finally:
        jobs.close()


def test_a_job_made_for_a_branch_before_it_was_refused_is_pointed_out(runner, town: Store):
    """A job scheduled for one branch before such scopes were refused fails every month: scheduler jobs says so (review)."""
    from apscheduler.triggers.cron import CronTrigger

    from compliance.cli import app
    from compliance.schedule import supervision_job

    path = "图河镇党委/朱庄村党总支/第一党支部"
    jobs = JobBook(town, clock=lambda: at("2026-11-20T12:00"))
    try:
        jobs.add_supervision(TOWN)
        jobs.scheduler.add_job(supervision_job, CronTrigger(day=25, hour=9, timezone=TZ), args=[path], kwargs={"out": None},
                               id=f"supervision:{path}", name=f"{path} 每月督查")
    finally:
        jobs.close()
    listed = runner.invoke(app, ["--db", town.url, "scheduler", "jobs"], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    # 5 December: the run of 25 November went by with no scheduler running (try-out), past its grace time of 7 days:
    # the next run is December's, not the one gone by (try-out).
    assert f"supervision:{TOWN}  {TOWN} 每月督查  下次运行 2026-12-25T09:00+08:00（2026-11-25 09:00 的运行已过而未运行：" \
           f"当时调度器未在运行，该月督查期（25日至月底）已过，不再补做；如需补做，请运行 compliance supervise --under {TOWN} --month 2026-11）" \
        in listed.stdout, listed.stdout
    rows = json.loads(runner.invoke(app, ["--db", town.url, "scheduler", "jobs", "--format", "json"]).stdout)
    assert {r["id"]: (r["next_run"], r["missed"], r["made_up"]) for r in rows}[f"supervision:{TOWN}"] == (
        "2026-12-25T09:00+08:00", ["2026-11-25T09:00+08:00"], False)
    # With a scheduler holding the lease, it is not said that none ran (review).
    town.take_lease("主机A", town.clock(), timedelta(minutes=5))
    held = runner.invoke(app, ["--db", town.url, "scheduler", "jobs"], env={"COLUMNS": "300"})
    assert "（2026-11-25 09:00 的运行已过而未运行：该月督查期（25日至月底）已过，调度器将跳过；" in held.stdout and "当时调度器未在运行" not in held.stdout
    # A run gone by within its grace time is still the next: a scheduler started now makes it up.
    daily = JobBook(town, clock=lambda: at("2026-12-04T12:00"))
    try:
        daily.add_reminders()
    finally:
        daily.close()
    town.release_lease("主机A")
    listed = runner.invoke(app, ["--db", town.url, "scheduler", "jobs"], env={"COLUMNS": "300"})
    assert "reminders  每日提醒  下次运行 2026-12-05T08:00+08:00（已过而未运行：当时调度器未在运行；在宽限时间内启动 scheduler run 即补做）" \
        in listed.stdout, listed.stdout
    said = [line for line in listed.stdout.splitlines() if line.startswith("注意")]
    assert said == [f"注意：任务 supervision:{path} 督查的「{path}」是党支部，每次运行都会被拒绝；请删除"
                    f"（compliance scheduler remove supervision:{path}），并为其上级党组织添加督查任务"], listed.output


def test_a_reminder_lists_the_latest_overdue_items_and_counts_the_earlier_ones():
    """A branch behind since January read every 固定学习日 of the year each morning, 已逾期322天 at the end (try-out)."""
    from compliance.evaluate import Finding
    from compliance.reminders import LATE_SHOWN, compose

    today = date(2026, 12, 5)
    path = "图河镇党委/朱庄村党总支/第一党支部"
    findings = [Finding(1, path, "study_day", "固定学习日", f"2026-{m:02d}-{d}", "missed", date(2026, m, d), None, (), ())
                for m in range(1, 12) for d in (10, 20)]
    [reminder] = compose(findings, today, Settings())
    late = reminder.body.split("已经逾期（最近的在前）：\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(late) == LATE_SHOWN + 1 and late[0].startswith("· 固定学习日 11月20日") and late[LATE_SHOWN - 1].startswith("· 固定学习日 4月20日")
    assert late[-1] == "……另有7项更早逾期的事项（compliance status 可查看全部）"
    assert reminder.reason == "22项逾期" and reminder.late == 22


def test_a_gap_the_office_closed_by_hand_is_not_reminded_of(town: Store, rules):
    """主题党日 1月 was in every day's reminder after the office had closed its ledger item (回头看) (try-out)."""
    # (The latest month's, which a reminder lists whatever the number of earlier ones.)
    from compliance.supervision import supervise

    supervise(town, rules, "TH", "2026-11", date(2026, 11, 25), publish=True)
    branch = next(o.id for o in town.orgs() if o.path == "图河镇党委/朱庄村党总支/第一党支部")
    item = next(r for r in town.rectifications() if r.org_id == branch and r.obligation == "theme_day" and r.period == "2026-10")
    town.close_rectification(item.id, "回头看：已补开", date(2026, 11, 28))
    with Hook(failures=0) as hook:
        settings = Settings(webhook_url=hook.url, recipients=(Recipient("ZZ1", webhook=True),))
        _remind(town, rules, settings, "2026-11-30T08:00")
        deliver(town, settings, at("2026-11-30T08:00"))
        text = hook.received[0]["text"]["content"]
    assert "· 主题党日 9月：" in text and "· 主题党日 10月：" not in text, text
