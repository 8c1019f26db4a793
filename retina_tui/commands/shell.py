"""`retina-tui shell [TYPE/]NAME`: one debug session on the local terminal.

The flags follow `kubectl retina shell` so people who know Retina feel at home. The
session engine does the work; this module only turns flags into a spec, puts the local
terminal in raw mode once the shell runs, forwards keystrokes and SIGWINCH, restores
the terminal on every way out, and exits with the remote shell's exit code. SIGTERM and
SIGHUP end the session cleanly (a node pod is deleted) before the process exits.
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
    check_container,
    check_shell,
    check_windows_user,
    image_options,
    parse_capability_flag,
    parse_target,
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
    from retina_tui.config import Profile, Settings
    from retina_tui.kube.overrides import ConnectionOverrides


SECTIONS = {
    "Connection options": (
        "namespace",
        "kubeconfig",
        "context",
        *CONNECTION_OPTION_NAMES,
    ),
    "Image options": ("image", "image_repo", "image_version"),
    "Windows options": ("shell_name", "windows_user"),
    "Security options": (
        "profile",
        "capabilities",
        "mount_host_filesystem",
        "allow_host_filesystem_write",
        "host_pid",
        "apparmor_unconfined",
        "seccomp_unconfined",
    ),
    "Session options": (
        "target_container",
        "timeout",
        "reuse",
        "tty",
        "record_dir",
        "record_input",
        "no_record",
        "config_path",
        "help",
    ),
}
NODE_ONLY_FLAGS = (
    ("mount_host_filesystem", "--mount-host-filesystem"),
    ("allow_host_filesystem_write", "--allow-host-filesystem-write"),
    ("host_pid", "--host-pid"),
    ("apparmor_unconfined", "--apparmor-unconfined"),
    ("seccomp_unconfined", "--seccomp-unconfined"),
)


@click.command("shell", cls=SectionedCommand, sections=SECTIONS)
@click.argument("target")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace of the pod / of node pods.",
    callback=check_namespace,
)
@KUBECONFIG_OPTION
@CONTEXT_OPTION
@connection_options
@CONFIG_OPTION
@image_options
@click.option(
    "--profile",
    type=ProfileChoice(),
    default=None,
    help="Security profile, as kubectl debug's (default: debug.profile, netadmin).",
)
@click.option(
    "-c",
    "--capabilities",
    multiple=True,
    help="Capabilities to add, repeatable and comma-separated ('' = none).",
)
@click.option("-m", "--mount-host-filesystem", is_flag=True, help="Host / at /host, read-only.")
@click.option(
    "-w", "--allow-host-filesystem-write", is_flag=True, help="Host / at /host, writable."
)
@click.option("--host-pid", is_flag=True, help="Share the host's PID namespace (node shells).")
@click.option("--apparmor-unconfined", is_flag=True, help="No AppArmor profile (node shells).")
@click.option("--seccomp-unconfined", is_flag=True, help="No seccomp profile (node shells).")
@click.option(
    "--shell",
    "shell_name",
    default=None,
    metavar="SHELL",
    help="The shell: powershell, pwsh or cmd on Windows (default: debug.windows_shell); on "
    "Linux a program of the image such as sh.",
    callback=check_shell,
)
@click.option(
    "--windows-user",
    default=None,
    metavar="ACCOUNT",
    help="The account of a Windows node shell (default: debug.windows_user, NT AUTHORITY\\SYSTEM).",
    callback=check_windows_user,
)
@click.option("--timeout", default=None, help="How long to wait for the shell (e.g. 60s).")
@click.option(
    "--target",
    "target_container",
    default=None,
    help="Container to target (pods).",
    callback=check_container,
)
@click.option(
    "--reuse",
    is_flag=True,
    help="Re-attach to this pod's running retina-tui shell instead of adding one (pods).",
)
@click.option("-t", "--tty", is_flag=True, help="Run the command (after --) with a terminal.")
@click.option(
    "--record",
    "record_dir",
    default=None,
    metavar="DIR",
    help="Record the session as an asciicast v2 file in DIR (default: recording.dir).",
)
@click.option(
    "--record-input",
    is_flag=True,
    default=None,
    help="Record what is typed too (default: recording.input, off: it may hold secrets).",
)
@click.option("--no-record", is_flag=True, help="Do not record, even with recording.dir set.")
def shell(
    target: str,
    command: tuple[str, ...],
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
    config_path: str | None,
    image: str | None,
    image_repo: str | None,
    image_version: str | None,
    profile: Profile | None,
    capabilities: tuple[str, ...],
    timeout: str | None,
    target_container: str | None,
    reuse: bool,
    tty: bool,
    record_dir: str | None,
    record_input: bool | None,
    no_record: bool,
    shell_name: str | None,
    windows_user: str | None,
    **node_flags: bool,
) -> None:
    """Open a debug shell: NODE or node/NODE on a node, pod/NAME in a pod.

    With `-- CMD [ARGS...]` run the command instead, as kubectl exec does: without a
    terminal unless -t, stdin forwarded when it is not a terminal, the remote exit code as
    ours. Commands re-use the pod's command-mode debug container while it runs.
    """
    kind, name = parse_target(target)
    given = [flag for param, flag in NODE_ONLY_FLAGS if node_flags[param]]
    if kind == "pod" and given:
        several = len(given) > 1
        raise UsageProblem(
            f"{' and '.join(given)} {'apply' if several else 'applies'} to node shells only; "
            f"drop {'them' if several else 'it'} for a pod shell."
        )
    if kind == "pod" and windows_user is not None:
        raise UsageProblem(
            "--windows-user sets the account of a Windows node shell; a pod shell runs as "
            "the image's user, so drop it."
        )
    if shell_name is not None and command:
        raise UsageProblem(
            "--shell picks the interactive shell; a command after -- runs by itself, so drop "
            "--shell."
        )
    if kind == "node" and target_container is not None:
        raise UsageProblem(
            "--target names a container of a pod, so it does not apply to a node shell; drop "
            "it, or open pod/NAME."
        )
    if reuse and kind == "node":
        raise UsageProblem(
            "--reuse re-attaches to a shell in a pod; a node shell is a pod of its own, so "
            "drop --reuse."
        )
    if reuse and command:
        raise UsageProblem(
            "--reuse is for interactive shells; a command re-uses the pod's debug container "
            "by itself, so drop --reuse."
        )
    if tty and not command:
        raise UsageProblem("-t applies to a command given after --; a shell always has one.")
    _check_record_flags(record_dir, record_input, no_record, command)
    from retina_tui.config import load_settings, resolve_config_path

    settings = load_settings(resolve_config_path(Path(config_path) if config_path else None))
    debug = settings.debug
    recording = _recording_dir(record_dir, no_record or bool(command), settings)
    if record_input and recording is None:
        raise UsageProblem(
            "--record-input applies to a recorded session; add --record DIR or set "
            "recording.dir in the settings."
        )
    chosen_image = resolve_image(image, debug.image, repo=image_repo, version=image_version)
    options = ShellOptions(
        kind=kind,
        name=name,
        namespace=namespace,
        image=chosen_image,
        capabilities=(parse_capability_flag(capabilities) if capabilities else debug.capabilities),
        profile=profile,
        mount=node_flags["mount_host_filesystem"],
        write=node_flags["allow_host_filesystem_write"],
        host_pid=node_flags["host_pid"],
        apparmor=node_flags["apparmor_unconfined"],
        seccomp=node_flags["seccomp_unconfined"],
        timeout=parse_timeout(timeout, debug.timeout_seconds),
        target=target_container,
        command=command,
        tty=tty,
        reuse=reuse,
        record_dir=recording,
        record_input=settings.recording.input if record_input is None else record_input,
        explicit_image=chosen_image if chosen_image != debug.image else None,
        shell=shell_name,
        windows_user=windows_user,
        linux_flags=_linux_flags(given, capabilities, profile),
    )
    code = _run(options, settings, kubeconfig=kubeconfig, context=context, overrides=overrides)
    sys.exit(code)


@dataclass(frozen=True, slots=True)
class ShellOptions:
    """What the flags asked for, checked."""

    kind: str
    name: str
    namespace: str | None
    image: str
    capabilities: tuple[str, ...]
    profile: Profile | None
    mount: bool
    write: bool
    host_pid: bool
    apparmor: bool
    seccomp: bool
    timeout: float
    target: str | None
    command: tuple[str, ...] = ()
    tty: bool = False
    reuse: bool = False
    record_dir: Path | None = None
    """Where the session's asciicast recording goes; None: not recorded."""
    record_input: bool = False
    explicit_image: str | None = None
    """The image named by --image or the Retina flags and variables: used on Windows too."""
    shell: str | None = None
    windows_user: str | None = None
    linux_flags: tuple[str, ...] = ()
    """The Linux-only flags given, which a Windows target refuses by name."""


