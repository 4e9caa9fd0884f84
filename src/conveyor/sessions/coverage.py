"""`coverage`: combine the test runs' data, report it, write XML/HTML/JSON, judge a threshold.

Honest figures need the right data and the right bar. When test sessions ran (or were found
unchanged) in the same nox run, only their data is combined, so a file left by an older
run of another tree cannot lift the figure; run alone (e.g. the CI job that downloads every
run's data), it combines what is there and names each file's origin. The threshold is the
one set for that data: `coverage-fail-under` when every suite of the project contributed,
`coverage-fail-under-unit` when the integration suite did not; unset, the project's own
`[tool.coverage.report] fail_under` decides.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nox

from conveyor.adopt import coverage as coverage_config
from conveyor.adopt import sources
from conveyor.adopt.plan import adopt
from conveyor.config import Project
from conveyor.errors import GateFailedError, ToolFailedError
from conveyor.reports.github import group, write_step_summary
from conveyor.sessions._cache import Inputs
from conveyor.sessions._install import sync
from conveyor.sessions._pytest import generated_files, suite_dirs
from conveyor.sessions._support import completed_sessions, define, report_output
from conveyor.sessions.integration import LABEL as INTEGRATION

DATA_PREFIX = ".coverage."
COVERAGE_CONFIGS = coverage_config.READ
PROJECT_SETTINGS = (
    "import json, coverage; c = coverage.Coverage(); "
    "print(json.dumps({'fail_under': c.get_option('report:fail_under') or 0, "
    "'omit': c.get_option('report:omit') or c.get_option('run:omit') or []}))"
)
"""The project's own coverage settings as coverage itself reads them (config and plugins)."""


def producer(data_file: Path) -> str:
    """The session that wrote a data file: `.coverage.tests-3.12.host.123.456` -> tests-3.12."""
    label = data_file.name[len(DATA_PREFIX) :]
    if label.startswith(INTEGRATION):
        return INTEGRATION
    head, _, rest = label.partition("-")
    version = ".".join(rest.split(".")[:2])
    return f"{head}-{version}" if rest else head


def data_files(project: Project) -> list[Path]:
    """The per-run data files (`.coverage.<label>*`) the test sessions left."""
    return sorted(project.reports.glob(f"{DATA_PREFIX}*"))


@dataclass(frozen=True)
class Threshold:
    """The bar the combined data is judged against, and what it was set for."""

    value: float | None
    scope: str


def choose_threshold(project: Project, producers: set[str]) -> Threshold:
    """`coverage-fail-under` for the data of every suite; the unit bar when integration is
    missing; None (the project's coverage config decides) when the matching key is unset."""
    settings = project.settings
    has_integration = bool(suite_dirs(project, INTEGRATION))
    if not has_integration or INTEGRATION in producers:
        return Threshold(settings.coverage_fail_under, "every suite")
    if settings.coverage_fail_under_unit is not None or settings.coverage_fail_under is None:
        return Threshold(settings.coverage_fail_under_unit, "unit suites only")
    return Threshold(settings.coverage_fail_under, "every suite (integration data missing)")


def select_data(project: Project, ran: set[str]) -> tuple[list[Path], list[str]]:
    """The data files to combine, and a note for each file left out or of unknown age."""
    files = data_files(project)
    if not files:
        raise GateFailedError(
            f"coverage: no data files in {project.reports}",
            hint="run the test sessions first, e.g. `nox -s tests coverage`",
        )
    producers_now = {producer(f) for f in files} & ran
    if producers_now:
        kept = [f for f in files if producer(f) in producers_now]
        notes = [f"left out {f.name}: not from this run" for f in files if f not in kept]
        return kept, notes
    now = datetime.now(timezone.utc).timestamp()
    notes = [
        f"using {f.name} from {producer(f)}, written {(now - f.stat().st_mtime) / 60:.0f} min ago"
        for f in files
    ]
    return files, notes


def total_percent(report: Path) -> float:
    """The total from `coverage json`."""
    try:
        return float(json.loads(report.read_text(encoding="utf-8"))["totals"]["percent_covered"])
    except (OSError, ValueError, KeyError) as exc:
        raise ToolFailedError(f"coverage: cannot read {report}: {exc}") from None


