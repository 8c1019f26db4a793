"""What a user sees on the screen model: text, cursor, attributes, replies and titles."""

from __future__ import annotations

import pytest

from retina_tui.terminal import history
from retina_tui.terminal.attrs import DEFAULT, Attr
from retina_tui.terminal.emulator import Terminal


def screen(term: Terminal) -> list[str]:
    return [line.rstrip() for line in term.display_text()]


def attr_at(term: Terminal, x: int, y: int) -> Attr:
    term.sync()
    return term.attrs[y][x]


def test_text_wraps_and_scrolls_into_history() -> None:
    term = Terminal(10, 3)
    term.feed(b"0123456789abc\r\nline2\r\nline3\r\nline4")
    assert screen(term) == ["line2", "line3", "line4"]
    assert term.history_size == 2
    assert "".join(t for t, _ in term.history_runs(0)) == "0123456789"
    assert "".join(t for t, _ in term.history_runs(1)) == "abc"
    assert (term.cursor_x, term.cursor_y) == (5, 2)


def test_pending_wrap_is_cleared_by_carriage_return() -> None:
    term = Terminal(5, 3)
    term.feed(b"abcde")
    assert (term.cursor_x, term.cursor_y) == (4, 0)
    term.feed(b"\r\n")
    assert (term.cursor_x, term.cursor_y) == (0, 1)
    term.feed(b"fghij")
    term.feed(b"k")
    assert screen(term) == ["abcde", "fghij", "k"]


def test_utf8_split_across_chunks_and_invalid_bytes() -> None:
    term = Terminal(20, 2)
    data = "中文é".encode()
    for i in range(len(data)):
        term.feed(data[i : i + 1])
    term.feed(b"\xff!")
    assert screen(term)[0] == "中文é\ufffd!"
    assert term.cursor_x == 7


def test_wide_char_takes_two_cells_and_combining_mark_joins_previous_cell() -> None:
    term = Terminal(10, 2)
    term.feed("a中b".encode())
    assert term.cursor_x == 4
    term.feed("e\u0301x".encode())
    term.sync()
    assert term.chars[0][:7] == ["a", "中", "", "b", "e\u0301", "x", " "]
    assert term.row_runs(0)[0][0].startswith("a中be\u0301x")


def test_escape_sequence_split_across_chunks() -> None:
    term = Terminal(20, 3)
    for byte in b"\x1b[2;5Hx\x1b[1;31my":
        term.feed(bytes([byte]))
    assert screen(term)[1] == "    xy"
    assert attr_at(term, 5, 1) == Attr(fg=1, bold=True)


def test_sgr_colours_and_resets() -> None:
    term = Terminal(30, 2)
    term.feed(
        b"\x1b[38;5;200ma\x1b[48;2;1;2;3mb\x1b[38:2::10:20:30mc\x1b[39;49;4;7md\x1b[24;27;0me"
    )
    assert attr_at(term, 0, 0) == Attr(fg=200)
    assert attr_at(term, 1, 0) == Attr(fg=200, bg=(1, 2, 3))
    assert attr_at(term, 2, 0) == Attr(fg=(10, 20, 30), bg=(1, 2, 3))
    assert attr_at(term, 3, 0) == Attr(underline=True, reverse=True)
    assert attr_at(term, 4, 0) == DEFAULT


def test_cursor_position_report_and_device_attributes() -> None:
    replies: list[bytes] = []
    term = Terminal(20, 10, on_reply=replies.append)
    term.feed(b"\x1b[3;4H\x1b[6n\x1b[5n\x1b[c\x1b[>c")
    assert replies[0] == b"\x1b[3;4R"
    assert replies[1] == b"\x1b[0n"
    assert replies[2].startswith(b"\x1b[?6")
    assert replies[3].startswith(b"\x1b[>")
    replies.clear()
    term.feed(b"\x1b[4;8r\x1b[?6h\x1b[2;3H\x1b[6n")
    assert replies == [b"\x1b[2;3R"]
    assert term.cursor_y == 4


