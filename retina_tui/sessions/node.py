"""Node sessions: a host-network debug pod pinned to a node, deleted when the session ends.

The pod is created with a server-side dry run first, so a Pod Security Admission refusal
is reported before anything exists. Its security context is the session's profile
(`profiles`); baseline and restricted cannot have the host network, so they are refused.
It carries the ownership labels the cleanup supervisor relies on, and whatever ends the
session (exit, close, cancellation, error) deletes it; a failed delete is reported, never
swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
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
from retina_tui.kube.access import Permission, explain_forbidden, require
from retina_tui.kube.client import KubeClient
from retina_tui.kube.errors import CredentialsRejectedError
from retina_tui.kube.shapes import POD_FIELDS, expect_items, expect_object, origin_of
from retina_tui.kube.watch import Change, watch_objects
from retina_tui.sessions import checks, profiles, windows
from retina_tui.sessions.session import Session
from retina_tui.sessions.specs import (
    CREATED_AT_ANNOTATION,
    CREATED_BY_ANNOTATION,
    CREATED_ON_ANNOTATION,
    HOST_MOUNT,
    INSTANCE_LABEL,
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    NODE_CONTAINER,
    SESSION_LABEL,
    NodeSessionSpec,
    Phase,
    linux_shell_argv,
    node_pod_name,
    shell_env,
)
from retina_tui.sessions.wait import container_state
from retina_tui.sessions.watchdog import KEEPER

DELETE_WAIT_SECONDS = 20.0
HOST_VOLUME = "host-filesystem"
RUN_VOLUME = "host-run"
RUN_PATH = "/run"
PURPOSE = "a node debug session"
LEASE_GROUP = "coordination.k8s.io"


def node_pod_manifest(
    spec: NodeSessionSpec, name: str, *, session_id: str, instance_id: str
) -> dict[str, Any]:
    """The debug pod for a node session (`auto` is built as netadmin, what it settles on)."""
    profile = profiles.settled(spec.profile)
    container: dict[str, Any] = {
        "name": NODE_CONTAINER,
        "image": spec.image,
        "imagePullPolicy": "IfNotPresent",
        "stdin": not spec.keeper,
        "tty": not spec.keeper,
        "securityContext": profiles.node_security_context(
            profile,
            spec.capabilities,
            apparmor_unconfined=spec.apparmor_unconfined,
            seccomp_unconfined=spec.seccomp_unconfined,
        ),
    }
    env = shell_env(spec.idle_logout_seconds)
    if spec.keeper:
        container["command"] = list(KEEPER)
    else:
        if spec.shell:
            container["command"] = linux_shell_argv(spec.shell)
        if env:
            container["env"] = env
    pod_spec: dict[str, Any] = {
        "nodeName": spec.node,
        **profiles.node_host_namespaces(profile, spec.host_pid),
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        "tolerations": [{"operator": "Exists"}],
        "containers": [container],
    }
    if spec.active_deadline_seconds > 0:
        pod_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    if spec.mount_host_fs or spec.host_fs_write:
        # The host's /run as well, as Retina mounts it: sockets of the runtime and friends.
        read_only = not spec.host_fs_write
        pod_spec["volumes"] = [
            {"name": HOST_VOLUME, "hostPath": {"path": "/"}},
            {"name": RUN_VOLUME, "hostPath": {"path": RUN_PATH}},
        ]
        container["volumeMounts"] = [
            {"name": HOST_VOLUME, "mountPath": HOST_MOUNT, "readOnly": read_only},
            {"name": RUN_VOLUME, "mountPath": RUN_PATH, "readOnly": read_only},
        ]
    return _pod(spec, name, pod_spec, session_id=session_id, instance_id=instance_id)


def windows_node_pod_manifest(
    spec: NodeSessionSpec, name: str, image: str, *, session_id: str, instance_id: str
) -> dict[str, Any]:
    """The debug pod for a Windows node: a HostProcess container on the host's network.

    A HostProcess container runs on the host as `spec.windows_user`, sees the node's
    filesystem as the node does, and needs no capabilities (there are none on Windows).
    """
    container: dict[str, Any] = {
        "name": NODE_CONTAINER,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": windows.shell_argv(spec.shell or spec.windows_shell),
        "stdin": True,
        "tty": True,
    }
    pod_spec: dict[str, Any] = {
        "nodeName": spec.node,
        "os": {"name": "windows"},
        "nodeSelector": {checks.OS_LABEL: "windows"},
        "hostNetwork": True,
        "securityContext": {
            "windowsOptions": {"hostProcess": True, "runAsUserName": spec.windows_user}
        },
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 0,
        # The OS taint by name, and every other one: a node in trouble is tainted too.
        "tolerations": [dict(windows.OS_TOLERATION), {"operator": "Exists"}],
        "containers": [container],
    }
    if spec.active_deadline_seconds > 0:
        pod_spec["activeDeadlineSeconds"] = spec.active_deadline_seconds
    return _pod(spec, name, pod_spec, session_id=session_id, instance_id=instance_id)


def _pod(
    spec: NodeSessionSpec,
    name: str,
    pod_spec: dict[str, Any],
    *,
    session_id: str,
    instance_id: str,
) -> dict[str, Any]:
    """The node pod with the labels the cleanup supervisor relies on, and who made it."""
    labels = {
        **spec.extra_labels,
        MANAGED_BY_LABEL: MANAGED_BY_VALUE,
        INSTANCE_LABEL: instance_id,
        SESSION_LABEL: session_id,
    }
    annotations = {
        CREATED_BY_ANNOTATION: _local_user(),
        CREATED_ON_ANNOTATION: socket.gethostname(),
        CREATED_AT_ANNOTATION: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": spec.namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": pod_spec,
    }


async def delete_pod(
    client: KubeClient, namespace: str, name: str, *, wait_seconds: float = DELETE_WAIT_SECONDS
) -> None:
    """Delete a pod now and wait (bounded) until it is gone; SessionError if refused."""
    path = f"/api/v1/namespaces/{namespace}/pods/{name}"
    body = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "gracePeriodSeconds": 0,
        "propagationPolicy": "Background",
    }
    unreadable: UnexpectedReplyError | None = None
    try:
        await client.request("DELETE", path, body=body)
    except NotFoundError:
        return
    except UnexpectedReplyError as error:
        unreadable = error  # perhaps deleted all the same: the watch below tells
    except RetinaTuiError as error:
        raise _not_deleted(namespace, name, error) from error
    events = watch_objects(
        client, f"/api/v1/namespaces/{namespace}/pods", field_selector=f"metadata.name={name}"
    )
    try:
        async with asyncio.timeout(wait_seconds):
            async for event in events:
                if isinstance(event, Change):
                    if event.type == "DELETED":
                        return
                elif not event.items:
                    return
    except (TimeoutError, RetinaTuiError):
        if unreadable is not None:
            raise _not_deleted(namespace, name, unreadable) from unreadable
        return  # accepted and terminating; the kubelet finishes it
    finally:
        await events.aclose()


def _not_deleted(namespace: str, name: str, error: RetinaTuiError) -> SessionError:
    return SessionError(
        f"Could not delete the debug pod {namespace}/{name}: {error} Delete it with "
        f"`kubectl delete pod -n {namespace} {name}`."
    )


@dataclass(frozen=True, slots=True)
class NodeShell:
    """A retina-tui node debug pod found in the cluster."""

    namespace: str
    pod: str
    node: str
    running: bool
    instance: str
    session: str
    pod_object: dict[str, Any] = field(compare=False, repr=False)


async def find_node_shells(client: KubeClient, namespace: str | None = None) -> list[NodeShell]:
    """retina-tui node pods (in `namespace`, or all namespaces), to take over with `attach_to`."""
    path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
    answer = await client.request(
        "GET", path, params={"labelSelector": f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"}
    )
    shells = []
    items = expect_items(
        answer, "pod", origin=origin_of(client), call=f"GET {path}", fields=POD_FIELDS
    )
    for pod in items:
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        labels = meta.get("labels") or {}
        if meta.get("deletionTimestamp") or not spec.get("nodeName"):
            continue
        state = container_state(pod, NODE_CONTAINER, ephemeral=False)
        shells.append(
            NodeShell(
                namespace=str(meta.get("namespace", "")),
                pod=str(meta.get("name", "")),
                node=str(spec.get("nodeName", "")),
                running=state.kind == "running",
                instance=str(labels.get(INSTANCE_LABEL, "")),
                session=str(labels.get(SESSION_LABEL, "")),
                pod_object=pod,
            )
        )
    return shells


class NodeSession(Session):
    """A debug shell in a host-network pod on a node."""

    close_grace_seconds = 0.0  # deleting the pod is what ends the shell

    def __init__(
        self,
        client: KubeClient,
        spec: NodeSessionSpec,
        *,
        instance_id: str | None = None,
        on_phase: Callable[[Phase], None] | None = None,
        on_output: Callable[[bytes], None] | None = None,
        before_create: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """`before_create(namespace)` runs after the dry run, before the pod is created: the
        cleanup supervisor's `ensure_lease`, so that it never reaps a pod still in use."""
        super().__init__(client, instance_id=instance_id, on_phase=on_phase, on_output=on_output)
        self.spec = spec
        self.before_create = before_create
        self.namespace = spec.namespace
        self.container = NODE_CONTAINER
        self.timeout_seconds = spec.timeout_seconds
        self._created = False
        self._create_unreadable = False
        """The create may have happened without an answer saying so: look by label too."""
        self.windows = False
        """The node runs Windows: the pod is a HostProcess pod."""

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def ephemeral(self) -> bool:
        return False

    async def _prepare(self) -> None:
        spec = self.spec
        if spec.attach_to:
            await self._take_over(spec.attach_to)
            return
        profiles.check_node_profile(spec)
        if spec.profile == "auto":
            self._set_phase(
                Phase(
                    "creating",
                    "profile auto chose netadmin, as a node shell needs a privileged namespace",
                )
            )
            self.spec = spec = replace(spec, profile="netadmin")
        needed = [
            Permission("delete", "pods", "", spec.namespace),
            Permission("create", "pods", "attach", spec.namespace),
        ]
        node = await checks.get_node(self.client, spec.node)
        # `create pods` is proven by the dry run below, which fails first when it is missing;
        # the Lease by writing it. Both are reviewed when something else is missing, so the
        # refusal lists everything at once.
        await require(
            self.client,
            needed,
            PURPOSE,
            checked_by_request=(self._create_permission(), *self._lease_permissions()),
        )
        name = node_pod_name(spec.node)
        if windows.is_windows(checks.node_os(node)):
            self.windows = True
            where = f"Node {spec.node}"
            windows.refuse_linux_flags(spec.linux_flags, where)
            if spec.keeper:
                windows.refuse_command(where)
            image = windows.image_for_node(spec.windows_image, node, spec.node)
            manifest = windows_node_pod_manifest(
                spec, name, image, session_id=self.session_id, instance_id=self.instance_id
            )
        else:
            checks.refuse_unsupported_os(checks.node_os(node), f"Node {spec.node}")
            manifest = node_pod_manifest(
                spec, name, session_id=self.session_id, instance_id=self.instance_id
            )
        path = f"/api/v1/namespaces/{spec.namespace}/pods"
        await self._create(path, manifest, dry_run=True)
        if self.before_create is not None:
            await self.before_create(spec.namespace)
        self.pod = name
        # Marked before the request: a create whose answer is lost is still cleaned up.
        self._created = True
        await self._create(path, manifest, dry_run=False)

    async def _take_over(self, name: str) -> None:
        spec = self.spec
        shells = {
            shell.pod: shell
            for shell in await find_node_shells(self.client, spec.namespace)
            if shell.running
        }
        if name not in shells:
            raise SessionError(
                f"There is no running retina-tui node pod {spec.namespace}/{name}; start a "
                "new node session instead."
            )
        self.pod = name
        self._created = True
        self._pod_seen = shells[name].pod_object
        if shells[name].instance != self.instance_id:
            # Move it under this instance's Lease, so no reaper takes it while in use.
            if self.before_create is not None:
                await self.before_create(spec.namespace)
            body = {"metadata": {"labels": {INSTANCE_LABEL: self.instance_id}}}
            path = f"/api/v1/namespaces/{spec.namespace}/pods/{name}"
            with contextlib.suppress(RetinaTuiError):
                answer = await self.client.request(
                    "PATCH", path, body=body, content_type="application/merge-patch+json"
                )
                self._pod_seen = expect_object(
                    answer, "pod", POD_FIELDS, origin=origin_of(self.client), call=f"PATCH {path}"
                )

    def _create_permission(self) -> Permission:
        return Permission("create", "pods", "", self.spec.namespace)

    def _lease_permissions(self) -> tuple[Permission, ...]:
        """What the cleanup supervisor's Lease needs, when one protects the pod."""
        if self.before_create is None:
            return ()
        namespace = self.spec.namespace
        return tuple(
            Permission(verb, "leases", "", namespace, LEASE_GROUP)
            for verb in ("create", "update", "get")
        )

    async def _create(self, path: str, manifest: dict[str, Any], *, dry_run: bool) -> None:
        spec = self.spec
        try:
            created = await self.client.request(
                "POST", path, params={"dryRun": "All"} if dry_run else None, body=manifest
            )
        except NotFoundError:
            raise NotFoundError(
                f"Namespace {spec.namespace} not found in context {self.client.context!r}; "
                "pick the debug namespace with -n.",
                status=404,
                reason="NotFound",
            ) from None
        except ForbiddenError as error:
            explained = checks.explain_psa_for_node(error, spec.namespace, windows=self.windows)
            if explained is not None:
                raise explained from error
            raise await explain_forbidden(
                self.client, [self._create_permission()], PURPOSE, error
            ) from error
        except UnexpectedReplyError:
            self._create_unreadable = not dry_run
            raise
        except ClusterUnreachableError as error:
            # The request may have arrived; rejected credentials say it did not.
            self._create_unreadable = not dry_run and not isinstance(
                error, CredentialsRejectedError
            )
            raise
        except KubeApiError as error:
            if error.status == 422:
                raise self._rejected(error) from error
            if error.status >= 500:
                self._create_unreadable = not dry_run
            raise
        try:
            found = expect_object(
                created, "pod", POD_FIELDS, origin=origin_of(self.client), call=f"POST {path}"
            )
        except UnexpectedReplyError:
            self._create_unreadable = not dry_run
            raise
        if not dry_run:
            self._pod_seen = found

    def _rejected(self, error: KubeApiError) -> SessionError:
        if not self.windows:
            return SessionError(
                f"The API server rejected the node debug pod: {error.message} Check --image "
                "and --capabilities."
            )
        return SessionError(
            f"The API server rejected the HostProcess pod for Windows node {self.spec.node}: "
            f"{error.message} A HostProcess pod needs the host network and every container "
            "HostProcess; check --image and --windows-user."
        )

    async def _cleanup(self) -> None:
        if not self._created:
            return
        try:
            await delete_pod(self.client, self.spec.namespace, self.pod)
        finally:
            if self._create_unreadable:
                await self._delete_by_label()

    async def _delete_by_label(self) -> None:
        """Delete every pod carrying this session's label (a create whose answer was lost)."""
        namespace = self.spec.namespace
        path = f"/api/v1/namespaces/{namespace}/pods"
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{SESSION_LABEL}={self.session_id}"
        try:
            answer = await self.client.request("GET", path, params={"labelSelector": selector})
            pods = expect_items(answer, "pod", origin=origin_of(self.client), call=f"GET {path}")
        except RetinaTuiError as error:
            raise SessionError(
                f"Could not check for debug pods of this session in namespace {namespace}: "
                f"{error} Delete them with `kubectl delete pod -n {namespace} -l "
                f"{SESSION_LABEL}={self.session_id}`."
            ) from error
        for pod in pods:
            name = pod["metadata"].get("name")
            if isinstance(name, str) and name and name != self.pod:
                await delete_pod(self.client, namespace, name)

    async def _end_shell(self) -> None:
        """Closing a node session deletes its pod, which ends the shell."""


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
