"""Commands for the scheduler, the reminder outbox and the calendar feed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Optional

import typer
from dateutil.relativedelta import relativedelta

from compliance import tracking
from compliance.access import SUPERVISORS, default_scope, require_administrator, require_read, require_write
from compliance.cli import (
    FORMAT_OPTION, ORG_HELP, Format, _date_option, _rules, app, console, fails_cleanly, make_folder, own_org, session, workdays_notice,
)
from compliance.errors import InputError, os_reason
from compliance.orgs import OrgRow
from obligations.cadence import month_end

scheduler_app = typer.Typer(help="调度器：每月25日督查、每日提醒。", no_args_is_help=True)
outbox_app = typer.Typer(help="提醒发件箱：查看、重发。", no_args_is_help=True)
app.add_typer(scheduler_app, name="scheduler")
app.add_typer(outbox_app, name="outbox")


@scheduler_app.command("run")
@fails_cleanly
def scheduler_run(poll: float = typer.Option(30.0, "--poll", help="检查间隔（秒）。"),
                  name: Optional[str] = typer.Option(None, "--name", help="本调度器的名称（默认 主机名:进程号）。")) -> None:
    """在前台运行调度器（Ctrl-C 或 SIGTERM 停止）；同一数据库只有一个在运行，其余待命。"""
    from compliance.config import load_settings
    from compliance.schedule import Runner

    store, actor = session()
    require_administrator(store, actor, "scheduler")
    if not 0 < poll <= 3600:
        raise InputError(f"--poll：值「{poll}」应为 0 到 3600 秒之间")
    settings = load_settings(obligations=_rules().kinds)
    _settings_notes(store, settings)
    runner = Runner(store, _rules(), settings, name)
    runner.run_forever(poll, lambda line: console.print(line, soft_wrap=True))


@scheduler_app.command("jobs")
@fails_cleanly
def scheduler_jobs(fmt: Format = FORMAT_OPTION) -> None:
    """列出定时任务及下次运行时间。"""
    from compliance.report.assessments import emit_rows
    from compliance.schedule import JobBook

    store, actor = session()
    book = JobBook(store)
    now = store.clock()
    try:
        rows = book.jobs(now)
    finally:
        book.close()
    # A user of one township or branch sees the jobs that supervise it or what is below it: not another township's.
    scoped = [r for r in rows if r["scope"] is None or actor.covers(r["scope"]) or (actor.scope or "").startswith(r["scope"] + "/")]
    scope_of = {r["id"]: r["scope"] for r in scoped}
    rows = [{k: v for k, v in r.items() if k != "scope"} for r in scoped]
    scoped = [r for r in scoped if r["scope"] is not None]
    if fmt is not Format.table:
        if fmt is Format.csv:
            rows = [{**r, "missed": "、".join(r["missed"])} for r in rows]
        emit_rows(rows, fmt.value, {"id": "编号", "name": "任务", "next_run": "下次运行", "trigger": "规则", "out": "通报输出目录",
                                    "missed": "已过而未运行", "made_up": "将补做", "not_made_up": "不补做的原因"})
        return
    if not rows:
        console.print("还没有定时任务。每月督查：compliance scheduler add-supervision --under 乡镇党委（乡镇或县用户）；"
                      "每日提醒：compliance scheduler add-reminders（县用户）", markup=False)
    holder, beat = store.lease_holder()
    for r in rows:
        console.print(f"{r['id']}  {r['name']}  下次运行 {r['next_run'] or '—'}{_missed_words(r, scope_of[r['id']], holder)}"
                      + (f"  通报输出到 {r['out']}" if r.get("out") else ""), soft_wrap=True)
    for r in scoped:
        # Added before a branch was refused as a supervision's scope: each of its runs is refused now.
        found = store.index_around(r["scope"]).find(r["scope"])
        if isinstance(found, OrgRow) and found.type == "党支部":
            console.print(f"注意：任务 {r['id']} 督查的「{r['scope']}」是党支部，每次运行都会被拒绝；请删除"
                          f"（compliance scheduler remove {r['id']}），并为其上级党组织添加督查任务", style="yellow", markup=False,
                          soft_wrap=True)
    if holder:
        from compliance.schedule import LEASE_TTL
        from compliance.store import TZ

        stale = store.clock() - beat > LEASE_TTL
        console.print(f"当前调度器：{holder}（最近心跳 {beat.astimezone(TZ):%Y-%m-%d %H:%M:%S}{'，已过期，等待接管' if stale else ''}）", soft_wrap=True)
    else:
        console.print("当前没有运行中的调度器。")


def _missed_words(row: dict[str, Any], scope: str | None, holder: str | None) -> str:
    """Say what becomes of a job's runs that went by unrun (`JobBook.jobs`): shown as the next run, one read as a run to come (try-out)."""
    missed = row.get("missed")
    if not missed:
        return ""
    # The runs a scheduler will not make: all of them, or all but the latest when it is made up (review).
    lost = missed[:-1] if row["made_up"] else missed
    months = list(dict.fromkeys(m[:7] for m in lost))
    catch_up = "" if not scope or not months else f"；如需补做，请运行 compliance supervise --under {scope} --month {months[0]}" \
        if len(months) == 1 else f"；如需补做，请对 {'、'.join(months)} 各运行 compliance supervise --under {scope} --month 该月"
    if row["made_up"]:
        said = "已过，尚未运行：调度器将在下一次检查时补做" if holder else "已过而未运行：当时调度器未在运行；在宽限时间内启动 scheduler run 即补做"
        earlier = f"；更早的 {len(lost)} 次不再补做" if lost else ""
        return f"（{said}{earlier}{catch_up}）"
    def day(moment: str) -> str:
        return moment.replace("T", " ")[:16]

    runs = f"{day(missed[0])} 的运行" if len(missed) == 1 else f"{day(missed[0])} 至 {day(missed[-1])} 的 {len(missed)} 次运行"
    # A supervision's grace outlasts its month (25th to the month's end): that ended is why it is not made up (review).
    passed = "该月督查期（25日至月底）已过" if row.get("not_made_up") == "month" else "已超过宽限时间"
    why = f"{passed}，调度器将跳过" if holder else f"当时调度器未在运行，{passed}，不再补做"
    return f"（{runs}已过而未运行：{why}{catch_up}）"


