"""HAProxy adapter: runtime API replies parsed, commands and configuration built.

The replies are HAProxy 2.6's own (captured from the demo's proxy); the real runtime API is
driven by tests/integration/test_deploy_blue_green.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from conveyor.errors import ToolFailedError
from conveyor.runner import Completed, Runner
from conveyor.tools.compose import Compose, ComposeTarget
from conveyor.tools.haproxy import (
    RUNTIME_SOCKET,
    HAProxy,
    ProxyRoute,
    ServerStat,
    parse_info_json,
    parse_servers_state,
    parse_stat_json,
    render_config,
    set_addr,
    set_fqdn,
    set_state,
)

SERVERS_STATE = """1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
4 live_app 1 blue 192.168.16.4 0 69 1 1 3 1 0 0 8 0 0 0 cvit-3ba970a9_app_1 8000 - 0 0 - - 0
4 live_app 2 green 192.168.16.5 2 68 1 1 3 1 0 0 8 0 0 0 cvit-3ba970a9_app_2 8000 - 0 0 - - 0
6 next_app 1 blue - 0 37 1 1 15 1 0 0 8 0 0 0 - 8000 - 0 0 - - 0

"""  # noqa: E501 - HAProxy's own header line


def field(kind: str, name: str, value: object, type_: str = "str") -> dict[str, Any]:
    """One typed field of `show stat json` / `show info json`, as HAProxy writes it."""
    return {
        "objType": kind,
        "proxyId": 4,
        "id": 1,
        "field": {"pos": 0, "name": name},
        "processNum": 1,
        "tags": {"origin": "Key", "nature": "Name", "scope": "Service"},
        "value": {"type": type_, "value": value},
    }


def server(backend: str, name: str, status: str, scur: int = 0, qcur: int = 0) -> list[Any]:
    return [
        field("Server", "pxname", backend),
        field("Server", "svname", name),
        field("Server", "qcur", qcur, "u32"),
        field("Server", "scur", scur, "u32"),
        field("Server", "status", status),
        field("Server", "addr", "192.168.16.5:8000"),
    ]


STAT_JSON = json.dumps(
    [
        [field("Frontend", "pxname", "live_app"), field("Frontend", "svname", "FRONTEND")],
        server("live_app", "blue", "DRAIN", scur=2),
        server("live_app", "green", "no check"),
        server("next_app", "blue", "MAINT (resolution)"),
        [field("Backend", "pxname", "live_app"), field("Backend", "svname", "BACKEND")],
    ]
)


def test_servers_state_is_read_by_its_header() -> None:
    rows = parse_servers_state(SERVERS_STATE)
    assert [(r.backend, r.server, r.fqdn, r.address) for r in rows] == [
        ("live_app", "blue", "cvit-3ba970a9_app_1", "192.168.16.4"),
        ("live_app", "green", "cvit-3ba970a9_app_2", "192.168.16.5"),
        ("next_app", "blue", "", ""),
    ]
    with pytest.raises(ToolFailedError, match="without its header"):
        parse_servers_state("Unknown command\n")


def test_stat_json_keeps_servers_with_their_load() -> None:
    stats = parse_stat_json(STAT_JSON)
    assert [(s.backend, s.server, s.status, s.sessions) for s in stats] == [
        ("live_app", "blue", "DRAIN", 2),
        ("live_app", "green", "no check", 0),
        ("next_app", "blue", "MAINT (resolution)", 0),
    ]
    assert [s.takes_traffic for s in stats] == [False, True, False]
    assert [s.busy for s in stats] == [True, False, False]
    assert ServerStat("b", "s", "UP", 0, 1, "").busy  # queued counts too
    with pytest.raises(ToolFailedError, match="did not answer JSON"):
        parse_stat_json("Permission denied.\n")


def test_info_json_gives_the_worker_pid() -> None:
    text = json.dumps([field("Info", "Name", "HAProxy"), field("Info", "Pid", 51, "u32")])
    assert parse_info_json(text)["Pid"] == 51
    with pytest.raises(ToolFailedError):
        parse_info_json("")


def test_commands_are_built_from_names_only() -> None:
    assert set_fqdn("live_app", "green", "demo_app_2") == (
        "set server live_app/green fqdn demo_app_2"
    )
    assert set_state("next_app", "blue", "maint") == "set server next_app/blue state maint"
    for bad in ("app;shutdown", "app app", "-x", ""):
        with pytest.raises(ToolFailedError, match="is not a valid name"):
            set_fqdn("live_app", "green", bad)


def test_the_configuration_parks_free_slots_and_follows_serving_containers() -> None:
    text = render_config(
        [ProxyRoute("app", 8000, 8080, 9080, {"green": "demo_app_2"})], "demo-staging"
    )
    assert "resolvers conveyor_docker\n    nameserver docker 127.0.0.11:53\n" in text
    live = text.split("\nbackend live_app\n")[1].split("\n\n")[0]
    assert (
        "    server blue 127.0.0.1:8000 resolvers conveyor_docker disabled\n"
        "    server green demo_app_2:8000 resolvers conveyor_docker init-addr last,libc,none"
    ) in live
    assert "retries 3" in live
    assert "frontend live_app\n    bind :8080\n    default_backend live_app" in text
    assert "frontend next_app\n    bind :9080\n    default_backend next_app" in text
    preview = text.split("\nbackend next_app\n")[1]
    assert preview.count("disabled") == 2  # the preview follows a candidate only at runtime
    with pytest.raises(ToolFailedError):
        render_config([ProxyRoute("app", 8000, 8080, 9080, {"blue": "x y"})], "demo")


class Replies(Runner):
    """Answers `docker exec ... socat` with canned runtime API replies, recording stdin."""

    def __init__(self, *replies: Completed) -> None:
        super().__init__()
        self.replies = list(replies)
        self.calls: list[tuple[tuple[str, ...], str | None]] = []

    def run(self, argv: Sequence[Any], **kwargs: Any) -> Completed:
        self.calls.append((tuple(str(a) for a in argv), kwargs.get("input_text")))
        return self.replies.pop(0)


def proxy_with(tmp_path: Path, *replies: Completed) -> tuple[HAProxy, Replies]:
    runner = Replies(*replies)
    target = ComposeTarget(files=(tmp_path / "c.yaml",), project="demo")
    compose = Compose(target, runner=runner, command=("docker-compose",))
    return HAProxy(compose, "abc123", label="proxy demo-proxy-1"), runner


def reply(stdout: str, code: int = 0, stderr: str = "") -> Completed:
    return Completed(("docker",), code, stdout, stderr)


def test_commands_go_in_one_line_on_stdin_and_refusals_are_errors(tmp_path: Path) -> None:
    ok = "live_app/green changed its FQDN from a to b by 'stats socket command'\n\n"
    proxy, runner = proxy_with(tmp_path, reply(ok), reply("\nNo such server.\n\n"))
    proxy.tell([set_fqdn("live_app", "green", "b"), set_state("live_app", "green", "ready")])
    argv, stdin = runner.calls[0]
    assert argv == ("docker", "exec", "-i", "abc123", "socat", "-t", "5", "stdio",
                    f"UNIX-CONNECT:{RUNTIME_SOCKET}")  # fmt: skip
    assert stdin == "set server live_app/green fqdn b; set server live_app/green state ready\n"
    with pytest.raises(ToolFailedError, match=r"HAProxy refused a command: No such server\."):
        proxy.tell([set_state("live_app", "nosuch", "ready")])


def test_an_unreachable_runtime_api_says_what_the_image_needs(tmp_path: Path) -> None:
    missing = reply("", 126, 'exec: "socat": executable file not found in $PATH')
    proxy, _ = proxy_with(tmp_path, missing, missing)
    with pytest.raises(ToolFailedError) as caught:
        proxy.servers()
    assert caught.value.message.startswith("proxy demo-proxy-1: the HAProxy runtime API did")
    assert "socat" in caught.value.hint
    assert "level admin" in caught.value.hint
    assert not proxy.answers()


def test_addresses_are_set_as_ip_addresses_only() -> None:
    assert set_addr("live_app", "green", "192.168.16.5", 8000) == (
        "set server live_app/green addr 192.168.16.5 port 8000"
    )
    assert set_addr("live_app", "green", "fd00::3", 8000).endswith("addr fd00::3 port 8000")
    with pytest.raises(ToolFailedError, match="is not an IP address"):
        set_addr("live_app", "green", "app; shutdown sessions", 8000)


def test_address_changes_are_accepted_replies(tmp_path: Path) -> None:
    changed = (
        "IP changed from '192.168.16.4' to '10.1.2.3', no need to change the port by "
        "'stats socket command'\n\n"
        "no need to change the addr, no need to change the port by 'stats socket command'\n\n"
        "IP changed from '10.1.2.3' to '10.1.2.4', port changed from '8000' to '8001' by "
        "'stats socket command'\n\n"
    )
    proxy, _ = proxy_with(tmp_path, reply(changed))
    proxy.tell([set_addr("next_app", "blue", "10.1.2.3", 8000)] * 3)


def state_with(address: str) -> Completed:
    header = SERVERS_STATE.splitlines()[1]
    row = f"4 live_app 1 blue {address} 2 0 1 1 3 1 0 0 8 0 0 0 demo_app_3 8000 - 0 0 - - 0"
    return reply(f"1\n{header}\n{row}\n\n")


def test_pointing_a_server_sets_its_name_and_address_at_once(tmp_path: Path) -> None:
    accepted = (
        "live_app/blue changed its FQDN from demo_app_1 to demo_app_3 by 'stats socket "
        "command'\n\nIP changed from '10.0.0.1' to '10.0.0.3', no need to change the port by "
        "'stats socket command'\n\n"
    )
    proxy, runner = proxy_with(tmp_path, reply(accepted), state_with("10.0.0.3"))
    proxy.point("live_app", "blue", "demo_app_3", "10.0.0.3", 8000, seconds=5)
    assert runner.calls[0][1] == (
        "set server live_app/blue fqdn demo_app_3; "
        "set server live_app/blue addr 10.0.0.3 port 8000\n"
    )
    assert runner.calls[1][1] == "show servers state\n"


def test_a_server_without_an_address_waits_for_its_resolver(tmp_path: Path) -> None:
    """HAProxy takes no address for a server whose old name stopped resolving (no address
    family left): the new name's DNS answer is what gives it one."""
    lost = (
        "live_app/blue changed its FQDN from demo_app_1 to demo_app_3 by 'stats socket "
        "command'\n\nUpdate for the current server address family is only supported through "
        "configuration file by 'stats socket command'\n\n"
    )
    proxy, runner = proxy_with(tmp_path, reply(lost), state_with("-"), state_with("10.0.0.3"))
    proxy.point("live_app", "blue", "demo_app_3", "10.0.0.3", 8000, seconds=5)
    assert len(runner.calls) == 3  # asked again until resolved
    elsewhere, _ = proxy_with(tmp_path, reply(lost), *[state_with("10.9.9.9")] * 100)
    with pytest.raises(ToolFailedError, match=r"live_app/blue does not reach demo_app_3"):
        elsewhere.point("live_app", "blue", "demo_app_3", "10.0.0.3", 8000, seconds=0.3)


def test_switching_waits_until_the_new_server_takes_traffic(tmp_path: Path) -> None:
    starting = json.dumps([server("live_app", "green", "MAINT (resolution)")])
    up = json.dumps([server("live_app", "green", "no check")])
    proxy, runner = proxy_with(tmp_path, reply(starting), reply(up))
    proxy.wait_taking_traffic([("live_app", "green")], 5)
    assert [stdin for _, stdin in runner.calls] == ["show stat -1 4 -1 json\n"] * 2
    never, _ = proxy_with(tmp_path, *[reply(starting)] * 100, reply("last lines"))
    with pytest.raises(ToolFailedError, match="live_app/green did not come up"):
        never.wait_taking_traffic([("live_app", "green")], 0.3)
