"""Tool output -> GitHub annotations and a step-summary table, so CI points at the failing line.

Parsers for ruff's JSON, mypy's text, bandit's JSON and pytest's JUnit XML each return
`Annotation`s with paths relative to the project root (what GitHub needs to place them).
`publish` emits the most severe ones (GitHub shows 10 per step) and appends a markdown table to
the step summary; both are no-ops outside GitHub Actions.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# JUnit XML written by the project's own pytest run, not untrusted input (bandit B405/B314).
from xml.etree import ElementTree as ET  # nosec B405

from conveyor.errors import ToolFailedError
from conveyor.reports.github import (
    Annotation,
    Level,
    emit_annotations,
    markdown_table,
    write_step_summary,
)

SUMMARY_ROWS = 50
_MYPY_LINE = re.compile(
    r"^(?P<file>[^:\n]+?):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<level>error|note|warning): "
    r"(?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_TRACEBACK_LOCATION = re.compile(r"^(?P<file>[^\s:][^:\n]*\.py):(?P<line>\d+): ", re.MULTILINE)
_BANDIT_LEVEL: dict[str, Level] = {"HIGH": "error", "MEDIUM": "error", "LOW": "warning"}


def relative(path: str, root: Path) -> str:
    """`path` relative to `root` with forward slashes, when it lies under it."""
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.resolve().relative_to(root.resolve())
        except ValueError:
            return path
    return candidate.as_posix()


def _loads(text: str, tool: str) -> Any:
    try:
        return json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise ToolFailedError(
            f"{tool}: unreadable JSON output ({exc})",
            hint=f"run {tool} by hand to see what it printed",
        ) from None


def ruff_rule(item: dict[str, Any]) -> str:
    """The rule of one ruff violation: its code, else a readable name (ruff gives syntax
    errors and some others no code): `syntax-error`, or the rule page's name in its URL."""
    if item.get("code"):
        return str(item["code"])
    message = str(item.get("message", ""))
    if message.startswith("SyntaxError"):
        return "syntax-error"
    url = str(item.get("url") or "").rstrip("/")
    return url.rsplit("/", 1)[-1] if url else "ruff-error"


def from_ruff(text: str, root: Path) -> list[Annotation]:
    """`ruff check --output-format json` -> one error per violation, named by its rule."""
    return [
        Annotation(
            "error",
            f"{ruff_rule(item)} {item['message']}",
            file=relative(str(item["filename"]), root),
            line=int(item["location"]["row"]),
            title="ruff",
        )
        for item in _loads(text, "ruff")
    ]


def from_mypy(text: str, root: Path) -> list[Annotation]:
    """mypy's `file:line[:col]: error: message  [code]` lines -> errors (notes are skipped)."""
    found = []
    for raw in text.splitlines():
        match = _MYPY_LINE.match(raw.strip())
        if match is None or match["level"] == "note":
            continue
        code = f" [{match['code']}]" if match["code"] else ""
        found.append(
            Annotation(
                "error" if match["level"] == "error" else "warning",
                match["message"] + code,
                file=relative(match["file"], root),
                line=int(match["line"]),
                title="mypy",
            )
        )
    return found


def from_bandit(text: str, root: Path) -> list[Annotation]:
    """bandit's JSON report -> an error (high/medium) or warning (low) per issue."""
    data = _loads(text, "bandit")
    results = data.get("results", []) if isinstance(data, dict) else []
    return [
        Annotation(
            _BANDIT_LEVEL.get(str(item["issue_severity"]), "warning"),
            f"{item['test_id']} {item['issue_text']}",
            file=relative(str(item["filename"]), root),
            line=int(item["line_number"]),
            title="bandit",
        )
        for item in results
    ]


def _junit_location(case: ET.Element, detail: str, root: Path) -> tuple[str | None, int | None]:
    """The test's file and the failing line: `file`/`line` attributes, else the traceback."""
    module_file = case.get("file")
    if module_file is None and case.get("classname"):
        parts = str(case.get("classname")).split(".")
        while parts and not (root / Path(*parts).with_suffix(".py")).is_file():
            parts.pop()
        module_file = Path(*parts).with_suffix(".py").as_posix() if parts else None
    locations = [m for m in _TRACEBACK_LOCATION.finditer(detail)]
    for match in reversed(locations):
        if module_file is None or relative(match["file"], root) == module_file:
            return relative(match["file"], root), int(match["line"])
    line = case.get("line")
    return module_file, (int(line) + 1 if line is not None else None)


