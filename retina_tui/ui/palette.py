"""Command palette entries (ctrl+p) for every action of the app, and the screens that
have no key of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider


class HasActions(Protocol):
    def palette_actions(self) -> Iterable[tuple[str, str, str]]: ...


SCREENS = (
    (
        "Recordings (:recordings)",
        "Session recordings, newest first; enter replays one in a tab",
        "recordings",
    ),
)
"""(title, help, action) of screens reached only from here and the `:` prompt."""


class ActionCommands(Provider):
    """Every action by name: the app lists them in `palette_actions()`."""

    def _actions(self) -> Iterable[tuple[str, str, str]]:
        app: Any = self.app
        actions: HasActions = app
        return [*actions.palette_actions(), *SCREENS]

    async def discover(self) -> Hits:
        for title, help_text, action in self._actions():
            yield DiscoveryHit(title, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self._actions():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(action), help=help_text)

    def _runner(self, action: str) -> Callable[[], Any]:
        async def run() -> None:
            await self.app.run_action(action)

        return run
