"""Windows targets: the release a node runs, the image it needs, and what Windows lacks.

A Windows container shares the node's kernel only when its image was built for the
node's Windows Server release (process isolation), so a pod session's image must match
the node's build; a HostProcess container (a node shell) runs on the host itself and has
no such limit. Linux security settings (capabilities, seccomp, AppArmor, the host PID
namespace, the profiles that set them) do not exist there, and the API server refuses
them on a pod whose `spec.os` is windows: they are refused here first, naming the flags,
before anything is created.
"""

from __future__ import annotations

from typing import Any, Final

from retina_tui.config import LTSC_PLACEHOLDER
from retina_tui.errors import SessionError
from retina_tui.validation.windows import RELEASES, image_build, kernel_build

OS_TAINT_KEY: Final = "node.kubernetes.io/os"
OS_TOLERATION: Final = {
    "key": OS_TAINT_KEY,
    "operator": "Equal",
    "value": "windows",
    "effect": "NoSchedule",
}
"""The taint Windows node pools commonly carry so that Linux pods stay off them."""
SHELLS: Final[dict[str, tuple[str, ...]]] = {
    "powershell": ("powershell.exe", "-NoLogo"),
    "pwsh": ("pwsh.exe", "-NoLogo"),
    "cmd": ("cmd.exe",),
}


def is_windows(os_name: str | None) -> bool:
    return os_name is not None and os_name.lower() == "windows"


def node_build(node: dict[str, Any] | None) -> int | None:
    """The node's Windows build (20348), from its kernel version, else its OS image name."""
    info = ((node or {}).get("status") or {}).get("nodeInfo") or {}
    build = kernel_build(info.get("kernelVersion"))
    if build is not None:
        return build
    image = info.get("osImage")
    if isinstance(image, str):
        for build, (_, name) in RELEASES.items():
            if name in image:
                return build
    return None


def release(build: int) -> str:
    """`Windows Server 2022 (build 20348)`, or `Windows build 19041` for other builds."""
    known = RELEASES.get(build)
    return f"{known[1]} (build {build})" if known else f"Windows build {build}"


def image_for_node(template: str, node: dict[str, Any] | None, node_name: str) -> str:
    """The image for a node: `{ltsc}` in the template becomes the node's release tag."""
    if LTSC_PLACEHOLDER not in template:
        return template
    if node is None:
        raise SessionError(
            f"Node {node_name} cannot be read (this user may not get nodes), so its Windows "
            "build is unknown and the Windows debug image cannot be picked; pass --image with "
            "an image built for the node."
        )
    build = node_build(node)
    if build is None:
        raise SessionError(
            f"Node {node_name} does not say which Windows build it runs (status.nodeInfo."
            "kernelVersion), so the Windows debug image cannot be picked; pass --image with "
            "an image built for the node."
        )
    if build not in RELEASES:
        known = ", ".join(f"{tag} ({number})" for number, (tag, _) in RELEASES.items())
        raise SessionError(
            f"Node {node_name} runs {release(build)}, for which there is no retina-tui "
            f"Windows image (there are {known}); pass --image with an image built for "
            "that build."
        )
    return template.replace(LTSC_PLACEHOLDER, RELEASES[build][0])


def check_build(image: str, node: dict[str, Any] | None, where: str) -> None:
    """Refuse an image built for another Windows release than the node's (process isolation)."""
    wanted, built = node_build(node), image_build(image)
    if wanted is None or built is None or wanted == built:
        return
    tag = RELEASES[wanted][0] if wanted in RELEASES else f"10.0.{wanted}"
    raise SessionError(
        f"The image {image} is built for {release(built)}, but {where} runs "
        f"{release(wanted)}, and a Windows container runs only on the build it was made for; "
        f"use an image tagged {tag}, or drop --image for the default one."
    )


def refuse_linux_flags(flags: tuple[str, ...], where: str) -> None:
    """Refuse the Linux-only settings asked for, naming them, for a Windows target."""
    if not flags:
        return
    several = len(flags) > 1
    names = " and ".join(flags)
    raise SessionError(
        f"{where} runs Windows, which has no Linux security settings (capabilities, "
        f"seccomp, AppArmor, host PID, profiles) and whose node shell sees the node's C:\\ "
        f"by itself, so {names} {'do' if several else 'does'} not apply there; drop "
        f"{'them' if several else 'it'}."
    )


def refuse_command(where: str) -> None:
    """Commands (after `--`, and those of captures and checks) run in Linux containers only."""
    raise SessionError(
        f"{where} runs Windows, and retina-tui runs commands (after --, for captures and "
        "checks) only in Linux debug containers; open a shell there and use the Windows "
        "tools (pktmon, Test-NetConnection)."
    )


def shell_argv(shell: str) -> list[str]:
    """The command line of a Windows shell name (powershell, pwsh, cmd)."""
    argv = SHELLS.get(shell.lower().removesuffix(".exe"))
    if argv is None:
        raise SessionError(
            f"--shell {shell} is not a Windows shell; use powershell, pwsh or cmd on Windows."
        )
    return list(argv)