@scheduler_app.command("add-supervision")
@fails_cleanly
def scheduler_add_supervision(under: str = typer.Option(..., "--under", help="督查范围，如 图河镇党委。"),
                              day: Optional[int] = typer.Option(None, "--day", help="每月几日（督查期为25日至月底；默认25日，再添加时沿用原任务的）。"),
                              at: Optional[str] = typer.Option(None, "--time", help="时刻，如 09:00（北京时间；默认 09:00，再添加时沿用原任务的）。"),
                              out: Optional[Path] = typer.Option(None, "--out", help="通报输出目录（不给则只保存督查结果）。")) -> None:
    """添加每月督查任务（同一范围再添加会替换原任务）。"""
    from compliance.schedule import JobBook

    store, actor = session()
    require_write(store, actor, "scheduler", [tracking.org_path(store, under)], SUPERVISORS)
    if out is not None:
        from compliance.cli.supervision import check_writable

        check_writable(out)        # a file there was taken, and every month's bulletin then failed
    book = JobBook(store)
    try:
        before = {j["id"]: j for j in book.jobs()}
        job_id = book.add_supervision(under, day, at, str(out) if out else None)
        job = next(j for j in book.jobs(store.clock()) if j["id"] == job_id)
    finally:
        book.close()
    old = before.get(job_id)
    _audit_job(store, "schedule", job_id, old, job, tracking.org_path(store, under))
    # A job kept unchanged keeps a run it still owes, which may have gone by (try-out): said as `scheduler jobs` says it.
    console.print(f"{_added_word(old, job)}任务 {job_id}（{job['trigger']}），下次运行 {job['next_run']}"
                  f"{_missed_words(job, job['scope'], store.lease_holder()[0])}", soft_wrap=True)
    if old and old["out"] and old["out"] != job["out"]:
        console.print(f"提示：原任务的通报输出目录 {old['out']} 不再使用" + ("；本任务不写通报文件，需要时请加 --out" if not job["out"] else ""),
                      style="yellow", markup=False, soft_wrap=True)


