"""How a container is isolated as root: namespaces, a filesystem of its own, its privileges.

Every container runs in a private mount and UTS namespace, in a PID namespace of its own
(or its pod's, its target's, or the machine's), on an overlay whose lower layer is its
image's root filesystem (the host's `/` when it has none) and whose upper layer is a tmpfs
of its own: writes succeed but vanish with the container. The kubelet's /etc/hosts,
/etc/hostname and /etc/resolv.conf (from the pod's dnsPolicy) are written in that layer;
hostPath and emptyDir volumes are bound in; then /proc (of its PID namespace), a minimal
/dev and /sys; then libcap's `capsh` chroots, sets the identity and capabilities and execs
the command. An exec enters the container's namespaces (nsenter) and goes through the same `capsh`.
Everything lives in namespaces that vanish with the processes: nothing under the host's `/`
changes, and a killed sandbox leaves no mount behind.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from retina_tui.sandbox.clusternet import DNS_SERVICE_IP, search_path
from retina_tui.sandbox.processes import proc_stats
from retina_tui.sandbox.security import SecurityPlan, capsh_args

POLLS: Final = 400
POLL_INTERVAL: Final = 0.005
HOST_RESOLV_CONF: Final = Path("/etc/resolv.conf")
# The kubelet's limits (validation.MaxDNSNameservers, MaxDNSSearchPaths, MaxDNSSearchListChars).
MAX_NAMESERVERS: Final = 3
MAX_SEARCHES: Final = 32
MAX_SEARCH_CHARS: Final = 2048
TOOLS: Final = ("capsh", "nsenter", "unshare", "setsid", "mount", "hostname")

# Runs as the first process of the container's namespaces, on the host's tools. Arguments:
# scratch lower hostname hosts resolv.conf read-only(0|1) privileged(0|1) private-home(0|1),
# then (source, target, ro|rw) per volume, "--", then the capsh command that chroots.
SETUP: Final = r"""
set -e
scratch=$1 lower=$2 name=$3 hosts=$4 resolv=$5 ro=$6 priv=$7 home=$8; shift 8
r=$scratch/r
mount -t tmpfs -o mode=755 tmpfs "$scratch"
mkdir "$scratch/u" "$scratch/w" "$r"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$scratch/u,workdir=$scratch/w" "$r"
hostname "$name"
mkdir -p "$r/etc" "$r/tmp" "$r/root" "$r/proc" "$r/dev" "$r/sys"
rm -f "$r/etc/hostname" "$r/etc/hosts" "$r/etc/resolv.conf"
printf '%s\n' "$name" > "$r/etc/hostname"
printf '%s' "$hosts" > "$r/etc/hosts"
printf '%s' "$resolv" > "$r/etc/resolv.conf"
targets() {
  while [ "$1" != -- ]; do
    if [ -d "$1" ]; then mkdir -p "$r$2"
    else mkdir -p "$(dirname "$r$2")"; [ -e "$r$2" ] || : > "$r$2"; fi
    shift 3
  done
}
targets "$@"
opts=nosuid,nodev
if [ "$ro" = 1 ]; then mount --bind "$r" "$r"; mount -o remount,bind,ro "$r"; opts=$opts,ro; fi
if [ "$home" = 1 ]; then
  mount -t tmpfs -o "mode=1777,$opts" tmpfs "$r/tmp"
  mount -t tmpfs -o "mode=700,$opts" tmpfs "$r/root"
fi
while [ "$1" != -- ]; do
  mount --rbind "$1" "$r$2"
  if [ "$3" = ro ]; then mount -o remount,bind,ro "$r$2"; fi
  shift 3
done
shift
mount -t proc proc "$r/proc"
if [ "$priv" = 1 ]; then
  mount --rbind /dev "$r/dev"
  mount -t sysfs sysfs "$r/sys"
