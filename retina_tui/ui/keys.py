"""The app's key bindings, the keymap from the settings, and the help screen's table.

Every configurable binding has an id equal to its field in `KeySettings`, so the
configuration file rebinds it through Textual's keymap.
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.binding import Binding, BindingType
from textual.keys import (
    KEY_ALIASES,
    REPLACED_KEYS,
    Keys,
    _character_to_key,
    key_to_character,
)

from retina_tui.config import KeySettings
from retina_tui.errors import ConfigError

if TYPE_CHECKING:
    from textual.app import App

PREFIX_KEY = "ctrl+b"

APP_BINDINGS: list[BindingType] = [
    Binding("question_mark,f1", "help", "Help", id="help"),
    Binding("colon", "prompt", "Command", id="prompt"),
    Binding("N", "pick_namespace", "Namespace", id="namespace"),
    Binding("C", "pick_context", "Context", id="context"),
    Binding("q", "quit_all", "Quit", id="quit"),
    Binding("ctrl+right,right_square_bracket", "next_tab", "Next tab", id="next_tab"),
    Binding("ctrl+left,left_square_bracket", "previous_tab", "Previous tab", id="previous_tab"),
    Binding("percent_sign", "split", "Split", id="split"),
    Binding("quotation_mark", "split_orientation", "Stack/side", id="split_orientation"),
    Binding("w", "switch_pane", "Other pane", id="switch_pane"),
    Binding("m", "mark", "Mark", id="mark"),
    Binding("y", "broadcast", "Broadcast", id="broadcast"),
    Binding("x", "close_session", "Close session", id="close_session"),
    *(
        Binding(str(n), f"tab({n})", "Browser tab" if n == 0 else f"Session tab {n}", show=False)
        for n in range(10)
    ),
]


MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


@cache
def _named_keys() -> frozenset[str]:
    """Key names Textual reports that are not one printable character."""
    names = {key.value.rsplit("+", 1)[-1] for key in Keys}
    for aliases in KEY_ALIASES.values():
        names.update(alias.rsplit("+", 1)[-1] for alias in aliases)
    return frozenset(name for name in names if len(name) > 1 and not name.startswith("<"))


def _is_character_name(name: str) -> bool:
    """`question_mark`, `colon`, `slash`: the name Textual derives from a character."""
    character = key_to_character(REPLACED_KEYS.get(name, name))
    return character is not None and _character_to_key(character) == name


def key_problem(key: str) -> str | None:
    """Why `key` (one key, such as `ctrl+q` or `question_mark`) is not a Textual key, or None."""
    *modifiers, base = key.strip().split("+")
    for modifier in modifiers:
        if modifier not in MODIFIERS:
            return f"{modifier!r} in {key!r} is not a modifier ({', '.join(MODIFIERS)})"
    if len(base) == 1 and base.isprintable() and not base.isspace():
        return None
    if base in _named_keys() or _is_character_name(base):
        return None
    if not base:
        return f"{key!r} has no key after its modifiers" if modifiers else "a key is empty"
    close = difflib.get_close_matches(base.lower(), sorted(_named_keys()), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}?" if close else "use a character or a name such as f1"
    return f"{key!r} is not a key Textual knows ({hint})"


def check_key_settings(keys: KeySettings, path: Path | None) -> None:
    """ConfigError naming the file, the setting and the first key that is not a key."""
    for name, value in keys.model_dump().items():
        for key in str(value).split(","):
            problem = key_problem(key)
            if problem is None:
                continue
            where = f"The configuration file {path}" if path else "The configuration"
            raise ConfigError(
                f"{where} is invalid at ui.keys.{name}: {problem}; use Textual key names "
                "such as ctrl+q, f1 or question_mark, several separated by commas."
            )


def keymap_from_settings(keys: KeySettings) -> dict[str, str]:
    """Binding id -> keys for `App.set_keymap`: only what differs from the defaults.

    Textual applies a keymap to every binding on every key press, so an empty keymap
    (the usual case) keeps key handling cheap.
    """
    defaults = KeySettings()
    return {
        name: str(value)
        for name, value in keys.model_dump().items()
        if value != getattr(defaults, name)
    }


def _display(app: App[Any], keys: str) -> str:
    shown = []
    for key in keys.split(","):
        key = key.strip()
        shown.append(app.get_key_display(Binding(key, "")) or key)
    return " ".join(shown)


def _rows(app: App[Any], bindings: list[BindingType]) -> list[tuple[str, str]]:
    keymap = getattr(app, "_keymap", {}) or {}
    rows = []
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
        rows.append((_display(app, keys), binding.description or binding.action))
    return rows


def help_sections(app: App[Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every binding, by where it applies."""
    from retina_tui.ui.browser import Browser
    from retina_tui.ui.capture_pane import CapturePane
    from retina_tui.ui.check_screen import CheckScreen
    from retina_tui.ui.log_pane import LogPane
    from retina_tui.ui.table import VirtualTable
    from retina_tui.ui.terminal_view import TerminalView

    named = [b for b in APP_BINDINGS if isinstance(b, Binding) and not b.action.startswith("tab(")]
    everywhere = _rows(app, list(named))
    everywhere += [("0 … 9", "Browser tab (0), session tabs (1-9)"), ("ctrl+p", "Command palette")]
    terminal = [
        (PREFIX_KEY, "Prefix: the next key goes to the app (press twice to send ctrl+b)"),
        *_rows(app, list(TerminalView.BINDINGS)),
    ]
    prompt = [
        (":pods", "Pods view"),
        (":nodes", "Nodes view"),
        (":svc  :netpol", "Services view; NetworkPolicies view"),
        (":check", "Check connectivity from the marked (or selected) pods"),
        (":pf [PORTS]", "Forward local ports to the selected pod or Service"),
        (":forwards", "Port forwards view (z stops one)"),
        (":logs  :events", "Logs of the marked (or selected) pods; events of the namespace"),
        (":recordings", "Recorded sessions, to replay one"),
        (":ns NAME", "Show one namespace (:ns all for every namespace, :ns to pick)"),
        (":ctx NAME", "Switch context (:ctx to pick)"),
        (":help  :quit", "This screen; quit"),
    ]
    filter_keys = [("enter", "Keep the filter and go back to the table"), ("escape", "Clear")]
    return [
        (f"Anywhere (in a terminal, press {PREFIX_KEY} first)", everywhere),
        ("Browser", _rows(app, list(Browser.BINDINGS))),
        ("Tables", _rows(app, list(VirtualTable.BINDINGS))),
        ("Filter", filter_keys),
        ("Terminal", terminal),
        ("Capture tab", _rows(app, list(CapturePane.BINDINGS))),
        ("Log tab", [*_rows(app, list(LogPane.BINDINGS)), ("n  N", "Next, previous match")]),
        ("Check screen", _rows(app, list(CheckScreen.BINDINGS))),
        (": prompt", prompt),
    ]
