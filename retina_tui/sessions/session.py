"""The UI-free debug session: start, pump bytes, survive drops, end cleanly.

`Session` holds everything common to pod and node sessions: the phase a UI observes,
output delivery (callback and/or async iterator), stdin and resizes, the attach loop
that re-attaches to the same container when the WebSocket drops while the container
still runs, and the guarantee that whatever the session created is cleaned up however
it ends (remote exit, close, cancellation, error). Subclasses say how the container
comes to exist (`_prepare`), where it is, and what cleanup means.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from retina_tui.errors import NotFoundError, RetinaTuiError, SessionError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.watch import Backoff
from retina_tui.sessions import protocol
from retina_tui.sessions.specs import Phase, new_session_id
from retina_tui.sessions.stream import AttachStream, Ended, Output, open_attach
from retina_tui.sessions.wait import (
    ContainerState,
    container_state,
    follow_events,
    wait_running,
)

DEFAULT_SIZE = (80, 24)
MAX_PENDING_INPUT = 64 * 1024
REATTACH_GIVE_UP_SECONDS = 60.0
REDRAW_WAIT_SECONDS = 0.3
"""After the first (one bigger) size of an attach, how long to wait for the redraw."""
EXIT_SETTLE_SECONDS = 1.0
CLOSE_GRACE_SECONDS = 2.0
END_INPUT_QUIET_SECONDS = 0.3
"""At end of input, the EOF character is typed once the shell printed nothing this long."""
END_INPUT_REPEAT_SECONDS = 1.0
CLOSED = -1
PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff"})
"""What wait() returns for a session that close() ended before its shell exited."""


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Stop a task: cancel it, then wait until it has finished its cleanup.

    The task's own cancellation (and a RetinaTuiError it ends with) is absorbed; a
    cancellation of the caller while it waits is not.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if not task.done():
            raise
    except RetinaTuiError:
        pass


class Session(ABC):
    """A shell in a container, driven by a UI or the CLI without knowing Kubernetes."""

    close_grace_seconds: float = CLOSE_GRACE_SECONDS
    """How long close() lets the shell end by itself before it stops the session."""

    def __init__(
        self,
        client: KubeClient,
        *,
        instance_id: str | None = None,
        on_phase: Callable[[Phase], None] | None = None,
        on_output: Callable[[bytes], None] | None = None,
        explain_deletion: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self.client = client
        self.explain_deletion = explain_deletion
        """Says who deleted a pod in a namespace under a running shell (the supervisor)."""
        self.session_id = new_session_id()
        self.instance_id = instance_id or self.session_id
        self.on_phase = on_phase
        self.on_output = on_output
        self.phase = Phase("creating")
        self.namespace = ""
        self.pod = ""
        self.container = ""
        self.timeout_seconds = 60.0
        self._size: tuple[int, int] | None = None
        self._stream: AttachStream | None = None
        self._pump: asyncio.Task[int] | None = None
        self._queue: asyncio.Queue[bytes | None] | None = None
        self._pending: list[bytes] = []
        self._last_input = b"\n"
        self._output_since_eof = asyncio.Event()
        self._closing = False
        self._cleaned = False
        self._cleanup_error: RetinaTuiError | None = None
        self._ended = False
        self._side_tasks: list[asyncio.Task[None]] = []
        """Best-effort work started by `_prepare` that `start` waits for at its end."""
        self._companion_tasks: list[asyncio.Task[None]] = []
        """Work that runs beside the shell while it runs (`_companions`)."""
        self._size_settler: asyncio.Task[None] | None = None
        self._output_seen = asyncio.Event()
        self._pod_seen: dict[str, Any] | None = None
        """The pod as the last create/patch answered it: the wait starts from there."""

    # ---- what subclasses provide -------------------------------------------------------

    @property
    @abstractmethod
    def title(self) -> str:
        """`pod ns/name` or `node name`."""

    @property
    @abstractmethod
    def ephemeral(self) -> bool:
        """Whether the shell is an ephemeral container (else a node pod's container)."""

    @abstractmethod
    async def _prepare(self) -> None:
        """Check, then create the container; sets namespace, pod and container."""

    async def _cleanup(self) -> None:  # noqa: B027 - most sessions have nothing to remove
        """Remove what the session created; raise SessionError when that fails."""

    async def _end_shell(self) -> None:  # noqa: B027 - optional hook
        """Ask the remote shell to end (close); the default is to do nothing."""

    def _companions(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """(name, coroutine) of work to run beside the shell while it runs; none by default."""
        return []

    # ---- public API -------------------------------------------------------------------

    async def start(self) -> None:
        """Create the container, wait until it runs and attach; returns once running."""
        if self._pump is not None:
            raise SessionError(f"The session {self.title} was already started.")
        self._set_phase(Phase("creating"))
        try:
            await self._prepare()
            if not self._side_tasks:
                # While the container starts, make sure a spare connection is open, so that
                # the attach does not wait for a TCP and TLS handshake (the watch holds one).
                self._side_tasks.append(
                    asyncio.create_task(self._warm_connection(), name=f"warm {self.title}")
                )
            await self._until_running()
            stream = await open_attach(self.client, self.namespace, self.pod, self.container)
            self._stream = stream
            await self._greet(stream)
            for task in self._side_tasks:
                await task
        except BaseException as error:
            try:
                await self._stop_size_settler()
                for task in self._side_tasks:
                    await cancel_and_wait(task)
            finally:
                try:
                    await self._fail_start(error)
                finally:
                    if self._stream is not None:
                        await self._stream.close()
                        self._stream = None
            raise
        self._set_phase(Phase("running"))
        self._pump = asyncio.create_task(self._run(stream), name=f"session {self.title}")
        for name, coroutine in self._companions():
            self._companion_tasks.append(asyncio.create_task(coroutine, name=name))

    async def _until_running(self) -> None:
        events = asyncio.create_task(
            follow_events(
                self.client,
                self.namespace,
                self.pod,
                self.container,
                ephemeral=self.ephemeral,
                on_event=self._on_event,
            ),
            name=f"session-{self.session_id}-events",
        )
        try:
            await wait_running(
                self.client,
                self.namespace,
                self.pod,
                self.container,
                ephemeral=self.ephemeral,
                timeout=self.timeout_seconds,
                on_state=self._on_state,
                initial=self._pod_seen,
            )
        finally:
            await cancel_and_wait(events)

    def _on_event(self, reason: str, message: str, warning: bool) -> None:
        """While waiting, the kubelet's latest word about the container is the phase."""
        if self.phase.kind != "waiting" and self.phase.kind != "creating":
            return
        if reason in ("Started", "Created"):
            return
        self._set_phase(Phase("waiting", f"{reason}: {message}" if message else reason))

    async def provision(self) -> None:
        """Command mode: create the container and wait until it runs, without attaching.

        Commands are then exec'd into it (`sessions.command`); `release` ends it.
        """
        if self._pump is not None:
            raise SessionError(f"The session {self.title} was already started.")
        self._set_phase(Phase("creating"))
        try:
            await self._prepare()
            await self._until_running()
            for task in self._side_tasks:
                await task
        except BaseException as error:
            try:
                for task in self._side_tasks:
                    await cancel_and_wait(task)
            finally:
                await self._fail_start(error)
            raise
        self._set_phase(Phase("running"))

    async def release(self, *, keep: bool = False) -> None:
        """End a provisioned container's use: remove what was created unless `keep`."""
        if keep:
            self._cleaned = True
        try:
            await self._run_cleanup()
        finally:
            self._finish_output()
            self._set_phase(Phase("exited", "closed", None))

    async def write(self, data: bytes) -> None:
        """Send keystrokes; kept and sent after a re-attach while reconnecting."""
        if data:
            self._last_input = data[-1:]
        stream = self._stream
        if (
            stream is not None
            and not stream.closed
            and not self._pending
            and await stream.send_stdin(data)
        ):
            return
        if sum(map(len, self._pending)) + len(data) <= MAX_PENDING_INPUT:
            self._pending.append(data)

    async def end_input(self) -> None:
        """No more input (local end of file): end the remote shell as end-of-file would.

        A tty does not pass a closed stdin on (the kubelet keeps it open unless the
        container is stdinOnce), and an EOF character typed before the shell reads its
        line is lost, so it is typed as a person would: at an empty line, once the shell
        has gone quiet, and again each time it goes quiet, until the session ends.
        """
        stream = self._stream
        if stream is not None:
            await stream.close_stdin()
        if self._last_input not in (b"\n", b"\r"):
            await self.write(b"\n")
        while not self._ended:
            self._output_since_eof.clear()
            try:
                await asyncio.wait_for(self._output_since_eof.wait(), END_INPUT_QUIET_SECONDS)
            except TimeoutError:
                if self._stream is not None:
                    await self.write(b"\x04")
                    await asyncio.sleep(END_INPUT_REPEAT_SECONDS)

    async def resize(self, cols: int, rows: int) -> None:
        """Tell the remote terminal its new size (also remembered for re-attaches)."""
        if cols <= 0 or rows <= 0:
            return
        self._size = (cols, rows)
        if self._stream is not None:
            await self._stream.send_resize(cols, rows)

    async def output(self) -> AsyncIterator[bytes]:
        """Output bytes as they arrive, until the session ends (alternative to on_output)."""
        if self._queue is None:
            self._queue = asyncio.Queue()
            if self._ended:
                return
        while True:
            chunk = await self._queue.get()
            if chunk is None:
                return
            yield chunk

    async def wait(self) -> int:
        """The remote exit code once the session ended, CLOSED if close() ended it first.

        Cancelling wait() ends the session (and removes what it created) before the
        cancellation completes.
        """
        if self._pump is None:
            raise SessionError(f"The session {self.title} was not started.")
        try:
            return await asyncio.shield(self._pump)
        except asyncio.CancelledError:
            if self._closing and self._pump.done():
                return CLOSED
            await self._stop_pump()
            raise

    async def close(self) -> None:
        """End the shell and remove what was created; SessionError if removal failed."""
        self._closing = True
        pump = self._pump
        if pump is None:
            await self._run_cleanup()
            return
        if not pump.done() and self.close_grace_seconds > 0:
            await self._end_shell()
            try:
                await asyncio.wait_for(asyncio.shield(pump), self.close_grace_seconds)
            except asyncio.CancelledError:
                if not pump.done():  # close() itself was cancelled: still end the session
                    await self._stop_pump()
                    raise
            except Exception:
                pass  # how the shell ended is for wait() to report
        if not pump.done():
            await self._stop_pump()
        if self._cleanup_error is not None:
            raise self._cleanup_error

    # ---- internals --------------------------------------------------------------------

    async def _stop_pump(self) -> None:
        """Cancel the pump; if it was cancelled before it ever ran, finish in its place."""
        assert self._pump is not None
        await cancel_and_wait(self._pump)
        await self._stop_size_settler()
        await self._stop_companions()
        if self._ended:
            return
        if self._stream is not None:
            await self._stream.close()
            self._stream = None
        try:
            await self._run_cleanup()
        except RetinaTuiError as error:
            self._cleanup_error = error
            self._set_phase(Phase("failed", str(error)))
        else:
            self._set_phase(Phase("exited", "closed", None))
        finally:
            self._finish_output()

    async def _stop_companions(self) -> None:
        tasks, self._companion_tasks = self._companion_tasks, []
        for task in tasks:
            await cancel_and_wait(task)

    def _set_phase(self, phase: Phase) -> None:
        self.phase = phase
        if self.on_phase is not None:
            self.on_phase(phase)

    def _on_state(self, state: ContainerState) -> None:
        if state.kind == "running":
            return
        detail = state.reason or ("ContainerCreating" if state.kind == "absent" else state.kind)
        if state.reason in PULL_REASONS and state.message:
            detail = f"{state.reason}: {state.message}"
        self._set_phase(Phase("waiting", detail))

    def _emit(self, data: bytes) -> None:
        self._output_seen.set()
        self._output_since_eof.set()
        if self.on_output is not None:
            self.on_output(data)
        if self._queue is not None:
            self._queue.put_nowait(data)

    async def _warm_connection(self) -> None:
        with contextlib.suppress(RetinaTuiError):
            await self.client.request("GET", "/version")

    async def _greet(self, stream: AttachStream) -> None:
        """Make the shell redraw (a size one bigger, then the real one); then send any input.

        Programs redraw on SIGWINCH, but a program that reads the size after both changes
        sees no change and may not redraw; so the real size follows only once output came
        back (or after REDRAW_WAIT_SECONDS), in the background.
        """
        cols, rows = self._size or DEFAULT_SIZE
        await self._stop_size_settler()
        self._output_seen.clear()
        await stream.send_resize(cols + 1, rows + 1)
        self._size_settler = asyncio.create_task(
            self._settle_size(stream), name=f"settle size {self.title}"
        )
        pending, self._pending = self._pending, []
        for data in pending:
            await stream.send_stdin(data)

    async def _settle_size(self, stream: AttachStream) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(REDRAW_WAIT_SECONDS):
                await self._output_seen.wait()
        await stream.send_resize(*(self._size or DEFAULT_SIZE))

    async def _stop_size_settler(self) -> None:
        task, self._size_settler = self._size_settler, None
        if task is not None:
            await cancel_and_wait(task)

    async def _fail_start(self, error: BaseException) -> None:
        cleanup_error: RetinaTuiError | None = None
        try:
            await self._run_cleanup()
        except RetinaTuiError as exc:
            cleanup_error = exc
        if isinstance(error, asyncio.CancelledError):
            self._set_phase(Phase("failed", "cancelled"))
        else:
            self._set_phase(Phase("failed", str(error)))
        self._finish_output()
        if cleanup_error is not None and not isinstance(error, asyncio.CancelledError):
            raise SessionError(f"{error} Also: {cleanup_error}") from error

    async def _run_cleanup(self) -> None:
        if self._cleaned:
            return
        self._cleaned = True
        await self._cleanup()

    def _finish_output(self) -> None:
        self._ended = True
        if self._queue is not None:
            self._queue.put_nowait(None)

    async def _run(self, stream: AttachStream) -> int:
        """Pump the stream, re-attach after drops, clean up at the end; the exit code."""
        current: AttachStream | None = stream
        code: int | None = None
        failure: RetinaTuiError | None = None
        try:
            while current is not None:
                ended = await self._pump_stream(current)
                await self._stop_size_settler()
                silent = current.silent
                await current.close()
                self._stream = current = None
                status = ended.status
                if status is not None and status.success:
                    status = await self._attach_ended()
                if status is not None:
                    if status.code is None:
                        failure = SessionError(
                            f"The shell in {self.title} failed: {status.message or status.reason}."
                        )
                    elif status.code != 0 and not self._closing:
                        lost = await self._pod_lost()
                        failure = SessionError(lost) if lost else None
                    code = status.code
                    break
                if silent:
                    self.client.reset_connections()
                current, code = await self._after_drop()
        except RetinaTuiError as error:
            failure = error
        finally:
            await self._stop_size_settler()
            await self._stop_companions()
            if current is not None:
                if code is None and failure is None:
                    # Cancelled while attached: the shell should not outlive the session.
                    with contextlib.suppress(Exception):
                        await self._end_shell()
                await current.close()
            self._stream = None
            try:
                await self._run_cleanup()
            except RetinaTuiError as error:
                self._cleanup_error = failure = error
            finally:
                self._finish_output()
            if failure is not None:
                self._set_phase(Phase("failed", str(failure)))
            else:
                self._set_phase(Phase("exited", "" if code is not None else "closed", code))
        if failure is not None:
            raise failure
        return code if code is not None else 0

    async def _pump_stream(self, stream: AttachStream) -> Ended:
        async for event in stream.events():
            if isinstance(event, Output):
                self._emit(event.data)
            else:
                return event
        return Ended(None)  # pragma: no cover - events() always ends with Ended

    async def _attach_ended(self) -> protocol.ExitStatus | None:
        """The exit status after an attach ended with Success, which a kubelet sends whatever
        the exit code: the terminated container's; None (as after a drop) while it runs."""
        state = await self._settled_state()
        if state.kind != "terminated":
            return None
        return protocol.ExitStatus(state.exit_code, reason=state.reason)

    async def _after_drop(self) -> tuple[AttachStream | None, int | None]:
        """After a stream ended without status: the container's exit code, or a new stream."""
        if self._closing:
            return None, None
        state = await self._settled_state()
        backoff = Backoff(initial=0.1, cap=3.0)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + REATTACH_GIVE_UP_SECONDS
        last_error = "the container is not running"
        while True:
            if state.kind == "terminated":
                return None, state.exit_code
            if state.kind == "running":
                self._set_phase(Phase("reconnecting", last_error if backoff.attempt else ""))
                try:
                    stream = await open_attach(
                        self.client, self.namespace, self.pod, self.container
                    )
                except NotFoundError:
                    raise
                except RetinaTuiError as error:
                    last_error = str(error)
                else:
                    self._stream = stream
                    await self._greet(stream)
                    self._set_phase(Phase("running", "reconnected"))
                    return stream, None
            if loop.time() > give_up:
                raise SessionError(
                    f"Lost the shell in {self.title} and could not re-attach for "
                    f"{REATTACH_GIVE_UP_SECONDS:g} s ({last_error}); check the connection "
                    "to the cluster."
                )
            await asyncio.sleep(backoff.next_delay())
            state = await self._current_state()

    async def _read_pod(self) -> dict[str, Any] | None:
        """The session's pod; None when it cannot be read now. NotFoundError when gone."""
        try:
            return await self.client.request(
                "GET", f"/api/v1/namespaces/{self.namespace}/pods/{self.pod}"
            )
        except NotFoundError:
            raise
        except RetinaTuiError:
            return None

    async def _current_state(self) -> ContainerState:
        try:
            pod = await self._read_pod()
        except NotFoundError as error:
            raise SessionError(await self._deleted_message()) from error
        if pod is None:
            return ContainerState("running")
        return container_state(pod, self.container, ephemeral=self.ephemeral)

    async def _pod_lost(self) -> str | None:
        """Why the shell ended, when its pod was deleted under it; None when it was not."""
        try:
            pod = await self._read_pod()
        except NotFoundError:
            return await self._deleted_message()
        if pod is not None and (pod.get("metadata") or {}).get("deletionTimestamp"):
            return await self._deleted_message()
        return None

    async def _deleted_message(self) -> str:
        why = None
        if self.explain_deletion is not None:
            with contextlib.suppress(RetinaTuiError):
                why = await self.explain_deletion(self.namespace)
        return (
            f"The {self.title} shell ended because its pod {self.namespace}/{self.pod} was "
            f"deleted {why or 'by someone else (kubectl delete, an eviction or a node drain)'}; "
            "open a new session to go on."
        )

    async def _settled_state(self) -> ContainerState:
        """The container's state, giving the kubelet a moment to report an exit."""
        try:
            async with asyncio.timeout(EXIT_SETTLE_SECONDS):
                return await self._wait_terminated()
        except TimeoutError:
            return await self._current_state()

    async def _wait_terminated(self) -> ContainerState:
        from retina_tui.kube.watch import Change, watch_objects

        events = watch_objects(
            self.client,
            f"/api/v1/namespaces/{self.namespace}/pods",
            field_selector=f"metadata.name={self.pod}",
        )
        try:
            async for event in events:
                pods = [event.obj] if isinstance(event, Change) else event.items
                if not pods or (isinstance(event, Change) and event.type == "DELETED"):
                    raise SessionError(await self._deleted_message())
                state = container_state(pods[0], self.container, ephemeral=self.ephemeral)
                if state.kind == "terminated":
                    return state
        finally:
            await events.aclose()
        return ContainerState("running")  # pragma: no cover - the watch never ends
