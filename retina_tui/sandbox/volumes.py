"""A pod's volumes on this machine: hostPath as given, emptyDir as a directory of the pod's.

An emptyDir is one directory per pod (under the sandbox's own temporary directory),
shared by every container that mounts it and removed with the pod. Other volume kinds
(configMap, secret, projected...) are not mounted.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

from retina_tui.sandbox.isolation import Mount

Obj = dict[str, Any]


class PodVolumes:
    """The emptyDir directories of the pods of one sandbox, under `base`."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def _pod_dir(self, uid: str) -> Path:
        return self.base / (uid or "no-uid")

    def mounts(self, pod: Obj, container: Obj) -> list[Mount]:
        """The container's volumeMounts that can be bound in (creating emptyDirs on first use)."""
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        sources: dict[str, Path] = {}
        for volume in spec.get("volumes") or []:
            if not isinstance(volume, dict) or not isinstance(volume.get("name"), str):
                continue
            host = (volume.get("hostPath") or {}).get("path")
            if isinstance(host, str) and host.startswith("/"):
                sources[volume["name"]] = Path(host)
            elif "emptyDir" in volume:
                sources[volume["name"]] = self._pod_dir(str(meta.get("uid", ""))) / volume["name"]
        mounts = []
        for mount in container.get("volumeMounts") or []:
            source = sources.get(str(mount.get("name")))
            target = str(mount.get("mountPath") or "")
            if source is None or not target.startswith("/"):
                continue
            if source.is_relative_to(self.base):
                source.mkdir(parents=True, exist_ok=True)
                source.chmod(0o777)
            if source.exists():
                mounts.append(Mount(str(source), target, bool(mount.get("readOnly"))))
        return mounts

    def remove(self, uid: str) -> None:
        """Remove a pod's emptyDirs (its containers are gone)."""
        shutil.rmtree(self._pod_dir(uid), ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.base.rmdir()
