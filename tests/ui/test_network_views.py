"""Services and NetworkPolicies views, the pod details' network lines, and the check screen.

The views follow watches (a Service or policy created through the API shows up, a deleted
one goes); the check screen fills a 3x3 matrix from real probes in real namespaces and
explains a denied cell; no source pod is left with more than one debug container.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from retina_tui.sandbox import Sandbox
from retina_tui.sessions.pod import pod_shells
from retina_tui.ui.check_screen import CheckScreen
from tests.ui.conftest import (
    SIZE,
    app_for,
    loaded,
    pod_running,
    quit_app,
    running,
    wait_until,
)
from tests.ui.test_sessions import debug_pods


def service(name: str, selector: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": selector, "ports": [{"port": 81, "targetPort": 8080}]},
    }


def policy(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}]}],
        },
    }


def cells(app: Any, view: str, key: str) -> tuple[str, ...] | None:
    table = app.browser.services if view == "services" else app.browser.netpols
    row = table.get_row(key)
    return row.cells if row else None


async def test_services_and_policies_views_follow_the_cluster(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pod_running(pilot, app, "shop", "web")
        await pilot.press("v")
        assert app.browser.view == "services"
        await wait_until(
            pilot, lambda: (cells(app, "services", "shop/web") or ("",) * 6)[5] == "1/1",
            "shop/web with one ready endpoint",
        )  # fmt: skip
        web = cells(app, "services", "shop/web")
        assert web == ("shop", "web", "ClusterIP", "10.96.100.10", "80/TCP", "1/1")
        live_sandbox.store.create("services", service("extra", {"app": "nothing"}))
        await wait_until(pilot, lambda: cells(app, "services", "shop/extra") is not None, "extra")
        extra = cells(app, "services", "shop/extra")
        assert extra is not None and extra[5] == "0/0"
        assert app.browser.services.get_row("shop/extra").tone == "error"  # type: ignore[union-attr]
        live_sandbox.store.remove("services", "shop", "extra")
        await wait_until(pilot, lambda: cells(app, "services", "shop/extra") is None, "gone")

        await pilot.press("colon", *"netpol", "enter")
        assert app.browser.view == "netpols"
        await wait_until(
            pilot, lambda: cells(app, "netpols", "shop/db-allow-api") is not None, "the policy"
        )
        assert cells(app, "netpols", "shop/db-allow-api") == (
            "shop", "db-allow-api", "app=db", "1", "-", "1",
        )  # fmt: skip
        live_sandbox.store.create("networkpolicies", policy("web-from-client"))
        await wait_until(
            pilot, lambda: cells(app, "netpols", "shop/web-from-client") is not None, "new policy"
        )
        assert cells(app, "netpols", "shop/web-from-client") == (
            "shop", "web-from-client", "app=web", "1", "-", "1",
        )  # fmt: skip

        def relabel(pod: dict[str, Any]) -> None:
            pod["metadata"]["labels"] = {"app": "web", "role": "extra"}

        live_sandbox.store.mutate("pods", "shop", "api", relabel)  # the pods' node is unchanged
        await wait_until(
            pilot, lambda: (cells(app, "netpols", "shop/web-from-client") or ("",) * 6)[5] == "2",
            "the policy to count the relabelled pod",
        )  # fmt: skip
        assert app.browser.netpols.move_cursor_to("shop/web-from-client")
        await wait_until(
            pilot, lambda: "ingress: app=client on any port" in str(app.browser.details.content),
            "the policy in words",
        )  # fmt: skip

        await pilot.press("p")
        key = app.browser.find_pod("shop", "db")
        assert key is not None and app.browser.pods.move_cursor_to(key)
        await wait_until(
            pilot,
            lambda: (
                "shop/db-allow-api: selects app=db, ingress: app=api on TCP 5432"
                in str(app.browser.details.content)
            ),
            "the pod's policies in its details",
        )
        assert "shop/db  10.96.100.30:5432  1/1 ready" in str(app.browser.details.content)
        await quit_app(pilot, app, "q")


def explanation(screen: CheckScreen) -> str:
    return str(screen.query_one("#check-explanation", Static).render())


@pytest.mark.netns
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nftables"
)
async def test_the_check_screen_fills_a_matrix_and_explains_a_denial(
    live_sandbox: Sandbox,
) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for name in ("client", "api", "web"):
            key = await pod_running(pilot, app, "shop", name)
            assert app.browser.pods.move_cursor_to(key)
            await pilot.press("m")
        assert list(app.browser.marked) == ["pod/shop/client", "pod/shop/api", "pod/shop/web"]
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckScreen), "the check screen")
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        targets = screen.query_one("#check-targets", Input)
        targets.value = "svc/web pod/db:5432 nope.shop.svc.cluster.local"
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: len(screen.cells) == 9 and all(c.done for c in screen.cells),
            "every cell of the 3x3 matrix", 120,
        )  # fmt: skip
        await wait_until(pilot, lambda: not screen.running, "the probes' hosts closed")
        matrix = screen.query_one(DataTable)
        assert matrix.row_count == 3 and len(matrix.columns) == 4
        by_cell = {(c.source.name, c.target.label): c for c in screen.cells}
        assert by_cell[("client", "svc/web")].checks[0].observation.outcome == "reached"  # type: ignore[union-attr]
        assert by_cell[("api", "pod/db:5432")].match() is True  # api may reach db
        assert by_cell[("api", "pod/db:5432")].checks[0].observation.outcome == "reached"  # type: ignore[union-attr]
        assert all(c.match() for c in screen.cells), [
            (c.source.name, c.target.label, c.explanations()) for c in screen.cells
        ]
        assert "✓ tcp reached (allowed)" in str(matrix.get_cell("s0", "t0"))
        matrix.focus()
        matrix.move_cursor(row=0, column=2)  # client -> pod/db:5432
        await pilot.pause(0.1)
        assert screen.selected_cell() is by_cell[("client", "pod/db:5432")]
        text = explanation(screen)
        assert (
            "denied by NetworkPolicy shop/db-allow-api (ingress of shop/db: no rule admits" in text
        )
        assert "observed blocked: timed out after 3 s" in text
        matrix.move_cursor(row=2, column=3)  # web -> nope...
        await pilot.pause(0.1)
        assert "NXDOMAIN for nope.shop.svc.cluster.local from 10.96.0.10" in explanation(screen)
        assert ";; ->>HEADER<<-" in explanation(screen)  # the raw dig output

        await pilot.press("enter")  # into the explanation, to scroll the raw output
        assert screen.focused is screen.query_one("#check-explain")
        await pilot.press("escape")  # back to the matrix, the screen stays
        assert screen.focused is matrix and app.screen is screen

        await pilot.press("r")  # re-run: the same debug containers answer
        await wait_until(pilot, lambda: screen.running, "the re-run", 10)
        await wait_until(pilot, lambda: not screen.running, "the re-run to end", 120)
        for name in ("client", "api", "web"):
            pod = live_sandbox.store.get("pods", "shop", name)
            shells = [s for s in pod_shells(pod) if s.purpose == "command"]
            assert len(shells) == 1, (name, [s.container for s in shells])
        matrix.move_cursor(row=2, column=1)
        await pilot.press("s")  # a shell in the row's source pod
        await wait_until(pilot, lambda: bool(app.workspace.panes), "a shell tab")
        pane = app.workspace.panes[0]
        assert pane.title == "pod shop/web"
        await running(pilot, pane)
        await quit_app(pilot, app, "ctrl+b", "q")


@pytest.mark.netns
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nftables"
)
async def test_a_node_source_checks_from_a_node_pod_deleted_on_close(
    live_sandbox: Sandbox,
) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pod_running(pilot, app, "shop", "web")
        await pilot.press("n")
        assert app.browser.nodes.move_cursor_to("node-1")
        await pilot.press("m", "r")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckScreen), "the check screen")
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        screen.query_one("#check-targets", Input).value = "svc/shop/web"
        await pilot.press("enter")
        await wait_until(
            pilot, lambda: bool(screen.cells) and screen.cells[0].done, "the probe", 90
        )
        (cell,) = screen.cells
        assert cell.source.label == "node/node-1"
        assert cell.checks[0].observation.outcome == "reached", cell.explanations()  # type: ignore[union-attr]
        await wait_until(pilot, lambda: not screen.running, "the node pod deleted", 60)
        assert debug_pods(live_sandbox) == []
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, CheckScreen), "closed")
        await quit_app(pilot, app, "q")


@pytest.mark.netns
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nftables"
)
async def test_quitting_during_a_node_check_deletes_its_node_pod(live_sandbox: Sandbox) -> None:
    app = app_for(live_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pod_running(pilot, app, "shop", "db")
        await pilot.press("n")
        assert app.browser.nodes.move_cursor_to("node-2")
        await pilot.press("r")
        await wait_until(pilot, lambda: isinstance(app.screen, CheckScreen), "the check screen")
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        screen.query_one("#check-targets", Input).value = "pod/shop/db:5432"  # dropped: 3 s
        await pilot.press("enter")
        await wait_until(pilot, lambda: bool(debug_pods(live_sandbox)), "the node pod", 60)
        await quit_app(pilot, app, "q")
    assert debug_pods(live_sandbox) == []
