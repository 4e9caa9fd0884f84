"""Smoke tests: URLs only on the configured host, real HTTP against a local server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conveyor.config import SmokeTest
from conveyor.deploy.smoke import run_smoke_tests, smoke_url, validate_host
from conveyor.errors import ConfigError


class _Handler(BaseHTTPRequestHandler):
    warming_up = 0  # answers 503 to this many requests of /slow first

    def do_GET(self) -> None:
        if self.path == "/slow" and _Handler.warming_up > 0:
            _Handler.warming_up -= 1
            self.send_response(503)
        elif self.path == "/slow":
            self.send_response(200)
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "http://example.invalid/")
        else:
            self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[int]:
    httpd = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_address[1])
    httpd.shutdown()
    httpd.server_close()


def test_urls_are_built_from_configured_parts() -> None:
    assert smoke_url("http", "127.0.0.1", 8080, "/health") == "http://127.0.0.1:8080/health"
    assert (
        smoke_url("https", "app.example.com", None, "/v1?x=1") == "https://app.example.com/v1?x=1"
    )
    assert smoke_url("http", "::1", 80, "/") == "http://[::1]:80/"


@pytest.mark.parametrize(
    "path", ["health", "//evil.example/x", "http://evil.example/", "/a b", "/x\\y", ""]
)
def test_paths_cannot_leave_the_host(path: str) -> None:
    with pytest.raises(ConfigError, match="must be a path starting with '/'"):
        smoke_url("http", "127.0.0.1", 80, path)


@pytest.mark.parametrize("host", ["evil.example/x", "user@host", "host:80", "-bad", ""])
def test_hosts_are_bare_names_or_addresses(host: str) -> None:
    with pytest.raises(ConfigError, match="not a hostname or IP address"):
        validate_host(host)


def test_bracketed_addresses_are_refused_and_bare_ipv6_works() -> None:
    with pytest.raises(ConfigError, match=r"write the address without brackets \('::1'\)"):
        validate_host("[::1]")
    assert smoke_url("http", "::1", 8080, "/health") == "http://[::1]:8080/health"


def test_only_http_and_https() -> None:
    with pytest.raises(ConfigError, match="scheme 'file' is not allowed"):
        smoke_url("file", "127.0.0.1", None, "/etc/passwd")


def test_statuses_redirects_and_no_answer(server: int) -> None:
    results = run_smoke_tests(
        [
            SmokeTest(path="/health"),
            SmokeTest(path="/nope", status=404),
            SmokeTest(path="/moved", deadline=1),
            SmokeTest(path="/health"),
        ],
        scheme="http",
        host="127.0.0.1",
        port=server,
    )
    assert [r.status for r in results] == [200, 404, 302]  # the redirect is not followed
    assert [r.passed for r in results] == [True, True, False]  # and the run stops there
    assert "-> 302 (expected 200" in results[2].describe()
    assert results[2].attempts == 2  # retried until its deadline
    assert "2 attempts" in results[2].describe()


def test_a_test_is_retried_until_the_service_answers(server: int) -> None:
    _Handler.warming_up = 3
    (result,) = run_smoke_tests(
        [SmokeTest(path="/slow", deadline=10)], scheme="http", host="127.0.0.1", port=server
    )
    assert result.passed
    assert result.attempts == 4
    assert "4 attempts" in result.describe()


def test_nothing_listening() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (result,) = run_smoke_tests(
        [SmokeTest(timeout=1, deadline=0.1)], scheme="http", host="127.0.0.1", port=port
    )
    assert result.attempts == 1
    assert result.status is None
    assert "no answer" in result.describe()


def test_each_test_can_be_routed_where_the_release_under_test_answers(server: int) -> None:
    asked: list[tuple[str, ...]] = []

    def route(services: Sequence[str]) -> tuple[str, int | None]:
        asked.append(tuple(services))
        return "127.0.0.1", server

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    unused = closed.getsockname()[1]
    closed.close()
    (result,) = run_smoke_tests(
        [SmokeTest(path="/health", services=["app"])],
        scheme="http", host="127.0.0.1", port=unused, route=route,
    )  # fmt: skip
    assert result.passed
    assert result.url == f"http://127.0.0.1:{server}/health"
    assert asked == [("app",)]
