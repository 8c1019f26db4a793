"""Clipboard and file-transfer escapes never reach the local terminal from a remote shell.

`retina-tui shell` copies the remote shell's output to the local terminal byte for byte,
as `kubectl attach` does, except the operating-system commands (OSC) that read or write
the user's clipboard or write local files: a container must never see or replace what
the user copied. Dropped: OSC 52 (xterm's clipboard, set and read), OSC 5522 (kitty's
clipboard), OSC 5113 (kitty's file transfer) and OSC 1337 (iTerm2) whose payload starts,
in any case, with `Copy` (`Copy=`, `CopyToClipboard`), `EndCopy`, `File` (`File=`,
`FilePart`, `FileEnd`) or `MultipartFile`.

The filter must find these sequences wherever the terminal does, so it parses them as
the DEC/xterm state machine does (https://vt100.net/emu/dec_ansi_parser, "osc_string"):

- Any ESC starts a new sequence, whatever state the terminal is in, so every `ESC ]` is
  an OSC introducer, inside a CSI, a DCS or another OSC too.
- An OSC ends with BEL or ST (`ESC \\`), which belong to it, or is cut short by ESC
  (any other), CAN, SUB or a C1 control, which do not. Other C0 controls and DEL inside
  an OSC are ignored by the terminal: `ESC ] 5 ^A 2 ;` is OSC 52 for tmux.
- 8-bit C1 controls: the local terminal is a UTF-8 one. There a raw byte 0x80-0x9F is a
  continuation byte of a character (0x9D ends "Ý", 0x9C ends "Ü") and is shown as text,
  so raw bytes are data here; treating them as controls would cut titles and eat text.
  The C1 controls of a UTF-8 terminal are the characters U+0080-U+009F, the bytes
  C2 80-C2 9F, which st-like terminals obey: C2 9D opens an OSC, C2 9C (ST) ends one and
  any other C1 cuts one short.
- The OSC number is read as terminals read it, taking the union of their readings:
  any number of leading zeros, atoi's leading spaces and sign, the digit run either
  skipping ignored controls (tmux) or stopping at one (atoi in st), modulo 2**32 (tmux's
  unsigned int wraps: 4294967348 is 52). Whatever follows the digits is not checked.

A dropped OSC is replaced by ST, so that whatever its introducer ended (a pending ESC, an
open title, a DCS such as tmux's passthrough) still ends there and cannot join the bytes
after it; what cut a dropped OSC short (ESC, CAN, SUB, C1) is kept. Everything else
passes unchanged, as soon as it arrives: a harmless OSC is passed on once its number
shows it harmless, which takes a few bytes. Only an OSC whose number is not known yet is
held back, up to LIMIT bytes; one still undecided after that is dropped to its end, as
is one still undecided when the stream ends (`flush`).
"""

from __future__ import annotations

import re
from typing import Final

ESC: Final = 0x1B
BEL: Final = 0x07
ST: Final = b"\x1b\\"
C1_LEAD: Final = b"\xc2"
ESC_OSC: Final = b"\x1b]"
C1_OSC: Final = b"\xc2\x9d"
C1_ST: Final = 0x9C
ST_FINAL: Final = 0x5C  # `\` after ESC

CLIPBOARD_NUMBERS: Final = frozenset({52, 5113, 5522})
ITERM2: Final = 1337
ITERM2_KEYS: Final = (b"copy", b"endcopy", b"file", b"multipartfile")
WORD: Final = 1 << 32

# What ends an OSC: BEL, CAN, SUB, ESC, or a C1 control in UTF-8.
_OSC_END = re.compile(rb"[\x07\x18\x1a\x1b]|\xc2[\x80-\x9f]")
# A whole OSC whose number is digits right before `;`, ended by BEL or ST.
_PLAIN_OSC = re.compile(
    rb"(?:\x1b\]|\xc2\x9d)([0-9]{1,12});(?:[^\x07\x18\x1a\x1b\xc2]|\xc2(?![\x80-\x9f]))*+"
    rb"(?:\x07|\x1b\\|\xc2\x9c)"
)
_HELD = (b"\x1b", b"\xc2")
_IGNORED = frozenset({*range(0x20), 0x7F})
_DIGITS = frozenset(b"0123456789")

