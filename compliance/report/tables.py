"""The one way listings build their rich tables: a title, bold Chinese headings, folding cells."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence, TypeVar

from rich.console import Console
from rich.table import Table

from compliance.evaluate import path_order

T = TypeVar("T")


def titled_table(title: str, headings: tuple[str, ...], whole: tuple[str, ...] = (), lines: bool = False) -> Table:
    """Return an empty table; cells fold when long, except the columns in `whole` (dates, short labels)."""
    table = Table(title=title, header_style="bold", show_lines=lines)
    for heading in headings:
        table.add_column(heading, overflow="fold", no_wrap=heading in whole)
    return table


# A listing of more rows than this is shown on the terminal as counts per unit below the
# scope (`by_unit`): rich lays out a few hundred to a thousand rows a second (18 s for a
# county's 18,508 findings; a province's ledger of 400,000 items ran for over 15 minutes and
# 4 GB), and nobody reads that many there. JSON and CSV always list every row.
TABLE_LIMIT = 2000


def too_many(n: int, unit: str = "项") -> str:
    """Return the line under a table counted per unit: how many rows there are and how to list each."""
    return (f"共 {n} {unit}，超过 {TABLE_LIMIT} {unit}，按下级党组织汇总；完整清单请加 --format csv（可用 Excel 打开）"
            "或 --format json，或用 --under 指定下级党组织。")


def shown_path(path: str, root: str | None) -> str:
    """Return `path` as a table below `root` shows it: relative to `root` when under it, else whole."""
    return path[len(root) + 1:] if root and path.startswith(root + "/") else path


def without_own_org(table: Table, paths: Iterable[str], root: str | None) -> Table:
    """Return `table` without its first column (党组织) when every row is of `root` itself, the scope, which its title then names.

    Below the scope a row's organization is shown relative to it, but the scope's own rows showed its whole path: a
    branch's roster took five lines a member at 80 columns (try-out).
    """
    if root is None or not table.columns or any(path != root for path in paths):
        return table
    table.columns.pop(0)
    table.title = f"{root} {table.title}"
    return table


def _below(path: str, root: str | None) -> list[str]:
    """Return the names on the way from `root` (the top when None) down to `path`: none for `root` itself."""
    if root and path == root:
        return []
    return shown_path(path, root).split("/")


def unit_of(path: str, root: str | None, depth: int) -> str:
    """Return the unit `depth` levels below `root` (below the top when None) that `path` belongs to; （本级） for `root` itself."""
    return "/".join(_below(path, root)[:depth]) or "（本级）"


def by_unit(items: Sequence[T], path: Callable[[T], str], root: str | None) -> dict[str, list[T]]:
    """Return `items` by the unit below `root` their path is in, in their order.

    The units are those directly below the scope, or further down while there is only one of
    them (a province of one city). Organizations above a level (the scope itself, the city
    above its counties) do not count as a unit of that level when it is chosen.
    """
    below = [_below(p, root) for p in {path(item) for item in items}]
    depth = 1
    while depth < 4:
        reaching = [names for names in below if len(names) >= depth]
        if len({tuple(names[:depth]) for names in reaching}) >= 2 or not any(len(names) > depth for names in reaching):
            break
        depth += 1
    units: dict[str, list[T]] = {}
    for item in items:
        units.setdefault(unit_of(path(item), root, depth), []).append(item)
    return units


def every(_row: Any) -> bool:
    """Count every row (the first column of a `counts_table`)."""
    return True


def counts_table(title: str, rows: list[T], path: Callable[[T], str], root: str | None,
                 counts: Sequence[tuple[str, Callable[[T], Any]]], orgs: str | None = "党组织", ranked: bool = True) -> Table:
    """Return, per unit below `root` (`by_unit`), how many of its `rows` each of `counts` counts: (heading, test).

    With `orgs`, a column of that heading counts the unit's organizations among the rows. With
    `ranked`, units with the most rows of the later columns come first (a unit's worst first);
    otherwise they keep the rows' order.
    """
    found = []
    for unit, items in by_unit(rows, path, root).items():
        numbers = [sum(1 for item in items if test(item)) for _, test in counts]
        found.append((unit, ([len({path(item) for item in items})] if orgs else []) + numbers, numbers))
    if ranked:
        found.sort(key=lambda u: ([-n for n in u[2][1:]], -u[2][0], path_order(u[0])))
    table = titled_table(f"{title}（按下级党组织汇总）", ("下级党组织", *([orgs] if orgs else []), *(h for h, _ in counts)))
    for column in table.columns[1:]:
        column.justify = "right"
    for unit, numbers, _ in found:
        table.add_row(unit, *map(str, numbers))
    return table


def print_listing(console: Console, rows: Sequence[Any], detail: Callable[[], Table], summary: Callable[[], Table],
                  unit: str = "项", empty: str | None = None) -> None:
    """Print `detail()`, or above `TABLE_LIMIT` rows `summary()` (a `counts_table`) and how to list every row; `empty` when there are no rows."""
    if not rows and empty is not None:
        console.print(empty)
    elif len(rows) > TABLE_LIMIT:
        console.print(summary())
        console.print(too_many(len(rows), unit))
    else:
        console.print(detail())
