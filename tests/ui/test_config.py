"""The configuration file: defaults, overrides, key bindings, and one clear sentence when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from textual.binding import Binding

from retina_tui.cli import cli
from retina_tui.config import CONFIG_ENV, load_settings, resolve_config_path
from retina_tui.errors import ConfigError
from retina_tui.sandbox import Sandbox
from retina_tui.ui.app import ClusterTarget, make_app
from tests.ui.conftest import SIZE, loaded


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_every_section_can_be_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[debug]
image = "ghcr.io/retina-tui/debug:0.1.0"
capabilities = ["NET_ADMIN"]
namespace = "debug"
timeout_seconds = 30

[ui]
theme = "nord"
connect_timeout_seconds = 5

[ui.keys]
split = "v"
broadcast = "B,ctrl+y"
""",
    )
    settings = load_settings(path)
    assert settings.debug.image == "ghcr.io/retina-tui/debug:0.1.0"
    assert settings.debug.capabilities == ("NET_ADMIN",)
    assert settings.debug.namespace == "debug"
    assert settings.debug.timeout_seconds == 30
    assert settings.ui.theme == "nord"
    assert settings.ui.keys.split == "v"
    assert settings.ui.keys.broadcast == "B,ctrl+y"
    assert settings.ui.keys.mark == "m"  # untouched keys keep their default


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[debug]\ntimeout_seconds = "soon"\n', "debug.timeout_seconds"),
        ("[ui.keys]\nsplitt = 'v'\n", "ui.keys.splitt"),
        ("[debug]\ntimeout_seconds = -1\n", "debug.timeout_seconds"),
        ("[debug\n", "Could not read"),
    ],
)
def test_invalid_file_is_one_sentence(tmp_path: Path, text: str, where: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert where in message
    assert str(path) in message
    assert "\n" not in message


def test_invalid_file_stops_the_cli_with_the_message(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\ntheme = 3\n")
    result = CliRunner().invoke(cli, ["--config", str(path)])
    assert result.exit_code == 2
    assert "ui.theme" in result.output
    assert "Traceback" not in result.output


def test_config_path_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert resolve_config_path() == path
    monkeypatch.setenv(CONFIG_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config_path()
    monkeypatch.delenv(CONFIG_ENV)
    assert resolve_config_path().name == "config.toml"


async def test_configured_keys_and_theme_apply(browse_sandbox: Sandbox, tmp_path: Path) -> None:
    path = write(tmp_path, '[ui]\ntheme = "nord"\n[ui.keys]\nnodes = "v"\n')
    settings = load_settings(path)
    app = make_app(settings, target=ClusterTarget(kubeconfig=str(browse_sandbox.kubeconfig_path)))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        assert app.theme == "nord"
        await pilot.press("n")  # no longer bound
        assert app.browser.view == "pods"
        await pilot.press("v")
        assert app.browser.view == "nodes"
        await pilot.press("q")


def test_default_keys_are_the_bindings_in_the_code() -> None:
    from retina_tui.config import KeySettings
    from retina_tui.ui.browser import Browser
    from retina_tui.ui.capture_pane import CapturePane
    from retina_tui.ui.keys import APP_BINDINGS, keymap_from_settings
    from retina_tui.ui.log_pane import LogPane
    from retina_tui.ui.session_pane import SessionPane

    everywhere = [
        *APP_BINDINGS,
        *Browser.BINDINGS,
        *CapturePane.BINDINGS,
        *LogPane.BINDINGS,
        *SessionPane.BINDINGS,
    ]
    bound = {b.id: b.key for b in everywhere if isinstance(b, Binding) and b.id}
    assert bound == KeySettings().model_dump()
    assert keymap_from_settings(KeySettings()) == {}
    assert keymap_from_settings(KeySettings(split="v")) == {"split": "v"}
