"""Deploys of fixture shape 2 (FastAPI + Redis, no healthchecks, code bind-mounted).

Adopted as found: no healthcheck is added. A good release must deploy (the stability
window and retried smoke tests carry it), a broken one must roll back, and the preflight
and the rollback must say what an image rollback cannot do for bind-mounted code. Every
test runs with Compose v1 and again with v2.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration._services import (
    CRASH,
    GOOD,
    GOOD2,
    ServiceTarget,
    build_fastapi_images,
    fastapi_target,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def fastapi_images(repo_base_image: str) -> None:
    build_fastapi_images()


@pytest.fixture(scope="module")
def app(
    fastapi_images: None, compose: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceTarget]:
    """The fixture deployed with Compose v1, then again with v2 (the `compose` param)."""
    target = fastapi_target(tmp_path_factory.mktemp(f"fastapi-{compose}") / "checkout")
    try:
        yield target
    finally:
        target.down()


def test_good_releases_deploy_without_any_healthcheck(app: ServiceTarget) -> None:
    first = app.invoke("deploy", "--env", "staging", "--tag", GOOD)
    assert first.returncode == 0, first.stderr
    assert "warning: service web has no healthcheck" in first.stderr
    assert "warning: service redis has no healthcheck" in first.stderr
    assert "warning: service web bind-mounts ./ from this host at /code" in first.stderr
    assert "an image rollback cannot roll them back" in first.stderr
    assert "web: running (no healthcheck) 2s without a restart" in first.stderr
    assert app.serving_release() == GOOD
    redis = app.containers()["redis"]
    visits = app.get("/")[1]["visits"]

    second = app.invoke("deploy", "--env", "staging", "--tag", GOOD2)
    assert second.returncode == 0, second.stderr
    assert "web (new image); unchanged: redis" in second.stderr
    assert app.serving_release() == GOOD2
    assert app.containers()["redis"] == redis
    assert app.get("/")[1]["visits"] > visits  # the store kept its data


def test_a_release_that_cannot_boot_rolls_back_and_says_host_code_stays(
    app: ServiceTarget,
) -> None:
    redis = app.containers()["redis"]
    done = app.invoke("deploy", "--env", "staging", "--tag", CRASH)
    assert done.returncode == 1, done.stderr
    assert "web exited with code" in done.stderr
    assert "web: boot failed: missing settings module" in done.stderr  # its logs
    assert "rolled back to release 2 (healthy)" in done.stderr
    assert (
        "note: service web bind-mounts ./ from this host at /code: the rollback restored "
        "images, not those files"
    ) in done.stderr
    assert app.serving_release() == GOOD2
    assert app.containers()["redis"] == redis

    listing = app.invoke("releases", "--env", "staging")
    assert listing.returncode == 0, listing.stderr
    assert "2 (live)" in listing.stdout
    assert "note: web runs files bind-mounted from this host" in listing.stdout


def test_bind_mounted_code_is_refused_when_configured(app: ServiceTarget) -> None:
    pyproject = app.root / "pyproject.toml"
    text = pyproject.read_text()
    before = app.containers()
    refuse = text.replace('env-file = "test.env"', 'env-file = "test.env"\nbind-mounts = "refuse"')
    pyproject.write_text(refuse)
    try:
        done = app.invoke("deploy", "--env", "staging", "--tag", GOOD)
    finally:
        pyproject.write_text(text)
    assert done.returncode == 1, done.stderr
    assert "error: refusing to deploy: service web bind-mounts ./ from this host" in done.stderr
    assert "nothing was changed" in done.stderr
    assert app.containers() == before
    assert app.serving_release() == GOOD2
