"""Inner-loop benchmark (on demand, not a test): `uv run python benchmarks/inner_loop.py`.

The same test work done by Conveyor and by its peers, side by side in one run, on a scratch
copy of a project (this repository by default, or `--project DIR`, e.g. a fixture library):

- cold:   the test environment built from nothing. Conveyor (`nox --install-only -s tests-X`)
          against tox 4 + tox-uv (`tox -e X --notest`), plain nox with the uv backend
          (`session.install` of the exported pins) and the floor, `uv sync` of the same group
          into a fresh venv. Goal: Conveyor <= 1.5x the floor.
- warm:   the tests run again in the ready environment, nothing cached (CONVEYOR_FORCE=1):
          Conveyor against tox, plain nox, and the floor, pytest run bare in that venv.
          Goal: <= the fastest peer and <= 1.10x bare.
- recheck: the whole default pipeline (`nox`) again with nothing changed (the result cache).
          Goal: <= 2 s.
- one file: one source file touched; the sessions that re-ran (goal: only those reading it).

Each figure is the median of `--rounds` runs, rounds alternating between the commands so
drift favours none; ratios are taken against the anchor measured in the same run.
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
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOX_INI = """\
[tox]
envlist = {env}
[testenv]
runner = uv-venv-lock-runner
dependency_groups = test
commands = pytest {tests} --cov={src} --cov-report= -q -p no:cacheprovider
"""
PLAIN_NOXFILE = """\
import nox

@nox.session(python="{python}", venv_backend="uv")
def tests(session):
    session.chdir("{project}")
    session.install("-r", "{requirements}")
    session.install("--no-deps", "-e", ".")
    session.run("pytest", "{tests}", "--cov={src}", "--cov-report=", "-q", "-p", "no:cacheprovider")
