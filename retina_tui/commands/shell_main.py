"""The running half of `retina-tui shell`: connect, open the session, bridge the terminal.

Imported only once the flags are checked, so `retina-tui --help` and a usage error never
pay for asyncio, the client or the session engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from retina_tui.commands.local_io import raw_terminal, stdin_fd, write_all
from retina_tui.errors import RetinaTuiError
from retina_tui.terminal.clipboard import ClipboardFilter

if TYPE_CHECKING:
    from retina_tui.commands.shell import ShellOptions
    from retina_tui.config import Settings
    from retina_tui.kube.client import KubeClient
    from retina_tui.kube.overrides import ConnectionOverrides
    from retina_tui.sessions.session import Session
    from retina_tui.sessions.specs import Phase
    from retina_tui.supervisor import Supervisor
    from retina_tui.terminal.asciicast import Recorder


def run(
    options: ShellOptions,
    settings: Settings,
    *,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
) -> int:
    """Run the session on an event loop; SIGINT/SIGTERM/SIGHUP end it cleanly."""
    return asyncio.run(
        _main(options, settings, kubeconfig=kubeconfig, context=context, overrides=overrides)
    )


async def _main(
    options: ShellOptions,
    settings: Settings,
    *,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
) -> int:
    from retina_tui.commands.lifecycle import Interrupts
    from retina_tui.kube.client import connect

    # Problems of the cleanup supervisor are shown once through on_problem, not logged again.
    logging.getLogger("retina_tui.supervisor").addHandler(logging.NullHandler())
    with Interrupts() as interrupts:
        try:
            client = await connect(
                kubeconfig=kubeconfig, context=context, namespace=None, overrides=overrides
            )
            try:
                if options.command:
                    return await _command(client, options, settings)
                if options.kind == "pod":
                    session = _build_session(client, options, settings, None)
                    await _offer_reuse(client, session, reuse=options.reuse)
                    return await _drive(session, options)
                # A node pod is protected by this process's Lease while the session runs
                # (and reaped if the process dies), as the interface does.
                from retina_tui.supervisor import Supervisor

                async with Supervisor(
                    client,
                    settings,
                    on_problem=lambda text: _stderr_line(f"retina-tui: note: {text}"),
                ) as supervisor:
                    session = _build_session(client, options, settings, supervisor)
                    return await _drive(session, options)
            finally:
                await client.close()
        except asyncio.CancelledError:
            if not interrupts.received:
                raise
            return interrupts.exit_code


async def _command(client: KubeClient, options: ShellOptions, settings: Settings) -> int:
    """Command mode: the command in the target's command-mode container."""
    from retina_tui.commands.run_command import run_command
    from retina_tui.sessions.command import open_node_host, open_pod_host
    from retina_tui.sessions.node import NodeSession
    from retina_tui.sessions.pod import PodSession

    argv = list(options.command)
    if options.kind == "pod":
        session = _build_session(client, options, settings, None)
        assert isinstance(session, PodSession)
        host = await open_pod_host(
            client, session.spec, instance_id=session.instance_id, on_phase=session.on_phase
        )
        try:
            return await run_command(host, argv, tty=options.tty)
        finally:
            await host.close()
    from retina_tui.supervisor import Supervisor

    async with Supervisor(
        client, settings, on_problem=lambda text: _stderr_line(f"retina-tui: note: {text}")
    ) as supervisor:
        session = _build_session(client, options, settings, supervisor)
        assert isinstance(session, NodeSession)
        host = await open_node_host(
            client,
            session.spec,
            instance_id=supervisor.instance_id,
            on_phase=session.on_phase,
            before_create=supervisor.ensure_lease,
            explain_deletion=supervisor.explain_deletion,
        )
        try:
            return await run_command(host, argv, tty=options.tty)
        finally:
            await host.close()


