"""The blue-green strategy: a changed web service starts beside the live one, behind HAProxy.

Each service behind the proxy (`[tool.conveyor.deploy.blue-green] services`) has two slots
in the proxy, blue and green. The live colour serves the proxy's `listen` port; a release
starts the other colour beside it (`compose up --scale S=2 --no-recreate`, the live
container untouched), and only the proxy's `preview` port reaches it: the health gate
watches it and the smoke tests go there. Once it passed, `promote` switches the live
backend through HAProxy's runtime API - the new colour ready, then the old one drained
(no new requests; in-flight ones finish), with no reload, so no client connection is
closed - waits until the old colour holds no request (at most `drain` seconds), and stops
it. A release that fails before that never received a request through `listen`, and the
rollback only removes it. A rollback to an older release is the same switch back.

Services not behind the proxy (stores, databases, the proxy itself) are recreated in place,
and only when their fingerprint changed. The routing the proxy carries is written to its
`conveyor.cfg` after each switch, so a restarted proxy comes back serving the same colour.
When a release starts a new colour (or the proxy itself changed) and that file lacks what
today's settings describe (services, ports), it is rewritten and gracefully reloaded first;
a reload HAProxy refuses fails the deploy before any candidate starts, and the rollback,
which starts nothing new, never needs one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from conveyor.config import BlueGreenSettings
from conveyor.deploy.health import Gate, HealthReport, Progress, wait_release
from conveyor.deploy.plan import COLOUR_LABEL, FINGERPRINT_LABEL, ReleasePlan, ServiceChange
from conveyor.deploy.prepare import PreparedRelease
from conveyor.deploy.strategies import Endpoint
from conveyor.errors import ConfigError, ToolFailedError
from conveyor.tools.compose import ANY_ADDRESS, Compose, ContainerState, ServiceSpec
from conveyor.tools.haproxy import (
    SLOTS,
    HAProxy,
    ProxyRoute,
    ServerStat,
    live_backend,
    preview_backend,
    render_config,
    set_state,
)

SETTINGS = "[tool.conveyor.deploy.blue-green]"
PROXY_START_SECONDS = 30.0
POLL_SECONDS = 0.2
RESOLVE_SECONDS = 15.0
UP_SECONDS = 10.0
STOP_GRACE_SECONDS = 10


def other_colour(serving: Iterable[str]) -> str:
    """The slot a new release takes: the first one not serving now."""
    taken = set(serving)
    free = [slot for slot in SLOTS if slot not in taken]
    if not free:
        raise ToolFailedError(
            "both colours take traffic (a switch was interrupted): no slot is free",
            hint="deploy again once `inv releases` shows one colour live, or set one slot to "
            "maint through the proxy's runtime API",
        )
    return free[0]


def routes_from(
    services: Mapping[str, str], stats: Sequence[ServerStat], fqdns: Mapping[tuple[str, str], str]
) -> dict[str, dict[str, str]]:
    """Service -> {slot: container} of the slots of its live backend that take traffic.

    `services` maps each proxied service to its live backend's name; `fqdns` is
    (backend, slot) -> the host name the slot follows.
    """
    routes: dict[str, dict[str, str]] = {}
    for service, backend in services.items():
        serving = {
            s.server: fqdns.get((backend, s.server), "")
            for s in stats
            if s.backend == backend and s.takes_traffic
        }
        routes[service] = {slot: name for slot, name in serving.items() if name}
    return routes


def drained(stats: Sequence[ServerStat], slots: Iterable[tuple[str, str]]) -> bool:
    """True when none of the (backend, slot) pairs holds a request any more."""
    wanted = set(slots)
    return not any(s.busy for s in stats if (s.backend, s.server) in wanted)


def shared_address(container: ContainerState, proxy: ContainerState) -> str:
    """The container's address on a network the proxy is on too."""
    for network, address in sorted(container.networks.items()):
        if network in proxy.networks:
            return address
    raise ToolFailedError(
        f"{container.name} shares no network with the proxy {proxy.name}",
        hint="put the service and the proxy on a common compose network",
    )


@dataclass(frozen=True)
class Candidate:
    """The new colour of one service: its container, its address as the proxy reaches it,
    and the serving containers it replaces."""

    service: str
    colour: str
    container: ContainerState
    address: str
    replaces: tuple[ContainerState, ...]


