"""HTTP smoke tests after a deploy, on URLs built only from the configured scheme/host/port.

A smoke path is a path: it must start with '/', and may carry no scheme, host, user info or
backslash, so a config entry cannot send the request anywhere but the target. Redirects are
not followed (a 3xx is the answer), for the same reason.

Each test is retried until its deadline: a service without a healthcheck (or a proxy whose
upstream is still starting) may need a few seconds before it answers, and a release must
not be rolled back for that. The last answer is the one reported.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from conveyor.config import SmokeTest
from conveyor.errors import ConfigError
from conveyor.validate import host_problem

RETRY_SECONDS = 0.5
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")


@dataclass(frozen=True)
class SmokeResult:
    """One smoke test: what was asked, what came back."""

    url: str
    expected: int
    status: int | None
    seconds: float
    error: str = ""
    attempts: int = 1

    @property
    def passed(self) -> bool:
        return self.status == self.expected

    def describe(self) -> str:
        got = str(self.status) if self.status is not None else self.error
        tries = f", {self.attempts} attempts" if self.attempts > 1 else ""
        return f"GET {self.url} -> {got} (expected {self.expected}, {self.seconds:.2f}s{tries})"


def validate_host(host: str) -> str:
    """A hostname or an IP address, nothing more (no brackets, port, path or user info)."""
    problem = host_problem(host)
    if problem:
        raise ConfigError(
            f"[tool.conveyor.deploy.environments] key 'host': {problem}",
            hint="set host to a bare name or address, e.g. 127.0.0.1, ::1 or app.example.com",
        )
    return host


def smoke_url(scheme: str, host: str, port: int | None, path: str) -> str:
    """The URL of one smoke test; ConfigError if any part could point elsewhere."""
    if scheme not in ("http", "https"):
        raise ConfigError(
            f"smoke tests: scheme {scheme!r} is not allowed", hint="use http or https"
        )
    validate_host(host)
    if not _PATH.fullmatch(path) or path.startswith("//") or "://" in path:
        raise ConfigError(
            f"[tool.conveyor.deploy.smoke] path {path!r} must be a path starting with '/' "
            "(no scheme, host or spaces)",
            hint='write e.g. path = "/health"; the host comes from the environment\'s settings',
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    url = f"{scheme}://{netloc}{path}"
    parsed = urlsplit(url)
    if parsed.scheme != scheme or parsed.netloc != netloc:  # defence in depth
        raise ConfigError(f"smoke tests: {url!r} does not stay on {netloc}")
    return url


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def probe(url: str, expected: int, timeout: float) -> SmokeResult:
    """GET `url` once."""
    started = time.perf_counter()
    try:
        with _OPENER.open(url, timeout=timeout) as reply:
            status: int | None = int(reply.status)
        error = ""
    except urllib.error.HTTPError as exc:
        status, error = exc.code, ""
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        status, error = None, f"no answer: {reason}"
    return SmokeResult(url, expected, status, time.perf_counter() - started, error)


def probe_until(
    url: str,
    expected: int,
    timeout: float,
    deadline: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> SmokeResult:
    """GET `url` until it answers `expected` or `deadline` seconds have passed."""
    started = clock()
    attempts = 0
    while True:
        attempts += 1
        result = probe(url, expected, timeout)
        if result.passed or clock() - started + RETRY_SECONDS >= deadline:
            return replace(result, attempts=attempts)
        sleep(RETRY_SECONDS)


def run_smoke_tests(
    tests: Sequence[SmokeTest],
    *,
    scheme: str,
    host: str,
    port: int | None,
    route: Callable[[Sequence[str]], tuple[str, int | None]] | None = None,
) -> list[SmokeResult]:
    """Run every smoke test in order, each until it passes or its deadline passes.

    `route` maps a test's services to the host and port that reach the release under test
    (a blue-green candidate's preview port); by default every test goes to `host:port`.
    A failed test stops the run: the ones after it would only wait out their deadlines.
    """
    results: list[SmokeResult] = []
    for test in tests:
        where = route(test.services) if route is not None else (host, port)
        url = smoke_url(scheme, where[0], where[1], test.path)
        results.append(probe_until(url, test.status, test.timeout, test.deadline))
        if not results[-1].passed:
            break
    return results
