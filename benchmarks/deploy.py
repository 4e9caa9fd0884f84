"""Deploy benchmarks on the demo service (real engine; run on demand, not in tests).

(a) Health detection latency: from Docker's `health_status: healthy` event of the last
    service (its own timestamp) to `inv health` returning. Goal <= 1 s.
(b) A full deploy -> failed health gate -> rollback -> healthy cycle, against the healthcheck
    budget of the demo's staging settings (start_period + retries x interval). Goal <= 2x.

Run: `uv run python benchmarks/deploy.py` (needs the engine and conveyor/base:bookworm).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from invoke.exceptions import Exit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.integration._demo import BAD, GOOD, build_demo_images, make_target  # noqa: E402

from conveyor.tasks.compose import health, up  # noqa: E402
from conveyor.tasks.deploy import deploy  # noqa: E402

RUNS = 5
# The demo's staging settings (docker/staging.env and compose.yaml).
INTERVAL_S, START_PERIOD_S, RETRIES = 2.0, 10.0, 3
LATENCY_GOAL_S = 1.0
CYCLE_GOAL_RATIO = 2.0


def last_healthy_event(project: str, since: float) -> float:
    """Wall-clock time of the project's last `health_status: healthy` event."""
    done = subprocess.run(
        [
            "docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
            "--filter", "type=container",
            "--filter", f"label=com.docker.compose.project={project}",
            "--format", "{{.TimeNano}} {{.Status}}",
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    stamps = [
        int(line.split()[0]) / 1e9
        for line in done.stdout.splitlines()
        if line.endswith("health_status: healthy")
    ]
    if not stamps:
        raise SystemExit("no health_status: healthy event seen")
    return max(stamps)


def inspect_round_trip(project: str) -> float:
    """Anchor: one `docker ps` + `docker inspect` (what each health poll costs)."""
    started = time.perf_counter()
    ids = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    subprocess.run(["docker", "inspect", *ids], capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> int:
    build_demo_images()
    with tempfile.TemporaryDirectory() as tmp:
        target = make_target(Path(tmp) / "bench", smoke=("/health",))
        target.write_env(
            HEALTH_INTERVAL=f"{INTERVAL_S:g}s", APP_START_PERIOD=f"{START_PERIOD_S:g}s"
        )
        ctx = target.context()
        try:
            latencies = []
            for _ in range(RUNS):
                target.down()
                since = time.time()
                up(ctx, env="staging", tag=GOOD, wait=False)
                health(ctx, env="staging", timeout="120")
                returned = time.time()
                latencies.append(returned - last_healthy_event(target.project, since))
            anchor = statistics.median(inspect_round_trip(target.project) for _ in range(5))
            median = statistics.median(latencies)
            print(f"(a) health detection latency over {RUNS} runs: median {median:.3f}s, "
                  f"max {max(latencies):.3f}s (goal <= {LATENCY_GOAL_S:g}s: "
                  f"ratio {max(latencies) / LATENCY_GOAL_S:.2f}); anchor: one ps+inspect poll "
                  f"= {anchor:.3f}s, median = {median / anchor:.1f}x anchor")  # fmt: skip

            deploy(ctx, "staging", tag=GOOD)
            budget = START_PERIOD_S + RETRIES * INTERVAL_S
            started = time.perf_counter()
            try:
                deploy(ctx, "staging", tag=BAD)
                raise SystemExit("the bad release passed the gate")
            except Exit:
                cycle = time.perf_counter() - started
            assert target.serving_release() == GOOD, "the previous release is not serving"
            print(
                f"(b) deploy -> failed gate -> rollback -> healthy: {cycle:.1f}s; healthcheck "
                f"budget (start_period {START_PERIOD_S:g}s + {RETRIES} x {INTERVAL_S:g}s) = "
                f"{budget:g}s; ratio {cycle / budget:.2f} (goal <= {CYCLE_GOAL_RATIO:g})"
            )
        finally:
            target.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
