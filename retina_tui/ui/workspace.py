"""Tabs for the browser and every session, a split of any two sessions, broadcast input.

Panes are never moved between containers (moving a widget in Textual remounts it, and
that would cancel its session): every pane lives in one container and the layout is
done by showing or hiding them and switching the container between side-by-side and
stacked.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Static, Tab, Tabs

from retina_tui.ui.browser import Browser
from retina_tui.ui.pane import Pane

BROWSER_TAB = "browser"


class Workspace(Vertical):
    """The tab bar, the broadcast banner and the panes."""

    DEFAULT_CSS = """
    Workspace { height: 1fr; }
    Workspace > Tabs { height: 2; }
    Workspace > #broadcast-banner {
        display: none; height: 1; background: $error; color: $text; text-style: bold;
        content-align: center middle; width: 1fr;
    }
    Workspace.-broadcast > #broadcast-banner { display: block; }
    Workspace > #panes { height: 1fr; layout: horizontal; }
    Workspace > #panes.-stacked { layout: vertical; }
    Workspace > #panes > * { display: none; }
    Workspace > #panes > .-shown { display: block; }
    Workspace > #panes > Pane.-split-second { border-left: vkey $primary; }
    Workspace > #panes.-stacked > Pane.-split-second {
        border-left: none; border-top: hkey $primary;
    }
    """

    broadcast: reactive[bool] = reactive(False, init=False)
    stacked: reactive[bool] = reactive(False)

    class BroadcastChanged(Message):
        """Broadcast input was turned on or off."""

        def __init__(self, on: bool, targets: int) -> None:
            super().__init__()
            self.on = on
            self.targets = targets

    def __init__(self, browser: Browser) -> None:
        super().__init__(id="workspace")
        self.browser = browser
        self.panes: list[Pane] = []
        self.split: tuple[Pane, Pane] | None = None

    def compose(self) -> ComposeResult:
        yield Tabs(Tab("Browser", id=BROWSER_TAB), id="tabs")
        yield Static("", id="broadcast-banner")
        with Container(id="panes"):
            yield self.browser

    def on_mount(self) -> None:
        self.query_one(Tabs).can_focus = False
        self._layout()

    # ---- tabs -------------------------------------------------------------------------

    @property
    def tabs(self) -> Tabs:
        return self.query_one(Tabs)

    @property
    def active(self) -> Pane | None:
        """The pane of the active tab (None on the browser tab)."""
        active = self.tabs.active
        for pane in self.panes:
            if pane.id == active:
                return pane
        return None

    @property
    def focused_pane(self) -> Pane | None:
        """The pane holding focus (in a split, the one typed into)."""
        focused = self.screen.focused
        for pane in self.panes:
            if focused is not None and (focused is pane or pane in focused.ancestors):
                return pane
        return self.active

    async def add(self, pane: Pane) -> None:
        """Mount a new session pane and switch to its tab."""
        self.panes.append(pane)
        await self.query_one("#panes").mount(pane)
        await self.tabs.add_tab(Tab(pane.label, id=pane.id))
        self.show(pane.id or "")

    async def remove_pane(self, pane: Pane) -> None:
        """Forget a pane (its session is already closed): tab, split and marks."""
        if pane not in self.panes:
            return
        index = self.panes.index(pane)
        self.panes.remove(pane)
        if self.split is not None and pane in self.split:
            self.split = None
        await self.tabs.remove_tab(pane.id)
        await pane.remove()
        if not any(p.marked for p in self.panes):
            self.broadcast = False
        following = self.panes[min(index, len(self.panes) - 1)] if self.panes else None
        self.show(following.id if following and following.id else BROWSER_TAB)

    def show(self, tab_id: str) -> None:
        """Activate a tab and focus what it shows."""
        self.tabs.active = tab_id
        self._layout()

    def cycle(self, step: int) -> None:
        """Go to the next (1) or previous (-1) tab."""
        ids = [BROWSER_TAB, *(p.id or "" for p in self.panes)]
        current = ids.index(self.tabs.active) if self.tabs.active in ids else 0
        self.show(ids[(current + step) % len(ids)])

    def show_index(self, index: int) -> None:
        """Tab `index`: 0 is the browser, 1.. the sessions in order."""
        if index == 0:
            self.show(BROWSER_TAB)
        elif 0 < index <= len(self.panes):
            self.show(self.panes[index - 1].id or "")

    @on(Tabs.TabActivated)
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        event.stop()
        self._layout()

    @on(Pane.Changed)
    def _pane_changed(self, event: Pane.Changed) -> None:
        event.stop()
        pane = event.pane
        if pane in self.panes and pane.id:
            try:
                self.tabs.query_one(f"#{pane.id}", Tab).label = pane.label
            except Exception:
                return

    def _layout(self) -> None:
        active = self.active
        shown: list[Pane | Browser]
        if active is None:
            shown = [self.browser]
        elif self.split is not None and active in self.split:
            shown = list(self.split)
        else:
            shown = [active]
        children = [self.browser, *self.panes]
        # The divider goes on whichever of the two comes second on screen (DOM order).
        second = max(shown, key=children.index) if len(shown) == 2 else None
        for child in children:
            child.set_class(child in shown, "-shown")
            child.set_class(child is second, "-split-second")
        self.query_one("#panes").set_class(self.stacked, "-stacked")
        focus_target = active if active is not None else None
        if focus_target is None:
            self.browser.table.focus()
        elif self.focused_pane not in shown or self.focused_pane is None:
            focus_target.focus_target.focus()
        else:
            focus_target.focus_target.focus()

    # ---- split ------------------------------------------------------------------------

    def split_with(self, first: Pane, second: Pane) -> None:
        """Show two sessions side by side (or stacked)."""
        self.split = (first, second)
        self.show(first.id or "")

    def unsplit(self) -> None:
        """Back to one session per tab."""
        self.split = None
        self._layout()

    def toggle_orientation(self) -> None:
        """Side by side <-> stacked."""
        self.stacked = not self.stacked

    def watch_stacked(self) -> None:
        if self.is_mounted:
            self._layout()

    def switch_pane(self) -> None:
        """Move focus to the other pane of the split."""
        if self.split is None:
            return
        current = self.focused_pane
        other = self.split[1] if current is self.split[0] else self.split[0]
        self.tabs.active = other.id or ""
        other.focus_target.focus()

    # ---- broadcast --------------------------------------------------------------------

    @property
    def marked(self) -> list[Pane]:
        return [pane for pane in self.panes if pane.marked]

    def watch_broadcast(self, on: bool) -> None:
        targets = self.marked
        for pane in self.panes:
            pane.broadcasting = on and pane.marked
        self.set_class(on, "-broadcast")
        names = ", ".join(pane.title for pane in targets)
        self.query_one("#broadcast-banner", Static).update(
            f"BROADCAST ON — typing goes to {len(targets)} sessions: {names}"
        )
        self.post_message(self.BroadcastChanged(on, len(targets)))

    def refresh_broadcast(self) -> None:
        """Re-apply broadcast after the marks changed."""
        if self.broadcast and not self.marked:
            self.broadcast = False
        else:
            self.watch_broadcast(self.broadcast)

    @on(Pane.Typed)
    def _typed(self, event: Pane.Typed) -> None:
        event.stop()
        for pane in self.marked:
            pane.send(event.data)
