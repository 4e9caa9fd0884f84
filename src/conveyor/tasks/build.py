"""Invoke tasks: build (being built)."""

from __future__ import annotations

from invoke.tasks import Task

TASKS: list[Task[..., object]] = []
