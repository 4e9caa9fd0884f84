"""Pipeline benchmark (run on demand, not a test): `uv run python benchmarks/pipeline.py`.

(a) Cold pipeline: every QA session's environment created from scratch, Conveyor's way
    (uv venv + `uv sync --frozen` of the locked groups) against the same sessions under nox's
    default backend (virtualenv + `pip install` of the same pinned versions, exported from
    uv.lock). Both use `nox --install-only`, so only environment set-up is timed; package
    caches are warmed first for both. Goal: >= 5x.
(b) Warm: `nox -R -s lint types tests-3.12` against the same three tools run bare in the
    ready project venv (.venv). Goal: overhead <= 1.10x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS_PYTHON = "3.12"
COLD_SESSIONS = ("lint", "types", "tests-3.12", "coverage", "security", "licenses")
WARM_SESSIONS = ("lint", "types", "tests-3.12")

# The pip variant: the same sessions and the same groups as conveyor.sessions, installed by
# pip from requirement files that `uv export` wrote from the lock (identical versions).
PIP_NOXFILE = """\
import nox

ROOT = {root!r}
REQS = {reqs!r}
SESSIONS = {{
    "lint": ("lint", False),
    "types": ("typing", True),
    "tests": ("test", True),
    "coverage": ("test-only", False),
    "security": ("security", False),
    "licenses": ("licenses", True),
}}


def make(name, requirements, with_project, python):
    def install(session):
        session.install("-r", f"{{REQS}}/{{requirements}}.txt")
        if with_project:
            session.install("--no-deps", "-e", ROOT)

    install.__name__ = name
    nox.session(name=name, python=python, venv_backend="virtualenv")(install)


for name, (requirements, with_project) in SESSIONS.items():
    make(name, requirements, with_project, ["3.12"] if name == "tests" else "3.12")
"""

PIP_EXPORTS = {
    "lint": ["--no-default-groups", "--only-group", "lint"],
    "typing": ["--no-default-groups", "--group", "typing"],
    "test": ["--no-default-groups", "--group", "test"],
    "test-only": ["--no-default-groups", "--only-group", "test"],
    "security": ["--no-default-groups", "--only-group", "bandit", "--only-group", "safety"],
    "licenses": ["--no-default-groups", "--group", "licenses"],
}


FAILED: list[str] = []


def run(
    argv: list[str], *, cwd: Path, env: dict[str, str] | None = None, check: bool = True
) -> float:
    """Seconds `argv` took; a failure stops the benchmark unless `check` is off (then noted)."""
    started = time.perf_counter()
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=3600
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        if check:
            tail = (done.stderr or done.stdout)[-3000:]
            sys.exit(f"benchmark: {' '.join(argv)} failed ({done.returncode}):\n{tail}")
        FAILED.append(" ".join(Path(a).name if "/" in a else a for a in argv[:3]))
    return seconds


def nox_argv(noxfile: Path, envdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "nox", "--noxfile", str(noxfile), "--envdir", str(envdir), *args]


def export_requirements(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, flags in PIP_EXPORTS.items():
        argv = ["uv", "export", "--frozen", "--no-emit-project", "--no-hashes", "--no-header"]
        run([*argv, *flags, "--output-file", str(target / f"{name}.txt")], cwd=ROOT)


def cold(work: Path) -> tuple[float, float]:
    """(uv seconds, pip seconds) to create every session's environment from scratch."""
    reqs = work / "requirements"
    export_requirements(reqs)
    pip_noxfile = work / "pip_noxfile.py"
    pip_noxfile.write_text(PIP_NOXFILE.format(root=str(ROOT), reqs=str(reqs)))
    uv_env, pip_env = work / "uv-envs", work / "pip-envs"
    variants = {
        "uv": nox_argv(ROOT / "noxfile.py", uv_env, "--install-only", "-s", *COLD_SESSIONS),
        "pip": nox_argv(pip_noxfile, pip_env, "--install-only", "-s", *COLD_SESSIONS),
    }
    for argv in variants.values():  # warm both package caches
        run(argv, cwd=ROOT)
    timings = {}
    for name, argv in variants.items():
        shutil.rmtree(uv_env if name == "uv" else pip_env)
        timings[name] = run(argv, cwd=ROOT)
    return timings["uv"], timings["pip"]


def bare_commands() -> list[list[str]]:
    """What the lint, types and tests-3.12 sessions run, from the ready .venv."""
    sys.path.insert(0, str(ROOT / "src"))
    from conveyor.config import load_project  # noqa: PLC0415

    settings = load_project(ROOT).settings
    paths = [*settings.src, *settings.tests]
    venv = ROOT / ".venv" / "bin"
    reports = ROOT / "reports"
    return [
        [str(venv / "ruff"), "check", *paths],
        [str(venv / "ruff"), "format", "--check", *paths],
        [str(venv / "mypy"), "--strict", *paths],
        [
            str(venv / "pytest"),
            "tests/unit",
            *[f"--cov={p}" for p in settings.src],
            "--cov-report=",
            f"--junitxml={reports / 'junit-bench.xml'}",
            "-q",
        ],
    ]


def warm(work: Path, repeat: int) -> tuple[float, float]:
    """(median nox seconds, median bare seconds) for lint + types + tests-3.12."""
    envdir = work / "warm-envs"
    nox_run = nox_argv(ROOT / "noxfile.py", envdir, "-s", *WARM_SESSIONS)
    run(nox_run, cwd=ROOT, check=False)  # create the envs; the measured runs reuse them (-R)
    nox_env = {**os.environ, "MYPY_CACHE_DIR": str(work / "mypy-nox")}
    bare_env = {
        **os.environ,
        "MYPY_CACHE_DIR": str(work / "mypy-bare"),
        "COVERAGE_FILE": str(work / ".coverage.bare"),
    }
    commands = bare_commands()
    nox_times, bare_times = [], []
    for attempt in range(repeat + 1):
        nox_seconds = run([*nox_run, "-R"], cwd=ROOT, env=nox_env, check=False)
        bare_seconds = sum(run(argv, cwd=ROOT, env=bare_env, check=False) for argv in commands)
        if attempt:  # the first round only warms mypy's caches
            nox_times.append(nox_seconds)
            bare_times.append(bare_seconds)
    return statistics.median(nox_times), statistics.median(bare_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="measured warm rounds")
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        work = Path(tmp)
        if not args.skip_cold:
            uv_seconds, pip_seconds = cold(work)
            print(
                f"(a) cold envs for {', '.join(COLD_SESSIONS)}: uv+lock {uv_seconds:.1f}s, "
                f"virtualenv+pip {pip_seconds:.1f}s; speed-up {pip_seconds / uv_seconds:.1f}x "
                "(goal >= 5x)"
            )
        nox_seconds, bare_seconds = warm(work, args.repeat)
        print(
            f"(b) warm nox -R -s {' '.join(WARM_SESSIONS)}: {nox_seconds:.2f}s; same tools bare "
            f"in .venv: {bare_seconds:.2f}s; overhead {nox_seconds / bare_seconds:.2f}x "
            f"(goal <= 1.10x; median of {args.repeat})"
        )
        if FAILED:
            print(f"note: these exited non-zero (timed all the same): {sorted(set(FAILED))}")


if __name__ == "__main__":
    main()
