"""`retina-tui capture` against the sandbox: real pods, real dumpcap, one pcapng file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retina_tui.capture.pcapng import PcapngFile, read_pcapng
from retina_tui.capture.summary import summarize
from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import debug_pods, kubectl_json

WAIT = 90


def pod(sandbox: SandboxProcess, name: str) -> dict[str, Any]:
    return dict(kubectl_json(sandbox, "get", "pod", "-n", "shop", name))


def cli(sandbox: SandboxProcess, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "retina_tui",
        *args[:1],
        "--kubeconfig",
        str(sandbox.kubeconfig),
        *args[1:],
    ]


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def stop_captures_left_running() -> Iterator[None]:
    """A test that fails midway still ends its capture, so no node pod outlives it."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def start_capture(sandbox: SandboxProcess, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    process = subprocess.Popen(
        cli(sandbox, "capture", "-n", "shop", *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    STARTED.append(process)
    return process


def wait_started(process: subprocess.Popen[str], count: int) -> list[str]:
    """Read stderr until `count` targets say they capture."""
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + WAIT
    while sum("capturing on" in line for line in lines) < count:
        line = process.stderr.readline()
        if not line:
            raise AssertionError(f"capture ended before it started: {''.join(lines)}")
        lines.append(line)
        assert time.monotonic() < deadline, "".join(lines)
    return lines


def finish(process: subprocess.Popen[str], lines: list[str]) -> tuple[int, str, str]:
    stdout, rest = process.communicate(timeout=WAIT)
    return process.returncode, stdout, "".join(lines) + rest


def ping(sandbox: SandboxProcess, source: str, destination_ip: str, *extra: str) -> None:
    result = subprocess.run(
        cli(sandbox, "shell", "-n", "shop", f"pod/{source}", "--", "ping", *extra, destination_ip),
        capture_output=True,
        text=True,
        timeout=WAIT,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def icmp_by_interface(capture: PcapngFile) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for packet in capture.packets:
        interface = capture.interfaces[packet.interface]
        summary = summarize(interface.linktype, packet.data)
        kinds = seen.setdefault(interface.name, set())
        kinds.add(f"{summary.protocol} {summary.info.split(' id=')[0]}")
    return seen


def wait_for_capture_processes(count: int) -> None:
    """The remote tools start a moment after their exec opens."""
    deadline = time.monotonic() + WAIT
    while len(capture_processes()) < count:
        assert time.monotonic() < deadline, capture_processes()
        time.sleep(0.1)


def capture_processes() -> list[str]:
    """dumpcap or tcpdump processes anywhere on this machine (the sandbox runs them here)."""
    result = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [
        line for line in result.stdout.splitlines() if line.startswith(("dumpcap ", "tcpdump "))
    ]


@pytest.fixture
def shop(sandbox_cluster: SandboxProcess) -> dict[str, dict[str, Any]]:
    return {name: pod(sandbox_cluster, name) for name in ("api", "web")}


def test_pods_on_two_nodes_and_a_node_merge_into_one_file(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    api, web = shop["api"], shop["web"]
    assert api["spec"]["nodeName"] != web["spec"]["nodeName"]
    node = api["spec"]["nodeName"]
    out = tmp_path / "ping.pcapng"
    process = start_capture(
        sandbox_cluster,
        "pod/api",
        "pod/web",
        f"node/{node}",
        "-f",
        "icmp",
        "--duration",
        "8s",
        "-o",
        str(out),
    )
    lines = wait_started(process, 3)
    ping(sandbox_cluster, "api", web["status"]["podIP"], "-c", "4", "-i", "0.2")
    code, _stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    assert "stopped: --duration 8s reached" in stderr
    assert "dropped by kernel" in stderr

    capture = read_pcapng(str(out))
    names = sorted(interface.name for interface in capture.interfaces)
    assert names == sorted(["shop/api:eth0", "shop/web:eth0", f"{node}:any"])
    seen = icmp_by_interface(capture)
    for name in names:
        assert {"ICMP echo request", "ICMP echo reply"} <= seen[name], (name, seen)
    # The filter ran remotely: nothing but ICMP came back.
    assert set().union(*seen.values()) <= {"ICMP echo request", "ICMP echo reply"}
    stamps = [packet.ts_ns for packet in capture.packets]
    assert stamps == sorted(stamps)
    assert "filter: icmp" in capture.comments
    assert any(c.startswith("cluster: https://") for c in capture.comments)
    assert all(interface.bpf_filter == "icmp" for interface in capture.interfaces)
    assert set(capture.dropped) == set(range(3))
    assert not [p for p in debug_pods(sandbox_cluster) if p.startswith("rtui-node-")]


def test_packets_limit_stops_with_exactly_that_many(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "five.pcapng"
    process = start_capture(
        sandbox_cluster, "pod/web", "-f", "icmp", "--packets", "5", "-o", str(out)
    )
    lines = wait_started(process, 1)
    ping(sandbox_cluster, "api", shop["web"]["status"]["podIP"], "-c", "8", "-i", "0.2")
    code, _stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    assert "stopped: --packets reached" in stderr
    assert len(read_pcapng(str(out)).packets) == 5


def test_max_size_stops_before_the_file_passes_it(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out = tmp_path / "small.pcapng"
    process = start_capture(
        sandbox_cluster, "pod/web", "-f", "icmp", "--max-size", "8kB", "-o", str(out)
    )
    lines = wait_started(process, 1)
    web_ip = shop["web"]["status"]["podIP"]
    ping(sandbox_cluster, "api", web_ip, "-c", "20", "-i", "0.05", "-s", "1000")
    code, _stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    assert "stopped: --max-size reached" in stderr
    assert 4000 < out.stat().st_size <= 8000
    assert read_pcapng(str(out)).packets
    assert not capture_processes()


def test_sigterm_mid_capture_keeps_a_whole_file_and_leaves_nothing_running(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    web = shop["web"]
    node = web["spec"]["nodeName"]
    out = tmp_path / "term.pcapng"
    process = start_capture(
        sandbox_cluster, "pod/web", f"node/{node}", "-f", "icmp", "-o", str(out)
    )
    lines = wait_started(process, 2)
    wait_for_capture_processes(2)
    ping(sandbox_cluster, "api", web["status"]["podIP"], "-c", "3", "-i", "0.2")
    process.send_signal(signal.SIGTERM)
    code, _stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    assert "stopped: interrupted" in stderr
    capture = read_pcapng(str(out))
    assert {"ICMP echo request", "ICMP echo reply"} <= icmp_by_interface(capture)["shop/web:eth0"]
    assert not capture_processes()
    # Seen from inside the pod's debug container too (the same container is re-used).
    inside = subprocess.run(
        cli(
            sandbox_cluster,
            "shell",
            "-n",
            "shop",
            "pod/web",
            "-c",
            "NET_RAW",
            "--",
            "ps",
            "-eo",
            "comm",
        ),
        capture_output=True,
        text=True,
        timeout=WAIT,
        stdin=subprocess.DEVNULL,
    )
    assert inside.returncode == 0, inside.stderr
    assert "dumpcap" not in inside.stdout and "tcpdump" not in inside.stdout
    assert not [p for p in debug_pods(sandbox_cluster) if p.startswith("rtui-node-")]


def test_a_bad_filter_is_reported_with_the_tools_words(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    process = start_capture(
        sandbox_cluster,
        "pod/web",
        "-f",
        "icmp and and",
        "--duration",
        "5s",
        "-o",
        str(tmp_path / "x"),
    )
    code, _stdout, stderr = finish(process, [])
    assert code == 1
    assert "FAILED" in stderr and "filter" in stderr.lower()
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "Name what to capture"),
        (("pod/web",), "Say where the packets go"),
        (("pod/web", "-o", "x", "--max-size", "lots"), "--max-size 'lots' is not a size"),
        (("pod/web", "-o", "x", "--duration", "soon"), "--duration 'soon' is not a duration"),
    ],
)
def test_usage_problems_are_one_line_and_exit_2(
    sandbox_cluster: SandboxProcess, args: tuple[str, ...], said: str
) -> None:
    result = subprocess.run(
        cli(sandbox_cluster, "capture", *args), capture_output=True, text=True, timeout=WAIT
    )
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr


def test_a_missing_pod_is_a_clear_error(sandbox_cluster: SandboxProcess, tmp_path: Path) -> None:
    out = tmp_path / "none.pcapng"
    result = subprocess.run(
        cli(sandbox_cluster, "capture", "-n", "shop", "pod/nope", "-o", str(out)),
        capture_output=True,
        text=True,
        timeout=WAIT,
    )
    assert result.returncode == 1
    assert "Pod shop/nope not found" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_wireshark_without_a_viewer_says_what_to_install(sandbox_cluster: SandboxProcess) -> None:
    env = {**os.environ, "PATH": "/nonexistent"}
    result = subprocess.run(
        cli(sandbox_cluster, "capture", "pod/web", "--wireshark"),
        capture_output=True,
        text=True,
        timeout=WAIT,
        env=env,
    )
    assert result.returncode == 2
    assert "install wireshark or tshark" in result.stderr


def test_wireshark_flag_feeds_tshark_live(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]]
) -> None:
    process = start_capture(
        sandbox_cluster, "pod/web", "-f", "icmp", "--packets", "4", "--wireshark"
    )
    lines = wait_started(process, 1)
    ping(sandbox_cluster, "api", shop["web"]["status"]["podIP"], "-c", "6", "-i", "0.2")
    code, stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    assert stdout.count("Echo (ping) request") + stdout.count("Echo (ping) reply") == 4, stdout


def test_metadata_archive_holds_the_capture_objects_and_network_state(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    out, archive = tmp_path / "m.pcapng", tmp_path / "m.tar.gz"
    process = start_capture(
        sandbox_cluster,
        "pod/web",
        "-f",
        "icmp",
        "--packets",
        "2",
        "-o",
        str(out),
        "--metadata",
        str(archive),
    )
    lines = wait_started(process, 1)
    ping(sandbox_cluster, "api", shop["web"]["status"]["podIP"], "-c", "3", "-i", "0.2")
    code, _stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        assert "capture.pcapng" in names
        assert len(read_pcapng_bytes(tar, "capture.pcapng").packets) == 2
        pod_json = json.loads(tar.extractfile("objects/pods/shop_web.json").read())  # type: ignore[union-attr]
        assert pod_json["metadata"]["name"] == "web"
        assert "objects/networkpolicies/shop.json" in names
        assert any(n.startswith("objects/nodes/") for n in names)
        state = tar.extractfile("network/pod_shop_web_eth0.txt").read().decode()  # type: ignore[union-attr]
        assert shop["web"]["status"]["podIP"] in state and "### ip route" in state
        summary = json.loads(tar.extractfile("summary.json").read())  # type: ignore[union-attr]
        assert summary["targets"][0]["packets"] == 2


def read_pcapng_bytes(tar: tarfile.TarFile, name: str) -> PcapngFile:
    from retina_tui.capture.pcapng import parse_pcapng

    member = tar.extractfile(name)
    assert member is not None
    return parse_pcapng(member.read())


def test_duration_ends_the_capture_by_itself(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    out = tmp_path / "quiet.pcapng"
    process = start_capture(sandbox_cluster, "pod/db", "--duration", "3s", "-o", str(out))
    lines = wait_started(process, 1)
    code, _stdout, stderr = finish(process, lines)
    assert code == 0, stderr
    assert "stopped: --duration 3s reached" in stderr
    assert [i.name for i in read_pcapng(str(out)).interfaces] == ["shop/db:eth0"]
    assert not capture_processes()


def test_selectors_pick_the_targets_and_say_when_they_pick_nothing(
    sandbox_cluster: SandboxProcess, shop: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    labels = shop["web"]["metadata"]["labels"]
    selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
    out = tmp_path / "selected.pcapng"
    process = start_capture(sandbox_cluster, "-l", selector, "--duration", "2s", "-o", str(out))
    code, _stdout, stderr = finish(process, wait_started(process, 1))
    assert code == 0, stderr
    assert [i.name for i in read_pcapng(str(out)).interfaces] == ["shop/web:eth0"]

    nothing = start_capture(
        sandbox_cluster, "--node-selector", "no-such-label=x", "-o", str(tmp_path / "n")
    )
    code, _stdout, stderr = finish(nothing, [])
    assert code == 1
    assert "No node matches --node-selector 'no-such-label=x'" in stderr
    assert "Traceback" not in stderr
