"""Key, paste and mouse encoding: what an xterm sends to the program it runs.

The widget receives Textual key names ("ctrl+c", "shift+up", "f5", "alt+x") and has to
write the bytes a real xterm would write for them, honouring the modes the remote program
asked for (application cursor keys, bracketed paste, mouse reporting). Keeping this pure
(strings in, bytes out, no Textual import) lets it be pinned by golden-byte tests.
"""

from __future__ import annotations

import unicodedata
from enum import Enum
from typing import Final

ESC: Final = "\x1b"
CSI: Final = "\x1b["
SS3: Final = "\x1bO"
PASTE_START: Final = "\x1b[200~"
PASTE_END: Final = "\x1b[201~"

MODIFIER_BITS: Final = {"shift": 1, "alt": 2, "meta": 2, "ctrl": 4, "super": 8, "hyper": 8}
"""xterm's modifier parameter is 1 + the sum of these (ESC[1;5A is ctrl+up)."""

CURSOR_FINALS: Final = {"up": "A", "down": "B", "right": "C", "left": "D", "home": "H", "end": "F"}
"""Keys sent as CSI <final> normally and SS3 <final> in application cursor mode."""

TILDE_CODES: Final = {
    "insert": 2,
    "delete": 3,
    "pageup": 5,
    "pagedown": 6,
    "f5": 15,
    "f6": 17,
    "f7": 18,
    "f8": 19,
    "f9": 20,
    "f10": 21,
    "f11": 23,
    "f12": 24,
}
"""Keys sent as CSI <code> ~ (with ;<modifier> before the tilde when modified)."""

SS3_FUNCTION_FINALS: Final = {"f1": "P", "f2": "Q", "f3": "R", "f4": "S"}
"""F1-F4 are SS3 P..S unmodified and CSI 1;<modifier> P..S when modified."""

CONTROL_SYMBOLS: Final = {
    "space": 0x00,
    "at": 0x00,
    "@": 0x00,
    "commercial_at": 0x00,
    "2": 0x00,
    "left_square_bracket": 0x1B,
    "left_square_brace": 0x1B,
    "[": 0x1B,
    "3": 0x1B,
    "backslash": 0x1C,
    "\\": 0x1C,
    "4": 0x1C,
    "right_square_bracket": 0x1D,
    "]": 0x1D,
    "5": 0x1D,
    "circumflex_accent": 0x1E,
    "^": 0x1E,
    "6": 0x1E,
    "underscore": 0x1F,
    "_": 0x1F,
    "minus": 0x1F,
    "slash": 0x1F,
    "/": 0x1F,
    "7": 0x1F,
    "question_mark": 0x7F,
    "?": 0x7F,
    "8": 0x7F,
}
"""Control bytes for ctrl+<symbol>, as xterm produces them on a US layout."""

SIMPLE_KEYS: Final = {
    "enter": "\r",
    "return": "\r",
    "newline": "\n",
    "tab": "\t",
    "backspace": "\x7f",
    "escape": ESC,
    "space": " ",
}

NAME_TO_CHARACTER: Final = {
    "slash": "/",
    "backslash": "\\",
    "at": "@",
    "minus": "-",
    "plus": "+",
    "underscore": "_",
    "hyphen_minus": "-",
    "less_than_sign": "<",
    "greater_than_sign": ">",
    "left_square_brace": "[",
}
"""Textual key names whose character a Unicode name lookup does not find."""


def _split(key: str) -> tuple[frozenset[str], str]:
    """Split "ctrl+shift+up" into ({"ctrl", "shift"}, "up")."""
    *modifiers, base = key.split("+")
    if not base and modifiers:  # a literal "+" key written as "...++"
        base = "+"
        modifiers = modifiers[:-1]
    return frozenset(modifiers), base


def _modifier_param(modifiers: frozenset[str]) -> int:
    return 1 + sum({MODIFIER_BITS[m] for m in modifiers if m in MODIFIER_BITS})


def _character_of(base: str, shift: bool) -> str | None:
    """The character a base key name stands for ("a", "full_stop" -> ".")."""
    if len(base) == 1:
        return base.upper() if shift else base
    if base in NAME_TO_CHARACTER:
        return NAME_TO_CHARACTER[base]
    try:
        return unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        return None


def _special(base: str, modifiers: frozenset[str], application_cursor: bool) -> str | None:
    """Cursor, editing and function keys, with xterm's modifier encoding."""
    param = _modifier_param(modifiers)
    if base in CURSOR_FINALS:
        final = CURSOR_FINALS[base]
        if param > 1:
            return f"{CSI}1;{param}{final}"
        return (SS3 if application_cursor else CSI) + final
    if base.startswith("f") and base[1:].isdigit() and 13 <= int(base[1:]) <= 24:
        # xterm reports F13-F24 as shift+F1..F12.
        base = f"f{int(base[1:]) - 12}"
        param = _modifier_param(modifiers | {"shift"})
    if base in TILDE_CODES:
        code = TILDE_CODES[base]
        return f"{CSI}{code};{param}~" if param > 1 else f"{CSI}{code}~"
    if base in SS3_FUNCTION_FINALS:
        final = SS3_FUNCTION_FINALS[base]
        return f"{CSI}1;{param}{final}" if param > 1 else SS3 + final
    return None