_GROUND, _UNDECIDED, _PASS, _DROP = range(4)
_LEAD, _NUMBER, _TO_KEY, _KEY = range(4)


def _plain(data: bytes) -> bool:
    """Whether `data` holds no OSC introducer and does not end in a byte that may start one.

    Single bytes are looked for first: that is memchr, faster than any two-byte search.
    """
    return (
        (ESC not in data or ESC_OSC not in data)
        and (C1_LEAD not in data or C1_OSC[1] not in data or C1_OSC not in data)
        and not data.endswith(_HELD)
    )


class _OscNumber:
    """Reads the start of an OSC body until it shows whether the OSC is to be dropped."""

    __slots__ = ("_key", "_negative", "_signed", "_skipping", "_state", "_stopped", "_stopping")

    def __init__(self) -> None:
        self._state = _LEAD
        self._signed = False
        self._negative = False
        self._skipping = 0  # digits with ignored controls skipped (tmux)
        self._stopping = 0  # digits up to the first non-digit (atoi in st)
        self._stopped = False
        self._key = bytearray()

    def feed(self, body: bytes) -> bool | None:
        """True: drop the OSC, False: pass it, None: not known yet."""
        for byte in body:
            verdict = self._step(byte)
            if verdict is not None:
                return verdict
        return None

    def end(self) -> bool:
        """The OSC ended here: whether to drop it."""
        return self._state == _NUMBER and self._numbers() is True

    def _step(self, byte: int) -> bool | None:
        state = self._state
        if state == _LEAD:
            if byte in _IGNORED or (byte == 0x20 and not self._signed):
                return None
            if byte in b"+-" and not self._signed:
                self._signed = True
                self._negative = byte == 0x2D
                return None
            if byte not in _DIGITS:
                return False
            self._state = state = _NUMBER
        if state == _NUMBER:
            if byte in _DIGITS:
                digit = byte - 0x30
                self._skipping = (self._skipping * 10 + digit) % WORD
                if not self._stopped:
                    self._stopping = (self._stopping * 10 + digit) % WORD
                return None
            if byte in _IGNORED:
                self._stopped = True
                return None
            verdict = self._numbers()
            if verdict is not None:
                return verdict
            self._state = state = _TO_KEY
        if state == _TO_KEY:
            if byte == 0x3B:  # `;`
                self._state = _KEY
            return None
        if byte in _IGNORED:
            return None
        self._key.append(byte | 0x20 if 0x41 <= byte <= 0x5A else byte)
        key = bytes(self._key)
        if any(key.startswith(prefix) for prefix in ITERM2_KEYS):
            return True
        if any(prefix.startswith(key) for prefix in ITERM2_KEYS):
            return None
        return False

    def _numbers(self) -> bool | None:
        """After the digits: drop, pass, or None when it is iTerm2's and the key decides."""
        values = {self._skipping, self._stopping}
        if self._negative:
            values = {-value % WORD for value in values}
        if values & CLIPBOARD_NUMBERS:
            return True
        return None if ITERM2 in values else False


