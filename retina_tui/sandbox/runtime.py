"""Image semantics of the sandbox's container runtime: what runs for a container, and how.

Nothing is pulled. A container's command/args run as given; without them the "image
default" is a local shell. An image name mapped to a root filesystem (`options.rootfs`)
has that directory as its root (root only); other images have the host's files. Programs
are looked up on the container's PATH inside that root, as runc looks them up. How the
container is isolated (namespaces, layers, privileges) is `isolation`'s business.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

STANDARD_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_VAR_REF: Final = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")

Obj = dict[str, Any]


class ImageNotRunnable(Exception):
    """The command of a container or exec cannot be found; the message is the runtime's."""


@dataclass(frozen=True, slots=True)
class Launch:
    """Everything needed to start one process for a container or an exec."""

    argv: list[str]
    env: dict[str, str]
    cwd: str


def is_root() -> bool:
    return os.geteuid() == 0


def rootfs_for(image: str, rootfs: Mapping[str, Path]) -> Path | None:
    """The root filesystem an image maps to (longest matching prefix), if any exists."""
    best: tuple[int, Path] | None = None
    for prefix, path in rootfs.items():
        if image.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), Path(path))
    if best is None or not best[1].is_dir() or not is_root():
        return None
    return best[1]


def pull_error(image: str) -> str:
    """The message a container runtime gives for an image that does not exist."""
    reference = image if ("/" in image.split(":")[0]) else f"docker.io/library/{image}"
    if ":" not in reference.rsplit("/", 1)[-1] and "@" not in reference:
        reference += ":latest"
    return (
        f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
        f'unpack image "{reference}": failed to resolve reference "{reference}": '
        f"{reference}: not found"
    )


def backoff_message(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def resolve(command: str, root: Path | None, path: str = STANDARD_PATH) -> str | None:
    """Where `command` is inside `root` (None: this machine's `/`), searched on `path`."""
    base = root or Path("/")
    if "/" in command:
        return command if (base / command.lstrip("/")).exists() else None
    for directory in path.split(":"):
        candidate = base / directory.lstrip("/") / command
        if directory.startswith("/") and candidate.is_file() and os.access(candidate, os.X_OK):
            return f"{directory.rstrip('/')}/{command}"
    return None


def not_runnable(program: str) -> ImageNotRunnable:
    """The runtime's error for a command that does not exist where it would run."""
    return ImageNotRunnable(
        f'exec: "{program}": executable file not found in $PATH'
        if "/" not in program
        else f'exec: "{program}": stat {program}: no such file or directory'
    )


def home_for(root: Path | None, uid: int) -> str:
    """HOME as a runtime sets it: the uid's entry in the image's /etc/passwd, else `/`."""
    try:
        lines = ((root or Path("/")) / "etc" / "passwd").read_text().splitlines()
    except OSError:
        return "/"
    for line in lines:
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid) and fields[5]:
            return fields[5]
    return "/"


def default_shell(root: Path | None, tty: bool) -> list[str]:
    """The image default: bash if the image (or this machine) has it, else sh."""
    shell = "bash" if resolve("bash", root) else "sh"
    return [shell, "-l"] if tty and shell == "bash" else [shell]


def _expand(value: str, env: Mapping[str, str]) -> str:
    return _VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def container_env(
    pod: Obj, container: Obj, *, pod_ip: str, host_ip: str, home: str = "/root"
) -> dict[str, str]:
    """The environment a container (and whatever is exec'd in it) sees."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname = spec.get("nodeName", "") if spec.get("hostNetwork") else meta.get("name", "")
    env = {"PATH": STANDARD_PATH, "HOSTNAME": hostname, "HOME": home}
    if container.get("tty"):
        env["TERM"] = "xterm"
    fields = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    for item in container.get("env") or []:
        name = item.get("name")
        if not isinstance(name, str) or not name:
            continue
        if "value" in item:
            env[name] = _expand(str(item.get("value") or ""), env)
        else:
            ref = ((item.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath", "")
            env[name] = fields.get(ref, "")
    return env


def container_command(container: Obj, env: Mapping[str, str], root: Path | None) -> list[str]:
    """What a container runs: command+args, args alone, or the image's default shell."""
    command = [str(part) for part in container.get("command") or []]
    args = [str(part) for part in container.get("args") or []]
    argv = [_expand(part, env) for part in command + args]
    return argv or default_shell(root, bool(container.get("tty")))


def container_id() -> str:
    return "containerd://" + secrets.token_hex(32)


def start_error_message(detail: str) -> str:
    """The runtime's words for a container whose command could not be started."""
    return (
        "failed to create containerd task: failed to create shim task: OCI runtime create "
        f"failed: runc create failed: unable to start container process: {detail}: unknown"
    )


def exec_error_message(detail: str) -> str:
    """The runtime's words for an exec whose command could not be started."""
    return (
        "Internal error occurred: error executing command in container: failed to exec in "
        f"container: failed to start exec: OCI runtime exec failed: exec failed: unable to "
        f"start container process: {detail}: unknown"
    )
