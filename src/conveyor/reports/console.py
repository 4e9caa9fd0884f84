"""Short rich tables for any gate: colour in a terminal, plain text in CI logs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from rich.console import Console
from rich.table import Table

from conveyor.ci import in_ci

LOG_WIDTH = 200
"""Width used when not writing to a terminal (CI logs), so tables do not wrap at 80."""


def render_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    console: Console | None = None,
) -> None:
    """Print `rows` under `headers` with a title; an empty table prints one line saying so."""
    out = console or output_console()
    if not rows:
        out.print(f"{title}: none")
        return
    table = Table(title=title, title_justify="left", show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def output_console(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """Rich in a terminal; in CI and pipes a wide console whose lines never wrap at 80."""
    console = Console(file=file, stderr=stderr)
    if console.is_terminal and not in_ci():
        return console
    return Console(file=file, stderr=stderr, width=LOG_WIDTH, soft_wrap=True, highlight=False)
