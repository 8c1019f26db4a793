"""`retina-tui capture TARGET...`: packets from pods and nodes into one local pcapng file.

Nothing is written on a node: every target streams its capture over exec and the file is
written here, merged in timestamp order, one interface per target. Ctrl-C, SIGTERM, SIGHUP
and the limits all stop it the same way: every remote capture is ended and flushed, the file
is closed whole, node pods are deleted. A second signal cuts the waiting short.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from retina_tui.commands.capture_args import parse_duration, parse_size, parse_targets
from retina_tui.commands.connection import CONNECTION_OPTION_NAMES, connection_options
from retina_tui.commands.help import SectionedCommand
from retina_tui.commands.shell_args import (
    ProfileChoice,
    image_options,
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
    from retina_tui.commands.capture_viewer import Viewer
    from retina_tui.config import Profile
    from retina_tui.kube.overrides import ConnectionOverrides

SECTIONS = {
    "Target options": ("namespace", "selector", "node_selector", "interface"),
    "Capture options": (
        "bpf_filter",
        "duration",
        "max_size",
        "packets",
        "snaplen",
        "promiscuous",
        "output",
        "wireshark",
        "metadata",
    ),
    "Connection options": ("kubeconfig", "context", *CONNECTION_OPTION_NAMES),
    "Image options": ("image", "image_repo", "image_version", "profile", "timeout"),
    "Other options": ("config_path", "help"),
}


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    names: list[str]
    namespace: str | None
    selector: str | None
    node_selector: str | None
    interface: str | None
    bpf_filter: str
    duration: float
    max_size: int
    packets: int
    snaplen: int
    promiscuous: bool
    output: Path | None
    viewer: Viewer | None
    metadata: Path | None
    image: str
    profile: Profile | None
    timeout: float


@click.command("capture", cls=SectionedCommand, sections=SECTIONS)
@click.argument("targets", nargs=-1)
@click.option(
    "-n", "--namespace", default=None, help="Namespace of the pods.", callback=check_namespace
)
@click.option("-l", "--selector", default=None, help="Capture every running pod it selects.")
@click.option("--node-selector", default=None, help="Capture every node it selects.")
@click.option(
    "-i", "--interface", default=None, help="Interface to capture (default: eth0, nodes: any)."
)
@click.option("-f", "--filter", "bpf_filter", default="", help="BPF capture filter ('icmp').")
@click.option("--duration", default=None, help="Stop after this long (30s, 2m).")
@click.option("--max-size", default=None, help="Stop before the file passes this size (100MB).")
@click.option("--packets", type=int, default=0, help="Stop after this many packets in all.")
@click.option("--snaplen", type=int, default=0, help="Bytes kept of each packet (default: all).")
@click.option(
    "--promiscuous",
    is_flag=True,
    help="Promiscuous mode; adds NET_ADMIN to the NET_RAW a capture runs with.",
)
@click.option("-o", "--output", default=None, help="The pcapng file to write.")
@click.option(
    "--wireshark", is_flag=True, help="Also show it live in Wireshark (tshark without a display)."
)
@click.option(
    "--metadata",
    default=None,
    help="Also write a .tar.gz of the capture with the targets' API objects and network state.",
)
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@connection_options
@CONFIG_OPTION
@image_options
@click.option("--profile", type=ProfileChoice(), default=None, help="Security profile (netadmin).")
@click.option("--timeout", default=None, help="How long to wait for each debug container (60s).")
def capture(
    targets: tuple[str, ...],
    namespace: str | None,
    selector: str | None,
    node_selector: str | None,
    interface: str | None,
    bpf_filter: str,
    duration: str | None,
    max_size: str | None,
    packets: int,
    snaplen: int,
    promiscuous: bool,
    output: str | None,
    wireshark: bool,
    metadata: str | None,
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
    """Capture packets of pods and nodes into one local pcapng file.

    TARGET is pod/NAME or node/NAME, many at once, and -l / --node-selector add every pod
    or node they select. Each target is captured in its debug container with NET_RAW only
    (dumpcap, else tcpdump), streamed over exec and merged here in timestamp order, one
    interface per target. Nothing is written on a node. Ctrl-C stops it and keeps the file.
    """
    from retina_tui.config import load_settings, resolve_config_path

    names = parse_targets(targets)
    if not names and not selector and not node_selector:
        raise UsageProblem(
            "Name what to capture: pod/NAME or node/NAME, or select with -l SELECTOR or "
            "--node-selector SELECTOR."
        )
    if output is None and not wireshark:
        raise UsageProblem(
            "Say where the packets go: -o FILE.pcapng, or --wireshark to watch them."
        )
    if packets < 0 or snaplen < 0:
        raise UsageProblem("--packets and --snaplen take a number of 0 or more (0: no limit).")
    from retina_tui.commands.capture_viewer import find_viewer

    viewer = find_viewer() if wireshark else None
    settings = load_settings(resolve_config_path(Path(config_path) if config_path else None))
    debug = settings.debug
    options = CaptureOptions(
        names=names,
        namespace=namespace,
        selector=selector,
        node_selector=node_selector,
        interface=interface,
        bpf_filter=bpf_filter,
        duration=parse_duration(duration, "--duration") if duration else 0.0,
        max_size=parse_size(max_size) if max_size else 0,
        packets=packets,
        snaplen=snaplen,
        promiscuous=promiscuous,
        output=Path(output) if output else None,
        viewer=viewer,
        metadata=Path(metadata) if metadata else None,
        image=resolve_image(image, debug.image, repo=image_repo, version=image_version),
        profile=profile,
        timeout=parse_timeout(timeout, debug.timeout_seconds),
    )
    import asyncio

    from retina_tui.commands.capture_main import run_capture

    sys.exit(
        asyncio.run(
            run_capture(
                options, settings, kubeconfig=kubeconfig, context=context, overrides=overrides
            )
        )
    )
