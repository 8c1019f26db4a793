"""What leaving says, and the signal handlers' lifetime, without an app."""

from __future__ import annotations

import asyncio
import io
import shlex
import signal
import threading

from retina_tui.ui.driver import TerminalOutput
from retina_tui.ui.shutdown import (
    QUIT_SIGNALS,
    Remaining,
    SignalHandlers,
    gc_commands,
    left_behind,
    still_removing,
)

POD = ("debug", "rtui-node-node-1-abcde")
LEASE = ("debug", "retina-tui-q3v9a0zd")


def test_what_is_left_names_pod_lease_context_and_a_runnable_gc_command() -> None:
    message = left_behind(
        Remaining(pods=(POD,), leases=(LEASE,), sessions=1),
        why="Cleanup did not finish within 10 s",
        kubeconfig="/home/me/my configs/kube",
        context="prod",
        stale_seconds=30,
    )
    assert message.startswith("Cleanup did not finish within 10 s; left behind in context prod")
    assert "debug pod debug/rtui-node-node-1-abcde and lease debug/retina-tui-q3v9a0zd" in message
    command = message.split("`")[1]
    assert shlex.split(command) == [
        "retina-tui", "gc", "--kubeconfig", "/home/me/my configs/kube",
        "--context", "prod", "-n", "debug",
    ]  # fmt: skip
    assert "not been renewed for 30 s" in message


def test_nothing_left_in_the_cluster_says_nothing() -> None:
    remaining = Remaining(sessions=2)  # pod sessions: nothing they made can be deleted
    assert left_behind(remaining, why="x", kubeconfig=None, context=None, stale_seconds=30) == ""


def test_one_gc_command_per_namespace() -> None:
    text = gc_commands(None, "c", ["b", "a", "b"])
    assert text == "`retina-tui gc --context c -n a` and `retina-tui gc --context c -n b`"


def test_a_second_signal_names_what_is_still_being_removed() -> None:
    text = still_removing(Remaining(pods=(POD,), sessions=2, embedded_cluster=True))
    assert text.startswith(
        "Still removing debug pod debug/rtui-node-node-1-abcde and the demo cluster"
    )
    assert "once more to leave at once" in text
    assert still_removing(Remaining()) == "Nothing is left to remove; leaving now."


async def test_handlers_are_put_back_as_they_were() -> None:
    before = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
    received: list[int] = []
    handlers = SignalHandlers(received.append)
    assert handlers.install(asyncio.get_running_loop())
    try:
        signal.raise_signal(signal.SIGHUP)
        await asyncio.sleep(0.05)
        assert received == [signal.SIGHUP]
    finally:
        handlers.remove()
    handlers.remove()
    assert {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS} == before


def test_off_the_main_thread_no_handler_is_installed() -> None:
    results: list[bool] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            results.append(SignalHandlers(lambda _signum: None).install(loop))
        finally:
            loop.close()

    before = {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS}
    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert results == [False]
    assert {signum: signal.getsignal(signum) for signum in QUIT_SIGNALS} == before


class HungUp(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")


def test_output_to_a_hung_up_terminal_is_dropped_not_raised() -> None:
    output = TerminalOutput(HungUp())
    assert output.write("\x1b[?1049l") == len("\x1b[?1049l")
    output.flush()
    assert output.gone
