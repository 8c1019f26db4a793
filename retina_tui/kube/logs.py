"""Container logs as lines, followed through drops and restarts without losing or repeating one.

`follow_log` asks `pods/log` for timestamped lines. When the stream drops it asks again
from the last line's time; the API server keeps `sinceTime` to the whole second, so the
answer starts up to a second early and the lines already shown are skipped by their
timestamps (and, for lines of the very same nanosecond, by how many of them were shown).
When the container's run ends the follow waits on a watch of the pod for the next run
(a restart), and ends when the pod is gone or its container will not run again; a
container still waiting to start is waited for the same way. `follow_many` interleaves
the logs of several containers in the order their lines arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from retina_tui.errors import KubeApiError, NotFoundError, RetinaTuiError
from retina_tui.kube.client import KubeClient
from retina_tui.kube.errors import is_transient
from retina_tui.kube.watch import Backoff, Change, Snapshot, watch_objects

Status = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class LogSource:
    """One container's log, and where to start reading it."""

    namespace: str
    pod: str
    container: str
    previous: bool = False
    tail: int | None = None
    since_seconds: int | None = None

    @property
    def label(self) -> str:
        return f"{self.pod}/{self.container}"


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line of a container's log, with the time the runtime stamped on it."""

    source: LogSource
    stamp: str
    stamp_ns: int
    text: str


@functools.lru_cache(maxsize=256)
def _epoch_seconds(whole: str) -> int:
    return int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp())


