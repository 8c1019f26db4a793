"""The initial contents of the sandbox: namespaces, nodes, a few real pods, synthetic load.

- namespaces `default`, `kube-system`, `kube-public`, `kube-node-lease`, `shop` and `secure`
  (labelled pod-security.kubernetes.io/enforce=baseline);
- the shop, a small app to debug: `web` (HTTP on 8080, port `http`) behind the Service `web`
  (80 -> `http`), `api` (HTTP on 8080) behind the headless Service `api`, `db` (HTTP on
  5432) behind the Service `db` and the NetworkPolicy `db-allow-api` (only `app=api` may
  reach it), and a `client` pod on another node;
- the Services `default/kubernetes` (10.96.0.1) and `kube-system/kube-dns` (10.96.0.10);
- nodes `node-1`..`node-N` (node-1 is the control plane) with the labels, addresses,
  conditions and nodeInfo of a real kubelet, and a node Lease each;
- with `--windows-nodes N`, the last N nodes run Windows Server 2022 (labels, the
  `node.kubernetes.io/os=windows:NoSchedule` taint, nodeInfo), with `win/iis` and
  `win/agent` on them (synthetic Windows pods: spec.os windows, the OS toleration);
- `kube-system/coredns-*` and, with `--pods N`, N synthetic pods in `default` spread over
  the nodes. Synthetic pods (annotation `sandbox.retina-tui.io/synthetic`) are born
  Running and have no process until something execs into or attaches to them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from retina_tui.sandbox import clusternet, pods
from retina_tui.sandbox.psa import ENFORCE_LABEL
from retina_tui.sandbox.store import Obj, Store, now_iso

SYNTHETIC_ANNOTATION = "sandbox.retina-tui.io/synthetic"
ROLE_LABEL = "node-role.kubernetes.io/"
KUBELET_VERSION = "v1.37.0"
NAMESPACES: dict[str, dict[str, str]] = {
    "default": {},
    "kube-system": {},
    "kube-public": {},
    "kube-node-lease": {},
    "shop": {"app.kubernetes.io/part-of": "shop"},
    "secure": {ENFORCE_LABEL: "baseline"},
}


def node_names(count: int) -> list[str]:
    """Names of the sandbox's nodes."""
    return [f"node-{index + 1}" for index in range(count)]


def namespace(name: str, labels: dict[str, str]) -> Obj:
    """A namespace object."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/metadata.name": name, **labels},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def node(name: str, index: int, ip: str, cidr: str, *, windows: bool) -> Obj:
    """A node object as a kubelet registers it."""
    role = "control-plane" if index == 0 else "worker"
    os_name = "windows" if windows else "linux"
    now = now_iso()

    def condition(kind: str, status: str, reason: str, message: str) -> Obj:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
        }

    capacity = {"cpu": "4", "memory": "8049136Ki", "pods": "110", "ephemeral-storage": "61202244Ki"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/os": os_name,
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "beta.kubernetes.io/os": os_name,
                "beta.kubernetes.io/arch": "amd64",
                ROLE_LABEL + role: "",
            },
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {
            "podCIDR": cidr,
            "podCIDRs": [cidr],
            **({"taints": [dict(WINDOWS_TAINT)]} if windows else {}),
        },
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ],
            "capacity": capacity,
            "allocatable": capacity,
            "conditions": [
                condition(
                    "MemoryPressure",
                    "False",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                ),
                condition(
                    "DiskPressure",
                    "False",
                    "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure",
                ),
                condition(
                    "PIDPressure",
                    "False",
                    "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available",
                ),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": secrets.token_hex(16),
                "machineID": secrets.token_hex(16),
                "systemUUID": secrets.token_hex(16),
                "containerRuntimeVersion": "containerd://2.1.0",
                "kernelVersion": "10.0.20348.2227" if windows else "6.1.0-sandbox",
                "kubeProxyVersion": KUBELET_VERSION,
                "kubeletVersion": KUBELET_VERSION,
                "operatingSystem": os_name,
                "osImage": "Windows Server 2022 Datacenter"
                if windows
                else "Debian GNU/Linux 12 (bookworm)",
            },
        },
    }


def pod(
    namespace_name: str,
    name: str,
    containers: list[Obj],
    *,
    labels: dict[str, str] | None = None,
    node_name: str | None = None,
) -> Obj:
    """A pod object as a client would post it, with the server's defaults."""
    obj: Obj = {
        "metadata": {"name": name, "namespace": namespace_name, "labels": labels or {}},
        "spec": {"containers": containers},
    }
    if node_name:
        obj["spec"]["nodeName"] = node_name
    pods.default_pod(obj)
    return obj