"""


def uv_binary() -> str:
    """The real uv binary (a version manager's shim would add its own start-up to every run)."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        sys.exit("uv not found")
    return os.path.realpath(found)


def scratch_copy(project: Path, target: Path) -> Path:
    """The project's tracked and untracked-not-ignored files, as a fresh git repository."""
    listing = subprocess.run(
        ["git", "-C", str(project), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listing):
        source = project / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True)
    return target


class Timer:
    """Runs commands in `cwd` and keeps their wall times."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env

    def once(self, argv: Sequence[str], extra: dict[str, str] | None = None) -> float:
        started = time.perf_counter()
        done = subprocess.run(
            list(argv), cwd=self.cwd, env={**self.env, **(extra or {})},
            capture_output=True, text=True, check=False, timeout=1800,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            sys.exit(f"failed: {' '.join(argv)}\n{tail}")
        return seconds


def medians(rounds: int, commands: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Each command `rounds` times, alternating (A B C A B C ...), medians."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            times[name].append(command())
    return {name: statistics.median(values) for name, values in times.items()}


def report(title: str, figures: dict[str, float], anchor: str, goal: str) -> None:
    print(f"\n{title}")
    for name, seconds in figures.items():
        ratio = seconds / figures[anchor]
        print(f"  {name:<28} {seconds:7.2f}s  {ratio:5.2f}x {anchor}")
    print(f"  goal: {goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--src", default="src")
    parser.add_argument("--tests", default="tests/unit")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    uv = uv_binary()
    bin_dir = Path(uv).parent
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONVEYOR_FORCE")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), str(bin_dir), env["PATH"]])
    env["UV"] = uv
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        work = scratch_copy(args.project.resolve(), Path(tmp) / "project")
        timer = Timer(work, env)
        nox = [sys.executable, "-m", "nox"]
        session = f"tests-{args.python}"
        python = f"python{args.python}"
        py_env = "py" + args.python.replace(".", "")
        requirements = Path(tmp) / "requirements.txt"
        subprocess.run(
            [uv, "export", "--frozen", "--no-hashes", "--no-emit-project", "--no-default-groups",
             "--group", "test", "-o", str(requirements)],
            cwd=work, check=True, capture_output=True,
        )  # fmt: skip
        (work / "tox.ini").write_text(TOX_INI.format(env=py_env, tests=args.tests, src=args.src))
        plain = Path(tmp) / "plain_noxfile.py"
        plain.write_text(
            PLAIN_NOXFILE.format(
                python=args.python,
                project=work,
                requirements=requirements,
                tests=args.tests,
                src=args.src,
            )
        )
        tox = [uv, "tool", "run", "--from", "tox", "--with", "tox-uv", "tox"]
        timer.once([*tox, "--version"])  # the tool itself cached: not part of the figures
        floor_venv = Path(tmp) / "floor-venv"

        def fresh(path: Path) -> None:
            shutil.rmtree(path, ignore_errors=True)

        def conveyor_cold() -> float:
            fresh(work / ".nox")
            return timer.once([*nox, "--install-only", "-s", session])

        def tox_cold() -> float:
            fresh(work / ".tox")
            return timer.once([*tox, "-e", py_env, "--notest"])

        def plain_cold() -> float:
            fresh(Path(tmp) / "plain-envs")
            return timer.once(
                [*nox, "-f", str(plain), "--envdir", str(Path(tmp) / "plain-envs"),
                 "--install-only", "-s", "tests"]
            )  # fmt: skip

        def floor_cold() -> float:
            fresh(floor_venv)
            return timer.once(
                [uv, "sync", "--frozen", "--no-default-groups", "--group", "test", "--python",
                 python], {"UV_PROJECT_ENVIRONMENT": str(floor_venv)},
            )  # fmt: skip

        cold = medians(
            args.rounds,
            {"uv sync (floor)": floor_cold, "conveyor": conveyor_cold, "tox + tox-uv": tox_cold,
             "nox + uv, plain installs": plain_cold},
        )  # fmt: skip
        report("cold test environment", cold, "uv sync (floor)", "conveyor <= 1.5x the floor")

        forced = {"CONVEYOR_FORCE": "1"}
        bare_pytest = [str(floor_venv / "bin" / "pytest"), args.tests, f"--cov={args.src}",
                       "--cov-report=", "-q", "-p", "no:cacheprovider"]  # fmt: skip
        warm = medians(
            args.rounds,
            {
                "pytest bare (floor)": lambda: timer.once(bare_pytest),
                "conveyor": lambda: timer.once([*nox, "-s", session], forced),
                "tox + tox-uv": lambda: timer.once([*tox, "-e", py_env]),
                "nox + uv, plain installs": lambda: timer.once(
                    [
                        *nox,
                        "-f",
                        str(plain),
                        "--envdir",
                        str(Path(tmp) / "plain-envs"),
                        "-R",
                        "-s",
                        "tests",
                    ]
                ),  # fmt: skip
            },
        )
        report(
            "warm test run (nothing cached)",
            warm,
            "pytest bare (floor)",
            "conveyor <= the fastest peer and <= 1.10x bare",
        )
        timer.once([*nox], forced)  # every default session once, so the cache holds them all
        recheck = medians(args.rounds, {"nox (no change)": lambda: timer.once([*nox])})
        print(f"\nno-change re-check of the default pipeline: {recheck['nox (no change)']:.2f}s")
        print("  goal: <= 2 s")
        source = next((work / args.src).rglob("*.py"))
        source.write_text(source.read_text() + "\n# touched\n")
        done = subprocess.run(
            [*nox], cwd=work, env=env, capture_output=True, text=True, check=False
        )
        sessions = [
            line.rsplit(" ", 1)[-1]
            for line in done.stderr.splitlines()
            if line.startswith("nox > Running session ")
        ]
        reran = [s for s in sessions if "unchanged since" not in _section(done.stderr, s)]
        print(f"\none source file changed ({source.relative_to(work)}): re-ran {', '.join(reran)}")
        print("  goal: only the sessions that read it")


def _section(log: str, session: str) -> str:
    """The part of a nox log that belongs to one session."""
    start = log.find(f"nox > Running session {session}\n")
    end = log.find("nox > Running session ", start + 1)
    return log[start : end if end != -1 else None]


if __name__ == "__main__":
    main()
