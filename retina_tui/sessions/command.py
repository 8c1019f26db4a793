"""Command mode: commands exec'd into one debug container per pod, non-tty and binary-safe.

Probes and captures are commands, not shells. A pod gets one command-mode ephemeral
container (an idle keeper under the detach watchdog, see `watchdog`), and every later
command with the same image, security context and target re-uses it while it runs:
ephemeral containers cannot be removed, so adding one per command would pile them up.
The container ends by itself once no command has touched its heartbeat for the detach
limit. A node gets a command-mode node pod, deleted when the host is closed.
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from retina_tui.errors import RetinaTuiError, SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions import profiles, protocol
from retina_tui.sessions.node import NodeSession
from retina_tui.sessions.pod import PodSession, PodShell, get_pod, pod_shells
from retina_tui.sessions.session import Session, cancel_and_wait
from retina_tui.sessions.specs import NodeSessionSpec, Phase, PodSessionSpec
from retina_tui.sessions.stream import AttachStream, Ended, Output, open_exec
from retina_tui.sessions.watchdog import exec_argv, keep_alive, watchdog_limit

STDIN_CHUNK = 64 * 1024


@dataclass(eq=False)
class CommandHost:
    """A running debug container that commands are exec'd into."""

    client: KubeClient
    namespace: str
    pod: str
    container: str
    title: str
    watchdog_seconds: int = 0
    """The detach limit of a pod's command-mode container (0: none, a node pod)."""
    session: Session | None = None
    _heartbeat: asyncio.Task[None] | None = field(default=None, repr=False)

    def start_heartbeat(self) -> None:
        if self.watchdog_seconds > 0 and self._heartbeat is None:
            beat = keep_alive(
                self.client, self.namespace, self.pod, self.container, self.watchdog_seconds
            )
            self._heartbeat = asyncio.create_task(
                beat, name=f"heartbeat {self.namespace}/{self.pod}/{self.container}"
            )

    async def exec(self, argv: list[str], *, stdin: bool, tty: bool = False) -> Command:
        """Start `argv` in the container."""
        stream = await open_exec(
            self.client,
            self.namespace,
            self.pod,
            self.container,
            exec_argv(self.container, argv, watched=self.watchdog_seconds > 0),
            stdin=stdin,
            tty=tty,
        )
        return Command(self, stream, " ".join(argv))

    async def close(self) -> None:
        """Stop the heartbeat; delete a node pod (a pod's container is kept for re-use)."""
        task, self._heartbeat = self._heartbeat, None
        try:
            if task is not None:
                await cancel_and_wait(task)
        finally:
            if self.session is not None:
                await self.session.release(keep=self.session.ephemeral)


class Command:
    """One exec'd command: stdin in, stdout/stderr out apart, the exit code at the end."""

    def __init__(self, host: CommandHost, stream: AttachStream, shown: str) -> None:
        self.host = host
        self.shown = shown
        self._stream = stream
        self._status: protocol.ExitStatus | None = None

    async def write(self, data: bytes) -> bool:
        """Send stdin bytes; False when the command no longer reads them."""
        view = memoryview(data)
        for start in range(0, len(view), STDIN_CHUNK):
            if not await self._stream.send_stdin(bytes(view[start : start + STDIN_CHUNK])):
                return False
        return True

    async def close_stdin(self) -> None:
        """End of input: the command reads end-of-file."""
        await self._stream.close_stdin()

    async def resize(self, cols: int, rows: int) -> None:
        await self._stream.send_resize(cols, rows)

    async def output(self) -> AsyncIterator[Output]:
        """stdout and stderr chunks (`.channel` says which) until the command ends."""
        async for event in self._stream.events():
            if isinstance(event, Ended):
                self._status = event.status
                return
            yield event

    def exit_code(self) -> int:
        """The remote exit code; SessionError when the command ended without one."""
        where = f"{self.host.title} ({self.host.container})"
        if self._status is None:
            raise SessionError(
                f"The connection to {where} dropped while `{self.shown}` ran, so its exit "
                "code is unknown; check the connection to the cluster and run it again."
            )
        if self._status.code is None:
            raise SessionError(
                f"`{self.shown}` could not run in {where}: "
                f"{self._status.message or self._status.reason}."
            )
        return self._status.code

    async def close(self) -> None:
        """Close the stream: a command still running loses its stdin (and its terminal)."""
        await self._stream.close()


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


