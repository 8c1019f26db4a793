"""Leaving the app on every path: signals, the bound on cleanup, exit statuses, the report.

SIGINT, SIGTERM and SIGHUP quit like the quit key: every session is ended, node debug
pods are deleted and the supervisor deletes the Lease. Cleanup is bounded
(`ui.shutdown_timeout_seconds`); a second signal says what is still being removed, a
third leaves at once. Whatever could not be removed is said on stderr once the screen
is restored, with the `retina-tui gc` command that removes it later.

Exit statuses: 0 after a normal quit, 1 after a crash or a quit while the cluster could
not be used (2 when the kubeconfig was at fault), 128 + the signal's number after a
signal (130 SIGINT, 129 SIGHUP, 143 SIGTERM), as shells report a process ended by that
signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

EXIT_OK = 0
EXIT_FAILED = 1
QUIT_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_SECONDS = 0.5
"""After the bound, how long cancelled work gets to unwind before it is abandoned."""

_PyHandler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def signal_status(signum: int) -> int:
    """The exit status after a signal: 128 + its number, as a shell reports it."""
    return 128 + signum


class SignalHandlers:
    """SIGINT, SIGTERM and SIGHUP delivered to `callback` on one event loop, until removed.

    The handlers they replace are put back on removal, so that many apps can run one
    after the other in one process (as the tests do). Textual's own handlers (SIGTSTP,
    SIGCONT, SIGWINCH) are not touched.
    """

    def __init__(self, callback: Callable[[int], None]) -> None:
        self._callback = callback
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: dict[int, _PyHandler] = {}

    @property
    def installed(self) -> bool:
        return self._loop is not None

    def install(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Route the signals to the callback; False where that is impossible (not the main
        thread, or no signal support)."""
        if self._loop is not None:
            return True
        previous: dict[int, _PyHandler] = {sig: signal.getsignal(sig) for sig in QUIT_SIGNALS}
        done: list[int] = []
        try:
            for signum in QUIT_SIGNALS:
                loop.add_signal_handler(signum, self._callback, signum)
                done.append(signum)
        except (ValueError, RuntimeError, NotImplementedError):
            for signum in done:
                loop.remove_signal_handler(signum)
                self._restore(signum, previous[signum])
            return False
        self._loop, self._previous = loop, previous
        return True

    def remove(self) -> None:
        """Put the previous handlers back; idempotent."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        for signum in QUIT_SIGNALS:
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(signum)
            self._restore(signum, self._previous.get(signum))
        self._previous = {}

    @staticmethod
    def _restore(signum: int, handler: _PyHandler) -> None:
        if handler is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, handler)


@dataclass(frozen=True, slots=True)
class Remaining:
    """What quitting has not removed yet."""

    pods: tuple[tuple[str, str], ...] = ()
    """(namespace, name) of node debug pods not yet deleted."""
    leases: tuple[tuple[str, str], ...] = ()
    """(namespace, name) of this instance's Leases not yet released."""
    sessions: int = 0
    """Sessions still ending, node sessions included."""
    embedded_cluster: bool = False
    """The demo's embedded cluster is still stopping."""

    @property
    def in_cluster(self) -> list[str]:
        """Objects left in the cluster, in words."""
        return [f"debug pod {ns}/{name}" for ns, name in self.pods] + [
            f"lease {ns}/{name}" for ns, name in self.leases
        ]

    def describe(self) -> str:
        """What is still being removed, for a person ("" when nothing is)."""
        parts = self.in_cluster
        if not parts and self.sessions:
            parts.append(f"{self.sessions} session(s)")
        if self.embedded_cluster:
            parts.append("the demo cluster (its processes and network namespaces)")
        return _join(parts)


def still_removing(remaining: Remaining) -> str:
    """The answer to a second signal during cleanup."""
    what = remaining.describe()
    if not what:
        return "Nothing is left to remove; leaving now."
    return (
        f"Still removing {what}; send the signal once more to leave at once "
        "and clean up later with `retina-tui gc`."
    )


def gc_commands(kubeconfig: str | None, context: str | None, namespaces: Iterable[str]) -> str:
    """The `retina-tui gc` command(s) that clean the given namespaces."""
    base = ["retina-tui", "gc"]
    if kubeconfig:
        base += ["--kubeconfig", kubeconfig]
    if context:
        base += ["--context", context]
    commands = [shlex.join([*base, "-n", ns]) for ns in sorted(set(namespaces))]
    return " and ".join(f"`{command}`" for command in commands) or f"`{shlex.join(base)}`"


def left_behind(
    remaining: Remaining,
    *,
    why: str,
    kubeconfig: str | None,
    context: str | None,
    stale_seconds: float,
) -> str:
    """What an unfinished cleanup leaves in the cluster, and how to remove it ("" if nothing)."""
    parts = remaining.in_cluster
    if not parts:
        return ""
    where = f" in context {context}" if context else ""
    namespaces = [ns for ns, _ in remaining.pods] + [ns for ns, _ in remaining.leases]
    return (
        f"{why}; left behind{where}: {_join(parts)}. "
        f"{gc_commands(kubeconfig, context, namespaces)} removes them once the lease has not "
        f"been renewed for {stale_seconds:g} s."
    )


def _join(parts: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(parts) <= 2:
        return " and ".join(parts)
    return ", ".join(parts[:-1]) + f" and {parts[-1]}"


async def stop_within(task: asyncio.Task[Any], seconds: float) -> bool:
    """Cancel `task` (again whenever it goes on to wait for something else) for at most
    `seconds`; True when it finished."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not task.done():
        left = deadline - loop.time()
        if left <= 0:
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(left, 0.1))
    return True


def run_app(app: App[Any], report: Callable[[], list[str]]) -> int:
    """Run `app` on a fresh event loop; print `report()` on stderr; the exit status.

    Unlike `App.run`, what is still pending when the app has stopped gets a short grace
    and is then abandoned: the app already bounded its cleanup, and leaving must not wait
    for a request to a cluster that no longer answers.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        with contextlib.suppress(OSError):  # the terminal went away while Textual printed
            loop.run_until_complete(app.run_async())
    finally:
        # The app has done its cleanup (or given up on it); a signal now would only cut
        # short the last of it, such as the sandbox's fallback at interpreter exit.
        for signum in QUIT_SIGNALS:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signum, signal.SIG_IGN)
        _abandon_pending(loop)
        asyncio.set_event_loop(None)
        loop.close()
    _print_report(report())
    return EXIT_FAILED if app.return_code is None else app.return_code


def _abandon_pending(loop: asyncio.AbstractEventLoop) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=STOP_GRACE_SECONDS))
    with contextlib.suppress(TimeoutError):
        loop.run_until_complete(asyncio.wait_for(loop.shutdown_asyncgens(), STOP_GRACE_SECONDS))
    if any(not task.done() for task in pending):
        loop.set_exception_handler(lambda _loop, _context: None)  # abandoned on purpose


def _print_report(lines: list[str]) -> None:
    if not lines:
        return
    try:
        for line in lines:
            sys.stderr.write(f"retina-tui: {line}\n")
        sys.stderr.flush()
    except OSError:
        # The terminal is gone (a hangup): keep the interpreter's exit quiet and its status.
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, sys.stderr.fileno())
            os.dup2(null, sys.stdout.fileno())
