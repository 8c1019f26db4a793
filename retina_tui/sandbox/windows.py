"""Windows pods in the sandbox: the API server's rules, and the simulated Windows node.

The API server's rules are the real ones (`validateWindowsHostProcessPod` and
`validateWindows`): a HostProcess pod needs the host network and every container
HostProcess, `runAsUserName` must be a Windows account, and a pod whose `spec.os` is
windows may not set Linux-only fields. Pod Security's hostProcess check lives in `psa`.

A Windows node's kubelet runs containers as local processes like any other: this machine
is not Windows. A Windows shell (`powershell.exe`, `pwsh.exe`, `cmd.exe`) is a local shell
whose prompt (`PS C:\\Windows\\system32>`) and environment (COMPUTERNAME, USERNAME, OS)
say it is the simulated Windows node; other programs run as they are. What is simulated
is the spec, the flow and the errors, which clients see exactly as on a real cluster.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any, Final

from retina_tui.sandbox.errors import field_cause
from retina_tui.validation.names import windows_user_problem
from retina_tui.validation.windows import image_build, kernel_build

Obj = dict[str, Any]

WINDOWS_FORBIDDEN: Final = "Forbidden: cannot be set for a windows pod"
VALID_OS: Final = ("linux", "windows")
_POD_LINUX_FIELDS: Final = (
    "appArmorProfile",
    "seLinuxOptions",
    "seccompProfile",
    "fsGroup",
    "fsGroupChangePolicy",
    "sysctls",
    "runAsUser",
    "runAsGroup",
    "supplementalGroups",
    "supplementalGroupsPolicy",
    "seLinuxChangePolicy",
)
_CONTAINER_LINUX_FIELDS: Final = (
    "appArmorProfile",
    "seLinuxOptions",
    "seccompProfile",
    "capabilities",
    "readOnlyRootFilesystem",
    "privileged",
    "allowPrivilegeEscalation",
    "procMount",
    "runAsUser",
    "runAsGroup",
)
SHELL_PROMPTS: Final = {
    "powershell": "PS C:\\\\Windows\\\\system32> ",
    "pwsh": "PS C:\\\\Windows\\\\system32> ",
    "cmd": "C:\\\\Windows\\\\system32>",
}
"""PS1 of each simulated shell (bash prompt escapes: `\\\\` is one backslash)."""


def _dict(value: object) -> Obj:
    return value if isinstance(value, dict) else {}


def _containers(spec: Obj) -> list[tuple[str, Obj]]:
    """(field path, container) of every container, in the API server's visiting order."""
    found = []
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for index, container in enumerate(spec.get(kind) or []):
            if isinstance(container, dict):
                found.append((f"spec.{kind}[{index}]", container))
    return found


def _host_process(context: Obj) -> bool | None:
    value = _dict(context.get("windowsOptions")).get("hostProcess")
    return value if isinstance(value, bool) else None


def causes(spec: Obj) -> list[dict[str, str]]:
    """What the API server refuses in a pod spec about Windows (each a 422 cause)."""
    found = _os_causes(spec)
    found += _user_causes(spec)
    found += _host_process_causes(spec)
    if (_dict(spec.get("os")).get("name")) == "windows":
        found += _linux_field_causes(spec)
    return found


def _os_causes(spec: Obj) -> list[dict[str, str]]:
    if "os" not in spec or spec.get("os") is None:
        return []
    name = _dict(spec.get("os")).get("name")
    if not name:
        return [
            field_cause("FieldValueRequired", "spec.os.name", "Required value: cannot be empty")
        ]
    if name not in VALID_OS:
        supported = ", ".join(f'"{item}"' for item in VALID_OS)
        return [
            field_cause(
                "FieldValueNotSupported",
                "spec.os",
                f'Unsupported value: "{name}": supported values: {supported}',
            )
        ]
    return []


