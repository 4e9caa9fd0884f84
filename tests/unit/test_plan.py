"""Fingerprints and plans: what a release changes, stable across Compose's ways of rendering."""

from __future__ import annotations

import yaml

from conveyor.deploy.plan import (
    FINGERPRINT_LABEL,
    ReleasePlan,
    compare,
    normalize,
    overlay,
    service_fingerprint,
)
from conveyor.tools.compose import ContainerState, load_config

# Compose v1 (`docker-compose config`) of shape 1, as deployed from /srv/a.
V1 = """networks:
  backend: {}
secrets:
  db_password:
    file: /srv/a/secrets/db_password.txt
services:
  backend:
    build:
      context: /srv/a/backend
      target: production
    depends_on:
      db:
        condition: service_healthy
    environment:
      DB_HOST: db
      WORKERS: 2
    image: demo-backend:good
    networks:
      backend: null
    ports:
    - 8000:8000/tcp
    secrets:
    - source: db_password
  db:
    healthcheck:
      interval: 1s
      test: [CMD, pg_isready]
    image: demo-db:good
    networks:
      backend: null
    volumes:
    - db-data:/var/lib/postgresql/data:rw
volumes:
  db-data: {}
version: '3.9'
"""

# The same, as v1 renders it with an overlay present and from another checkout (/home/b):
# `{}` where it said `null`, a string where it said an int, other absolute paths.
V1_ELSEWHERE = (
    V1.replace("/srv/a", "/home/b/checkout")
    .replace("backend: null", "backend: {}")
    .replace("WORKERS: 2", "WORKERS: '2'")
)

# Compose v2 (`docker compose config`) of the same service: long syntax everywhere.
V2 = """name: demo
services:
  backend:
    build:
      context: /srv/a/backend
      dockerfile: Dockerfile
      target: production
    depends_on:
      db:
        condition: service_healthy
        required: true
    environment:
      DB_HOST: db
      WORKERS: "2"
    image: demo-backend:good
    networks:
      backend: null
    ports:
      - mode: ingress
        target: 8000
        published: "8000"
        protocol: tcp
    secrets:
      - source: db_password
        target: /run/secrets/db_password
networks:
  backend:
    name: demo_backend
secrets:
  db_password:
    name: demo_db_password
    file: /srv/a/secrets/db_password.txt
"""


def fingerprint(
    text: str, service: str = "backend", image: str = "sha256:1", root: str = "/srv/a"
) -> str:
    return service_fingerprint(yaml.safe_load(text), service, image, root)


def container(service: str, image_id: str, fp: str, status: str = "running") -> ContainerState:
    return ContainerState(
        id=f"{service}-{fp}", name=service, service=service, status=status, exit_code=0,
        restart_count=0, image="x", image_id=image_id, labels={FINGERPRINT_LABEL: fp},
    )  # fmt: skip


def test_normalize_drops_empty_values_and_stringifies_scalars() -> None:
    assert normalize({"b": None, "a": {}, "c": [], "d": 2, "e": True, "f": [1, "x"]}) == {
        "d": "2",
        "e": "true",
        "f": ["1", "x"],
    }
    assert normalize("/srv/a/x:/code", "/srv/a") == "<project>/x:/code"
    assert normalize("/srv/ab/x", "/srv/a") == "/srv/ab/x"  # another directory


def test_the_same_release_has_the_same_fingerprint_however_v1_rendered_it() -> None:
    here = fingerprint(V1)
    assert fingerprint(V1_ELSEWHERE, root="/home/b/checkout") == here
    assert fingerprint(V1.replace("demo-backend:good", "sha256:1")) == here  # pinned by ID
    assert fingerprint(V1, "db") != here


def test_a_change_that_matters_changes_the_fingerprint() -> None:
    here = fingerprint(V1)
    assert fingerprint(V1, image="sha256:2") != here
    assert fingerprint(V1.replace("DB_HOST: db", "DB_HOST: db2")) != here
    assert fingerprint(V1.replace("8000:8000", "8001:8000")) != here
    moved = V1.replace("file: /srv/a/secrets/db_password.txt", "file: /srv/a/other.txt")
    assert fingerprint(moved) != here  # a secret it uses is defined elsewhere
    assert fingerprint(V1.replace("interval: 1s", "interval: 2s")) == here  # db's, not its own


