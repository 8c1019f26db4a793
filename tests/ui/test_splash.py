"""The first frame comes before Textual: "connecting to CONTEXT" at once, under a real pty.

The context is read from the kubeconfig without a YAML parser; a setting that stops the
app after the frame is shown puts the terminal back and says what is wrong.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pexpect

from retina_tui.ui.splash import LEAVE, frame, guess_context


def test_the_context_is_read_from_yaml_json_or_the_flag(tmp_path: Path) -> None:
    yaml_file = tmp_path / "yaml"
    yaml_file.write_text("apiVersion: v1\nkind: Config\ncurrent-context: 'prod-eu'\n")
    json_file = tmp_path / "json"
    json_file.write_text(json.dumps({"kind": "Config", "current-context": "admin"}))
    missing = tmp_path / "missing"
    assert guess_context(str(yaml_file), None) == "prod-eu"
    assert guess_context(str(json_file), None) == "admin"
    assert guess_context(f"{missing}{os.pathsep}{json_file}", None) == "admin"
    assert guess_context(str(json_file), "staging") == "staging"
    assert guess_context(str(missing), None) is None


def test_the_frame_names_the_context_in_the_middle() -> None:
    text = frame(80, 24, "admin")
    assert text.startswith("\x1b[?1049h")  # the alternate screen, as the app uses
    assert "\x1b[12;" in text and "connecting to admin …" in text
    assert "connecting …" in frame(80, 24, None)


def spawn(*args: str, env: dict[str, str] | None = None) -> pexpect.spawn:
    environment = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environment.update({"TERM": "xterm-256color", **(env or {})})
    return pexpect.spawn(
        sys.executable, ["-m", "retina_tui", *args], env=environment, dimensions=(30, 100)
    )


def test_the_browser_shows_connecting_to_the_context_first(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        json.dumps(
            {
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "far-away", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "far-away",
            }
        )
    )
    child = spawn("--kubeconfig", str(kubeconfig), env={"HOME": str(tmp_path)})
    try:
        child.expect("connecting to far-away", timeout=30)  # the plain frame
        child.expect(r"Browser", timeout=60)  # then the app's own
        child.expect(r"far-away", timeout=30)
    finally:
        child.sendcontrol("c")
        child.send("q")
        child.close(force=True)


def test_a_bad_setting_after_the_frame_restores_the_screen_and_says_why(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ui.keys]\nsplitt = 'v'\n")
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("current-context: prod\n")
    child = spawn("--kubeconfig", str(kubeconfig), "--config", str(config))
    child.expect("connecting to prod", timeout=30)
    child.expect(pexpect.EOF, timeout=60)
    output = (child.before or b"").decode(errors="replace")
    child.close()
    assert LEAVE in output
    assert output.index(LEAVE) < output.index("ui.keys.splitt")
    assert child.exitstatus == 2
