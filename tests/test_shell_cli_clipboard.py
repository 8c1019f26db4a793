"""`retina-tui shell` drops clipboard and file-transfer escapes from remote output.

Named cases: the ways around the first filter (measured through tmux), the other
terminals' clipboard sequences, C1 controls in UTF-8, and output that must pass
unchanged. Every case is also fed one byte at a time, which must not change the result.
"""

from __future__ import annotations

import pytest

from retina_tui.terminal.clipboard import ST, ClipboardFilter
from tests.terminal.clipboard_reference import clipboard_writes


def filtered(stream: bytes) -> bytes:
    """The filter's output for `stream`, checked to be the same when fed byte by byte."""
    whole = ClipboardFilter()
    out = whole.feed(stream) + whole.flush()
    single = ClipboardFilter()
    bytewise = b"".join(single.feed(stream[i : i + 1]) for i in range(len(stream)))
    assert bytewise + single.flush() == out
    return out


@pytest.mark.parametrize(
    "stream",
    [
        b"\x1b]052;c;emVybw==\x07",  # a leading zero
        b"\x1b]0052;c;emVybw==\x1b\\",
        b"\x1b]000000052;c;emVybw==\x07",
        b"\x1b]52;c;?\x07",  # a read
    ],
)
def test_osc_52_in_any_number_form_is_dropped(stream: bytes) -> None:
    assert clipboard_writes(stream)
    assert filtered(b"a" + stream + b"b") == b"a" + ST + b"b"


def test_an_osc_ended_by_esc_does_not_hide_the_osc_52_it_runs_into() -> None:
    stream = b"\x1b]0;x\x1b]52;c;YnlwYXNz\x07"
    assert filtered(stream) == b"\x1b]0;x" + ST


def test_an_osc_cancelled_by_can_does_not_hide_the_next_one() -> None:
    assert filtered(b"\x1b]0;x\x18\x1b]52;c;Y2Fu\x07") == b"\x1b]0;x\x18" + ST
    assert filtered(b"\x1b]0;x\x1a\x1b]52;c;Y2Fu\x07") == b"\x1b]0;x\x1a" + ST


@pytest.mark.parametrize(
    ("cutter", "kept"),
    [(b"\x1b[1m", b"\x1b[1m"), (b"\x18", b"\x18"), (b"\x1a", b"\x1a"), (b"\xc2\x85", b"\xc2\x85")],
)
def test_an_osc_52_cut_short_is_dropped_and_what_cut_it_kept(cutter: bytes, kept: bytes) -> None:
    # tmux sets its clipboard from an OSC 52 cut short by ESC or CAN.
    assert filtered(b"\x1b]52;c;Y3V0" + cutter + b"after") == ST + kept + b"after"


@pytest.mark.parametrize(
    "number",
    [
        b"4294967348",  # 2**32 + 52: tmux's unsigned number wraps to 52
        b"5\x012",  # tmux ignores C0 controls inside an OSC
        b"5\x7f2",
        b" +52",  # atoi (st) skips blanks and takes a sign
        b"-4294967244",
        b"52\x013",  # atoi stops at the control tmux would skip
        b"52x",  # whatever follows the digits
    ],
)
def test_osc_52_numbers_read_as_some_terminal_reads_them_are_dropped(number: bytes) -> None:
    stream = b"\x1b]" + number + b";c;QQ==\x07"
    assert clipboard_writes(stream)
    assert filtered(stream + b"z") == ST + b"z"


@pytest.mark.parametrize(
    "payload",
    [
        b"1337;Copy=:aGVsbG8=",
        b"1337;File=name=eC50eHQ=;size=1:eA==",
        b"1337;File=inline=1:AAAA",
        b"1337;CopyToClipboard=",
        b"1337;EndCopy",
        b"1337;MultipartFile=name=eA==",
        b"1337;FilePart=AAAA",
        b"1337;FileEnd",
        b"01337;copy=:eA==",
        b"1337;Co\x01py=:eA==",
        b"5522;type=write",  # kitty's clipboard
        b"5522;type=read:mime=dGV4dC9wbGFpbg==",
        b"5113;ac=send;id=x",  # kitty's file transfer
    ],
)
def test_iterm2_and_kitty_clipboard_and_file_sequences_are_dropped(payload: bytes) -> None:
    for end in (b"\x07", b"\x1b\\"):
        assert filtered(b"\x1b]" + payload + end + b"z") == ST + b"z"


def test_c1_controls_in_utf8_open_and_end_an_osc() -> None:
    assert filtered(b"\xc2\x9d52;c;QQ==\xc2\x9cz") == ST + b"z"
    assert filtered(b"\xc2\x9d52;c;QQ==\x07z") == ST + b"z"
    assert filtered(b"\x1b]52;c;QQ==\xc2\x9cz") == ST + b"z"
    # A C1 OSC cuts the one before short, as ESC does.
    assert filtered(b"\x1b]0;x\xc2\x9d52;c;QQ==\x07") == b"\x1b]0;x" + ST


