"""Release ledger records: labels round trip, unreadable records, live-release matching."""

from __future__ import annotations

import json

import msgspec
import pytest

from conveyor.deploy.ledger import (
    PROJECT_LABEL,
    RECORD_LABEL,
    ComposeFile,
    Release,
    ReleaseSource,
    ServiceImage,
    colours,
    deployer,
    live_release,
    parse_record,
    record_labels,
    running_images,
)
from conveyor.deploy.plan import COLOUR_LABEL
from conveyor.errors import ConfigError
from conveyor.tools.compose import ContainerState, EngineRecord

V1 = {"app": ServiceImage(image="demo:1", image_id="sha256:1")}
V2 = {"app": ServiceImage(image="demo:2", image_id="sha256:2")}
FILES = [ComposeFile(path="docker/compose.yaml", text="services:\n  app:\n    image: ${IMG}\n")]


def release(
    release_id: int, services: dict[str, ServiceImage], outcome: str = "deployed"
) -> Release:
    return msgspec.convert(
        {
            "id": release_id, "env": "staging", "project": "demo", "services": services,
            "created_at": "2026-01-01T00:00:00+00:00", "by": "me@host", "outcome": outcome,
        },
        Release,
    )  # fmt: skip


def container(
    service: str, status: str, image: str, image_id: str, name: str = ""
) -> ContainerState:
    return ContainerState(
        id=name or service, name=name or service, service=service, status=status,
        exit_code=0, restart_count=0, image=image, image_id=image_id,
    )  # fmt: skip


def test_a_record_round_trips_through_volume_labels() -> None:
    original = msgspec.structs.replace(
        release(4, V1),
        compose_files=FILES,
        git_sha="abc",
        env_files=["docker/staging.env", "app.env"],
        variables={"APP_TAG": "1.2"},
        restored_from=2,
    )
    labels = record_labels(original)
    assert labels[PROJECT_LABEL] == "demo"
    assert labels["io.conveyor.ledger.release"] == "4"
    assert "\n" not in labels[RECORD_LABEL]  # one line: a safe `--label key=value` argument
    back = parse_record(EngineRecord(name="conveyor-release-demo-000004", id="", labels=labels))
    assert back == original
    assert back.compose_files[0].text.endswith("image: ${IMG}\n")  # as written
    assert ReleaseSource.of(back).env_files == ("docker/staging.env", "app.env")


def test_a_record_of_an_older_version_loads_without_its_rendered_config() -> None:
    old = msgspec.to_builtins(release(1, V1)) | {
        "config": "services: {app: {environment: {PW: x}}}"
    }
    labels = {RECORD_LABEL: json.dumps(old)}
    back = parse_record(EngineRecord(name="v", id="", labels=labels))
    assert back.compose_files == []
    assert "config" not in msgspec.structs.asdict(back)


# A record as the pydantic-based versions wrote it (volume labels and swarm configs hold these).
WRITTEN_BEFORE = (
    '{"id":7,"env":"staging","project":"démo","services":{"app":{"image":"demo:1",'
    '"image_id":"sha256:1"}},"git_sha":null,"created_at":"2026-01-01T00:00:00+00:00",'
    '"by":"me@host","outcome":"rolled-back","note":"tab\\t \\"quoted\\" é ✓",'
    '"compose_files":[{"path":"c.yaml","text":"services:\\n  app: {image: ${IMG}}\\n"}],'
    '"env_files":["a.env"],"variables":{"TAG":"1"},"restored_from":3,"colours":{"app":"blue"}}'
)


def test_a_record_written_by_earlier_versions_loads_and_is_written_the_same_way() -> None:
    back = parse_record(EngineRecord(name="v", id="", labels={RECORD_LABEL: WRITTEN_BEFORE}))
    assert (back.id, back.project, back.git_sha, back.outcome) == (7, "démo", None, "rolled-back")
    assert back.note == 'tab\t "quoted" é ✓'
    assert back.compose_files == [
        ComposeFile(path="c.yaml", text="services:\n  app: {image: ${IMG}}\n")
    ]
    assert (back.restored_from, back.colours) == (3, {"app": "blue"})
    assert record_labels(back)[RECORD_LABEL] == WRITTEN_BEFORE


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ('{"id": "7"}', "(Expected `int`, got `str` - at `$.id`)"),
        (WRITTEN_BEFORE.replace('"rolled-back"', '"gone"'), "(Invalid enum value 'gone' - at"),
    ],
)
def test_a_record_of_the_wrong_shape_names_its_volume_and_the_key(
    record: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_record(EngineRecord(name="v", id="", labels={RECORD_LABEL: record}))
    assert info.value.message.startswith("volume v: unreadable release record (")
    assert problem in info.value.message


def test_a_large_record_is_stored_gzipped_and_read_back() -> None:
    big = "services:\n" + "".join(f"  s{i}:\n    image: demo:{i}\n" for i in range(5000))
    original = msgspec.structs.replace(
        release(5, V1), compose_files=[ComposeFile(path="c.yaml", text=big)]
    )
    labels = record_labels(original)
    assert len(labels[RECORD_LABEL]) < len(big) / 4
    assert labels[RECORD_LABEL].startswith("gzip+base64:")
    assert parse_record(EngineRecord(name="v", id="", labels=labels)) == original
    mangled = labels[RECORD_LABEL].replace("gzip+base64:", "gzip+base64:!")
    with pytest.raises(ConfigError, match="volume v: unreadable release record"):
        parse_record(EngineRecord(name="v", id="", labels={RECORD_LABEL: mangled}))


def test_an_unreadable_record_names_its_volume() -> None:
    broken = EngineRecord(name="conveyor-release-demo-000002", id="", labels={RECORD_LABEL: "{"})
    with pytest.raises(ConfigError, match="volume conveyor-release-demo-000002: unreadable"):
        parse_record(broken)


def test_live_release_is_the_newest_good_one_with_the_running_images() -> None:
    history = [release(1, V1), release(2, V2, "failed"), release(3, V1, "rolled-back")]
    assert live_release(history, V1) == history[2]
    assert live_release(history, V2) is None  # a failed release is never "live"
    assert live_release([], V1) is None


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


def test_colours_are_read_from_the_serving_containers_labels() -> None:
    blue = container("app", "running", "demo:1", "sha256:1", name="d_app_1")
    coloured = ContainerState(**{**blue.__dict__, "labels": {COLOUR_LABEL: "blue"}})
    store = container("store", "running", "base", "sha256:9")
    assert colours([coloured, store]) == {"app": "blue"}
    assert colours([store]) == {}
