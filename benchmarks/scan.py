"""`inv scan` against the same trivy + gitleaks commands run directly, in the same run.

    uv run python benchmarks/scan.py [--root .] [--image conveyor/base:bookworm] [--rounds 3]

The anchor is the scanners alone (the argv Conveyor's adapters build, run back to back);
the ratio is Conveyor's whole `inv scan` (Python start-up, tool discovery, parsing, gate,
reports) over that anchor. Goal: <= 1.10x. Rounds alternate so caches warm both equally.
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

from conveyor.config import load_project
from conveyor.tools.gitleaks import Gitleaks, is_git_repository
from conveyor.tools.trivy import Trivy, TrivyScan

GOAL = 1.10


def direct_commands(root: Path, image: str, out: Path) -> list[list[str]]:
    """The argv `inv scan` runs for this project, built by the same adapters."""
    project = load_project(root)
    settings = project.settings.scan
    trivy = Trivy(
        path=shutil.which(settings.trivy or "trivy") or "trivy",
        cache_dir=Path(settings.trivy_cache_dir) if settings.trivy_cache_dir else None,
        db_update=settings.trivy_db_update,
    )
    vuln = ("vuln",) if settings.vuln else ()
    skips = tuple(str(root / s) for s in (*settings.skip_dirs, project.settings.reports_dir))
    scans = [
        TrivyScan(
            "trivy-image",
            "image",
            image,
            (*vuln, "secret"),
            image_config_scanners=("misconfig", "secret"),
        ),
        TrivyScan("trivy-fs", "fs", str(root), (*vuln, "secret", "misconfig"), skip_dirs=skips),
        TrivyScan("trivy-config", "config", str(root / settings.config_dir)),
    ]
    commands = [trivy.argv(scan, out / f"{scan.name}.json") for scan in scans]
    gitleaks = Gitleaks(path=shutil.which(settings.gitleaks or "gitleaks") or "gitleaks")
    commands.append(gitleaks.argv(root, out / "gitleaks.json", history=is_git_repository(root)))
    return commands


def run_direct(commands: list[list[str]]) -> float:
    started = time.perf_counter()
    for argv in commands:
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode not in (0, 42):
            sys.exit(f"direct run failed: {' '.join(argv)}\n{done.stderr.decode()[-2000:]}")
    return time.perf_counter() - started


def run_conveyor(root: Path, image: str) -> float:
    inv = shutil.which("inv") or "inv"
    started = time.perf_counter()
    done = subprocess.run(
        [inv, "scan", "--image", image], cwd=root, capture_output=True, check=False
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        sys.exit(f"inv scan failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    parser.add_argument("--image", default="conveyor/base:bookworm")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = args.root.resolve()
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-") as tmp:
        commands = direct_commands(root, args.image, Path(tmp))
        run_direct(commands)  # warm-up: trivy's cache, the page cache, the docker export
        direct, conveyor = [], []
        for _ in range(args.rounds):
            direct.append(run_direct(commands))
            conveyor.append(run_conveyor(root, args.image))
    anchor, ours = statistics.median(direct), statistics.median(conveyor)
    best = min(conveyor) / min(direct)
    ratio = ours / anchor
    verdict = "OK" if ratio <= GOAL else "over goal"
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.rounds} rounds")
    print(f"direct trivy + gitleaks : median {anchor:.2f}s  ({_times(direct)})")
    print(f"inv scan                : median {ours:.2f}s  ({_times(conveyor)})")
    print(f"ratio (median)          : {ratio:.2f}x (goal <= {GOAL:.2f}x) -> {verdict}")
    print(f"ratio (best of {args.rounds})       : {best:.2f}x")


def _times(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
