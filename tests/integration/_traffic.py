"""A bounded, constant request loop on loopback: what users see of a deploy, counted.

Two clients share the rate: one keeps its connection alive (as browsers and HTTP client
pools do), one opens a new connection per request, so both ways a switch can drop a request
are exercised. Every request is recorded (when it was sent, how long it took, the status,
which release answered). Only 127.0.0.1 is ever contacted, and the loop ends after
`max_seconds` at the latest.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    """One request: sent at (monotonic), latency, status (None: no answer), who answered."""

    sent: float
    seconds: float
    status: int | None
    release: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


class Traffic:
    """`with Traffic(port) as traffic: ...` sends `rate` GET / per second until the block ends."""

    def __init__(self, port: int, *, rate: float = 40.0, max_seconds: float = 600.0) -> None:
        self.port = port
        self.rate = rate
        self.max_seconds = max_seconds
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._client, args=(keep,), daemon=True)
            for keep in (True, False)
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_SECONDS + 5)

    def _client(self, keep_alive: bool) -> None:
        interval = len(self._threads) / self.rate
        started = time.monotonic()
        conn: http.client.HTTPConnection | None = None
        sent = 0
        while not self._stop.is_set() and time.monotonic() - started < self.max_seconds:
            due = started + sent * interval
            if due > time.monotonic():
                self._stop.wait(due - time.monotonic())
                continue
            sent += 1
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT_SECONDS)
            answer, conn = self._request(conn)
            if not keep_alive and conn is not None:
                conn.close()
                conn = None
            with self._lock:
                self.answers.append(answer)
        if conn is not None:
            conn.close()

    def _request(
        self, conn: http.client.HTTPConnection
    ) -> tuple[Answer, http.client.HTTPConnection | None]:
        begun = time.monotonic()
        try:
            conn.request("GET", "/")
            reply = conn.getresponse()
            body = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return Answer(begun, time.monotonic() - begun, None, error=repr(exc)[:200]), None
        release = ""
        if reply.status == 200:
            try:
                release = str(json.loads(body).get("release", ""))
            except ValueError:
                release = "?"
        return Answer(begun, time.monotonic() - begun, reply.status, release), conn

    # -- what it saw ----------------------------------------------------------------------

    def snapshot(self) -> list[Answer]:
        with self._lock:
            return list(self.answers)

    def failed(self) -> list[Answer]:
        return [a for a in self.snapshot() if not a.ok]

    def answered_by(self, release: str) -> int:
        return sum(1 for a in self.snapshot() if a.release == release)

    def releases(self) -> set[str]:
        return {a.release for a in self.snapshot() if a.ok}

    def between(self, start: float, end: float) -> list[Answer]:
        """The requests sent in [start, end) (monotonic clock)."""
        return [a for a in self.snapshot() if start <= a.sent < end]

    def describe_failures(self, limit: int = 5) -> str:
        failed = self.failed()
        shown = "; ".join(f"{a.status or a.error}" for a in failed[:limit])
        return f"{len(failed)} of {len(self.snapshot())} failed: {shown}"


def percentile(answers: Sequence[Answer], fraction: float) -> float:
    """The latency below which `fraction` of the answers fall (seconds; 0 when none)."""
    latencies = sorted(a.seconds for a in answers)
    if not latencies:
        return 0.0
    if len(latencies) == 1:
        return latencies[0]
    return statistics.quantiles(latencies, n=100, method="inclusive")[round(fraction * 100) - 1]
