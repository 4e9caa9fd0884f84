# /// script
# dependencies = ["nox>=2026.10.20"]
# ///
"""Conveyor's own sessions: the library's, configured by [tool.conveyor] in pyproject.toml."""

import nox

import conveyor.sessions

nox.needs_version = ">=2026.10.20"
nox.options.default_venv_backend = "uv"

conveyor.sessions.register()
