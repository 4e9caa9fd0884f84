"""HTTP smoke tests after a deploy, on URLs built only from the configured scheme/host/port.

A smoke path is a path: it must start with '/', and may carry no scheme, host, user info or
backslash, so a config entry cannot send the request anywhere but the target. Redirects are
not followed (a 3xx is the answer), for the same reason.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from conveyor.config import SmokeTest
from conveyor.errors import ConfigError
from conveyor.validate import host_problem

_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*(?:\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")


@dataclass(frozen=True)
class SmokeResult:
    """One smoke test: what was asked, what came back."""

    url: str
    expected: int
    status: int | None
    seconds: float
    error: str = ""

    @property
    def passed(self) -> bool:
        return self.status == self.expected

    def describe(self) -> str:
        got = str(self.status) if self.status is not None else self.error
        return f"GET {self.url} -> {got} (expected {self.expected}, {self.seconds:.2f}s)"


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


def run_smoke_tests(
    tests: Sequence[SmokeTest], *, scheme: str, host: str, port: int | None
) -> list[SmokeResult]:
    """Run every smoke test once, in order; the results (callers decide the gate)."""
    return [probe(smoke_url(scheme, host, port, t.path), t.status, t.timeout) for t in tests]