async def _offer_reuse(client: KubeClient, session: Session, *, reuse: bool) -> None:
    """--reuse: attach to the pod's running retina-tui shell; else say that one exists."""
    from dataclasses import replace

    from retina_tui.sessions.pod import PodSession, find_pod_shells

    assert isinstance(session, PodSession)
    spec = session.spec
    try:
        shells = await find_pod_shells(client, spec.namespace, spec.pod)
    except RetinaTuiError:
        if reuse:
            raise
        return  # the session reports what is wrong with the pod
    if not shells:
        if reuse:
            _stderr_line(
                f"retina-tui: pod {spec.namespace}/{spec.pod} has no running retina-tui "
                "shell to re-use; adding one."
            )
        return
    newest = max(shells, key=lambda shell: str(shell.record.get("created", "")))
    if reuse:
        session.spec = replace(spec, attach_to=newest.container)
        _stderr_line(f"retina-tui: re-attaching to {newest.container}")
        return
    who = newest.record.get("user")
    _stderr_line(
        f"retina-tui: pod {spec.namespace}/{spec.pod} already has a running retina-tui shell "
        f"{newest.container}{f' of {who}' if who else ''}; --reuse re-attaches to it."
    )


def _build_session(
    client: KubeClient, options: ShellOptions, settings: Settings, supervisor: Supervisor | None
) -> Session:
    from retina_tui.sessions.node import NodeSession
    from retina_tui.sessions.pod import PodSession
    from retina_tui.sessions.specs import NodeSessionSpec, PodSessionSpec

    debug = settings.debug
    caps = options.capabilities
    # A command's stderr that goes to a file or pipe holds the remote stderr only.
    quiet = bool(options.command) and not os.isatty(2)
    on_phase: Callable[[Phase], None] = (lambda _phase: None) if quiet else _phase_printer()
    if supervisor is None:
        from retina_tui.supervisor.ownership import instance_id_from_env

        instance = instance_id_from_env()
    else:
        instance = supervisor.instance_id
    if options.kind == "pod":
        pod_spec = PodSessionSpec.from_settings(
            debug,
            namespace=options.namespace or client.namespace,
            pod=options.name,
            target=options.target,
            image=options.image,
            capabilities=caps,
            profile=options.profile,
            timeout_seconds=options.timeout,
            shell=options.shell,
            linux_flags=options.linux_flags,
            windows_image=options.explicit_image,
        )
        return PodSession(client, pod_spec, instance_id=instance, on_phase=on_phase)
    node_spec = NodeSessionSpec.from_settings(
        debug,
        node=options.name,
        namespace=options.namespace or debug.namespace or client.namespace,
        image=options.image,
        capabilities=caps,
        profile=options.profile,
        mount_host_fs=options.mount,
        host_fs_write=options.write,
        host_pid=options.host_pid,
        apparmor_unconfined=options.apparmor,
        seccomp_unconfined=options.seccomp,
        timeout_seconds=options.timeout,
        shell=options.shell,
        windows_user=options.windows_user,
        linux_flags=options.linux_flags,
        windows_image=options.explicit_image,
    )
    session = NodeSession(
        client,
        node_spec,
        instance_id=instance,
        on_phase=on_phase,
        before_create=supervisor.ensure_lease if supervisor is not None else None,
    )
    if supervisor is not None:
        session.explain_deletion = supervisor.explain_deletion
    return session


def _phase_printer() -> Callable[[Phase], None]:
    """Progress on stderr: until the shell runs, then only losing and regaining it.

    Once the shell owns the terminal, a status line starts on a line of its own, so it
    never lands inside the remote prompt; the shell redraws its prompt after a re-attach.
    """
    last: list[str] = []
    running: list[bool] = []

    def show(phase: Phase) -> None:
        if phase.kind == "running":
            if phase.detail != "reconnected":
                running.append(True)
                return
            text = "retina-tui: reconnected"
        elif phase.kind in ("creating", "waiting", "reconnecting"):
            text = f"retina-tui: {phase}"
        else:
            return
        if not last or last[-1] != text:
            # While reconnecting no remote output comes: the previous status line ended
            # the line already.
            after_status = bool(last) and last[-1].startswith("retina-tui: reconnecting")
            last.append(text)
            _stderr_line(text, fresh_line=bool(running) and not after_status)

    return show


