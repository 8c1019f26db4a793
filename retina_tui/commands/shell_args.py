"""The arguments of `retina-tui shell`, each checked before anything connects.

An empty target would make the node check read the whole node list, an image that is
not a reference or a misspelt capability is only refused by the node after the pod
exists: every value is refused here with one line and exit 2 instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, NoReturn

import click

from retina_tui.commands.tui import UsageProblem
from retina_tui.errors import ConfigError
from retina_tui.validation.image import EXAMPLE, image_problem
from retina_tui.validation.names import label_problem, subdomain_problem, windows_user_problem

IMAGE_REPO_ENV = "RETINA_SHELL_IMAGE_REPO"
IMAGE_VERSION_ENV = "RETINA_SHELL_IMAGE_VERSION"
PROFILE_CHOICES = ("netadmin", "general", "baseline", "restricted", "sysadmin", "auto")
"""The profiles of `debug.profile` (retina_tui.config.PROFILES, not imported for --help)."""
SHORT_NAMES = {"po": "pod", "no": "node"}
RESOURCE_NAMES = {"pod": "pod", "pods": "pod", "node": "node", "nodes": "node"}
TARGET_HELP = (
    "name a node (NODE, node/NODE, no/NODE, nodes.v1./NODE) or a pod (pod/NAME, po/NAME, "
    "pods.v1./NAME)"
)


def _target_kind(resource: str) -> str | None:
    """ "pod" or "node" for kubectl's TYPE[[.VERSION].GROUP] of a core resource, else None.

    As kubectl's resource builder: `pods.v1.` is version v1 of the core group (""), `pods.`
    the core group; a short name (`po`, `no`) matches exactly, a resource or kind name
    (`pods`, `Pod`) in any case; `pods.v1`, `pods.v1.core` and `pods..v1` name groups
    that do not exist.
    """
    if resource.count(".") >= 2:
        name, version, group = resource.split(".", 2)
        if version == "v1" and not group:
            return SHORT_NAMES.get(name) or RESOURCE_NAMES.get(name.lower())
    name, _, group = resource.partition(".")
    if group:
        return None
    return SHORT_NAMES.get(name) or RESOURCE_NAMES.get(name.lower())


def parse_target(text: str) -> tuple[str, str]:
    """`NAME` -> ("node", NAME); `pod/NAME`, `pods.v1./NAME`, `po/NAME` -> ("pod", NAME).

    The name must be one the API server could hold: an empty one would read the whole
    node list instead of one node.
    """
    if not text.strip():
        raise UsageProblem(f"The target {text!r} is empty; {TARGET_HELP}.")
    resource, sep, name = text.partition("/")
    kind: str | None = "node"
    if sep:
        kind = _target_kind(resource)
    else:
        name = text
    if kind is None:
        raise UsageProblem(f"{text!r} is not NODE, node/NODE or pod/NAME; {TARGET_HELP}.")
    if not name:
        raise UsageProblem(f"The target {text!r} names no {kind}; {TARGET_HELP}.")
    problem = subdomain_problem(name)
    if problem is not None:
        raise UsageProblem(f"{name!r} cannot be a {kind} name: {problem}; {TARGET_HELP}.")
    return kind, name


class ProfileChoice(click.Choice[str]):
    """click.Choice of the profiles whose refusal is one line, as every other bad value."""

    def __init__(self) -> None:
        super().__init__(PROFILE_CHOICES)

    def fail(
        self, message: str, param: click.Parameter | None = None, ctx: click.Context | None = None
    ) -> NoReturn:
        raise UsageProblem(
            f"--profile: {message.rstrip('.')}; pick one of them or omit it to use debug.profile."
        )


def parse_timeout(text: str | None, default: float) -> float:
    """`90`, `90s`, `2m`, `1m30s` -> seconds."""
    return default if text is None else parse_duration(text, "--timeout")


def parse_duration(text: str, flag: str) -> float:
    """`90`, `90s`, `2m`, `1m30s` -> seconds; a UsageProblem naming `flag` otherwise."""
    total = 0.0
    number = ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    try:
        for char in text.strip():
            if char.isdigit() or char == ".":
                number += char
            elif char in units and number:
                total += float(number) * units[char]
                number = ""
            else:
                raise ValueError(char)
        if number:
            total += float(number)
    except ValueError:
        total = 0.0
    if total <= 0:
        raise UsageProblem(f"{flag} {text!r} is not a duration such as 60s, 2m or 1m30s.")
    return total


def image_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--image and Retina's two image flags (`image`, `image_repo`, `image_version`)."""
    options = (
        click.option(
            "--image", default=None, help="Debug image, the whole reference (default: settings)."
        ),
        click.option(
            "--retina-shell-image-repo",
            "image_repo",
            default=None,
            help=f"Repository of the image (default: {IMAGE_REPO_ENV}, else the settings' image).",
        ),
        click.option(
            "--retina-shell-image-version",
            "image_version",
            default=None,
            help=f"Tag of the image (default: {IMAGE_VERSION_ENV}, else the settings' image tag).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def resolve_image(
    flag: str | None,
    default: str,
    environ: dict[str, str] | None = None,
    *,
    repo: str | None = None,
    version: str | None = None,
) -> str:
    """The debug image, composed as Retina composes it: `REPO:VERSION`.

    `--image` (a whole reference) wins; else each part comes from its flag
    (--retina-shell-image-repo/-version), else from RETINA_SHELL_IMAGE_REPO/_VERSION, else
    from the settings' image (`debug.image`). What the flags or the environment give must
    make an image reference (UsageProblem).
    """
    if flag is not None:
        if repo is not None or version is not None:
            raise UsageProblem(
                "--image names the whole image, so it cannot be combined with "
                "--retina-shell-image-repo or --retina-shell-image-version; use one or the other."
            )
        problem = image_problem(flag)
        if problem is not None:
            raise UsageProblem(
                f"--image {flag!r} is not an image reference: {problem}; use one such as {EXAMPLE}."
            )
        return flag
    env = os.environ if environ is None else environ
    sources = [
        (name, value)
        for name, value in (
            ("--retina-shell-image-repo", repo),
            ("--retina-shell-image-version", version),
        )
        if value is not None
    ]
    if repo is None and env.get(IMAGE_REPO_ENV):
        repo = env[IMAGE_REPO_ENV]
        sources.append((IMAGE_REPO_ENV, repo))
    if version is None and env.get(IMAGE_VERSION_ENV):
        version = env[IMAGE_VERSION_ENV]
        sources.append((IMAGE_VERSION_ENV, version))
    if not sources:
        return default
    base, tag = default, "latest"
    last = default.rsplit("/", 1)[-1]
    if ":" in last:
        base, tag = default.rsplit(":", 1)
    image = f"{repo or base}:{version or tag}"
    problem = image_problem(image)
    if problem is not None:
        names = " and ".join(f"{name}={value!r}" for name, value in sources)
        raise UsageProblem(
            f"The image {image!r} made from {names} is not an image reference: {problem}; "
            "fix or unset it."
        )
    return image


def check_container(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    problem = None if value is None else label_problem(value)
    if problem is not None:
        raise UsageProblem(
            f"--target {value!r} is not a container name: {problem}; name a container of "
            "the pod, or omit it."
        )
    return value


def parse_capability_flag(values: tuple[str, ...]) -> tuple[str, ...]:
    """-c/--capabilities, repeated and/or comma-separated, as normalized names.

    As Retina's string slice: `-c A -c B` and `-c A,B` are the same, `-c ''` adds none.
    UsageProblem names an unknown capability.
    """
    from retina_tui.sessions.specs import parse_capabilities  # pydantic: not for --help

    try:
        return parse_capabilities(",".join(values))
    except ConfigError as error:
        raise UsageProblem(f"-c/--capabilities: {error}") from None


def check_shell(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and (not value.strip() or any(c.isspace() for c in value)):
        raise UsageProblem(
            f"--shell {value!r} is not a program name; name one such as powershell, cmd or sh."
        )
    return value


def check_windows_user(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    problem = None if value is None else windows_user_problem(value)
    if problem is not None:
        raise UsageProblem(
            f"--windows-user '{value}' is not a Windows account: {problem}; name one such as "
            "'NT AUTHORITY\\Local service'."
        )
    return value