def _control(base: str, character: str | None) -> str | None:
    """The control byte for ctrl+<base>, or None when there is none."""
    if len(base) == 1 and base.isascii() and base.isalpha():
        return chr(ord(base.lower()) & 0x1F)
    if base in CONTROL_SYMBOLS:
        return chr(CONTROL_SYMBOLS[base])
    if base in ("backspace", "h"):
        return "\x08"
    if base in ("enter", "return", "tab", "escape"):
        return SIMPLE_KEYS[base]
    if character is not None and len(character) == 1 and ord(character) < 0x20:
        return character
    return None


def encode_key(key: str, character: str | None, *, application_cursor: bool) -> bytes | None:
    """The bytes an xterm sends for a Textual key event, or None if it sends nothing.

    `key` is the Textual key name, `character` the event's character (may be None, for
    example for "alt+x" synthesized by a test pilot). Alt is sent as an ESC prefix.
    """
    if key == "+":
        return b"+"
    modifiers, base = _split(key)
    alt = "alt" in modifiers or "meta" in modifiers
    ctrl = "ctrl" in modifiers
    shift = "shift" in modifiers

    special = _special(base, modifiers, application_cursor)
    if special is not None:
        return special.encode()

    text: str | None
    if ctrl:
        text = _control(base, character)
    elif base == "tab" and shift:
        text = f"{CSI}Z"
    elif base in SIMPLE_KEYS:
        text = SIMPLE_KEYS[base]
    elif character and (character.isprintable() or (len(character) == 1 and character < " ")):
        text = character
    else:
        text = _character_of(base, shift)
    if text is None:
        return None
    if alt and not text.startswith(CSI):
        text = ESC + text
    return text.encode("utf-8", "surrogateescape")


def encode_paste(text: str, bracketed: bool) -> bytes:
    """Pasted text as the remote should receive it.

    Line ends become CR as in xterm. In bracketed mode the text is wrapped in
    ESC[200~ ... ESC[201~ and any end marker inside it is removed, so pasted text can
    never end the paste early and have the rest run as typed commands.
    """
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    if not bracketed:
        return text.encode("utf-8", "surrogateescape")
    while PASTE_END in text or PASTE_START in text:
        text = text.replace(PASTE_END, "").replace(PASTE_START, "")
    return (PASTE_START + text + PASTE_END).encode("utf-8", "surrogateescape")


class MouseAction(Enum):
    """What happened to the mouse."""

    PRESS = "press"
    RELEASE = "release"
    MOTION = "motion"


MOUSE_NONE: Final = 0
MOUSE_LEFT: Final = 1
MOUSE_MIDDLE: Final = 2
MOUSE_RIGHT: Final = 3
WHEEL_UP: Final = 4
WHEEL_DOWN: Final = 5
WHEEL_LEFT: Final = 6
WHEEL_RIGHT: Final = 7

MOUSE_X10: Final = 9
MOUSE_NORMAL: Final = 1000
MOUSE_BUTTON_MOTION: Final = 1002
MOUSE_ANY_MOTION: Final = 1003

X10_MAX_COORDINATE: Final = 223
"""In the legacy encoding a coordinate is one byte, 32 + (1-based position)."""

_BUTTON_CODES: Final = {
    MOUSE_LEFT: 0,
    MOUSE_MIDDLE: 1,
    MOUSE_RIGHT: 2,
    MOUSE_NONE: 3,
    WHEEL_UP: 64,
    WHEEL_DOWN: 65,
    WHEEL_LEFT: 66,
    WHEEL_RIGHT: 67,
}


def encode_mouse(
    action: MouseAction,
    button: int,
    x: int,
    y: int,
    *,
    mode: int,
    sgr: bool,
    shift: bool = False,
    alt: bool = False,
    ctrl: bool = False,
) -> bytes | None:
    """A mouse report for the remote, or None when its mode does not ask for this event.

    `button` is one of the MOUSE_* / WHEEL_* constants, `x` and `y` are 0-based cells,
    `mode` is the remote's tracking mode (0 = off, 9, 1000, 1002, 1003) and `sgr` whether
    it enabled the SGR (1006) encoding. The legacy encoding cannot express positions past
    column or row 223, so such events are not sent.
    """
    if mode == 0 or button not in _BUTTON_CODES or x < 0 or y < 0:
        return None
    wheel = button >= WHEEL_UP
    if action is MouseAction.MOTION:
        dragging = mode == MOUSE_BUTTON_MOTION and button != MOUSE_NONE and not wheel
        if mode != MOUSE_ANY_MOTION and not dragging:
            return None
    if mode == MOUSE_X10 and action is not MouseAction.PRESS:
        return None
    if wheel and action is MouseAction.RELEASE:
        return None
    code = _BUTTON_CODES[button]
    if mode != MOUSE_X10:
        code += (4 if shift else 0) + (8 if alt else 0) + (16 if ctrl else 0)
    if action is MouseAction.MOTION:
        code += 32
    if sgr:
        final = "m" if action is MouseAction.RELEASE else "M"
        return f"{CSI}<{code};{x + 1};{y + 1}{final}".encode()
    if action is MouseAction.RELEASE:
        code = (code & ~3) | 3  # the legacy encoding cannot say which button was released
    if x + 1 > X10_MAX_COORDINATE or y + 1 > X10_MAX_COORDINATE:
        return None
    return bytes([0x1B, 0x5B, 0x4D, 32 + code, 32 + x + 1, 32 + y + 1])
