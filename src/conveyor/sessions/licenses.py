"""`licenses`: pip-licenses over the runtime dependency set against the license policy.

The report module (rich) is imported when the session runs, not when nox registers it.
"""

from __future__ import annotations

import nox

from conveyor.config import Project
from conveyor.errors import GateFailedError
from conveyor.policy.licenses import evaluate
from conveyor.reports.github import group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define, report_output
from conveyor.tools import piplicenses
from conveyor.tools.uv import export_argv, requirement_names


def licenses(session: nox.Session, project: Project) -> str | None:
    """pip-licenses over the runtime dependencies; denied licenses fail."""
    settings = project.settings.licenses
    if not sync(session, project, "licenses", *settings.groups):
        return None
    project.reports.mkdir(parents=True, exist_ok=True)
    requirements = project.reports / "requirements-runtime.txt"
    export = export_argv(project.root, requirements, groups=settings.groups)
    packages: list[piplicenses.PackageLicense] = []
    with group("pip-licenses"):
        session.run(*export, external=True, silent=True)
        names = requirement_names(requirements.read_text(encoding="utf-8"))
        if names:
            listing = project.reports / "pip-licenses.json"
            session.run(*piplicenses.piplicenses_argv(names, listing), silent=True)
            packages = piplicenses.parse_report(listing.read_text(encoding="utf-8"))
    verdicts = evaluate(packages, settings.deny, settings.allow)
    from conveyor.reports.licenses import report_licenses  # noqa: PLC0415 - rich, at run time

    json_path, _ = report_licenses(verdicts, project.reports)
    for verdict in verdicts:
        if verdict.status == "unknown":
            session.warn(f"{verdict.package.name}: no license metadata; check it by hand")
    denied = [v for v in verdicts if v.status == "denied"]
    if denied:
        names_text = ", ".join(f"{v.package.name} ({v.package.license})" for v in denied)
        raise GateFailedError(
            f"licenses: denied license in {names_text} (details: {json_path})",
            hint="replace it, or add it to [tool.conveyor.licenses] allow with a reason",
        )
    return f"licenses: {len(verdicts)} runtime dependencies checked, none denied"


def register(project: Project) -> None:
    inputs = Inputs(
        paths=(),
        groups=("licenses", *project.settings.licenses.groups),
        with_project=True,
        outputs=(report_output(project, "licenses.json"), report_output(project, "licenses.md")),
    )
    define(project, "licenses", licenses, python=project.tools_python, inputs=inputs)
