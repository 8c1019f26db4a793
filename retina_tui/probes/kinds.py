"""The probes as commands: what runs in the debug container, and what its output means.

Each probe is the standard tool a person would type (ping, bash's /dev/tcp, curl, dig),
run non-interactively with its own time limit, and a pure parser that turns its output
and exit code into an `Observation`. Keeping the two apart lets the parsers be tested on
recorded output and the commands be read by anyone who wants to run them by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

Kind = Literal["ping", "tcp", "http", "dns", "mtu"]
KINDS: Final[tuple[Kind, ...]] = ("ping", "tcp", "http", "dns", "mtu")
Outcome = Literal["reached", "refused", "blocked", "failed", "error"]
"""reached: it answered; refused: the host said no (RST, no endpoints); blocked: nothing
came back (timeout, unreachable, all pings lost); failed: it answered with a failure
(NXDOMAIN, SERVFAIL); error: the probe could not run."""

PING_COUNT: Final = 3
TIMEOUT_EXIT: Final = 124  # coreutils `timeout` when the limit is reached
MTU_HEADERS: Final = 28  # IPv4 + ICMP headers added to ping's payload size
MTU_LOW, MTU_HIGH = 576, 9000


@dataclass(frozen=True, slots=True)
class Probe:
    kind: Kind
    address: str
    """An IP (ping, tcp, http, mtu) or a name to resolve (dns)."""
    port: int | None = None
    path: str = "/"
    timeout: float = 3.0

    @property
    def label(self) -> str:
        if self.kind in ("tcp", "http") and self.port is not None:
            return f"{self.kind} {self.address}:{self.port}"
        return f"{self.kind} {self.address}"


@dataclass
class Observation:
    """What a probe saw: an outcome, one line for a table, figures, and its raw output."""

    outcome: Outcome
    summary: str
    figures: dict[str, float | int | str | list[str]] = field(default_factory=dict)
    raw: str = ""


def _seconds(limit: float) -> str:
    return f"{max(limit, 0.5):g}"


def argv(probe: Probe) -> list[str]:
    """The command line a probe runs in the source's network namespace."""
    limit = _seconds(probe.timeout)
    if probe.kind == "ping":
        return ["ping", "-n", "-c", str(PING_COUNT), "-i", "0.2", "-W", "1", "-w", limit,
                probe.address]  # fmt: skip
    if probe.kind == "tcp":
        script = (
            's=$EPOCHREALTIME; if exec 3<>"/dev/tcp/$1/$2"; then '
            'echo "connected $s $EPOCHREALTIME"; else exit 1; fi'
        )
        return ["timeout", limit, "bash", "-c", script, "tcp", probe.address, str(probe.port)]
    if probe.kind == "http":
        url = f"http://{_host(probe.address)}:{probe.port or 80}{probe.path}"
        return ["curl", "-sS", "-o", "/dev/null", "--connect-timeout", limit, "-m", limit,
                "-w", "%{http_code} %{time_connect} %{time_total}\\n", url]  # fmt: skip
    if probe.kind == "dns":
        return ["dig", "+search", "+showsearch", f"+time={max(1, int(probe.timeout))}",
                "+tries=1", "+noall", "+comments", "+question", "+answer", "+stats",
                probe.address, "A"]  # fmt: skip
    if probe.kind == "mtu":
        return ["sh", "-c", MTU_SCRIPT, "mtu", probe.address, str(MTU_LOW), str(MTU_HIGH)]
    raise ValueError(probe.kind)


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


# The largest unfragmented packet, by bisecting ping sizes with DF set (-M do).
MTU_SCRIPT: Final = (
    "ip=$1; lo=$2; hi=$3; h=28\n"
    'try() { ping -n -c 1 -W 1 -M do -s $(($1 - h)) "$ip" >/dev/null 2>&1; }\n'
    'if ! try "$lo"; then echo "none $lo"; exit 1; fi\n'
    "while [ $((hi - lo)) -gt 1 ]; do mid=$(((lo + hi) / 2)); "
    'if try "$mid"; then lo=$mid; else hi=$mid; fi; done\n'
    'if try "$hi"; then lo=$hi; fi\n'
    'echo "mtu $lo"\n'
)