@scheduler_app.command("add-reminders")
@fails_cleanly
def scheduler_add_reminders(at: Optional[str] = typer.Option(None, "--time", help="每天发送提醒的时刻（北京时间；默认 08:00，再添加时沿用原任务的）。")) -> None:
    """添加每日提醒任务：即将到期和已逾期的事项，每个党组织每天一条。"""
    from compliance.config import load_settings
    from compliance.schedule import JobBook

    store, actor = session()
    require_administrator(store, actor, "scheduler")
    settings = load_settings(obligations=_rules().kinds)      # a setting that cannot be used stops it before the job changes
    book = JobBook(store)
    try:
        old = next((j for j in book.jobs() if j["id"] == "reminders"), None)
        book.add_reminders(at)
        job = next(j for j in book.jobs(store.clock()) if j["id"] == "reminders")
    finally:
        book.close()
    _audit_job(store, "schedule", "reminders", old, job)
    console.print(f"{_added_word(old, job)}任务 reminders（{job['trigger']}），下次运行 {job['next_run']}"
                  f"{_missed_words(job, None, store.lease_holder()[0])}", soft_wrap=True)
    _settings_notes(store, settings)
    if (alone := settings.nobody()) is not None:
        console.print(f"提示：{alone}", style="yellow", markup=False, soft_wrap=True)


@scheduler_app.command("remind-now")
@fails_cleanly
def scheduler_remind_now() -> None:
    """立即生成今天的提醒并发送（新配置的邮件、群机器人可用此检查）；当天已生成的不重复。"""
    from compliance.config import load_settings
    from compliance.reminders import deliver
    from compliance.schedule import Context, reminders_job

    store, actor = session()
    require_administrator(store, actor, "scheduler")
    # An office that had just set up mail could not see it work until the next morning's run (try-out). Today's messages
    # are made once a day whoever makes them, and each is claimed before it is sent: a scheduler running beside this
    # sends none of them twice.
    settings = load_settings(obligations=_rules().kinds)
    _settings_notes(store, settings)
    ctx = Context(store, _rules(), settings, store.clock())
    reminders_job(ctx=ctx, fire_time=ctx.now)
    only_logged: list[int] = []
    sent, retrying, failed = deliver(store, settings, ctx.now, logged=only_logged)
    for line in ctx.outputs:
        console.print(line, markup=False, soft_wrap=True)
    # The log's own lines are no sends: 发送提醒：成功 15 条 followed 15 reminders 无人收到 (try-out).
    logged = len(only_logged)
    # No scheduler may be running yet: the sends to be retried wait for one, or for this command again (review).
    console.print(f"发送提醒：成功 {sent - logged} 条" + (f"（另有 {logged} 条只写入日志）" if logged else "")
                  + (f"，待重试 {retrying} 条（运行中的调度器按时重试；未运行调度器时，"
                                                 "改好设置后几分钟再运行 scheduler remind-now）" if retrying else "")
                  + (f"，最终失败 {failed} 条" if failed else "")
                  + ("（原因见 compliance outbox list）" if retrying or failed else ""), soft_wrap=True)
    if (alone := settings.nobody()) is not None:
        console.print(f"提示：{alone}", style="yellow", markup=False, soft_wrap=True)


def _audit_job(store: Any, action: str, job_id: str, old: dict[str, Any] | None, job: dict[str, Any] | None,
               scope: str | None = None) -> None:
    """Log a change of the scheduled jobs (the README: every change is logged); a job added again unchanged is none."""
    if old is not None and job is not None and (old["trigger"], old["out"]) == (job["trigger"], job["out"]):
        return
    found = store.index_around(scope).find(scope) if scope else None
    org_id = found.id if isinstance(found, OrgRow) else None
    store.audit_now(action, "job", job_id, org_id, {"before": {k: old[k] for k in ("trigger", "out")} if old else None,
                                                   "after": {k: job[k] for k in ("trigger", "out")} if job else None})


def _added_word(old: dict[str, Any] | None, job: dict[str, Any]) -> str:
    """Return how adding a job went: 已添加 a new one, 已替换 one whose time or output changed, 保留原 one added again as it was."""
    if old is None:
        return "已添加"
    return "保留原" if (old["trigger"], old["out"]) == (job["trigger"], job["out"]) else "已替换"


def _settings_notes(store: Any, settings: Any) -> None:
    """Point out what in the reminder settings reaches nobody: a channel without recipients, a recipient the tree does not hold."""
    from compliance.orgs import OrgIndex

    notes = list(settings.unreached())
    index = OrgIndex(store.orgs())
    for r in settings.recipients:
        found = index.find(r.org)
        if not hasattr(found, "id"):
            notes.append(f"{settings.path or '配置'}：收件党组织「{r.org}」{'不唯一' if found else '找不到'}，不会收到提醒"
                         "（请写代码或完整路径）")
    for note in notes:
        console.print(f"提示：{note}", style="yellow", markup=False, soft_wrap=True)


