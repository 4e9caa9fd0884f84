"""Inner-loop benchmark (on demand, not a test): `uv run python benchmarks/inner_loop.py`.

The same test work done by Conveyor and by its peers, side by side in one run, on a scratch
copy of a project (this repository by default, or `--project DIR`, e.g. a fixture library; a
project without a noxfile is adopted first, as a user would: `conveyor init` against this
checkout, then `uv lock`):

- cold:   the test environment built from nothing. Conveyor (`nox --install-only -s tests-X`)
          against tox 4 + tox-uv (`tox -e X --notest`), plain nox with the uv backend
          (`session.install` of the exported pins) and the floor, `uv sync` of the same group
          into a fresh venv. Goal: Conveyor <= 1.5x the floor.
- warm:   the tests run again in the ready environment, nothing cached (CONVEYOR_FORCE=1):
          Conveyor against tox, plain nox, and the floor, pytest run bare in that venv.
          Goal: <= the fastest peer and <= 1.10x bare. One more row, for reference: the same
          `nox -s tests-X` unforced, as re-running with nothing changed costs (a cache hit).
- startup: listing the sessions (`nox -l`), Conveyor's noxfile against a plain one: the fixed
          cost every nox run pays before any work, which bounds the warm ratio on a project
          whose tests take under a second.
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

import conveyor
from conveyor.interpreters import discover, install_hint

ROOT = Path(__file__).resolve().parent.parent
ADOPT = "import sys; from conveyor.cli import main; sys.exit(main(['init', '.', *sys.argv[1:]]))"
TOX_INI = """\
[tox]
envlist = {env}
[testenv]
runner = uv-venv-lock-runner
dependency_groups = test
set_env = {set_env}
commands = {command}
"""
PLAIN_NOXFILE = """\
import nox

@nox.session(python="{python}", venv_backend="uv")
def tests(session):
    session.chdir("{project}")
    session.install("-r", "{requirements}")
    session.install("--no-deps", "-e", ".")
    session.run(*{argv!r})
"""


def test_command(requirements: str, tests: str, src: str) -> list[str]:
    """The tests under coverage as the project's test group allows: pytest-cov, else
    coverage's own runner (the same command for every peer and the floor)."""
    quiet = ["-q", "-p", "no:cacheprovider"]
    if "pytest-cov==" in requirements:
        return ["pytest", tests, f"--cov={src}", "--cov-report=", *quiet]
    return ["coverage", "run", f"--source={src}", "-m", "pytest", tests, *quiet]


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


