"""The project's own Python style for the files init generates: they must pass its linters.

From its ruff configuration: the imports isort requires in every module (I002) and the
quote style of strings (formatter and flake8-quotes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conveyor.adopt.sources import ProjectFiles, read_toml

RUFF_FILES = ("ruff.toml", ".ruff.toml")


@dataclass(frozen=True)
class PythonStyle:
    """What generated modules must contain and how they quote strings."""

    required_imports: tuple[str, ...] = ()
    quote: str = '"'

    def imports_block(self) -> str:
        """The required imports as a block after the module docstring ('' when none)."""
        if not self.required_imports:
            return ""
        return "\n" + "\n".join(self.required_imports) + "\n"


def ruff_config(files: ProjectFiles) -> dict[str, Any]:
    """ruff's settings: ruff.toml / .ruff.toml first (as ruff reads them), else [tool.ruff]."""
    for name in RUFF_FILES:
        path = files.root / name
        if path.is_file():
            return read_toml(path)
    table = files.tool.get("ruff", {})
    return table if isinstance(table, dict) else {}


def _get(table: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if not isinstance(table, dict):
            return None
        table = table.get(key, {})
    return table or None


def python_style(files: ProjectFiles) -> PythonStyle:
    """The project's required imports and quote character."""
    config = ruff_config(files)
    required = _get(config, "lint", "isort", "required-imports") or _get(
        config, "isort", "required-imports"
    )
    quote_style = _get(config, "format", "quote-style") or _get(
        config, "lint", "flake8-quotes", "inline-quotes"
    )
    return PythonStyle(
        required_imports=tuple(str(line) for line in required or ()),
        quote="'" if quote_style == "single" else '"',
    )