@scheduler_app.command("remove")
@fails_cleanly
def scheduler_remove(job_id: str = typer.Argument(..., metavar="ID", help="任务编号（scheduler jobs 可查看）。")) -> None:
    """删除一个定时任务。"""
    from compliance.schedule import JobBook

    store, actor = session()
    scope = job_id.removeprefix("supervision:") if job_id.startswith("supervision:") else None
    if scope and isinstance(store.index_around(scope).find(scope), OrgRow):
        # Who may add a scope's supervision may remove it: a township office its own.
        require_write(store, actor, "scheduler", [tracking.org_path(store, scope)], SUPERVISORS)
    else:
        require_administrator(store, actor, "scheduler")
    book = JobBook(store)
    try:
        old = next((j for j in book.jobs() if j["id"] == job_id), None)
        book.remove(job_id)
    finally:
        book.close()
    _audit_job(store, "unschedule", job_id, old, None, scope)
    console.print(f"已删除任务 {job_id}")


CHANNEL_WORDS = {"console": "日志", "email": "邮件", "webhook": "群机器人"}
STATUS_WORDS = {"pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "失败"}


@outbox_app.command("list")
@fails_cleanly
def outbox_list(failed: bool = typer.Option(False, "--failed", help="只看发送失败的（含等待重试的）。"),
                since: Optional[str] = typer.Option(None, "--since", help="只看此日期及以后的提醒，如 2026-12-01。"),
                under: Optional[str] = typer.Option(None, "--under", help="只看此党组织及其下级的提醒。"),
                fmt: Format = FORMAT_OPTION) -> None:
    """列出提醒消息：发给谁、为什么、何时，已发送或失败及原因；内容见 --format json 或 csv。"""
    from compliance.report.assessments import emit_rows
    from compliance.reminders import short_path

    day = _date_option(since, "--since")
    store, actor = session()
    # A year of a county's daily reminders was listed whole, with no way to see one township's or this week's (try-out).
    scope = default_scope(actor, under)
    path = tracking.org_path(store, scope) if scope else None
    if path is not None:
        require_read(store, actor, path)
    messages = store.messages(failed, day, path)
    paths = store.org_paths(m.org_id for m in messages)
    # JSON keeps the program's words (channel, status); CSV and the table are read by people.
    readable = fmt is not Format.json
    rows = [{"id": m.id, "org": paths[m.org_id], "day": m.day.isoformat(),
             "channel": CHANNEL_WORDS.get(m.channel, m.channel) if readable else m.channel,
             "recipient": m.recipient, "subject": m.subject, "reason": m.reason,
             "status": STATUS_WORDS.get(m.status, m.status) if readable else m.status, "attempts": m.attempts,
             "error": m.last_error, "body": m.body} for m in messages]
    rows = [r for r in rows if actor.covers(r["org"])]
    headings = {"id": "编号", "org": "党组织", "day": "日期", "channel": "渠道", "recipient": "收件人", "subject": "标题",
                "reason": "原因", "status": "状态", "attempts": "次数", "error": "错误", "body": "内容"}
    if fmt is not Format.table:
        emit_rows(rows, fmt.value, headings)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="提醒发件箱", header_style="bold")
    for heading in ("编号", "日期", "党组织", "渠道", "收件人", "原因", "状态"):
        table.add_column(heading, overflow="fold")
    for m, r in zip([m for m in messages if actor.covers(paths[m.org_id])], rows):
        # Errors and reasons are shown as written: 「[[recipient]]」 in one was taken for a style tag and lost.
        error = f"（{escape(r['error'])}）" if r["error"] and m.status != "sent" else ""
        state = ("[red]失败[/]" if m.status == "failed" else escape(r["status"])) + error
        table.add_row(str(r["id"]), r["day"], escape(short_path(r["org"])), r["channel"], escape(_recipient_words(m.channel, m.recipient)),
                      escape(r["reason"]), state)
    # A township's or a branch's own part of the outbox empty is not the outbox empty (review).
    console.print(table if rows else "没有符合条件的消息。" if day or path else "没有发送失败的消息。" if failed else "发件箱是空的。")
    if rows:
        console.print("（消息内容：compliance outbox list --format json 或 csv）", style="dim")


