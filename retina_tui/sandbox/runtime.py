"""Image semantics of the sandbox's container runtime: what runs for a container, and how.

Nothing is pulled. A container's command/args run as given; without them the "image
default" is a local shell. An image name mapped to a root filesystem (`options.rootfs`)
runs chrooted into it (root only) over a writable layer of its own (a tmpfs overlay), with
hostPath volumes, /proc, /sys and /dev mounted in a mount namespace that vanishes with the
process. An exec into a running container enters its namespaces and root (nsenter), so it
sees what the container sees. As root every process also gets its own UTS namespace so
the shell prompt shows the pod's (or, for hostNetwork, the node's) hostname, and a
container without a root filesystem gets a private /tmp, so nothing it writes there is
left on the host.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

STANDARD_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Inside a private mount namespace: a tmpfs-backed overlay gives the container a writable
# root of its own (the shared root filesystem is never written), hostPath volumes are bound
# in (read-only when asked), then /proc, /dev and /sys, then chroot. Arguments: scratch dir,
# root filesystem, hostname, (source, target, rw|ro)... "--" command...
ENTER_ROOTFS: Final = """
scratch=$1 lower=$2; hostname "$3" 2>/dev/null; shift 3
root=$lower
if mount -t tmpfs tmpfs "$scratch" && mkdir "$scratch/u" "$scratch/w" "$scratch/r" &&
   mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/u,workdir=$scratch/w" "$scratch/r"
then root=$scratch/r; fi
while [ "$1" != "--" ]; do
  if [ -d "$1" ] && mkdir -p "$root$2" 2>/dev/null && mount --rbind "$1" "$root$2"; then
    [ "$3" = ro ] && mount -o remount,bind,ro "$root$2"
  fi
  shift 3
done
shift
mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" &&
  mount -t sysfs sysfs "$root/sys" && exec chroot "$root" "$@"
exit 126
"""
# Without a root filesystem a container runs on the host's files, but with a /tmp of its
# own (a tmpfs in a private mount namespace, gone with the container), as a container
# runtime gives each container; then the hostname. Arguments: hostname, command...
SET_HOSTNAME: Final = (
    'mount -t tmpfs -o mode=1777 tmpfs /tmp 2>/dev/null; hostname "$1" 2>/dev/null; shift; '
    'exec "$@"'
)
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


def _which(command: str, root: Path | None) -> bool:
    if "/" in command:
        return (root / command.lstrip("/") if root else Path(command)).exists()
    if root is None:
        return shutil.which(command, path=STANDARD_PATH) is not None
    return any((root / d.lstrip("/") / command).exists() for d in STANDARD_PATH.split(":"))


def default_shell(root: Path | None, tty: bool) -> list[str]:
    """The image default: bash if the image (or this machine) has it, else sh."""
    shell = "bash" if _which("bash", root) else "sh"
    return [shell, "-l"] if tty and shell == "bash" else [shell]


def _expand(value: str, env: Mapping[str, str]) -> str:
    return _VAR_REF.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def container_env(pod: Obj, container: Obj, *, pod_ip: str, host_ip: str) -> dict[str, str]:
    """The environment a container (and whatever is exec'd in it) sees."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    hostname = spec.get("nodeName", "") if spec.get("hostNetwork") else meta.get("name", "")
    env = {"PATH": STANDARD_PATH, "HOSTNAME": hostname, "HOME": "/root"}
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


@dataclass(frozen=True, slots=True)
class HostMount:
    """A hostPath volume mounted into a container."""

    source: str
    target: str
    read_only: bool


def host_mounts(pod: Obj, container: Obj) -> list[HostMount]:
    """The container's volumeMounts of hostPath volumes (directories only)."""
    volumes = {
        v.get("name"): (v.get("hostPath") or {}).get("path")
        for v in (pod.get("spec") or {}).get("volumes") or []
        if isinstance(v, dict)
    }
    mounts = []
    for mount in container.get("volumeMounts") or []:
        source = volumes.get(mount.get("name"))
        target = str(mount.get("mountPath") or "")
        if source and target.startswith("/"):
            mounts.append(HostMount(str(source), target, bool(mount.get("readOnly"))))
    return mounts


def enter(pid: int, argv: Sequence[str], env: dict[str, str]) -> Launch:
    """Run `argv` inside the namespaces and root of a running container process, as exec does."""
    prefix = ["nsenter", "--target", str(pid), "--mount", "--uts", "--net", "--root", "--wd"]
    return Launch([*prefix, "--", *argv], env, "/")


def launch(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    hostname: str,
    netns_prefix: Sequence[str],
    root: Path | None,
    scratch: Path | None = None,
    mounts: Sequence[HostMount] = (),
) -> Launch:
    """Wrap `argv` to run in the right network namespace, hostname and root filesystem.

    Raises ImageNotRunnable when the program does not exist where it would run.
    """
    if not argv or not _which(argv[0], root):
        program = argv[0] if argv else ""
        raise ImageNotRunnable(
            f'exec: "{program}": executable file not found in $PATH'
            if "/" not in program
            else f'exec: "{program}": stat {program}: no such file or directory'
        )
    wrapped = list(netns_prefix)
    if root is not None:
        wrapped += ["unshare", "--mount", "--uts", "--propagation", "slave", "--"]
        wrapped += ["sh", "-c", ENTER_ROOTFS, "enter", str(scratch or "/mnt"), str(root), hostname]
        for mount in mounts:
            wrapped += [mount.source, mount.target, "ro" if mount.read_only else "rw"]
        wrapped.append("--")
    elif is_root() and hostname:
        wrapped += ["unshare", "--uts", "--mount", "--propagation", "private", "--"]
        wrapped += ["sh", "-c", SET_HOSTNAME, "set-hostname", hostname]
    return Launch(wrapped + list(argv), env, "/")


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
