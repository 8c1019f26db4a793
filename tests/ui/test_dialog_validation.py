"""The session dialog refuses an unknown capability or a bad image, and stays open."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input

from retina_tui.config import DebugSettings
from retina_tui.ui.dialog import SessionChoice, SessionDialog


class DialogApp(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.choices: list[SessionChoice | None] = []

    def on_mount(self) -> None:
        self.push_screen(SessionDialog(debug=DebugSettings(), pod=None, node="node-1"), self.chosen)

    def chosen(self, choice: SessionChoice | None) -> None:
        self.choices.append(choice)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("#capabilities", "NET_ADMIN,NET_FOO", "'NET_FOO' is not a Linux capability (did you mean"),
        ("#image", "UPPER :://bad ref", "is not an image reference: it contains white space"),
    ],
)
async def test_a_bad_value_is_named_and_the_dialog_stays(
    field: str, value: str, message: str
) -> None:
    app = DialogApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SessionDialog)
        dialog.query_one(field, Input).value = value
        dialog.action_open()
        await pilot.pause()
        assert app.screen is dialog and app.choices == []
        assert any(message in str(note.message) for note in app._notifications)
        dialog.query_one(field, Input).value = "cap_net_raw" if field == "#capabilities" else ""
        dialog.action_open()
        await pilot.pause()
        assert len(app.choices) == 1 and app.choices[0] is not None
