"""The command a capture runs in each debug container, and what its stderr says.

The image's `dumpcap` is preferred: as root with only NET_RAW it captures, while Debian's
tcpdump insists on switching to its own user, which needs SETUID and SETGID. tcpdump is the
fallback for images without dumpcap. Either writes a classic pcap stream to stdout and nothing
on the node. A small shell wrapper ends the capture (SIGINT, so the tool flushes and prints its
statistics) when our stdin ends: when we stop, and when the connection drops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["CaptureCommand", "Statistics", "capture_argv", "parse_statistics"]

WRAPPER = r"""d=$1 i=$2 s=$3 c=$4 p=$5 f=$6
exec 3<&0 </dev/null
if command -v dumpcap >/dev/null 2>&1; then
  set -- dumpcap -q -P -i "$i" -w -
  [ "$s" = 0 ] || set -- "$@" -s "$s"
  [ "$c" = 0 ] || set -- "$@" -c "$c"
  [ "$d" = 0 ] || set -- "$@" -a "duration:$d"
  [ "$p" = 1 ] || set -- "$@" -p
  [ -z "$f" ] || set -- "$@" -f "$f"
else
  set -- tcpdump -U -n -w - -i "$i"
  [ "$s" = 0 ] || set -- "$@" -s "$s"
  [ "$c" = 0 ] || set -- "$@" -c "$c"
  [ "$p" = 1 ] || set -- "$@" -p
  [ -z "$f" ] || set -- "$@" "$f"
  [ "$d" = 0 ] || ! command -v timeout >/dev/null || set -- timeout -s INT "$d" "$@"
fi
"$@" 3<&- &
pid=$!
{ read -r _ <&3; kill -INT "$pid"; } >/dev/null 2>&1 &
watcher=$!
wait "$pid"
rc=$?
kill "$watcher" 2>/dev/null
exit "$rc"
"""


@dataclass(frozen=True, slots=True)
class CaptureCommand:
    interface: str
    bpf_filter: str = ""
    snaplen: int = 0
    packets: int = 0
    duration_seconds: int = 0
    promiscuous: bool = False


def capture_argv(command: CaptureCommand) -> list[str]:
    return [
        "sh",
        "-c",
        WRAPPER,
        "retina-tui-capture",
        str(command.duration_seconds),
        command.interface,
        str(command.snaplen),
        str(command.packets),
        "1" if command.promiscuous else "0",
        command.bpf_filter,
    ]


@dataclass(frozen=True, slots=True)
class Statistics:
    dropped: int | None
    """Packets the kernel dropped, when the tool said."""
    messages: list[str]
    """What the tool said that is not routine (errors, warnings)."""


_DUMPCAP_DROPS = re.compile(r"Packets received/dropped on interface '[^']*': \d+/(\d+)")
_TCPDUMP_DROPS = re.compile(r"(\d+) packets? dropped by kernel")
_ROUTINE = (
    re.compile(r"^Capturing on "),
    re.compile(r"^File: "),
    re.compile(r"^Packets captured: "),
    re.compile(r"^Packets received/dropped "),
    re.compile(r"cap_set_proc\(\) fail return"),
    re.compile(r"^tcpdump: listening on "),
    re.compile(r"^\d+ packets? (captured|received by filter|dropped by kernel)"),
    re.compile(r"^tcpdump: data link type "),
)


def parse_statistics(stderr: str) -> Statistics:
    dropped: int | None = None
    messages: list[str] = []
    for line in stderr.splitlines():
        line = line.strip()
        if not line:
            continue
        match = _DUMPCAP_DROPS.search(line) or _TCPDUMP_DROPS.search(line)
        if match:
            dropped = (dropped or 0) + int(match.group(1))
        if not any(pattern.search(line) for pattern in _ROUTINE):
            messages.append(line)
    return Statistics(dropped, messages)
