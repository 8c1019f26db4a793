"""`retina-tui shell` argument handling: targets, durations, images, flags and --help."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from retina_tui import cli as cli_module
from retina_tui import config
from retina_tui.cli import cli
from retina_tui.commands import shell as shell_module
from retina_tui.commands import shell_main
from retina_tui.commands.connection import parse_request_timeout
from retina_tui.commands.shell import parse_target, parse_timeout, resolve_image
from retina_tui.commands.shell_args import PROFILE_CHOICES, parse_capability_flag
from retina_tui.kube.overrides import ConnectionOverrides


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("worker-1", ("node", "worker-1")),
        ("node/worker-1", ("node", "worker-1")),
        ("pod/web-0", ("pod", "web-0")),
        ("pods/web-0", ("pod", "web-0")),
        ("po/web-0", ("pod", "web-0")),
        ("Pod/web-0", ("pod", "web-0")),
        ("PODS./web-0", ("pod", "web-0")),
        ("pods.v1./web-0", ("pod", "web-0")),
        ("pod.v1./web-0", ("pod", "web-0")),
        ("po.v1./web-0", ("pod", "web-0")),
        ("no/n", ("node", "n")),
        ("Node/n", ("node", "n")),
        ("nodes.v1./node-1", ("node", "node-1")),
        ("node.v1./n", ("node", "n")),
        ("NODES.v1./n", ("node", "n")),
    ],
)
def test_targets(text: str, expected: tuple[str, str]) -> None:
    assert parse_target(text) == expected


# Each is refused by kubectl's resource builder too (checked against the real kubectl):
# short names are case-sensitive, the version is, and the core group is "", not "core".
@pytest.mark.parametrize(
    "text",
    [
        "deploy/web",
        "pods.v1/x",
        "pods.v1.core/x",
        "pods..v1/x",
        "pods.V1./x",
        "pods.v1../x",
        "pods.apps/x",
        "NO/x",
        "Po/x",
        ".v1./x",
        "/x",
    ],
)
def test_bad_target(text: str) -> None:
    with pytest.raises(click.BadParameter, match="not NODE, node/NODE or pod/NAME"):
        parse_target(text)


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


def test_image_flags_beat_the_environment_part_by_part() -> None:
    default = "docker.io/nicolaka/netshoot:v0.13"
    env = {"RETINA_SHELL_IMAGE_REPO": "ghcr.io/env/shell", "RETINA_SHELL_IMAGE_VERSION": "v9"}
    assert resolve_image(None, default, env, repo="mcr.io/flag/shell") == "mcr.io/flag/shell:v9"
    assert resolve_image(None, default, env, version="v2") == "ghcr.io/env/shell:v2"
    assert resolve_image(None, default, {}, version="v2") == "docker.io/nicolaka/netshoot:v2"
    assert resolve_image(None, default, {}, repo="mine/shell") == "mine/shell:v0.13"
    with pytest.raises(click.BadParameter, match="--retina-shell-image-version='v 2'"):
        resolve_image(None, default, {}, version="v 2")
    with pytest.raises(click.BadParameter, match="cannot be combined"):
        resolve_image("mine:1", default, {}, version="v2")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("NET_ADMIN", "NET_RAW"), ("NET_ADMIN", "NET_RAW")),
        (("net_admin,SYS_PTRACE", "cap_net_raw"), ("NET_ADMIN", "SYS_PTRACE", "NET_RAW")),
        (("",), ()),
        (("NET_ADMIN", ""), ("NET_ADMIN",)),
    ],
)
def test_capabilities_repeat_and_split(values: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert parse_capability_flag(values) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("30", 30), ("30s", 30), ("1m", 60), ("1m30s", 90), ("500ms", 0.5), ("1.5s", 1.5)],
)
def test_request_timeouts(text: str, seconds: float) -> None:
    assert parse_request_timeout(text) == seconds


@pytest.mark.parametrize("text", ["1.5", "-1", "soon", "", "5x", "s"])
def test_bad_request_timeouts(text: str) -> None:
    with pytest.raises(click.BadParameter, match=r"--request-timeout .* is not a timeout"):
        parse_request_timeout(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pod/web", "--host-pid"], "--host-pid applies to node shells only"),
        (["pod/web", "--seccomp-unconfined"], "--seccomp-unconfined applies to node shells only"),
        (["pod/web", "-m", "--apparmor-unconfined"], "and --apparmor-unconfined apply to node"),
        (["node-1", "--target", "app"], "--target names a container of a pod"),
        (["node-1", "--profile", "root"], "--profile: 'root' is not one of 'netadmin'"),
        (["node-1", "--as-uid", "7"], "--as-group and --as-uid need --as"),
        (["node-1", "-s", "ftp://x"], "-s/--server 'ftp://x' is not an API server address"),
        (["node-1", "--token", " "], "--token is empty"),
        (["node-1", "--client-key", "/no/such/key"], "--client-key '/no/such/key' is not a file"),
    ],
)
def test_refused_flags_are_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["shell", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_profile_choices_are_the_settings_profiles() -> None:
    assert PROFILE_CHOICES == config.PROFILES


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `shell` would run with, instead of running it."""
    seen: dict[str, Any] = {}

    def run(options: Any, settings: Any, **connection: Any) -> int:
        seen.update(options=options, settings=settings, **connection)
        return 0

    monkeypatch.setattr(shell_module, "_run", run)
    monkeypatch.delenv("RETINA_SHELL_IMAGE_REPO", raising=False)
    monkeypatch.delenv("RETINA_SHELL_IMAGE_VERSION", raising=False)
    return seen