def test_v2_output_is_fingerprinted_the_same_way() -> None:
    v2 = fingerprint(V2)
    assert fingerprint(V2.replace("/srv/a", "/home/b"), root="/home/b") == v2
    assert fingerprint(V2.replace('WORKERS: "2"', "WORKERS: 2")) == v2
    assert fingerprint(V2, image="sha256:2") != v2


def test_compare_touches_only_what_changed() -> None:
    config = load_config(V1)
    ids = {"backend": "sha256:b2", "db": "sha256:d1"}
    fps = {"backend": "fb2", "db": "fd1"}
    running = [
        container("db", "sha256:d1", "fd1"),
        container("backend", "sha256:b1", "fb1"),
        container("sidecar", "sha256:s", "fs"),
    ]
    found = compare(config.services, ids, fps, running)
    assert [(c.service, c.why) for c in found.changes] == [("backend", "new image")]
    assert found.changes[0].replaces == (running[1],)
    assert [c.service for c in found.removals] == ["sidecar"]
    assert found.unchanged == ("db",)
    assert found.leftovers == ()
    plan = ReleasePlan(
        config.services, {}, ids, fps, found.changes, found.removals, found.unchanged
    )
    assert plan.summary() == "backend (new image), remove sidecar; unchanged: db"


def test_why_a_service_changes() -> None:
    config = load_config(V1)
    ids = {"backend": "sha256:b", "db": "sha256:d"}
    fps = {"backend": "fb", "db": "fd"}
    running = [
        container("db", "sha256:d", "other"),
        container("backend", "sha256:b", "fb", "exited"),
    ]
    found = compare(config.services, ids, fps, running)
    assert {c.service: c.why for c in found.changes} == {
        "backend": "not running",
        "db": "configuration changed",
    }
    fresh = compare(config.services, ids, fps, [])
    assert [c.why for c in fresh.changes] == ["new", "new"]
    assert found.unchanged == ()
    empty = ReleasePlan(config.services, {}, ids, fps, (), (), ("backend", "db"))
    assert empty.summary() == "nothing changes; unchanged: backend, db"


def test_the_overlay_sets_images_and_fingerprint_labels() -> None:
    assert overlay({"db": "sha256:d", "app": "demo:1"}, {"db": "fd", "app": "fa"}) == {
        "services": {
            "app": {"image": "demo:1", "labels": {FINGERPRINT_LABEL: "fa"}},
            "db": {"image": "sha256:d", "labels": {FINGERPRINT_LABEL: "fd"}},
        }
    }


def test_a_rebuild_with_the_same_content_is_not_a_change() -> None:
    config = load_config(V1)
    fps = {"backend": "fb", "db": "fd"}
    # Rebuilt from a later commit: another image ID, the same fingerprint (same content).
    running = [container("db", "sha256:d-old", "fd"), container("backend", "sha256:b", "fb")]
    found = compare(config.services, {"backend": "sha256:b", "db": "sha256:d-new"}, fps, running)
    assert found.changes == ()
    assert found.unchanged == ("backend", "db")


def test_only_serving_containers_decide_and_the_others_are_leftovers() -> None:
    config = load_config(V1)
    ids = {"backend": "sha256:b2", "db": "sha256:d"}
    fps = {"backend": "fb2", "db": "fd"}
    live = container("backend", "sha256:b1", "fb1")
    stale_candidate = container("backend", "sha256:b2", "fb2")  # never went live
    db = container("db", "sha256:d", "fd")
    found = compare(config.services, ids, fps, [live, stale_candidate, db], [live, db])
    assert [(c.service, c.why, c.replaces) for c in found.changes] == [
        ("backend", "new image", (live,))
    ]
    assert found.leftovers == (stale_candidate,)
    # Rolling back to what serves: the candidate is a leftover, nothing changes.
    back = compare(
        config.services, {"backend": "sha256:b1", "db": "sha256:d"}, {"backend": "fb1", "db": "fd"},
        [live, stale_candidate, db], [live, db],
    )  # fmt: skip
    assert back.changes == ()
    assert back.leftovers == (stale_candidate,)
    plan = ReleasePlan(config.services, {}, ids, fps, (), (), back.unchanged, back.leftovers)
    assert plan.summary() == "remove leftover backend; unchanged: backend, db"
    # Nothing serves (the proxy routes to no container): the service must start again.
    unrouted = compare(config.services, ids, fps, [stale_candidate, db], [db])
    assert [(c.service, c.why) for c in unrouted.changes] == [("backend", "not serving")]
