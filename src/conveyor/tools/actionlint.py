"""actionlint adapter: argv for its JSON output, and that output parsed into typed findings."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from conveyor.errors import ToolFailedError
from conveyor.reports.github import Annotation

OK_CODES = (0, 1)
"""actionlint exits 1 when it reports findings; 2 and 3 are bad usage or a crash."""
JSON_FORMAT = "{{json .}}"


@dataclass(frozen=True)
class ActionlintFinding:
    """One problem actionlint found in a workflow."""

    file: str
    line: int
    column: int
    kind: str
    message: str

    def describe(self) -> str:
        """`file:line:col: message [kind]`, as actionlint prints it."""
        return f"{self.file}:{self.line}:{self.column}: {self.message} [{self.kind}]"

    def annotation(self) -> Annotation:
        """The finding as a GitHub error annotation."""
        return Annotation(
            "error", self.message, file=self.file, line=self.line, title=f"actionlint {self.kind}"
        )


def actionlint_argv(files: Sequence[str]) -> list[str]:
    """actionlint over `files`, one JSON array on stdout."""
    return ["actionlint", "-format", JSON_FORMAT, *files]


def parse_report(text: str) -> list[ActionlintFinding]:
    """Findings from actionlint's JSON (empty output means none)."""
    if not text.strip():
        return []
    try:
        return [
            ActionlintFinding(
                file=str(item["filepath"]),
                line=int(item["line"]),
                column=int(item["column"]),
                kind=str(item["kind"]),
                message=str(item["message"]),
            )
            for item in json.loads(text)
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"actionlint: unreadable JSON output ({exc.__class__.__name__}: {exc})",
            hint="run actionlint by hand to see what it printed",
        ) from None