def _stderr_line(text: str, *, fresh_line: bool = False) -> None:
    in_fd = stdin_fd()
    raw = in_fd >= 0 and os.isatty(in_fd)
    end = "\r\n" if raw else "\n"
    start = end if fresh_line and raw else ""
    with contextlib.suppress(OSError):
        sys.stderr.write(start + text + end)
        sys.stderr.flush()


async def _drive(session: Session, options: ShellOptions) -> int:
    """Start the session, then bridge it to the local terminal until it ends."""
    out_fd = sys.stdout.fileno()
    clipboard = ClipboardFilter()
    in_fd = stdin_fd()
    interactive = in_fd >= 0 and os.isatty(in_fd)
    size = os.get_terminal_size(in_fd) if interactive else None
    if size is not None:
        await session.resize(size.columns, size.lines)
    recorder = _recorder(session, options, size)

    def output(data: bytes) -> None:
        write_all(out_fd, clipboard.feed(data))
        if recorder is not None:
            recorder.output(data)

    session.on_output = output
    try:
        await session.start()
    except BaseException:
        if recorder is not None:  # nothing ran: no recording of it
            recorder.close()
            with contextlib.suppress(OSError):
                recorder.path.unlink()
        raise
    if recorder is not None:
        recorder.rebase()
    try:
        with raw_terminal(in_fd if interactive else -1):
            return await _bridge(session, in_fd, interactive, recorder)
    finally:
        try:
            await session.close()
        finally:
            write_all(out_fd, clipboard.flush())
            if recorder is not None:
                recorder.close()
                _stderr_line(f"retina-tui: {recorder.error or f'recorded to {recorder.path}'}")


def _recorder(
    session: Session, options: ShellOptions, size: os.terminal_size | None
) -> Recorder | None:
    """The session's recording in --record DIR (RecordingError before anything is created)."""
    if options.record_dir is None:
        return None
    from retina_tui.terminal.asciicast import Recorder

    cols, rows = (size.columns, size.lines) if size is not None else (80, 24)
    term = os.environ.get("TERM", "")
    return Recorder.create(
        options.record_dir,
        session.title,
        width=cols,
        height=rows,
        env={"TERM": term} if term else None,
        record_input=options.record_input,
    )


async def _bridge(
    session: Session, in_fd: int, interactive: bool, recorder: Recorder | None = None
) -> int:
    """Keystrokes and resizes to the session until it ends; its exit code."""
    loop = asyncio.get_running_loop()
    inputs: asyncio.Queue[bytes | None] = asyncio.Queue()
    sizes: asyncio.Queue[tuple[int, int]] = asyncio.Queue()

    async def pump_input() -> None:
        while (data := await inputs.get()) is not None:
            if recorder is not None:
                recorder.input(data)
            await session.write(data)
        await session.end_input()

    async def pump_sizes() -> None:
        while True:
            size = await sizes.get()
            if recorder is not None:
                recorder.resize(*size)
            await session.resize(*size)

    def on_input() -> None:
        try:
            data = os.read(in_fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(in_fd)
        inputs.put_nowait(data or None)

    def on_winch() -> None:
        size = os.get_terminal_size(in_fd)
        sizes.put_nowait((size.columns, size.lines))

    reading = False
    if in_fd >= 0:
        try:
            loop.add_reader(in_fd, on_input)
            reading = True
        except PermissionError:
            # A regular file or /dev/null cannot be polled; it never blocks, so read it all.
            while data := os.read(in_fd, 65536):
                inputs.put_nowait(data)
            inputs.put_nowait(None)
    if interactive:
        loop.add_signal_handler(signal.SIGWINCH, on_winch)
        on_winch()  # the terminal may have been resized while the pod started
    tasks = [
        asyncio.create_task(pump_input(), name="shell stdin"),
        asyncio.create_task(pump_sizes(), name="shell resize"),
    ]
    try:
        return await session.wait()
    finally:
        if reading:
            loop.remove_reader(in_fd)
        if interactive:
            loop.remove_signal_handler(signal.SIGWINCH)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, RetinaTuiError):
                await task
