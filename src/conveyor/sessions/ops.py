"""`ops`: the release checks the CI ops job runs — base image, `inv build`, `inv scan`.

It drives the same invoke tasks a user types, through the Python running nox (which has
Conveyor and invoke), so the pipeline and `inv scan` can never disagree. Needs Docker, so it
is not a default session; `nox -t pipeline` runs it last. Posargs go to `inv scan`.
"""

from __future__ import annotations

import sys

import nox

from conveyor.config import Project
from conveyor.sessions._cache import Inputs
from conveyor.sessions._support import define


def invoke_argv(*task: str) -> list[str]:
    """`python -m invoke <task...>` with the interpreter nox itself runs on."""
    return [sys.executable, "-m", "invoke", *task]


def ops(session: nox.Session, project: Project) -> str | None:
    """inv docker.base-image, inv build, inv scan (posargs go to scan); needs Docker."""
    session.run(*invoke_argv("docker.base-image"), external=True)
    session.run(*invoke_argv("build"), external=True)
    session.run(*invoke_argv("scan", *session.posargs), external=True)
    return "base image, build and scan passed"


def register(project: Project) -> None:
    # Its result depends on the Docker engine's state, which no fingerprint sees: always run.
    inputs = Inputs(cacheable=False)
    define(project, "ops", ops, python=project.tools_python, inputs=inputs, default=False)
