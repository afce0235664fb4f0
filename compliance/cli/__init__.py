"""The `compliance` command: parse, call one library function, render. The only place that exits.

This module holds the app, the shared options and the error handler; the commands live in
`records.py` (organizations, members, records, status, catalogs), `supervision.py` (supervision,
scores, sheets, the ledger) and `demo.py`.
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import re
import sqlite3
import sys
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from compliance import store as store_mod
from compliance.errors import ComplianceError, InputError, db_reason
from compliance.report.findings import print_findings, write_csv, write_json
from compliance.tabular import PARTY_FOUNDED, TOO_EARLY, CellError, parse_date
from obligations.catalog import CatalogError
from obligations.rules import Rules, default_rules


# The placeholders of the usage line (click's words).
USAGE_PLACEHOLDERS = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}

# What an option's value is, in the help's type column (typer shows Python's types: <str>, <int>).
OPTION_VALUES = {
    **dict.fromkeys(("--as-of", "--date", "--from", "--to", "--on", "--paid-on", "--recorded-on", "--since", "--deadline"), "日期"),
    "--known-at": "日期或时间", "--month": "月份", "--period": "周期", "--year": "年份", "--time": "时:分",
    "--org": "党组织", "--under": "党组织", "--status": "状态", "--db": "数据库", "--user": "用户名", "--role": "角色",
    "--catalog": "规则集", "--sheet": "评分表", "--item": "条目", "--veto": "情形", "--kind": "类型", "--obligation": "事项",
    **dict.fromkeys(("--member", "--counterpart", "--lecturer", "--recorder"), "姓名"),
    "--attendees": "名单", "--excused": "名单", "--group": "党小组", "--photos": "图片",
    **dict.fromkeys(("--topic", "--note", "--reason", "--name", "--matter", "--measure"), "文字"), "--responsible": "姓名",
    "--expected": "人数", "--present": "人数", "--hours": "学时", "--amount": "金额", "--points": "分数",
    "--secretary-signed": "是|否", "--recorder-signed": "是|否", "--out": "路径", "--poll": "秒",
    **dict.fromkeys(("--jobs", "--day", "--months", "--watch-months", "--dues-advance-months"), "整数"),
}
TYPE_VALUES = {"<str>": "文字", "<int>": "整数", "<float>": "数字", "<path>": "路径"}


def _help_in_chinese() -> None:
    """Put the words typer adds to every help page in Chinese: panel titles, the help option, the usage line.

    The panel titles are module settings of `typer.rich_utils`, which typer imports only to draw a
    help page, or an error in standalone mode (`main` words errors itself): they are set as the
    first page is drawn or a standalone run starts, so a command run by `main` that draws no page
    does not import it, nor rich's markdown and traceback (0.07 s). The help option's text and the
    usage prefix are fixed in the command classes, so both are set as each page is made.
    """
    from typer import core

    def format_usage(self: Any, ctx: Any, formatter: Any) -> None:
        pieces = [USAGE_PLACEHOLDERS.get(piece, piece) for piece in self.collect_usage_pieces(ctx)]
        formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="用法：")

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if self.is_flag:
            return None         # a switch takes no value
        if self.metavar is None and self.opts[0] in OPTION_VALUES:
            return OPTION_VALUES[self.opts[0]]
        shown = typed(self, ctx)
        return TYPE_VALUES.get(shown, shown)

    def argument_type_rich(self: Any, ctx: Any) -> str | None:
        shown = argument_typed(self, ctx)
        return shown if shown and "|" in shown else None      # its name says what it is (文件, 类型); choices are kept

    typed, argument_typed = getattr(core.TyperOption, "display_type_rich", None), getattr(core.TyperArgument, "display_type_rich", None)
    if typed is not None and argument_typed is not None and not getattr(typed, "chinese", False):
        display_type_rich.chinese = argument_type_rich.chinese = True     # type: ignore[attr-defined]
        core.TyperOption.display_type_rich = display_type_rich      # type: ignore[method-assign]
        core.TyperArgument.display_type_rich = argument_type_rich      # type: ignore[method-assign]
    for cls in (core.TyperCommand, core.TyperGroup):
        cls.get_help_option = _chinese_help_option(cls.get_help_option)
        cls.format_usage = format_usage
        cls.format_help = _chinese_panels(cls.format_help)
        cls.main = _chinese_errors(cls.main)


def _panel_words() -> None:
    """Set the Chinese panel titles and notes of `typer.rich_utils` (importing it)."""
    from typer import rich_utils

    words = {"ARGUMENTS_PANEL_TITLE": "参数", "OPTIONS_PANEL_TITLE": "选项", "COMMANDS_PANEL_TITLE": "命令",
             "ERRORS_PANEL_TITLE": "错误", "ABORTED_TEXT": "已中止。", "DEFAULT_STRING": "[默认：{}]",
             "ENVVAR_STRING": "[环境变量：{}]", "REQUIRED_LONG_STRING": "[必填]", "DEPRECATED_STRING": "（已弃用）"}
    for name, text in words.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, text)
    for name in ("_get_parameter_help", "_make_command_help"):
        made = getattr(rich_utils, name, None)
        if made is not None and not getattr(made, "folds", False):
            setattr(rich_utils, name, _folded(made))


def _folded(make: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a `typer.rich_utils` function that makes the help text of an option or a command so that a line too long is folded, not cut.

    Rich breaks lines at spaces, and a table cell cuts a longer run with "…": Chinese has no
    spaces, so at 80 columns an option's help lost its middle (「判断（默 … 2026-11-25」).
    """
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from rich.columns import Columns
        from rich.text import Text

        made = make(*args, **kwargs)
        for part in made.renderables if isinstance(made, Columns) else [made]:
            if isinstance(part, Text):
                part.overflow = "fold"
        return made

    wrapped.folds = True     # type: ignore[attr-defined]
    return wrapped


