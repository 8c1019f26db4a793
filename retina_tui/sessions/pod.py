"""Pod sessions: a shell in an ephemeral container sharing a running pod's network.

The container is added with a strategic-merge PATCH of `pods/ephemeralcontainers`, dry
run first so that a refusal (Pod Security Admission, validation) wastes no container:
ephemeral containers cannot be removed. Its security context is the session's profile
(`profiles`; `auto` learns the namespace's Pod Security level). Ephemeral containers
cannot carry labels, so the session is recorded in a pod annotation
(`retina-tui.io/shell.<container>`), which also lets a restarted UI find the shells it
left running (`find_pod_shells`) and re-attach to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from retina_tui.errors import (
    ClusterUnreachableError,
    ForbiddenError,
    KubeApiError,
    NotFoundError,
    RetinaTuiError,
    SessionError,
    UnexpectedReplyError,
)
from retina_tui.kube.access import Permission, allowed, explain_forbidden, require
from retina_tui.kube.client import KubeClient
from retina_tui.kube.shapes import POD_FIELDS, expect_items, expect_object, origin_of
from retina_tui.kube.watch import Backoff
from retina_tui.sessions import checks, profiles, windows
from retina_tui.sessions.session import Session, cancel_and_wait
from retina_tui.sessions.specs import (
    CONTAINER_PREFIX,
    EPHEMERAL_ANNOTATION_PREFIX,
    Phase,
    PodSessionSpec,
    ephemeral_container_name,
    linux_shell_argv,
    shell_env,
)
from retina_tui.sessions.stream import AttachStream, Ended, open_attach
from retina_tui.sessions.wait import container_state, wait_running
from retina_tui.sessions.watchdog import (
    is_keeper,
    keep_alive,
    watchdog_limit,
    wrapped_command,
)

STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MERGE_PATCH = "application/merge-patch+json"
END_KEY_DELAY = 0.05
PURPOSE = "a pod debug session"
ABANDONED_SHELL_SECONDS = 10.0
END_OF_INPUT = b"\x04"
WINDOWS_EXIT = b"exit\r"
"""PowerShell and cmd do not end at end-of-file: they are told to exit."""
WINDOWS_NON_ROOT_USER = "ContainerUser"


@dataclass(frozen=True, slots=True)
class PodShell:
    """A retina-tui ephemeral container found in a pod."""

    namespace: str
    pod: str
    container: str
    image: str
    running: bool
    record: dict[str, Any]
    """What the pod annotation says about it (session, instance, user, host, created)."""
    purpose: str = "shell"
    """`shell` (an interactive shell to attach to) or `command` (commands are exec'd)."""
    security_context: dict[str, Any] | None = None
    target: str | None = None


def ephemeral_container(spec: PodSessionSpec, name: str) -> dict[str, Any]:
    """The ephemeral container added for a pod session, its shell under the detach watchdog.

    `auto` is built as netadmin: the session settles the profile before building it.
    """
    profile = profiles.settled(spec.profile)
    container: dict[str, Any] = {
        "name": name,
        "image": spec.image,
        "command": wrapped_command(
            name,
            spec.detach_timeout_seconds,
            keeper=spec.keeper,
            shell=linux_shell_argv(spec.shell) if spec.shell else (),
        ),
        "imagePullPolicy": "IfNotPresent",
        "stdin": not spec.keeper,
        "tty": not spec.keeper,
        "terminationMessagePolicy": "File",
        "securityContext": profiles.container_security_context(profile, spec.capabilities),
    }
    env = ([] if spec.keeper else shell_env(spec.idle_logout_seconds)) + profiles.profile_env(
        profile
    )
    if env:
        container["env"] = env
    if spec.target:
        container["targetContainerName"] = spec.target
    return container


def windows_ephemeral_container(
    spec: PodSessionSpec, name: str, *, non_root: bool = False
) -> dict[str, Any]:
    """The ephemeral container of a Windows pod session: the shell, nothing Linux.

    `non_root` runs it as ContainerUser, which a restricted namespace requires.
    """
    container: dict[str, Any] = {
        "name": name,
        "image": spec.image,
        "command": windows.shell_argv(spec.shell or spec.windows_shell),
        "imagePullPolicy": "IfNotPresent",
        "stdin": True,
        "tty": True,
        "terminationMessagePolicy": "File",
    }
    if non_root:
        container["securityContext"] = {
            "runAsNonRoot": True,
            "windowsOptions": {"runAsUserName": WINDOWS_NON_ROOT_USER},
        }
    return container


async def get_pod(client: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    """The pod, or NotFoundError worded for a person."""
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    try:
        answer = await client.request("GET", path)
    except NotFoundError:
        raise NotFoundError(
            f"Pod {namespace}/{name} not found in context {client.context!r}; check the name "
            "and the namespace (-n).",
            status=404,
            reason="NotFound",
        ) from None
    return expect_object(answer, "pod", POD_FIELDS, origin=origin_of(client), call=f"GET {path}")


async def running_pods(client: KubeClient, namespace: str, selector: str) -> list[dict[str, Any]]:
    """The running pods of `namespace` that `selector` selects (possibly none)."""
    path = f"/api/v1/namespaces/{namespace}/pods"
    answer = await client.request("GET", path, params={"labelSelector": selector})
    items = expect_items(
        answer, "pod", origin=origin_of(client), call=f"GET {path}", fields=POD_FIELDS
    )
    return [p for p in items if (p.get("status") or {}).get("phase") == "Running"]


def pod_shells(pod: dict[str, Any]) -> list[PodShell]:
    """The retina-tui ephemeral containers of a pod, running or not."""
    meta = pod.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    shells = []
    for container in (pod.get("spec") or {}).get("ephemeralContainers") or []:
        name = str(container.get("name", ""))
        if not name.startswith(CONTAINER_PREFIX):
            continue
        raw = annotations.get(EPHEMERAL_ANNOTATION_PREFIX + name)
        try:
            record = json.loads(raw) if isinstance(raw, str) else {}
        except ValueError:
            record = {}
        state = container_state(pod, name, ephemeral=True)
        shells.append(
            PodShell(
                namespace=str(meta.get("namespace", "")),
                pod=str(meta.get("name", "")),
                container=name,
                image=str(container.get("image", "")),
                running=state.kind == "running",
                record=record if isinstance(record, dict) else {},
                purpose="command" if is_keeper(pod, name) else "shell",
                security_context=container.get("securityContext"),
                target=container.get("targetContainerName"),
            )
        )
    return shells


async def find_pod_shells(client: KubeClient, namespace: str, pod: str) -> list[PodShell]:
    """Still-running retina-tui shells in a pod, to re-attach to with `attach_to`."""
    return [
        shell
        for shell in pod_shells(await get_pod(client, namespace, pod))
        if shell.running and shell.purpose == "shell"
    ]


class PodSession(Session):
    """A debug shell in an ephemeral container of a running pod."""

    def __init__(
        self,
        client: KubeClient,
        spec: PodSessionSpec,
        *,
        instance_id: str | None = None,
        on_phase: Callable[[Phase], None] | None = None,
        on_output: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__(client, instance_id=instance_id, on_phase=on_phase, on_output=on_output)
        self.spec = spec
        self.namespace = spec.namespace
        self.pod = spec.pod
        self.timeout_seconds = spec.timeout_seconds
        self._added = False
        self.windows = False
        """The pod runs Windows: no watchdog, and the shell is told to exit."""

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def ephemeral(self) -> bool:
        return True

    @property
    def _end_key(self) -> bytes:
        """What ends the shell at an empty prompt."""
        return WINDOWS_EXIT if self.windows else END_OF_INPUT

    async def _prepare(self) -> None:
        spec = self.spec
        pod = await get_pod(self.client, spec.namespace, spec.pod)
        if spec.attach_to:
            self._check_reattach(pod, spec.attach_to)
            self.container = spec.attach_to
            self._pod_seen = pod
            self.windows = windows.is_windows(checks.pod_os(pod)) or _windows_shell(
                pod, spec.attach_to
            )
            # The shell's watchdog has the limit it was started with, whatever the settings.
            limit = watchdog_limit(pod, spec.attach_to)
            if not limit or not await self._may_exec():
                limit = 0
            self.spec = replace(spec, detach_timeout_seconds=limit)
            return
        self._check_pod(pod)
        node_name = (pod.get("spec") or {}).get("nodeName")
        await require(
            self.client,
            [Permission("create", "pods", "attach", spec.namespace)],
            PURPOSE,
            checked_by_request=(self._patch_permission(),),
        )
        node = None
        if node_name:
            node = await _node_or_none(self.client, str(node_name))
            where = f"Node {node_name} of pod {spec.namespace}/{spec.pod}"
            checks.refuse_unsupported_os(checks.node_os(node), where)
        if windows.is_windows(checks.pod_os(pod)) or windows.is_windows(checks.node_os(node)):
            await self._prepare_windows(str(node_name or ""), node)
            return
        if spec.detach_timeout_seconds > 0 and not await self._may_exec():
            self._set_phase(
                Phase(
                    "creating",
                    f"without pods/exec in {spec.namespace} the shell cannot tell when this "
                    "client is gone; it ends only at its idle logout",
                )
            )
            self.spec = spec = replace(spec, detach_timeout_seconds=0)
        name = ephemeral_container_name()
        container = await self._admitted_container(name)
        await self._add_and_record(name, container)

    async def _prepare_windows(self, node_name: str, node: dict[str, Any] | None) -> None:
        """Add a Windows shell: the image of the node's build, no Linux settings, no target."""
        spec = self.spec
        where = f"Pod {spec.namespace}/{spec.pod}"
        self.windows = True
        windows.refuse_linux_flags(spec.linux_flags, where)
        if spec.keeper:
            windows.refuse_command(where)
        if spec.target:
            raise SessionError(
                f"{where} runs Windows, whose containers share no process namespace, so "
                f"--target {spec.target} cannot apply; drop --target (the shell still shares "
                "the pod's network)."
            )
        image = windows.image_for_node(spec.windows_image, node, node_name)
        windows.check_build(image, node, f"node {node_name}")
        self.spec = spec = replace(spec, image=image, detach_timeout_seconds=0)
        self._set_phase(
            Phase(
                "creating",
                f"Windows pod: {image}, no capabilities; the shell ends when you exit it",
            )
        )
        name = ephemeral_container_name()
        container = windows_ephemeral_container(spec, name)
        try:
            await self._add_container(container, dry_run=True)
        except SessionError as error:
            cause = error.__cause__
            refused = checks.psa_level(cause) if isinstance(cause, KubeApiError) else None
            if refused is None or refused[0] != "restricted":
                raise
            container = windows_ephemeral_container(spec, name, non_root=True)
            await self._add_container(container, dry_run=True)
            self._set_phase(
                Phase(
                    "creating",
                    f"namespace {spec.namespace} is restricted: the shell runs as "
                    f"{WINDOWS_NON_ROOT_USER}, not as an administrator",
                )
            )
        await self._add_and_record(name, container)

    async def _add_and_record(self, name: str, container: dict[str, Any]) -> None:
        """Add the admitted container; note the session in the pod while it starts."""
        self.container = name
        await self._add_container(container, dry_run=False)
        self._added = True
        # Off the critical path: the annotation is written while the container starts.
        spec = self.spec
        self._side_tasks.append(
            asyncio.create_task(self._record(name), name=f"record {spec.namespace}/{spec.pod}")
        )

    async def _admitted_container(self, name: str) -> dict[str, Any]:
        """The container, settled on a profile and accepted by a dry run; nothing is added.

        With `auto` the namespace's level picks the profile; when the Namespace cannot be
        read, or a cluster-wide default enforces more than its label, the dry run's refusal
        names the level, and the profile it admits is tried once more.
        """
        spec = self.spec
        auto = spec.profile == "auto"
        level = await profiles.enforced_level(self.client, spec.namespace) if auto else None
        profile = profiles.profile_for_level(level) if level else profiles.settled(spec.profile)
        for attempt in range(2):
            self.spec = spec = replace(spec, profile=profile)
            container = ephemeral_container(spec, name)
            try:
                await self._add_container(container, dry_run=True)
                break
            except SessionError as error:
                cause = error.__cause__
                refused = checks.psa_level(cause) if isinstance(cause, KubeApiError) else None
                if not auto or attempt or refused is None:
                    raise
                if profiles.profile_for_level(refused[0]) == profile:
                    raise
                level = refused[0]
                profile = profiles.profile_for_level(level)
        line = profiles.chosen(profile, namespace=spec.namespace, level=level, auto=auto)
        if line:
            self._set_phase(Phase("creating", line))
        return container

    async def _may_exec(self) -> bool:
        """Whether this user may exec into the pod, which the watchdog's heartbeat needs."""
        permission = Permission("create", "pods", "exec", self.spec.namespace)
        try:
            return await allowed(self.client, permission) is not False
        except RetinaTuiError:
            return True

    def _companions(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        if self.spec.detach_timeout_seconds <= 0:
            return []
        spec = self.spec
        beat = keep_alive(
            self.client, spec.namespace, spec.pod, self.container, spec.detach_timeout_seconds
        )
        return [(f"heartbeat {spec.namespace}/{spec.pod}/{self.container}", beat)]

    def _patch_permission(self) -> Permission:
        return Permission("patch", "pods", "ephemeralcontainers", self.spec.namespace)

    def _check_pod(self, pod: dict[str, Any]) -> None:
        spec = self.spec
        where = f"Pod {spec.namespace}/{spec.pod}"
        checks.refuse_unsupported_os(checks.pod_os(pod), where)
        phase = (pod.get("status") or {}).get("phase", "Unknown")
        if (pod.get("metadata") or {}).get("deletionTimestamp"):
            phase = "Terminating"
        if phase != "Running":
            raise SessionError(
                f"{where} is {phase}, not Running; a debug container can only join a running "
                "pod, so wait for it or pick another pod."
            )
        containers = [str(c.get("name")) for c in (pod.get("spec") or {}).get("containers") or []]
        if spec.target and spec.target not in containers:
            raise SessionError(
                f"{where} has no container {spec.target!r}; its containers are "
                f"{', '.join(containers)}; fix --target."
            )

    def _check_reattach(self, pod: dict[str, Any], container: str) -> None:
        shells = {shell.container: shell for shell in pod_shells(pod)}
        shell = shells.get(container)
        if shell is None or not shell.running or shell.purpose != "shell":
            raise SessionError(
                f"Pod {self.spec.namespace}/{self.spec.pod} has no running retina-tui shell "
                f"{container!r}; start a new session instead."
            )

    async def _add_container(self, container: dict[str, Any], *, dry_run: bool) -> None:
        spec = self.spec
        path = f"/api/v1/namespaces/{spec.namespace}/pods/{spec.pod}/ephemeralcontainers"
        body = {"spec": {"ephemeralContainers": [container]}}
        try:
            answer = await self.client.request(
                "PATCH",
                path,
                params={"dryRun": "All"} if dry_run else None,
                body=body,
                content_type=STRATEGIC_MERGE,
            )
            seen = expect_object(
                answer, "pod", POD_FIELDS, origin=origin_of(self.client), call=f"PATCH {path}"
            )
            if not dry_run:
                self._pod_seen = seen
        except (UnexpectedReplyError, ClusterUnreachableError):
            # The container may have been added although the answer does not say so: the
            # cleanup ends its shell if it runs.
            self._added = not dry_run
            raise
        except NotFoundError:
            raise SessionError(
                f"Pod {spec.namespace}/{spec.pod} vanished, or this cluster does not support "
                "ephemeral containers (Kubernetes 1.25 or later is needed)."
            ) from None
        except ForbiddenError as error:
            explained = checks.explain_psa_for_pod(
                error, spec.namespace, profiles.settled(spec.profile)
            )
            if explained is not None:
                raise explained from error
            raise await explain_forbidden(
                self.client, [self._patch_permission()], PURPOSE, error
            ) from error
        except KubeApiError as error:
            if error.status == 422:
                raise SessionError(
                    f"The API server rejected the debug container for pod {spec.namespace}/"
                    f"{spec.pod}: {error.message} Check --image, --target and --capabilities."
                ) from error
            if error.status >= 500:
                self._added = not dry_run
            raise

    async def _record(self, container: str) -> None:
        """Note the session in a pod annotation; best effort (needs `patch pods`)."""
        record = {
            "purpose": "command" if self.spec.keeper else "shell",
            "session": self.session_id,
            "instance": self.instance_id,
            "user": _local_user(),
            "host": socket.gethostname(),
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        body = {
            "metadata": {
                "annotations": {EPHEMERAL_ANNOTATION_PREFIX + container: json.dumps(record)}
            }
        }
        path = f"/api/v1/namespaces/{self.spec.namespace}/pods/{self.spec.pod}"
        with contextlib.suppress(RetinaTuiError):
            await self.client.request("PATCH", path, body=body, content_type=MERGE_PATCH)

    async def _cleanup(self) -> None:
        """End a shell that was added but never handed over (start failed or was cancelled).

        Ephemeral containers cannot be removed; their shell ends when told to. If it is not
        running within a few seconds it is left to its idle logout (TMOUT).
        """
        if self._pump is not None or not self._added:
            return
        if self.spec.keeper:
            await self._retire()
            return
        if self._stream is not None:
            await self._end_shell()
            return
        with contextlib.suppress(RetinaTuiError, TimeoutError):
            async with asyncio.timeout(ABANDONED_SHELL_SECONDS):
                # When the watch is unreadable, attaching tells whether the container runs.
                with contextlib.suppress(UnexpectedReplyError):
                    await wait_running(
                        self.client,
                        self.spec.namespace,
                        self.spec.pod,
                        self.container,
                        ephemeral=True,
                        timeout=ABANDONED_SHELL_SECONDS,
                        on_state=lambda state: None,
                    )
                stream = await self._attach_abandoned()
                try:
                    await _end_abandoned(stream, self._end_key)
                finally:
                    await stream.close()

    async def _retire(self) -> None:
        """Make the watchdog end a command-mode container that was never handed over."""
        from retina_tui.sessions.execute import run_command
        from retina_tui.sessions.watchdog import retire_argv

        with contextlib.suppress(RetinaTuiError, TimeoutError):
            async with asyncio.timeout(ABANDONED_SHELL_SECONDS):
                await wait_running(
                    self.client,
                    self.spec.namespace,
                    self.spec.pod,
                    self.container,
                    ephemeral=True,
                    timeout=ABANDONED_SHELL_SECONDS,
                    on_state=lambda state: None,
                )
                await run_command(
                    self.client,
                    self.spec.namespace,
                    self.spec.pod,
                    self.container,
                    retire_argv(self.container),
                    time_limit=ABANDONED_SHELL_SECONDS,
                )

    async def _attach_abandoned(self) -> AttachStream:
        """Attach to the abandoned container, again while it is not running yet."""
        backoff = Backoff(initial=0.2, cap=2.0)
        while True:
            try:
                return await open_attach(
                    self.client, self.spec.namespace, self.spec.pod, self.container
                )
            except NotFoundError:
                raise
            except RetinaTuiError:
                await asyncio.sleep(backoff.next_delay())

    async def _end_shell(self) -> None:
        """Interrupt whatever runs, then end-of-file at the empty prompt ends the shell."""
        stream = self._stream
        if stream is None:
            return
        await stream.send_stdin(b"\x03")
        await asyncio.sleep(END_KEY_DELAY)
        await stream.send_stdin(self._end_key)
        await stream.close_stdin()


async def _end_abandoned(stream: AttachStream, end: bytes) -> None:
    """Interrupt, then `end` until the shell exits (it may still be starting up)."""

    async def nudge() -> None:
        await stream.send_stdin(b"\x03")
        while True:
            await asyncio.sleep(END_KEY_DELAY)
            await stream.send_stdin(end)
            await asyncio.sleep(0.5)

    nudger = asyncio.create_task(nudge(), name="end abandoned shell")
    try:
        async for event in stream.events():
            if isinstance(event, Ended):
                return
    finally:
        await cancel_and_wait(nudger)


def _windows_shell(pod: dict[str, Any], container: str) -> bool:
    """Whether an ephemeral container runs a Windows program (its pod may not say its OS)."""
    for spec in (pod.get("spec") or {}).get("ephemeralContainers") or []:
        if isinstance(spec, dict) and spec.get("name") == container:
            command = spec.get("command") or [""]
            return str(command[0]).lower().endswith(".exe")
    return False


async def _node_or_none(client: KubeClient, name: str) -> dict[str, Any] | None:
    try:
        return await checks.get_node(client, name)
    except NotFoundError:
        return None


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
