"""msgspec's validation errors as `where: what`, for one-line messages about a file or report.

msgspec says where a value is wrong at the end of its message (" - at `$.Results[0]`") and
names a missing or unknown key in the message itself; here both become one path.
"""

from __future__ import annotations

import re

import msgspec

_AT_PATH = re.compile(r"(?P<problem>.*) - at `\$\.?(?P<path>.*)`", re.DOTALL)
_KEY_PROBLEMS = (
    (
        re.compile(r"Object missing required field `(?P<key>.*)`", re.DOTALL),
        "required, but not set",
    ),
    (re.compile(r"Object contains unknown field `(?P<key>.*)`", re.DOTALL), "unknown key"),
)


def where_and_what(error: msgspec.ValidationError) -> tuple[str, str]:
    """('Results[0].Target', 'required, but not set'); where is '' for the value as a whole."""
    message = str(error)
    at = _AT_PATH.fullmatch(message)
    where, what = (at["path"], at["problem"]) if at else ("", message)
    for pattern, problem in _KEY_PROBLEMS:
        named = pattern.fullmatch(what)
        if named:
            key = named["key"]
            return (f"{where}.{key}" if where else key), problem
    return where, what