def test_title_and_dropped_strings() -> None:
    titles: list[str] = []
    replies: list[bytes] = []
    term = Terminal(20, 2, on_title=titles.append, on_reply=replies.append)
    term.feed(b"\x1b]0;my title\x07a\x1b]52;c;aGVsbG8=\x07b\x1bPq#0;1;2\x1b\\c")
    term.feed(b"\x1b]8;;http://x\x1b\\d\x1b]8;;\x1b\\\x1b_apc\x1b\\\x1b^pm\x1b\\e")
    assert titles == ["my title"]
    assert term.title == "my title"
    assert screen(term)[0] == "abcde"
    assert replies == []


def test_alternate_screen_restores_main_screen_and_cursor() -> None:
    term = Terminal(10, 3)
    term.feed(b"main\r\nscreen")
    term.feed(b"\x1b[?1049h")
    assert term.alternate_screen
    assert screen(term) == ["", "", ""]
    term.feed(b"\x1b[2;2Hvim")
    assert term.take_dirty() == {0, 1, 2}
    term.feed(b"\x1b[?1049l")
    assert not term.alternate_screen
    assert screen(term) == ["main", "screen", ""]
    assert (term.cursor_x, term.cursor_y) == (6, 1)


def test_modes_for_the_widget() -> None:
    term = Terminal()
    term.feed(b"\x1b[?1h\x1b=\x1b[?2004h\x1b[?1002h\x1b[?1006h\x1b[?25l")
    assert term.application_cursor and term.application_keypad and term.bracketed_paste
    assert term.mouse_mode == 1002 and term.mouse_sgr and not term.cursor_visible
    term.feed(b"\x1b[?1l\x1b>\x1b[?2004l\x1b[?1002l\x1b[?1006l\x1b[?25h")
    assert not (term.application_cursor or term.application_keypad or term.bracketed_paste)
    assert term.mouse_mode == 0 and not term.mouse_sgr and term.cursor_visible


def test_dirty_rows() -> None:
    term = Terminal(10, 4)
    term.take_dirty()
    term.feed(b"\x1b[3;1Hx")
    assert term.take_dirty() == {2}
    assert term.take_dirty() == set()
    term.resize(12, 5)
    assert term.take_dirty() == {0, 1, 2, 3, 4}


def test_line_drawing_charset() -> None:
    term = Terminal(10, 2)
    term.feed(b"\x1b(0lqqk\x1b(Bx")
    assert screen(term)[0] == "┌──┐x"


def test_query_split_across_chunks_is_answered_at_once() -> None:
    replies: list[bytes] = []
    term = Terminal(20, 5, on_reply=replies.append)
    term.feed(b"hello\x1b[6")
    assert replies == []
    term.feed(b"n")
    assert replies == [b"\x1b[1;6R"]
    term.feed(b"ab\x1b")
    term.feed(b"[")
    term.feed(b"5")
    term.feed(b"n")
    assert replies[-1] == b"\x1b[0n"


def test_held_back_text_is_shown_when_read() -> None:
    term = Terminal(10, 3)
    term.feed(b"\x1b[31mred")
    term.feed(b" text\r\nmore")
    assert term.display_text()[:2] == ["red text  ", "more      "]
    assert term.row_runs(0)[0] == ("red text", Attr(fg=1))
    assert (term.cursor_x, term.cursor_y) == (4, 1)


