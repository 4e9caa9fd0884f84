"""HAProxy adapter: the runtime API of a proxy container, the configuration Conveyor owns in
it, and its graceful reload.

Everything goes through the Docker engine, so it works the same through DOCKER_HOST or a
docker context and nothing needs publishing: the runtime API is reached with
`docker exec -i <proxy> socat stdio UNIX-CONNECT:<socket>` (one line of commands on stdin),
`conveyor.cfg` is written with `docker cp`, checked with `haproxy -c` inside the container,
and loaded by SIGUSR2 to the master process (PID 1 in master-worker mode), which starts new
workers on the same listening sockets while the old ones finish their requests. Replies are
parsed from `show stat json` and `show servers state` (a versioned format whose header line
names its columns), never from prose.

The image contract (the proxy image `conveyor init --docker` writes follows it): HAProxy 2.4
or newer runs as PID 1 in master-worker mode with `-f BASE_CONFIG -f CONFIG_DIR`; the base
configuration opens the runtime API at RUNTIME_SOCKET with `level admin`; `socat` is
installed; CONFIG_DIR is writable by `docker cp`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from conveyor.errors import ToolFailedError
from conveyor.runner import stderr_tail
from conveyor.tools.compose import Compose

BASE_CONFIG = "/etc/haproxy/haproxy.cfg"
CONFIG_DIR = "/var/lib/conveyor-proxy"
RUNTIME_SOCKET = f"{CONFIG_DIR}/admin.sock"
CONFIG_FILE = f"{CONFIG_DIR}/conveyor.cfg"
NEXT_FILE = f"{CONFIG_DIR}/conveyor.cfg.next"  # not *.cfg: `-f CONFIG_DIR` skips it
RESOLVERS = "conveyor_docker"
DOCKER_DNS = "127.0.0.11:53"
PARKED = "127.0.0.1"
"""The address a slot without a container has (it is disabled; nothing listens there)."""
SLOTS = ("blue", "green")
RELOAD_SECONDS = 10.0
POLL_SECONDS = 0.2
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
# What `set server ... fqdn|addr` answer on success (FDQN: HAProxy's spelling).
_ACCEPTED = re.compile(
    r"changed its FQDN from \S* to \S+|no need to change the FDQN|"
    r"IP changed from|no need to change the addr|port changed from|no need to change the port"
)
ServerAdmin = Literal["ready", "drain", "maint"]
ADDRESS_FAMILY_LOST = "only supported through configuration file"
"""HAProxy's refusal of `set server addr` for a server that has no address (family) left."""


@dataclass(frozen=True)
class ServerState:
    """One server of `show servers state`: which host name it follows and its address."""

    backend: str
    server: str
    fqdn: str
    address: str  # "" when it has none (never resolved)


@dataclass(frozen=True)
class ServerStat:
    """One server of `show stat json`: its status and the requests it holds now."""

    backend: str
    server: str
    status: str  # "no check" / "UP": takes traffic; "DRAIN"; "MAINT", "MAINT (resolution)"...
    sessions: int
    queued: int
    address: str

    @property
    def takes_traffic(self) -> bool:
        """True when the load balancer sends it new requests."""
        return not self.status.startswith(("MAINT", "DRAIN", "DOWN"))

    @property
    def busy(self) -> bool:
        """True while it still has requests in flight or waiting."""
        return self.sessions > 0 or self.queued > 0


@dataclass(frozen=True)
class ProxyRoute:
    """One service behind the proxy, as the configuration Conveyor writes describes it.

    `serving` maps the slots that take traffic to the container name they follow.
    """

    service: str
    port: int
    listen: int
    preview: int
    serving: Mapping[str, str]


def live_backend(service: str) -> str:
    """The backend (and frontend) that carries a service's traffic."""
    return f"live_{service}"


def preview_backend(service: str) -> str:
    """The backend (and frontend) that reaches a service's candidate colour only."""
    return f"next_{service}"


def checked_name(kind: str, value: str) -> str:
    """A backend, server or host name safe in a runtime API command line."""
    if not _NAME.fullmatch(value):
        raise ToolFailedError(f"haproxy: {kind} {value!r} is not a valid name")
    return value