def parse(probe: Probe, stdout: str, stderr: str, code: int) -> Observation:
    """The observation from a finished probe's output and exit code."""
    raw = stdout + (("\n" + stderr) if stderr.strip() else "")
    parser = _PARSERS[probe.kind]
    observation = parser(probe, stdout, stderr, code)
    observation.raw = raw.strip()
    return observation


def _missing_tool(stderr: str, code: int) -> str | None:
    if code == 127:
        return "the tool is missing in the debug image (exit 127); use an image with it (--image)"
    return None


def parse_ping(probe: Probe, stdout: str, stderr: str, code: int) -> Observation:
    missing = _missing_tool(stderr, code)
    if missing:
        return Observation("error", missing)
    sent = re.search(r"(\d+) packets transmitted, (\d+) received", stdout)
    if not sent:
        return Observation("error", _first_line(stderr or stdout) or f"ping exited {code}")
    transmitted, received = int(sent.group(1)), int(sent.group(2))
    loss = 100.0 * (transmitted - received) / transmitted if transmitted else 100.0
    figures: dict[str, float | int | str | list[str]] = {
        "sent": transmitted,
        "received": received,
        "loss_percent": round(loss, 1),
    }
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", stdout)
    if rtt:
        figures.update(
            rtt_min_ms=float(rtt.group(1)),
            rtt_avg_ms=float(rtt.group(2)),
            rtt_max_ms=float(rtt.group(3)),
        )
    if received == 0:
        why = " (destination unreachable)" if "Unreachable" in stdout else ""
        return Observation("blocked", f"got no reply{why}", figures)
    summary = f"got {received}/{transmitted} replies, rtt {figures.get('rtt_avg_ms', '?')} ms"
    if loss:
        summary += f", {loss:.0f}% loss"
    return Observation("reached", summary, figures)


_ERRNO: Final[tuple[tuple[str, Outcome, str, str], ...]] = (
    ("Connection refused", "refused", "refused", "ECONNREFUSED"),
    ("No route to host", "blocked", "failed: no route to host", "EHOSTUNREACH"),
    ("Network is unreachable", "blocked", "failed: network unreachable", "ENETUNREACH"),
    ("Connection timed out", "blocked", "timed out in the kernel", "ETIMEDOUT"),
    ("Connection reset", "refused", "was reset", "ECONNRESET"),
    ("Permission denied", "blocked", "failed: permission denied (a local firewall)", "EACCES"),
)


def parse_tcp(probe: Probe, stdout: str, stderr: str, code: int) -> Observation:
    missing = _missing_tool(stderr, code)
    if missing:
        return Observation("error", missing)
    found = re.search(r"connected (\d+[.,]\d+) (\d+[.,]\d+)", stdout)
    if code == 0 and found:
        start, end = (float(g.replace(",", ".")) for g in found.groups())
        ms = round((end - start) * 1000, 3)
        return Observation("reached", f"connected in {ms:g} ms", {"connect_ms": ms})
    if code == TIMEOUT_EXIT:
        return Observation(
            "blocked", f"timed out after {probe.timeout:g} s", {"errno": "ETIMEDOUT"}
        )
    for phrase, outcome, text, errno in _ERRNO:
        if phrase in stderr:
            return Observation(outcome, text, {"errno": errno})
    return Observation("error", _first_line(stderr) or f"the connect probe exited {code}")


# curl's exit codes (man curl, EXIT CODES) that say what happened to the connection.
_CURL_EXITS: Final[dict[int, tuple[Outcome, str]]] = {
    6: ("failed", "failed: could not resolve the host"),
    7: ("refused", "refused"),
    28: ("blocked", "timed out"),
    52: ("failed", "got an empty reply"),
    56: ("failed", "was reset while receiving"),
}