def test_scroll_region_keeps_lines_outside_and_out_of_history() -> None:
    term = Terminal(10, 5)
    term.feed(b"top\r\n1\r\n2\r\n3\r\nbottom")
    term.feed(b"\x1b[2;4r\x1b[4;1H\r\nnew")
    assert screen(term) == ["top", "2", "3", "new", "bottom"]
    assert term.history_size == 0
    term.feed(b"\x1b[2;1H\x1bM")
    assert screen(term) == ["top", "", "2", "3", "bottom"]
    term.feed(b"\x1b[3;1H\x1b[L")
    assert screen(term) == ["top", "", "", "2", "bottom"]
    term.feed(b"\x1b[2;1H\x1b[2M")
    assert screen(term) == ["top", "2", "", "", "bottom"]
    term.feed(b"\x1b[r\x1b[5;1H\r\nend")
    assert screen(term) == ["2", "", "", "bottom", "end"]
    assert term.history_size == 1


def test_insert_delete_erase_characters_and_lines() -> None:
    term = Terminal(10, 3)
    term.feed(b"abcdefghij\x1b[1;3H\x1b[2@XY\x1b[1;1H\x1b[3P\x1b[1;6H\x1b[2X")
    assert screen(term)[0] == "Ycdef"
    assert term.cursor_x == 5
    term.feed(b"\x1b[1;3H\x1b[1K")
    assert screen(term)[0] == "   ef"
    term.feed(b"\x1b[2;1Hrow2\x1b[1;1H\x1b[J")
    assert screen(term) == ["", "", ""]


def test_tab_stops() -> None:
    term = Terminal(30, 2)
    term.feed(b"a\tb\x1b[3G\x1bHc\r\td\x1b[3g\r\te\x1b[2;5H\x1bH\x1b[2;1H\x1b[2Iz\x1b[Zy")
    assert screen(term) == ["a d     b" + " " * 20 + "e", "    y" + " " * 24 + "z"]
    assert (term.cursor_x, term.cursor_y) == (5, 1)


def test_tabs_default_every_eight_and_back_tab() -> None:
    term = Terminal(30, 1)
    term.feed(b"\tx\t\ty\x1b[Z\x1b[Zz")
    assert screen(term)[0] == "        x       z       y"
    term.feed(b"\r\x1b[3g\tq")
    assert term.cursor_x == 29 and screen(term)[0].endswith("q")


def test_origin_mode_positions_relative_to_the_region() -> None:
    term = Terminal(10, 6)
    term.feed(b"\x1b[3;5r\x1b[?6h\x1b[1;1Hx\x1b[9;1Hy")
    assert screen(term)[2] == "x" and screen(term)[4] == "y"
    term.feed(b"\x1b[?6l\x1b[1;1Hz")
    assert screen(term)[0] == "z"


def test_autowrap_off_overwrites_last_column() -> None:
    term = Terminal(5, 2)
    term.feed(b"\x1b[?7labcdefg")
    assert screen(term) == ["abcdg", ""]
    term.feed(b"\x1b[?7h\rabcdefg")
    assert screen(term) == ["abcde", "fg"]


def test_repeat_last_character() -> None:
    term = Terminal(20, 1)
    term.feed(b"-\x1b[9b|")
    assert screen(term)[0] == "-" * 10 + "|"


def test_save_restore_cursor_and_pen() -> None:
    term = Terminal(20, 3)
    term.feed(b"\x1b[2;3H\x1b[1;32m\x1b7\x1b[0m\x1b[3;10Hx\x1b8y\x1b[s\x1b[1;1H\x1b[uz")
    assert screen(term)[1] == "  yz"
    assert attr_at(term, 2, 1) == Attr(fg=2, bold=True)


def test_alternate_screen_47_and_1047() -> None:
    term = Terminal(10, 2)
    term.feed(b"main")
    term.feed(b"\x1b[?47halt")
    assert screen(term)[0] == "    alt"
    term.feed(b"\x1b[?47l")
    assert screen(term)[0] == "main"
    term.feed(b"\x1b[?47h")
    assert screen(term)[0] == "    alt"
    term.feed(b"\x1b[?1047l\x1b[?1047h")
    assert screen(term)[0] == ""


