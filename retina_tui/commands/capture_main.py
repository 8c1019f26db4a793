"""The running half of `retina-tui capture`: targets resolved, the run driven, the end told.

Signals stop the run (the file is finished and kept); a second one cuts the wait for the
remote captures short. Debug containers are closed on every way out: node pods are deleted,
a pod's command-mode container is left to its detach watchdog.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, BinaryIO

from retina_tui import __version__
from retina_tui.commands.capture_viewer import Tee
from retina_tui.errors import ConfigError, RetinaTuiError

if TYPE_CHECKING:
    from retina_tui.capture.run import CaptureRun, CaptureTarget
    from retina_tui.commands.capture import CaptureOptions
    from retina_tui.config import Settings
    from retina_tui.kube.client import KubeClient
    from retina_tui.kube.overrides import ConnectionOverrides
    from retina_tui.supervisor import Supervisor


def say(text: str) -> None:
    sys.stderr.write(f"retina-tui: {text}\n")
    sys.stderr.flush()


def human_size(size: float) -> str:
    if size < 1000:
        return f"{size:.0f} B"
    for unit in ("kB", "MB"):
        size /= 1000
        if size < 1000:
            return f"{size:.1f} {unit}"
    return f"{size / 1000:.1f} GB"


def _open_output(options: CaptureOptions) -> BinaryIO | None:
    if options.output is None:
        return None
    try:
        return options.output.open("wb")
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the capture to {options.output}: {exc.strerror}; choose a file in a "
            "directory you can write to (-o)."
        ) from None


async def run_capture(
    options: CaptureOptions,
    settings: Settings,
    *,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
) -> int:
    from retina_tui.commands.lifecycle import Interrupts, supervised_client

    running: list[CaptureRun] = []

    def stop_first() -> bool:
        """The first signal ends the capture cleanly; a second one cuts the waits short."""
        if not running:
            return False
        say("stopping: ending the remote captures and finishing the file")
        running[0].stop("interrupted")
        return True

    with Interrupts(stop_first) as interrupts:
        try:
            async with supervised_client(
                settings, kubeconfig=kubeconfig, context=context, overrides=overrides, say=say
            ) as (client, supervisor):
                return await _capture(client, options, settings, supervisor, running)
        except asyncio.CancelledError:
            if not interrupts.received:
                raise
            say("interrupted before the capture ran; nothing was left running")
            return interrupts.exit_code


async def _capture(
    client: KubeClient,
    options: CaptureOptions,
    settings: Settings,
    supervisor: Supervisor,
    running: list[CaptureRun],
) -> int:
    from retina_tui.capture.pcapng import PcapngWriter, Sink
    from retina_tui.capture.run import CaptureLimits, CaptureRun
    from retina_tui.capture.targets import (
        HostSettings,
        capture_capabilities,
        host_opener,
        resolve_targets,
    )
    from retina_tui.sessions.command import close_all

    namespace = options.namespace or client.namespace
    targets = await resolve_targets(
        client,
        options.names,
        namespace=namespace,
        pod_selector=options.selector,
        node_selector=options.node_selector,
        interface=options.interface,
    )
    debug = settings.debug
    hosts = HostSettings(
        debug=debug,
        image=options.image,
        profile=options.profile,
        capabilities=capture_capabilities(options.promiscuous),
        timeout_seconds=options.timeout,
        node_namespace=debug.namespace or client.namespace,
        instance_id=supervisor.instance_id,
        before_create=supervisor.ensure_lease,
        explain_deletion=supervisor.explain_deletion,
    )
    file = _open_output(options)
    viewer = options.viewer
    sink: Sink | None = file
    if viewer is not None:
        viewer.start()
        sink = Tee(file, viewer)
    assert sink is not None, "an output or a viewer is required by the command"
    started = datetime.now(UTC)
    comments = [
        f"cluster: {client.server}",
        f"context: {client.context}",
        f"filter: {options.bpf_filter or '(none)'}",
        f"started: {started.isoformat(timespec='seconds')}",
        "targets: " + ", ".join(f"{t.kind} {t.label}" for t in targets),
        "command: " + shlex.join(["retina-tui", *sys.argv[1:]]),
    ]
    writer = PcapngWriter(sink, comments=comments, application=f"retina-tui {__version__}")
    run = CaptureRun(
        writer,
        targets,
        host_opener(client, hosts),
        bpf_filter=options.bpf_filter,
        snaplen=options.snaplen,
        promiscuous=options.promiscuous,
        limits=CaptureLimits(options.duration, options.max_size, options.packets),
        on_started=lambda target: say(f"capturing on {target.kind} {target.label}"),
    )
    running.append(run)
    if isinstance(sink, Tee):
        tee = sink
        if file is None:
            tee.on_gone = lambda: run.stop("viewer closed")
        else:
            tee.on_gone = lambda: say(f"the {tee.viewer_name} window closed; the file goes on")
    began = time.monotonic()
    try:
        await run.run()
        if options.metadata is not None:
            await _write_metadata(client, run, options, started)
    finally:
        failures = await close_all(run.hosts)
        if file is not None:
            file.close()
        if viewer is not None:
            viewer.finish()
    for failure in failures:
        say(f"note: {failure}")
    return _report(run, options, time.monotonic() - began)


async def _write_metadata(
    client: KubeClient, run: CaptureRun, options: CaptureOptions, started: datetime
) -> None:
    """The --metadata archive, while the debug containers still run."""
    from retina_tui.capture.metadata import collect_network_state, collect_objects, write_archive

    assert options.metadata is not None
    say(f"collecting the targets' objects and network state for {options.metadata}")
    states: dict[str, bytes] = {}
    for index, host in run.host_of.items():
        target = run.targets[index]
        try:
            states[f"{target.kind}_{target.label}"] = await collect_network_state(host)
        except RetinaTuiError as error:
            states[f"{target.kind}_{target.label}"] = f"not collected: {error}\n".encode()
    objects = await collect_objects(client, run.targets)
    summary = {
        "cluster": client.server,
        "context": client.context,
        "filter": options.bpf_filter,
        "started": started.isoformat(timespec="seconds"),
        "stopped": datetime.now(UTC).isoformat(timespec="seconds"),
        "stop_reason": run.stop_reason,
        "targets": [
            {
                "target": f"{r.target.kind} {r.target.label}",
                "packets": r.packets,
                "dropped_by_kernel": r.dropped,
                "error": r.error or None,
            }
            for r in run.results
        ],
    }
    run.flush()
    write_archive(options.metadata, options.output, objects, states, summary)


def _report(run: CaptureRun, options: CaptureOptions, seconds: float) -> int:
    where = f" to {options.output}" if options.output else ""
    reason = {
        "ended": "every capture ended",
        "duration": f"--duration {options.duration:g}s reached",
        "size": "--max-size reached",
        "packets": "--packets reached",
        "interrupted": "interrupted",
        "viewer closed": "the viewer was closed",
    }.get(run.stop_reason, run.stop_reason)
    say(
        f"wrote {run.packets_written} packets ({human_size(run.bytes_written)}){where} in "
        f"{seconds:.1f}s; stopped: {reason}"
    )
    failed = 0
    for result in run.results:
        line = f"  {_label(result.target)}: {result.packets} packets"
        if result.dropped is not None:
            line += f", {result.dropped} dropped by kernel"
        if result.error:
            failed += 1
            line += f"; FAILED: {result.error}"
        elif result.messages:
            line += "; " + "; ".join(result.messages[-3:])
        sys.stderr.write(line + "\n")
    if failed == len(run.results):
        say("no target could be captured; see above for why.")
        return 1
    return 1 if failed else 0


def _label(target: CaptureTarget) -> str:
    return f"{target.kind} {target.label}"


__all__ = ["run_capture"]
