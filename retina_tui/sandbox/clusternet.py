"""The cluster network's fixed numbers, shared by the API, kube-proxy, DNS and policy.

They are the defaults of kubeadm and kind, so what a user sees in the sandbox (10.96.0.10
in resolv.conf, NodePorts in 30000-32767) is what they see on most clusters.
"""

from __future__ import annotations

import ipaddress
from typing import Final

SERVICE_CIDR: Final = ipaddress.IPv4Network("10.96.0.0/16")
KUBERNETES_SERVICE_IP: Final = "10.96.0.1"
DNS_SERVICE_IP: Final = "10.96.0.10"
CLUSTER_DOMAIN: Final = "cluster.local"
NODEPORT_RANGE: Final = range(30000, 32768)
DNS_NAMESPACE: Final = "kube-system"
DNS_SERVICE_NAME: Final = "kube-dns"
DNS_APP_LABEL: Final = {"k8s-app": "kube-dns"}
SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"
MANAGED_BY_LABEL: Final = "endpointslice.kubernetes.io/managed-by"
ENDPOINTSLICE_CONTROLLER: Final = "endpointslice-controller.k8s.io"


def search_path(namespace: str) -> list[str]:
    """The resolv.conf search list a ClusterFirst pod in `namespace` gets."""
    return [f"{namespace}.svc.{CLUSTER_DOMAIN}", f"svc.{CLUSTER_DOMAIN}", CLUSTER_DOMAIN]


def cluster_resolv_conf(namespace: str) -> str:
    """The /etc/resolv.conf the kubelet writes for a ClusterFirst pod."""
    return (
        f"search {' '.join(search_path(namespace))}\nnameserver {DNS_SERVICE_IP}\noptions ndots:5\n"
    )