def _user_causes(spec: Obj) -> list[dict[str, str]]:
    contexts = [("spec.securityContext", _dict(spec.get("securityContext")))]
    contexts += [
        (f"{path}.securityContext", _dict(c.get("securityContext")))
        for path, c in _containers(spec)
    ]
    found = []
    for path, context in contexts:
        user = _dict(context.get("windowsOptions")).get("runAsUserName")
        if user is None:
            continue
        problem = windows_user_problem(str(user))
        if problem is not None:
            found.append(
                field_cause(
                    "FieldValueInvalid",
                    f"{path}.windowsOptions.runAsUserName",
                    f'Invalid value: "{user}": {problem}',
                )
            )
    return found


def _host_process_causes(spec: Obj) -> list[dict[str, str]]:
    pod_value = _host_process(_dict(spec.get("securityContext")))
    found = []
    host_process = 0
    containers = _containers(spec)
    for path, container in containers:
        own = _host_process(_dict(container.get("securityContext")))
        if pod_value is not None and own is not None and pod_value != own:
            found.append(
                field_cause(
                    "FieldValueInvalid",
                    f"{path}.securityContext.windowsOptions.hostProcess",
                    f"Invalid value: {str(own).lower()}: pod hostProcess value must be "
                    f"identical if both are specified, was {str(pod_value).lower()}",
                )
            )
        if own is True or (own is None and pod_value is True):
            host_process += 1
    if not host_process:
        return found
    if host_process != len(containers):
        found.append(
            field_cause(
                "FieldValueInvalid",
                "spec",
                'Invalid value: "": If pod contains any hostProcess containers then all '
                "containers must be HostProcess containers",
            )
        )
    if not spec.get("hostNetwork"):
        found.append(
            field_cause(
                "FieldValueInvalid",
                "spec.hostNetwork",
                "Invalid value: false: hostNetwork must be true if pod contains any "
                "hostProcess containers",
            )
        )
    return found


def _linux_field_causes(spec: Obj) -> list[dict[str, str]]:
    found = []
    context = _dict(spec.get("securityContext"))
    forbidden = [name for name in _POD_LINUX_FIELDS[:2] if context.get(name) is not None]
    forbidden += [name for name in ("hostPID", "hostIPC") if spec.get(name)]
    forbidden += [name for name in _POD_LINUX_FIELDS[2:] if context.get(name) not in (None, [])]
    if spec.get("shareProcessNamespace") is not None:
        forbidden.append("shareProcessNamespace")
    found += [
        field_cause("FieldValueForbidden", f"spec.securityContext.{name}", WINDOWS_FORBIDDEN)
        for name in forbidden
    ]
    for path, container in _containers(spec):
        own = _dict(container.get("securityContext"))
        found += [
            field_cause("FieldValueForbidden", f"{path}.securityContext.{name}", WINDOWS_FORBIDDEN)
            for name in _CONTAINER_LINUX_FIELDS
            if own.get(name) is not None
        ]
    return found


def is_windows_node(node: Obj | None) -> bool:
    labels = _dict(_dict((node or {}).get("metadata")).get("labels"))
    return labels.get("kubernetes.io/os") == "windows"


def node_build(node: Obj | None) -> int | None:
    info = _dict(_dict((node or {}).get("status")).get("nodeInfo"))
    return kernel_build(info.get("kernelVersion"))


def start_error(pod: Obj, container: Obj, build: int | None, container_id: str) -> str | None:
    """containerd's words for a process-isolated container whose image is of another build.

    A HostProcess container runs on the host, so its image's build does not matter.
    """
    pod_context = _dict(_dict(pod.get("spec")).get("securityContext"))
    own = _host_process(_dict(container.get("securityContext")))
    if own is True or (own is None and _host_process(pod_context) is True):
        return None
    made_for = image_build(str(container.get("image") or ""))
    if build is None or made_for is None or made_for == build:
        return None
    return (
        "failed to create containerd task: failed to create shim task: "
        f"hcs::CreateComputeSystem {container_id.removeprefix('containerd://')}: The container "
        "operating system does not match the host operating system.: unknown"
    )