else
  mount -t tmpfs -o mode=755,nosuid tmpfs "$r/dev"
  for node in null zero full random urandom tty ptmx; do
    : > "$r/dev/$node"; mount --bind "/dev/$node" "$r/dev/$node"
  done
  mkdir "$r/dev/pts" "$r/dev/shm"
  mount --rbind /dev/pts "$r/dev/pts"
  mount -t tmpfs -o mode=1777,nosuid,nodev shm "$r/dev/shm"
  ln -s /proc/self/fd "$r/dev/fd"
  ln -s /proc/self/fd/0 "$r/dev/stdin"
  ln -s /proc/self/fd/1 "$r/dev/stdout"
  ln -s /proc/self/fd/2 "$r/dev/stderr"
  mount -t sysfs -o ro sysfs "$r/sys"
fi
exec "$@"
"""
# A pod's shared PID namespace is held by this (PID 1 there, like the pause container):
# it reaps whatever is reparented to it and leaves on SIGTERM.
PAUSE: Final = """
import os, signal
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
while True:
    signal.sigwaitinfo({signal.SIGCHLD})
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass
"""


@functools.cache
def missing_tools() -> tuple[str, ...]:
    """The host tools the isolation needs that this machine lacks."""
    return tuple(
        t
        for t in TOOLS
        if shutil.which(t, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None
    )


def available() -> bool:
    return os.geteuid() == 0 and not missing_tools()


def _tool(name: str) -> str:
    return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or name


@dataclass(frozen=True, slots=True)
class Mount:
    """A volume bound into a container: a host directory (or file) at `target`."""

    source: str
    target: str
    read_only: bool


@dataclass(frozen=True, slots=True)
class PidNamespace:
    """Which PID namespace a container gets: its own, the host's, or that of process `join`."""

    host: bool = False
    join: int | None = None


@dataclass(frozen=True, slots=True)
class Filesystem:
    """The root a container gets: its lower layer, its hostname and the kubelet's files."""

    lower: Path
    hostname: str
    hosts: str
    resolv: str
    read_only: bool
    privileged: bool
    mounts: Sequence[Mount] = ()


def _parse_resolv(text: str) -> tuple[list[str], list[str], list[str]]:
    """nameservers, searches and options of a resolv.conf, read as the kubelet reads it."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or line[0] in "#;":
            continue
        if fields[0] == "nameserver" and len(fields) > 1:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [d.removesuffix(".") for d in fields[1:] if d != "."]
        elif fields[0] == "options":
            options = _merge_options(options, [_option(o) for o in fields[1:]])
    return servers, searches, options


def _option(text: str) -> tuple[str, str]:
    name, _, value = text.partition(":")
    return name, value


def _merge_options(existing: list[str], extra: Sequence[tuple[str, str]]) -> list[str]:
    merged = dict(_option(o) for o in existing)
    merged.update(extra)
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def resolv_conf(pod: dict[str, Any]) -> str:
    """The container's /etc/resolv.conf, from the pod's dnsPolicy and dnsConfig as the
    kubelet builds it (its resolvConf is the machine's /etc/resolv.conf)."""
    spec = pod.get("spec") or {}
    namespace = str((pod.get("metadata") or {}).get("namespace") or "default")
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    try:
        host = HOST_RESOLV_CONF.read_text()
    except OSError:
        host = ""
    servers, searches, options = _parse_resolv(host)
    if policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.get("hostNetwork")
    ):
        servers = [DNS_SERVICE_IP]
        searches = _unique([*search_path(namespace), *searches])
        options = ["ndots:5"]
    elif policy == "None":
        servers, searches, options = [], [], []
    config = spec.get("dnsConfig") or {}
    servers = _unique([*servers, *(str(s) for s in config.get("nameservers") or [])])[
        :MAX_NAMESERVERS
    ]
    searches = _unique([*searches, *(str(s) for s in config.get("searches") or [])])
    extra = [
        (str(o.get("name", "")), str(o.get("value") or "")) for o in config.get("options") or []
    ]
    options = _merge_options(options, extra)
    while len(searches) > MAX_SEARCHES or len(" ".join(searches)) > MAX_SEARCH_CHARS:
        searches.pop()
    lines = [f"search {' '.join(searches)}"] if searches else []
    lines += [f"nameserver {server}" for server in servers]
    lines += [f"options {' '.join(options)}"] if options else []
    return "".join(f"{line}\n" for line in lines)