def from_junit(text: str, root: Path) -> list[Annotation]:
    """pytest's JUnit XML -> one error per failed or erroring test, at the failing line."""
    try:
        tree = ET.fromstring(text)  # noqa: S314  # nosec B314
    except ET.ParseError as exc:
        raise ToolFailedError(f"pytest: unreadable JUnit XML ({exc})") from None
    found = []
    for case in tree.iter("testcase"):
        for outcome in ("failure", "error"):
            element = case.find(outcome)
            if element is None:
                continue
            detail = element.text or ""
            file, line = _junit_location(case, detail, root)
            message = element.get("message") or outcome
            found.append(
                Annotation(
                    "error",
                    f"{case.get('name')}: {message}",
                    file=file,
                    line=line,
                    title=f"pytest {outcome}",
                )
            )
    return found


@dataclass(frozen=True)
class JunitTotals:
    """What a test run's JUnit XML counts (every <testsuite> summed)."""

    tests: int
    failures: int
    errors: int
    skipped: int

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped

    @property
    def ran(self) -> int:
        """Tests that ran (passed, failed or errored): none means nothing was checked."""
        return self.tests - self.skipped

    def __str__(self) -> str:
        """`323 passed, 2 skipped`."""
        parts = [f"{self.passed} passed"]
        parts += [
            f"{count} {name}"
            for name, count in (
                ("failures", self.failures),
                ("errors", self.errors),
                ("skipped", self.skipped),
            )
            if count
        ]
        return ", ".join(parts)


def junit_totals(text: str) -> JunitTotals:
    """The counts of pytest's (or Conveyor's unittest runner's) JUnit XML."""
    try:
        tree = ET.fromstring(text)  # noqa: S314  # nosec B314
    except ET.ParseError as exc:
        raise ToolFailedError(f"pytest: unreadable JUnit XML ({exc})") from None
    suites = [tree] if tree.tag == "testsuite" else list(tree.iter("testsuite"))
    counts = {key: 0 for key in ("tests", "failures", "errors", "skipped")}
    for suite in suites:
        for key in counts:
            counts[key] += int(suite.get(key) or 0)
    return JunitTotals(**counts)


def summary(title: str, findings: Sequence[Annotation]) -> str:
    """A markdown section: the verdict and a table of (at most SUMMARY_ROWS) findings."""
    if not findings:
        return f"### {title}: passed\n\nNo findings."
    rows = [
        [f.level, f.file or "-", str(f.line or "-"), f.message] for f in findings[:SUMMARY_ROWS]
    ]
    more = len(findings) - len(rows)
    tail = f"\n\n... and {more} more" if more > 0 else ""
    table = markdown_table(["level", "file", "line", "message"], rows)
    return f"### {title}: {len(findings)} finding(s)\n\n{table}{tail}"


def publish(title: str, findings: Sequence[Annotation]) -> int:
    """Under GitHub Actions: annotations for the most severe findings and the summary table."""
    write_step_summary(summary(title, findings))
    return emit_annotations(list(findings))


Parser = Callable[[str, Path], "list[Annotation]"]


def report_text(title: str, text: str, parse: Parser, root: Path | None = None) -> list[Annotation]:
    """Parse a tool's output with `parse(text, root)` and publish the findings."""
    findings = parse(text, root or Path(os.getcwd()))
    publish(title, findings)
    return findings


def read_report(path: Path, parse: Parser, root: Path | None = None) -> list[Annotation]:
    """Parse a tool's report file with `parse(text, root)`; [] when absent."""
    if not path.is_file():
        return []
    return parse(path.read_text(encoding="utf-8"), root or Path(os.getcwd()))


def report_file(
    title: str, path: Path, parse: Parser, root: Path | None = None
) -> list[Annotation]:
    """Parse a tool's report file with `parse(text, root)` and publish it; [] when absent."""
    findings = read_report(path, parse, root)
    if path.is_file():
        publish(title, findings)
    return findings