def _linux_flags(
    node_flags: list[str], capabilities: tuple[str, ...], profile: Profile | None
) -> tuple[str, ...]:
    named = list(node_flags)
    if capabilities and any(part.strip() for part in capabilities):
        named.append("-c/--capabilities")
    if profile is not None and profile != "auto":
        named.append(f"--profile {profile}")
    return tuple(named)


def _check_record_flags(
    record_dir: str | None, record_input: bool | None, no_record: bool, command: tuple[str, ...]
) -> None:
    if record_dir is not None and not record_dir.strip():
        raise UsageProblem("--record is empty; name the directory for the recording.")
    if no_record and (record_dir is not None or record_input):
        raise UsageProblem("--no-record contradicts --record and --record-input; drop one.")
    if command and (record_dir is not None or record_input):
        raise UsageProblem(
            "--record records interactive shells; a command's output is yours to redirect, "
            "so drop --record for a command."
        )


def _recording_dir(flag: str | None, off: bool, settings: Settings) -> Path | None:
    """The checked recording directory: --record, else recording.dir; None: no recording.

    It is created and a file is tried in it before anything connects, so a directory
    that cannot be written ends the command before anything exists in the cluster.
    """
    if flag is None and (off or settings.recording.dir is None):
        return None
    from retina_tui.terminal.asciicast import RecordingError, prepare_dir

    if flag is not None:
        try:
            return prepare_dir(Path(flag), advice="give --record a directory you can write to")
        except RecordingError as error:
            raise UsageProblem(str(error)) from None
    assert settings.recording.dir is not None
    return prepare_dir(
        settings.recording.dir,
        advice="fix recording.dir in the settings, or add --no-record",
    )


def _run(
    options: ShellOptions,
    settings: Settings,
    *,
    kubeconfig: str | None,
    context: str | None,
    overrides: ConnectionOverrides,
) -> int:
    from retina_tui.commands.shell_main import run

    return run(options, settings, kubeconfig=kubeconfig, context=context, overrides=overrides)
