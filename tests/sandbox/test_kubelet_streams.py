"""The exec/attach WebSocket streams over real processes, without the API server around them."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from retina_tui.sandbox.processes import Process, Sink
from retina_tui.sandbox.streams import SpawnError, StreamParams, StreamRegistry, serve
from retina_tui.sessions import protocol

PID_RE = re.compile(rb"pid=(\d+)\r\n")
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/root", "TERM": "xterm"}


@dataclass
class Harness:
    url: str
    registry: StreamRegistry
    container: dict[str, Process] = field(default_factory=dict)
    execs: list[Process] = field(default_factory=list)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    registry = StreamRegistry()
    holder = Harness("", registry)

    async def exec_handler(request: web.Request) -> web.StreamResponse:
        params = StreamParams.from_request(request)

        async def start(sink: Sink) -> Process:
            if params.command[0] == "no-such-command":
                raise SpawnError('exec: "no-such-command": executable file not found in $PATH')
            process = await Process.spawn(
                params.command, env=ENV, tty=params.tty, stdin=params.stdin, sink=sink
            )
            holder.execs.append(process)
            return process

        return await serve(
            request, registry, "exec", params, start, command_text=" ".join(params.command)
        )

    async def attach_handler(request: web.Request) -> web.StreamResponse:
        params = StreamParams.from_request(request)

        async def start(sink: Sink) -> Process:
            process = holder.container["main"]
            process.subscribe(sink)
            return process

        return await serve(request, registry, "attach", params, start)

    app = web.Application()
    app.router.add_get("/exec", exec_handler)
    app.router.add_get("/attach", attach_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    holder.url = f"http://127.0.0.1:{port}"
    try:
        yield holder
    finally:
        for process in [*holder.container.values(), *holder.execs]:
            await process.close()
        await runner.cleanup()


@dataclass
class Received:
    stdout: bytes = b""
    stderr: bytes = b""
    status: protocol.ExitStatus | None = None


async def collect(
    ws: aiohttp.ClientWebSocketResponse, until: Callable[[Received], bool] | None = None
) -> Received:
    got = Received()
    async with asyncio.timeout(15):
        async for message in ws:
            if message.type != aiohttp.WSMsgType.BINARY:
                continue
            frame = protocol.decode(message.data)
            if frame.channel == protocol.STDOUT:
                got.stdout += frame.data
            elif frame.channel == protocol.STDERR:
                got.stderr += frame.data
            elif frame.channel == protocol.ERROR:
                got.status = protocol.parse_status(frame.data)
            if until is not None and until(got):
                break
    return got


def connect(
    session: aiohttp.ClientSession, url: str, params: list[tuple[str, str]], proto: str
) -> Awaitable[aiohttp.ClientWebSocketResponse]:
    return session.ws_connect(url, params=params, protocols=(proto,))


@pytest.mark.parametrize("proto", [protocol.PROTOCOL_V5, protocol.PROTOCOL_V4])
async def test_exec_without_tty_separates_stdout_stderr_and_reports_the_exit_code(
    harness: Harness, proto: str
) -> None:
    params = [("command", "sh"), ("command", "-c"), ("command", "echo out; echo err >&2; exit 3")]
    async with (
        aiohttp.ClientSession() as session,
        await connect(session, harness.url + "/exec", params, proto) as ws,
    ):
        assert ws.protocol == proto
        got = await collect(ws)
    assert got.stdout == b"out\n"
    assert got.stderr == b"err\n"
    assert got.status is not None and got.status.code == 3
    assert got.status.reason == protocol.REASON_NON_ZERO_EXIT


async def test_exec_success_sends_a_success_status(harness: Harness) -> None:
    params = [("command", "echo"), ("command", "hi")]
    async with (
        aiohttp.ClientSession() as session,
        await connect(session, harness.url + "/exec", params, protocol.PROTOCOL_V5) as ws,
    ):
        got = await collect(ws)
    assert got.stdout == b"hi\n"
    assert got.status is not None and got.status.success


async def test_exec_that_cannot_start_reports_the_failure(harness: Harness) -> None:
    params = [("command", "no-such-command")]
    async with (
        aiohttp.ClientSession() as session,
        await connect(session, harness.url + "/exec", params, protocol.PROTOCOL_V5) as ws,
    ):
        got = await collect(ws)
    assert got.status is not None and got.status.code is None
    assert "executable file not found" in got.status.message


async def test_v5_half_close_ends_stdin(harness: Harness) -> None:
    params = [("command", "cat"), ("stdin", "true")]
    async with (
        aiohttp.ClientSession() as session,
        await connect(session, harness.url + "/exec", params, protocol.PROTOCOL_V5) as ws,
    ):
        await ws.send_bytes(protocol.encode(protocol.STDIN, b"hello through cat\n"))
        await ws.send_bytes(protocol.encode_close(protocol.STDIN))
        got = await collect(ws)
    assert got.stdout == b"hello through cat\n"
    assert got.status is not None and got.status.success


async def test_tty_exec_applies_resize_to_the_terminal(harness: Harness) -> None:
    params = [
        ("command", "sh"),
        ("command", "-c"),
        ("command", "stty size; read line; stty size"),
        ("stdin", "true"),
        ("tty", "true"),
    ]
    async with (
        aiohttp.ClientSession() as session,
        await connect(session, harness.url + "/exec", params, protocol.PROTOCOL_V5) as ws,
    ):
        first = await collect(ws, lambda got: b"24 80" in got.stdout)
        await ws.send_bytes(protocol.encode_resize(123, 45))
        await ws.send_bytes(protocol.encode(protocol.STDIN, b"\r"))
        rest = await collect(ws)
    assert b"24 80" in first.stdout
    assert b"45 123" in rest.stdout
    assert rest.status is not None and rest.status.success


async def test_attach_fans_out_output_and_survives_detach_and_drop(harness: Harness) -> None:
    harness.container["main"] = await Process.spawn(["sh"], env=ENV, stdin=True)
    main = harness.container["main"]
    params = [("stdin", "true"), ("stdout", "true"), ("stderr", "true")]
    async with aiohttp.ClientSession() as session:
        one = await connect(session, harness.url + "/attach", params, protocol.PROTOCOL_V5)
        two = await connect(session, harness.url + "/attach", params, protocol.PROTOCOL_V5)
        await one.send_bytes(protocol.encode(protocol.STDIN, b"echo fan-out\n"))
        got_one = await collect(one, lambda got: b"fan-out" in got.stdout)
        got_two = await collect(two, lambda got: b"fan-out" in got.stdout)
        assert b"fan-out\n" in got_one.stdout and b"fan-out\n" in got_two.stdout

        await one.close()
        await two.send_bytes(protocol.encode(protocol.STDIN, b"echo still-here\n"))
        got_two = await collect(two, lambda got: b"still-here" in got.stdout)
        assert main.running

        assert harness.registry.drop_all() == 1
        assert await two.receive() is not None
        assert two.closed
        assert main.running

        three = await connect(session, harness.url + "/attach", params, protocol.PROTOCOL_V5)
        await three.send_bytes(protocol.encode(protocol.STDIN, b"echo back; exit 4\n"))
        got_three = await collect(three)
        await three.close()
    assert got_three.stdout == b"back\n"
    # As the kubelet's ServeAttach: Success whatever the exit code.
    assert got_three.status is not None and got_three.status.success
    assert await main.wait() == 4


async def test_exec_client_leaving_hangs_up_its_terminal(harness: Harness) -> None:
    params = [("command", "sh"), ("stdin", "true"), ("tty", "true")]
    async with aiohttp.ClientSession() as session:
        ws = await connect(session, harness.url + "/exec", params, protocol.PROTOCOL_V5)
        await ws.send_bytes(protocol.encode(protocol.STDIN, b"echo pid=$$\r"))
        got = await collect(ws, lambda got: PID_RE.search(got.stdout) is not None)
        match = PID_RE.search(got.stdout)
        assert match is not None
        pid = int(match.group(1))
        await ws.close()
    (shell,) = harness.execs
    assert shell.pid == pid
    async with asyncio.timeout(10):
        assert await shell.wait() == 128 + signal.SIGHUP
