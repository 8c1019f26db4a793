"""The process runner under the kubelet: exit codes, backpressure, sessions, termination."""

from __future__ import annotations

import asyncio
import signal

from retina_tui.sandbox.processes import Process, Sink, session_members

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


async def drain(sink: Sink) -> list[tuple[int, bytes]]:
    items = []
    async with asyncio.timeout(30):
        while (item := await sink.get()) is not None:
            items.append(item)
    return items


async def test_a_signal_death_exits_128_plus_the_signal() -> None:
    process = await Process.spawn(["sh", "-c", "kill -TERM $$"], env=ENV)
    assert await process.wait() == 128 + signal.SIGTERM


async def test_backpressure_loses_nothing() -> None:
    sink = Sink(limit=64 * 1024)
    size = 5_000_000
    process = await Process.spawn(["head", "-c", str(size), "/dev/zero"], env=ENV, sink=sink)
    chunks = await drain(sink)
    assert sum(len(data) for _, data in chunks) == size
    assert await process.wait() == 0
    await process.close()


async def test_a_closed_sink_never_blocks_the_process() -> None:
    sink = Sink(limit=1024)
    process = await Process.spawn(["head", "-c", "1000000", "/dev/zero"], env=ENV, sink=sink)
    process.unsubscribe(sink)
    async with asyncio.timeout(30):
        assert await process.wait() == 0
    assert await sink.get() is None


async def test_container_exit_takes_its_background_jobs_along() -> None:
    sink = Sink()
    process = await Process.spawn(
        ["sh", "-c", "sleep 1000 & echo $!"], env=ENV, sink=sink, kill_session_on_exit=True
    )
    out = b"".join(data for _, data in await drain(sink))
    assert await process.wait() == 0
    background = int(out)
    assert background not in session_members(process.pid)
    assert not _alive(background)


async def test_terminate_escalates_to_sigkill_after_the_grace_period() -> None:
    sink = Sink()
    process = await Process.spawn(
        ["sh", "-c", "trap '' TERM HUP; echo ready; while true; do sleep 0.1; done"],
        env=ENV,
        sink=sink,
    )
    assert await sink.get() == (1, b"ready\n")
    assert await process.terminate(0.3) == 128 + signal.SIGKILL
    assert not process.running


async def test_tty_close_stdin_sends_end_of_file() -> None:
    sink = Sink()
    process = await Process.spawn(["cat"], env=ENV, tty=True, sink=sink)
    await process.write(b"typed\n")
    process.close_stdin()
    async with asyncio.timeout(30):
        assert await process.wait() == 0
    out = b"".join(data for _, data in await drain(sink))
    assert out.count(b"typed") == 2  # the terminal's echo, then cat's copy


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


async def test_resize_reaches_the_program() -> None:
    sink = Sink()
    script = "trap 'stty size' WINCH; echo ready; while true; do sleep 0.05; done"
    process = await Process.spawn(["bash", "-c", script], env=ENV, tty=True, sink=sink)
    seen = b""
    async with asyncio.timeout(30):
        while b"ready" not in seen:
            item = await sink.get()
            assert item is not None
            seen += item[1]
        process.resize(91, 37)
        while b"37 91" not in seen:
            item = await sink.get()
            assert item is not None
            seen += item[1]
    await process.terminate(1.0)
    await process.close()
    assert not process.running
