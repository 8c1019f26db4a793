"""The official (sync) Python client's exec and attach streams against the sandbox kubelet.

That client sends stdin and resizes written as `str` in WebSocket text frames, which a
kubelet reads like binary ones: the first byte is the channel.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.stream import stream
from kubernetes.stream.ws_client import V5_CHANNEL_PROTOCOL, WSClient

from tests.sandbox.test_kubectl_exec import wait_ready

WAIT = 30.0


@pytest.fixture(scope="module")
def core(sandbox_cluster: Any) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=str(sandbox_cluster.kubeconfig))
    yield client.CoreV1Api(api_client)
    api_client.close()


@pytest.fixture(scope="module")
def tty_pod(sandbox_cluster: Any) -> Iterator[str]:
    """A running pod whose container (named as the pod) is a shell on a terminal."""
    name = f"pyclient-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl(
        "run", name, "--image=busybox:1.36", "--restart=Never", "-i", "-t", "--attach=false"
    )
    assert created.returncode == 0, created.stderr
    wait_ready(sandbox_cluster, "default", name)
    yield name
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


def read_stdout_until(resp: WSClient, marker: str) -> str:
    seen = ""
    deadline = time.monotonic() + WAIT
    while marker not in seen:
        assert resp.is_open(), f"stream closed before {marker!r}; saw {seen!r}"
        assert time.monotonic() < deadline, f"no {marker!r} in {seen!r}"
        resp.update(timeout=1)
        seen += resp.read_stdout(timeout=0)
    return seen


def run_to_end(resp: WSClient) -> None:
    resp.run_forever(timeout=WAIT)
    assert not resp.is_open(), "the stream did not end"


def test_stdin_written_as_text_reaches_the_command(core: client.CoreV1Api, tty_pod: str) -> None:
    resp = stream(
        core.connect_get_namespaced_pod_exec, tty_pod, "default",
        command=["wc", "-c"], stdin=True, stdout=True, stderr=True, tty=False,
        _preload_content=False,
    )  # fmt: skip
    assert resp.subprotocol == V5_CHANNEL_PROTOCOL
    resp.write_stdin("hello")
    resp.close_channel(0)
    run_to_end(resp)
    assert resp.read_stdout().strip() == "5"
    assert resp.returncode == 0


def test_binary_and_text_stdin_arrive_in_order(core: client.CoreV1Api, tty_pod: str) -> None:
    resp = stream(
        core.connect_get_namespaced_pod_exec, tty_pod, "default",
        command=["cat"], stdin=True, stdout=True, stderr=True, tty=False,
        _preload_content=False,
    )  # fmt: skip
    resp.write_stdin("one ")
    resp.write_stdin(b"two ")
    resp.write_stdin("thrée\n")
    resp.close_channel(0)
    run_to_end(resp)
    assert resp.read_stdout() == "one two thrée\n"


def test_exec_tty_resize_written_as_text(core: client.CoreV1Api, tty_pod: str) -> None:
    resp = stream(
        core.connect_get_namespaced_pod_exec, tty_pod, "default",
        command=["sh"], stdin=True, stdout=True, stderr=False, tty=True,
        _preload_content=False,
    )  # fmt: skip
    resp.write_channel(4, json.dumps({"Width": 100, "Height": 30}))
    resp.write_stdin("stty size; echo END-$((6*7))\r")
    seen = read_stdout_until(resp, "END-42")
    assert "30 100\r\n" in seen
    resp.write_stdin("exit 4\r")
    run_to_end(resp)
    assert resp.returncode == 4


def test_attach_tty_resize_written_as_text(core: client.CoreV1Api, tty_pod: str) -> None:
    resp = stream(
        core.connect_get_namespaced_pod_attach, tty_pod, "default",
        container=tty_pod, stdin=True, stdout=True, stderr=False, tty=True,
        _preload_content=False,
    )  # fmt: skip
    try:
        resp.write_channel(4, json.dumps({"Width": 91, "Height": 27}))
        resp.write_stdin("stty size; echo ATTACHED-$((6*7))\r")
        seen = read_stdout_until(resp, "ATTACHED-42")
        assert "27 91\r\n" in seen
    finally:
        resp.close()
