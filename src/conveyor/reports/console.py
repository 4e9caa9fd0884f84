"""Short rich tables for any gate: colour in a terminal, plain text in CI logs."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

LOG_WIDTH = 160
"""Width used when not writing to a terminal (CI logs), so tables do not wrap at 80."""


def render_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    console: Console | None = None,
) -> None:
    """Print `rows` under `headers` with a title; an empty table prints one line saying so."""
    out = console or _default_console()
    if not rows:
        out.print(f"{title}: none")
        return
    table = Table(title=title, title_justify="left", show_lines=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _default_console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=LOG_WIDTH)
