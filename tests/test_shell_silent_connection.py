"""A connection that goes silent is noticed, and the shell re-attached with its state kept.

`retina-tui shell` runs through a real pty against the sandbox, but over a TCP proxy that
black-holes every connection open at a chosen moment (it stops forwarding without closing
anything, so neither side sees a FIN or RST and TCP keepalives are still answered).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pexpect
import pytest

from tests.blackhole import BlackHoleProxy, black_hole_proxy
from tests.fixtures_sandbox import SandboxProcess
from tests.test_shell_cli_pty import PROMPT, reach_prompt, run, running_pod, shell_argv, spawn_cli

NOTICE_LIMIT = 10.0


def _kubeconfig_through(sandbox: SandboxProcess, proxy: BlackHoleProxy, path: Path) -> Path:
    config = sandbox.config
    for cluster in config["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{proxy.port}"
    path.write_text(json.dumps(config))
    return path


@pytest.mark.timeout(120)
def test_a_black_holed_stream_is_reattached_with_the_shell_state_kept(
    sandbox_cluster: SandboxProcess, tmp_path: Path
) -> None:
    upstream = urlsplit(sandbox_cluster.url)
    assert upstream.hostname and upstream.port
    pod = running_pod(sandbox_cluster)["metadata"]["name"]
    with black_hole_proxy(upstream.hostname, upstream.port) as proxy:
        kubeconfig = _kubeconfig_through(sandbox_cluster, proxy, tmp_path / "kubeconfig")
        argv = shell_argv(sandbox_cluster, f"pod/{pod}")
        argv[argv.index(str(sandbox_cluster.kubeconfig))] = str(kubeconfig)
        child = spawn_cli(argv)
        try:
            reach_prompt(child)
            run(child, "MARK=kept-$((6*7)); cd /tmp")
            # RECONNECT_ROUNDS=20 makes a stress run of it.
            for _ in range(int(os.environ.get("RECONNECT_ROUNDS", "3"))):
                assert proxy.freeze() >= 1
                frozen = time.monotonic()
                child.expect_exact("retina-tui: reconnected", timeout=NOTICE_LIMIT + 5)
                noticed = time.monotonic() - frozen
                assert noticed < NOTICE_LIMIT, f"re-attached {noticed:.1f} s after the freeze"
                # The shell redraws its prompt by itself after the re-attach.
                child.expect_exact(PROMPT, timeout=5)
                print(f"\nsilent connection: re-attached after {noticed:.1f} s")
                child.sendline("echo $MARK $PWD")
                child.expect_exact("kept-42 /tmp", timeout=10)
            child.sendline("exit 3")
            child.expect(pexpect.EOF)
            child.close()
            assert child.exitstatus == 3
        finally:
            child.close(force=True)
