"""Release ledger: ids, live-release matching, atomic rewrite, unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.deploy.ledger import Ledger, ServiceImage, deployer, running_images
from conveyor.errors import ConfigError
from conveyor.tools.compose import ContainerState

V1 = {"app": ServiceImage(image="demo:1", image_id="sha256:1")}
V2 = {"app": ServiceImage(image="demo:2", image_id="sha256:2")}


def container(
    service: str, status: str, image: str, image_id: str, name: str = ""
) -> ContainerState:
    return ContainerState(
        id=name or service, name=name or service, service=service, status=status,
        exit_code=0, restart_count=0, image=image, image_id=image_id,
    )  # fmt: skip


def test_records_survive_a_new_ledger_object(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "s", env="staging", project="demo")
    first = ledger.record(V1, outcome="deployed", git_sha="abc", note="")
    second = ledger.record(V2, outcome="failed", git_sha=None, note="unhealthy")
    again = Ledger(tmp_path / "s", env="staging", project="demo")
    assert [r.id for r in again.releases()] == [first.id, second.id] == [1, 2]
    assert again.get(2).note == "unhealthy"
    assert again.releases()[0].by == deployer()
    assert not list((tmp_path / "s").glob("*.tmp"))


def test_live_release_is_the_newest_good_one_with_the_running_images(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, env="staging", project="demo")
    ledger.record(V1, outcome="deployed", git_sha=None)
    ledger.record(V2, outcome="failed", git_sha=None)
    newest_v1 = ledger.record(V1, outcome="rolled-back", git_sha=None)
    assert ledger.live(V1) == newest_v1
    assert ledger.live(V2) is None  # a failed release is never "live"


def test_unknown_release_and_corrupt_file(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path, env="staging", project="demo")
    with pytest.raises(ConfigError, match="release 7 is not in the ledger of staging"):
        ledger.get(7)
    ledger.path.write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable release ledger"):
        ledger.releases()


def test_running_images_prefers_running_containers() -> None:
    live = running_images(
        [
            container("app", "exited", "demo:0", "sha256:0", name="a_old"),
            container("app", "running", "demo:1", "sha256:1", name="b_new"),
            container("store", "created", "base", "sha256:9"),
        ]
    )
    assert live["app"] == V1["app"]
    assert live["store"].image == "base"


def test_deployer_names_the_ci_actor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert deployer().startswith("octocat@")
