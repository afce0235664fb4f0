"""The scheduler: the monthly supervision on the 25th, daily reminders, and sending them.

Jobs live in APScheduler 3's SQLAlchemy job store, in the same database, so a restart loses
nothing; their times come from APScheduler's cron triggers (Asia/Shanghai). A `Runner` executes
what is due at the instant it is given (`tick(now)`), which the long-running loop calls with the
real time and tests call with a controlled clock. Missed runs are coalesced: a job whose time
passed while no scheduler was up runs once at start-up if it is within its grace time (the
supervision: 5 days, so a run missed on the 25th is made up before the month ends; reminders:
12 hours). One database has one active scheduler: it holds a lease with a heartbeat; another
waits as a standby and takes over when the heartbeat is older than the lease time.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from compliance.config import Settings
from compliance.errors import ComplianceError, InputError, NotFound, os_reason
from compliance.orgs import OrgIndex
from compliance.reminders import compose, deliver, with_digest
from compliance.store import TZ, Store, now as real_now
from compliance.tracking import Window, overdue, year_start
from obligations.cadence import month_end
from obligations.rules import Rules

log = logging.getLogger("compliance.schedule")
JOBS_TABLE = "apscheduler_jobs"
UNHEARD_SHOWN = 5       # organizations named by the reminders' line of those no recipient hears
LEASE_TTL = timedelta(seconds=90)
# Seconds between looks at whether a signal asked the scheduler to stop, while it waits to tick again.
STOP_CHECK = 0.2
SUPERVISION_GRACE = timedelta(days=7)     # the job itself also stops at the month's end
REMINDER_GRACE = timedelta(hours=12)


@dataclass
class Context:
    """What a job needs: the store, the rules, the settings, and the instant it runs at."""

    store: Store
    rules: Rules
    settings: Settings
    now: datetime
    outputs: list[str] = field(default_factory=list)


def supervision_job(under: str, out: str | None = None, *, ctx: Context | None = None, fire_time: datetime | None = None) -> None:
    """Run the month's supervision of `under` unless a run of that month already exists.

    The stored arguments are the scope and the bulletin folder; the runner adds the context and
    the time the job was due (keyword-only, so APScheduler's argument check accepts the job).
    """
    if ctx is None or fire_time is None:
        raise TypeError("supervision_job runs under compliance.schedule.Runner, which passes ctx and fire_time")
    from compliance.supervision import supervise

    index = OrgIndex(ctx.store.orgs())
    scope = index.resolve(under)
    when = fire_time.astimezone(TZ).date()
    month = f"{when:%Y-%m}"
    first = when.replace(day=1)
    # A township dissolved before the month, with no branch below it still at work (its villages merged into another):
    # its job failed every month with 没有党支部可以督查 (session 59's try-out).
    if scope.dissolved is not None and scope.dissolved < first and not any(
            o.type == "党支部" and (o.dissolved is None or o.dissolved >= first) for o in index.subtree(scope)):
        ctx.outputs.append(f"{scope.path} 已于 {scope.dissolved.isoformat()} 撤销，{month} 未督查；"
                           f"如不再需要此任务，请运行 compliance scheduler remove supervision:{scope.path}")
        return
    # A run made in the supervision period (from the job's day on) is the month's check; one made
    # earlier in the month (a check on the 5th) saw the month's meetings still due, not missed.
    done = [r for r in ctx.store.runs(scope.id, month) if r.as_of >= when]
    if done:
        ctx.outputs.append(f"{scope.path} {month} 督查已有结果（判断日期 {done[-1].as_of.isoformat()}），未重复运行")
        return
    if ctx.now.astimezone(TZ).date() > month_end(when):
        ctx.outputs.append(f"{scope.path} {month} 督查期（25日至月底）已过，未补运行")
        return
    day = min(ctx.now.astimezone(TZ).date(), month_end(when))
    result = supervise(ctx.store, ctx.rules, under, month, day)
    done_words = f"{scope.path} {month} 督查完成：问题 {result.snapshot.gap_count} 项，新建整改事项 {result.opened} 项"
    if out:
        from compliance.report.bulletin import write_bulletin

        try:
            files = write_bulletin(result, Path(out))
        except (OSError, ComplianceError) as exc:
            # The run is saved, so the month counts as done and the job will not run it again: say how to finish.
            reason = os_reason(exc) if isinstance(exc, OSError) else str(exc)
            raise ComplianceError(f"{done_words}，已保存；但通报文件未能写入 {out}（{reason}）。请处理后运行 compliance supervise "
                                  f"--under {scope.path} --month {month} --out 目录 生成通报（调度器不会再为本月运行）") from None
        ctx.outputs.append(f"{done_words}；通报：{files[0].parent}")
        return
    ctx.outputs.append(done_words)


def reminders_job(*, ctx: Context | None = None, fire_time: datetime | None = None) -> None:
    """Queue today's reminders: one message per organization, day and channel."""
    if ctx is None:
        raise TypeError("reminders_job runs under compliance.schedule.Runner, which passes ctx")
    today = ctx.now.astimezone(TZ).date()
    # The same window as `overdue` and a supervision run (`year_start`): the year, and in January
    # also the periods that ended in December. A year back listed last year's periods that
    # `overdue` never shows, and counted them in every reminder.
    findings = overdue(ctx.store, ctx.rules, None, Window(year_start(today), today, today))
    # A 固定学习日 on the 10th is a day of its own, which stays 未开始 until it comes: the obligations
    # held on days are judged again, alone, as far ahead as the longest lead time, for those not yet
    # begun. (Keeping every period not yet begun made a member's year of talks and next year's dues too.)
    dated = {ob.slug for catalog in ctx.rules.catalogs.values() for ob in catalog.every_obligation() if ob.days}
    if dated:
        ahead = today + timedelta(days=ctx.settings.longest_lead())
        findings += overdue(ctx.store, ctx.rules, None, Window(year_start(today), ahead, today), keep=("upcoming",), only=dated)
    # A gap whose ledger item the office closed by hand (回头看) asks nothing more of the branch: it was in every day's
    # reminder all the same (try-out).
    if closed := ctx.store.gaps_closed_by_hand():
        findings = [f for f in findings if f.status not in ("missed", "invalid")
                    or (f.org_id, f.obligation, f.period, f.member, f.group) not in closed]
    reminders = compose(findings, today, ctx.settings)
    index = OrgIndex(ctx.store.orgs())
    by_org: dict[int, list] = {}
    for recipient in ctx.settings.recipients:
        found = index.find(recipient.org)
        if hasattr(found, "id"):
            by_org.setdefault(found.id, []).append(recipient)
        else:
            ctx.outputs.append(f"提醒：配置中的收件党组织「{recipient.org}」找不到或不唯一，已跳过")
    rows = []
    own_robot = {id(r): name for name, r in ctx.settings.own_webhooks()}
    own = {r.org_id: r for r in reminders}
    for r in reminders:
        rows.append({"org_id": r.org_id, "day": today, "subject": r.subject, "body": r.body, "reason": r.reason,
                     "channel": "console", "recipient": r.org})
    for org_id, recipients in by_org.items():
        # A recipient above branches (a township office) hears its own items and which organizations below it have any.
        path = index.by_id[org_id].path
        below = [r for r in reminders if r.org.startswith(path + "/")]
        sent = with_digest(org_id, path, own.get(org_id), below, today)
        if sent is None:
            continue
        base = {"org_id": org_id, "day": today, "subject": sent.subject, "body": sent.body, "reason": sent.reason}
        for recipient in recipients:
            if recipient.email:
                rows.append({**base, "channel": "email", "recipient": recipient.email})
            if recipient.webhook_url:
                rows.append({**base, "channel": "webhook", "recipient": own_robot[id(recipient)]})
            elif recipient.webhook and ctx.settings.webhook_url:
                rows.append({**base, "channel": "webhook", "recipient": "webhook"})
    queued = ctx.store.queue_messages(rows, ctx.now)
    # The audit chain is checked each morning: an entry deleted in the database went unnoticed until someone ran
    # `audit verify` (administrator's try-out).
    _, broken = ctx.store.verify_audit()
    if broken:
        ctx.outputs.append(f"警告：审计日志校验失败：{broken}；请县级用户执行 compliance audit verify 核查")
    # Every organization's reminder is logged (channel console, 已发送): 48 sent of which 5 reached anyone read as all
    # delivered (administrator's try-out). Said: those no recipient hears, at their level or above.
    heard = [index.by_id[org_id].path for org_id in by_org]
    unheard = [r.org for r in reminders if not any(r.org == p or r.org.startswith(p + "/") for p in heard)]
    # Made again the same day, after the settings changed, it said 新增待发消息 0 条 alone (try-out).
    made = (f"（另有 {len(rows) - queued} 条今天已经生成过，不再重复生成，内容不随改过的设置更新；新增的收件人今天即可收到）"
            if len(rows) > queued else "")
    ctx.outputs.append(f"提醒：{len(reminders)} 个党组织，新增待发消息 {queued} 条{made}" + (
        f"；其中 {len(unheard)} 个党组织本级和上级都没有配置收件人，提醒只写入日志，无人收到：{'、'.join(unheard[:UNHEARD_SHOWN])}"
        + ("等" if len(unheard) > UNHEARD_SHOWN else "") if unheard else ""))


JOBS: dict[str, Callable[..., None]] = {"supervision": supervision_job, "reminders": reminders_job}


def _job_store(store: Store) -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=store.engine, tablename=JOBS_TABLE)


