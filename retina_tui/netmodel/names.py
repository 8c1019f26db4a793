"""Cluster DNS predictions: what a pod's resolver should get for a name, from the API objects.

A ClusterFirst pod's resolv.conf has the search path `NS.svc.DOMAIN svc.DOMAIN DOMAIN` and
`ndots:5`: a name with fewer than five dots is tried with each search domain first, then
as it is. Names under the cluster domain are answered from Services (a ClusterIP, or a
headless Service's ready endpoints) and are NXDOMAIN otherwise; other names go upstream,
which the API objects cannot predict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]
CLUSTER_DOMAIN = "cluster.local"
NDOTS = 5


def search_path(namespace: str, domain: str = CLUSTER_DOMAIN) -> list[str]:
    return [f"{namespace}.svc.{domain}", f"svc.{domain}", domain]


def candidates(name: str, namespace: str, domain: str = CLUSTER_DOMAIN) -> list[str]:
    """The names a ClusterFirst pod's resolver tries for `name`, in order."""
    if name.endswith("."):
        return [name.rstrip(".")]
    searched = [f"{name}.{suffix}" for suffix in search_path(namespace, domain)]
    return [*searched, name] if name.count(".") < NDOTS else [name, *searched]


@dataclass
class NamePrediction:
    name: str
    answer: Literal["resolves", "nxdomain", "unknown"]
    fqdn: str | None = None
    addresses: list[str] = field(default_factory=list)
    service: Obj | None = None
    reason: str = ""


def _service_for(fqdn: str, services: Iterable[Obj], domain: str) -> tuple[bool, Obj | None]:
    """(under the cluster domain, the Service it names if any)."""
    suffix = f".svc.{domain}"
    if not (fqdn == domain or fqdn.endswith(f".{domain}")):
        return False, None
    if not fqdn.endswith(suffix):
        return True, None
    labels = fqdn[: -len(suffix)].split(".")
    if len(labels) != 2:
        return True, None
    name, namespace = labels
    for service in services:
        meta = service.get("metadata") or {}
        if meta.get("name") == name and meta.get("namespace") == namespace:
            return True, service
    return True, None


def predict_name(
    name: str,
    namespace: str,
    services: Iterable[Obj],
    slices: Iterable[Obj],
    domain: str = CLUSTER_DOMAIN,
) -> NamePrediction:
    """What the cluster DNS should answer a pod in `namespace` that looks up `name`."""
    every = list(services)
    steps = candidates(name.lower(), namespace, domain)
    inside = 0
    for fqdn in steps:
        under, service = _service_for(fqdn, every, domain)
        inside += under
        if service is None:
            continue
        spec = service.get("spec") or {}
        cluster_ip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName":
            return NamePrediction(
                name, "unknown", fqdn, [], service,
                f"{fqdn} is a CNAME for {spec.get('externalName')}, answered outside the cluster",
            )  # fmt: skip
        if cluster_ip and cluster_ip != "None":
            return NamePrediction(
                name, "resolves", fqdn, [str(cluster_ip)], service,
                f"{fqdn} is Service {namespace_of(service)}/{service['metadata']['name']}",
            )  # fmt: skip
        addresses = _ready_addresses(service, slices)
        if addresses:
            return NamePrediction(
                name, "resolves", fqdn, addresses, service,
                f"{fqdn} is headless Service {namespace_of(service)}/"
                f"{service['metadata']['name']} with {len(addresses)} ready endpoints",
            )  # fmt: skip
    if inside == len(steps):
        return NamePrediction(
            name, "nxdomain", None, [], None,
            f"no Service answers to {name} from namespace {namespace} "
            f"({len(steps)} names tried under {domain})",
        )  # fmt: skip
    return NamePrediction(
        name, "unknown", None, [], None, f"{name} is not a cluster name; upstream DNS answers it"
    )


def namespace_of(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "default")


def _ready_addresses(service: Obj, slices: Iterable[Obj]) -> list[str]:
    from retina_tui.netmodel.services import slices_of

    found: list[str] = []
    for slice_ in slices_of(service, slices):
        for endpoint in slice_.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is not False:
                found.extend(str(a) for a in endpoint.get("addresses") or [])
    return found
