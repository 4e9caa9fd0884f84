"""Invoke task: `inv scan` — trivy (image, fs, config) and gitleaks behind one gate.

Exit codes: 0 the gate passed, 1 the gate failed, 2 a scan is incomplete: a scanner could not
run, wrote no report of its shape, or ran on a vulnerability DB that is absent or too old (the
others still run and are reported, so one broken tool never hides another's findings).

Conveyor's allowlist is the one way to accept a finding: the scanners' own ignore and config
files in the repository are not read (each found is named in a warning), and one issue that
several trivy scans report is one finding.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.tasks import Task, task
from msgspec import structs
from rich.console import Console

from conveyor.config import Project, ScanSettings
from conveyor.errors import (
    ConfigError,
    ConveyorError,
    GateFailedError,
    InvalidInputError,
    ToolFailedError,
)
from conveyor.findings import Finding, merge_duplicates
from conveyor.images.plan import built_images
from conveyor.policy.allowlist import load_allowlist
from conveyor.policy.freshness import judge
from conveyor.policy.gate import evaluate
from conveyor.reports.console import output_console
from conveyor.reports.scan import ScanRun, VulnDb, print_table, publish_to_github, write_reports
from conveyor.tasks._common import project_of, reports_errors
from conveyor.tasks.build import default_image
from conveyor.tools import gitleaks as gitleaks_tool
from conveyor.tools import trivy as trivy_tool
from conveyor.tools.docker import Docker
from conveyor.tools.gitleaks import SCAN_NAME as GITLEAKS_SCAN
from conveyor.tools.gitleaks import Gitleaks
from conveyor.tools.trivy import DB_PRELOAD_HINT, Trivy, TrivyScan, db_status, scan_or_degrade
from conveyor.validate import validate_image

KINDS = ("image", "fs", "config", "secrets")
VULN_KINDS = ("image", "fs")
STALE = ("stale", "absent")
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
    return _vuln(project, on=False)


def with_vuln(project: Project) -> Project:
    """`project` with the vulnerability scanner on for this run (a current DB required)."""
    return _vuln(project, on=True)


def _vuln(project: Project, *, on: bool) -> Project:
    scan_settings = structs.replace(project.settings.scan, vuln=on)
    return structs.replace(project, settings=structs.replace(project.settings, scan=scan_settings))


def _path(project: Project, value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else project.root / path


def ignored_overrides(project: Project, kinds: list[str], environ: dict[str, str]) -> list[str]:
    """One line per repository file or variable through which a scanner would report less.

    None of them is read (see the adapters); each is named so nobody believes it still works.
    """
    files: list[str] = []
    names: list[str] = []
    if any(k != "secrets" for k in kinds):
        files += trivy_tool.REPOSITORY_FILES
        names += trivy_tool.overriding_environment(environ)
    if "secrets" in kinds:
        files += gitleaks_tool.REPOSITORY_FILES
        names += gitleaks_tool.overriding_environment(environ)
    accept = f"accept findings in {project.settings.scan.allowlist} with reason and expiry"
    lines = [f"ignored {name}: {accept}" for name in files if (project.root / name).exists()]
    return lines + [f"ignored {name} from the environment: {accept}" for name in names]


def vuln_db(project: Project, kinds: list[str], no_vuln: bool) -> VulnDb:
    """The vulnerability DB the scans used (read after them: trivy may have updated it)."""
    settings = project.settings.scan
    if no_vuln:
        return VulnDb("not used", "not used: --no-vuln")
    if not settings.vuln:
        return VulnDb("not used", "not used: vuln = false in [tool.conveyor.scan]")
    if not any(k in VULN_KINDS for k in kinds):
        return VulnDb("not used", "not used: no image or fs scan selected")
    status = db_status(_path(project, settings.trivy_cache_dir) or trivy_tool.default_cache_dir())
    if not status.present:
        return VulnDb("absent", f"absent (no trivy.db in {status.path})", path=str(status.path))
    freshness = judge(status.updated_at, settings.max_db_age)
    return VulnDb(
        "stale" if freshness.stale else "current",
        f"{freshness.describe()} in {status.path}",
        path=str(status.path),
        updated_at=status.updated_at.isoformat() if status.updated_at else None,
        age_days=freshness.age_days,
        max_age_days=settings.max_db_age,
    )


def judged_by_db(runs: list[ScanRun], db: VulnDb) -> list[ScanRun]:
    """Vulnerability scans on an absent or stale DB are incomplete (unless already failed)."""
    if db.status not in STALE:
        return runs
    problem = f"vulnerability DB {db.detail}"  # prefixed with each scan's name below
    hint = (
        f"update it, or raise [tool.conveyor.scan] max-db-age on purpose; {DB_PRELOAD_HINT}"
        if db.status == "stale"
        else DB_PRELOAD_HINT
    )
    vuln_runs = {f"trivy-{kind}" for kind in VULN_KINDS}
    return [
        replace(run, problem=f"{run.name}: {problem}", hint=hint)
        if run.name in vuln_runs and not run.problem
        else run
        for run in runs
    ]


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
        for kind in trivy_kinds:
            if kind == "image":
                planned += [
                    _trivy_plan(project, trivy, kind, reference)
                    for reference in images_to_scan(project, image)
                ]
            else:
                planned.append(_trivy_plan(project, trivy, kind, None))
    if "secrets" in kinds:
        gitleaks = Gitleaks.discover(
            str(_path(project, settings.gitleaks)) if settings.gitleaks else None
        )
        run = ScanRun(GITLEAKS_SCAN, "gitleaks", gitleaks.version, str(project.root))
        planned.append(Planned(run, lambda report: (gitleaks.scan(project.root, report), [])))
    return planned


def images_to_scan(project: Project, image: str | None) -> list[str]:
    """`--image REF`, else `[tool.conveyor.scan] image`, else every image `inv build` makes."""
    chosen = image or project.settings.scan.image
    if chosen:
        return [validate_image(chosen)]
    return [validate_image(reference) for reference in built_images(project)]


def _trivy_plan(project: Project, trivy: Trivy, kind: str, image: str | None) -> Planned:
    settings = project.settings.scan
    vuln = ("vuln",) if settings.vuln else ()
    if kind == "image":
        reference = validate_image(image or default_image(project))
        scan = TrivyScan(
            name="trivy-image",
            command="image",
            target=reference,
            scanners=(*vuln, "secret"),
            image_config_scanners=("misconfig", "secret"),
        )
        run = ScanRun(scan.name, "trivy", trivy.version, reference)
        return Planned(run, lambda report: _image_scan(project, trivy, scan, report))
    skips = (*settings.skip_dirs, project.settings.reports_dir)
    if kind == "fs":
        scan = TrivyScan(
            name="trivy-fs",
            command="fs",
            target=str(project.root),
            scanners=(*vuln, "secret", "misconfig"),
            skip_dirs=tuple(str(project.root / s) for s in skips),
        )
        run = ScanRun(scan.name, "trivy", trivy.version, str(project.root))
        return Planned(run, lambda report: scan_or_degrade(trivy, scan, report))
    config_dir = (project.root / settings.config_dir).resolve()
    relative = config_dir.relative_to(project.root) if config_dir != project.root else None
    scan = TrivyScan(
        name="trivy-config",
        command="config",
        target=str(config_dir),
        path_prefix=str(relative) if relative is not None else "",
        skip_dirs=tuple(str(project.root / s) for s in skips),
        require_targets=True,
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
        found, problems = item.execute(raw_dir / f"{item.run.report_stem}.json")
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
        "vuln": "scan for vulnerabilities this run even if [tool.conveyor.scan] vuln = false",
    }
)
@reports_errors
def scan(
    c: Context,
    image: str | None = None,
    only: str | None = None,
    no_vuln: bool = False,
    vuln: bool = False,
) -> None:
    """Scan every built image, the repository, docker/ and git history; one gate."""
    if vuln and no_vuln:
        raise InvalidInputError("--vuln and --no-vuln contradict each other", hint="pick one")
    project = project_of(c)
    if no_vuln:
        project = without_vuln(project)
    elif vuln:
        project = with_vuln(project)
    settings = project.settings.scan
    allowlist = load_allowlist(project.root / settings.allowlist)
    if image:
        validate_image(image)
    kinds = selected_kinds(settings, only)
    scanned = project
    if not settings.trivy_db_update and vuln_db(project, kinds, no_vuln).status in STALE:
        scanned = without_vuln(project)  # trivy cannot mend the DB offline: scan the rest
    planned = plan(scanned, kinds, image)
    if not planned:
        raise ConfigError(
            "scan: nothing to scan", hint="list scan kinds in [tool.conveyor.scan] scanners"
        )
    ignored = ignored_overrides(project, kinds, dict(os.environ))
    for line in ignored:
        print(f"warning: {line}", flush=True)
    out_dir = project.reports / "scan"
    found, runs = execute(planned, out_dir / "raw", settings.jobs)
    findings = merge_duplicates(found)
    database = vuln_db(project, kinds, no_vuln)  # after the scans: trivy may have updated it
    runs = judged_by_db(runs, database)
    result = evaluate(findings, allowlist, fail_on=settings.fail_on)
    failed_runs = [r for r in runs if r.problem]
    exit_code = 2 if failed_runs else (0 if result.passed else 1)
    verdict = ["passed", "FAILED (gate)", "FAILED (a scan is incomplete)"][exit_code]
    print_table(result, runs, console(), database)
    written = write_reports(
        out_dir,
        result,
        runs,
        fail_on=settings.fail_on,
        exit_code=exit_code,
        vuln_db=database,
        ignored=ignored,
    )
    publish_to_github(result, runs, verdict, database, ignored)
    print(f"reports: {', '.join(str(p.relative_to(project.root)) for p in written)}")
    if failed_runs:
        first = failed_runs[0]
        raise ToolFailedError(
            f"scan: {len(failed_runs)} scan(s) incomplete; {first.problem}",
            hint="\n".join(
                [first.hint, *(f"{r.problem}: {r.hint}" for r in failed_runs[1:])]
            ).strip(),
        )
    if not result.passed:
        raise GateFailedError(
            f"scan gate failed: {result.reason()}",
            hint=GATE_HINT.format(path=allowlist.source),
        )
    merged = len(found) - len(findings)
    print(
        f"scan gate passed: {len(runs)} scan(s) ran ({', '.join(r.name for r in runs)}); "
        f"{len(findings)} finding(s) below the gate or allowed"
        + (f" ({merged} reported twice, counted once)" if merged else "")
    )


TASKS: list[Task[Callable[..., Any]]] = [scan]
