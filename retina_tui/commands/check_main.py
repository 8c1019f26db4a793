"""The running half of `retina-tui check`: objects listed, cells planned and probed, told.

Ctrl-C, SIGTERM and SIGHUP stop the probes; node debug pods are deleted on every way out
and a pod's command-mode container is left to its detach watchdog, as for captures.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import TYPE_CHECKING, cast

from retina_tui.errors import RetinaTuiError

if TYPE_CHECKING:
    from retina_tui.commands.check import CheckArgs
    from retina_tui.config import Settings
    from retina_tui.kube.client import KubeClient
    from retina_tui.kube.overrides import ConnectionOverrides
    from retina_tui.probes.plan import Cell, Expect
    from retina_tui.probes.targets import Source
    from retina_tui.supervisor import Supervisor

ERROR_EXIT = 2


def say(text: str) -> None:
    sys.stderr.write(f"retina-tui: {text}\n")
    sys.stderr.flush()


async def run_check(
    args: CheckArgs,
    settings: Settings,
    *,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
) -> int:
    from retina_tui.commands.lifecycle import Interrupts, supervised_client

    with Interrupts() as interrupts:
        try:
            async with supervised_client(
                settings, kubeconfig=kubeconfig, context=context, overrides=overrides, say=say
            ) as (client, supervisor):
                return await _check(client, args, settings, supervisor)
        except asyncio.CancelledError:
            if not interrupts.received:
                raise
            say("interrupted; the debug pods this check made are deleted")
            return interrupts.exit_code
        except RetinaTuiError as error:
            say(str(error))
            return ERROR_EXIT


async def _sources(client: KubeClient, args: CheckArgs, namespace: str) -> list[Source]:
    from retina_tui.probes.targets import Source, TargetSyntaxError, parse_source
    from retina_tui.sessions.pod import running_pods

    sources = [parse_source(text, namespace) for text in args.sources]
    if args.selector:
        running = await running_pods(client, namespace, args.selector)
        if not running:
            raise TargetSyntaxError(
                f"No running pod in namespace {namespace} matches -l {args.selector!r}; check "
                "the selector and the namespace (-n)."
            )
        sources.extend(Source("pod", str(p["metadata"]["name"]), namespace) for p in running)
    return list(dict.fromkeys(sources))


async def _check(
    client: KubeClient, args: CheckArgs, settings: Settings, supervisor: Supervisor
) -> int:
    from retina_tui.probes.kinds import Kind
    from retina_tui.probes.matrix import PROBE_CAPABILITIES, Prober, run_cells
    from retina_tui.probes.plan import CheckOptions, plan
    from retina_tui.probes.report import document, exit_status
    from retina_tui.probes.targets import parse_target
    from retina_tui.probes.world import load_world
    from retina_tui.sessions.hosts import HostSettings, host_opener

    namespace = args.namespace or client.namespace
    began = time.monotonic()
    sources = await _sources(client, args, namespace)
    targets = [parse_target(text, namespace) for text in args.targets]
    world = await load_world(client)
    options = CheckOptions(
        kinds=cast("tuple[Kind, ...]", args.probes), port=args.port, timeout=args.probe_timeout
    )
    cells = plan(world, sources, targets, options)
    debug = settings.debug
    hosts = HostSettings(
        debug=debug,
        image=args.image,
        profile=args.profile,
        capabilities=PROBE_CAPABILITIES,
        timeout_seconds=args.timeout,
        node_namespace=debug.namespace or client.namespace,
        instance_id=supervisor.instance_id,
        before_create=supervisor.ensure_lease,
        explain_deletion=supervisor.explain_deletion,
    )
    prober = Prober(host_opener(client, hosts), concurrency=args.concurrency)
    try:
        await run_cells(prober, cells)
    finally:
        for failure in await prober.close():
            say(f"note: {failure}")
    expect = cast("Expect | None", args.expect)
    seconds = time.monotonic() - began
    if args.output == "json":
        doc = document(cells, context=client.context, expect=expect, seconds=seconds)
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write(render_table(cells, expect, seconds))
    sys.stdout.flush()
    return exit_status(cells, expect)


def render_table(cells: list[Cell], expect: Expect | None, seconds: float) -> str:
    """Rows sources, columns targets; then one line per explanation; then the count."""
    from retina_tui.probes.report import cell_text

    sources = list(dict.fromkeys(c.source.label for c in cells))
    targets = list(dict.fromkeys(c.target.label for c in cells))
    by_key = {(c.source.label, c.target.label): c for c in cells}
    header = ["FROM \\ TO", *targets]
    rows = [header]
    for source in sources:
        rows.append([source, *(cell_text(by_key[(source, t)], expect) for t in targets)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(text.ljust(widths[i]) for i, text in enumerate(row)).rstrip() for row in rows
    ]
    explained = [
        f"{cell.source.label} -> {cell.target.label}: {text}"
        for cell in cells
        for text in cell.explanations(expect)
    ]
    if explained:
        lines += ["", *explained]
    errors = sum(1 for c in cells if c.failed)
    mismatches = sum(1 for c in cells if not c.failed and not c.match(expect))
    wanted = f"as --expect {expect}" if expect else "as predicted"
    lines += [
        "",
        f"{len(cells)} cells: {len(cells) - errors - mismatches} {wanted}, "
        f"{mismatches} mismatched, {errors} errors ({seconds:.1f} s)",
    ]
    return "\n".join(lines) + "\n"


__all__ = ["render_table", "run_check"]
