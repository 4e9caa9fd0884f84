"""ty adapter: `ty check` with the project's settings, its GitLab-style JSON parsed.

ty's JSON output (`--output-format gitlab`) is an array of diagnostics, each with a
`check_name` (the rule), a `description`, a `severity` and a `location`.
"""

from __future__ import annotations

import json

from conveyor.errors import ToolFailedError
from conveyor.tools.diagnostics import Diagnostic

OK_CODES = (0, 1)
"""ty exits 1 when it reports errors; 2 is a usage or configuration error."""
ERROR_SEVERITIES = ("blocker", "critical", "major")
"""GitLab severities ty gives errors (warnings are `minor`, infos `info`)."""


def ty_argv(python: str) -> list[str]:
    """`ty check` over what the project's config names (no paths: its own `src` settings),
    against the session's environment, as JSON."""
    return ["ty", "check", "--python", python, "--output-format", "gitlab", "--no-progress"]


def _json_array(text: str) -> str:
    """The JSON array in ty's output (it may log lines around it)."""
    start = text.find("[")
    end = text.rfind("]")
    if start < 0 or end < start:
        raise ValueError("no JSON array in the output")
    return text[start : end + 1]


def parse_report(text: str) -> list[Diagnostic]:
    """Diagnostics from ty's GitLab JSON; anything else is a crash."""
    try:
        items = json.loads(_json_array(text))
        found = []
        for item in items:
            description = str(item["description"])
            rule = str(item.get("check_name") or "ty")
            prefix = f"{rule}: "
            message = description[len(prefix) :] if description.startswith(prefix) else description
            found.append(
                Diagnostic(
                    rule=rule,
                    message=message,
                    path=str(item["location"]["path"]),
                    line=int(item["location"]["positions"]["begin"]["line"]),
                    error=str(item.get("severity")) in ERROR_SEVERITIES,
                )
            )
        return found
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"ty: unreadable JSON output ({exc.__class__.__name__}: {exc})",
            hint="run `ty check` by hand to see what it printed",
        ) from None
