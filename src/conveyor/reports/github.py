"""GitHub Actions workflow commands: log groups, annotations, step summary, masks.

Everything here is a no-op outside Actions (`GITHUB_ACTIONS` unset), so callers never branch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, TextIO

MAX_ANNOTATIONS = 10
Level = Literal["error", "warning", "notice"]
_LEVEL_RANK = {"error": 0, "warning": 1, "notice": 2}


def in_github_actions() -> bool:
    """True when running inside a GitHub Actions job."""
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One `::error file=…,line=…::message` line."""

    level: Level
    message: str
    file: str | None = None
    line: int | None = None
    title: str | None = None

    def render(self) -> str:
        props = []
        if self.file:
            props.append(f"file={_escape_property(self.file)}")
        if self.line:
            props.append(f"line={self.line}")
        if self.title:
            props.append(f"title={_escape_property(self.title)}")
        head = f"::{self.level}"
        if props:
            head += " " + ",".join(props)
        return f"{head}::{_escape_data(self.message)}"


def emit_annotations(items: list[Annotation], stream: TextIO | None = None) -> int:
    """Print the most severe `MAX_ANNOTATIONS` (GitHub shows no more per step); return count."""
    if not in_github_actions():
        return 0
    out = stream or sys.stdout
    ranked = sorted(items, key=lambda a: _LEVEL_RANK[a.level])[:MAX_ANNOTATIONS]
    for item in ranked:
        print(item.render(), file=out, flush=True)
    return len(ranked)


@contextmanager
def group(title: str, stream: TextIO | None = None) -> Iterator[None]:
    """Fold a tool's output under `title` in the Actions log."""
    out = stream or sys.stdout
    active = in_github_actions()
    if active:
        print(f"::group::{title}", file=out, flush=True)
    try:
        yield
    finally:
        if active:
            print("::endgroup::", file=out, flush=True)


def add_mask(secret: str, stream: TextIO | None = None) -> None:
    """Ask Actions to mask `secret` in every later log line."""
    if in_github_actions() and secret:
        print(f"::add-mask::{secret}", file=stream or sys.stdout, flush=True)


def write_step_summary(markdown: str) -> bool:
    """Append markdown to the job's step summary; False when not in Actions."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not (in_github_actions() and path):
        return False
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(markdown.rstrip() + "\n\n")
    return True


def markdown_table(headers: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table (pipes in cells escaped)."""

    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join(" --- " for _ in headers) + "|")
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)
