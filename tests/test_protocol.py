"""Golden bytes and properties of the exec/attach channel codec."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retina_tui.sessions import protocol


def test_golden_frames() -> None:
    assert protocol.encode(protocol.STDIN, b"ls\r") == b"\x00ls\r"
    assert protocol.encode_close(protocol.STDIN) == b"\xff\x00"
    assert protocol.encode_resize(80, 24) == b'\x04{"Width":80,"Height":24}'
    assert protocol.decode(b"\x01hello") == protocol.Frame(1, b"hello")


def test_exit_code_round_trip_matches_kubelet_shape() -> None:
    frame = protocol.decode(protocol.encode_status(protocol.status_exit(3, "sh -c exit 3")))
    assert frame.channel == protocol.ERROR
    body = json.loads(frame.data)
    assert body["reason"] == "NonZeroExitCode"
    assert body["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert protocol.parse_status(frame.data).code == 3


def test_success_and_other_failures() -> None:
    assert protocol.parse_status(b'{"metadata":{},"status":"Success"}').success
    failure = protocol.parse_status(
        json.dumps(protocol.status_failure("container not found", "NotFound")).encode()
    )
    assert failure.code is None
    assert failure.message == "container not found"


@pytest.mark.parametrize("bad", [b"", b"not json", b"[1,2]"])
def test_bad_input_raises_frame_error(bad: bytes) -> None:
    with pytest.raises(protocol.FrameError):
        if bad:
            protocol.parse_status(bad)
        else:
            protocol.decode(bad)


@given(st.integers(0, 255), st.binary(max_size=4096))
def test_encode_decode_round_trip(channel: int, data: bytes) -> None:
    assert protocol.decode(protocol.encode(channel, data)) == protocol.Frame(channel, data)


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_resize_round_trip(cols: int, rows: int) -> None:
    frame = protocol.decode(protocol.encode_resize(cols, rows))
    assert frame.channel == protocol.RESIZE
    assert protocol.decode_resize(frame.data) == (cols, rows)


@given(st.integers(-255, 255).filter(lambda c: c != 0))
def test_nonzero_exit_codes_round_trip(code: int) -> None:
    frame = protocol.decode(protocol.encode_status(protocol.status_exit(code)))
    assert protocol.parse_status(frame.data).code == code
