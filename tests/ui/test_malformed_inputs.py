"""The interface on a malformed kubeconfig or a malformed API reply: its error screen.

Never a crash and never a traceback: the reason in one sentence on the error screen
(retry and the context switch are there), and quitting from it exits non-zero: 2 when
the kubeconfig is at fault, 1 when the cluster is. The replies come from the sandbox
behind a proxy that garbles the one call a case is about (tests/kube/badapi.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from retina_tui.config import Settings
from retina_tui.sandbox import Sandbox
from retina_tui.ui.app import ClusterTarget, RetinaApp, make_app
from retina_tui.ui.screens import UnreachableScreen
from tests.kube.badapi import BadApi, Rule, proxy_kubeconfig, sandbox_upstream, serve_bad_api
from tests.kube.badapi import set_field as setting
from tests.ui.conftest import SIZE, wait_until

PODS = r"/api/v1/pods"
NOT_OBJECT = "with something that is not a Kubernetes object"

KUBECONFIGS = {
    "empty": ("", "is empty"),
    "malformed-yaml": ("contexts: {a: [\n", "is not valid YAML"),
    "scalar": ("hello\n", "holds a YAML string where a mapping"),
    "list": ("- a\n- b\n", "holds a YAML list where a mapping"),
    "contexts-a-mapping": ("contexts: {a: 1}\n", "where a list of named contexts belongs"),
}

REPLIES = {
    "garbage": (Rule("GET", PODS, reply="garbage", watch=False), f"{NOT_OBJECT} (text"),
    "html-login-page": (Rule("GET", PODS, reply="html", watch=False), "(HTML, 200)"),
    "array": (Rule("GET", PODS, reply="array", watch=False), "(a JSON array"),
    "null": (Rule("GET", PODS, reply="null", watch=False), "(JSON null"),
    "empty-body": (Rule("GET", PODS, reply="empty", watch=False), "(an empty body"),
    "items-a-string": (
        Rule("GET", PODS, mutate=setting("items", "pods"), watch=False),
        "whose items is a string",
    ),
    "metadata-a-list": (
        Rule("GET", PODS, mutate=setting("items[].metadata", ["x"]), watch=False),
        "has a list as metadata",
    ),
    "watch-not-events": (
        Rule("GET", PODS, reply="watch-garbage", watch=True),
        "not a watch event on GET /api/v1/pods?watch (a line that is not JSON",
    ),
    "watch-no-object": (
        Rule("GET", PODS, reply="watch-no-object", watch=True),
        "not a watch event on GET /api/v1/pods?watch (an event whose object is null",
    ),
}


async def until_error_screen(pilot: object, app: RetinaApp) -> UnreachableScreen:
    await wait_until(pilot, lambda: isinstance(app.screen, UnreachableScreen), "the error screen")  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, UnreachableScreen)
    return screen


async def quit_from(pilot: object, app: RetinaApp) -> None:
    await pilot.press("q")  # type: ignore[attr-defined]
    await wait_until(pilot, lambda: app.return_code is not None, "the app to exit")  # type: ignore[arg-type]


@pytest.mark.parametrize("case", sorted(KUBECONFIGS))
async def test_a_malformed_kubeconfig_shows_the_error_screen_and_exits_2(
    case: str, tmp_path: Path
) -> None:
    text, expected = KUBECONFIGS[case]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(text)
    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(kubeconfig)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await until_error_screen(pilot, app)
        assert expected in screen.reason, screen.reason
        assert str(kubeconfig) in screen.reason
        await quit_from(pilot, app)
    assert app._exception is None
    assert app.return_code == 2
    assert any(expected in line for line in app.exit_lines())


@pytest.fixture
async def garbling(
    browse_sandbox: Sandbox, request: pytest.FixtureRequest
) -> AsyncIterator[BadApi]:
    upstream, ca_pem, _tokens = sandbox_upstream(browse_sandbox.kubeconfig_path)
    rule, _expected = REPLIES[request.param]
    async with serve_bad_api(upstream, ca_pem, [rule]) as api:
        yield api


@pytest.mark.parametrize("garbling", sorted(REPLIES), indirect=True)
async def test_a_malformed_reply_shows_the_error_screen_and_exits_1(
    garbling: BadApi, browse_sandbox: Sandbox, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    _rule, expected = REPLIES[request.node.callspec.params["garbling"]]
    kubeconfig = proxy_kubeconfig(tmp_path / "kubeconfig", garbling.url, browse_sandbox.admin_token)
    app = make_app(Settings(), target=ClusterTarget(kubeconfig=str(kubeconfig)))
    async with app.run_test(size=SIZE) as pilot:
        screen = await until_error_screen(pilot, app)
        assert expected in screen.reason, screen.reason
        assert garbling.url in screen.reason
        assert garbling.garbled, "the proxy garbled nothing: the case tests nothing"
        await quit_from(pilot, app)
    assert app._exception is None
    assert app.return_code == 1
