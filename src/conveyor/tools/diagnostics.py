"""The one record a type checker's findings map into (ty, pyright and basedpyright alike)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    """One diagnostic: the rule (when it has one), where, and whether it is an error."""

    rule: str
    message: str
    path: str
    line: int
    error: bool

    def describe(self) -> str:
        """`path:line: error[rule] message`, as a person reads it."""
        level = "error" if self.error else "warning"
        return f"{self.path}:{self.line}: {level}[{self.rule}] {self.message}"
