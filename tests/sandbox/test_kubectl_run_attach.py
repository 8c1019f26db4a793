"""`kubectl run -it` and `kubectl debug -i` attach to a container that may have written first.

A container with stdin or a terminal keeps what it wrote before the first attach for that
attacher (what a client read from the log meanwhile excepted, as `kubectl run` reads the log
before it attaches), and an attach ends with a plain Success status as a kubelet's does.
"""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pexpect
import pytest

from tests.sandbox.test_kubectl_exec import wait_ready

RUNS = 20
PARALLEL = 4


def run_it(cluster: Any, name: str, script: str) -> tuple[int | None, str]:
    """`kubectl run --rm -it NAME -- sh -c SCRIPT` under a terminal: (exit status, output)."""
    argv = cluster.kubectl_argv(
        "run", "--rm", "-it", "--image=busybox:1.36", "--restart=Never", name,
        "--", "sh", "-c", script,
    )  # fmt: skip
    child = pexpect.spawn(argv[0], argv[1:], dimensions=(24, 80), timeout=60, encoding="utf-8")
    try:
        child.expect(pexpect.EOF)
        output = str(child.before)
    finally:
        child.close(force=True)
    return child.exitstatus, output


def lines(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines()]


def test_kubectl_run_it_always_shows_what_the_command_printed(sandbox_cluster: Any) -> None:
    names = [f"early-{secrets.token_hex(3)}-{i}" for i in range(RUNS)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda name: run_it(sandbox_cluster, name, "echo x"), names))
    failed = [
        (name, code, output)
        for name, (code, output) in zip(names, results, strict=True)
        if code != 0 or "x" not in lines(output)
    ]
    assert not failed, "\n\n".join(f"{name} exited {code}:\n{out}" for name, code, out in failed)


def test_kubectl_run_it_shows_early_output_once_when_it_attaches(sandbox_cluster: Any) -> None:
    name = f"early-once-{secrets.token_hex(3)}"
    code, output = run_it(sandbox_cluster, name, "echo early-$((6*7)); sleep 2; echo late")
    assert code == 0, output
    assert lines(output).count("early-42") == 1, output
    assert "late" in lines(output), output
    assert "falling back" not in output, output


@pytest.fixture(scope="module")
def pod(sandbox_cluster: Any) -> Any:
    name = f"debugged-{secrets.token_hex(3)}"
    created = sandbox_cluster.kubectl(
        "run", name, "--image=busybox:1.36", "--restart=Never", "--stdin", "--attach=false"
    )
    assert created.returncode == 0, created.stderr
    wait_ready(sandbox_cluster, "default", name)
    yield name
    sandbox_cluster.kubectl("delete", "pod", name, "--grace-period=0", "--force")


@pytest.mark.parametrize("attempt", range(3))
def test_kubectl_debug_prints_a_quick_command_output_once(
    sandbox_cluster: Any, pod: str, attempt: int
) -> None:
    container = f"quick-{attempt}-{secrets.token_hex(2)}"
    result = sandbox_cluster.kubectl(
        "debug", pod, "-i", "--image=busybox:1.36", f"--container={container}",
        "--", "sh", "-c", "echo x; exit 2",
        input="",
    )  # fmt: skip
    # An attach does not carry the exit code: kubectl debug exits 0, as on a cluster.
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines().count("x") == 1, (result.stdout, result.stderr)
    assert "falling back" not in result.stderr, result.stderr
    exited = sandbox_cluster.kubectl(
        "wait", f"pod/{pod}", "--timeout=30s",
        "--for=jsonpath={.status.ephemeralContainerStatuses[?(@.name==\"" + container
        + "\")].state.terminated.exitCode}=2",
    )  # fmt: skip
    assert exited.returncode == 0, exited.stderr


def test_terminal_containers_that_exit_at_once_keep_their_output(sandbox_cluster: Any) -> None:
    names = [f"quick-tty-{secrets.token_hex(3)}-{i}" for i in range(10)]

    def start(name: str) -> None:
        created = sandbox_cluster.kubectl(
            "run", name, "--image=busybox:1.36", "--restart=Never", "-i", "-t",
            "--attach=false", "--", "sh", "-c", f"echo printed-by-{name}",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr

    try:
        with ThreadPoolExecutor(len(names)) as pool:
            list(pool.map(start, names))
        done = sandbox_cluster.kubectl(
            "wait", "--timeout=60s", "--for=jsonpath={.status.phase}=Succeeded",
            *(f"pod/{name}" for name in names),
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        logs = {name: sandbox_cluster.kubectl("logs", name).stdout for name in names}
        assert logs == {name: f"printed-by-{name}\n" for name in names}
    finally:
        sandbox_cluster.kubectl("delete", "pod", "--grace-period=0", "--force", *names)


def test_retina_tui_shell_shows_the_first_prompt_of_a_plain_sh(sandbox_cluster: Any) -> None:
    from tests.test_shell_cli_pty import finish, running_pod, spawn

    pod = running_pod(sandbox_cluster)
    child = spawn(sandbox_cluster, f"pod/{pod['metadata']['name']}", "--shell", "sh")
    try:
        # sh prints its prompt once, before the session attaches, and never redraws it.
        child.expect(r"[#$] ", timeout=30)
        assert "retina-tui:" in str(child.before)
        assert finish(child, 3) == 3
    finally:
        child.close(force=True)