def hosts_file(ip: str, hostname: str) -> str:
    """/etc/hosts as the kubelet writes it for a pod."""
    lines = [
        "# Kubernetes-managed hosts file.",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if ip:
        lines.append(f"{ip}\t{hostname}")
    return "\n".join(lines) + "\n"


def _capsh(
    root: str, security: SecurityPlan, program: str, args: Sequence[str], *, own_terminal: bool
) -> list[str]:
    # A terminal's process groups must live in the process's own PID namespace (a shell
    # gives the terminal back to the group it found there when it leaves), so a process in
    # a PID namespace of its own gets a session there that takes the terminal over.
    session = [_tool("setsid"), "--ctty"] if own_terminal else []
    return [
        *session,
        _tool("capsh"),
        f"--chroot={root}",
        *capsh_args(security),
        f"--shell={program}",
        "--",
        *args,
    ]


def container_argv(
    program: str,
    args: Sequence[str],
    *,
    scratch: Path,
    fs: Filesystem,
    security: SecurityPlan,
    pid: PidNamespace,
    tty: bool,
) -> list[str]:
    """The argv starting a container whose command is `program` (absolute) with `args`."""
    argv: list[str] = []
    unshare = [_tool("unshare"), "--mount", "--uts", "--propagation", "slave"]
    if pid.join is not None:
        argv += [_tool("nsenter"), "--target", str(pid.join), "--pid", "--", *unshare]
    elif pid.host:
        argv += unshare
    else:
        argv += [*unshare, "--pid", "--fork", "--kill-child"]
    flags = [
        "1" if fs.read_only else "0",
        "1" if fs.privileged else "0",
        "1" if fs.lower == Path("/") else "0",
    ]
    argv += ["--", "sh", "-c", SETUP, "setup", str(scratch), str(fs.lower), fs.hostname]
    argv += [fs.hosts, fs.resolv, *flags]
    for mount in fs.mounts:
        argv += [mount.source, mount.target, "ro" if mount.read_only else "rw"]
    argv.append("--")
    own_terminal = tty and not pid.host
    return argv + _capsh(str(scratch / "r"), security, program, args, own_terminal=own_terminal)


def exec_argv(
    init: int,
    program: str,
    args: Sequence[str],
    *,
    scratch: Path,
    security: SecurityPlan,
    own_terminal: bool,
) -> list[str]:
    """The argv running `program` in the running container whose first process is `init`.

    `own_terminal`: a terminal, in a PID namespace that is not the machine's.
    """
    enter = [_tool("nsenter"), "--target", str(init), "--mount", "--uts", "--net", "--pid"]
    root = str(scratch / "r")
    return [*enter, "--", *_capsh(root, security, program, args, own_terminal=own_terminal)]


def holder_argv() -> list[str]:
    """The argv of the process holding a pod's shared PID namespace."""
    return [_tool("unshare"), "--pid", "--fork", "--kill-child", "--", sys.executable, "-c", PAUSE]


def _lineage(pid: int, depth: int = 3) -> list[int]:
    """`pid` and its descendants down to `depth` generations, parents first."""
    children: dict[int, list[int]] = {}
    for child, fields in proc_stats():
        children.setdefault(int(fields[1]), []).append(child)
    found, level = [pid], [pid]
    for _ in range(depth):
        level = [child for parent in level for child in children.get(parent, [])]
        found += level
    return found


def _chrooted(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/root") != "/"
    except OSError:
        return False


def _other_pid_namespace(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") != os.readlink("/proc/self/ns/pid")
    except OSError:
        return False


async def _find(pid: int, running: Callable[[], bool], test: Callable[[int], bool]) -> int | None:
    for _ in range(POLLS):
        found = next((p for p in _lineage(pid) if test(p)), None)
        if found is not None or not running():
            return found
        await asyncio.sleep(POLL_INTERVAL)
    return None


async def container_init(pid: int, running: Callable[[], bool]) -> int | None:
    """The container's own first process (chrooted) under launcher `pid`, once it is there."""
    return await _find(pid, running, _chrooted)


async def holder_init(pid: int, running: Callable[[], bool]) -> int | None:
    """PID 1 of the namespace that holder `pid` created, once it is there."""
    return await _find(pid, running, _other_pid_namespace)