def test_raw_8_bit_bytes_are_utf8_text_not_controls() -> None:
    # 0x9D and 0x9C are the last bytes of Ý and Ü: a UTF-8 terminal shows them as text.
    for stream in (
        "Ý52;c;QQ==\x07 Ü".encode(),
        b"\x9d52;c;QQ==\x9c",
        "\x1b]0;Ü and Ý\x07".encode(),
        "\x1b]2;丝绸 ©\x1b\\".encode(),
    ):
        assert filtered(stream) == stream


@pytest.mark.parametrize(
    "stream",
    [
        b"root@web:/# ",
        b"\x1b]0;root@web: /\x07",
        b"\x1b]2;title\x1b\\",
        b"\x1b]00;zero\x07\x1b]520;not 52\x07\x1b]5;five\x07",
        b"\x1b]8;id=1;https://example.test/a?b=c\x1b\\link\x1b]8;;\x1b\\",
        b"\x1b]1337;SetMark\x07\x1b]1337;CurrentDir=/tmp\x07\x1b]1337;RemoteHost=a@b\x07",
        b"\x1b]133;A\x07\x1b]7;file://web/tmp\x07\x1b]10;?\x07",
        b"\x1b[1;31mred\x1b[0m \x1b[38;5;208morange\x1b[m\x1b(B\x1b7\x1b8",
        b"\x1bP1$r0m\x1b\\\x1b_Gf=100;AAAA\x1b\\",
        b"tab\there\r\nnul\x00bell\x07can\x18sub\x1a esc\x1b\\ \x1b\x1b[m",
        "ünïcödé ✓ 日本語 ©".encode(),
        bytes(range(256)).replace(b"\x1b", b"").replace(b"\xc2", b""),
    ],
)
def test_everything_else_passes_unchanged(stream: bytes) -> None:
    assert filtered(stream) == stream


def test_a_dropped_osc_cannot_join_what_came_before_with_what_follows() -> None:
    # Dropped whole, these would leave `ESC ] 5` + `2;c;...` and `ESC` + `]52;c;...`.
    for stream in (
        b"\x1b]5\x1b]52;c;QQ==\x072;c;WQ==\x07",
        b"\x1b\x1b]52;c;QQ==\x07]52;c;Qg==\x07",
        b"\x1bPtmux;\x1b\x1b\x1b]52;c;QQ==\x07]52;c;Qg==\x07\x1b\\",
        b"\x1b]1337;\x1b]52;c;QQ==\x07Copy=:eA==\x07",
    ):
        out = filtered(stream)
        assert clipboard_writes(out) == [], out


def test_plain_output_is_returned_as_it_is() -> None:
    chunk = b"root@web:/# ls\r\nbin  etc\r\n" * 100
    assert ClipboardFilter().feed(chunk) is chunk


def test_a_clipboard_sequence_is_dropped_as_it_arrives_and_to_its_end() -> None:
    f = ClipboardFilter()
    assert f.feed(b"x\x1b]52;c;AAAA") == b"x" + ST
    assert f.feed(b"BBBB") == b""
    assert f.feed(b"\x07y") == b"y"


def test_a_harmless_osc_is_passed_on_before_its_end() -> None:
    f = ClipboardFilter()
    assert f.feed(b"\x1b]0;long ti") == b"\x1b]0;long ti"
    assert f.feed(b"tle\x07$ ") == b"tle\x07$ "


def test_an_escape_split_from_its_next_byte_waits_for_it() -> None:
    f = ClipboardFilter()
    assert f.feed(b"a\x1b") == b"a"
    assert f.feed(b"]52;c;QQ==\x07b") == ST + b"b"
    assert f.feed(b"c\xc2") == b"c"
    assert f.feed(b"\xa9") == b"\xc2\xa9"
    assert f.feed(b"\x1b") == b""
    assert f.flush() == b"\x1b"


def test_the_end_of_the_stream_drops_an_osc_whose_number_is_unknown() -> None:
    f = ClipboardFilter()
    assert f.feed(b"$ \x1b]05") == b"$ "
    assert f.flush() == ST
    assert f.feed(b"2;c;QQ==\x07") == b"2;c;QQ==\x07"  # a new stream starts clean


def test_a_clipboard_sequence_longer_than_the_limit_is_dropped_to_its_end() -> None:
    f = ClipboardFilter()
    body = b"A" * (3 * ClipboardFilter.LIMIT)
    stream = b"\x1b]52;c;" + body + b"\x07after"
    out = b"".join(f.feed(stream[i : i + 65536]) for i in range(0, len(stream), 65536))
    assert out == ST + b"after"


def test_an_osc_still_undecided_after_the_limit_is_dropped_to_its_end() -> None:
    f = ClipboardFilter()
    zeros = b"0" * (ClipboardFilter.LIMIT + 10)
    stream = b"\x1b]" + zeros + b"52;c;QQ==\x07after"
    out = b"".join(f.feed(stream[i : i + 65536]) for i in range(0, len(stream), 65536))
    assert out == ST + b"after"


def test_a_harmless_osc_longer_than_the_limit_passes() -> None:
    f = ClipboardFilter()
    stream = b"\x1b]2;" + b"t" * (2 * ClipboardFilter.LIMIT) + b"\x07after"
    out = b"".join(f.feed(stream[i : i + 65536]) for i in range(0, len(stream), 65536))
    assert out == stream
