"""Invoke collections: `namespace()` gives the root a project's tasks.py exposes.

Each module below owns one job (build, scan, compose, deploy) and lists its tasks in
`TASKS` (top-level, e.g. `inv build`) and `COLLECTIONS` (nested, e.g. `inv docker.base-image`).
"""

from __future__ import annotations

import importlib

from invoke.collection import Collection

TASK_MODULES = ("build", "scan", "compose", "deploy")


def namespace() -> Collection:
    """The root collection; configure it with `ns.configure({...})` in tasks.py."""
    ns = Collection()
    for name in TASK_MODULES:
        module = importlib.import_module(f"conveyor.tasks.{name}")
        for task in getattr(module, "TASKS", ()):
            ns.add_task(task)
        for collection in getattr(module, "COLLECTIONS", ()):
            ns.add_collection(collection)
    ns.configure({"conveyor": {"root": "."}})
    return ns