class BlueGreen:
    """Start changed proxied services as a second colour; switch the proxy once they pass."""

    name = "blue-green"

    def __init__(
        self,
        compose: Compose,
        settings: BlueGreenSettings,
        *,
        say: Callable[[str], None] = lambda line: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.compose = compose
        self.settings = settings
        self.say = say
        self.clock = clock

    # -- checks ---------------------------------------------------------------------------

    def preflight(self, release: PreparedRelease) -> list[str]:
        """The layout blue-green needs, checked on the rendered compose configuration."""
        specs = release.config.services
        services = self.settings.services
        if not services:
            raise ConfigError(
                f"{SETTINGS} names no service behind the proxy",
                hint=f"add e.g. {SETTINGS[:-1]}.services.app] port = 8000 (the port app listens "
                'on), or choose strategy = "in-place" for this environment',
            )
        proxy = self.settings.proxy
        if proxy not in specs:
            raise ConfigError(
                f"{SETTINGS} proxy = {proxy!r}: the compose files define no such service",
                hint="add the HAProxy service (`conveyor init --docker` writes one) or set proxy "
                "to its name; services: " + ", ".join(sorted(specs)),
            )
        documents = release.config.document.get("services") or {}
        for name, service in services.items():
            if name == proxy or name not in specs:
                why = "is the proxy itself" if name == proxy else "is not a compose service"
                raise ConfigError(f"{SETTINGS} services.{name} {why}", hint="services: "
                                  + ", ".join(sorted(s for s in specs if s != proxy)))  # fmt: skip
            _check_proxied(specs[name], documents.get(name) or {})
            published = set(specs[proxy].published_targets)
            for kind, port in (("listen", service.listen), ("preview", service.preview)):
                if port not in published:
                    raise ConfigError(
                        f"{SETTINGS} services.{name}.{kind} = {port}: the proxy service "
                        f"{proxy} does not publish port {port}",
                        hint=f'add it to {proxy}\'s ports, e.g. "127.0.0.1::{port}" for the '
                        'preview (a free host port) or "8080:8080" for live traffic',
                    )
        return []

    # -- what serves ------------------------------------------------------------------------

    def serving(self, containers: Sequence[ContainerState]) -> list[ContainerState]:
        """Containers of services not behind the proxy, and the colours the proxy routes to."""
        proxy = self._proxy_container(containers)
        routes = self._routes(HAProxy(self.compose, proxy.id)) if proxy is not None else {}
        names = {name for slots in routes.values() for name in slots.values()}
        return [c for c in containers if c.service not in self.settings.services or c.name in names]

    # -- apply: stores in place, candidates beside the live colours --------------------------

    def apply(self, release: PreparedRelease, plan: ReleasePlan, *, timeout: float) -> None:
        compose = release.compose
        proxied = self.settings.services
        compose.stop_and_remove([c.id for c in (*plan.removals, *plan.leftovers)])
        in_place = [name for name in plan.changed if name not in proxied]
        if any(c.service == self.settings.proxy and c.replaces for c in plan.changes):
            self.say(f"{self.settings.proxy} (the proxy) is recreated in place: its ports close "
                     "while it restarts")  # fmt: skip
        if in_place:
            compose.up(in_place, timeout=timeout, no_deps=True)
        starting = [change for change in plan.changes if change.service in proxied]
        if not starting and self.settings.proxy not in plan.changed:
            return  # the proxy keeps what it has: a rollback never depends on reloading it
        proxy, proxy_container = self._proxy(self.compose.containers())
        proxy.wait_until_answering(PROXY_START_SECONDS)  # it may have just been (re)created
        routes = self._routes(proxy)
        self._configure(proxy, routes)
        for change in starting:
            serving = routes.get(change.service, {})
            candidate = self._start(release, change, serving, proxy_container, timeout)
            self._preview(proxy, candidate)

    def _start(
        self,
        release: PreparedRelease,
        change: ServiceChange,
        serving: Mapping[str, str],
        proxy: ContainerState,
        timeout: float,
    ) -> Candidate:
        service = change.service
        colour = other_colour(serving)
        body = {"services": {service: {"labels": {COLOUR_LABEL: colour}}}}
        coloured = release.with_overlay(f"colour-{service}.json", body)
        self.say(f"{service}: starting {colour} beside the live colour "
                 f"({', '.join(serving) or 'none yet'})")  # fmt: skip
        scale = {service: len(change.replaces) + 1}
        coloured.up([service], timeout=timeout, no_deps=True, no_recreate=True, scale=scale)
        replaced = {c.id for c in change.replaces}
        fingerprint = release.fingerprints[service]
        started = [
            c
            for c in self.compose.containers()
            if c.service == service
            and c.id not in replaced
            and c.labels.get(FINGERPRINT_LABEL) == fingerprint
        ]
        if not started:
            raise ToolFailedError(f"compose up started no new container of {service}")
        newest = max(started, key=lambda c: c.started_at)
        return Candidate(service, colour, newest, shared_address(newest, proxy), change.replaces)

    def _preview(self, proxy: HAProxy, candidate: Candidate) -> None:
        """Point the service's preview backend at the candidate (and at nothing else)."""
        backend = preview_backend(candidate.service)
        others = [set_state(backend, slot, "maint") for slot in SLOTS if slot != candidate.colour]
        proxy.tell(others)
        self._point(proxy, backend, candidate.colour, candidate)
        proxy.tell([set_state(backend, candidate.colour, "ready")])

    def _point(self, proxy: HAProxy, backend: str, slot: str, candidate: Candidate) -> None:
        """The slot follows the candidate's container (its name, and its address now)."""
        port = self.settings.services[candidate.service].port
        name = candidate.container.name
        proxy.point(backend, slot, name, candidate.address, port, seconds=RESOLVE_SECONDS)

    # -- health and smoke -----------------------------------------------------------------

    def wait(
        self,
        release: PreparedRelease,
        *,
        gate: Gate,
        baseline: Mapping[str, int],
        progress: Progress | None = None,
    ) -> HealthReport:
        return wait_release(self.compose, release, gate=gate, baseline=baseline, progress=progress)

    def smoke_endpoint(
        self, release: PreparedRelease, plan: ReleasePlan, services: Sequence[str]
    ) -> Endpoint | None:
        """The preview port of the service under test, when it has a new colour; else the
        public port (a release that changed only a store is tested where it is live)."""
        proxied = self.settings.services
        changed = [s for s in plan.changed if s in proxied]
        named = [s for s in services if s in proxied]
        service = named[0] if named else (changed[0] if changed else None)
        if service is None or service not in changed:
            return None
        proxy = self._proxy_container(self.compose.containers())
        port = proxied[service].preview
        binding = proxy.host_binding(port) if proxy is not None else None
        if binding is None:
            raise ToolFailedError(
                f"the proxy does not publish {service}'s preview port {port}",
                hint=f"publish it on the proxy service ({self.settings.proxy}), e.g. "
                f'"127.0.0.1::{port}"',
            )
        host = None if binding.host_ip in ANY_ADDRESS else binding.host_ip
        return host, binding.host_port

    # -- promote: the switch, the drain, the stop -----------------------------------------

    def promote(self, release: PreparedRelease, plan: ReleasePlan) -> list[str]:
        if not any(change.service in self.settings.services for change in plan.changes):
            return []
        running = self.compose.containers()
        proxy, proxy_container = self._proxy(running)
        routes = self._routes(proxy)
        candidates = self._candidates(release, plan, routes, running, proxy_container)
        for candidate in candidates:
            self._point(proxy, live_backend(candidate.service), candidate.colour, candidate)
        retiring = [
            (live_backend(c.service), slot)
            for c in candidates
            for slot in routes.get(c.service, {})
            if slot != c.colour
        ]
        self._switch(proxy, candidates, retiring)
        for c in candidates:
            routes[c.service] = {c.colour: c.container.name}
            was = ", ".join(s for b, s in retiring if b == live_backend(c.service)) or "nothing"
            self.say(f"{c.service}: {c.colour} takes the traffic now; draining {was}")
        notes = self._save(proxy, routes)
        notes += self._retire(proxy, retiring, candidates)
        return notes

    def _candidates(
        self,
        release: PreparedRelease,
        plan: ReleasePlan,
        routes: Mapping[str, Mapping[str, str]],
        running: Sequence[ContainerState],
        proxy: ContainerState,
    ) -> list[Candidate]:
        found: list[Candidate] = []
        for change in plan.changes:
            if change.service not in self.settings.services:
                continue
            live = set(routes.get(change.service, {}).values())
            fingerprint = release.fingerprints[change.service]
            new = [
                c
                for c in running
                if c.service == change.service
                and c.name not in live
                and c.status == "running"
                and c.labels.get(FINGERPRINT_LABEL) == fingerprint
                and c.labels.get(COLOUR_LABEL) in SLOTS
            ]
            if not new:
                raise ToolFailedError(f"{change.service}: its new colour is not running any more")
            container = max(new, key=lambda c: c.started_at)
            replaced = tuple(c for c in running if c.name in live and c.service == change.service)
            colour = container.labels[COLOUR_LABEL]
            address = shared_address(container, proxy)
            found.append(Candidate(change.service, colour, container, address, replaced))
        return found

    def _switch(
        self, proxy: HAProxy, candidates: Sequence[Candidate], retiring: Sequence[tuple[str, str]]
    ) -> None:
        """New colours ready and seen taking traffic, only then the old ones draining: at no
        moment is a backend without a server taking requests. Undone if any step fails."""
        ready = [(live_backend(c.service), c.colour) for c in candidates]
        try:
            proxy.tell([set_state(backend, slot, "ready") for backend, slot in ready])
            proxy.wait_taking_traffic(ready, UP_SECONDS)
            commands = [set_state(backend, slot, "drain") for backend, slot in retiring]
            commands += [
                set_state(preview_backend(c.service), c.colour, "maint") for c in candidates
            ]
            proxy.tell(commands)
        except ToolFailedError:
            undo = [set_state(backend, slot, "ready") for backend, slot in retiring]
            undo += [set_state(backend, slot, "maint") for backend, slot in ready]
            proxy.tell(undo)
            raise

    def _retire(
        self,
        proxy: HAProxy,
        retiring: Sequence[tuple[str, str]],
        candidates: Sequence[Candidate],
    ) -> list[str]:
        """Wait until the old colours hold no request (at most `drain` s), then stop them.

        The new colours are live by now: what fails here is a note, not a rollback. A
        retired slot is left following the live container (in maintenance), so the next
        release finds it with an address it can change at once.
        """
        containers = [r for c in candidates for r in c.replaces]
        notes: list[str] = []
        deadline = self.clock() + self.settings.drain
        stats = proxy.stats()
        while not drained(stats, retiring) and self.clock() < deadline:
            time.sleep(POLL_SECONDS)
            stats = proxy.stats()
        if not drained(stats, retiring):
            busy = [
                f"{s.backend}/{s.server}"
                for s in stats
                if (s.backend, s.server) in set(retiring) and s.busy
            ]
            notes.append(
                f"{', '.join(busy)} still had requests after drain = "
                f"{self.settings.drain:g}s; they were cut short (raise drain)"
            )
        try:
            proxy.tell([set_state(backend, slot, "maint") for backend, slot in retiring])
            self.compose.stop_and_remove([c.id for c in containers], grace=STOP_GRACE_SECONDS)
            for candidate in candidates:
                backend = live_backend(candidate.service)
                for slot in (s for b, s in retiring if b == backend):
                    self._point(proxy, backend, slot, candidate)
        except ToolFailedError as exc:
            names = ", ".join(c.name for c in containers)
            notes.append(f"the old colour ({names}) takes no traffic but was not stopped: "
                         f"{exc.message}; remove it with `docker rm -f {names}`")  # fmt: skip
        return notes

    # -- the proxy ------------------------------------------------------------------------

    def _proxy_container(self, containers: Sequence[ContainerState]) -> ContainerState | None:
        running = [
            c for c in containers if c.service == self.settings.proxy and c.status == "running"
        ]
        return max(running, key=lambda c: c.started_at) if running else None

    def _proxy(self, containers: Sequence[ContainerState]) -> tuple[HAProxy, ContainerState]:
        """The running proxy's runtime API, and its container."""
        container = self._proxy_container(containers)
        if container is None:
            raise ToolFailedError(
                f"the proxy service {self.settings.proxy} is not running",
                hint=f"its logs: `inv logs --service {self.settings.proxy}`",
            )
        return HAProxy(self.compose, container.id, label=f"proxy {container.name}"), container

    def _routes(self, proxy: HAProxy) -> dict[str, dict[str, str]]:
        backends = {name: live_backend(name) for name in self.settings.services}
        fqdns = {(s.backend, s.server): s.fqdn for s in proxy.servers()}
        return routes_from(backends, proxy.stats(), fqdns)

    def _config(self, routes: Mapping[str, Mapping[str, str]]) -> str:
        return render_config(
            [
                ProxyRoute(name, s.port, s.listen, s.preview, dict(routes.get(name, {})))
                for name, s in sorted(self.settings.services.items())
            ],
            self.compose.target.project,
        )

    def _configure(self, proxy: HAProxy, routes: Mapping[str, Mapping[str, str]]) -> None:
        """Give the proxy today's services and ports, keeping the colours it serves; a
        graceful reload only when that changes what it has."""
        wanted = self._config(routes)
        if proxy.current_config() == wanted:
            return
        self.say("loading the proxy's configuration (graceful reload)")
        backends = [b for name in self.settings.services
                    for b in (live_backend(name), preview_backend(name))]  # fmt: skip
        proxy.load(wanted, backends)

    def _save(self, proxy: HAProxy, routes: Mapping[str, Mapping[str, str]]) -> list[str]:
        try:
            proxy.save_config(self._config(routes))
        except ToolFailedError as exc:
            return [f"the proxy serves the new colours, but its configuration file was not "
                    f"updated ({exc.message}): a restarted proxy would route to the old ones "
                    "until the next deploy"]  # fmt: skip
        return []


def _check_proxied(spec: ServiceSpec, document: Mapping[str, object]) -> None:
    """A service behind the proxy runs two containers at once during a switch."""
    if spec.ports:
        port = spec.ports[0]
        raise ConfigError(
            f"{SETTINGS} services.{spec.name}: the service publishes host port "
            f"{port.published}, which its two colours cannot share",
            hint=f"remove `ports` from {spec.name} (the proxy publishes it) and use `expose` "
            "if you need one",
        )
    if document.get("container_name"):
        raise ConfigError(
            f"{SETTINGS} services.{spec.name}: `container_name` allows one container only",
            hint=f"remove container_name from {spec.name}: two colours run during a switch",
        )
