"""Golden bytes for key, paste and mouse encoding, as xterm sends them."""

from __future__ import annotations

import pytest

from retina_tui.terminal.keys import (
    MOUSE_LEFT,
    MOUSE_NONE,
    MOUSE_RIGHT,
    WHEEL_DOWN,
    WHEEL_UP,
    MouseAction,
    encode_key,
    encode_mouse,
    encode_paste,
)


def key(name: str, character: str | None = None, *, app: bool = False) -> bytes | None:
    return encode_key(name, character, application_cursor=app)


@pytest.mark.parametrize(
    ("name", "character", "expected"),
    [
        ("a", "a", b"a"),
        ("A", "A", b"A"),
        ("shift+a", None, b"A"),
        ("full_stop", ".", b"."),
        ("full_stop", None, b"."),
        ("slash", None, b"/"),
        ("e_acute", "é", "é".encode()),
        ("grinning_face", "😀", "😀".encode()),
        ("space", " ", b" "),
        ("enter", "\r", b"\r"),
        ("shift+enter", None, b"\r"),
        ("tab", "\t", b"\t"),
        ("shift+tab", None, b"\x1b[Z"),
        ("backspace", "\x7f", b"\x7f"),
        ("ctrl+h", None, b"\x08"),
        ("escape", "\x1b", b"\x1b"),
        ("insert", None, b"\x1b[2~"),
        ("delete", None, b"\x1b[3~"),
        ("pageup", None, b"\x1b[5~"),
        ("pagedown", None, b"\x1b[6~"),
        ("f1", None, b"\x1bOP"),
        ("f4", None, b"\x1bOS"),
        ("f5", None, b"\x1b[15~"),
        ("f6", None, b"\x1b[17~"),
        ("f10", None, b"\x1b[21~"),
        ("f11", None, b"\x1b[23~"),
        ("f12", None, b"\x1b[24~"),
        ("f13", None, b"\x1b[1;2P"),
        ("f17", None, b"\x1b[15;2~"),
    ],
)
def test_plain_keys(name: str, character: str | None, expected: bytes) -> None:
    assert key(name, character) == expected


@pytest.mark.parametrize(
    ("name", "normal", "application"),
    [
        ("up", b"\x1b[A", b"\x1bOA"),
        ("down", b"\x1b[B", b"\x1bOB"),
        ("right", b"\x1b[C", b"\x1bOC"),
        ("left", b"\x1b[D", b"\x1bOD"),
        ("home", b"\x1b[H", b"\x1bOH"),
        ("end", b"\x1b[F", b"\x1bOF"),
    ],
)
def test_cursor_keys_follow_the_cursor_mode(name: str, normal: bytes, application: bytes) -> None:
    assert key(name) == normal
    assert key(name, app=True) == application


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ctrl+up", b"\x1b[1;5A"),
        ("shift+up", b"\x1b[1;2A"),
        ("alt+left", b"\x1b[1;3D"),
        ("ctrl+shift+right", b"\x1b[1;6C"),
        ("ctrl+alt+down", b"\x1b[1;7B"),
        ("shift+home", b"\x1b[1;2H"),
        ("ctrl+end", b"\x1b[1;5F"),
        ("ctrl+delete", b"\x1b[3;5~"),
        ("shift+pageup", b"\x1b[5;2~"),
        ("ctrl+f1", b"\x1b[1;5P"),
        ("shift+f5", b"\x1b[15;2~"),
        ("ctrl+shift+f12", b"\x1b[24;6~"),
    ],
)
def test_modified_cursor_and_function_keys(name: str, expected: bytes) -> None:
    # Modified keys use the CSI 1;<mod> form even in application cursor mode.
    assert key(name) == expected
    assert key(name, app=True) == expected


@pytest.mark.parametrize(
    ("name", "character", "expected"),
    [
        ("ctrl+a", None, b"\x01"),
        ("ctrl+c", "\x03", b"\x03"),
        ("ctrl+c", None, b"\x03"),
        ("ctrl+z", None, b"\x1a"),
        ("ctrl+shift+c", None, b"\x03"),
        ("ctrl+space", None, b"\x00"),
        ("ctrl+@", None, b"\x00"),
        ("ctrl+at", None, b"\x00"),
        ("ctrl+left_square_bracket", None, b"\x1b"),
        ("ctrl+backslash", "\x1c", b"\x1c"),
        ("ctrl+right_square_bracket", None, b"\x1d"),
        ("ctrl+circumflex_accent", None, b"\x1e"),
        ("ctrl+underscore", None, b"\x1f"),
        ("ctrl+question_mark", None, b"\x7f"),
        ("ctrl+j", "\n", b"\n"),
    ],
)
def test_control_combinations(name: str, character: str | None, expected: bytes) -> None:
    assert key(name, character) == expected


