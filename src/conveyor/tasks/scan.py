"""Invoke task: `inv scan` — trivy (image, fs, config) and gitleaks behind one gate.

Exit codes: 0 the gate passed, 1 the gate failed, 2 a scanner could not run (the others
still run and are reported, so one broken tool never hides another's findings).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.tasks import Task, task
from rich.console import Console

from conveyor.config import Project, ScanSettings
from conveyor.errors import ConveyorError, GateFailedError, InvalidInputError, ToolFailedError
from conveyor.findings import Finding
from conveyor.policy.allowlist import load_allowlist
from conveyor.policy.gate import evaluate
from conveyor.reports.console import output_console
from conveyor.reports.scan import ScanRun, print_table, publish_to_github, write_reports
from conveyor.tasks._common import project_of, reports_errors
from conveyor.tasks.build import default_image
from conveyor.tools.docker import Docker
from conveyor.tools.gitleaks import SCAN_NAME as GITLEAKS_SCAN
from conveyor.tools.gitleaks import Gitleaks
from conveyor.tools.trivy import Trivy, TrivyScan, scan_or_degrade
from conveyor.validate import validate_image

KINDS = ("image", "fs", "config", "secrets")
GATE_HINT = "fix them, or accept one with id, reason and expires in the allowlist ({path})"


@dataclass(frozen=True)
class Planned:
    """One scan to run: its report name, the tool, the target, and how to run it."""

    run: ScanRun
    execute: Callable[[Path], tuple[list[Finding], list[ConveyorError]]]


def selected_kinds(settings: ScanSettings, only: str | None) -> list[str]:
    """Configured scan kinds, narrowed by `--only image,fs,...` (validated)."""
    if not only:
        return list(settings.scanners)
    wanted = [part.strip() for part in only.split(",") if part.strip()]
    unknown = [w for w in wanted if w not in KINDS]
    if unknown or not wanted:
        raise InvalidInputError(
            f"--only {only!r}: unknown scan kind(s) {unknown}", hint=f"choose from {list(KINDS)}"
        )
    return wanted


def without_vuln(project: Project) -> Project:
    """`project` with the vulnerability scanner off for this run (no DB needed)."""
    scan_settings = project.settings.scan.model_copy(update={"vuln": False})
    settings = project.settings.model_copy(update={"scan": scan_settings})
    return project.model_copy(update={"settings": settings})


def _path(project: Project, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else project.root / path


def plan(project: Project, kinds: list[str], image: str | None) -> list[Planned]:
    """Find each needed tool, then build the list of scans (nothing runs yet)."""
    settings = project.settings.scan
    planned: list[Planned] = []
    trivy_kinds = [k for k in kinds if k != "secrets"]
    if trivy_kinds:
        trivy = Trivy.discover(
            str(_path(project, settings.trivy)) if settings.trivy else None,
            cache_dir=_path(project, settings.trivy_cache_dir),
            db_update=settings.trivy_db_update,
        )
        planned += [_trivy_plan(project, trivy, kind, image) for kind in trivy_kinds]
    if "secrets" in kinds:
        gitleaks = Gitleaks.discover(
            str(_path(project, settings.gitleaks)) if settings.gitleaks else None
        )
        run = ScanRun(GITLEAKS_SCAN, "gitleaks", gitleaks.version, str(project.root))
        planned.append(Planned(run, lambda report: (gitleaks.scan(project.root, report), [])))
    return planned


def _trivy_plan(project: Project, trivy: Trivy, kind: str, image: str | None) -> Planned:
    settings = project.settings.scan
    vuln = ("vuln",) if settings.vuln else ()
    notes: tuple[str, ...] = ()
    if settings.vuln:
        status = trivy.db()
        notes = (
            f"vulnerability DB: {status.age_text()} ({status.path})"
            if status.present
            else f"vulnerability DB: not in {status.path}",
        )
    if kind == "image":
        reference = validate_image(image or settings.image or default_image(project))
        scan = TrivyScan(
            name="trivy-image",
            command="image",
            target=reference,
            scanners=(*vuln, "secret"),
            image_config_scanners=("misconfig", "secret"),
        )
        run = ScanRun(scan.name, "trivy", trivy.version, reference, notes=notes)
        return Planned(run, lambda report: _image_scan(project, trivy, scan, report))
    if kind == "fs":
        skips = (*settings.skip_dirs, project.settings.reports_dir)
        scan = TrivyScan(
            name="trivy-fs",
            command="fs",
            target=str(project.root),
            scanners=(*vuln, "secret", "misconfig"),
            skip_dirs=tuple(str(project.root / s) for s in skips),
        )
        run = ScanRun(scan.name, "trivy", trivy.version, str(project.root), notes=notes)
        return Planned(run, lambda report: scan_or_degrade(trivy, scan, report))
    config_dir = project.root / settings.config_dir
    scan = TrivyScan(
        name="trivy-config",
        command="config",
        target=str(config_dir),
        path_prefix=settings.config_dir,
    )
    run = ScanRun(scan.name, "trivy", trivy.version, str(config_dir))
    return Planned(run, lambda report: _config_scan(trivy, scan, config_dir, report))


def _image_scan(
    project: Project, trivy: Trivy, scan: TrivyScan, report: Path
) -> tuple[list[Finding], list[ConveyorError]]:
    docker = Docker.discover(project.settings.docker.docker)
    docker.engine_version()
    if not docker.image_exists(scan.target):
        raise ToolFailedError(
            f"trivy image: image {scan.target} not found in the Docker engine",
            hint="build it first with `inv build`, or pass --image REF",
        )
    return scan_or_degrade(trivy, scan, report)


def _config_scan(
    trivy: Trivy, scan: TrivyScan, config_dir: Path, report: Path
) -> tuple[list[Finding], list[ConveyorError]]:
    if not config_dir.is_dir():
        raise ToolFailedError(
            f"trivy config: {config_dir} is not a directory",
            hint="set [tool.conveyor.scan] config-dir, or drop 'config' from scanners",
        )
    return trivy.scan(scan, report), []


def _run_one(item: Planned, raw_dir: Path) -> tuple[list[Finding], ScanRun]:
    started = time.perf_counter()
    found: list[Finding] = []
    try:
        found, problems = item.execute(raw_dir / f"{item.run.name}.json")
    except ConveyorError as exc:
        problems = [exc]
    run = replace(
        item.run,
        seconds=time.perf_counter() - started,
        problem=" / ".join(p.message for p in problems),
        hint="\n".join(p.hint for p in problems if p.hint),
    )
    return found, run


def execute(
    planned: list[Planned], raw_dir: Path, jobs: int = 1
) -> tuple[list[Finding], list[ScanRun]]:
    """Run every planned scan (`jobs` at a time); a failing one is recorded, the rest still run.

    Results keep the planned order, so reports do not depend on which scanner finished first.
    """
    for item in planned:
        print(f"scanning: {item.run.name} on {item.run.target}", flush=True)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(lambda item: _run_one(item, raw_dir), planned))
    findings = [finding for found, _ in outcomes for finding in found]
    return findings, [run for _, run in outcomes]


def console() -> Console:
    """Rich in a terminal; a wide plain console in CI logs and pipes (no 80-column wrap)."""
    return output_console()


@task(
    help={
        "image": "image to scan (default: the scan.image setting, else the tag inv build makes)",
        "only": "comma-separated subset of: image, fs, config, secrets",
        "no-vuln": "skip the vulnerability scanner this run (secret and misconfig scans only)",
    }
)
@reports_errors
def scan(
    c: Context, image: str | None = None, only: str | None = None, no_vuln: bool = False
) -> None:
    """Scan the image, the repository, docker/ and git history; fail on the configured gate."""
    project = project_of(c)
    if no_vuln:
        project = without_vuln(project)
    settings = project.settings.scan
    allowlist = load_allowlist(project.root / settings.allowlist)
    if image:
        validate_image(image)
    planned = plan(project, selected_kinds(settings, only), image)
    out_dir = project.reports / "scan"
    findings, runs = execute(planned, out_dir / "raw", settings.jobs)
    result = evaluate(findings, allowlist, fail_on=settings.fail_on)
    failed_runs = [r for r in runs if r.problem]
    exit_code = 2 if failed_runs else (0 if result.passed else 1)
    verdict = ["passed", "FAILED (gate)", "FAILED (a scanner did not run)"][exit_code]
    print_table(result, runs, console())
    written = write_reports(out_dir, result, runs, fail_on=settings.fail_on, exit_code=exit_code)
    publish_to_github(result, runs, verdict)
    print(f"reports: {', '.join(str(p.relative_to(project.root)) for p in written)}")
    if failed_runs:
        first = failed_runs[0]
        raise ToolFailedError(
            f"scan: {len(failed_runs)} scanner(s) did not run; {first.problem}",
            hint="\n".join(
                [first.hint, *(f"{r.problem}: {r.hint}" for r in failed_runs[1:])]
            ).strip(),
        )
    if not result.passed:
        raise GateFailedError(
            f"scan gate failed: {result.reason()}",
            hint=GATE_HINT.format(path=allowlist.source),
        )
    print(f"scan gate passed ({len(findings)} finding(s) below the gate or allowed)")


TASKS: list[Task[Callable[..., Any]]] = [scan]
