"""pyright / basedpyright adapter: a check with the project's settings, `--outputjson` parsed.

Both print one JSON document with `generalDiagnostics` (file, 0-based range, severity,
message, rule) and a `summary`.
"""

from __future__ import annotations

import json

from conveyor.errors import ToolFailedError
from conveyor.tools.diagnostics import Diagnostic

OK_CODES = (0, 1)
"""Exit 1 means errors were reported; 2 and above are fatal or configuration errors."""


def pyright_argv(program: str, python: str) -> list[str]:
    """The checker over what the project's config includes, against the session's Python."""
    return [program, "--outputjson", "--pythonpath", python]


def parse_report(text: str, program: str = "pyright") -> list[Diagnostic]:
    """Diagnostics from `--outputjson` (informations are dropped)."""
    try:
        data = json.loads(text[text.index("{") : text.rindex("}") + 1])
        return [
            Diagnostic(
                rule=str(item.get("rule") or program),
                message=str(item["message"]).splitlines()[0],
                path=str(item["file"]),
                line=int(item["range"]["start"]["line"]) + 1,
                error=item["severity"] == "error",
            )
            for item in data["generalDiagnostics"]
            if item.get("severity") in ("error", "warning")
        ]
    except (ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"{program}: unreadable JSON output ({exc.__class__.__name__}: {exc})",
            hint=f"run `{program} --outputjson` by hand to see what it printed",
        ) from None