ROOT_USER: Final = "ContainerAdministrator"
"""The user Windows Server Core images run as, which runAsNonRoot refuses."""


def config_error(pod: Obj, container: Obj) -> str | None:
    """A Windows kubelet's CreateContainerConfigError when runAsNonRoot cannot hold.

    Windows has no uids: the account decides, and ContainerAdministrator (the images'
    default user here) counts as root.
    """
    pod_context = _dict(_dict(pod.get("spec")).get("securityContext"))
    context = _dict(container.get("securityContext"))
    non_root = context.get("runAsNonRoot")
    if non_root is None:
        non_root = pod_context.get("runAsNonRoot")
    if non_root is not True:
        return None
    meta = _dict(pod.get("metadata"))
    where = (
        f'(pod: "{meta.get("name", "")}_{meta.get("namespace", "")}({meta.get("uid", "")})", '
        f"container: {container.get('name', '')})"
    )
    user = _dict(context.get("windowsOptions")).get("runAsUserName") or _dict(
        pod_context.get("windowsOptions")
    ).get("runAsUserName")
    if user is None:
        return (
            f"container's runAsUser ({ROOT_USER}) which will be regarded as root identity and "
            f"will break non-root policy {where}"
        )
    if user == ROOT_USER:
        return (
            f"container's runAsUserName ({ROOT_USER}) which will be regarded as root identity "
            f"and will break non-root policy {where}"
        )
    return None


def shell_kind(argv: list[str]) -> str | None:
    """`powershell`, `pwsh` or `cmd` when argv starts a Windows shell (the name, any case)."""
    if not argv:
        return None
    name = PurePosixPath(argv[0].replace("\\", "/")).name.lower().removesuffix(".exe")
    return name if name in SHELL_PROMPTS else None


def _script(kind: str, argv: list[str]) -> str | None:
    """The command a Windows shell is asked to run (`-Command X`, `/c X`), if any."""
    flags = ("/c", "/k") if kind == "cmd" else ("-command", "-c")
    for index, arg in enumerate(argv[1:], start=1):
        if arg.lower() in flags:
            return " ".join(argv[index + 1 :])
    return None


def simulate(
    argv: list[str], env: dict[str, str], *, node: str, pod: Obj, container: Obj
) -> tuple[list[str], dict[str, str]]:
    """The local command and environment that stand for `argv` on a Windows node."""
    kind = shell_kind(argv)
    if kind is None:
        return argv, env
    context = _dict(container.get("securityContext"))
    pod_context = _dict(_dict(pod.get("spec")).get("securityContext"))
    user = _dict(context.get("windowsOptions")).get("runAsUserName") or _dict(
        pod_context.get("windowsOptions")
    ).get("runAsUserName")
    host_process = _host_process(context) or _host_process(pod_context)
    domain, _, name = str(user or ROOT_USER).rpartition("\\")
    simulated = {
        **env,
        "PS1": SHELL_PROMPTS[kind],
        "COMPUTERNAME": node.upper() if host_process else env.get("HOSTNAME", "").upper(),
        "USERNAME": name,
        "USERDOMAIN": domain or (node.upper() if host_process else "User Manager"),
        "OS": "Windows_NT",
        "PROCESSOR_ARCHITECTURE": "AMD64",
        "SystemRoot": "C:\\Windows",
        "RETINA_TUI_SANDBOX": f"simulated Windows node {node}",
    }
    if host_process:
        simulated["CONTAINER_SANDBOX_MOUNT_POINT"] = "C:\\C\\" + str(
            _dict(pod.get("metadata")).get("uid", "")
        )
    script = _script(kind, argv)
    if script is not None:
        return ["sh", "-c", script], simulated
    return ["bash", "--noprofile", "--norc", "-i"], simulated