def _recipient_words(channel: str, recipient: str) -> str:
    """Return who a message goes to, for the outbox table: the address, whose robot, or — for the log (its organization is shown)."""
    from compliance.config import OWN_WEBHOOK

    if channel == "console":
        return "—"
    if channel == "webhook":
        name = recipient[len(OWN_WEBHOOK):]
        # 马屯村党支部的群机器人, TH#2 的群机器人: a space after Chinese was a stray one (try-out).
        return f"{name}{' ' if name[-1:].isascii() else ''}的群机器人" if recipient.startswith(OWN_WEBHOOK) else "共用群机器人"
    return recipient


@outbox_app.command("retry")
@fails_cleanly
def outbox_retry() -> None:
    """把发送失败的消息放回队列，下次调度时重发。"""
    store, actor = session()
    require_administrator(store, actor, "outbox")
    from compliance.store import TZ

    count = store.retry_failed(store.clock())
    if count:
        store.audit_now("retry", "outbox", detail={"messages": count})
    console.print(f"已放回队列：{count} 条" if count else "没有需要放回队列的消息。")
    stale = [m for m in store.messages(True) if m.status == "failed"]
    if stale:
        console.print(f"另有 {len(stale)} 条发送失败的提醒已有之后日期的提醒发给同一收件人，不再重发（内容已过时）", soft_wrap=True)
    waiting = [m for m in store.messages(True) if m.status == "pending"]
    if waiting:
        # `outbox list --failed` lists them too: they are retried without being put back.
        console.print(f"另有 {len(waiting)} 条发送失败、正等待自动重试（下次重试：{min(m.next_attempt_at for m in waiting).astimezone(TZ):%Y-%m-%d %H:%M}），"
                      "不必放回", soft_wrap=True)


@app.command()
@fails_cleanly
def calendar(org: Optional[str] = typer.Option(None, "--org", help=ORG_HELP),
             months: int = typer.Option(3, "--months", help="导出今后几个月。"),
             out: Path = typer.Option(..., "--out", help="输出的 .ics 文件。")) -> None:
    """导出今后的组织生活日程为 iCalendar（.ics），手机日历可导入；再次导出会更新而不是重复。"""
    from compliance.config import load_settings
    from compliance.report.ics import MISSED_DAYS, build_calendar, coming, done_by_then, missed_lately

    store, actor = session()
    org = own_org(actor, org)
    path = tracking.org_path(store, org)
    require_read(store, actor, path)
    if not 1 <= months <= 24:
        raise InputError(f"--months：值「{months}」应为 1 到 24")
    today = store.today()
    # To the end of the month the N months end in: from 6 December, three months ended on 6 March, and the first
    # quarter's 党员大会 and 党课, due on 31 March, were not in the calendar (try-out).
    until = month_end(today + relativedelta(months=months))
    if out.suffix.lower() != ".ics" and out.name not in ("", ".", "..") and not out.is_dir():
        out = out.with_name(out.name + ".ics")      # a phone takes a calendar by its name: 日历 was written as it was
    # From two months back: an item missed since an earlier export is marked 逾期 on the phone, not left as still to do.
    findings = tracking.org_status(store, _rules(), org, tracking.Window(today - timedelta(days=MISSED_DAYS), until, today))
    missed = missed_lately(findings, today)
    data = build_calendar(coming(findings, today, until), path, load_settings(obligations=_rules().kinds).lead_days, store.clock(),
                          done_by_then(findings, today - timedelta(days=MISSED_DAYS), until), missed)
    try:
        make_folder(out.parent)      # as supervise --out and backup do
        out.write_bytes(data)
    except OSError as exc:
        raise InputError(f"--out：无法写入 {out}：{os_reason(exc)}") from None
    late = len({(f.obligation, f.period, None if f.member else f.group) for f in missed})     # events, as `build_calendar` makes them
    events = data.count(b"BEGIN:VEVENT") - data.count(b"STATUS:CANCELLED") - late
    console.print(f"已写出 {out}（{events} 项，{today.isoformat()} 至 {until.isoformat()}"
                  + (f"；另有近两个月逾期未完成 {late} 项，标为「逾期」" if late else "") + "）")
    workdays_notice(today, until, actor, store)
    if not events:
        index = store.index_around(org)
        below = [o.path for o in index.subtree(index.resolve(org)) if o.type == "党支部" and o.path != path]
        if below:
            console.print(f"提示：「{path}」本身在这段时间没有要召开的会议；三会一课等由各党支部召开，请分别导出（如 --org {below[0]}）",
                          style="yellow", markup=False, soft_wrap=True)