def parse_http(probe: Probe, stdout: str, stderr: str, code: int) -> Observation:
    missing = _missing_tool(stderr, code)
    if missing:
        return Observation("error", missing)
    figures: dict[str, float | int | str | list[str]] = {}
    found = re.search(r"(\d{3}) ([\d.]+) ([\d.]+)", stdout)
    if found:
        status, connect, total = int(found.group(1)), float(found.group(2)), float(found.group(3))
        figures = {"status": status, "connect_ms": round(connect * 1000, 3),
                   "total_ms": round(total * 1000, 3)}  # fmt: skip
        if code == 0 and status:
            outcome: Outcome = "reached" if status < 500 else "failed"
            return Observation(outcome, f"HTTP {status} in {figures['total_ms']:g} ms", figures)
    if code == 7 and "Connection refused" in stderr:
        return Observation("refused", "refused", figures)
    if code == 7:
        return Observation("blocked", "failed: could not connect", figures)
    if code == 28 and figures.get("connect_ms"):
        return Observation("failed", "connected but got no HTTP answer in time", figures)
    if code in _CURL_EXITS:
        failure, text = _CURL_EXITS[code]
        return Observation(failure, text, figures)
    return Observation("error", _first_line(stderr) or f"curl exited {code}", figures)


@dataclass(frozen=True, slots=True)
class DnsStep:
    name: str
    status: str
    server: str
    ms: int
    answers: tuple[str, ...]


def dns_steps(stdout: str) -> list[DnsStep]:
    """Each query dig sent through the search path, in order."""
    steps = []
    for block in stdout.split(";; Got answer:")[1:]:
        status = re.search(r"status: (\w+)", block)
        question = re.search(r"^;([^\s;]\S*)\s+IN\s+\w+", block, re.MULTILINE)
        server = re.search(r";; SERVER: ([^#\s]+)", block)
        took = re.search(r";; Query time: (\d+) msec", block)
        answers = tuple(
            m.group(2)
            for m in re.finditer(r"^(\S+)\s+\d+\s+IN\s+(?:A|AAAA|CNAME)\s+(\S+)", block, re.M)
        )
        steps.append(
            DnsStep(
                (question.group(1) if question else "?").rstrip("."),
                status.group(1) if status else "?",
                server.group(1) if server else "?",
                int(took.group(1)) if took else 0,
                answers,
            )
        )
    return steps


def parse_dns(probe: Probe, stdout: str, stderr: str, code: int) -> Observation:
    missing = _missing_tool(stderr, code)
    if missing:
        return Observation("error", missing)
    steps = dns_steps(stdout)
    figures: dict[str, float | int | str | list[str]] = {
        "steps": [f"{s.name} {s.status} {s.ms} ms" for s in steps],
    }
    if steps:
        last = steps[-1]
        figures.update(server=last.server, status=last.status, ms=sum(s.ms for s in steps))
        if last.answers:
            figures["answers"] = list(last.answers)
            return Observation(
                "reached",
                f"{last.name} = {', '.join(last.answers)} ({figures['ms']} ms)",
                figures,
            )
        return Observation(
            "failed",
            f"{last.status} for {last.name} from {last.server} after {len(steps)} "
            f"search step{'s' if len(steps) != 1 else ''}",
            figures,
        )
    text = stdout + stderr
    if "timed out" in text or "no servers could be reached" in text:
        server = re.search(r"error to ([^#\s]+)#", text)
        where = f" ({server.group(1)})" if server else ""
        return Observation("blocked", f"no answer from the DNS server{where}", figures)
    return Observation("error", _first_line(stderr or stdout) or f"dig exited {code}", figures)


def parse_mtu(probe: Probe, stdout: str, stderr: str, code: int) -> Observation:
    missing = _missing_tool(stderr, code)
    if missing:
        return Observation("error", missing)
    found = re.search(r"mtu (\d+)", stdout)
    if found:
        mtu = int(found.group(1))
        return Observation("reached", f"found path MTU {mtu}", {"mtu": mtu})
    if "none" in stdout:
        return Observation("blocked", f"got no reply even at {MTU_LOW} bytes", {})
    return Observation("error", _first_line(stderr) or f"the MTU probe exited {code}")


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


_PARSERS = {
    "ping": parse_ping,
    "tcp": parse_tcp,
    "http": parse_http,
    "dns": parse_dns,
    "mtu": parse_mtu,
}
