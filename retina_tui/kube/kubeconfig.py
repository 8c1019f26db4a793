"""The kubeconfig files, read and shape-checked before kubernetes_asyncio loads them.

kubernetes_asyncio indexes into whatever YAML it is given, so an empty file, a list, a
context that is a string or a context naming a cluster that is not there ends in a
TypeError or KeyError. Every file is checked here first, and each problem becomes one
ConfigError sentence naming the file and the place in it; only then is the context
loaded (credentials, TLS files) through kubernetes_asyncio.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retina_tui.errors import ConfigError
from retina_tui.kube.errors import credential_plugin_error
from retina_tui.kube.overrides import ConnectionOverrides

DEFAULT_KUBECONFIG = "~/.kube/config"
SECTIONS = {"clusters": "cluster", "contexts": "context", "users": "user"}
_FIX = "fix it or point --kubeconfig at another file"


def kubeconfig_paths(kubeconfig: str | None) -> list[Path]:
    """The kubeconfig files in effect: the flag, else $KUBECONFIG, else ~/.kube/config."""
    raw = kubeconfig or os.environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    return [Path(part).expanduser() for part in raw.split(os.pathsep) if part]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, int | float):
        return "number"
    return "string"


def _load_yaml(path: Path) -> object:
    import yaml  # type: ignore[import-untyped]

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"Could not read the kubeconfig {path}: {reason}; {_FIX}.") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "unreadable YAML"
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"The kubeconfig {path} is not valid YAML ({problem}{where}); {_FIX}."
        ) from exc


def _check_section(path: Path, data: dict[str, Any], section: str) -> None:
    entries = data.get(section)
    if entries is None:
        return
    inner = SECTIONS[section]
    if not isinstance(entries, list):
        raise ConfigError(
            f"The kubeconfig {path} has a {_kind(entries)} at {section} where a list of named "
            f"{section} belongs; {_FIX}."
        )
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise ConfigError(
                f"The kubeconfig {path} has a {_kind(entry)} as entry {number} of {section} "
                f"where a mapping with a name and a {inner} belongs; {_FIX}."
            )
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(
                f"The kubeconfig {path} has an entry {number} of {section} without a name; {_FIX}."
            )
        body = entry.get(inner)
        if body is not None and not isinstance(body, dict):
            raise ConfigError(
                f"The kubeconfig {path} has a {_kind(body)} as the {inner} of {name!r} where "
                f"a mapping belongs; {_FIX}."
            )


def read_kubeconfig(path: Path) -> dict[str, Any]:
    """One file, checked: a mapping whose sections are lists of named mappings ({} if empty)."""
    data = _load_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"The kubeconfig {path} holds a YAML {_kind(data)} where a mapping with clusters, "
            f"contexts and users belongs; {_FIX}."
        )
    for section in SECTIONS:
        _check_section(path, data, section)
    current = data.get("current-context")
    if current is not None and not isinstance(current, str):
        raise ConfigError(
            f"The kubeconfig {path} has a {_kind(current)} as current-context where a "
            f"context name belongs; {_FIX}."
        )
    return data


@dataclass
class Kubeconfig:
    """The merged view of the files, as kubectl merges them: the first definition wins."""

    paths: list[Path]
    entries: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    current: str | None = None
    empty: bool = True

    @property
    def shown(self) -> str:
        return os.pathsep.join(str(path) for path in self.paths)

    @property
    def contexts(self) -> list[str]:
        return list(self.entries["contexts"])

    def check_context(self, name: str) -> None:
        """ConfigError unless context `name` names a cluster (with a server) that exists."""
        context = self.entries["contexts"][name].get("context") or {}
        cluster_name = context.get("cluster")
        if not isinstance(cluster_name, str) or not cluster_name:
            raise ConfigError(
                f"Context {name!r} in the kubeconfig {self.shown} names no cluster; add its "
                "cluster or pick another context with --context."
            )
        cluster = self.entries["clusters"].get(cluster_name)
        if cluster is None:
            raise ConfigError(
                f"Context {name!r} in the kubeconfig {self.shown} names the cluster "
                f"{cluster_name!r}, which is not among its clusters; fix the context or pick "
                "another one with --context."
            )
        server = (cluster.get("cluster") or {}).get("server")
        if not isinstance(server, str) or not server.strip():
            raise ConfigError(
                f"Cluster {cluster_name!r} in the kubeconfig {self.shown} has no server URL; "
                "add its server or pick another context with --context."
            )
        user = context.get("user")
        if user is not None and (not isinstance(user, str) or user not in self.entries["users"]):
            raise ConfigError(
                f"Context {name!r} in the kubeconfig {self.shown} names the user {user!r}, "
                "which is not among its users; fix the context or pick another one with "
                "--context."
            )


def check_kubeconfig(kubeconfig: str | None) -> Kubeconfig:
    """Read and check every existing kubeconfig file in effect, and merge them."""
    merged = Kubeconfig([path for path in kubeconfig_paths(kubeconfig) if path.exists()])
    merged.entries = {section: {} for section in SECTIONS}
    for path in merged.paths:
        data = read_kubeconfig(path)
        if data:
            merged.empty = False
        for section in SECTIONS:
            for entry in data.get(section) or []:
                merged.entries[section].setdefault(entry["name"], entry)
        if merged.current is None and data.get("current-context"):
            merged.current = str(data["current-context"])
    return merged


def ssl_context(configuration: Any, server: str, context: str) -> ssl.SSLContext | bool:
    """The TLS context for the loaded configuration (False for plain HTTP)."""
    if not server.startswith("https"):
        return False
    try:
        ctx = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
        if configuration.cert_file:
            ctx.load_cert_chain(configuration.cert_file, configuration.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"The TLS files of context {context!r} for {server} could not be loaded: {exc}; "
            "fix the certificate-authority, client-certificate or client-key (in the kubeconfig "
            "or on the command line)."
        ) from exc
    if not configuration.verify_ssl:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _quiet_library_logs() -> None:
    """kubernetes_asyncio logs what it then raises; the error is shown once, by us."""
    library = logging.getLogger("kubernetes_asyncio")
    if not any(isinstance(handler, logging.NullHandler) for handler in library.handlers):
        library.addHandler(logging.NullHandler())
    library.propagate = False


async def load_kubeconfig(
    kubeconfig: str | None, context: str | None, overrides: ConnectionOverrides | None = None
) -> tuple[Any, Any, str, str | None]:
    """(configuration, loader, context name, its namespace) of a checked kubeconfig.

    The command line's `overrides` are applied to the merged files before loading.
    """
    from kubernetes_asyncio.client.configuration import Configuration
    from kubernetes_asyncio.config.kube_config import KubeConfigLoader, KubeConfigMerger

    checked = check_kubeconfig(kubeconfig)
    shown = checked.shown
    if checked.empty:
        raise ConfigError(
            f"The kubeconfig {shown} is empty; point --kubeconfig or KUBECONFIG at a "
            "kubeconfig with a context."
        )
    names = checked.contexts
    name = context or checked.current
    if not name or name not in names:
        what = f"has no context {name!r}" if name else "sets no current-context"
        raise ConfigError(
            f"The kubeconfig {shown} {what}; pick one of {', '.join(names) or '(none)'} "
            "with --context."
        )
    checked.check_context(name)
    _quiet_library_logs()
    user = checked.entries["contexts"][name].get("context", {}).get("user")
    if overrides is not None and overrides.user is not None:
        user = overrides.user
    plugin = ((checked.entries["users"].get(user or "") or {}).get("user") or {}).get("exec")
    if overrides is not None and overrides.token is not None:
        plugin = None
    merged = KubeConfigMerger(shown).config
    if overrides is not None and merged is not None:
        overrides.apply(merged.value, name, shown)
    try:
        loader = KubeConfigLoader(config_dict=merged, config_base_path=None, active_context=name)
        configuration = type.__call__(Configuration)
        await loader.load_and_set(configuration)
    except Exception as exc:
        if isinstance(plugin, dict) and "process returned" in str(exc):
            raise credential_plugin_error(exc, str(plugin.get("command") or ""), name) from exc
        raise ConfigError(
            f"Could not load context {name!r} from the kubeconfig {shown}: "
            f"{' '.join(str(exc).split())}; fix the context, its cluster and its user."
        ) from exc
    namespace = checked.entries["contexts"][name].get("context", {}).get("namespace")
    return configuration, loader, name, namespace if isinstance(namespace, str) else None
