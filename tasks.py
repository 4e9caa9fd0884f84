"""Conveyor's own invoke tasks: the library's namespace, configured for this repository."""

from conveyor.tasks import namespace

ns = namespace()
ns.configure({"conveyor": {"root": "."}})
