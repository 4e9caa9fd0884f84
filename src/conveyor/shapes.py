"""msgspec's validation errors as a path and a problem, for one-line messages about a file
or a report.

msgspec says where a value is wrong at the end of its message (" - at `$.Results[0]`") and
names a missing or unknown key in the message itself; here both become one path of steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Union

import msgspec

Step = Union[str, int]
"""A step of a path into a document: a key, or an index into an array."""
ANY_KEY = "[...]"
"""msgspec's step to an entry of a dict, whatever its key."""
UNKNOWN_KEY = "unknown key"
_STEP = r"\.[^.\[`]+|\[(?:\d+|\.\.\.)\]"
_AT_PATH = re.compile(rf"(?P<problem>.*) - at `\$(?P<path>(?:{_STEP})*)`", re.DOTALL)
_KEY_PROBLEMS = (  # msgspec names these keys in the message, not in the path
    (re.compile(r"Object contains unknown field `(?P<key>.*)`", re.DOTALL), UNKNOWN_KEY),
    (
        re.compile(r"Object missing required field `(?P<key>.*)`", re.DOTALL),
        "required, but not set",
    ),
)


def path_steps(path: str) -> list[Step]:
    """'.deploy.smoke[0].path' -> ['deploy', 'smoke', 0, 'path']; '[...]' -> ANY_KEY."""
    return [
        ANY_KEY if step == ANY_KEY else int(step[1:-1]) if step[0] == "[" else step[1:]
        for step in re.findall(_STEP, path)
    ]


def error_steps(message: str) -> tuple[list[Step], str]:
    """(steps to the value, what is wrong with it) from a msgspec ValidationError message."""
    at = _AT_PATH.fullmatch(message)
    problem, steps = (at["problem"], path_steps(at["path"])) if at else (message, [])
    for pattern, what in _KEY_PROBLEMS:
        named = pattern.fullmatch(problem)
        if named:
            return [*steps, named["key"]], what
    return steps, problem


def path_text(steps: Sequence[Step]) -> str:
    """['Results', 0, 'Target'] -> 'Results[0].Target'."""
    text = ""
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif step == ANY_KEY:
            text += step
        else:
            text += f".{step}" if text else step
    return text


def where_and_what(error: msgspec.ValidationError) -> tuple[str, str]:
    """('Results[0].Target', 'required, but not set'); where is '' for the value as a whole."""
    steps, what = error_steps(str(error))
    return path_text(steps), what
