"""The browser against the sandbox: live tables, filter, sort, views, details, prompt."""

from __future__ import annotations

from typing import Any

from retina_tui.kube.client import connect
from retina_tui.sandbox import Sandbox
from retina_tui.ui.screens import HelpScreen, PickerScreen
from tests.ui.conftest import SIZE, app_for, loaded, wait_until


def names(app: Any) -> list[str]:
    table = app.browser.pods
    return [table.get_row(key).cells[1] for key in table.visible_keys()]


async def test_pods_table_lists_every_pod_like_kubectl(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        expected = browse_sandbox.store.list("pods")
        assert app.browser.pods.total_count == len(expected)
        table = app.browser.pods
        by_name = {table.get_row(k).cells[1]: table.row_text(k) for k in table.visible_keys()}
        some = next(p for p in expected if p["status"].get("phase") == "Running")
        line = by_name[some["metadata"]["name"]]
        assert some["metadata"]["namespace"] in line
        assert "Running" in line
        assert some["spec"]["nodeName"] in line
        assert some["status"]["podIP"] in line
        # Sorted by namespace, then name, as kubectl get -A prints them.
        rows = [table.get_row(k).cells[:2] for k in table.visible_keys()]
        assert rows == sorted(rows)
        await pilot.press("q")


async def test_filter_narrows_the_table_as_you_type(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        everything = app.browser.pods.row_count
        await pilot.press("slash", "c", "o", "r", "e")
        await wait_until(pilot, lambda: app.browser.pods.row_count < everything, "the filter")
        assert all("core" in n or "core" in app.browser.pods.filter_text for n in names(app))
        assert names(app) and all("core" in n for n in names(app))
        await pilot.press("enter")
        assert app.focused is app.browser.pods
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.browser.pods.row_count == everything, "no filter")
        await pilot.press("q")


async def test_keys_typed_at_once_after_slash_all_land_in_the_filter(
    browse_sandbox: Sandbox,
) -> None:
    from textual import events

    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        # As a fast typist (or a pasted line): every key is queued before any is handled.
        typed = [("slash", "/"), ("w", "w"), ("e", "e"), ("b", "b"), ("enter", None), ("d", "d")]
        for key, char in typed:
            app.post_message(events.Key(key, char))
        await wait_until(pilot, lambda: app.browser.has_class("-no-details"), "the d key")
        await pilot.pause(0.1)
        assert app.browser.pods.filter_text == "web"  # nothing lost, nothing extra
        assert names(app) == ["web"]
        assert app.focused is app.browser.pods
        await pilot.press("q")


async def test_a_created_pod_shows_up_and_a_deleted_one_goes(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        client = await connect(kubeconfig=str(browse_sandbox.kubeconfig_path))
        try:
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "fresh-pod", "namespace": "default"},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            }
            await client.request("POST", "/api/v1/namespaces/default/pods", body=pod)
            await wait_until(pilot, lambda: "fresh-pod" in names(app), "the new pod in the table")
            await client.request("DELETE", "/api/v1/namespaces/default/pods/fresh-pod")
            await wait_until(pilot, lambda: "fresh-pod" not in names(app), "the deleted pod to go")
        finally:
            await client.close()
        await pilot.press("q")


async def test_sorting_by_a_column_and_back(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("2")  # NAME
        await pilot.pause(0.1)
        assert names(app) == sorted(names(app))
        await pilot.press("2")
        await pilot.pause(0.1)
        assert names(app) == sorted(names(app), reverse=True)
        assert "NAME▼" in app.browser.pods.header_text()
        await pilot.press("q")


async def test_nodes_view_counts_pods_per_node(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        table = app.browser.nodes
        pods = browse_sandbox.store.list("pods")
        for node in browse_sandbox.store.list("nodes"):
            name = node["metadata"]["name"]
            count = sum(1 for p in pods if p["spec"].get("nodeName") == name)
            await wait_until(
                pilot, lambda n=name, c=count: table.get_row(n).cells[6] == str(c), "pod counts"
            )
            assert table.get_row(name).cells[1] == "Ready"
        await pilot.press("p")
        assert app.browser.view == "pods"
        await pilot.press("q")


async def test_details_panel_shows_labels_ips_and_containers(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        key = app.browser.find_pod(
            "kube-system",
            next(
                p["metadata"]["name"]
                for p in browse_sandbox.store.list("pods", "kube-system")
                if p["metadata"]["name"].startswith("coredns")
            ),
        )
        assert key is not None
        app.browser.pods.move_cursor_to(key)
        details = app.browser.details

        def shown() -> str:
            return str(details.render())

        await wait_until(pilot, lambda: "Labels" in shown() and "coredns" in shown(), "details")
        assert "Containers" in shown()
        assert "Debug containers" in shown()
        await pilot.press("q")


async def test_prompt_switches_views_and_namespaces(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("colon", *"nodes", "enter")
        assert app.browser.view == "nodes"
        await pilot.press("colon", *"ns kube-system", "enter")
        assert app.browser.view == "pods"
        await wait_until(
            pilot,
            lambda: (
                app.browser.pods_loaded
                and app.browser.pods.total_count > 0
                and {app.browser.pods.get_row(k).cells[0] for k in app.browser.pods.visible_keys()}
                == {"kube-system"}
            ),
            "only kube-system pods",
        )
        await pilot.press("colon", *"ns all", "enter")
        await wait_until(
            pilot,
            lambda: (
                app.browser.pods_loaded
                and len(
                    {app.browser.pods.get_row(k).cells[0] for k in app.browser.pods.visible_keys()}
                )
                > 1
            ),
            "pods of every namespace",
        )
        await pilot.press("q")


async def test_namespace_and_context_pickers(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("N")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "the picker")
        labels = [str(o.prompt) for o in app.screen.query_one("OptionList").options]  # type: ignore[attr-defined]
        assert labels[0] == "all namespaces"
        assert {"default", "kube-system"} <= set(labels)
        await pilot.press("escape")
        await pilot.press("C")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), "contexts")
        labels = [str(o.prompt) for o in app.screen.query_one("OptionList").options]  # type: ignore[attr-defined]
        assert {"admin", "restricted"} <= set(labels)
        await pilot.press("escape")
        await pilot.press("q")


async def test_help_lists_every_binding(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for description in ("Filter", "Split", "Broadcast", "Close session", "Namespace", "ctrl+b"):
            assert description in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("q")


async def test_unknown_prompt_command_is_a_notification(browse_sandbox: Sandbox) -> None:
    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("colon", *"frobnicate", "enter")
        await pilot.pause(0.1)
        assert any("Unknown command" in n.message for n in app._notifications)
        await pilot.press("q")


async def test_command_palette_offers_every_action(browse_sandbox: Sandbox) -> None:
    from textual.command import CommandPalette

    from retina_tui.ui.browser import Browser
    from retina_tui.ui.keys import APP_BINDINGS

    app = app_for(browse_sandbox)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        titles = [title for title, _, _ in app.palette_actions()]
        for binding in [*APP_BINDINGS, *Browser.BINDINGS]:
            assert any(binding.description in title for title in titles)  # type: ignore[union-attr]
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"nodes")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.browser.view == "nodes", "the nodes view")
        await pilot.press("q")