def test_reset_and_soft_reset() -> None:
    titles: list[str] = []
    term = Terminal(10, 3, on_title=titles.append)
    term.feed(b"\x1b]2;t\x1b\\\x1b[?1h\x1b[4h\x1b[1;31mab\x1b[2;3r\x1b[!p")
    assert not term.application_cursor and (term.top, term.bottom) == (0, 2)
    assert not term.insert
    term.feed(b"c")
    assert screen(term)[0] == "cb"
    assert attr_at(term, 0, 0) == DEFAULT
    assert attr_at(term, 1, 0) == Attr(fg=1, bold=True)
    term.feed(b"\x1bc")
    assert screen(term) == ["", "", ""] and term.title == "" and titles[-1] == ""


def test_resize_keeps_content_and_pushes_top_lines_to_history() -> None:
    term = Terminal(10, 4)
    term.feed(b"one\r\ntwo\r\nthree\r\nfour")
    term.resize(6, 2)
    assert screen(term) == ["three", "four"]
    assert [term.history_runs(i)[0][0] for i in range(term.history_size)] == ["one", "two"]
    assert (term.cursor_x, term.cursor_y) == (4, 1)
    term.resize(12, 3)
    assert screen(term) == ["two", "three", "four"]
    assert len(term.display_text()[0]) == 12
    assert (term.cursor_x, term.cursor_y) == (4, 2)
    assert term.history_size == 1


def test_osc_52_and_other_strings_never_reach_replies_or_screen() -> None:
    replies: list[bytes] = []
    term = Terminal(20, 2, on_reply=replies.append)
    payload = b"\x1b]52;c;" + b"QUFB" * 50_000 + b"\x07"
    for i in range(0, len(payload), 4096):
        term.feed(payload[i : i + 4096])
    term.feed(b"ok\x1b]10;?\x07\x1b]11;?\x1b\\\x1bP$q m\x1b\\\x1b[21t")
    assert screen(term)[0] == "ok"
    assert replies == []


def test_mouse_mode_x10_and_focus_events() -> None:
    term = Terminal()
    term.feed(b"\x1b[?9h\x1b[?1004h")
    assert term.mouse_mode == 9
    assert term.focus_events
    term.feed(b"\x1b[?1000h\x1b[?1000l")
    assert term.mouse_mode == 0


def test_wide_char_at_last_column_wraps_whole() -> None:
    term = Terminal(5, 2)
    term.feed("abcd中".encode())
    assert screen(term) == ["abcd", "中"]
    term.feed("\x1b[1;2H文".encode())
    assert screen(term)[0] == "a文d"
    term.feed(b"\x1b[1;3Hx")
    assert screen(term)[0] == "a xd"


def test_scrollback_keeps_many_distinct_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "PALETTE_LIMIT", 8)
    term = Terminal(20, 2, scrollback=50)
    for i in range(40):
        term.feed(b"\x1b[38;2;%d;0;0mred %d\x1b[44m!\x1b[0m\r\n" % (i, i))
    term.feed(b"\x1b[?25l")  # not plain text: applied at once, line by line
    runs = [term.history_runs(i) for i in range(term.history_size)]
    assert len(runs) == 39
    for i, line in enumerate(runs):
        assert line == [(f"red {i}", Attr(fg=(i, 0, 0))), ("!", Attr(fg=(i, 0, 0), bg=4))]


def test_feed_accepts_bytearray_and_memoryview() -> None:
    term = Terminal(10, 2)
    term.feed(bytearray(b"ab"))
    term.feed(memoryview(b"cd\x1b[1mE"))
    assert screen(term)[0] == "abcdE"
    assert attr_at(term, 4, 0) == Attr(bold=True)


def test_growing_wider_adds_default_tab_stops() -> None:
    term = Terminal(80, 2)
    term.resize(120, 2)
    term.feed(b"\x1b[1;79H\tx\tx")
    assert term.display_text()[0][80] == "x"
    assert term.display_text()[0][88] == "x"
