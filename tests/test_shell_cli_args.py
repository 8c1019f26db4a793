"""`retina-tui shell` argument handling: targets, durations and the image environment."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from retina_tui.cli import cli
from retina_tui.commands.shell import parse_target, parse_timeout, resolve_image


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worker-1", ("node", "worker-1")),
        ("node/worker-1", ("node", "worker-1")),
        ("pod/web-0", ("pod", "web-0")),
        ("pods/web-0", ("pod", "web-0")),
    ],
)
def test_targets(text: str, expected: tuple[str, str]) -> None:
    assert parse_target(text) == expected


def test_bad_target() -> None:
    with pytest.raises(click.BadParameter, match="not NODE, node/NODE or pod/NAME"):
        parse_target("deploy/web")


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30s", 30), ("2m", 120), ("1m30s", 90)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_timeout(text, 60) == seconds


def test_default_and_bad_durations() -> None:
    assert parse_timeout(None, 60) == 60
    with pytest.raises(click.BadParameter):
        parse_timeout("soon", 60)


def test_image_precedence() -> None:
    default = "docker.io/nicolaka/netshoot:v0.13"
    assert resolve_image("mine:1", default, {"RETINA_SHELL_IMAGE_REPO": "x"}) == "mine:1"
    assert resolve_image(None, default, {}) == default
    env = {"RETINA_SHELL_IMAGE_REPO": "ghcr.io/me/shell", "RETINA_SHELL_IMAGE_VERSION": "v2"}
    assert resolve_image(None, default, env) == "ghcr.io/me/shell:v2"
    assert (
        resolve_image(None, default, {"RETINA_SHELL_IMAGE_VERSION": "v0.14"})
        == "docker.io/nicolaka/netshoot:v0.14"
    )
    assert (
        resolve_image(None, "localhost:5000/img", {"RETINA_SHELL_IMAGE_VERSION": "v1"})
        == "localhost:5000/img:v1"
    )


def test_node_only_flags_are_refused_for_pods() -> None:
    result = CliRunner().invoke(cli, ["shell", "pod/web", "--host-pid"])
    assert result.exit_code == 2
    assert "apply to node shells only" in result.output
