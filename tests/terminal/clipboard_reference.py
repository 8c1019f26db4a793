"""A terminal's view of OSCs, written apart from the filter, to check what it lets through.

A byte-at-a-time DEC-style state machine that "executes" every OSC it sees the way the
most permissive terminals do: at BEL or ST, but also when ESC, CAN, SUB, a C1 control or
the end of the stream cuts it short (tmux and the DEC parser dispatch those too). C1
controls are the UTF-8 encoded characters U+0080-U+009F. `clipboard_writes` lists the
OSCs that some terminal would take as a clipboard or file write: it reads the number
both as tmux does (controls inside ignored, unsigned 32-bit) and as atoi does in st
(leading blanks and a sign, stopping at the first non-digit), on whole bodies, by regex.
"""

from __future__ import annotations

import re

GROUND, ESCAPE, OSC = "ground", "escape", "osc"
CLIPBOARD = {52, 5113, 5522}
ITERM2_KEYS = (b"copy", b"endcopy", b"file", b"multipartfile")
CONTROLS = bytes([*range(0x20), 0x7F])
TMUX_NUMBER = re.compile(rb" *([+-]?)([0-9]+)")
ATOI_NUMBER = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")


def executed_oscs(stream: bytes) -> list[bytes]:
    """The body of every OSC a terminal would act on, in order."""
    executed: list[bytes] = []
    state = GROUND
    body = bytearray()

    def execute() -> None:
        executed.append(bytes(body))
        body.clear()

    i = 0
    while i < len(stream):
        byte = stream[i]
        c1 = stream[i + 1] if byte == 0xC2 and i + 1 < len(stream) else None
        if c1 is not None and not 0x80 <= c1 <= 0x9F:
            c1 = None
        step = 2 if c1 is not None else 1
        if state == OSC:
            if byte == 0x07 or byte in (0x18, 0x1A):
                execute()
                state = GROUND
            elif byte == 0x1B:
                execute()
                state = ESCAPE
            elif c1 is not None:
                execute()
                state = OSC if c1 == 0x9D else GROUND
            else:
                body.append(byte)
        elif byte == 0x1B:
            state = ESCAPE
        elif state == ESCAPE:
            state = OSC if byte == 0x5D else GROUND
            body.clear()
            if c1 == 0x9D:
                state = OSC
        elif c1 == 0x9D:
            state = OSC
            body.clear()
        i += step
    if state == OSC:
        execute()
    return executed


def _number(pattern: re.Pattern[bytes], text: bytes) -> tuple[int, int] | None:
    m = pattern.match(text)
    if m is None:
        return None
    value = int(m[2]) * (-1 if m[1] == b"-" else 1)
    return value % (1 << 32), m.end()


def is_clipboard(body: bytes) -> bool:
    """Whether some terminal would take this OSC body as a clipboard or file write."""
    visible = body.translate(None, CONTROLS)
    for found in (_number(TMUX_NUMBER, visible), _number(ATOI_NUMBER, body)):
        if found is None:
            continue
        value = found[0]
        if value in CLIPBOARD:
            return True
        if value == 1337 and b";" in visible:
            key = visible.split(b";", 1)[1].lower()
            if key.startswith(ITERM2_KEYS):
                return True
    return False


def clipboard_writes(stream: bytes) -> list[bytes]:
    """The OSC bodies in `stream` that would reach a clipboard or write a file."""
    return [body for body in executed_oscs(stream) if is_clipboard(body)]