class ClipboardFilter:
    """Drops clipboard and file-transfer OSCs from a byte stream split anyhow into chunks."""

    LIMIT = 1 << 20

    def __init__(self) -> None:
        self._mode = _GROUND
        self._carry = b""  # an ESC or C2 at the end of a chunk: its meaning comes next
        self._pending = bytearray()  # an OSC whose number is not known yet
        self._seen = 0  # body bytes of it read so far
        self._number = _OscNumber()
        self._osc_at = self._c1_at = -2

    def feed(self, data: bytes) -> bytes:
        """What of `data` may go to the terminal now; the rest is held or dropped."""
        if self._carry:
            data, self._carry = self._carry + data, b""
        if self._mode == _GROUND and _plain(data):
            return data
        out: list[bytes] = []
        size = len(data)
        pos = 0
        self._osc_at = self._c1_at = -2
        while pos < size:
            mode = self._mode
            if mode == _GROUND:
                pos = self._ground(data, pos, out)
            elif mode == _UNDECIDED:
                pos = self._classify(data, pos, out)
            elif mode == _PASS:
                m = _OSC_END.search(data, pos)
                if m is None:
                    pos = self._tail(data, pos, out)
                else:
                    out.append(data[pos : m.start()])
                    self._mode = _GROUND
                    pos = m.start()
            else:
                pos = self._drop(data, pos)
        return b"".join(out)

    def _ground(self, data: bytes, pos: int, out: list[bytes]) -> int:
        """Pass text and harmless OSCs up to the next OSC that needs a closer look."""
        run = pos
        # Where the next `ESC ]` and C2 9D are, at or after an earlier pos; -1: none.
        osc_at, c1_at = self._osc_at, self._c1_at
        find, match = data.find, _PLAIN_OSC.match
        while True:
            if -1 != osc_at < pos:
                osc_at = find(ESC_OSC, pos)
            if -1 != c1_at < pos:
                c1_at = find(C1_OSC, pos)
            at = c1_at if osc_at < 0 or 0 <= c1_at < osc_at else osc_at
            if at < 0:
                out.append(data[run:pos])
                return self._tail(data, pos, out)
            # A whole OSC with a plain number (nearly every OSC there is) is decided here.
            m = match(data, at)
            if m is None:
                break
            number = int(m[1]) % WORD
            if number == ITERM2 or number in CLIPBOARD_NUMBERS:
                break
            pos = m.end()
        self._osc_at, self._c1_at = osc_at, c1_at
        out.append(data[run:at])
        if m is not None and int(m[1]) % WORD in CLIPBOARD_NUMBERS:
            out.append(ST)
            return m.end()
        self._open(data[at : at + 2])
        return at + 2

    def flush(self) -> bytes:
        """The end of the stream: what is still held back and may go to the terminal."""
        mode, carry = self._mode, self._carry
        self._mode, self._carry, self._pending = _GROUND, b"", bytearray()
        if mode == _UNDECIDED:
            return ST
        return carry if mode in (_GROUND, _PASS) else b""

    def _open(self, introducer: bytes) -> None:
        self._mode = _UNDECIDED
        self._pending = bytearray(introducer)
        self._seen = 0
        self._number = _OscNumber()

    def _tail(self, data: bytes, pos: int, out: list[bytes]) -> int:
        """Pass data[pos:], holding back a final ESC or C2: the next byte tells what it is."""
        if data.endswith(_HELD) and pos < len(data):
            out.append(data[pos:-1])
            self._carry = data[-1:]
        else:
            out.append(data[pos:])
        return len(data)

    def _classify(self, data: bytes, pos: int, out: list[bytes]) -> int:
        """Read an undecided OSC's body; once decided, pass or drop it from `resume` on."""
        size = len(data)
        m = _OSC_END.search(data, pos)
        stop = m.start() if m is not None else size - 1 if data.endswith(C1_LEAD) else size
        body = data[pos:stop]
        room = self.LIMIT - self._seen
        verdict = self._number.feed(body[:room])
        resume = pos
        if verdict is None and len(body) > room:
            verdict = True
        if verdict is None:
            self._pending += body
            self._seen += len(body)
            if m is None:
                self._carry = data[stop:]
                return size
            verdict = self._number.end()
            resume = stop
        if verdict:
            out.append(ST)
            self._mode = _DROP
        else:
            out.append(bytes(self._pending))
            self._mode = _PASS
        self._pending = bytearray()
        return resume

    def _drop(self, data: bytes, pos: int) -> int:
        """Skip the body of a dropped OSC and its BEL or ST; stop before what cuts it short."""
        size = len(data)
        m = _OSC_END.search(data, pos)
        if m is None:
            if data.endswith(C1_LEAD):
                self._carry = C1_LEAD
            return size
        at = m.start()
        byte = data[at]
        if byte == ESC:
            if at + 1 == size:
                self._carry = data[at:]
                return size
            if data[at + 1] == ST_FINAL:
                at += 2
        elif byte == BEL:
            at += 1
        elif byte == C1_LEAD[0] and data[at + 1] == C1_ST:
            at += 2
        self._mode = _GROUND
        return at