def set_fqdn(backend: str, server: str, fqdn: str) -> str:
    """`set server B/S fqdn F`: the server follows host name F (resolved by RESOLVERS)."""
    return (
        f"set server {checked_name('backend', backend)}/{checked_name('server', server)} "
        f"fqdn {checked_name('host name', fqdn)}"
    )


def set_addr(backend: str, server: str, address: str, port: int) -> str:
    """`set server B/S addr A port P`: the server's address now, before any DNS answer."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ToolFailedError(f"haproxy: {address!r} is not an IP address") from None
    return (
        f"set server {checked_name('backend', backend)}/{checked_name('server', server)} "
        f"addr {ip} port {int(port)}"
    )


def set_state(backend: str, server: str, state: ServerAdmin) -> str:
    """`set server B/S state ready|drain|maint`."""
    return (
        f"set server {checked_name('backend', backend)}/{checked_name('server', server)} "
        f"state {state}"
    )


def parse_servers_state(text: str) -> list[ServerState]:
    """Rows of `show servers state` (version 1: a header line names the columns)."""
    lines = [line for line in text.splitlines() if line.strip()]
    header = next((line for line in lines if line.startswith("#")), None)
    if header is None:
        raise ToolFailedError("haproxy: `show servers state` answered without its header")
    columns = header.lstrip("#").split()
    rows: list[ServerState] = []
    for line in lines[lines.index(header) + 1 :]:
        values = dict(zip(columns, line.split()))
        address = values.get("srv_addr", "-")
        fqdn = values.get("srv_fqdn", "-")
        rows.append(
            ServerState(
                backend=values.get("be_name", ""),
                server=values.get("srv_name", ""),
                fqdn="" if fqdn == "-" else fqdn,
                address="" if address == "-" else address,
            )
        )
    return rows


def parse_stat_json(text: str) -> list[ServerStat]:
    """Servers of `show stat json` (one list of typed fields per proxy, server or frontend)."""
    try:
        objects = json.loads(text)
    except json.JSONDecodeError:
        raise ToolFailedError(
            "haproxy: `show stat json` did not answer JSON", hint=text[:300]
        ) from None
    servers: list[ServerStat] = []
    for fields in objects:
        values: dict[str, Any] = {
            f["field"]["name"]: (f.get("value") or {}).get("value") for f in fields
        }
        if not fields or fields[0].get("objType") != "Server":
            continue
        servers.append(
            ServerStat(
                backend=str(values.get("pxname", "")),
                server=str(values.get("svname", "")),
                status=str(values.get("status", "")),
                sessions=int(values.get("scur") or 0),
                queued=int(values.get("qcur") or 0),
                address=str(values.get("addr") or ""),
            )
        )
    return servers


def parse_info_json(text: str) -> dict[str, Any]:
    """`show info json`: field name -> value (Pid, Uptime_sec, ...)."""
    try:
        fields = json.loads(text)
    except json.JSONDecodeError:
        raise ToolFailedError(
            "haproxy: `show info json` did not answer JSON", hint=text[:300]
        ) from None
    return {f["field"]["name"]: (f.get("value") or {}).get("value") for f in fields}


def render_config(routes: Sequence[ProxyRoute], project: str) -> str:
    """The configuration Conveyor owns: for each service a live and a preview frontend and
    backend with one server slot per colour. A slot that serves follows its container's
    name (resolved by Docker's DNS, so a restart's new address is followed too); the others
    are parked and disabled. Connection failures are retried on another server."""
    lines = [
        f"# Written by Conveyor for the blue-green deploys of {checked_name('project', project)}.",
        "# Do not edit: every deploy rewrites it. Switches go through the runtime API.",
        f"resolvers {RESOLVERS}",
        f"    nameserver docker {DOCKER_DNS}",
        "    hold valid 1s",
        "    hold nx 1s",
        "    hold obsolete 5s",
        "    timeout resolve 1s",
        "    timeout retry 1s",
    ]
    for route in routes:
        service = checked_name("service", route.service)
        for name, port, serving in (
            (live_backend(service), route.listen, route.serving),
            (preview_backend(service), route.preview, {}),
        ):
            lines += ["", f"frontend {name}", f"    bind :{port}", f"    default_backend {name}"]
            lines += ["", f"backend {name}", "    retries 3", "    option redispatch 1"]
            for slot in SLOTS:
                lines.append(_server_line(slot, serving.get(slot), route.port))
    return "\n".join(lines) + "\n"


def _server_line(slot: str, container: str | None, port: int) -> str:
    if container is None:
        return f"    server {slot} {PARKED}:{port} resolvers {RESOLVERS} disabled"
    host = checked_name("host name", container)
    return f"    server {slot} {host}:{port} resolvers {RESOLVERS} init-addr last,libc,none"


class HAProxy:
    """The HAProxy in one running container."""

    def __init__(self, compose: Compose, container: str, *, label: str = "proxy") -> None:
        self.compose = compose
        self.container = container
        self.label = label

    def ask(self, command: str) -> str:
        """One runtime API command; its reply (ToolFailedError when the API cannot be reached)."""
        done = self.compose.run_docker(
            "exec", "-i", self.container, "socat", "-t", "5", "stdio",
            f"UNIX-CONNECT:{RUNTIME_SOCKET}",
            input_text=command + "\n", ok_codes=(0, 1, 126, 127), timeout=30,
        )  # fmt: skip
        if done.returncode != 0:
            raise ToolFailedError(
                f"{self.label}: the HAProxy runtime API did not answer ({RUNTIME_SOCKET})",
                hint=stderr_tail(done.stderr or done.stdout)
                + "\nthe proxy image needs socat and a `stats socket "
                + f"{RUNTIME_SOCKET} level admin` (see `conveyor init --docker`)",
            )
        return done.stdout

    def tell(self, commands: Sequence[str], *, tolerate: str = "") -> None:
        """Run `set` commands in order, in one connection; ToolFailedError on any refusal
        (but those containing `tolerate`)."""
        if not commands:
            return
        reply = self.ask("; ".join(commands))
        refused = [
            line.strip()
            for line in reply.splitlines()
            if line.strip() and not _ACCEPTED.search(line) and not (tolerate and tolerate in line)
        ]
        if refused:
            raise ToolFailedError(
                f"{self.label}: HAProxy refused a command: {refused[0]}",
                hint="commands: " + "; ".join(commands),
            )

    def point(
        self, backend: str, server: str, fqdn: str, address: str, port: int, *, seconds: float
    ) -> None:
        """Make a server follow the host name `fqdn` (so a restart's new address is followed
        too) and take `address` at once. A server whose last name stopped resolving has no
        address family left, and HAProxy takes no address for it: then its resolver's answer
        for `fqdn` is waited for. Returns once the server has the address."""
        self.tell(
            [set_fqdn(backend, server, fqdn), set_addr(backend, server, address, port)],
            tolerate=ADDRESS_FAMILY_LOST,
        )
        deadline = time.monotonic() + seconds
        while True:
            found = [s for s in self.servers() if (s.backend, s.server) == (backend, server)]
            if found and (found[0].fqdn, found[0].address) == (fqdn, address):
                return
            if time.monotonic() >= deadline:
                raise ToolFailedError(
                    f"{self.label}: {backend}/{server} does not reach {fqdn} ({address}) "
                    f"after {seconds:g}s",
                    hint="the proxy and the service must share a compose network",
                )
            time.sleep(POLL_SECONDS)

    def wait_taking_traffic(self, servers: Sequence[tuple[str, str]], seconds: float) -> None:
        """Until every (backend, server) takes traffic (UP, not in any maintenance)."""
        deadline = time.monotonic() + seconds
        wanted = set(servers)
        while True:
            up = {(s.backend, s.server) for s in self.stats() if s.takes_traffic}
            if wanted <= up:
                return
            if time.monotonic() >= deadline:
                missing = ", ".join(f"{b}/{s}" for b, s in sorted(wanted - up))
                raise ToolFailedError(
                    f"{self.label}: {missing} did not come up within {seconds:g}s",
                    hint=self._logs(),
                )
            time.sleep(POLL_SECONDS)

    def servers(self) -> list[ServerState]:
        return parse_servers_state(self.ask("show servers state"))

    def stats(self) -> list[ServerStat]:
        """Every server's status and load (`-1 4 -1`: all proxies, servers only)."""
        return parse_stat_json(self.ask("show stat -1 4 -1 json"))

    def answers(self) -> bool:
        """True when the runtime API answers (a proxy that is still starting does not)."""
        try:
            self.ask("show info")
        except ToolFailedError:
            return False
        return True

    def wait_until_answering(
        self, seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Poll the runtime API until it answers (a proxy just started needs a moment)."""
        deadline = clock() + seconds
        while not self.answers():
            if clock() >= deadline:
                raise ToolFailedError(
                    f"{self.label}: the HAProxy runtime API did not answer within {seconds:g}s",
                    hint=self._logs(),
                )
            time.sleep(POLL_SECONDS)

    def current_config(self) -> str | None:
        """The configuration Conveyor last wrote into this container (None: none yet)."""
        return self.compose.read_file(self.container, CONFIG_FILE)

    def worker_pid(self) -> int:
        """The PID of the worker answering the runtime API (a reload starts a new one)."""
        return int(parse_info_json(self.ask("show info json")).get("Pid") or 0)

    def load(self, text: str, backends: Sequence[str]) -> None:
        """Write, check and gracefully load a new `conveyor.cfg`; wait until a new worker
        runs `backends`.

        A configuration HAProxy rejects is never loaded, and a reload that fails (the master
        keeps the old workers) puts the previous file back: the running one keeps serving.
        """
        previous = self.current_config()
        worker = self.worker_pid()
        if not self.compose.put_file(self.container, NEXT_FILE, text):
            raise ToolFailedError(
                f"{self.label}: could not write {NEXT_FILE} into {self.container}"
            )
        check = self.compose.run_docker(
            "exec", self.container, "haproxy", "-c", "-q", "-f", BASE_CONFIG, "-f", NEXT_FILE,
            ok_codes=(0, 1, 2, 126, 127), timeout=60,
        )  # fmt: skip
        if check.returncode != 0:
            raise ToolFailedError(
                f"{self.label}: HAProxy rejected the new configuration; the running one stays",
                hint=stderr_tail(check.stderr + check.stdout),
            )
        if not self.compose.put_file(self.container, CONFIG_FILE, text):
            raise ToolFailedError(
                f"{self.label}: could not write {CONFIG_FILE} into {self.container}"
            )
        self.compose.run_docker("kill", "--signal", "USR2", self.container)
        try:
            self._wait_for_reload(worker, backends)
        except ToolFailedError:
            self.compose.put_file(self.container, CONFIG_FILE, previous or "")
            raise

    def _wait_for_reload(self, old_worker: int, backends: Sequence[str]) -> None:
        deadline = time.monotonic() + RELOAD_SECONDS
        wanted = set(backends)
        while True:
            try:
                reloaded = self.worker_pid() != old_worker
                loaded = {s.backend for s in self.servers()} if reloaded else set()
            except ToolFailedError:
                reloaded, loaded = False, set()  # the new worker may not have its socket yet
            if reloaded and wanted <= loaded:
                return
            if time.monotonic() >= deadline:
                raise ToolFailedError(
                    f"{self.label}: HAProxy did not reload within {RELOAD_SECONDS:g}s; "
                    "the previous configuration keeps serving",
                    hint=self._logs(),
                )
            time.sleep(POLL_SECONDS)

    def save_config(self, text: str) -> None:
        """Record the routing now in force (no reload: the runtime already matches it), so a
        restarted proxy comes back with it."""
        if not self.compose.put_file(self.container, CONFIG_FILE, text):
            raise ToolFailedError(
                f"{self.label}: could not write {CONFIG_FILE} into {self.container}"
            )

    def _logs(self) -> str:
        return "last log lines of the proxy:\n" + self.compose.container_logs(
            self.container, tail=15
        )