def test_connection_flags_become_one_overrides_value(captured: dict[str, Any]) -> None:
    args = ["-s", "10.0.0.1:6443", "--as", "jane", "--as-group", "a", "--as-group", "b"]
    args += ["--as-uid", "7", "--cluster", "c", "--user", "u", "--token", "t"]
    args += ["--insecure-skip-tls-verify", "--tls-server-name", "api", "--request-timeout", "1m"]
    result = CliRunner().invoke(cli, ["shell", *args, "node-1"])
    assert result.exit_code == 0, result.output
    assert captured["overrides"] == ConnectionOverrides(
        server="https://10.0.0.1:6443",
        token="t",
        impersonate_user="jane",
        impersonate_groups=("a", "b"),
        impersonate_uid="7",
        cluster="c",
        user="u",
        insecure_skip_tls_verify=True,
        tls_server_name="api",
        request_timeout=60.0,
    )


async def test_profile_and_image_flags_reach_the_session_spec(
    captured: dict[str, Any], tmp_path: Path
) -> None:
    from retina_tui.kube.client import connect

    args = ["--profile", "sysadmin", "--retina-shell-image-repo", "mcr.microsoft.com/r/shell"]
    args += ["-c", "NET_ADMIN", "-c", "SYS_PTRACE,NET_RAW"]
    for target in ("node-1", "pod/web"):
        result = CliRunner().invoke(cli, ["shell", *args, target])
        assert result.exit_code == 0, result.output
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            json.dumps(
                {
                    "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                    "users": [{"name": "u", "user": {"token": "t"}}],
                    "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "x",
                }
            )
        )
        client = await connect(kubeconfig=str(kubeconfig))
        try:
            session: Any = shell_main._build_session(
                client, captured["options"], captured["settings"], None
            )
        finally:
            await client.close()
        assert session.spec.profile == "sysadmin"
        assert session.spec.image == "mcr.microsoft.com/r/shell:v0.13"
        assert session.spec.capabilities == ("NET_ADMIN", "SYS_PTRACE", "NET_RAW")


def test_help_groups_the_options_under_headings() -> None:
    text = CliRunner().invoke(cli, ["shell", "--help"]).output
    headings = ["Connection options:", "Image options:", "Security options:", "Session options:"]
    positions = [text.index(heading) for heading in headings]
    assert positions == sorted(positions)
    blocks = {}
    for heading, start, end in zip(headings, positions, [*positions[1:], len(text)], strict=True):
        blocks[heading] = text[start:end]
    assert all(flag in blocks["Connection options:"] for flag in ("-s, --server", "--as-group"))
    assert "--request-timeout" in blocks["Connection options:"]
    assert "--retina-shell-image-version" in blocks["Image options:"]
    assert all(flag in blocks["Security options:"] for flag in ("--profile", "-c,", "--host-pid"))
    assert all(flag in blocks["Session options:"] for flag in ("--target", "--timeout", "--help"))
    assert "Other options" not in text


@pytest.mark.parametrize("args", [["--as", "jane"], ["tui", "--as", "jane"]])
def test_the_interface_takes_the_same_connection_flags(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from retina_tui.commands import tui as tui_module

    seen: dict[str, Any] = {}
    for module in (tui_module, cli_module):
        monkeypatch.setattr(module, "run_tui", lambda **kwargs: seen.update(kwargs))
    result = CliRunner().invoke(cli, [*args, "--request-timeout", "5"])
    assert result.exit_code == 0, result.output
    assert seen["overrides"] == ConnectionOverrides(impersonate_user="jane", request_timeout=5.0)
