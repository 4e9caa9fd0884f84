"""`security`: bandit over the sources, safety over the locked dependency set, one gate.

The advisory data's date is printed on every run: offline data older than
`max-data-age` fails the session unless `accept-stale-data` gives the reason. The report
module (rich) is imported when the session runs: every nox invocation registers this module.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nox

from conveyor.config import Project
from conveyor.errors import GateFailedError
from conveyor.policy.advisories import (
    STALE_DATA_HINT,
    AdvisoryData,
    BanditThreshold,
    evaluate,
    from_bandit,
    from_safety,
    judge_data,
)
from conveyor.policy.freshness import judge
from conveyor.reports.github import group
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._support import define, report_output
from conveyor.tools import bandit, safety
from conveyor.tools.uv import export_argv


def run_bandit(session: nox.Session, project: Project) -> list[bandit.BanditFinding]:
    """bandit over the configured targets (default: the sources) into reports/bandit.json."""
    settings = project.settings.security
    report = project.reports / "bandit.json"
    targets = settings.bandit_targets or project.settings.src
    argv = bandit.bandit_argv(targets, settings.bandit_skips, report)
    session.run(*argv, success_codes=list(bandit.OK_CODES))
    return bandit.parse_report(report.read_text(encoding="utf-8"))


def offline_db(session: nox.Session, project: Project) -> Path | None:
    """The prepared offline DB directory, or None for an online check."""
    setting = project.settings.security.safety_db
    if setting is None:
        return None
    package_dir = None
    if setting == safety.SAFETY_DB_PACKAGE:
        output = session.run("python", "-c", safety.FIND_SAFETY_DB, silent=True)
        package_dir = str(output).strip() if output else None
    source = safety.resolve_db_dir(setting, project.root, package_dir)
    return safety.prepare_offline_db(source, project.reports / ".safety-db")


def advisory_data(project: Project, db: Path | None, now: datetime | None = None) -> AdvisoryData:
    """Which advisory data safety used, its date (offline DBs carry one), and the verdict."""
    settings = project.settings.security
    if db is None:
        return judge_data("online", None, settings.accept_stale_data)
    source = (
        "safety-db package"
        if settings.safety_db == safety.SAFETY_DB_PACKAGE
        else f"offline DB {settings.safety_db}"
    )
    freshness = judge(safety.published_at(db), settings.max_data_age, now)
    return judge_data(source, freshness, settings.accept_stale_data)


def run_safety(
    session: nox.Session, project: Project
) -> tuple[list[safety.SafetyVulnerability], AdvisoryData]:
    """safety over `uv export` of the lock: offline with a configured DB, else online."""
    requirements = project.reports / "requirements-locked.txt"
    session.run(*export_argv(project.root, requirements), external=True, silent=True)
    executable = project.settings.security.safety or "safety"
    version_text = session.run(executable, "--version", silent=True, external=True)
    version = safety.parse_version(str(version_text))
    report = project.reports / "safety.json"
    report.unlink(missing_ok=True)
    db = offline_db(session, project)
    data = advisory_data(project, db)
    (session.warn if data.freshness and data.freshness.stale else session.log)(data.line)
    argv = safety.safety_argv(version, requirements, report, db, executable=executable)
    session.run(*argv, success_codes=list(safety.OK_CODES), external=True, silent=True)
    return safety.parse_report(report.read_text(encoding="utf-8")), data


def security_groups(project: Project) -> tuple[str, ...]:
    """bandit's group, and safety's unless a safety executable is configured."""
    return ("bandit",) if project.settings.security.safety else ("bandit", "safety")


def security(session: nox.Session, project: Project) -> str | None:
    """bandit over the sources and safety over the locked dependencies; findings fail."""
    if not sync(session, project, *security_groups(project), only=True):
        return None
    project.reports.mkdir(parents=True, exist_ok=True)
    with group("bandit"):
        advisories = from_bandit(run_bandit(session, project))
    with group("safety"):
        vulnerabilities, data = run_safety(session, project)
        advisories += from_safety(vulnerabilities)
    settings = project.settings.security
    threshold = BanditThreshold(settings.bandit_severity, settings.bandit_confidence)
    gate = evaluate(advisories, settings.ignore, threshold)
    from conveyor.reports.security import report_security  # noqa: PLC0415 - rich: see the module docstring

    path = report_security(gate, project.reports, data=data)
    for key in gate.unused_ignores:
        session.warn(f"[tool.conveyor.security] ignore {key!r} matched no finding; remove it")
    if not gate.passed:
        ids = ", ".join(f"{a.source} {a.id}" for a in gate.failing)
        raise GateFailedError(
            f"security: {len(gate.failing)} finding(s): {ids} (details: {path})",
            hint="fix them, or add each to [tool.conveyor.security] ignore with a reason",
        )
    if data.blocking:
        raise GateFailedError(f"security: {data.line}", hint=STALE_DATA_HINT)
    below = sum(1 for v in gate.verdicts if (v.ignored_because or "").startswith("below the"))
    ignored = len(gate.verdicts) - len(gate.failing) - below
    return (
        f"bandit and safety: no findings at the gate's threshold ({below} below it, "
        f"{ignored} ignored with a reason); {data.line}"
    )


def register(project: Project) -> None:
    settings = project.settings.security
    inputs = Inputs(
        paths=(*(settings.bandit_targets or project.settings.src), "uv.lock", ".bandit"),
        groups=security_groups(project),
        daily=True,  # advisory data and its age change with the calendar
        outputs=tuple(
            report_output(project, name) for name in ("bandit.json", "safety.json", "security.json")
        ),
    )
    define(project, "security", security, python=project.tools_python, inputs=inputs)
