"""Cell attributes (colours and styles) and the SGR sequences that change them.

Attributes are interned: equal attributes are the same object, so rows can hold plain
references and hot paths can compare and key caches by identity.
"""

from __future__ import annotations

from dataclasses import dataclass

Color = int | tuple[int, int, int] | None


@dataclass(frozen=True, slots=True)
class Attr:
    """The look of one cell: colours (None, 0-255 or (r, g, b)) and style flags."""

    fg: Color = None
    bg: Color = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strike: bool = False
    blink: bool = False
    hidden: bool = False


_Key = tuple[Color, Color, bool, bool, bool, bool, bool, bool, bool, bool]
_INTERN: dict[_Key, Attr] = {}
_INTERN_LIMIT = 100_000


def make_attr(
    fg: Color = None,
    bg: Color = None,
    bold: bool = False,
    dim: bool = False,
    italic: bool = False,
    underline: bool = False,
    reverse: bool = False,
    strike: bool = False,
    blink: bool = False,
    hidden: bool = False,
) -> Attr:
    """Return the interned Attr with these fields."""
    key = (fg, bg, bold, dim, italic, underline, reverse, strike, blink, hidden)
    attr = _INTERN.get(key)
    if attr is None:
        if len(_INTERN) >= _INTERN_LIMIT:
            # Truecolor gradients could grow the table without bound; only identity
            # shortcuts are lost, equality still holds.
            _INTERN.clear()
            _INTERN[_key(DEFAULT)] = DEFAULT
        attr = Attr(*key)
        _INTERN[key] = attr
    return attr


def _key(a: Attr) -> _Key:
    return (
        a.fg,
        a.bg,
        a.bold,
        a.dim,
        a.italic,
        a.underline,
        a.reverse,
        a.strike,
        a.blink,
        a.hidden,
    )


def intern(a: Attr) -> Attr:
    """The interned instance equal to ``a``."""
    return make_attr(*_key(a))


DEFAULT = Attr()
_INTERN[_key(DEFAULT)] = DEFAULT


def erase_attr(a: Attr) -> Attr:
    """Attribute of cells erased while ``a`` is the pen: only the background survives."""
    if a.bg is None:
        return DEFAULT
    return make_attr(bg=a.bg)


def _num(s: str) -> int:
    if not s:
        return 0
    if not s.isdigit():
        return -1
    return int(s[:9])


def _extended_color(parts: list[str]) -> tuple[Color, int]:
    """Parse ``5;n`` or ``2;r;g;b`` (semicolon form) from parts[0:]; returns (color, used)."""
    if not parts:
        return None, 0
    kind = _num(parts[0])
    if kind == 5 and len(parts) >= 2:
        n = _num(parts[1])
        return (n if 0 <= n <= 255 else None), 2
    if kind == 2 and len(parts) >= 4:
        r, g, b = (_num(p) for p in parts[1:4])
        if all(0 <= c <= 255 for c in (r, g, b)):
            return (r, g, b), 4
        return None, 4
    return None, len(parts)


def _colon_color(sub: list[str]) -> Color:
    """Parse the colon form: ``38:5:n``, ``38:2::r:g:b`` or ``38:2:r:g:b``."""
    kind = _num(sub[1]) if len(sub) > 1 else -1
    if kind == 5 and len(sub) >= 3:
        n = _num(sub[2])
        return n if 0 <= n <= 255 else None
    if kind == 2 and len(sub) >= 5:
        rgb = sub[3:6] if len(sub) >= 6 else sub[2:5]
        r, g, b = (_num(p) for p in rgb)
        if all(0 <= c <= 255 for c in (r, g, b)):
            return (r, g, b)
    return None


_FLAG_ON = {1: 2, 2: 3, 3: 4, 4: 5, 5: 8, 6: 8, 7: 6, 8: 9, 9: 7, 21: 5}
_FLAG_OFF = {23: (4,), 24: (5,), 25: (8,), 27: (6,), 28: (9,), 29: (7,), 22: (2, 3)}


def apply_sgr(attr: Attr, params: str) -> Attr:
    """The pen after ``CSI params m`` is applied to ``attr``."""
    f: list[object] = list(_key(attr))
    parts = params.split(";")
    i = 0
    n = len(parts)
    while i < n:
        p = parts[i]
        i += 1
        if ":" in p:
            sub = p.split(":")
            code = _num(sub[0])
            if code == 38:
                f[0] = _colon_color(sub)
            elif code == 48:
                f[1] = _colon_color(sub)
            elif code == 4:
                f[5] = _num(sub[1]) != 0 if len(sub) > 1 else True
            continue
        code = _num(p)
        if code == 0:
            f = list(_key(DEFAULT))
        elif 30 <= code <= 37:
            f[0] = code - 30
        elif 40 <= code <= 47:
            f[1] = code - 40
        elif 90 <= code <= 97:
            f[0] = code - 82
        elif 100 <= code <= 107:
            f[1] = code - 92
        elif code == 39:
            f[0] = None
        elif code == 49:
            f[1] = None
        elif code in (38, 48, 58):
            color, used = _extended_color(parts[i:])
            i += used
            if code != 58:
                f[0 if code == 38 else 1] = color
        elif code in _FLAG_ON:
            f[_FLAG_ON[code]] = True
        elif code in _FLAG_OFF:
            for idx in _FLAG_OFF[code]:
                f[idx] = False
    return make_attr(*f)  # type: ignore[arg-type]


# (id(pen), params) -> (pen, new pen); holding the pen keeps its id from being reused.
_SGR_CACHE: dict[tuple[int, str], tuple[Attr, Attr]] = {}


def sgr(attr: Attr, params: str) -> Attr:
    """apply_sgr, cached by the pen's identity."""
    hit = _SGR_CACHE.get((id(attr), params))
    if hit is not None and hit[0] is attr:
        return hit[1]
    new = apply_sgr(attr, params)
    if len(_SGR_CACHE) > 50_000:
        _SGR_CACHE.clear()
    _SGR_CACHE[(id(attr), params)] = (attr, new)
    return new