def _chinese_errors(main: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a command class's `main` so that typer's own error panel and abort text are in Chinese.

    typer draws them only in standalone mode (`app(...)` called directly, as tests do); `main`
    below runs the app without it and words every error itself, so it imports nothing more.
    """
    def wrapped(self: Any, args: Any = None, prog_name: Any = None, complete_var: Any = None,
                standalone_mode: bool = True, *rest: Any, **extra: Any) -> Any:
        if standalone_mode:
            _panel_words()
        return main(self, args, prog_name, complete_var, standalone_mode, *rest, **extra)

    return wrapped


def _chinese_panels(format_help: Callable[[Any, Any, Any], None]) -> Callable[[Any, Any, Any], None]:
    """Wrap a command class's `format_help` so that the panels it draws have Chinese titles."""
    def wrapped(self: Any, ctx: Any, formatter: Any) -> None:
        _panel_words()
        format_help(self, ctx, formatter)

    return wrapped


def _chinese_help_option(get_help_option: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Wrap a command class's `get_help_option` so that the option it makes says what it does in Chinese."""
    def wrapped(self: Any, ctx: Any) -> Any:
        option = get_help_option(self, ctx)
        if option is not None:
            option.help = "显示此帮助并退出。"
        return option

    return wrapped


_help_in_chinese()

app = typer.Typer(help="基层党组织组织生活合规台账：三会一课、主题党日、固定学习日等按期提醒与督查。", no_args_is_help=True, add_completion=False)
org_app = typer.Typer(help="党组织：导入与列表。", no_args_is_help=True)
member_app = typer.Typer(help="党员花名册：导入、登记和列出免除、登记离开。", no_args_is_help=True)
record_app = typer.Typer(help="会议与活动记录：导入、列表、查看、更正、作废。", no_args_is_help=True)
catalog_app = typer.Typer(help="规则集（执行规定）：列表、查看、检查。", no_args_is_help=True)
sheet_app = typer.Typer(help="考核评分表：列表、查看、检查。", no_args_is_help=True)
rectify_app = typer.Typer(help="整改台账：列表、登记、销号、撤销销号。", no_args_is_help=True)
deduction_app = typer.Typer(help="人工扣分：列表、撤销（deduct 登记）。", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(sheet_app, name="sheet")
app.add_typer(deduction_app, name="deduction")
app.add_typer(rectify_app, name="rectify")
app.add_typer(member_app, name="member")
app.add_typer(record_app, name="record")
app.add_typer(catalog_app, name="catalog")

console = Console(soft_wrap=True)     # one message, one line: the terminal folds it, and a file or pipe gets it whole


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


# Options shared by the listing commands.
FORMAT_OPTION = typer.Option(Format.table, "--format", help="table（表格）、json 或 csv。")
AS_OF_OPTION = typer.Option(None, "--as-of", help="判断日期，默认今天。")
KNOWN_AT_OPTION = typer.Option(None, "--known-at", help="只看此前录入的记录，复现当时结果。")
# 500 and 4 are compliance.blocks.PARALLEL_MIN and MAX_JOBS (not imported here: every command would load it).
SHEET_OPTION = typer.Option(None, "--sheet", metavar="表名", help="XLSX 工作簿中要导入的表（表名，如 一月）：每月一张表的工作簿逐张导入。")
JOBS_OPTION = typer.Option(0, "--jobs", help="并行进程数（最多 4 个）：0 为每个 CPU 核一个，1 为不并行；党组织少于 500 个时不并行。")


def jobs_count(jobs: int) -> int:
    """Return the worker processes `--jobs` asks for (0: one per core); InputError for a negative number, or one above `MAX_JOBS`
    (which ran as `MAX_JOBS` without a word: try-out)."""
    from compliance.blocks import MAX_JOBS, default_jobs

    if jobs < 0:
        raise InputError(f"--jobs：值「{jobs}」不能为负数（0 为每个 CPU 核一个进程）")
    if jobs > MAX_JOBS:
        raise InputError(f"--jobs：值「{jobs}」超过上限 {MAX_JOBS}（0 为每个 CPU 核一个进程）")
    return jobs or default_jobs()


class State:
    db: str | None = None
    user: str | None = None
    cancel_said: bool = False       # a command stopped by Ctrl-C has said so itself (`Cancelled`)


state = State()


def fails_cleanly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a ComplianceError or CatalogError into a one-line message on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ComplianceError as exc:
            if exc.exit_code == INTERRUPTED:
                state.cancel_said = True        # `main` says 已取消 no second time
            typer.echo(f"错误：{exc}", err=True)
            for line in exc.details:
                typer.echo(f"  {line}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except (CatalogError, KeyError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
            typer.echo(f"错误：{message}", err=True)
            raise typer.Exit(2) from None
        except (SQLAlchemyError, sqlite3.Error) as exc:
            # The last line of defence: a database refusal the checks above did not foresee.
            typer.echo(f"错误：数据库出错，这次操作未完成：{db_reason(exc)}（未写入任何数据）", err=True)
            raise typer.Exit(4) from None
        except UnicodeEncodeError as exc:
            # An argument typed in a GBK terminal (or joined bytewise) is not UTF-8: Python keeps its bytes as surrogates,
            # which no text can be encoded with. `log --topic` of one ended in a traceback (try-out).
            if "surrogates" not in str(exc):
                raise
            typed = [a for a in sys.argv[1:] if any("\udc80" <= ch <= "\udcff" for ch in a)]
            shown = (typed[0] if typed else str(exc.object)).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            typer.echo(f"错误：参数「{shown[:40]}」中有不是 UTF-8 编码的字符：请把终端的字符编码设为 UTF-8 后重试"
                       "（这次操作未完成，未写入任何数据）", err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.callback()
def main_options(
    db: Optional[str] = typer.Option(None, "--db", help="数据库：SQLAlchemy URL 或 SQLite 文件路径；默认取 COMPLIANCE_DB，否则用户数据目录下的 compliance.db。"),
    user: Optional[str] = typer.Option(None, "--user", envvar="COMPLIANCE_USER", help="操作用户（已有用户时修改数据必须指明）。"),
) -> None:
    state.db = db
    state.user = user


def session(must_exist: bool = True) -> tuple[store_mod.Store, Any]:
    """Open the database and resolve the acting user; the audit log names them."""
    from compliance.access import resolve_actor

    from compliance.access import deny

    store = store_mod.open_store(state.db, must_exist=must_exist)
    actor = resolve_actor(store, state.user)
    if actor.anonymous:
        raise deny(store, actor, "session", "数据库已有用户：须用 --user 或 COMPLIANCE_USER 指明身份")
    store.actor = actor.name or store.actor
    return store, actor


ORG_HELP = "党组织：代码、路径或唯一名称（支部书记用户可省略，即本支部）。"


def own_org(actor: Any, org: str | None) -> str:
    """Return --org as given, else a branch secretary's own branch: other users must name one."""
    if org:
        return org
    if actor.role == "branch" and actor.scope:
        return actor.scope
    raise InputError("缺少必需的选项：--org（党组织：代码、路径或唯一名称；以支部书记用户操作时可省略，即本支部）")


def _rules() -> Rules:
    return default_rules()


def make_folder(folder: Path) -> None:
    """Make `folder` and the folders above it; a file in its place is 不是文件夹 (mkdir said only 已存在)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder)) from None


def _date_option(value: str | None, option: str) -> date | None:
    """Return a date typed on the command line; one before the Party was founded is a mistyped year, refused.

    `status --as-of 0001-01-01` failed with a traceback (year 0 is out of range) and 0202-12-01 listed every period 免除.
    """
    if value is None:
        return None
    try:
        day = parse_date(value)
    except CellError as exc:
        raise InputError(f"{option}：值「{value}」{exc}") from None
    if day is not None and day < PARTY_FOUNDED:
        raise InputError(f"{option}：值「{value}」{TOO_EARLY}")
    return day


def _as_of_option(value: str | None) -> date:
    """Return --as-of of a view that judges periods, today when not given; a day after today is refused.

    A mistyped year (2027 for 2026) listed every period until then as 逾期未完成, periods that had not ended yet.
    """
    today = _today()
    day = _date_option(value, "--as-of")
    if day is None:
        return today
    if day > today:
        raise InputError(f"--as-of：值「{value}」晚于今天（{today.isoformat()}）：以后的事尚未发生，无法据此判断；"
                         "要看今后各期的安排，用 status --year 或 calendar")
    return day


def _id_argument(value: str, what: str) -> int:
    """Return a numeric id typed on the command line; InputError names the value otherwise."""
    try:
        number = int(value.strip())
    except ValueError:
        raise InputError(f"{what}「{value}」不是编号（应为整数）") from None
    if number < 1:
        raise InputError(f"{what}「{value}」不是编号（应为正整数）")
    return number


SKIPPED_SHOWN = 5      # rows an import passed over (titles, totals, footers) named by their numbers


def say_skipped(skipped: list[tuple[int, str]]) -> None:
    """Say the rows an import passed over (`Table.skipped`): a row taken for a title or a totals row is seen."""
    if skipped:
        shown = "、".join(f"第{row}行（{kind}）" for row, kind in skipped[:SKIPPED_SHOWN])
        console.print(f"已跳过{shown}{'等' if len(skipped) > SKIPPED_SHOWN else ''}：不是数据行。", markup=False, soft_wrap=True)


def orgs_named(paths: list[str]) -> str:
    """Return organizations as a notice names them: 党组织「甲」 alone, else 「甲」「乙」2个党组织 (the first three and 等 beyond)."""
    if len(paths) == 1:
        return f"党组织「{paths[0]}」"
    return f"「{'」「'.join(paths[:3])}」{'等' if len(paths) > 3 else ''}{len(paths)}个党组织"


def known_words(known_at: datetime | None) -> str:
    """Return the words a listing's title gives a --known-at view ("" without one)."""
    return "" if known_at is None else f"按 {known_at.astimezone(store_mod.TZ):%Y-%m-%d %H:%M} 时已录入的数据"


def known_at_alone(as_of: str | None, known_at: datetime | None) -> None:
    """Point out, on stderr, a --known-at before today given without --as-of: today's periods are then judged on what was known then."""
    if known_at is None or as_of is not None:
        return
    day = known_at.astimezone(store_mod.TZ).date()
    if day < _today():
        typer.echo(f"提示：只给了 --known-at，仍按今天（{_today().isoformat()}）判断哪些周期已结束、哪些月份已满；"
                   f"复现当时的结果，请同时给 --as-of {day.isoformat()}", err=True)


def known_before_records(store: Any, scope_path: str | None, known_at: datetime | None) -> None:
    """Point out, on stderr, a --known-at before the first record of the scope was entered: everything then shows as not done.

    A county that imported its records on 6 December and asked what was known on 25 November saw 40,456 items 逾期未完成
    against 12,203, with nothing but the title to say why (try-out).
    """
    if known_at is None:
        return
    first = store.first_recorded(scope_path)
    if first is None or first <= known_at:
        return
    typer.echo(f"提示：--known-at 的时间 {known_at.astimezone(store_mod.TZ):%Y-%m-%d %H:%M}，{scope_path or '数据库'}还没有录入任何记录"
               f"（最早的记录录入于 {first.astimezone(store_mod.TZ):%Y-%m-%d %H:%M}），各项都将显示为未完成；"
               "导入的历史记录按导入的时间算录入时间，不按「录入日期」列", err=True)


def as_of_words(day: date, known_at: datetime | None = None) -> str:
    """Return the words a listing's title gives its view: 截至 the day, and what was known then, with --known-at."""
    return f"截至 {day.isoformat()}" + (f"，{known_words(known_at)}" if known_at is not None else "")


def _known_at(value: str | None) -> datetime | None:
    """Return --known-at as a wall-clock datetime; a bare date means the end of that day. A day after today is refused.

    A mistyped year (2026-12-25 for 2026-11-25) gave today's data under a title that named the day, as if reproduced.
    """
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            day = parse_date(value)
        except CellError:
            raise InputError(f"--known-at：值「{value}」不是日期或时间（应写作 2026-11-25 或 2026-11-25T18:00）") from None
        assert day is not None
        moment = datetime.combine(day, time(23, 59, 59), tzinfo=store_mod.TZ)
    else:
        if len(value) == 10:
            moment = datetime.combine(moment.date(), time(23, 59, 59), tzinfo=store_mod.TZ)
        elif moment.tzinfo is None:
            moment = moment.replace(tzinfo=store_mod.TZ)
    today = _today()
    try:
        day = moment.astimezone(store_mod.TZ).date()
    except OverflowError:       # 0001-01-01T00:00+14:00 is before the first day there is, 9999-12-31T23:00-10:00 after the last (review)
        day = date.min if moment.year < PARTY_FOUNDED.year else date.max
    if day < PARTY_FOUNDED:
        raise InputError(f"--known-at：值「{value}」{TOO_EARLY}")
    if day > today:
        raise InputError(f"--known-at：值「{value}」晚于今天（{today.isoformat()}）：只能复现已经过去的时间；"
                         "看现在的数据，不加 --known-at")
    return moment


def workdays_notice(first: date, last: date, actor: Any = None, store: Any = None) -> None:
    """Point out, on stderr, the years from `first` to `last` whose holiday notice the rules lack: their 固定学习日 are not moved off holidays.

    A branch secretary (`actor`) is told who adds it: the file to write is the county's business (try-out). With
    `store`, only where a catalog its organizations follow moves a day off a holiday: a street office on national-2018,
    which has no 固定学习日, was told of them at every command (try-out).
    """
    from compliance.tracking import default_catalog
    from obligations.paths import data_dir, example_file

    rules = _rules()
    missing = rules.calendar.missing_years(first, last)
    if missing and store is not None:
        names = {o.catalog for o in store.orgs() if o.catalog} | {default_catalog(store)}
        if not any(ob.shift_to_workday for name in names if (catalog := rules.catalogs.get(name)) is not None
                   for ob in catalog.every_obligation()):
            return
    if missing:
        years = "、".join(f"{y}年" for y in missing)
        which = "这一年" if len(missing) == 1 else "这些年份"
        said = f"提示：没有{years}的节假日安排（国务院办公厅通知），{which}只按周末判断工作日，节假日上的固定学习日不会顺延；"
        if actor is not None and actor.role == "branch":
            typer.echo(said + "通知发布后由县委组织部（本系统的管理员）补充，补充后自动按节假日顺延", err=True)
            return
        typer.echo(said + f"通知发布后请按其写成规则目录下的 workdays/{missing[0]}.toml（现用的规则目录：{data_dir()}，"
                   f"可用 COMPLIANCE_DATA 指定自己的副本；写法见示例 {example_file('workdays.toml')}）", err=True)


def _today() -> date:
    return store_mod.now().date()       # the store's clock, which tests set


def _emit(findings: list[Any], fmt: Format, title: str, show_org: bool = True, root: str | None = None,
          year: int | None = None, lacking: Mapping[tuple[str, str, str, str], str] | None = None) -> None:
    if fmt is Format.json:
        write_json(findings, sys.stdout)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        write_csv(findings, sys.stdout)
    else:
        print_findings(console, findings, title, show_org, root, year, lacking)



USAGE_WORDS = {"NoSuchOption": "没有这个选项", "MissingParameter": "缺少必需的参数", "BadParameter": "参数值无效",
               "BadOptionUsage": "选项用法有误", "BadArgumentUsage": "参数用法有误"}


def _usage_words(exc: Exception) -> tuple[str, str] | None:
    """Return (what is wrong, what it is about) for the parser's complaints that name an option or argument; None for the rest."""
    name = type(exc).__name__
    if name == "MissingParameter" and getattr(exc, "param", None) is not None:
        param = exc.param          # type: ignore[attr-defined]
        if getattr(param, "param_type_name", None) == "option" and getattr(param, "opts", None):
            return "缺少必需的选项", "、".join(param.opts)
        return "缺少必需的参数", getattr(param, "metavar", None) or (param.name or "").upper()
    if name == "BadOptionUsage" and getattr(exc, "option_name", None) and "requires an argument" in exc.format_message():
        return "选项用法有误", f"{exc.option_name} 后面需要给出值"      # type: ignore[attr-defined]
    if name == "NoSuchOption":
        hints = sorted(getattr(exc, "possibilities", None) or ())
        # A listing takes --under (this organization and below), an organization's own commands --org: the parser offered
        # --format for `members watch --org` (try-out).
        other = {"--org": "--under", "--under": "--org"}.get(exc.option_name)      # type: ignore[attr-defined]
        command = getattr(getattr(exc, "ctx", None), "command", None)
        if other and any(other in getattr(p, "opts", ()) for p in getattr(command, "params", ())):
            hints = [other]
        return "没有这个选项", exc.option_name + (f"（是否要用 {'、'.join(hints)}？）" if hints else "")   # type: ignore[attr-defined]
    text = exc.format_message()       # type: ignore[attr-defined]
    if name == "UsageError" and (command := re.match(r"No such command '([^']+)'", text)):
        ctx = getattr(exc, "ctx", None)
        group = getattr(ctx, "command", None)
        available = group.list_commands(ctx) if hasattr(group, "list_commands") else []
        # The parser's guess at a misspelt command, in its own English ("Did you mean 'status'?").
        hint = re.search(r"Did you mean '([^']+)'", text)
        return "没有这个命令", command.group(1) + (f"（是否要用 {hint.group(1)}？）" if hint else "") \
            + (f"（可用：{'、'.join(available)}）" if available else "")
    opts = getattr(getattr(exc, "param", None), "opts", None)
    if name == "BadParameter" and opts:
        value = _given(opts)
        where = "、".join(opts) + (f"：值「{value}」" if value is not None else "")
        if (choices := re.search(r"is not one of (.+)", text)):
            allowed = "、".join(re.findall(r"'([^']*)'", choices.group(1)))
            return "参数值无效", f"{where}不在可选值中（可选：{allowed}）"
        if "valid integer" in text:
            return "参数值无效", f"{where}不是整数"
        if "valid number" in text:
            return "参数值无效", f"{where}不是数字"
    return None


def _help_command(ctx: Any) -> str:
    """Return the command that shows the help page of the command a usage error is about (`compliance record correct --help`).

    From the error's context; the parser's complaints about an option's value come without one,
    and the command is then the longest run of command names on the command line.
    """
    names: list[str] = []
    if ctx is not None:
        while ctx.parent is not None:
            names.insert(0, ctx.info_name)
            ctx = ctx.parent
    else:
        from typer.main import get_command

        group = get_command(app)
        for arg in sys.argv[1:]:
            command = group.get_command(None, arg) if hasattr(group, "get_command") and not arg.startswith("-") else None
            if command is not None:
                names.append(arg)
                group = command
    return " ".join(["compliance", *names, "--help"])


def _given(opts: list[str]) -> str | None:
    """Return the value typed on the command line after one of `opts` (`--opt value` or `--opt=value`)."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        for opt in opts:
            if arg == opt and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(opt + "="):
                return arg[len(opt) + 1:]
    return None


GLOBAL_OPTIONS = ("--db", "--user")


def global_options_first(args: list[str]) -> list[str]:
    """Return the arguments with --db and --user (options of every command) moved before the command, wherever they were typed.

    `compliance demo --db FILE` said 「没有这个选项：--db」: the options belong to the program,
    and the parser takes them only before the command's name.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            rest.extend(args[i:])
            break
        if word in GLOBAL_OPTIONS and i + 1 < len(args):
            front.extend(args[i:i + 2])
            i += 2
            continue
        if word.startswith(tuple(f"{o}=" for o in GLOBAL_OPTIONS)):
            front.append(word)
        else:
            rest.append(word)
        i += 1
    return front + rest


# The exit code of a command stopped by Ctrl-C (128 + SIGINT), as a shell gives it.
INTERRUPTED = 130


def main() -> None:
    """Entry point of the console script: usage errors become one line too, like every other error."""
    # What importing made lives as long as the process: frozen, the collector does not traverse
    # it again, in the command's collections nor in the interpreter's passes at exit (0.19 s of a
    # one-branch `status`'s 1.1 s; the objects made later are collected as before).
    gc.freeze()
    if len(sys.argv) == 1:
        sys.argv.append("--help")
    sys.argv[1:] = global_options_first(sys.argv[1:])
    state.cancel_said = False
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        typer.echo("错误：已取消", err=True)
        sys.exit(INTERRUPTED)
    except Exception as exc:  # the command-line parser's usage errors (click's, vendored by typer)
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message())
            sys.exit(0)
        word, detail = _usage_words(exc) or (USAGE_WORDS.get(type(exc).__name__, "用法有误"), " ".join(exc.format_message().split()))
        typer.echo(f"错误：{word}：{detail}（{_help_command(getattr(exc, 'ctx', None))} 查看用法）", err=True)
        sys.exit(exc.exit_code)
    if code == INTERRUPTED and not state.cancel_said:
        # Typer makes a Ctrl-C in a command this exit code, and says nothing.
        typer.echo("错误：已取消", err=True)
    sys.exit(code or 0)



# Register the commands (they import the app above).
from compliance.cli import records, supervision, members, scheduling, admin, demo  # noqa: E402,F401,I001  (help lists them in this order)