def parse_stamp(stamp: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fraction digits."""
    if len(stamp) == 30 and stamp[19] == "." and stamp[29] == "Z":  # what kubelets send
        return _epoch_seconds(stamp[:19]) * 1_000_000_000 + int(stamp[20:29])
    text = stamp.rstrip("Zz")
    whole, _, fraction = text.partition(".")
    return _epoch_seconds(whole) * 1_000_000_000 + int((fraction + "000000000")[:9])


def format_stamp(stamp_ns: int) -> str:
    seconds, nanos = divmod(stamp_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def split_line(source: LogSource, raw: bytes) -> LogLine | None:
    """A `timestamps=true` line as a LogLine; None for one without a timestamp."""
    text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
    stamp, sep, rest = text.partition(" ")
    if not sep and not stamp.endswith("Z"):
        return None
    try:
        stamp_ns = parse_stamp(stamp)
    except ValueError:
        return None
    return LogLine(source, stamp, stamp_ns, rest)


def _status_of(pod: dict[str, Any], source: LogSource) -> dict[str, Any]:
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for entry in status.get(key) or []:
            if entry.get("name") == source.container:
                return dict(entry)
    return {}


def _will_not_run_again(pod: dict[str, Any], status: dict[str, Any]) -> bool:
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return True
    terminated = (status.get("state") or {}).get("terminated")
    policy = (pod.get("spec") or {}).get("restartPolicy") or "Always"
    if terminated is None:
        return False
    return policy == "Never" or (policy == "OnFailure" and terminated.get("exitCode") == 0)


class _Position:
    """Where a follow is: the last line's time and how many lines of that time were shown."""

    def __init__(self) -> None:
        self.last_ns: int | None = None
        self.at_last = 0
        self.skip = 0

    def resume(self) -> None:
        self.skip = self.at_last

    def fresh(self, line: LogLine) -> bool:
        """Whether the line is new (not one shown before the stream was asked again)."""
        if self.last_ns is not None:
            if line.stamp_ns < self.last_ns:
                return False
            if line.stamp_ns == self.last_ns and self.skip > 0:
                self.skip -= 1
                return False
        if line.stamp_ns == self.last_ns:
            self.at_last += 1
        else:
            self.last_ns, self.at_last, self.skip = line.stamp_ns, 1, 0
        return True


async def _next_run(client: KubeClient, source: LogSource, seen_id: str, status: Status) -> bool:
    """Wait on a watch until the container runs with an ID other than `seen_id`.

    False when it never will: the pod is gone or its container has ended for good.
    """
    path = f"/api/v1/namespaces/{source.namespace}/pods"
    selector = f"metadata.name={source.pod}"
    told = False
    events = watch_objects(client, path, field_selector=selector)
    async with contextlib.aclosing(events):
        async for event in events:
            verdict = _judge(event, source, seen_id, status, told)
            if verdict is not None:
                return verdict
            told = True
    return False  # pragma: no cover - watch_objects never ends by itself


def _judge(
    event: Snapshot | Change, source: LogSource, seen_id: str, status: Status, told: bool
) -> bool | None:
    """True: a new run; False: none will come; None: keep waiting."""
    if isinstance(event, Snapshot):
        pod = event.items[0] if event.items else None
    else:
        pod = None if event.type == "DELETED" else event.obj
    if pod is None:
        status(f"pod {source.namespace}/{source.pod} is gone; the log ends here")
        return False
    current = _status_of(pod, source)
    state = current.get("state") or {}
    if "running" in state and current.get("containerID", "") != seen_id:
        return True
    if _will_not_run_again(pod, current):
        status(f"container {source.container} has ended; the log ends here")
        return False
    if not told:
        waiting = (state.get("waiting") or {}).get("reason") or "to start"
        status(f"container {source.container} is waiting ({waiting})")
    return None


async def follow_log(
    client: KubeClient,
    source: LogSource,
    *,
    follow: bool = True,
    on_status: Status | None = None,
    on_open: Callable[[], None] | None = None,
) -> AsyncGenerator[LogLine, None]:
    """The lines of a container's log; with `follow`, forever, across drops and restarts.

    `on_open` is called each time the log stream is open (before its first line).

    Errors that waiting cannot fix (no such pod or container, no previous run,
    forbidden) are raised as they come from the API, with their message.
    """
    status = on_status or (lambda _text: None)
    pods = f"/api/v1/namespaces/{source.namespace}/pods"
    path = f"{pods}/{source.pod}/log"
    position = _Position()
    backoff = Backoff(initial=0.5, cap=5.0)
    follow = follow and not source.previous
    while True:
        params: dict[str, str | int | bool] = {"container": source.container, "timestamps": True}
        if follow:
            params["follow"] = True
        if source.previous:
            params["previous"] = True
        if position.last_ns is None:
            if source.tail is not None:
                params["tailLines"] = source.tail
            if source.since_seconds is not None:
                params["sinceSeconds"] = source.since_seconds
        else:
            params["sinceTime"] = format_stamp(position.last_ns)
            position.resume()
        seen_id = ""
        try:
            if follow:
                pod = await client.request("GET", f"{pods}/{source.pod}")
                seen_id = str(_status_of(pod, source).get("containerID", ""))
            async with client.stream_lines(path, params=params) as lines:
                if on_open is not None:
                    on_open()
                async for raw, _complete in lines:
                    line = split_line(source, raw)
                    if line is not None and position.fresh(line):
                        backoff.reset()
                        yield line
        except NotFoundError:
            raise
        except KubeApiError as error:
            if error.status != 400 or "waiting to start" not in str(error) or not follow:
                raise
            if not await _next_run(client, source, seen_id, status):
                return
            status(f"container {source.container} started")
            continue
        except RetinaTuiError as error:
            if not follow or not is_transient(error):
                raise
            delay = backoff.next_delay()
            status(f"log stream dropped ({error}); reconnecting in {delay:.1f} s")
            await asyncio.sleep(delay)
            continue
        if not follow:
            return
        status(f"container {source.container} ended; waiting for it to run again")
        if not await _next_run(client, source, seen_id, status):
            return
        status(f"container {source.container} restarted")


async def follow_many(
    client: KubeClient,
    sources: Sequence[LogSource],
    *,
    follow: bool = True,
    on_status: Callable[[LogSource, str], None] | None = None,
    on_error: Callable[[LogSource, RetinaTuiError], None] | None = None,
    on_open: Callable[[LogSource], None] | None = None,
) -> AsyncGenerator[LogLine, None]:
    """The lines of several logs in the order they arrive; ends when every log has ended.

    A log that fails is reported to `on_error` (raised when there is none) and the
    others go on.
    """
    queue: asyncio.Queue[LogLine | LogSource] = asyncio.Queue(maxsize=10_000)

    async def pump(source: LogSource) -> None:
        report = (lambda text: on_status(source, text)) if on_status else None
        opened = (lambda: on_open(source)) if on_open else None
        try:
            lines = follow_log(client, source, follow=follow, on_status=report, on_open=opened)
            async with contextlib.aclosing(lines):
                async for line in lines:
                    await queue.put(line)
        except RetinaTuiError as error:
            if on_error is None:
                raise
            on_error(source, error)
        finally:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(source)

    tasks = [
        asyncio.create_task(pump(source), name=f"log-{source.namespace}-{source.label}")
        for source in sources
    ]
    try:
        running = len(tasks)
        while running:
            item = await queue.get()
            if isinstance(item, LogSource):
                running -= 1
                continue
            yield item
        for task in tasks:
            await task  # a failure without on_error is raised here
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
