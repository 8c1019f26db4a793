"""The detach watchdog: a pod debug shell whose client is gone ends by itself.

Ephemeral containers cannot be removed through the API, and nothing inside a container
tells whether anyone is attached. So the shell of a pod session runs under a small POSIX
sh wrapper (`WRAPPER`): a background loop inside the container ends the shell once a
heartbeat file has not been touched for the detach limit. A live session touches that
file with `exec` every `heartbeat_interval(limit)` seconds while it runs; a client that
was SIGKILLed, a laptop that sleeps, or a network that stays cut stops touching it, and
the shell gets SIGHUP (then SIGKILL), which ends the container.

The wrapper needs only `sh`, `sleep`, `touch`, `stat`, `date` and `kill` (coreutils or
busybox); when the heartbeat file cannot be written it runs the shell without a watchdog.
The idle logout (TMOUT) stays as a second, independent limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

from retina_tui.errors import RetinaTuiError
from retina_tui.kube.client import KubeClient
from retina_tui.sessions.execute import run_command

log = logging.getLogger("retina_tui.sessions")

HEARTBEAT_DIR: Final = "/tmp"
WRAPPER_NAME: Final = "retina-tui-shell"
"""The wrapper's $0, as `ps` in the container shows it."""
KILL_GRACE_SECONDS: Final = 5
MAX_CHECK_SECONDS: Final = 30
MAX_HEARTBEAT_SECONDS: Final = 60.0

# $1: limit in seconds (0: no watchdog), $2: heartbeat file, then the shell to run (if none:
# bash -l when the image has bash, else sh).
WRAPPER: Final = f"""
limit=$1 beat=$2; shift 2
if [ "$limit" -gt 0 ] 2>/dev/null && touch "$beat" 2>/dev/null; then
  shell=$$
  period=$((limit / 4)); [ "$period" -ge 1 ] || period=1
  [ "$period" -le {MAX_CHECK_SECONDS} ] || period={MAX_CHECK_SECONDS}
  (
    trap '' INT QUIT TSTP TTIN TTOU HUP
    exec </dev/null >/dev/null 2>&1
    while sleep "$period"; do
      kill -0 "$shell" 2>/dev/null || exit 0
      last=$(stat -c %Y "$beat" 2>/dev/null) || {{ touch "$beat"; continue; }}
      if [ $(($(date +%s) - last)) -ge "$limit" ]; then
        kill -HUP "$shell"; sleep {KILL_GRACE_SECONDS}; kill -KILL "$shell"; exit 0
      fi
    done
  ) &
fi
[ "$#" -gt 0 ] && exec "$@"
command -v bash >/dev/null 2>&1 && exec bash -l
exec sh
"""


def heartbeat_path(container: str) -> str:
    """The heartbeat file of one debug container (the name is unique in its pod)."""
    return f"{HEARTBEAT_DIR}/.retina-tui-{container}.alive"


KEEPER: Final = ("sleep", "2147483647")
"""What a command-mode container runs: nothing, until its watchdog or its pod ends it."""
TOUCH_THEN_EXEC: Final = 'touch "$1" 2>/dev/null; shift; exec "$@"'
"""Runs a command in a command-mode container, refreshing the heartbeat as it starts."""


def wrapped_command(
    container: str, limit_seconds: int, *, keeper: bool = False, shell: Sequence[str] = ()
) -> list[str]:
    """The container command: the wrapper, its limit and heartbeat file, then `shell` (the
    default shell when empty), or the idle keeper of command mode."""
    return ["sh", "-c", WRAPPER, WRAPPER_NAME, str(max(0, limit_seconds)),
            heartbeat_path(container), *(KEEPER if keeper else shell)]  # fmt: skip


def _wrapped(pod: dict[str, Any], container: str) -> list[str] | None:
    for spec in (pod.get("spec") or {}).get("ephemeralContainers") or []:
        if isinstance(spec, dict) and spec.get("name") == container:
            command = spec.get("command")
            if isinstance(command, list) and command[:4] == ["sh", "-c", WRAPPER, WRAPPER_NAME]:
                return [str(part) for part in command]
    return None


def is_keeper(pod: dict[str, Any], container: str) -> bool:
    """Whether a debug container is a command-mode one (commands are exec'd into it)."""
    command = _wrapped(pod, container)
    return command is not None and tuple(command[6:]) == KEEPER


def exec_argv(container: str, argv: list[str], *, watched: bool) -> list[str]:
    """`argv` as exec'd into a command-mode container: touching its heartbeat first."""
    if not watched:
        return list(argv)
    return ["sh", "-c", TOUCH_THEN_EXEC, WRAPPER_NAME, heartbeat_path(container), *argv]


def retire_argv(container: str) -> list[str]:
    """A command that makes the watchdog end a command-mode container at its next check."""
    return ["touch", "-d", "@0", heartbeat_path(container)]


def watchdog_limit(pod: dict[str, Any], container: str) -> int:
    """The detach limit a running debug container was started with (0: no watchdog)."""
    command = _wrapped(pod, container)
    if command is not None and len(command) > 4 and command[4].isdigit():
        return int(command[4])
    return 0


def heartbeat_interval(limit_seconds: int) -> float:
    """How often a live session touches the heartbeat: a third of the limit, at most 60 s."""
    return min(MAX_HEARTBEAT_SECONDS, max(1.0, limit_seconds / 3))


async def keep_alive(
    client: KubeClient, namespace: str, pod: str, container: str, limit_seconds: int
) -> None:
    """Touch the heartbeat file until cancelled; failures are retried at the next beat."""
    interval = heartbeat_interval(limit_seconds)
    argv = ["touch", heartbeat_path(container)]
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            result = await run_command(
                client, namespace, pod, container, argv, time_limit=max(1.0, interval)
            )
        except RetinaTuiError as error:
            if not failing:
                log.warning("heartbeat of %s/%s (%s) failed: %s", namespace, pod, container, error)
            failing = True
            continue
        if result.exit_code != 0 and not failing:
            log.warning(
                "heartbeat of %s/%s (%s) exited %s: %s",
                namespace,
                pod,
                container,
                result.exit_code,
                result.stderr.decode(errors="replace").strip() or result.message,
            )
        failing = result.exit_code != 0