def synthetic_status(obj: Obj, host_ip: str, index: int) -> None:
    """Mark a pod synthetic and give it the status of a running pod."""
    now = now_iso()
    obj["metadata"].setdefault("annotations", {})[SYNTHETIC_ANNOTATION] = "true"
    pod_ip = f"100.{64 + ((index >> 16) & 63)}.{(index >> 8) & 255}.{index & 255}"
    obj["status"] = {
        "phase": "Running",
        "qosClass": "BestEffort",
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "conditions": [
            {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
            for kind in (
                "PodReadyToStartContainers",
                "Initialized",
                "Ready",
                "ContainersReady",
                "PodScheduled",
            )
        ],
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "",
                "containerID": "containerd://" + secrets.token_hex(32),
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": now}},
            }
            for c in obj["spec"]["containers"]
        ],
    }


def seed(
    store: Store,
    *,
    nodes: int,
    synthetic_pods: int,
    node_ip: Callable[[str], str],
    pod_cidr: Callable[[str], str],
    windows_nodes: int = 0,
) -> None:
    """Fill an empty store with the sandbox's initial objects."""
    for name, labels in NAMESPACES.items():
        store.create("namespaces", namespace(name, labels))
    names = node_names(nodes)
    for index, name in enumerate(names):
        windows = index >= nodes - windows_nodes
        store.create("nodes", node(name, index, node_ip(name), pod_cidr(name), windows=windows))
        store.create("leases", node_lease(name))
    linux = [n for i, n in enumerate(names) if i < nodes - windows_nodes] or names
    dns = [
        {
            "name": "coredns",
            "image": "registry.k8s.io/coredns/coredns:v1.12.0",
            "command": ["sleep", "infinity"],
            "ports": [
                {"containerPort": 53, "name": "dns", "protocol": "UDP"},
                {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                {"containerPort": 9153, "name": "metrics", "protocol": "TCP"},
            ],
        }
    ]
    suffix = secrets.token_hex(5)[:5]
    real: list[Obj] = [
        pod(
            "kube-system",
            f"coredns-{suffix}",
            dns,
            labels={"k8s-app": "kube-dns"},
            node_name=linux[0],
        ),
        pod(
            "shop",
            "web",
            [
                {
                    "name": "web",
                    "image": "python:3.12-slim",
                    "command": ["python3", "-m", "http.server", "8080"],
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                }
            ],
            labels={"app": "web"},
            node_name=linux[min(1, len(linux) - 1)],
        ),
        _server_pod("api", 8080, "http", linux[0]),
        _server_pod("db", 5432, "postgres", linux[min(1, len(linux) - 1)]),
        pod(
            "shop",
            "client",
            [{"name": "client", "image": "busybox:1.36", "command": ["sleep", "infinity"]}],
            labels={"app": "client"},
            node_name=linux[min(2, len(linux) - 1)],
        ),
    ]
    for obj in real:
        store.create("pods", obj)
    windows_names = [n for i, n in enumerate(names) if i >= nodes - windows_nodes]
    if windows_names:
        add_windows_pods(store, windows_names, node_ip)
    for obj in services(node_ip(names[0])):
        store.create(_RESOURCE[obj["kind"]], obj)
    add_synthetic_pods(store, synthetic_pods, linux, node_ip)


def add_synthetic_pods(
    store: Store,
    count: int,
    nodes: list[str],
    node_ip: Callable[[str], str],
    *,
    namespace_name: str = "default",
    prefix: str = "load",
) -> None:
    """Create `count` synthetic running pods spread over `nodes`."""
    width = max(4, len(str(count)))
    for index in range(count):
        node_name = nodes[index % len(nodes)]
        obj = pod(
            namespace_name,
            f"{prefix}-{index:0{width}d}",
            [{"name": "app", "image": "nginx:1.27"}],
            labels={
                "app": f"{prefix}-{index % 10}",
                "tier": "backend" if index % 3 else "frontend",
            },
            node_name=node_name,
        )
        # The store's next resourceVersion is unique across every pod ever created.
        synthetic_status(obj, node_ip(node_name), int(store.resource_version) + 1)
        store.create("pods", obj)


WINDOWS_NAMESPACE = "win"
WINDOWS_TAINT: Obj = {"key": "node.kubernetes.io/os", "value": "windows", "effect": "NoSchedule"}


def add_windows_pods(store: Store, nodes: list[str], node_ip: Callable[[str], str]) -> None:
    """Namespace `win` with an IIS pod and an agent on the Windows nodes (synthetic)."""
    store.create("namespaces", namespace(WINDOWS_NAMESPACE, {}))
    workloads = [
        ("iis", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022", None),
        ("agent", "mcr.microsoft.com/windows/nanoserver:ltsc2022", ["ping", "-t", "localhost"]),
    ]
    for index, (name, image, command) in enumerate(workloads):
        container: Obj = {"name": name, "image": image}
        if command:
            container["command"] = command
        if name == "iis":
            container["ports"] = [{"containerPort": 80, "name": "http", "protocol": "TCP"}]
        node_name = nodes[index % len(nodes)]
        obj = pod(WINDOWS_NAMESPACE, name, [container], labels={"app": name}, node_name=node_name)
        spec = obj["spec"]
        spec["os"] = {"name": "windows"}
        spec["nodeSelector"] = {"kubernetes.io/os": "windows"}
        spec["tolerations"] = [{**WINDOWS_TAINT, "operator": "Equal"}, *spec["tolerations"]]
        synthetic_status(obj, node_ip(node_name), int(store.resource_version) + 1)
        store.create("pods", obj)


def node_lease(name: str) -> dict[str, Any]:
    """The heartbeat Lease a kubelet keeps in kube-node-lease."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": "kube-node-lease"},
        "spec": {
            "holderIdentity": name,
            "leaseDurationSeconds": 40,
            "renewTime": now_iso().replace("Z", ".000000Z"),
        },
    }


_RESOURCE = {
    "Service": "services",
    "EndpointSlice": "endpointslices",
    "Endpoints": "endpoints",
    "NetworkPolicy": "networkpolicies",
}


def _server_pod(name: str, port: int, port_name: str, node_name: str) -> Obj:
    """A shop pod serving HTTP on `port` (a real server, so curl gets a real answer)."""
    return pod(
        "shop",
        name,
        [
            {
                "name": name,
                "image": "python:3.12-slim",
                "command": ["python3", "-m", "http.server", str(port)],
                "ports": [{"containerPort": port, "name": port_name, "protocol": "TCP"}],
            }
        ],
        labels={"app": name},
        node_name=node_name,
    )


def _service(
    namespace: str, name: str, ip: str, ports: list[Obj], selector: dict[str, str] | None
) -> Obj:
    spec: Obj = {
        "type": "ClusterIP",
        "clusterIP": ip,
        "clusterIPs": [ip],
        "ports": ports,
        "sessionAffinity": "None",
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
    }
    if selector:
        spec["selector"] = selector
    labels = {"k8s-app": name} if namespace == "kube-system" else {}
    if name == "kubernetes":
        labels = {"component": "apiserver", "provider": "kubernetes"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
        "status": {"loadBalancer": {}},
    }


def _port(name: str, port: int, target: int | str, protocol: str = "TCP") -> Obj:
    entry: Obj = {"port": port, "targetPort": target, "protocol": protocol}
    if name:
        entry["name"] = name
    return entry


def services(api_ip: str) -> list[Obj]:
    """The Services of a fresh cluster and of the shop, and the shop's NetworkPolicy."""
    kubernetes = _service(
        "default", "kubernetes", clusternet.KUBERNETES_SERVICE_IP, [_port("https", 443, 6443)], None
    )
    dns = _service(
        clusternet.DNS_NAMESPACE,
        clusternet.DNS_SERVICE_NAME,
        clusternet.DNS_SERVICE_IP,
        [
            _port("dns", 53, 53, "UDP"),
            _port("dns-tcp", 53, 53),
            _port("metrics", 9153, 9153),
        ],
        dict(clusternet.DNS_APP_LABEL),
    )
    web = _service("shop", "web", "10.96.100.10", [_port("http", 80, "http")], {"app": "web"})
    api = _service("shop", "api", "None", [_port("http", 8080, 8080)], {"app": "api"})
    db = _service("shop", "db", "10.96.100.30", [_port("postgres", 5432, 5432)], {"app": "db"})
    # The API server's own endpoint, as a real cluster lists it (the sandbox serves its API
    # on 127.0.0.1, so this address is not routed to it).
    endpoint = {"addresses": [api_ip], "conditions": {"ready": True}}
    slice_ = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {clusternet.SERVICE_NAME_LABEL: "kubernetes"},
        },
        "addressType": "IPv4",
        "endpoints": [endpoint],
        "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
    }
    endpoints = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default"},
        "subsets": [
            {
                "addresses": [{"ip": api_ip}],
                "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
            }
        ],
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "db-allow-api", "namespace": "shop"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "db"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "api"}}}],
                    "ports": [{"port": 5432, "protocol": "TCP"}],
                }
            ],
        },
    }
    return [kubernetes, dns, web, api, db, slice_, endpoints, policy]
