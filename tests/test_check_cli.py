"""`retina-tui check` on the demo shop: predictions beside real probes, exit codes, JSON.

The session sandbox enforces Services, DNS and NetworkPolicy on its own; the check predicts
from the API objects and probes from inside the pods through one debug container each.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest

from retina_tui.sessions.pod import pod_shells
from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import debug_pods, kubectl_json

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("nft") is None, reason="needs root and nftables"
    ),
]
WAIT = 120
BROKEN_NS = "check-broken"


def check(
    sandbox: SandboxProcess, *args: str, timeout: float = WAIT
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "retina_tui", "check", "--kubeconfig", str(sandbox.kubeconfig)]
    return subprocess.run(
        [*argv, *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )


def check_json(sandbox: SandboxProcess, *args: str) -> tuple[int, dict[str, Any]]:
    done = check(sandbox, *args, "-o", "json")
    assert "Traceback" not in done.stderr, done.stderr
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"not JSON: {done.stdout!r} {done.stderr}") from None


def cell(doc: dict[str, Any], target: str) -> dict[str, Any]:
    found = [c for c in doc["cells"] if c["target"] == target]
    assert len(found) == 1, doc
    return found[0]


def command_containers(sandbox: SandboxProcess, name: str) -> list[str]:
    """The pod's retina-tui command-mode debug containers (running or not)."""
    pod = kubectl_json(sandbox, "get", "pod", "-n", "shop", name)
    return [shell.container for shell in pod_shells(pod) if shell.purpose == "command"]


@pytest.fixture(scope="module")
def shop(sandbox_cluster: SandboxProcess) -> SandboxProcess:
    for pod in ("web", "api", "db", "client"):
        done = sandbox_cluster.kubectl(
            "wait", "-n", "shop", "--for=condition=Ready", f"pod/{pod}", "--timeout=60s"
        )
        assert done.returncode == 0, done.stderr
    return sandbox_cluster


def test_client_reaches_web_and_db_is_denied_with_the_policy_named(shop: SandboxProcess) -> None:
    before = command_containers(shop, "client")
    code, doc = check_json(
        shop, "-n", "shop", "--from", "pod/client", "--to", "svc/web", "--to", "pod/db:5432",
        "--to", "web",
    )  # fmt: skip
    assert code == 0, doc
    assert doc["version"] == 1 and doc["exit_status"] == 0
    assert doc["sources"] == ["pod/shop/client"]
    web = cell(doc, "svc/web")["checks"][0]
    assert web["probe"] == "tcp" and web["address"] == "10.96.100.10" and web["port"] == 80
    assert web["predicted"]["verdict"] == "allowed"
    assert web["observed"]["outcome"] == "reached" and web["match"] is True
    db = cell(doc, "pod/db:5432")
    assert db["match"] is True
    assert db["checks"][0]["predicted"]["verdict"] == "denied"
    assert db["checks"][0]["observed"]["outcome"] == "blocked"
    assert db["checks"][0]["predicted"]["policies"] == ["shop/db-allow-api"]
    assert db["explanations"] == [
        "denied by NetworkPolicy shop/db-allow-api (ingress of shop/db: no rule admits "
        "app=client (pod shop/client) on TCP 5432)"
    ]
    by_name = cell(doc, "web")["checks"][0]
    assert by_name["probe"] == "dns" and by_name["observed"]["figures"]["answers"] == [
        "10.96.100.10"
    ]
    again = check(shop, "-n", "shop", "--from", "pod/client", "--to", "pod/api:8080")
    assert again.returncode == 0, again.stdout + again.stderr
    after = command_containers(shop, "client")
    assert len(set(after) - set(before)) <= 1, (before, after)  # one per source, re-used
    assert debug_pods(shop) == []


