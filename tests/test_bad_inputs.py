"""Every bad input and every garbled reply: one sentence, the right exit code, nothing left.

Each case runs the real CLI (`python -m retina_tui ...`) as a subprocess, the way a user
does, against the sandbox behind a proxy (tests/kube/badapi.py) that garbles the one
reply the case is about. It asserts the case's own message, the exit code (2 for usage
and configuration errors, 1 for cluster failures), that no traceback or library log
line reached the terminal, and that no debug pod (or running debug container) of the
run is left in the cluster.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures_sandbox import SandboxProcess
from tests.kube.badapi import (
    BadApi,
    Rule,
    proxy_kubeconfig,
    sandbox_upstream,
    serve_bad_api,
    set_field,
)

NODE_GET = r"/api/v1/nodes/[^/]+"
POD_GET = r"/api/v1/namespaces/default/pods/[^/]+"
PODS = r"/api/v1/namespaces/default/pods"
LEASES = r"/apis/coordination.k8s.io/v1/namespaces/default/leases"
REVIEWS = r"/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
EPHEMERAL = r"/api/v1/namespaces/default/pods/[^/]+/ephemeralcontainers"
NOT_OBJECT = "with something that is not a Kubernetes object"
NOT_EVENT = "sent something that is not a watch event"
CASE_SECONDS = 40
LEFT_SECONDS = 25


@dataclass
class Case:
    """One bad input: how the CLI is run, and what it must say and exit with."""

    id: str
    args: list[str]
    expect: str
    code: int
    rules: list[Rule] = field(default_factory=list)
    kubeconfig: str | Callable[[dict[str, Any]], Any] = "proxy"
    """'proxy', 'restricted', 'none', a file's raw text (str starting with '!'), or a
    function that edits the proxy kubeconfig (a dict) in place."""
    config: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def raw(text: str) -> str:
    return "!" + text


def edit(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], Any]:
    return change


def _exec_plugin(config: dict[str, Any]) -> None:
    config["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "sh",
            "args": [
                "-c",
                "echo 'starting login' >&2; echo 'token expired: run sso login' >&2; exit 3",
            ],
        }
    }


SHELL = ["shell", "--timeout", "20s"]
CASES = [
    # ---- command-line arguments ---------------------------------------------------------
    Case("empty-target", [*SHELL, ""], "The target '' is empty", 2),
    Case("blank-target", [*SHELL, "  "], "The target '  ' is empty", 2),
    Case("pod-without-name", [*SHELL, "pod/"], "The target 'pod/' names no pod", 2),
    Case("node-without-name", [*SHELL, "node/"], "names no node", 2),
    Case("unknown-kind", [*SHELL, "deploy/web"], "is not NODE, node/NODE or pod/NAME", 2),
    Case("uppercase-node", [*SHELL, "Node_1"], "'Node_1' cannot be a node name", 2),
    Case("empty-context", [*SHELL, "--context", "", "{node}"], "--context is empty", 2),
    Case("gc-empty-context", ["gc", "--context", " "], "--context is empty", 2),
    Case("tui-empty-context", ["--context", ""], "--context is empty", 2),
    Case("tui-bad-request-timeout", ["tui", "--request-timeout", "2x"], "'2x' is not a timeout", 2),
    Case("tui-empty-server", ["--server", ""], "-s/--server '' is not an API server address", 2),
    Case("empty-kubeconfig-flag", ["gc", "--kubeconfig", ""], "--kubeconfig is empty", 2),
    Case(
        "empty-image",
        [*SHELL, "--image", "", "{node}"],
        "--image '' is not an image reference: it is empty",
        2,
    ),
    Case(
        "bad-image",
        [*SHELL, "--image", "UPPER :://bad ref", "{node}"],
        "is not an image reference: it contains white space",
        2,
    ),
    Case("bad-image-tag", [*SHELL, "--image", "netshoot:-v1", "pod/{pod}"], "the tag '-v1'", 2),
    Case(
        "uppercase-image",
        [*SHELL, "--image", "Netshoot", "{node}"],
        "the repository name must be lowercase",
        2,
    ),
    Case("short-digest", [*SHELL, "--image", "netshoot@sha256:abc", "{node}"], "sha256:", 2),
    Case(
        "unknown-capability",
        [*SHELL, "-c", "NET_FOO", "{node}"],
        "'NET_FOO' is not a Linux capability",
        2,
    ),
    Case(
        "misspelt-capability",
        [*SHELL, "-c", "net_admin,SYS_ADMINN", "pod/{pod}"],
        "did you mean SYS_ADMIN?",
        2,
    ),
    Case(
        "empty-namespace",
        [*SHELL, "-n", "", "{node}"],
        "-n/--namespace '' is not a namespace name",
        2,
    ),
    Case("gc-bad-namespace", ["gc", "-n", "Bad_NS"], "-n/--namespace 'Bad_NS'", 2),
    Case("empty-target-container", [*SHELL, "--target", "", "pod/{pod}"], "--target ''", 2),
    Case(
        "bad-timeout",
        ["shell", "--timeout", "soon", "{node}"],
        "--timeout 'soon' is not a duration",
        2,
    ),
    Case(
        "node-flags-for-pod",
        [*SHELL, "--host-pid", "pod/{pod}"],
        "--host-pid applies to node shells only",
        2,
    ),
    Case(
        "seccomp-for-pod",
        [*SHELL, "--seccomp-unconfined", "pod/{pod}"],
        "--seccomp-unconfined applies to node shells only; drop it for a pod shell",
        2,
    ),
    Case(
        "target-for-node",
        [*SHELL, "--target", "app", "{node}"],
        "--target names a container of a pod, so it does not apply to a node shell",
        2,
    ),
    Case(
        "core-group-spelt-out",
        [*SHELL, "pods.v1.core/{pod}"],
        "'pods.v1.core/{pod}' is not NODE, node/NODE or pod/NAME",
        2,
    ),
    Case("uppercase-short-name", [*SHELL, "NO/{node}"], "is not NODE, node/NODE or pod/NAME", 2),
    Case("bad-profile", [*SHELL, "--profile", "root", "{node}"], "--profile: 'root' is not", 2),
    Case(
        "image-and-image-version",
        [*SHELL, "--image", "netshoot:1", "--retina-shell-image-version", "v2", "{node}"],
        "--image names the whole image, so it cannot be combined",
        2,
    ),
    Case(
        "bad-image-version-flag",
        [*SHELL, "--retina-shell-image-version", "v 2", "pod/{pod}"],
        "made from --retina-shell-image-version='v 2' is not an image reference",
        2,
    ),
    Case(
        "bad-image-repo-flag-beats-env",
        [*SHELL, "--retina-shell-image-repo", "Bad Repo", "{node}"],
        "made from --retina-shell-image-repo='Bad Repo' and RETINA_SHELL_IMAGE_VERSION='v3'",
        2,
        env={"RETINA_SHELL_IMAGE_VERSION": "v3"},
    ),
    Case(
        "bad-request-timeout",
        [*SHELL, "--request-timeout", "1.5", "{node}"],
        "--request-timeout '1.5' is not a timeout",
        2,
    ),
    Case(
        "as-group-without-as",
        [*SHELL, "--as-group", "devs", "{node}"],
        "--as-group and --as-uid need --as",
        2,
    ),
    Case(
        "insecure-with-a-ca-file",
        [*SHELL, "--insecure-skip-tls-verify", "--certificate-authority", "/etc/hosts", "{node}"],
        "specifying a root certificates file with the insecure flag is not allowed",
        2,
    ),
    Case("bad-server", [*SHELL, "-s", "ftp://api", "{node}"], "-s/--server 'ftp://api' is not", 2),
    Case(
        "missing-ca-file",
        [*SHELL, "--certificate-authority", "/no/such/ca.pem", "{node}"],
        "--certificate-authority '/no/such/ca.pem' is not a file",
        2,
    ),
    Case("empty-as", [*SHELL, "--as", "", "{node}"], "--as is empty", 2),
    Case(
        "unknown-cluster",
        [*SHELL, "--cluster", "gone", "{node}"],
        "--cluster 'gone' is not among the clusters of the kubeconfig",
        2,
    ),
    Case(
        "unknown-user",
        [*SHELL, "--user", "gone", "pod/{pod}"],
        "--user 'gone' is not among the users of the kubeconfig",
        2,
    ),
    Case(
        "bad-token",
        [*SHELL, "--token", "wrong", "{node}"],
        "rejected the credentials (Unauthorized)",
        1,
    ),
    Case(
        "as-restricted",
        [*SHELL, "--as", "restricted", "pod/{pod}"],
        "acting as 'restricted' (--as) may not patch pods/ephemeralcontainers",
        1,
    ),
    Case(
        "restricted-may-not-impersonate",
        [*SHELL, "--as", "admin", "{node}"],
        'User "restricted" cannot impersonate resource "users" in API group ""',
        1,
        kubeconfig="restricted",
    ),
    Case(
        "bad-image-repo-env",
        [*SHELL, "{node}"],
        "made from RETINA_SHELL_IMAGE_REPO='Bad Repo'",
        2,
        env={"RETINA_SHELL_IMAGE_REPO": "Bad Repo"},
    ),
    Case(
        "bad-image-version-env",
        [*SHELL, "pod/{pod}"],
        "RETINA_SHELL_IMAGE_VERSION='v1 beta'",
        2,
        env={"RETINA_SHELL_IMAGE_VERSION": "v1 beta"},
    ),
    Case("gc-both-scopes", ["gc", "-n", "default", "-A"], "either -n/--namespace or -A", 2),
    # ---- configuration files --------------------------------------------------------------
    Case(
        "config-bad-image",
        [*SHELL, "{node}"],
        "invalid at debug.image: 'UPPER :://bad ref' is not an image reference",
        2,
        config="[debug]\nimage = 'UPPER :://bad ref'\n",
    ),
    Case(
        "config-bad-capability",
        [*SHELL, "pod/{pod}"],
        "invalid at debug.capabilities: 'NET_FOO' is not a Linux capability",
        2,
        config="[debug]\ncapabilities = ['NET_ADMIN', 'NET_FOO']\n",
    ),
    Case(
        "config-empty-namespace",
        ["gc"],
        "invalid at debug.namespace: '' is not a namespace name",
        2,
        config="[debug]\nnamespace = ''\n",
    ),
    Case(
        "config-bad-key",
        [],
        "invalid at ui.keys.quit: 'not a key!!' is not a key Textual knows",
        2,
        config="[ui.keys]\nquit = 'not a key!!'\n",
    ),
    Case(
        "config-bad-key-demo",
        ["demo"],
        "invalid at ui.keys.quit: 'not a key!!' is not a key Textual knows",
        2,
        config="[ui.keys]\nquit = 'not a key!!'\n",
    ),
    Case(
        "config-bad-modifier",
        ["tui"],
        "invalid at ui.keys.help: 'cmd' in 'cmd+h' is not a modifier",
        2,
        config="[ui.keys]\nhelp = 'question_mark,cmd+h'\n",
    ),
    Case(
        "config-not-toml",
        ["gc"],
        "Could not read the configuration file",
        2,
        config="[debug\nimage = \n",
    ),
    Case(
        "config-negative-timeout",
        [*SHELL, "{node}"],
        "invalid at debug.timeout_seconds",
        2,
        config="[debug]\ntimeout_seconds = -1\n",
    ),
    # ---- kubeconfigs ------------------------------------------------------------------------
    Case(
        "kubeconfig-empty-shell",
        [*SHELL, "{node}"],
        "is empty; point --kubeconfig",
        2,
        kubeconfig=raw(""),
    ),
    Case("kubeconfig-empty-gc", ["gc"], "is empty; point --kubeconfig", 2, kubeconfig=raw("\n")),
    Case(
        "kubeconfig-malformed-gc",
        ["gc"],
        "is not valid YAML (expected the node content",
        2,
        kubeconfig=raw("clusters: [\n"),
    ),
    Case(
        "kubeconfig-scalar-pod",
        [*SHELL, "pod/{pod}"],
        "holds a YAML string where a mapping",
        2,
        kubeconfig=raw("hello\n"),
    ),
    Case(
        "kubeconfig-list-gc",
        ["gc"],
        "holds a YAML list where a mapping",
        2,
        kubeconfig=raw("- a\n- b\n"),
    ),
    Case(
        "kubeconfig-contexts-not-a-list",
        [*SHELL, "{node}"],
        "has a mapping at contexts where a list of named contexts belongs",
        2,
        kubeconfig=edit(lambda c: c.update(contexts={"proxy": {}})),
    ),
    Case(
        "kubeconfig-context-not-a-mapping",
        ["gc"],
        "has a string as entry 1 of contexts",
        2,
        kubeconfig=edit(lambda c: c.update(contexts=["proxy"])),
    ),
    Case(
        "kubeconfig-context-body-a-list",
        [*SHELL, "pod/{pod}"],
        "has a list as the context of 'proxy'",
        2,
        kubeconfig=edit(lambda c: c["contexts"][0].update(context=["x"])),
    ),
    Case(
        "kubeconfig-missing-cluster",
        [*SHELL, "{node}"],
        "names the cluster 'proxy', which is not among its clusters",
        2,
        kubeconfig=edit(lambda c: c.update(clusters=[])),
    ),
    Case(
        "kubeconfig-missing-user",
        ["gc"],
        "names the user 'user', which is not among its users",
        2,
        kubeconfig=edit(lambda c: c.update(users=[])),
    ),
    Case(
        "kubeconfig-no-server",
        [*SHELL, "{node}"],
        "Cluster 'proxy' in the kubeconfig",
        2,
        kubeconfig=edit(lambda c: c["clusters"][0]["cluster"].pop("server")),
    ),
    Case(
        "kubeconfig-unknown-current-context",
        ["gc"],
        "has no context 'gone'; pick one of proxy",
        2,
        kubeconfig=edit(lambda c: c.update({"current-context": "gone"})),
    ),
    Case(
        "kubeconfig-exec-plugin-fails",
        [*SHELL, "{node}"],
        "The credential plugin `sh` of context 'proxy' failed (exit status 3: token expired: "
        "run sso login)",
        1,
        kubeconfig=edit(_exec_plugin),
    ),
    Case(
        "plain-http-to-tls",
        ["gc"],
        "use https:// in the server URL",
        1,
        kubeconfig="tls-as-http",
    ),
    Case(
        "tls-to-plain-http",
        [*SHELL, "{node}"],
        "answered the TLS handshake in plain HTTP; use http://",
        1,
        kubeconfig="http-as-tls",
    ),
    # ---- replies that are not Kubernetes objects: gc ------------------------------------------
    *(
        Case(f"gc-{reply}", ["gc"], f"{NOT_OBJECT} ({shown}, 200)", 1, [Rule("GET", PODS, reply)])
        for reply, shown in [
            ("garbage", "text that is not JSON"),
            ("html", "HTML"),
            ("array", "a JSON array"),
            ("string", "a JSON string"),
            ("null", "JSON null"),
            ("empty", "an empty body"),
        ]
    ),
    Case(
        "gc-items-a-string",
        ["gc"],
        "a pod list whose items is a string",
        1,
        [Rule("GET", PODS, mutate=set_field("items", "pods"))],
    ),
    Case(
        "gc-lease-metadata-a-list",
        ["gc"],
        "a lease list whose item 1 has a list as metadata",
        1,
        [Rule("GET", LEASES, mutate=lambda a: {**a, "items": [{"metadata": []}]})],
    ),
    Case(
        "gc-all-namespaces-html",
        ["gc", "-A"],
        f"answered GET /api/v1/pods {NOT_OBJECT} (HTML, 200)",
        1,
        [Rule("GET", "/api/v1/pods", "html")],
    ),
    # ---- replies that are not Kubernetes objects: node and pod shells -------------------------
    Case(
        "node-get-html",
        [*SHELL, "{node}"],
        f"answered GET /api/v1/nodes/{{node}} {NOT_OBJECT} (HTML, 200): is this the right server",
        1,
        [Rule("GET", NODE_GET, "html")],
    ),
    Case(
        "node-metadata-a-list",
        [*SHELL, "{node}"],
        "a node whose metadata is a list, not an object",
        1,
        [Rule("GET", NODE_GET, mutate=set_field("metadata", []))],
    ),
    Case(
        "node-review-null",
        [*SHELL, "{node}"],
        f"selfsubjectaccessreviews {NOT_OBJECT} (JSON null, 200)",
        1,
        [Rule("POST", REVIEWS, "null")],
    ),
    Case(
        "node-dry-run-array",
        [*SHELL, "{node}"],
        f"{NOT_OBJECT} (a JSON array, 200)",
        1,
        [Rule("POST", PODS, "array", dry_run=True)],
    ),
    Case(
        "node-lease-garbage",
        [*SHELL, "{node}"],
        "No debug pod was created in namespace default, because the lease",
        1,
        [Rule("POST", LEASES, "garbage")],
    ),
    Case(
        "node-create-happened-reply-garbled",
        [*SHELL, "{node}"],
        f"answered POST /api/v1/namespaces/default/pods {NOT_OBJECT} (HTML, 200)",
        1,
        [Rule("POST", PODS, "html", dry_run=False, forward=True)],
    ),
    Case(
        "node-create-happened-reply-a-string",
        [*SHELL, "{node}"],
        "(a JSON string, 200)",
        1,
        [Rule("POST", PODS, "string", dry_run=False, forward=True)],
    ),
    Case(
        "node-create-happened-phase-a-number",
        [*SHELL, "{node}"],
        "a pod whose status.phase is a number, not a string",
        1,
        [Rule("POST", PODS, mutate=set_field("status.phase", 3), dry_run=False)],
    ),
    Case(
        "node-watch-garbage",
        [*SHELL, "{node}"],
        f"{NOT_EVENT} on GET /api/v1/namespaces/default/pods?watch (a line that is not JSON)",
        1,
        [Rule("GET", PODS, "watch-garbage", watch=True)],
    ),
    Case(
        "node-watch-unknown-type",
        [*SHELL, "{node}"],
        "an event whose type is 'EXPLODED'",
        1,
        [Rule("GET", PODS, "watch-unknown-type", watch=True)],
    ),
    Case(
        "node-watch-no-object",
        [*SHELL, "{node}"],
        "(an event whose object is null)",
        1,
        [Rule("GET", PODS, "watch-no-object", watch=True)],
    ),
    Case(
        "node-rbac-names-the-lease",
        [*SHELL, "{node}"],
        "create leases.coordination.k8s.io in namespace default, update leases.coordination",
        1,
        kubeconfig="restricted",
    ),
    Case(
        "pod-get-garbage",
        [*SHELL, "pod/{pod}"],
        f"answered GET /api/v1/namespaces/default/pods/{{pod}} {NOT_OBJECT} (text that is not JSON",
        1,
        [Rule("GET", POD_GET, "garbage", watch=False)],
    ),
    Case(
        "pod-get-array",
        [*SHELL, "pod/{pod}"],
        "(a JSON array, 200)",
        1,
        [Rule("GET", POD_GET, "array", watch=False)],
    ),
    Case(
        "pod-phase-a-number",
        [*SHELL, "pod/{pod}"],
        "a pod whose status.phase is a number, not a string",
        1,
        [Rule("GET", POD_GET, mutate=set_field("status.phase", 3), watch=False)],
    ),
    Case(
        "pod-containers-a-string",
        [*SHELL, "pod/{pod}"],
        "a pod whose spec.containers is a string, not a list of objects",
        1,
        [Rule("GET", POD_GET, mutate=set_field("spec.containers", "app"), watch=False)],
    ),
    Case(
        "pod-patch-happened-reply-garbled",
        [*SHELL, "pod/{pod}"],
        f"answered PATCH /api/v1/namespaces/default/pods/{{pod}}/ephemeralcontainers {NOT_OBJECT}",
        1,
        [Rule("PATCH", EPHEMERAL, "garbage", dry_run=False, forward=True)],
    ),
    Case(
        "pod-dry-run-reply-garbled",
        [*SHELL, "pod/{pod}"],
        f"answered PATCH /api/v1/namespaces/default/pods/{{pod}}/ephemeralcontainers {NOT_OBJECT}",
        1,
        [Rule("PATCH", EPHEMERAL, "garbage", dry_run=True)],
    ),
    Case(
        "pod-patch-happened-reply-empty",
        [*SHELL, "pod/{pod}"],
        "(an empty body, 200)",
        1,
        [Rule("PATCH", EPHEMERAL, "empty", dry_run=False, forward=True)],
    ),
    Case(
        "pod-watch-no-type",
        [*SHELL, "pod/{pod}"],
        f"{NOT_EVENT} on GET /api/v1/namespaces/default/pods?watch (an event whose type is None",
        1,
        [Rule("GET", PODS, "watch-no-type", watch=True)],
    ),
    Case(
        "pod-watch-array",
        [*SHELL, "pod/{pod}"],
        "(a list where a watch event belongs)",
        1,
        [Rule("GET", PODS, "watch-array", watch=True)],
    ),
]


@pytest.fixture(scope="module")
def targets(sandbox_cluster: SandboxProcess) -> dict[str, str]:
    """A running pod in default and a Linux node of the sandbox."""
    pods = json.loads(
        sandbox_cluster.kubectl("get", "pods", "-n", "default", "-o", "json", check=True).stdout
    )
    nodes = json.loads(sandbox_cluster.kubectl("get", "nodes", "-o", "json", check=True).stdout)
    pod = next(
        p["metadata"]["name"]
        for p in pods["items"]
        if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    )
    node = next(
        n["metadata"]["name"]
        for n in nodes["items"]
        if n["metadata"]["labels"].get("kubernetes.io/os") == "linux"
    )
    return {"pod": pod, "node": node}


def _kubeconfig(
    case: Case, tmp_path: Path, api: BadApi, upstream: str, tokens: dict[str, str]
) -> Path:
    path = tmp_path / "kubeconfig"
    if isinstance(case.kubeconfig, str) and case.kubeconfig.startswith("!"):
        path.write_text(case.kubeconfig[1:])
        return path
    token = tokens["restricted" if case.kubeconfig == "restricted" else "admin"]
    server = {
        "tls-as-http": upstream.replace("https://", "http://"),
        "http-as-tls": api.url.replace("http://", "https://"),
    }.get(str(case.kubeconfig), api.url)
    proxy_kubeconfig(path, server, token)
    if callable(case.kubeconfig):
        config = json.loads(path.read_text())
        case.kubeconfig(config)
        path.write_text(json.dumps(config))
    return path


async def _left_in_cluster(api: BadApi, upstream: str, token: str, instance: str) -> list[str]:
    """Debug pods of this run, and its ephemeral containers not terminated, after a while."""
    headers = {"Authorization": f"Bearer {token}"}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LEFT_SECONDS
    while True:
        left: list[str] = []
        pods = await api.session.get(
            f"{upstream}/api/v1/pods",
            params={"labelSelector": f"retina-tui.io/instance={instance}"},
            headers=headers,
        )
        left += [f"pod {p['metadata']['name']}" for p in (await pods.json())["items"]]
        for namespace, pod, container in api.containers:
            answer = await api.session.get(
                f"{upstream}/api/v1/namespaces/{namespace}/pods/{pod}", headers=headers
            )
            statuses = (await answer.json())["status"].get("ephemeralContainerStatuses") or []
            state = next((s["state"] for s in statuses if s["name"] == container), {})
            if "terminated" not in state:
                left.append(f"container {pod}/{container} ({', '.join(state) or 'no state'})")
        if not left or loop.time() > deadline:
            return left
        await asyncio.sleep(0.2)


@pytest.mark.timeout(CASE_SECONDS + LEFT_SECONDS + 30)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_bad_input(
    case: Case, sandbox_cluster: SandboxProcess, targets: dict[str, str], tmp_path: Path
) -> None:
    upstream, ca_pem, tokens = sandbox_upstream(sandbox_cluster.kubeconfig)
    instance = f"bad{abs(hash(case.id)) % 10**8:08d}"
    async with serve_bad_api(upstream, ca_pem, case.rules) as api:
        kubeconfig = _kubeconfig(case, tmp_path, api, upstream, tokens)
        args = [arg.format(**targets) for arg in case.args]
        config = tmp_path / "config.toml"
        if case.config is not None:
            config.write_text(case.config)
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("KUBECONFIG", "RETINA_TUI_CONFIG", "RETINA_SHELL_IMAGE_REPO")
            and key != "RETINA_SHELL_IMAGE_VERSION"
        }
        env.update(
            KUBECONFIG=str(kubeconfig),
            RETINA_TUI_CONFIG=str(config) if case.config is not None else "",
            RETINA_TUI_INSTANCE=instance,
            XDG_CONFIG_HOME=str(tmp_path / "xdg"),
            **case.env,
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "retina_tui",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), CASE_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"{case.id}: the command did not end") from None
        stderr = err.decode(errors="replace")
        lines = [line for line in stderr.splitlines() if line.strip()]
        expected = case.expect.format(**targets)
        assert "Traceback" not in stderr, stderr
        assert lines and expected in lines[-1], stderr
        assert all(line.startswith("retina-tui: ") for line in lines), stderr
        assert process.returncode == case.code, (process.returncode, stderr, out.decode())
        for rule in case.rules:
            assert api.garbled or rule.method == "*", f"no call was garbled: {stderr}"
        assert api.left_behind() == set(), stderr
        assert await _left_in_cluster(api, upstream, tokens["admin"], instance) == [], stderr


def test_the_table_covers_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)