class Bench:
    """One scratch copy of the project and the commands of every peer on it."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.uv = uv_binary()
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONVEYOR_FORCE")}
        # Every peer gets the interpreter Conveyor's own discovery finds (pyenv's shims
        # resolve only where a `.python-version` names it; a fixture has none).
        found = discover([args.python]).for_version(args.python)
        if found is None:
            sys.exit(f"python {args.python} not found: {install_hint(args.python)}")
        path = [str(Path(found.path).parent), str(Path(sys.executable).parent)]
        path += [str(Path(self.uv).parent), env["PATH"]]
        extra = dict(item.split("=", 1) for item in args.env)
        self.env = {**env, **extra, "PATH": os.pathsep.join(path), "UV": self.uv}
        # An installed Conveyor carries its bytecode (pip and uv compile at install time); this
        # checkout's would otherwise be compiled on every run where PYTHONDONTWRITEBYTECODE is set.
        package = str(Path(conveyor.__file__).parent)
        subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
        self.work = scratch_copy(args.project.resolve(), tmp / "project")
        self.timer = Timer(self.work, self.env)
        if not (self.work / "noxfile.py").is_file():
            self.timer.once([sys.executable, "-c", ADOPT, "--conveyor-source", str(ROOT)])
            self.timer.once([self.uv, "lock", "--quiet"])
        self.nox = [sys.executable, "-m", "nox"]
        self.session = f"tests-{args.python}"
        self.py_env = "py" + args.python.replace(".", "")
        self.tox = [self.uv, "tool", "run", "--from", "tox", "--with", "tox-uv", "tox"]
        self.floor_venv = tmp / "floor-venv"
        self.plain_envs = tmp / "plain-envs"
        self.plain = tmp / "plain_noxfile.py"
        requirements = tmp / "requirements.txt"
        self.timer.once(
            [self.uv, "export", "--frozen", "--no-hashes", "--no-emit-project",
             "--no-default-groups", "--group", "test", "-o", str(requirements)]
        )  # fmt: skip
        self.test_argv = test_command(requirements.read_text(), args.tests, args.src)
        (self.work / "tox.ini").write_text(
            TOX_INI.format(
                env=self.py_env,
                command=" ".join(self.test_argv),
                set_env="".join(f"\n    {item}" for item in args.env),
            )
        )
        self.plain.write_text(
            PLAIN_NOXFILE.format(
                python=args.python,
                project=self.work,
                requirements=requirements,
                argv=tuple(self.test_argv),
            )
        )
        self.timer.once([*self.tox, "--version"])  # tox itself cached: not in the figures

    def plain_nox(self, *args: str) -> list[str]:
        return [*self.nox, "-f", str(self.plain), "--envdir", str(self.plain_envs), *args]

    def environments(self) -> dict[str, tuple[Path, list[str], dict[str, str]]]:
        """Each peer's test environment: where it lives, the command that builds it, its env."""
        python = f"python{self.args.python}"
        floor = [self.uv, "sync", "--frozen", "--no-default-groups", "--group", "test",
                 "--python", python]  # fmt: skip
        return {
            "uv sync (floor)": (
                self.floor_venv,
                floor,
                {"UV_PROJECT_ENVIRONMENT": str(self.floor_venv)},
            ),
            "conveyor": (self.work / ".nox", [*self.nox, "--install-only", "-s", self.session], {}),
            "tox + tox-uv": (self.work / ".tox", [*self.tox, "-e", self.py_env, "--notest"], {}),
            "nox + uv, plain installs": (
                self.plain_envs,
                self.plain_nox("--install-only", "-s", "tests"),
                {},
            ),
        }

    def cold(self) -> None:
        """Each peer's test environment from nothing (package caches warm for all)."""

        def after(path: Path, argv: list[str], extra: dict[str, str]) -> Callable[[], float]:
            def build() -> float:
                shutil.rmtree(path, ignore_errors=True)
                return self.timer.once(argv, extra)

            return build

        figures = medians(
            self.args.rounds,
            {name: after(*built) for name, built in self.environments().items()},
        )
        report("cold test environment", figures, "uv sync (floor)", "conveyor <= 1.5x the floor")

    def warm(self) -> None:
        """The tests again in each ready environment, nothing cached."""
        for path, argv, extra in self.environments().values():
            if not path.exists():  # `--only warm`: built once, not measured
                self.timer.once(argv, extra)
        program, *rest = self.test_argv
        bare = [str(self.floor_venv / "bin" / program), *rest]
        forced = {"CONVEYOR_FORCE": "1"}
        figures = medians(
            self.args.rounds,
            {
                "pytest bare (floor)": lambda: self.timer.once(bare),
                "conveyor": lambda: self.timer.once([*self.nox, "-s", self.session], forced),
                # The same command unforced: what re-running with nothing changed costs (the
                # forced run just before it stored the result). Not a test run: no goal.
                "conveyor, result cached": lambda: self.timer.once([*self.nox, "-s", self.session]),
                "tox + tox-uv": lambda: self.timer.once([*self.tox, "-e", self.py_env]),
                "nox + uv, plain installs": lambda: self.timer.once(
                    self.plain_nox("-R", "-s", "tests")
                ),
            },
        )
        report(
            "warm test run (nothing cached)",
            figures,
            "pytest bare (floor)",
            "conveyor <= the fastest peer and <= 1.10x bare",
        )

    def startup(self) -> None:
        """What a nox run costs before any session runs: Python, nox, the noxfile."""
        figures = medians(
            self.args.rounds,
            {
                "nox + plain noxfile": lambda: self.timer.once(self.plain_nox("-l")),
                "conveyor": lambda: self.timer.once([*self.nox, "-l"]),
            },
        )
        report("start-up (nox -l)", figures, "nox + plain noxfile", "informational")

    def recheck(self) -> None:
        """The default pipeline (or `--sessions`) again with nothing changed, then after one
        source edit."""
        pipeline = [*self.nox, *(["-s", *self.args.sessions] if self.args.sessions else [])]
        self.timer.once(pipeline, {"CONVEYOR_FORCE": "1"})  # every session cached
        again = medians(self.args.rounds, {"nox": lambda: self.timer.once(pipeline)})
        what = " ".join(self.args.sessions) if self.args.sessions else "the default pipeline"
        print(f"\nno-change re-check of {what}: {again['nox']:.2f}s (goal <= 2 s)")
        source = next((self.work / self.args.src).rglob("*.py"))
        source.write_text(source.read_text() + "\n# touched\n")
        log = subprocess.run(
            pipeline, cwd=self.work, env=self.env, capture_output=True, text=True, check=False
        ).stderr
        sessions = [
            line.rsplit(" ", 1)[-1]
            for line in log.splitlines()
            if line.startswith("nox > Running session ")
        ]
        reran = [s for s in sessions if "unchanged since" not in _section(log, s)]
        print(f"one source file changed ({source.relative_to(self.work)}): re-ran")
        print(f"  {', '.join(reran)} (goal: only the sessions that read it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--python", default="3.12")
    parser.add_argument("--src", default="src")
    parser.add_argument("--tests", default="tests/unit")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("cold", "warm", "startup", "recheck"), action="append")
    parser.add_argument(
        "--sessions", nargs="+", help="re-check these sessions instead of the default pipeline"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set for every command (e.g. a coverage plugin's PYTHONPATH)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        for step in args.only or ("cold", "warm", "startup", "recheck"):
            getattr(bench, step)()


def _section(log: str, session: str) -> str:
    """The part of a nox log that belongs to one session."""
    start = log.find(f"nox > Running session {session}\n")
    end = log.find("nox > Running session ", start + 1)
    return log[start : end if end != -1 else None]


if __name__ == "__main__":
    main()
