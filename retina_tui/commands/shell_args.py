"""The arguments of `retina-tui shell`, each checked before anything connects.

An empty target would make the node check read the whole node list, an image that is
not a reference or a misspelt capability is only refused by the node after the pod
exists: every value is refused here with one line and exit 2 instead.
"""

from __future__ import annotations

import os

import click

from retina_tui.commands.tui import UsageProblem
from retina_tui.errors import ConfigError
from retina_tui.validation.image import EXAMPLE, image_problem
from retina_tui.validation.names import label_problem, subdomain_problem

IMAGE_REPO_ENV = "RETINA_SHELL_IMAGE_REPO"
IMAGE_VERSION_ENV = "RETINA_SHELL_IMAGE_VERSION"
POD_TYPES = ("pod", "pods", "po")
NODE_TYPES = ("node", "nodes", "no")


TARGET_HELP = "name a node (NODE or node/NODE) or a pod (pod/NAME)"


def parse_target(text: str) -> tuple[str, str]:
    """`NAME` -> ("node", NAME); `pod/NAME`, `pods/NAME` -> ("pod", NAME); `node/NAME` too.

    The name must be one the API server could hold: an empty one would read the whole
    node list instead of one node.
    """
    if not text.strip():
        raise UsageProblem(f"The target {text!r} is empty; {TARGET_HELP}.")
    kind, sep, name = text.partition("/")
    if not sep:
        kind, name = "node", text
    elif kind.lower() in POD_TYPES:
        kind = "pod"
    elif kind.lower() in NODE_TYPES:
        kind = "node"
    else:
        raise UsageProblem(f"{text!r} is not NODE, node/NODE or pod/NAME; {TARGET_HELP}.")
    if not name:
        raise UsageProblem(f"The target {text!r} names no {kind}; {TARGET_HELP}.")
    problem = subdomain_problem(name)
    if problem is not None:
        raise UsageProblem(f"{name!r} cannot be a {kind} name: {problem}; {TARGET_HELP}.")
    return kind, name


def parse_timeout(text: str | None, default: float) -> float:
    """`90`, `90s`, `2m`, `1m30s` -> seconds."""
    if text is None:
        return default
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
        raise UsageProblem(f"--timeout {text!r} is not a duration such as 60s, 2m or 1m30s.")
    return total


def resolve_image(flag: str | None, default: str, environ: dict[str, str] | None = None) -> str:
    """--image wins; else RETINA_SHELL_IMAGE_REPO/_VERSION (as Retina reads them); else settings.

    What the flag or the environment gives must be an image reference (UsageProblem).
    """
    if flag is not None:
        problem = image_problem(flag)
        if problem is not None:
            raise UsageProblem(
                f"--image {flag!r} is not an image reference: {problem}; use one such as {EXAMPLE}."
            )
        return flag
    env = os.environ if environ is None else environ
    repo = env.get(IMAGE_REPO_ENV, "")
    version = env.get(IMAGE_VERSION_ENV, "")
    if not repo and not version:
        return default
    base, tag = default, "latest"
    last = default.rsplit("/", 1)[-1]
    if ":" in last:
        base, tag = default.rsplit(":", 1)
    image = f"{repo or base}:{version or tag}"
    problem = image_problem(image)
    if problem is not None:
        names = " and ".join(
            f"{name}={value!r}"
            for name, value in ((IMAGE_REPO_ENV, repo), (IMAGE_VERSION_ENV, version))
            if value
        )
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


def parse_capability_flag(text: str) -> tuple[str, ...]:
    """-c/--capabilities as normalized names; UsageProblem naming an unknown one."""
    from retina_tui.sessions.specs import parse_capabilities  # pydantic: not for --help

    try:
        return parse_capabilities(text)
    except ConfigError as error:
        raise UsageProblem(f"-c/--capabilities: {error}") from None
