"""Escape-sequence parsing: a regex tokenizer (C speed) feeding the screen operations.

Text between control tokens is printed as whole runs. Incomplete sequences at the end of
a chunk are carried over to the next one; over-long strings (OSC, DCS, APC, PM, SOS) are
discarded without buffering. Nothing is ever echoed anywhere: queries produce replies
through ``on_reply`` only, titles through ``on_title``, everything else is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from retina_tui.terminal.attrs import DEFAULT, erase_attr, sgr
from retina_tui.terminal.screen import Screen

TOKEN = re.compile(
    # Every token starts with a control character: this lets `re` skip text at C speed.
    r"[\x00-\x1f\x7f-\x9f]"
    r"(?:(?<=\x1b)(?:"
    r"\[([0-?]*)([ -/]*)([@-~])"  # 1 params, 2 intermediates, 3 final: CSI
    r"|\]([^\x07\x1b]*)(\x07|\x1b\\)"  # 4 body, 5 terminator: OSC
    r"|([ -/]+)([0-~])"  # 6 intermediates, 7 final: nF escape (charsets, DECALN)
    r"|([0-OQ-WYZ\\`-~])"  # 8 final: other escapes
    r"|([PX^_](?:[^\x1b]|\x1b[^\\])*\x1b\\)"  # 9 DCS/SOS/PM/APC: dropped
    # 10: a sequence left unfinished at the end of the chunk
    r"|((?:\[[0-?]*[ -/]*|\][^\x07\x1b]*\x1b?|[PX^_](?:[^\x1b]|\x1b[^\\])*\x1b?|[ -/]*)\Z)"
    r")|(?<=\r)(\n))?"  # 11: LF right after CR
)
# Largest unterminated string kept while waiting for its end; longer ones are skipped.
MAX_CARRY = 65_536
_OSC_END = re.compile(r"\x07|\x1b\\")
_ST = re.compile(r"\x1b\\")
_TITLE_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f]")


_INTS_CACHE: dict[str, list[int]] = {}
_NO_INTS: list[int] = []


def _ints(params: str) -> list[int]:
    """CSI parameters as numbers (missing ones are 0); the result must not be mutated."""
    if not params:
        return _NO_INTS
    out = _INTS_CACHE.get(params)
    if out is not None:
        return out
    out = []
    for p in params.split(";"):
        if ":" in p:
            p = p.split(":", 1)[0]
        out.append(int(p[:9]) if p.isdigit() else 0)
    if len(_INTS_CACHE) > 4096:
        _INTS_CACHE.clear()
    _INTS_CACHE[params] = out
    return out


class Parser(Screen):
    """Screen plus the byte-level protocol: tokenizing, dispatch, replies, titles."""

    def __init__(
        self,
        cols: int,
        rows: int,
        scrollback: int,
        on_reply: Callable[[bytes], None] | None,
        on_title: Callable[[str], None] | None,
    ) -> None:
        super().__init__(cols, rows, scrollback)
        self.on_reply = on_reply
        self.on_title = on_title
        self._carry = ""
        self._skip: re.Pattern[str] | None = None

    def _reply(self, data: str) -> None:
        if self.on_reply is not None:
            self.on_reply(data.encode())

    def process(self, text: str) -> None:
        """Apply decoded text to the screen."""
        if self._carry:
            text = self._carry + text
            self._carry = ""
        if self._skip is not None:
            end = self._skip.search(text)
            if end is None:
                self._carry = "\x1b" if text.endswith("\x1b") else ""
                return
            self._skip = None
            text = text[end.end() :]
        pos = 0
        print_text = self.print_text
        for m in TOKEN.finditer(text):
            start, stop = m.span()
            if start != pos:
                print_text(text[pos:start])
            pos = stop
            kind = m.lastindex
            if kind == 3:
                params, inter, final = m.group(1, 2, 3)
                if inter or (params and params[0] in "<=>?"):
                    self._csi(params, inter, final)
                elif final == "m":
                    pen = sgr(self.pen, params)
                    self.pen = pen
                    self.bce = DEFAULT if pen.bg is None else erase_attr(pen)
                elif final == "H" and not self.origin:
                    # The commonest sequences of full-screen programs, inlined.
                    a = _ints(params)
                    row = (a[0] or 1) - 1 if a else 0
                    col = (a[1] or 1) - 1 if len(a) > 1 else 0
                    self.cy = row if row < self.rows else self.rows - 1
                    self.cx = col if col < self.cols else self.cols - 1
                    self.wrap_pending = False
                elif final == "K":
                    self.erase_in_line(_ints(params)[0] if params else 0)
                else:
                    self._csi(params, inter, final)
            elif kind == 11:
                self.cx = 0
                self.linefeed()
            elif kind is None:
                ch = text[start]
                if ch != "\x1b":
                    self._control(ch)
            elif kind == 8:
                self._esc(m.group(8))
            elif kind == 5:
                self._osc(m.group(4))
            elif kind == 7:
                self._esc_intermediate(m.group(6), m.group(7))
            elif kind == 10:
                tail = text[start:]
                if len(tail) <= MAX_CARRY:
                    self._carry = tail
                else:
                    self._skip = _OSC_END if tail[1] == "]" else _ST
                    self._carry = "\x1b" if tail.endswith("\x1b") else ""
            # 9 (strings) and a stray ESC are dropped.
        if pos < len(text):
            print_text(text[pos:])

    # -- single characters and ESC sequences ---------------------------------------------

    def _control(self, ch: str) -> None:
        if ch == "\r":
            self.carriage_return()
        elif ch in "\n\x0b\x0c":
            self.linefeed()
        elif ch == "\x08":
            self.backspace()
        elif ch == "\t":
            self.tab()
        elif ch == "\x0e":
            self.gl = 1
            self._update_charset()
        elif ch == "\x0f":
            self.gl = 0
            self._update_charset()

    def _esc(self, final: str) -> None:
        if final == "7":
            self.save_cursor()
        elif final == "8":
            self.restore_cursor()
        elif final == "D":
            self.index()
        elif final == "E":
            self.cx = 0
            self.index()
        elif final == "M":
            self.reverse_index()
        elif final == "H":
            self.tabstops.add(self.cx)
        elif final == "=":
            self.application_keypad = True
        elif final == ">":
            self.application_keypad = False
        elif final == "c":
            self.reset()

    def _esc_intermediate(self, inter: str, final: str) -> None:
        if inter in ("(", ")"):
            self.charsets[0 if inter == "(" else 1] = "0" if final == "0" else "B"
            self._update_charset()
        elif inter == "#" and final == "8":
            self.alignment_test()

    def _osc(self, body: str) -> None:
        num, _, text = body.partition(";")
        if num in ("0", "2"):
            title = _TITLE_JUNK.sub("", text)[:1024]
            self.title = title
            if self.on_title is not None:
                self.on_title(title)
        # Everything else (52 clipboard, 8 hyperlinks, colour queries, ...) is dropped.

    def reset(self) -> None:
        """RIS: back to the power-on state (scrollback is kept)."""
        self._reset_screen()
        if self.title:
            self.title = ""
            if self.on_title is not None:
                self.on_title("")

    def soft_reset(self) -> None:
        """DECSTR."""
        self.cursor_visible = True
        self.insert = False
        self.origin = False
        self.autowrap = True
        self.application_cursor = False
        self.application_keypad = False
        self.top, self.bottom = 0, self.rows - 1
        self.charsets = ["B", "B"]
        self.gl = 0
        self._update_charset()
        self.set_pen(sgr(self.pen, "0"))
        self._saved.pop(self.alternate_screen, None)
        self.wrap_pending = False

    # -- CSI -----------------------------------------------------------------------------

    def _csi(self, params: str, inter: str, final: str) -> None:
        private = ""
        if params and params[0] in "<=>?":
            private = params[0]
            params = params[1:]
        if private or inter:
            self._csi_special(private, _ints(params), inter, final)
            return
        a = _ints(params)
        n = a[0] if a and a[0] else 1
        if final == "H" or final == "f":
            row = (a[0] or 1) - 1 if a else 0
            col = (a[1] or 1) - 1 if len(a) > 1 else 0
            if self.origin:
                self.set_row(row)
            else:
                self.cy = row if row < self.rows else self.rows - 1
            self.cx = col if col < self.cols else self.cols - 1
            self.wrap_pending = False
        elif final == "K":
            self.erase_in_line(a[0] if a else 0)
        elif final == "J":
            self.erase_in_display(a[0] if a else 0)
        elif final == "A":
            self.cursor_up(n)
        elif final == "B" or final == "e":
            self.cursor_down(n)
        elif final == "C" or final == "a":
            self.cursor_forward(n)
        elif final == "D":
            self.cursor_back(n)
        elif final == "E":
            self.cursor_down(n)
            self.cx = 0
        elif final == "F":
            self.cursor_up(n)
            self.cx = 0
        elif final == "G" or final == "`":
            self.set_col(n - 1)
        elif final == "d":
            self.set_row(n - 1)
        elif final == "X":
            self.erase_chars(n)
        elif final == "@":
            self.insert_chars(n)
        elif final == "P":
            self.delete_chars(n)
        elif final == "L":
            self.insert_lines(n)
        elif final == "M":
            self.delete_lines(n)
        elif final == "S":
            self.scroll_up(n)
        elif final == "T":
            if len(a) <= 1:
                self.scroll_down(n)
        elif final == "I":
            self.tab(n)
        elif final == "Z":
            self.back_tab(n)
        elif final == "b":
            self.repeat_last(n)
        elif final == "r":
            top = (a[0] or 1) - 1 if a else 0
            bottom = (a[1] or self.rows) - 1 if len(a) > 1 else self.rows - 1
            self.set_margins(top, bottom)
        elif final == "s":
            self.save_cursor()
        elif final == "u":
            self.restore_cursor()
        elif final == "g":
            mode = a[0] if a else 0
            if mode == 0:
                self.tabstops.discard(self.cx)
            elif mode == 3:
                self.tabstops.clear()
        elif final == "h" or final == "l":
            for mode in a:
                if mode == 4:
                    self.insert = final == "h"
                elif mode == 20:
                    self.lnm = final == "h"
        elif final == "n":
            self._status_report(a[0] if a else 0, "")
        elif final == "c":
            if not a or a[0] == 0:
                self._reply("\x1b[?62;22c")
        elif final == "t" and a and a[0] == 18:
            self._reply(f"\x1b[8;{self.rows};{self.cols}t")

    def _status_report(self, what: int, private: str) -> None:
        if what == 5:
            self._reply("\x1b[0n")
        elif what == 6:
            row = self.cy - self.top if self.origin else self.cy
            extra = ";1" if private else ""
            self._reply(f"\x1b[{private}{row + 1};{self.cx + 1}{extra}R")

    def _csi_special(self, private: str, a: list[int], inter: str, final: str) -> None:
        if private == "?" and not inter and final in "hl":
            for mode in a:
                self._dec_mode(mode, final == "h")
        elif private == "?" and final == "n" and not inter:
            self._status_report(a[0] if a else 0, "?")
        elif private == ">" and final == "c" and not inter:
            if not a or a[0] == 0:
                self._reply("\x1b[>1;10;0c")
        elif not private and inter == "!" and final == "p":
            self.soft_reset()

    def _dec_mode(self, mode: int, on: bool) -> None:
        if mode == 1:
            self.application_cursor = on
        elif mode == 6:
            self.origin = on
            self.cx = 0
            self.cy = self.top if on else 0
            self.wrap_pending = False
        elif mode == 7:
            self.autowrap = on
        elif mode == 25:
            self.cursor_visible = on
            self._dirty.add(self.cy)
        elif mode in (9, 1000, 1002, 1003):
            self.mouse_mode = mode if on else 0
        elif mode == 1006:
            self.mouse_sgr = on
        elif mode == 2004:
            self.bracketed_paste = on
        elif mode == 1004:
            self.focus_events = on
        elif mode == 1048:
            if on:
                self.save_cursor()
            else:
                self.restore_cursor()
        elif mode == 47:
            self.switch_screen(on, clear=False)
        elif mode == 1047:
            if not on and self.alternate_screen:
                self.erase_in_display(2)
            self.switch_screen(on, clear=False)
        elif mode == 1049:
            if on:
                if not self.alternate_screen:
                    self.save_cursor()
                self.switch_screen(True, clear=True)
            elif self.alternate_screen:
                self.switch_screen(False, clear=False)
                self.restore_cursor()
