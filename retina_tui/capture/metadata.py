"""`--metadata`: the capture with the context needed to read it later, in one .tar.gz.

Packets alone do not say which pod had which address or which policy applied. The archive
holds the pcapng file, the API objects of the targets and their namespaces (pods, services,
EndpointSlices, NetworkPolicies, nodes) as JSON, and each target's network state (addresses,
routes, neighbours, sockets, resolv.conf) as its debug container saw it.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

from retina_tui.capture.run import CaptureTarget
from retina_tui.errors import RetinaTuiError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions import protocol
from retina_tui.sessions.command import CommandHost

__all__ = ["NETWORK_STATE", "collect_network_state", "collect_objects", "write_archive"]

NETWORK_STATE = r"""for c in "ip -d addr" "ip route" "ip -6 route" "ip neigh" "ss -tanup" \
  "cat /etc/resolv.conf" "iptables-save" "nft list ruleset"; do
  echo "### $c"; $c 2>&1 | head -n 5000; echo
done"""
MAX_STATE_BYTES = 4 * 1024 * 1024

_NAMESPACED = (
    ("services", "/api/v1/namespaces/{ns}/services"),
    ("endpointslices", "/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"),
    ("networkpolicies", "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies"),
)


async def collect_network_state(host: CommandHost) -> bytes:
    """What the target's debug container sees of its network, as text."""
    command = await host.exec(["sh", "-c", NETWORK_STATE], stdin=False)
    out = bytearray()
    try:
        async for chunk in command.output():
            if chunk.channel in (protocol.STDOUT, protocol.STDERR) and len(out) < MAX_STATE_BYTES:
                out += chunk.data
    finally:
        await command.close()
    return bytes(out)


async def collect_objects(client: KubeClient, targets: list[CaptureTarget]) -> dict[str, Any]:
    """API objects by file name; an object that cannot be read is recorded with why."""
    objects: dict[str, Any] = {}

    async def get(name: str, path: str) -> None:
        try:
            objects[name] = await client.request("GET", path)
        except RetinaTuiError as error:
            objects[name] = {"error": str(error), "path": path}

    namespaces = sorted({t.namespace for t in targets if t.kind == "pod"})
    for target in targets:
        if target.kind == "pod":
            await get(
                f"pods/{target.namespace}_{target.name}.json",
                f"/api/v1/namespaces/{target.namespace}/pods/{target.name}",
            )
        else:
            await get(f"nodes/{target.name}.json", f"/api/v1/nodes/{target.name}")
    for namespace in namespaces:
        for kind, path in _NAMESPACED:
            await get(f"{kind}/{namespace}.json", path.format(ns=namespace))
    nodes = {
        str(
            (objects.get(f"pods/{t.namespace}_{t.name}.json") or {}).get("spec", {}).get("nodeName")
        )
        for t in targets
        if t.kind == "pod"
    } - {"None", ""}
    for node in sorted(nodes):
        if f"nodes/{node}.json" not in objects:
            await get(f"nodes/{node}.json", f"/api/v1/nodes/{node}")
    return objects


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def write_archive(
    path: Path,
    capture: Path | None,
    objects: dict[str, Any],
    states: dict[str, bytes],
    summary: dict[str, Any],
) -> None:
    """The .tar.gz: capture.pcapng, objects/, network/<target>.txt and summary.json."""
    with tarfile.open(path, "w:gz") as archive:
        if capture is not None and capture.exists():
            archive.add(str(capture), arcname="capture.pcapng")
        for name, obj in sorted(objects.items()):
            _add(archive, f"objects/{name}", json.dumps(obj, indent=1).encode())
        for label, state in sorted(states.items()):
            safe = label.replace("/", "_").replace(":", "_")
            _add(archive, f"network/{safe}.txt", state)
        _add(archive, "summary.json", json.dumps(summary, indent=1).encode())
