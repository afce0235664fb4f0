"""The one way listings build their rich tables: a title, bold Chinese headings, folding cells."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from rich.table import Table

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


def unit_of(path: str, root: str | None, depth: int) -> str:
    """Return the unit `depth` levels below `root` (below the top when None) that `path` belongs to; （本级） for `root` itself."""
    below = path[len(root) + 1:] if root and path.startswith(root + "/") else None if root and path == root else path
    if below is None:
        return "（本级）"
    return "/".join(below.split("/")[:depth])


def by_unit(items: Iterable[T], path: Callable[[T], str], root: str | None) -> dict[str, list[T]]:
    """Return `items` by the unit below `root` their path is in, in their order.

    The units are those directly below the scope, or further down while there is only one of
    them (a province of one city).
    """
    paths = {path(item) for item in items}
    depth = 1
    while depth < 4 and len({unit_of(p, root, depth) for p in paths}) < 2 and \
            any(unit_of(p, root, depth) != unit_of(p, root, depth + 1) for p in paths):
        depth += 1
    units: dict[str, list[T]] = {}
    for item in items:
        units.setdefault(unit_of(path(item), root, depth), []).append(item)
    return units