def test_the_table_marks_a_mismatch_and_exits_1(shop: SandboxProcess) -> None:
    done = check(shop, "-n", "shop", "--from", "pod/client", "--to", "pod/db:5432",
                 "--expect", "allow", "--probe-timeout", "1s")  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["FROM", "\\", "TO", "pod/db:5432"]
    assert "tcp blocked (pred allow) MISMATCH" in lines[1]
    assert any(
        "expected allowed, TCP connect timed out after 1 s; the API objects say: denied by "
        "NetworkPolicy shop/db-allow-api" in line
        for line in lines
    ), done.stdout
    assert lines[-1].startswith("1 cells: 0 as --expect allow, 1 mismatched, 0 errors")


def test_nxdomain_is_explained(shop: SandboxProcess) -> None:
    code, doc = check_json(
        shop, "-n", "shop", "--from", "pod/client", "--to", "nope.shop.svc.cluster.local"
    )
    assert code == 0, doc
    found = cell(doc, "nope.shop.svc.cluster.local")
    check_ = found["checks"][0]
    assert check_["predicted"]["verdict"] == "broken"
    assert check_["observed"]["figures"]["status"] == "NXDOMAIN"
    assert found["explanations"][0].startswith(
        "NXDOMAIN for nope.shop.svc.cluster.local from 10.96.0.10 after "
    )
    assert "no Service answers to nope.shop.svc.cluster.local" in found["explanations"][0]


@pytest.fixture(scope="module")
def broken(shop: SandboxProcess) -> Iterator[SandboxProcess]:
    """Services that cannot work: endpoints that never get ready, a targetPort no pod has."""
    manifest = textwrap.dedent(f"""
        apiVersion: v1
        kind: Namespace
        metadata: {{name: {BROKEN_NS}}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: crash, namespace: {BROKEN_NS}, labels: {{app: crash}}}}
        spec:
          containers:
          - {{name: crash, image: busybox:1.36, command: [sh, -c, "exit 1"]}}
        ---
        apiVersion: v1
        kind: Pod
        metadata: {{name: server, namespace: {BROKEN_NS}, labels: {{app: server}}}}
        spec:
          containers:
          - name: server
            image: python:3.12-slim
            command: [python3, -m, http.server, "8080"]
            ports: [{{name: http, containerPort: 8080}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: crash, namespace: {BROKEN_NS}}}
        spec:
          selector: {{app: crash}}
          ports: [{{port: 80, targetPort: 8080}}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {{name: wrongport, namespace: {BROKEN_NS}}}
        spec:
          selector: {{app: server}}
          ports: [{{port: 80, targetPort: web}}]
    """)
    done = shop.kubectl("apply", "-f", "-", input=manifest)
    assert done.returncode == 0, done.stderr
    try:
        shop.kubectl("wait", "-n", BROKEN_NS, "--for=condition=Ready", "pod/server",
                     "--timeout=60s", check=True)  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            pod = kubectl_json(shop, "get", "pod", "-n", BROKEN_NS, "crash")
            states = [s.get("state") or {} for s in pod["status"].get("containerStatuses") or []]
            if any((s.get("waiting") or {}).get("reason") == "CrashLoopBackOff" for s in states):
                break
            assert time.monotonic() < deadline, pod["status"]
            time.sleep(0.3)
        yield shop
    finally:
        shop.kubectl("delete", "namespace", BROKEN_NS, "--wait=false")


def test_a_service_without_ready_endpoints_and_a_wrong_target_port_are_explained(
    broken: SandboxProcess,
) -> None:
    code, doc = check_json(
        broken, "-n", "shop", "--from", "pod/client",
        "--to", f"svc/{BROKEN_NS}/crash", "--to", f"svc/{BROKEN_NS}/wrongport",
    )  # fmt: skip
    assert code == 0, doc  # as predicted: neither works
    crash = cell(doc, f"svc/{BROKEN_NS}/crash")
    assert crash["checks"][0]["predicted"]["verdict"] == "broken"
    assert crash["checks"][0]["observed"]["outcome"] in ("refused", "blocked")
    assert crash["explanations"][0].startswith(
        f"service {BROKEN_NS}/crash has no ready endpoints (1 pod matches, 0 ready: crash "
    )
    assert "CrashLoopBackOff" in crash["explanations"][0]
    wrong = cell(doc, f"svc/{BROKEN_NS}/wrongport")
    assert wrong["checks"][0]["observed"]["outcome"] in ("refused", "blocked")
    assert wrong["explanations"] == [
        f"service {BROKEN_NS}/wrongport port 80/TCP targets the port name 'web', which none "
        "of the 1 selected pods declares (server: http=8080)"
    ]


