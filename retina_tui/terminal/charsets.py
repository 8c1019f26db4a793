"""Character widths (wide CJK/emoji, zero-width combining marks) and the DEC line-drawing set."""

from __future__ import annotations

_WIDTHS: dict[str, int] = {}


def char_width(ch: str) -> int:
    """Cells taken by ``ch``: 2 for wide, 0 for combining/zero-width, else 1."""
    w = _WIDTHS.get(ch)
    if w is None:
        # Imported on first use: wcwidth takes a while to import and plain ASCII output
        # never needs it.
        from wcwidth import wcwidth

        w = wcwidth(ch)
        if w < 0:
            w = 0
        elif w > 2:
            w = 2
        if len(_WIDTHS) < 65_536:
            _WIDTHS[ch] = w
    return w


def text_width(text: str) -> int:
    """Cells taken by ``text`` when printed on one line."""
    if text.isascii():
        return len(text)
    return sum(char_width(ch) for ch in text)


# DEC Special Graphics (``ESC ( 0``), as used by top, tmux, mc and dialog borders.
DEC_GRAPHICS = str.maketrans(
    {
        "`": "◆",
        "a": "▒",
        "b": "␉",
        "c": "␌",
        "d": "␍",
        "e": "␊",
        "f": "°",
        "g": "±",
        "h": "␤",
        "i": "␋",
        "j": "┘",
        "k": "┐",
        "l": "┌",
        "m": "└",
        "n": "┼",
        "o": "⎺",
        "p": "⎻",
        "q": "─",
        "r": "⎼",
        "s": "⎽",
        "t": "├",
        "u": "┤",
        "v": "┴",
        "w": "┬",
        "x": "│",
        "y": "≤",
        "z": "≥",
        "{": "π",
        "|": "≠",
        "}": "£",
        "~": "·",
        "_": " ",
    }
)