def coverage(session: nox.Session, project: Project) -> str | None:
    """Combine the test runs' coverage data, report it, write XML/HTML/JSON, judge the bar."""
    plan = adopt(project)  # the test run's environment: its coverage, config plugins, paths
    if not sync(session, project, *plan.groups, extras=plan.extras):
        return None
    settings = project_settings(session)
    files, notes = select_data(project, completed_sessions())
    for note in notes:
        session.log(note)
    # Not `.coverage`: coverage's report would take the per-run files as parallel data and
    # consume them, so a second `nox -s coverage` would find nothing.
    combined = project.reports / ".coverage-combined"
    data = f"--data-file={combined}"
    report = project.reports / "coverage.json"
    reports = project.reports
    no_bar = "--fail-under=0"  # Conveyor judges below, on the threshold set for this data
    # The project's own omissions, plus the files init generated (never the project's code).
    generated = generated_files(project)
    omit = [f"--omit={','.join([*settings.omit, *generated])}"] if generated else []
    with group("coverage"):
        session.run("coverage", "combine", "--keep", "--quiet", data, *map(str, files))
        session.run("coverage", "report", data, no_bar, *omit)
        xml = str(reports / "coverage.xml")
        session.run("coverage", "xml", data, no_bar, *omit, "-q", "-o", xml)
        html = str(reports / "htmlcov")
        session.run("coverage", "html", data, no_bar, *omit, "-q", "-d", html)
        session.run("coverage", "json", data, no_bar, *omit, "-q", "-o", str(report))
    total = total_percent(report)
    producers = {producer(f) for f in files}
    threshold = choose_threshold(project, producers)
    bar = threshold.value if threshold.value is not None else settings.fail_under
    origin = ", ".join(sorted(producers))
    verdict = "no threshold set" if bar is None else f"threshold {bar:g}% for {threshold.scope}"
    passed = bar is None or total >= bar
    write_step_summary(
        f"### Coverage ({'passed' if passed else 'failed'})\n\n"
        f"{total:.1f}% of the sources from {origin} ({verdict})"
    )
    if not passed:
        raise GateFailedError(
            f"coverage {total:.1f}% is under the {verdict} (data from {origin})",
            hint="add tests, or run the suites the threshold was set for",
        )
    return f"coverage {total:.1f}% from {origin} ({verdict})"


@dataclass(frozen=True)
class ProjectCoverage:
    """What the project's coverage configuration says about reporting."""

    fail_under: float | None
    omit: tuple[str, ...]


def parse_project_settings(text: str) -> ProjectCoverage:
    """The settings line PROJECT_SETTINGS printed (its last line: plugins may print before)."""
    lines = [line for line in text.strip().splitlines() if line.startswith("{")]
    try:
        data = json.loads(lines[-1])
        fail_under = float(data["fail_under"]) or None
        omit = tuple(str(item) for item in data["omit"])
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise ToolFailedError(
            f"coverage: cannot read the project's coverage settings ({exc})",
            hint="run `coverage debug config` in the test environment to see why",
        ) from None
    return ProjectCoverage(fail_under, omit)


def project_settings(session: nox.Session) -> ProjectCoverage:
    """The project's `fail_under` and omissions, read by coverage in the session (with its
    plugins and the session's environment, e.g. `[tool.conveyor] env` PYTHONPATH)."""
    return parse_project_settings(
        str(session.run("python", "-c", PROJECT_SETTINGS, silent=True) or "")
    )


def register(project: Project) -> None:
    plan = adopt(project)
    files = sources.ProjectFiles.read(project.root)
    plugin_paths = [
        *coverage_config.plugin_dirs(files),
        *project.settings.env.get("PYTHONPATH", "").split(os.pathsep),
    ]
    inputs = Inputs(
        paths=(
            *project.settings.src,
            report_output(project, ".coverage.*"),
            *COVERAGE_CONFIGS,
            *filter(None, plugin_paths),
        ),
        groups=plan.groups,
        with_project=True,
        extras=plan.extras,
        outputs=(
            report_output(project, "coverage.xml"),
            report_output(project, "coverage.json"),
        ),
    )
    define(project, "coverage", coverage, python=project.tools_python, inputs=inputs)