async def _settled_profile(client: KubeClient, spec: PodSessionSpec) -> PodSessionSpec:
    if spec.profile != "auto":
        return spec
    level = await profiles.enforced_level(client, spec.namespace)
    profile = profiles.profile_for_level(level) if level else profiles.settled(spec.profile)
    return replace(spec, profile=profile)


def reusable(shell: PodShell, spec: PodSessionSpec, image: str) -> bool:
    """Whether a command-mode container can run `spec`'s commands: same user, image,
    security context and target, and still running."""
    wanted = profiles.container_security_context(profiles.settled(spec.profile), spec.capabilities)
    owner = shell.record.get("user")
    return (
        shell.running
        and shell.purpose == "command"
        and shell.image == image
        and (shell.security_context or {}) == wanted
        and (shell.target or None) == (spec.target or None)
        and (owner is None or owner == _local_user())
    )


async def open_pod_host(
    client: KubeClient,
    spec: PodSessionSpec,
    *,
    instance_id: str | None = None,
    on_phase: Callable[[Phase], None] | None = None,
) -> CommandHost:
    """The pod's running command-mode container for `spec`, added if there is none."""
    spec = replace(spec, keeper=True, attach_to=None)
    pod = await get_pod(client, spec.namespace, spec.pod)
    settled = await _settled_profile(client, spec)
    for shell in pod_shells(pod):
        if reusable(shell, settled, spec.image):
            if on_phase is not None:
                on_phase(Phase("running", f"re-using debug container {shell.container}"))
            host = CommandHost(
                client,
                spec.namespace,
                spec.pod,
                shell.container,
                spec.title,
                watchdog_seconds=watchdog_limit(pod, shell.container),
            )
            host.start_heartbeat()
            return host
    session = PodSession(client, settled, instance_id=instance_id, on_phase=on_phase)
    await session.provision()
    host = CommandHost(
        client,
        session.namespace,
        session.pod,
        session.container,
        spec.title,
        watchdog_seconds=session.spec.detach_timeout_seconds,
        session=session,
    )
    host.start_heartbeat()
    return host


async def open_node_host(
    client: KubeClient,
    spec: NodeSessionSpec,
    *,
    instance_id: str | None = None,
    on_phase: Callable[[Phase], None] | None = None,
    before_create: Callable[[str], Awaitable[None]] | None = None,
    explain_deletion: Callable[[str], Awaitable[str | None]] | None = None,
) -> CommandHost:
    """A command-mode node pod on the node, deleted when the host is closed."""
    spec = replace(spec, keeper=True, attach_to=None)
    session = NodeSession(
        client, spec, instance_id=instance_id, on_phase=on_phase, before_create=before_create
    )
    session.explain_deletion = explain_deletion
    await session.provision()
    return CommandHost(
        client, session.namespace, session.pod, session.container, spec.title, session=session
    )


async def close_all(hosts: list[CommandHost]) -> list[RetinaTuiError]:
    """Close every host at once; a cancellation waits for the closing, then goes on."""
    closing = asyncio.gather(*(host.close() for host in hosts), return_exceptions=True)
    cancelled = False
    try:
        results = await asyncio.shield(closing)
    except asyncio.CancelledError:
        cancelled = True
        results = await closing
    failures = [result for result in results if isinstance(result, RetinaTuiError)]
    unexpected = [
        result
        for result in results
        if isinstance(result, BaseException) and not isinstance(result, RetinaTuiError)
    ]
    if cancelled:
        raise asyncio.CancelledError
    if unexpected:
        raise unexpected[0]
    return failures
