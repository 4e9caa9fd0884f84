"""bandit adapter: argv for a JSON report, and that report parsed into typed findings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.errors import ToolFailedError

OK_CODES = (0, 1)
"""bandit exits 1 when it reports findings; anything else is a crash."""


@dataclass(frozen=True)
class BanditFinding:
    """One issue bandit reported."""

    test_id: str
    test_name: str
    severity: str
    confidence: str
    filename: str
    line: int
    text: str
    more_info: str


def bandit_argv(targets: Sequence[str], skips: Sequence[str], report: Path) -> list[str]:
    """bandit recursively over `targets`, skipping test ids `skips`, JSON into `report`."""
    argv = ["bandit", "-r", "-f", "json", "-o", str(report), "-q"]
    if skips:
        argv += ["-s", ",".join(skips)]
    return [*argv, "--", *targets]


def parse_report(text: str) -> list[BanditFinding]:
    """Findings from bandit's JSON report; a report without `results` is a crash."""
    try:
        results = json.loads(text)["results"]
        return [
            BanditFinding(
                test_id=str(item["test_id"]),
                test_name=str(item["test_name"]),
                severity=str(item["issue_severity"]),
                confidence=str(item["issue_confidence"]),
                filename=str(item["filename"]),
                line=int(item["line_number"]),
                text=str(item["issue_text"]),
                more_info=str(item.get("more_info", "")),
            )
            for item in results
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"bandit: unreadable JSON report ({exc.__class__.__name__}: {exc})",
            hint="run bandit by hand with -f json to see what it printed",
        ) from None
