"""The one way listings build their rich tables: a title, bold Chinese headings, folding cells."""

from __future__ import annotations

from rich.table import Table


def titled_table(title: str, headings: tuple[str, ...], whole: tuple[str, ...] = (), lines: bool = False) -> Table:
    """Return an empty table; cells fold when long, except the columns in `whole` (dates, short labels)."""
    table = Table(title=title, header_style="bold", show_lines=lines)
    for heading in headings:
        table.add_column(heading, overflow="fold", no_wrap=heading in whole)
    return table
