"""What every Conveyor session shares: registration on uv, interpreters, the result cache.

A session body returns a one-line summary of what it checked; `define` wraps it so that a
session whose inputs are unchanged since its last success is not run again (it prints that
summary instead), a failure is never remembered, and a ConveyorError ends the session with
its one-line message and hint, never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Optional

import nox

from conveyor import interpreters
from conveyor.config import Project
from conveyor.errors import ConveyorError, GateFailedError
from conveyor.reports.github import Annotation
from conveyor.sessions._cache import (
    FORCE_VARIABLE,
    Inputs,
    ResultCache,
    environment_inputs,
    forced,
)

PIPELINE_TAG = "pipeline"
_COMPLETED: set[str] = set()
"""Sessions that passed (ran, or were unchanged) in this nox run: whose outputs are current."""
SessionBody = Callable[[nox.Session, Project], Optional[str]]
"""A session's work; returns what it checked in one line (None: it stopped early)."""


def define(
    project: Project,
    name: str,
    body: SessionBody,
    *,
    python: str | Sequence[str],
    inputs: Inputs,
    default: bool = True,
) -> None:
    """Register `body` as a uv-backed nox session tagged `pipeline`, skipped while unchanged."""

    def session_func(session: nox.Session) -> None:
        if session.venv_backend == "none":  # its tools come from uv.lock, into its venv
            session.error(
                ConveyorError(
                    f"{session.name}: runs in its own venv, synced from uv.lock, and was given "
                    "none (nox --no-venv or --force-venv-backend none)",
                    hint="drop that option; `nox -R` reuses the venvs and skips the installs",
                ).render()
            )
        session.chdir(str(project.root))
        cache = ResultCache(project.root, project.name, reports_dir=project.settings.reports_dir)
        label = session.name
        fingerprint = ""
        # `--install-only` prepares the venv: a cached result must not skip the install, and
        # installing changes no result, so the record stays.
        preparing = install_only(session)
        if inputs.cacheable and not preparing:
            fingerprint = cache.fingerprint(
                label,
                inputs,
                interpreter=interpreter_identity(session),
                posargs=session.posargs,
                env={**environment_inputs(), **project.settings.env},
            )
            record = None if forced() else cache.lookup(label, fingerprint)
            if record is not None:
                cache.clear_strays(record, inputs.outputs_of(label))
                session.log(
                    f"unchanged since {record.when()}: {record.summary} "
                    f"({FORCE_VARIABLE}=1 runs it again)"
                )
                _COMPLETED.add(label)
                return
        if not preparing:
            cache.forget(label)
        session.env.update(project.settings.env)
        try:
            summary = body(session, project)
        except ConveyorError as exc:
            session.error(exc.render())
        if summary is None or preparing:
            return
        if inputs.cacheable:
            cache.store(label, fingerprint, summary, inputs.outputs_of(label))
        _COMPLETED.add(label)
        session.log(summary)

    session_func.__doc__ = body.__doc__
    session_func.__name__ = name.replace("-", "_")
    nox.session(
        name=name,
        python=list(python) if not isinstance(python, str) else python,
        venv_backend="uv",
        tags=[PIPELINE_TAG],
        default=default,
    )(session_func)


def completed_sessions() -> set[str]:
    """The sessions of this nox run that passed so far (their outputs are this run's)."""
    return set(_COMPLETED)


def install_only(session: nox.Session) -> bool:
    """True under `nox --install-only`, where nox skips every later `session.run`."""
    return bool(session._runner.global_config.install_only)


def interpreter_identity(session: nox.Session) -> str:
    """The real interpreter behind the session's venv and the version it reports."""
    venv_python = Path(session.bin) / "python"
    try:
        real = os.path.realpath(venv_python)
    except OSError:
        real = str(venv_python)
    return f"{session.python}|{real}|{_venv_version(Path(session.virtualenv.location))}"


def _venv_version(location: Path) -> str:
    """`version_info` from the venv's pyvenv.cfg (which uv and venv both write)."""
    try:
        for line in (location / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version_info", "version"):
                return value.strip()
    except OSError:
        pass
    return ""


def report_output(project: Project, name: str) -> str:
    """A file in the reports directory, relative to the project root (a cached output)."""
    return str(Path(project.settings.reports_dir) / name)


def fail_on_findings(
    tool: str, findings: Sequence[Annotation], paths: Sequence[str], hint: str
) -> None:
    """End a gate with one line naming the tool and how many problems it found, if any."""
    if findings:
        raise GateFailedError(
            f"{tool}: {len(findings)} problem(s) in {', '.join(paths)}", hint=hint
        )


def use_interpreters(project: Project) -> interpreters.Discovery:
    """Find every Python the sessions need, put them on PATH for nox, and say where each is.

    A missing one is an error (locally as in CI) unless the run asks otherwise with
    `nox --no-error-on-missing-interpreters`; nox's summary still lists it.
    """
    _COMPLETED.clear()  # a new nox run (tests run nox in-process more than once)
    wanted = [*project.pythons, project.tools_python]
    found = interpreters.discover(wanted)
    interpreters.expose(found.found)
    nox.options.error_on_missing_interpreters = True
    home = str(Path.home())
    if found.found:
        listed = ", ".join(i.describe(home) for i in found.found)
        print(f"conveyor: Python {listed}", file=sys.stderr)
    if found.missing:
        print(interpreters.missing_message(found.missing), file=sys.stderr)
    return found