@pytest.mark.parametrize(
    ("name", "character", "expected"),
    [
        ("alt+x", "x", b"\x1bx"),
        ("alt+x", None, b"\x1bx"),
        ("alt+shift+x", None, b"\x1bX"),
        ("alt+full_stop", None, b"\x1b."),
        ("alt+enter", None, b"\x1b\r"),
        ("alt+backspace", None, b"\x1b\x7f"),
        ("ctrl+alt+c", None, b"\x1b\x03"),
        ("alt+space", None, b"\x1b "),
    ],
)
def test_alt_sends_an_escape_prefix(name: str, character: str | None, expected: bytes) -> None:
    assert key(name, character) == expected


def test_keys_without_an_xterm_encoding_send_nothing() -> None:
    assert key("ctrl+é") is None
    assert key("no_such_key_name") is None


def test_paste_is_bracketed_only_when_asked() -> None:
    assert encode_paste("ls -l\nwhoami\n", bracketed=False) == b"ls -l\rwhoami\r"
    assert encode_paste("ls -l\r\nwhoami", bracketed=True) == b"\x1b[200~ls -l\rwhoami\x1b[201~"


def test_paste_cannot_close_the_bracket_early() -> None:
    hostile = "echo safe\x1b[201~rm -rf ~\n"
    assert encode_paste(hostile, bracketed=True) == b"\x1b[200~echo saferm -rf ~\r\x1b[201~"
    nested = "a\x1b[20\x1b[201~1~b"
    encoded = encode_paste(nested, bracketed=True)
    assert encoded.count(b"\x1b[201~") == 1
    assert encoded.endswith(b"\x1b[201~")


def test_paste_keeps_non_ascii_text() -> None:
    assert encode_paste("ünï 😀", bracketed=True) == "\x1b[200~ünï 😀\x1b[201~".encode()


def press(
    button: int, x: int, y: int, *, mode: int, sgr: bool, ctrl: bool = False, shift: bool = False
) -> bytes | None:
    return encode_mouse(MouseAction.PRESS, button, x, y, mode=mode, sgr=sgr, ctrl=ctrl, shift=shift)


def test_mouse_sgr_press_release_and_wheel() -> None:
    assert press(MOUSE_LEFT, 0, 0, mode=1000, sgr=True) == b"\x1b[<0;1;1M"
    assert press(MOUSE_RIGHT, 9, 4, mode=1000, sgr=True) == b"\x1b[<2;10;5M"
    release = encode_mouse(MouseAction.RELEASE, MOUSE_LEFT, 9, 4, mode=1000, sgr=True)
    assert release == b"\x1b[<0;10;5m"
    assert press(WHEEL_UP, 3, 3, mode=1000, sgr=True) == b"\x1b[<64;4;4M"
    assert press(WHEEL_DOWN, 3, 3, mode=1000, sgr=True) == b"\x1b[<65;4;4M"
    assert press(MOUSE_LEFT, 0, 0, ctrl=True, shift=True, mode=1000, sgr=True) == b"\x1b[<20;1;1M"
    assert press(MOUSE_LEFT, 400, 300, mode=1000, sgr=True) == b"\x1b[<0;401;301M"


def test_mouse_x10_encoding_and_its_limits() -> None:
    assert press(MOUSE_LEFT, 0, 0, mode=1000, sgr=False) == b"\x1b[M\x20\x21\x21"
    assert press(WHEEL_UP, 1, 2, mode=1000, sgr=False) == b"\x1b[M\x60\x22\x23"
    release = encode_mouse(MouseAction.RELEASE, MOUSE_LEFT, 0, 0, mode=1000, sgr=False)
    assert release == b"\x1b[M\x23\x21\x21"
    assert press(MOUSE_LEFT, 222, 0, mode=1000, sgr=False) == b"\x1b[M\x20\xff\x21"
    assert press(MOUSE_LEFT, 223, 0, mode=1000, sgr=False) is None


def test_mouse_motion_depends_on_the_tracking_mode() -> None:
    def motion(button: int, mode: int) -> bytes | None:
        return encode_mouse(MouseAction.MOTION, button, 1, 1, mode=mode, sgr=True)

    assert motion(MOUSE_LEFT, 1000) is None
    assert motion(MOUSE_LEFT, 1002) == b"\x1b[<32;2;2M"
    assert motion(MOUSE_NONE, 1002) is None
    assert motion(MOUSE_NONE, 1003) == b"\x1b[<35;2;2M"
    assert press(MOUSE_LEFT, 0, 0, mode=0, sgr=True) is None
    assert encode_mouse(MouseAction.RELEASE, WHEEL_UP, 0, 0, mode=1000, sgr=True) is None
