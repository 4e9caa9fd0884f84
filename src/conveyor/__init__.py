"""Conveyor: Python CI/CD as a library — Nox QA sessions, Invoke ops tasks, thin CI."""

from __future__ import annotations

__version__ = "0.1.0"
