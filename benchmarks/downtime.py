"""Downtime benchmark: what users see of each deploy step, blue-green and swarm against in-place.

A constant request loop on 127.0.0.1 (40 requests/s by default: one keep-alive client, one
new connection per request; bounded in time) runs during each step of the demo in
`docker/`, deployed with each strategy in the same run (in-place and blue-green on
Compose; the same images as a stack on a single-node swarm, `engine = "swarm"`, made for the
run when the engine is in none and left afterwards):

  good deploy; failed deploy with its automatic rollback (a release whose /health is 503);
  manual rollback (`inv rollback`); SIGINT in the middle of a deploy (during the health gate).

Each step runs as a user runs it, `inv ...` in its own process, so the loop measures the
service, not the deploy's work in the loop's own interpreter. For each step it prints
requests sent, failed (no answer or not 200), answered by the failed release, and p50/p99
latency during the switch (requests sent from 1 s before the first answer of the new release
to 1 s after the last answer of the old one; a step without a hand-over: the whole step) and
at steady state (the quiet seconds just before that step, so a busy machine's drift between
steps is not counted against the switch).
Goal for blue-green: 0 failed and 0 answered by a failed release at every step, p99 during
the switch <= 2x steady state. The in-place strategy is the anchor.

Run: `uv run python benchmarks/downtime.py [--rate 40] [--steady 10] [--targets in-place,
blue-green,swarm]` (needs the engine and conveyor/base:bookworm; builds the demo images;
throwaway projects on free ports).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.integration._demo import (  # noqa: E402
    BAD,
    GOOD,
    GOOD2,
    build_demo_images,
    docker,
    make_target,
)
from tests.integration._swarm import make_swarm_target, swarm_state  # noqa: E402
from tests.integration._traffic import Answer, Traffic, percentile  # noqa: E402

HAND_OVER_MARGIN = 1.0
SWITCH_GOAL_RATIO = 2.0
# The health gate's progress line for the service users reach: the new release is being gated.
SIGINT_MARKERS = {"swarm": "] web: "}  # the swarm fixture's web service; the demo's is app
SIGINT_MARKER = "] app: "


@dataclass(frozen=True)
class Step:
    """One measured step: the quiet seconds before it (its steady state) and the step."""

    strategy: str
    name: str
    steady: list[Answer]
    answers: list[Answer]
    failed_release: str | None
    old: str
    new: str

    @property
    def failed(self) -> int:
        return sum(1 for a in self.answers if not a.ok)

    @property
    def by_failed_release(self) -> int | None:
        if self.failed_release is None:
            return None
        return sum(1 for a in self.answers if a.release == self.failed_release)

    def hand_over(self) -> list[Answer] | None:
        """The answers around the moment traffic moved (old -> new); None if it did not."""
        firsts = [a.sent for a in self.answers if a.release == self.new]
        lasts = [a.sent for a in self.answers if a.release == self.old]
        if self.old == self.new or not firsts or not lasts:
            return None
        start = min(firsts[0], lasts[-1]) - HAND_OVER_MARGIN
        end = max(firsts[0], lasts[-1]) + HAND_OVER_MARGIN
        return [a for a in self.answers if start <= a.sent <= end]

    def switch(self) -> list[Answer]:
        """What "during the switch" means: the hand-over, else (traffic never moved: a
        failed or interrupted release) the whole step."""
        window = self.hand_over()
        return self.answers if window is None else window


Outcome = tuple[int, str]  # a child's exit code and its stderr
TARGETS = ("in-place", "blue-green", "swarm")


class Target(Protocol):
    """A throwaway project whose `staging` environment the steps deploy."""

    port: int

    def invoke(self, *args: str) -> subprocess.Popen[str]: ...

    def serving_release(self) -> str: ...

    def down(self) -> None: ...


@contextmanager
def single_node_swarm() -> Iterator[None]:
    """This engine as a swarm manager for the run (left as it was found)."""
    state = swarm_state().get("LocalNodeState")
    if state == "active":
        yield
        return
    made = docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False)
    if made.returncode != 0:
        raise SystemExit(f"`docker swarm init` failed: {made.stderr.strip()}")
    try:
        yield
    finally:
        docker("swarm", "leave", "--force", check=False)


def task(target: Target, *args: str) -> Callable[[], Outcome]:
    """`inv <args>` in the target, in a child process."""

    def run() -> Outcome:
        child = target.invoke(*args)
        _, err = child.communicate(timeout=600)
        return child.returncode, err

    return run


def interrupted_deploy(target: Target, tag: str, marker: str) -> Outcome:
    """`inv deploy` in a child, SIGINT once its health gate watches the new release."""
    child = target.invoke("deploy", "--env", "staging", "--tag", tag)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=1))
        except queue.Empty:
            continue
        if marker in seen[-1]:
            break
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=300)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
    assert child.stdout is not None
    child.stdout.read()
    while not lines.empty():
        seen.append(lines.get())
    return child.returncode, "".join(seen)


def run_steps(target: Target, strategy: str, rate: float, steady: float) -> list[Step]:
    code, err = task(target, "deploy", "--env", "staging", "--tag", GOOD)()
    if code:
        raise SystemExit(f"the first deploy of {strategy} failed:\n{err}")
    plan: Sequence[tuple[str, Callable[[], Outcome], str | None, str, str]] = [
        (
            "good deploy",
            task(target, "deploy", "--env", "staging", "--tag", GOOD2),
            None,
            GOOD,
            GOOD2,
        ),
        (
            "failed deploy + rollback",
            task(target, "deploy", "--env", "staging", "--tag", BAD),
            BAD,
            GOOD2,
            GOOD2,
        ),
        ("manual rollback", task(target, "rollback", "--env", "staging"), None, GOOD2, GOOD),
        (
            "SIGINT mid-deploy",
            lambda: interrupted_deploy(target, GOOD2, SIGINT_MARKERS.get(strategy, SIGINT_MARKER)),
            GOOD2,
            GOOD,
            GOOD,
        ),
    ]
    steps: list[Step] = []
    for name, action, failed_release, old, new in plan:
        with Traffic(target.port, rate=rate, max_seconds=600) as traffic:
            time.sleep(steady)
            began = time.monotonic()
            code, err = action()
            time.sleep(1)
        quiet = traffic.between(0, began)
        during = traffic.between(began, float("inf"))
        steps.append(Step(strategy, name, quiet, during, failed_release, old, new))
        serving = target.serving_release()
        print(f"  {strategy:11} {name:26} exit {code}; now serving {serving}", flush=True)
        if serving != new or code not in (0, 1):
            print("    " + "\n    ".join(err.splitlines()[-25:]), flush=True)
    return steps


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(steps: Sequence[Step]) -> int:
    """The table, and 1 when blue-green misses a goal."""
    columns = ("sent", "failed", "by failed", "p50 step", "p99 step", "p99 switch",
               "p50 steady", "p99 steady", "p99 ratio")  # fmt: skip
    header = f"{'strategy':11} {'step':26} " + " ".join(f"{c:>10}" for c in columns)
    print(header)
    print("-" * len(header))
    missed = []
    for step in steps:
        served = [a for a in step.answers if a.ok]
        switch = percentile([a for a in step.switch() if a.ok], 0.99)
        p99_steady = percentile(step.steady, 0.99)
        ratio = switch / p99_steady if p99_steady else float("inf")
        by_failed = step.by_failed_release
        cells = (
            len(step.answers),
            step.failed,
            "-" if by_failed is None else by_failed,
            ms(percentile(served, 0.5)),
            ms(percentile(served, 0.99)),
            ms(switch) + ("" if step.hand_over() is not None else "*"),
            ms(percentile(step.steady, 0.5)),
            ms(p99_steady),
            f"{ratio:.2f}x",
        )
        print(f"{step.strategy:11} {step.name:26} " + " ".join(f"{c:>10}" for c in cells))
        if step.strategy == "blue-green":
            if step.failed or by_failed:
                missed.append(f"{step.name}: {step.failed} failed, {by_failed} by failed")
            if ratio > SWITCH_GOAL_RATIO:
                missed.append(f"{step.name}: p99 during the switch {ratio:.2f}x steady")
    print("(ms; switch: +-1 s around the hand-over; * no hand-over: the whole step; steady: "
          "the quiet seconds just before the step)")  # fmt: skip
    verdict = "MET" if not missed else "MISSED: " + "; ".join(missed)
    print(f"goal (blue-green): 0 failed, 0 answered by a failed release, p99 switch <= "
          f"{SWITCH_GOAL_RATIO:g}x steady -> {verdict}")  # fmt: skip
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second")
    parser.add_argument(
        "--steady", type=float, default=10.0, help="quiet seconds measured before each step"
    )
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated, from {', '.join(TARGETS)} (in-place is the anchor)",
    )
    args = parser.parse_args()
    chosen = [t for t in TARGETS if t in args.targets.split(",")]
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}; "
          f"{args.rate:g} requests/s on 127.0.0.1", flush=True)  # fmt: skip
    build_demo_images()
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in chosen:
            base = Path(tmp) / name
            with single_node_swarm() if name == "swarm" else contextlib.nullcontext():
                target: Target = (
                    make_swarm_target(base)
                    if name == "swarm"
                    else make_target(base, smoke=("/health", "/"), strategy=name)
                )
                try:
                    steps += run_steps(target, name, args.rate, args.steady)
                finally:
                    target.down()
    print()
    return report(steps)


if __name__ == "__main__":
    sys.exit(main())
