"""Modal screens: help, pickers, the `:` prompt and the unreachable-cluster screen.

Each returns its answer through `dismiss`, so the app awaits them with
`push_screen(..., callback)` and never polls them.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from retina_tui.ui.keybar import KeyBar


class HelpScreen(ModalScreen[None]):
    """Every binding, grouped by where it applies."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "dismiss", "Close help"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: 90%; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("retina-tui keys\n", style="bold")
        for title, rows in self.sections:
            text.append(f"\n{title}\n", style="bold underline")
            for keys, description in rows:
                text.append(f"  {keys:<24}", style="bold cyan")
                text.append(f"{description}\n")
        with VerticalScroll():
            yield Static(text, id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class PickerScreen(ModalScreen[str | None]):
    """Pick one of a list (contexts, namespaces, a session to split with)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface;
    }
    PickerScreen OptionList { height: auto; max-height: 20; }
    PickerScreen .picker-title { padding: 0 1; text-style: bold; }
    """

    def __init__(
        self, title: str, choices: list[tuple[str, str]], current: str | None = None
    ) -> None:
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="picker-title")
            yield OptionList(*(Option(label, id=value) for value, label in self.choices))

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, (value, _) in enumerate(self.choices):
            if value == self.current:
                options.highlighted = index
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PromptScreen(ModalScreen[str | None]):
    """The k9s-like `:` prompt at the bottom of the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    PromptScreen { align: center bottom; background: $background 30%; }
    PromptScreen > Input { width: 100%; dock: bottom; border: tall $accent; }
    """

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="pods | nodes | svc | netpol | check | ns NAME | ctx NAME | help | quit",
            id="prompt",
        )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class UnreachableScreen(Screen[bool]):
    """The cluster cannot be used: say why, offer a retry, another context or namespace.

    Unreachable, refusing, or answering with something that is not Kubernetes; never a
    traceback.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "retry", "Retry"),
        Binding("q", "quit_app", "Quit"),
        Binding("C", "context", "Other context"),
        Binding("N", "namespace", "Other namespace"),
    ]

    DEFAULT_CSS = """
    UnreachableScreen { align: center middle; }
    UnreachableScreen > Vertical {
        width: 80; max-width: 95%; height: auto; border: thick $error; padding: 1 2;
        background: $surface;
    }
    UnreachableScreen #reason { margin: 1 0; }
    """

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]The cluster cannot be used[/b]")
            yield Static(self.reason, id="reason")
            yield Static(
                "Press [b]r[/b] to retry, [b]C[/b] for another context, [b]N[/b] for another "
                "namespace, [b]q[/b] to quit."
            )
        yield KeyBar()

    def update_reason(self, reason: str) -> None:
        """Show the latest failure while retries continue."""
        self.reason = reason
        if self.is_mounted:
            self.query_one("#reason", Static).update(reason)

    def action_retry(self) -> None:
        self.dismiss(True)

    def action_quit_app(self) -> None:
        self.dismiss(False)

    async def action_context(self) -> None:
        await self.app.run_action("pick_context")

    async def action_namespace(self) -> None:
        await self.app.run_action("pick_namespace")
