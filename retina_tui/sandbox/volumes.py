"""A pod's volumes on this machine: hostPath as given, emptyDir as a directory of the pod's.

A hostPath's `type` is checked as the kubelet checks it (`Directory`, `File`, `Socket`,
`CharDevice`, `BlockDevice` must exist as such; `DirectoryOrCreate` and `FileOrCreate`
create it, 0755 / 0644) and, with no type, a missing path is created as a directory, as
containerd does. An emptyDir is one directory per pod (under the sandbox's own temporary
directory), shared by every container that mounts it and removed with the pod. Other
volume kinds (configMap, secret, projected...) are not mounted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from retina_tui.sandbox.isolation import Mount

Obj = dict[str, Any]

# The kubelet's hostPath type checks: (test of st_mode, what the path is not).
TYPE_CHECKS: Final[dict[str, tuple[Callable[[int], bool], str]]] = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket file"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}
CREATES: Final = {"DirectoryOrCreate": "Directory", "FileOrCreate": "File"}


def _host_path_error(path: Path, kind: str) -> str | None:
    """Create what the type asks for; the kubelet's message when the path does not fit."""
    if kind in CREATES and not path.exists():
        try:
            if kind == "DirectoryOrCreate":
                path.mkdir(mode=0o755, parents=True, exist_ok=True)
            else:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        except OSError as error:
            op = "mkdir" if kind == "DirectoryOrCreate" else "open"
            return f"{op} {path}: {str(error.strerror).lower()}"
        return None
    if not kind:
        try:
            path.mkdir(mode=0o755, parents=True, exist_ok=True)
        except FileExistsError:
            pass
        except OSError as error:
            return f'failed to mkdir "{path}": mkdir {path}: {str(error.strerror).lower()}'
        return None
    check = TYPE_CHECKS.get(CREATES.get(kind, kind))
    if check is None:
        return f"{kind} is an invalid volume type"
    is_kind, noun = check
    try:
        fits = is_kind(path.stat().st_mode)
    except OSError:
        fits = False
    return None if fits else f"hostPath type check failed: {path} is not {noun}"


class PodVolumes:
    """The emptyDir directories of the pods of one sandbox, under `base`."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def _pod_dir(self, uid: str) -> Path:
        return self.base / (uid or "no-uid")

    def setup_error(self, pod: Obj, container: Obj) -> str | None:
        """Prepare the hostPath volumes the container mounts; the kubelet's FailedMount
        message for the first that cannot be, else None."""
        volumes = {
            v.get("name"): v
            for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v, dict)
        }
        for mount in container.get("volumeMounts") or []:
            name = str(mount.get("name"))
            host = (volumes.get(name) or {}).get("hostPath")
            if not isinstance(host, dict) or not str(host.get("path", "")).startswith("/"):
                continue
            error = _host_path_error(Path(host["path"]), str(host.get("type") or ""))
            if error is not None:
                return f'MountVolume.SetUp failed for volume "{name}" : {error}'
        return None

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
