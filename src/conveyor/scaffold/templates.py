"""Package-data templates with `@@name@@` placeholders (GitHub's `${{ }}` stays untouched)."""

from __future__ import annotations

import re
from importlib import resources

_PLACEHOLDER = re.compile(r"@@([a-z_]+)@@")


def template(name: str) -> str:
    """The text of `conveyor/templates/<name>.tmpl`."""
    return (resources.files("conveyor") / "templates" / f"{name}.tmpl").read_text(encoding="utf-8")


def render(name: str, **values: str) -> str:
    """The template with every placeholder filled; a missing value is a programming error."""

    def fill(match: re.Match[str]) -> str:
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, template(name))
