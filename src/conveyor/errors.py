"""The error types every entry point turns into one clear line and an exit code."""

from __future__ import annotations


class ConveyorError(Exception):
    """A failure the user can fix: first line says what is wrong, `hint` says how to fix it."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str = "", exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def render(self) -> str:
        """One line first, then the hint (if any) on the following lines."""
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class ConfigError(ConveyorError):
    """`[tool.conveyor]` (or a file it names) is invalid; raised before anything runs."""


class ToolNotFoundError(ConveyorError):
    """An external program is missing or too old."""


class ToolFailedError(ConveyorError):
    """An external program crashed, or wrote output we cannot parse (exit code 2)."""


class GateFailedError(ConveyorError):
    """A policy gate rejected the results (exit code 1)."""

    exit_code = 1


class InvalidInputError(ConveyorError):
    """A user-supplied value (image name, tag, env name, URL) does not match its grammar."""
