"""Discovery documents: what kubectl and client libraries read to learn the API's shape.

Served in the legacy shapes (APIVersions, APIGroupList, APIResourceList) and, when the
client asks for it in its Accept header, as aggregated discovery (apidiscovery.k8s.io/v2
APIGroupDiscoveryList), the way kubectl 1.30 and later prefer it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SERVER_VERSION = {
    "major": "1",
    "minor": "37",
    "gitVersion": "v1.37.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.25.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
PROXY_VERBS = ("create", "delete", "get", "patch", "update")
AGGREGATED_MEDIA = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True)
class ResourceInfo:
    """One resource or subresource the API serves."""

    name: str
    kind: str
    namespaced: bool
    group: str = ""
    version: str = "v1"
    verbs: tuple[str, ...] = tuple(ALL_VERBS)
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    response_kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        """The apiVersion objects of this resource carry."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def legacy(self) -> dict[str, Any]:
        """The APIResource entry of an APIResourceList."""
        entry: dict[str, Any] = {
            "name": self.name,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entry.update(self.extra)
        return entry


RESOURCES: tuple[ResourceInfo, ...] = (
    ResourceInfo("pods", "Pod", True, short_names=("po",), categories=("all",), singular="pod"),
    ResourceInfo("pods/attach", "PodAttachOptions", True, verbs=("create", "get")),
    ResourceInfo("pods/ephemeralcontainers", "Pod", True, verbs=("get", "patch", "update")),
    ResourceInfo(
        "pods/eviction",
        "Eviction",
        True,
        verbs=("create",),
        extra={"group": "policy", "version": "v1"},
    ),
    ResourceInfo("pods/exec", "PodExecOptions", True, verbs=("create", "get")),
    ResourceInfo("pods/log", "Pod", True, verbs=("get",)),
    ResourceInfo("pods/portforward", "PodPortForwardOptions", True, verbs=("create", "get")),
    ResourceInfo("pods/proxy", "PodProxyOptions", True, verbs=PROXY_VERBS),
    ResourceInfo("pods/status", "Pod", True, verbs=("get", "patch", "update")),
    ResourceInfo("nodes", "Node", False, short_names=("no",), singular="node"),
    ResourceInfo("nodes/status", "Node", False, verbs=("get", "patch", "update")),
    ResourceInfo(
        "namespaces",
        "Namespace",
        False,
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        short_names=("ns",),
        singular="namespace",
    ),
    ResourceInfo("namespaces/status", "Namespace", False, verbs=("get", "patch", "update")),
    ResourceInfo("events", "Event", True, short_names=("ev",), singular="event"),
    ResourceInfo(
        "services", "Service", True, short_names=("svc",), categories=("all",), singular="service"
    ),
    ResourceInfo("services/proxy", "ServiceProxyOptions", True, verbs=PROXY_VERBS),
    ResourceInfo("services/status", "Service", True, verbs=("get", "patch", "update")),
    ResourceInfo("endpoints", "Endpoints", True, short_names=("ep",), singular="endpoints"),
    ResourceInfo(
        "endpointslices", "EndpointSlice", True, group="discovery.k8s.io", singular="endpointslice"
    ),
    ResourceInfo(
        "networkpolicies",
        "NetworkPolicy",
        True,
        group="networking.k8s.io",
        short_names=("netpol",),
        singular="networkpolicy",
    ),
    ResourceInfo("leases", "Lease", True, group="coordination.k8s.io", singular="lease"),
    ResourceInfo(
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        True,
        group="policy",
        short_names=("pdb",),
        singular="poddisruptionbudget",
    ),
    ResourceInfo(
        "poddisruptionbudgets/status",
        "PodDisruptionBudget",
        True,
        group="policy",
        verbs=("get", "patch", "update"),
    ),
    ResourceInfo(
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        group="authorization.k8s.io",
        verbs=("create",),
        singular="selfsubjectaccessreview",
    ),
    ResourceInfo(
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        group="authorization.k8s.io",
        verbs=("create",),
        singular="selfsubjectrulesreview",
    ),
    ResourceInfo(
        "selfsubjectreviews",
        "SelfSubjectReview",
        False,
        group="authentication.k8s.io",
        verbs=("create",),
        singular="selfsubjectreview",
    ),
)

GROUP_VERSIONS: dict[str, str] = {
    "authentication.k8s.io": "v1",
    "coordination.k8s.io": "v1",
    "authorization.k8s.io": "v1",
    "discovery.k8s.io": "v1",
    "networking.k8s.io": "v1",
    "policy": "v1",
}

BY_NAME: dict[tuple[str, str], ResourceInfo] = {(r.group, r.name): r for r in RESOURCES}


def lookup(group: str, resource: str) -> ResourceInfo | None:
    """The resource or subresource ("pods/exec") of a group, if served."""
    return BY_NAME.get((group, resource))


def api_versions() -> dict[str, Any]:
    """GET /api."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    }


def _group_entry(group: str, version: str) -> dict[str, Any]:
    gv = {"groupVersion": f"{group}/{version}", "version": version}
    return {"name": group, "versions": [gv], "preferredVersion": gv}


def api_group_list() -> dict[str, Any]:
    """GET /apis."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(group, version) for group, version in GROUP_VERSIONS.items()],
    }


def api_group(group: str) -> dict[str, Any] | None:
    """GET /apis/<group>."""
    version = GROUP_VERSIONS.get(group)
    if version is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, version)}


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    """GET /api/v1 or /apis/<group>/<version>."""
    if (group == "" and version != "v1") or (group and GROUP_VERSIONS.get(group) != version):
        return None
    resources = [r.legacy() for r in RESOURCES if r.group == group]
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resources(group: str) -> list[dict[str, Any]]:
    parents = [r for r in RESOURCES if r.group == group and "/" not in r.name]
    result = []
    for parent in parents:
        entry: dict[str, Any] = {
            "resource": parent.name,
            "responseKind": {"group": group, "version": parent.version, "kind": parent.kind},
            "scope": "Namespaced" if parent.namespaced else "Cluster",
            "singularResource": parent.singular,
            "verbs": list(parent.verbs),
        }
        if parent.short_names:
            entry["shortNames"] = list(parent.short_names)
        if parent.categories:
            entry["categories"] = list(parent.categories)
        subs = [
            {
                "subresource": r.name.split("/", 1)[1],
                "responseKind": {
                    "group": r.extra.get("group", group),
                    "version": r.extra.get("version", r.version),
                    "kind": r.kind,
                },
                "verbs": list(r.verbs),
            }
            for r in RESOURCES
            if r.group == group and r.name.startswith(parent.name + "/")
        ]
        if subs:
            entry["subresources"] = subs
        result.append(entry)
    return result


def aggregated(legacy_core: bool) -> dict[str, Any]:
    """GET /api or /apis as apidiscovery.k8s.io/v2 APIGroupDiscoveryList."""
    groups = [("", "v1")] if legacy_core else list(GROUP_VERSIONS.items())
    items = []
    for group, version in groups:
        items.append(
            {
                "metadata": {"name": group, "creationTimestamp": None},
                "versions": [
                    {
                        "version": version,
                        "resources": _aggregated_resources(group),
                        "freshness": "Current",
                    }
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }


def wants_aggregated(accept: str) -> bool:
    """True if the Accept header asks for aggregated discovery v2."""
    return any(
        "as=APIGroupDiscoveryList" in part and "v=v2" in part and "v=v2beta1" not in part
        for part in accept.split(",")
    )