def repoint_jobs(store: Store, old_path: str, new_path: str) -> list[tuple[str, str]]:
    """Return `JobBook.repoint` done, without making the job store's table in a database that has never had a job."""
    from sqlalchemy import inspect

    if not inspect(store.engine).has_table(JOBS_TABLE):
        return []
    book = JobBook(store)
    try:
        return book.repoint(old_path, new_path)
    finally:
        book.close()


class JobBook:
    """The persistent list of jobs: add, remove, list (a paused APScheduler over the job store)."""

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None):
        self.store = store
        self.clock = clock or real_now
        self.scheduler = BackgroundScheduler(jobstores={"default": _job_store(store)}, timezone=TZ)
        self.scheduler.start(paused=True)

    def close(self) -> None:
        # A shut-down scheduler's thread wakes once and processes the jobs due by the real clock:
        # it would move a run the scheduler has yet to catch up on. Take the store away first.
        self.scheduler.remove_jobstore("default", shutdown=False)
        self.scheduler.shutdown(wait=False)

    def add_supervision(self, under: str, day: int | None = None, at: str | None = None, out: str | None = None) -> str:
        """Schedule the monthly supervision of `under` on `day` at `at`; return the job id.

        A day or time not given is the scope's job's own, when it has one (else the 25th, 09:00).
        """
        from compliance.supervision import SUPERVISION_FIRST_DAY, refuse_branch_scope

        scope = OrgIndex(self.store.orgs()).resolve(under)
        refuse_branch_scope(scope)
        path = scope.path
        job_id = f"supervision:{path}"
        kept = _cron_fields(self.scheduler.get_job(job_id))
        day = day if day is not None else kept.get("day", 25)
        if not SUPERVISION_FIRST_DAY <= day <= 28:
            raise InputError(f"--day：值「{day}」应为 {SUPERVISION_FIRST_DAY} 到 28（督查期为每月{SUPERVISION_FIRST_DAY}日至月底）")
        if out:
            out = str(Path(out).resolve())     # the scheduler may run from another folder
        hour, minute = _parse_time(at) if at is not None else (kept.get("hour", 9), kept.get("minute", 0))
        trigger = CronTrigger(day=day, hour=hour, minute=minute, timezone=TZ)
        if _unchanged(self.scheduler.get_job(job_id), trigger, {"out": out}):
            return job_id       # replaced, its next run would be counted from now: a run still owed would be lost
        self.scheduler.add_job(supervision_job, trigger, args=[path], kwargs={"out": out}, id=job_id,
                               name=f"{path} 每月督查", replace_existing=True, coalesce=True,
                               misfire_grace_time=int(SUPERVISION_GRACE.total_seconds()),
                               next_run_time=trigger.get_next_fire_time(None, self.clock()))
        return job_id

    def add_reminders(self, at: str | None = None) -> str:
        """Schedule the daily reminders at `at` (not given: the job's own time, when there is one, else 08:00); return the job id."""
        kept = _cron_fields(self.scheduler.get_job("reminders"))
        hour, minute = _parse_time(at) if at is not None else (kept.get("hour", 8), kept.get("minute", 0))
        trigger = CronTrigger(hour=hour, minute=minute, timezone=TZ)
        if _unchanged(self.scheduler.get_job("reminders"), trigger, {}):
            return "reminders"
        self.scheduler.add_job(reminders_job, trigger, id="reminders", name="每日提醒", replace_existing=True,
                               coalesce=True, misfire_grace_time=int(REMINDER_GRACE.total_seconds()),
                               next_run_time=trigger.get_next_fire_time(None, self.clock()))
        return "reminders"

    def repoint(self, old_path: str, new_path: str) -> list[tuple[str, str]]:
        """Point the supervisions of `old_path` and of those below it at their new paths (`org move`); return (old, new) ids.

        A job's id and argument are its scope's path, which a run resolves: left as it was, the
        moved township's monthly supervision would fail to find it. Each keeps its trigger,
        folder and next run, so a run still owed is still made.
        """
        moved = []
        for job in self.scheduler.get_jobs():
            scope = job.args[0] if job.func is supervision_job and job.args else None
            if not isinstance(scope, str) or not (scope == old_path or scope.startswith(old_path + "/")):
                continue
            path = new_path + scope[len(old_path):]
            job_id = f"supervision:{path}"
            self.scheduler.add_job(supervision_job, job.trigger, args=[path], kwargs=dict(job.kwargs), id=job_id,
                                   name=f"{path} 每月督查", replace_existing=True, coalesce=job.coalesce,
                                   misfire_grace_time=job.misfire_grace_time, next_run_time=job.next_run_time)
            self.scheduler.remove_job(job.id)
            moved.append((job.id, job_id))
        return moved

    def remove(self, job_id: str) -> None:
        if self.scheduler.get_job(job_id) is None:
            # A supervision's id is its scope's path, which a move changes (`org move`): the one it has now is named.
            path = job_id.removeprefix("supervision:")
            found = self.store.moved_places().nearest(path) if path != job_id else None
            now = f"supervision:{self.store.org_path(found[1].org_id)}{path[len(found[0]):]}" if found else None
            if now is not None and self.scheduler.get_job(now) is not None:
                raise NotFound(f"没有编号为「{job_id}」的任务：「{path}」已调整隶属关系，其督查任务的编号现为「{now}」")
            raise NotFound(f"没有编号为「{job_id}」的任务（compliance scheduler jobs 可查看）")
        self.scheduler.remove_job(job_id)

    def jobs(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Return the jobs, each with the scope it supervises (`scope`; None for the reminders, which cover every organization).

        With `now`, the runs whose time went by before it unrun (no scheduler was running, or one
        has yet to catch up) are `missed`, oldest first, and `next_run` is the run that comes next,
        as `Runner.tick` will make it: the runs gone by are made once, as the latest of them, when it
        is within the job's grace time (and, for a supervision, its month has not ended), which
        `made_up` says; else the trigger's next time is next.
        """
        def shown(moment: datetime | None) -> str | None:
            return moment.astimezone(TZ).isoformat(timespec="minutes") if moment else None

        rows = []
        for j in self.scheduler.get_jobs():
            row = {"id": j.id, "name": j.name, "next_run": shown(j.next_run_time), "trigger": describe_trigger(j.trigger),
                   "out": j.kwargs.get("out"), "scope": j.args[0] if j.args and isinstance(j.args[0], str) else None}
            if now is not None:
                gone: list[datetime] = []
                moment = j.next_run_time
                while moment is not None and moment <= now:      # a daily job unrun for two years: 730 of them
                    gone.append(moment)
                    moment = j.trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
                why = _not_made_up(j, gone[-1], now) if gone else None
                row["missed"] = [shown(m) for m in gone]
                row["made_up"] = bool(gone) and why is None
                row["not_made_up"] = why      # "grace" or "month" (a supervision's month has ended), when runs went by unmade
                row["next_run"] = shown(gone[-1] if row["made_up"] else moment)
            rows.append(row)
        return rows


def _not_made_up(job: Any, fire_time: datetime, now: datetime) -> str | None:
    """Return why `Runner.tick` at `now` does not make the run of `fire_time` (the latest gone by): "month", a supervision's
    month has ended (`supervision_job` makes none after it; its grace outlasts the month), or "grace", its grace time has
    passed; None when it makes it."""
    if job.func is supervision_job and now.astimezone(TZ).date() > month_end(fire_time.astimezone(TZ).date()):
        return "month"
    if job.misfire_grace_time is not None and now - fire_time > timedelta(seconds=job.misfire_grace_time):
        return "grace"
    return None


def describe_trigger(trigger: Any) -> str:
    """Say when a job's cron trigger fires, in Chinese (每月25日 09:00, 每天 08:00); APScheduler's own text is cron[...]."""
    fields = {f.name: str(f) for f in getattr(trigger, "fields", ())}
    if not fields:
        return str(trigger)
    clock = f"{int(fields['hour']):02d}:{int(fields['minute']):02d}" if fields["hour"].isdigit() and fields["minute"].isdigit() else \
        f"{fields['hour']}时{fields['minute']}分"
    return f"每月{fields['day']}日 {clock}" if fields["day"] != "*" else f"每天 {clock}"


def _unchanged(job: Any, trigger: CronTrigger, kwargs: dict[str, Any]) -> bool:
    """Return whether `job` exists and already fires on `trigger`'s times with `kwargs`."""
    return job is not None and describe_trigger(job.trigger) == describe_trigger(trigger) and dict(job.kwargs) == kwargs


def _cron_fields(job: Any) -> dict[str, int]:
    """Return the day, hour and minute a job's cron trigger fires at, those that are plain numbers (no job: none)."""
    fields = {f.name: str(f) for f in getattr(getattr(job, "trigger", None), "fields", ())}
    return {name: int(fields[name]) for name in ("day", "hour", "minute") if fields.get(name, "").isdigit()}


def _parse_time(text: str) -> tuple[int, int]:
    try:
        hour, minute = (int(x) for x in text.split(":"))
    except ValueError:
        raise InputError(f"--time：值「{text}」应写作 时:分，如 08:00") from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise InputError(f"--time：值「{text}」不是有效时刻")
    return hour, minute


class Runner:
    """Runs what is due at a given instant, while holding the database's scheduler lease."""

    def __init__(self, store: Store, rules: Rules, settings: Settings, name: str | None = None, lease_ttl: timedelta = LEASE_TTL):
        self.store, self.rules, self.settings = store, rules, settings
        self.name = name or f"{socket.gethostname()}:{threading.get_native_id()}"
        self.lease_ttl = lease_ttl
        self.jobstore = _job_store(store)
        self.jobstore.start(BackgroundScheduler(timezone=TZ), "default")

    def tick(self, now: datetime) -> tuple[str | None, list[str]]:
        """Run the jobs due at `now` and send due messages; return (holder when standing by, what ran)."""
        holder = self.store.take_lease(self.name, now, self.lease_ttl)
        if holder is not None:
            return holder, []
        ctx = Context(self.store, self.rules, self.settings, now)
        for job in self.jobstore.get_due_jobs(now):
            times, following = [], job.next_run_time
            while following is not None and following <= now:
                times.append(following)
                following = job.trigger.get_next_fire_time(following, following + timedelta(seconds=1))
            for fire_time in times[-1:] if job.coalesce else times:
                late = now - fire_time
                if job.misfire_grace_time is not None and late > timedelta(seconds=job.misfire_grace_time):
                    catch_up = (f"；如需补做，请运行 compliance supervise --under {job.args[0]} --month {fire_time.astimezone(TZ):%Y-%m}"
                                if job.func is supervision_job and job.args else "")
                    ctx.outputs.append(f"{job.name}：{fire_time.astimezone(TZ):%Y-%m-%d %H:%M} 的运行已超过宽限时间，跳过{catch_up}")
                    continue
                try:
                    job.func(*job.args, **job.kwargs, ctx=ctx, fire_time=fire_time)
                except ComplianceError as exc:      # said in Chinese, with what to do: no traceback
                    log.error("任务 %s 失败：%s", job.id, exc)
                    ctx.outputs.append(f"{job.name}：运行失败：{exc}")
                except Exception as exc:  # one failing job must not stop the others
                    log.exception("任务 %s 失败", job.id)
                    ctx.outputs.append(f"{job.name}：运行失败：{exc}")
            state = job.__getstate__()
            state["next_run_time"] = following
            job.__setstate__(state)
            if following is None:
                self.jobstore.remove_job(job.id)
            else:
                self.jobstore.update_job(job)
        self.store.release_stuck(now - timedelta(minutes=30))
        sent, retrying, failed = deliver(self.store, self.settings, now,
                                         keep_lease=lambda: self.store.take_lease(self.name, now, self.lease_ttl) is None)
        if sent or retrying or failed:
            # A send that failed is retried with back-off: said apart from those that failed for good.
            ctx.outputs.append(f"发送提醒：成功 {sent} 条" + (f"，待重试 {retrying} 条" if retrying else "")
                               + f"，最终失败 {failed} 条" + ("（compliance outbox list --failed 查看）" if failed else ""))
        return None, ctx.outputs

    def run_forever(self, poll: float, say: Callable[[str], None], clock: Callable[[], datetime] = real_now) -> None:
        """Tick every `poll` seconds until SIGTERM or Ctrl-C; give the lease up on the way out."""
        # The handler only sets a flag: it runs in this thread between two bytecodes, and setting a
        # threading.Event there deadlocked when the signal came while the wait held the event's lock.
        stopped = False

        def handle(signum: int, _frame: Any) -> None:
            nonlocal stopped
            stopped = True

        previous = {s: signal.signal(s, handle) for s in (signal.SIGTERM, signal.SIGINT)}
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(message)s")
        say(f"调度器已启动：{self.name}（每 {poll:g} 秒检查一次；Ctrl-C 停止）")
        waiting_for = None
        try:
            while not stopped:
                try:
                    holder, outputs = self.tick(clock())
                except Exception as exc:  # keep the scheduler alive; the error is shown and retried next time
                    log.exception("调度检查失败")
                    holder, outputs = None, [f"调度检查失败：{exc}"]
                if holder and holder != waiting_for:
                    say(f"调度器由「{holder}」持有，本进程待命，租约过期后接管")
                elif holder is None and waiting_for:
                    say("已接管调度")
                waiting_for = holder
                for line in outputs:
                    say(line)
                wake = time.monotonic() + poll
                while not stopped and (left := wake - time.monotonic()) > 0:
                    time.sleep(min(left, STOP_CHECK))
        finally:
            self.store.release_lease(self.name)
            for s, h in previous.items():
                signal.signal(s, h)
            say("调度器已停止")
