"""Screenshots of the app, taken against the embedded sandbox, for the README and the docs.

The app runs headless exactly as in the snapshot tests: `make_app` on the sandbox's
kubeconfig, a fixed terminal size, a frozen clock and fixed pod names, so runs differ
only in addresses the machine assigns. Textual's own `App.export_screenshot()` writes
each screen as an SVG.

    python scripts/screenshots.py            # writes docs/images/browser.svg and session.svg
    python scripts/screenshots.py OUT_DIR    # somewhere else
    python scripts/screenshots.py --no-session OUT_DIR   # the browser only
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot

from retina_tui.config import Settings
from retina_tui.sandbox import Sandbox, SandboxOptions, run_sandbox
from retina_tui.ui.app import ClusterTarget, RetinaApp, make_app
from retina_tui.ui.rows import parse_time
from retina_tui.ui.session_pane import SessionPane

SIZE = (130, 34)
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "docs" / "images"
BROWSER_SVG = "browser.svg"
SESSION_SVG = "session.svg"
TIMEOUT = 60.0
PROMPT = "root@client:/#"
SHOWN_RUNNING = [("shop", "web"), ("shop", "api"), ("shop", "client"), ("shop", "db")]
SESSION_COMMANDS = [
    "ip -brief address",
    "dig +short web.shop.svc.cluster.local",
    "curl -sS -o /dev/null -w 'HTTP %{http_code}\\n' http://web",
]


def steady_names(sandbox: Sandbox) -> float:
    """Give the one randomly named seed pod a fixed name; return a clock 3 h after the seed."""
    store = sandbox.store
    for pod in store.list("pods", "kube-system"):
        name = pod["metadata"]["name"]
        if name.startswith("coredns-") and name != "coredns-5d78c":
            store.remove("pods", "kube-system", name)
            copy: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "coredns-5d78c",
                    "namespace": "kube-system",
                    "labels": pod["metadata"].get("labels", {}),
                },
                "spec": pod["spec"],
                "status": pod.get("status", {}),
            }
            store.create("pods", copy)
    stamps = [
        parse_time(obj["metadata"].get("creationTimestamp"))
        for kind in ("pods", "nodes")
        for obj in store.list(kind)
    ]
    return max(stamps) + 3 * 3600 + 30


def _app(sandbox: Sandbox) -> RetinaApp:
    now = steady_names(sandbox)
    target = ClusterTarget(kubeconfig=str(sandbox.kubeconfig_path))
    return make_app(Settings(), target=target, clock=lambda: now)


async def _until(pilot: Pilot[Any], predicate: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def _loaded(pilot: Pilot[Any], app: RetinaApp) -> None:
    """Wait until the pods and nodes tables hold the cluster's lists."""
    await _until(pilot, lambda: app.browser.pods_loaded, "the pods list")
    await _until(pilot, lambda: app.browser.nodes.total_count > 0, "the nodes list")
    await pilot.pause(0.5)  # the details panel settles after its debounce


def _screen_text(app: RetinaApp) -> str:
    """What the focused session tab's terminal shows, as plain text."""
    pane = app.workspace.focused_pane
    return "\n".join(pane.terminal.terminal.display_text()) if isinstance(pane, SessionPane) else ""


async def _quit(pilot: Pilot[Any], app: RetinaApp) -> None:
    """Quit as a person does and let the app close its sessions before leaving the test run.

    The key is posted as a driver posts it: `pilot.press` would wait for the animator,
    which an exiting app stops.
    """
    app.post_message(events.Key("q", "q"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while app.return_code is None:
        if loop.time() > deadline:
            raise TimeoutError("timed out waiting for the app to quit")
        await asyncio.sleep(0.05)


def _write(app: RetinaApp, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(app.export_screenshot(title="retina-tui"), encoding="utf-8")
    return path


def _pod_running(app: RetinaApp, namespace: str, name: str) -> bool:
    key = app.browser.find_pod(namespace, name)
    row = app.browser.pods.get_row(key) if key else None
    return row is not None and row.cells[3] == "Running"


def _prompts(app: RetinaApp) -> int:
    return _screen_text(app).count(PROMPT)


def _more_prompts(app: RetinaApp, before: int) -> bool:
    """The shell printed a new prompt: the last command finished."""
    return _prompts(app) > before


async def _browser(pilot: Pilot[Any], app: RetinaApp, out_dir: Path) -> Path:
    """The pods view once the shop's pods run, with shop/web selected."""
    await _loaded(pilot, app)
    await _until(
        pilot,
        lambda: all(_pod_running(app, namespace, name) for namespace, name in SHOWN_RUNNING),
        "the shop's pods to run",
    )
    key = app.browser.find_pod("shop", "web")
    assert key is not None
    app.browser.pods.move_cursor_to(key)
    await pilot.pause(0.5)  # the details panel follows the cursor after its debounce
    return _write(app, out_dir / BROWSER_SVG)


async def _session(pilot: Pilot[Any], app: RetinaApp, out_dir: Path) -> Path:
    """A debug shell on shop/client after a few network commands towards shop/web."""
    key = app.browser.find_pod("shop", "client")
    assert key is not None
    app.browser.pods.move_cursor_to(key)
    await pilot.pause()
    await pilot.press("s")
    await _until(pilot, lambda: _prompts(app) >= 1, "a prompt in the shell")
    for command in SESSION_COMMANDS:
        before = _prompts(app)
        await pilot.press(*command, "enter")
        await _until(pilot, partial(_more_prompts, app, before), f"the output of {command!r}")
    await pilot.pause(0.3)
    return _write(app, out_dir / SESSION_SVG)


async def take_screenshots(out_dir: Path, *, session: bool = True) -> list[Path]:
    """Write the screenshots into `out_dir`; return their paths.

    The sandbox runs its kubelet, so the pods run and a shell tab is a real shell; on a
    machine without network namespaces the pods share the host network and the shell
    shows the host's interfaces.
    """
    async with run_sandbox(SandboxOptions(network="auto", pods=3)) as sandbox:
        app = _app(sandbox)
        async with app.run_test(size=SIZE) as pilot:
            paths = [await _browser(pilot, app, out_dir)]
            if session:
                paths.append(await _session(pilot, app, out_dir))
                await pilot.press("ctrl+b")  # the next key goes to the app, not the shell
            await _quit(pilot, app)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--no-session", action="store_true", help="only the browser")
    args = parser.parse_args(argv)
    for path in asyncio.run(take_screenshots(args.out_dir, session=not args.no_session)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
