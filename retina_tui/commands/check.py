"""`retina-tui check --from SOURCE --to TARGET...`: can A reach B, predicted and observed.

Every cell of the matrix (sources by targets) holds what the API objects predict
(NetworkPolicy verdicts, Service endpoints, cluster DNS) beside what real probes from
inside the source observe, and a sentence where they differ or fail. The exit status makes
it a test: 0 all as predicted (or as --expect says), 1 a mismatch, 2 an error.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from retina_tui.commands.connection import CONNECTION_OPTION_NAMES, connection_options
from retina_tui.commands.help import SectionedCommand
from retina_tui.commands.shell_args import (
    ProfileChoice,
    image_options,
    parse_duration,
    parse_timeout,
    resolve_image,
)
from retina_tui.commands.tui import (
    CONFIG_OPTION,
    CONTEXT_OPTION,
    KUBECONFIG_OPTION,
    UsageProblem,
    check_namespace,
)

if TYPE_CHECKING:
    from retina_tui.config import Profile
    from retina_tui.kube.overrides import ConnectionOverrides

PROBE_KINDS = ("ping", "tcp", "http", "dns", "mtu")
SECTIONS = {
    "What to check": ("sources", "selector", "namespace", "targets", "port", "probes", "expect"),
    "Output": ("output", "probe_timeout", "concurrency"),
    "Connection options": ("kubeconfig", "context", *CONNECTION_OPTION_NAMES),
    "Image options": ("image", "image_repo", "image_version", "profile", "timeout"),
    "Other options": ("config_path", "help"),
}


@dataclass(frozen=True, slots=True)
class CheckArgs:
    sources: list[str]
    selector: str | None
    namespace: str | None
    targets: list[str]
    port: int | None
    probes: tuple[str, ...]
    expect: str | None
    output: str
    probe_timeout: float
    concurrency: int
    image: str
    profile: Profile | None
    timeout: float


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_probes(values: tuple[str, ...]) -> tuple[str, ...]:
    kinds = _split(values)
    for kind in kinds:
        if kind not in PROBE_KINDS:
            raise UsageProblem(
                f"--probe {kind!r} is not a probe; choose from {', '.join(PROBE_KINDS)} "
                "(several: --probe tcp,dns)."
            )
    return tuple(dict.fromkeys(kinds))


@click.command("check", cls=SectionedCommand, sections=SECTIONS)
@click.option("--from", "sources", multiple=True, help="pod/NAME or node/NAME (repeatable).")
@click.option("-l", "--selector", default=None, help="Check from every running pod it selects.")
@click.option(
    "-n", "--namespace", default=None, help="Namespace of the names.", callback=check_namespace
)
@click.option(
    "--to",
    "targets",
    multiple=True,
    help="pod/NAME[:PORT], svc/NAME[:PORT], node/NAME, IP[:PORT] or a DNS name (repeatable).",
)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port for targets.")
@click.option(
    "--probe",
    "probes",
    multiple=True,
    help="Probes: ping, tcp, http, dns, mtu (default: what suits each target).",
)
@click.option(
    "--expect",
    type=click.Choice(["allow", "deny"]),
    default=None,
    help="Compare with this instead of the prediction.",
)
@click.option(
    "-o", "--output", type=click.Choice(["table", "json"]), default="table", help="Format."
)
@click.option("--probe-timeout", default="3s", help="Time limit of each probe (3s).")
@click.option(
    "--concurrency", type=click.IntRange(1, 256), default=16, help="Probes run at once (16)."
)
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@connection_options
@CONFIG_OPTION
@image_options
@click.option("--profile", type=ProfileChoice(), default=None, help="Security profile (netadmin).")
@click.option("--timeout", default=None, help="How long to wait for each debug container (60s).")
def check(
    sources: tuple[str, ...],
    selector: str | None,
    namespace: str | None,
    targets: tuple[str, ...],
    port: int | None,
    probes: tuple[str, ...],
    expect: str | None,
    output: str,
    probe_timeout: str,
    concurrency: int,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
    config_path: str | None,
    image: str | None,
    image_repo: str | None,
    image_version: str | None,
    profile: Profile | None,
    timeout: str | None,
) -> None:
    """Check whether sources reach targets: the API's prediction beside real probes.

    Probes run inside each source's network namespace from one debug container per source
    (NET_RAW only), re-used for every probe. Exit status: 0 every cell as predicted (or as
    --expect says), 1 a mismatch, 2 an error.
    """
    from retina_tui.config import load_settings, resolve_config_path
    from retina_tui.probes.targets import parse_source, parse_target

    if not sources and not selector:
        raise UsageProblem(
            "Say where to check from: --from pod/NAME, --from node/NAME or -l SELECTOR."
        )
    if not targets:
        raise UsageProblem("Say what to reach: --to svc/NAME, pod/NAME:PORT, a DNS name or an IP.")
    for text in _split(sources):
        parse_source(text, namespace or "default")
    for text in _split(targets):
        parse_target(text, namespace or "default")
    settings = load_settings(resolve_config_path(Path(config_path) if config_path else None))
    debug = settings.debug
    args = CheckArgs(
        sources=_split(sources),
        selector=selector,
        namespace=namespace,
        targets=_split(targets),
        port=port,
        probes=parse_probes(probes),
        expect=expect,
        output=output,
        probe_timeout=parse_duration(probe_timeout, "--probe-timeout"),
        concurrency=concurrency,
        image=resolve_image(image, debug.image, repo=image_repo, version=image_version),
        profile=profile,
        timeout=parse_timeout(timeout, debug.timeout_seconds),
    )
    import asyncio

    from retina_tui.commands.check_main import run_check

    sys.exit(
        asyncio.run(
            run_check(args, settings, kubeconfig=kubeconfig, context=context, overrides=overrides)
        )
    )