def test_selector_and_node_sources_with_ping_and_mtu(shop: SandboxProcess) -> None:
    code, doc = check_json(
        shop, "-n", "shop", "-l", "app in (api,web)", "--from", "node/node-1",
        "--to", "pod/web", "--to", "svc/db", "--probe", "ping,mtu",
    )  # fmt: skip
    assert sorted(doc["sources"]) == ["node/node-1", "pod/shop/api", "pod/shop/web"], doc
    assert len(doc["cells"]) == 6
    web = [c for c in doc["cells"] if c["target"] == "pod/web" and c["source"] == "pod/shop/api"]
    ping, mtu = web[0]["checks"]
    assert ping["observed"]["outcome"] == "reached"
    assert ping["observed"]["figures"]["loss_percent"] == 0
    assert mtu["observed"]["figures"]["mtu"] == 1500
    db = [c for c in doc["cells"] if c["target"] == "svc/db" and c["source"] == "pod/shop/api"]
    assert db[0]["checks"][0]["predicted"]["verdict"] == "denied"  # ICMP: the rule names a port
    assert db[0]["checks"][0]["observed"]["outcome"] == "blocked"
    assert code == 0, doc
    assert debug_pods(shop) == []  # the node debug pod is deleted


def test_errors_exit_2_with_one_line(shop: SandboxProcess, tmp_path: Any) -> None:
    missing = check(shop, "-n", "shop", "--from", "pod/nope", "--to", "svc/web")
    assert missing.returncode == 2
    assert "pod shop/nope does not exist" in missing.stdout
    bad = check(shop, "--from", "deployment/x", "--to", "svc/web")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines() == [
        "retina-tui: Cannot check from 'deployment/x': a source is pod/NAME or node/NAME (or "
        "select pods with -l SELECTOR)."
    ]
    probe = check(shop, "--from", "pod/client", "--to", "svc/web", "--probe", "traceroute")
    assert probe.returncode == 2 and "is not a probe" in probe.stderr
    empty = check(shop, "-n", "shop", "-l", "app=none", "--to", "svc/web")
    assert empty.returncode == 2
    assert "No running pod in namespace shop matches -l 'app=none'" in empty.stderr
    config = tmp_path / "kubeconfig"
    config.write_text(
        shop.kubeconfig.read_text().replace(shop.url, "https://127.0.0.1:9")  # nothing listens
    )
    argv = [sys.executable, "-m", "retina_tui", "check", "--kubeconfig", str(config)]
    down = subprocess.run([*argv, "--from", "pod/client", "--to", "svc/web"],
                          capture_output=True, text=True, timeout=WAIT)  # fmt: skip
    assert down.returncode == 2 and "Traceback" not in down.stderr, down.stderr
    assert down.stderr.startswith("retina-tui: "), down.stderr


def test_sigterm_stops_a_check_and_deletes_its_node_pod(shop: SandboxProcess) -> None:
    argv = [sys.executable, "-m", "retina_tui", "check", "--kubeconfig", str(shop.kubeconfig),
            "-n", "shop", "--from", "node/node-1", "--to", "pod/db:5432",
            "--probe-timeout", "60s"]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + WAIT
        while not debug_pods(shop):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no node debug pod appeared"
            time.sleep(0.2)
        time.sleep(1.0)  # the probe runs
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 128 + signal.SIGTERM, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert debug_pods(shop) == []
