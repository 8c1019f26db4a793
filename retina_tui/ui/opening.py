"""Turn what the user chose in the browser or the dialog into an engine session.

Kept apart from the app so that the engine is imported only when the first session
opens, not before the first frame.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from retina_tui.config import DebugSettings
from retina_tui.ui.browser import PodRef
from retina_tui.ui.dialog import SessionChoice

if TYPE_CHECKING:
    from retina_tui.kube.client import KubeClient
    from retina_tui.sessions.session import Session


def build_session(
    client: KubeClient,
    debug: DebugSettings,
    choice: SessionChoice,
    pod: PodRef | None,
    node: str | None,
    *,
    instance_id: str | None,
    before_create: Callable[[str], Awaitable[None]] | None,
    explain_deletion: Callable[[str], Awaitable[str | None]] | None = None,
    attach_to: str | None = None,
) -> Session:
    """A pod session (ephemeral container) or a node session (node pod), not started."""
    from retina_tui.sessions.node import NodeSession
    from retina_tui.sessions.pod import PodSession
    from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec

    if choice.kind == "pod":
        assert pod is not None
        spec = PodSessionSpec.from_settings(
            debug,
            namespace=pod.namespace,
            pod=pod.name,
            target=choice.target,
            image=choice.image,
            capabilities=choice.capabilities,
            windows_image=choice.windows_image,
            shell=choice.shell,
        )
        if attach_to is not None:
            spec = replace(spec, attach_to=attach_to)
        return PodSession(client, spec, instance_id=instance_id)
    assert node is not None
    node_spec = NodeSessionSpec.from_settings(
        debug,
        node=node,
        namespace=debug.namespace or client.namespace,
        image=choice.image,
        capabilities=choice.capabilities,
        mount_host_fs=choice.mount_host_fs,
        host_fs_write=choice.host_fs_write,
        host_pid=choice.host_pid,
        windows_image=choice.windows_image,
        shell=choice.shell,
    )
    session = NodeSession(client, node_spec, instance_id=instance_id, before_create=before_create)
    session.explain_deletion = explain_deletion
    return session
