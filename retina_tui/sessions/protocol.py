"""The Kubernetes exec/attach channel protocol, as pure functions with no I/O.

The API server multiplexes a container's stdin, stdout, stderr, its exit status and
terminal resizes over one WebSocket. Every binary message starts with a channel byte.
`v4.channel.k8s.io` and `v5.channel.k8s.io` frame the same way; v5 adds a close
message (channel 255 followed by the channel being closed) so a client can half-close
stdin. Both the sandbox and the session engine use this module, so it stays free of
any socket or Kubernetes client code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

PROTOCOL_V5: Final = "v5.channel.k8s.io"
PROTOCOL_V4: Final = "v4.channel.k8s.io"
SUPPORTED_PROTOCOLS: Final = (PROTOCOL_V5, PROTOCOL_V4)

STDIN: Final = 0
STDOUT: Final = 1
STDERR: Final = 2
ERROR: Final = 3
RESIZE: Final = 4
CLOSE: Final = 255

STATUS_SUCCESS: Final = "Success"
STATUS_FAILURE: Final = "Failure"
REASON_NON_ZERO_EXIT: Final = "NonZeroExitCode"
CAUSE_EXIT_CODE: Final = "ExitCode"


class FrameError(ValueError):
    """A message on the stream does not follow the channel protocol."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded message: its channel and payload."""

    channel: int
    data: bytes


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """What the ERROR channel said about how the process ended.

    `code` is the exit code when it is known (0 on Success); `message` is the
    server's text for any other failure.
    """

    code: int | None
    message: str = ""
    reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def success(self) -> bool:
        return self.code == 0


def encode(channel: int, data: bytes = b"") -> bytes:
    """Frame `data` for `channel`."""
    if not 0 <= channel <= 255:
        raise FrameError(f"channel {channel} is outside 0..255")
    return bytes((channel,)) + data


def decode(message: bytes) -> Frame:
    """Split a binary WebSocket message into its channel and payload."""
    if not message:
        raise FrameError("empty message: every frame starts with a channel byte")
    return Frame(message[0], bytes(message[1:]))


def encode_close(channel: int) -> bytes:
    """The v5 message that closes `channel` (normally stdin) from the sender's side."""
    return encode(CLOSE, bytes((channel,)))


def closed_channel(frame: Frame) -> int:
    """The channel a v5 close frame closes."""
    if frame.channel != CLOSE or len(frame.data) != 1:
        raise FrameError("a close frame carries exactly one byte: the channel it closes")
    return frame.data[0]


def encode_resize(cols: int, rows: int) -> bytes:
    """A resize message for the RESIZE channel."""
    if cols <= 0 or rows <= 0:
        raise FrameError(f"terminal size {cols}x{rows} must be positive")
    payload = json.dumps({"Width": cols, "Height": rows}, separators=(",", ":"))
    return encode(RESIZE, payload.encode())


def decode_resize(data: bytes) -> tuple[int, int]:
    """(cols, rows) from the payload of a RESIZE frame."""
    try:
        value = json.loads(data)
        cols, rows = int(value["Width"]), int(value["Height"])
    except (ValueError, KeyError, TypeError) as exc:
        raise FrameError(f"resize payload is not {{Width, Height}}: {data[:64]!r}") from exc
    if cols < 0 or rows < 0:
        raise FrameError(f"resize to {cols}x{rows} is negative")
    return cols, rows


def status_success() -> dict[str, Any]:
    """The Status the server sends on the ERROR channel when the process exits 0."""
    return {"metadata": {}, "status": STATUS_SUCCESS}


def status_exit(code: int, command: str = "") -> dict[str, Any]:
    """The Status for an exit code, shaped as the kubelet sends it."""
    if code == 0:
        return status_success()
    what = f"error executing command [{command}], " if command else ""
    return {
        "metadata": {},
        "status": STATUS_FAILURE,
        "message": f"command terminated with non-zero exit code: {what}exit code {code}",
        "reason": REASON_NON_ZERO_EXIT,
        "details": {"causes": [{"reason": CAUSE_EXIT_CODE, "message": str(code)}]},
    }


def status_failure(message: str, reason: str = "InternalError") -> dict[str, Any]:
    """A Status for a failure that is not an exit code (the process could not start)."""
    return {"metadata": {}, "status": STATUS_FAILURE, "message": message, "reason": reason}


def encode_status(status: dict[str, Any]) -> bytes:
    """Frame a Status for the ERROR channel."""
    return encode(ERROR, json.dumps(status, separators=(",", ":")).encode())


def parse_status(data: bytes) -> ExitStatus:
    """Interpret the payload of an ERROR frame."""
    try:
        status = json.loads(data)
    except ValueError as exc:
        raise FrameError(f"status is not JSON: {data[:64]!r}") from exc
    if not isinstance(status, dict):
        raise FrameError(f"status is not an object: {data[:64]!r}")
    if status.get("status") == STATUS_SUCCESS:
        return ExitStatus(0, raw=status)
    message = str(status.get("message", ""))
    reason = str(status.get("reason", ""))
    if reason == REASON_NON_ZERO_EXIT:
        causes = (status.get("details") or {}).get("causes") or []
        for cause in causes:
            if isinstance(cause, dict) and cause.get("reason") == CAUSE_EXIT_CODE:
                try:
                    return ExitStatus(int(cause.get("message", "")), message, reason, status)
                except ValueError:
                    break
    return ExitStatus(None, message, reason, status)
