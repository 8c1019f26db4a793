"""The kubeconfig files: read, shape-checked, merged as kubectl merges them, then loaded.

Every file is checked first, and each problem becomes one ConfigError sentence naming the
file and the place in it (an empty file, a list, a context that is a string, a context
naming a cluster that is not there); only then is the context loaded: the server, its
TLS settings with paths relative to the file that named them, and the user's
credentials (`retina_tui.kube.auth`).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retina_tui.errors import ConfigError
from retina_tui.kube.auth import (
    Credentials,
    ExecCredentials,
    LibraryCredentials,
    StaticCredentials,
    TokenFileCredentials,
    basic_authorization,
    exec_problem,
    pem_files,
)
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
    origins: dict[tuple[str, str], Path] = field(default_factory=dict)
    """The file each (section, name) entry came from, for its relative paths."""

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
                if entry["name"] not in merged.entries[section]:
                    merged.entries[section][entry["name"]] = entry
                    merged.origins[(section, entry["name"])] = path
        if merged.current is None and data.get("current-context"):
            merged.current = str(data["current-context"])
    return merged


@dataclass(frozen=True, slots=True)
class Connection:
    """Where a context's requests go and as whom."""

    server: str
    context: str
    namespace: str | None
    ssl: ssl.SSLContext | bool
    server_hostname: str | None
    proxy: str | None
    credentials: Credentials


def _data(value: object, what: str, where: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(
            f"The {what} of {where} is not base64 ({exc}); fix it in the kubeconfig."
        ) from exc


def _path(value: object, origin: Path | None) -> str:
    path = Path(str(value)).expanduser()
    if not path.is_absolute() and origin is not None:
        path = origin.parent / path
    return str(path)


def ssl_context(
    cluster: dict[str, Any],
    user: dict[str, Any],
    *,
    server: str,
    context: str,
    origins: tuple[Path | None, Path | None] = (None, None),
) -> ssl.SSLContext | bool:
    """The TLS context of a cluster and user entry (False for plain HTTP).

    `origins` are the files the cluster and the user came from; relative paths in them
    are relative to those files, as kubectl reads them.
    """
    if not server.startswith("https"):
        return False
    where = f"context {context!r}"
    try:
        if cluster.get("certificate-authority-data"):
            ca = _data(cluster["certificate-authority-data"], "certificate-authority-data", where)
            ctx = ssl.create_default_context(cadata=ca.decode("ascii", errors="replace"))
        elif cluster.get("certificate-authority"):
            cafile = _path(cluster["certificate-authority"], origins[0])
            ctx = ssl.create_default_context(cafile=cafile)
        else:
            ctx = ssl.create_default_context()
        cert_data, key_data = user.get("client-certificate-data"), user.get("client-key-data")
        cert_file, key_file = user.get("client-certificate"), user.get("client-key")
        if cert_data or key_data:
            cert = _data(cert_data or "", "client-certificate-data", where)
            key = _data(key_data, "client-key-data", where) if key_data else b""
            if not key and key_file:
                key = Path(_path(key_file, origins[1])).read_bytes()
            with pem_files(cert, key or cert) as (cert_path, key_path):
                ctx.load_cert_chain(cert_path, key_path)
        elif cert_file:
            ctx.load_cert_chain(
                _path(cert_file, origins[1]), _path(key_file, origins[1]) if key_file else None
            )
    except (OSError, ssl.SSLError, UnicodeError) as exc:
        raise ConfigError(
            f"The TLS files of context {context!r} for {server} could not be loaded: {exc}; "
            "fix the certificate-authority, client-certificate or client-key (in the kubeconfig "
            "or on the command line)."
        ) from exc
    if cluster.get("insecure-skip-tls-verify"):
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _quiet_library_logs() -> None:
    """kubernetes_asyncio logs what it then raises; the error is shown once, by us."""
    library = logging.getLogger("kubernetes_asyncio")
    if not any(isinstance(handler, logging.NullHandler) for handler in library.handlers):
        library.addHandler(logging.NullHandler())
    library.propagate = False


def _credentials(
    checked: Kubeconfig,
    name: str,
    user_name: str | None,
    user: dict[str, Any],
    tls: ssl.SSLContext | bool,
    cluster: dict[str, Any],
) -> Credentials:
    where = f"user {user_name!r} in the kubeconfig {checked.shown}"
    if user.get("token"):
        return StaticCredentials(f"Bearer {user['token']}")
    if user.get("tokenFile"):
        origin = checked.origins.get(("users", user_name or ""))
        return TokenFileCredentials(Path(_path(user["tokenFile"], origin)))
    if user.get("exec") is not None:
        problem = exec_problem(user["exec"])
        if problem is not None:
            raise ConfigError(f"The {where} cannot log in: {problem}; fix its exec section.")
        info = {
            "server": cluster.get("server"),
            "tls-server-name": cluster.get("tls-server-name"),
            "insecure-skip-tls-verify": bool(cluster.get("insecure-skip-tls-verify")),
            "certificate-authority-data": cluster.get("certificate-authority-data"),
            "proxy-url": cluster.get("proxy-url"),
        }
        return ExecCredentials(
            user["exec"],
            tls=tls if isinstance(tls, ssl.SSLContext) else None,
            cluster={key: value for key, value in info.items() if value},
        )
    if user.get("username"):
        return StaticCredentials(basic_authorization(user["username"], user.get("password", "")))
    return StaticCredentials(None)


async def _library_credentials(checked: Kubeconfig, name: str) -> Credentials:
    """An auth-provider user, through kubernetes_asyncio (imported only for these)."""
    from kubernetes_asyncio.client.configuration import Configuration
    from kubernetes_asyncio.config.kube_config import KubeConfigLoader

    _quiet_library_logs()
    config = {section: list(checked.entries[section].values()) for section in ("clusters", "users")}
    config["contexts"] = list(checked.entries["contexts"].values())
    try:
        loader = KubeConfigLoader(config_dict=config, config_base_path=None, active_context=name)
        configuration = type.__call__(Configuration)
        await loader.load_and_set(configuration)
    except Exception as exc:
        raise ConfigError(
            f"Could not load context {name!r} from the kubeconfig {checked.shown}: "
            f"{' '.join(str(exc).split())}; fix the context, its cluster and its user."
        ) from exc
    return LibraryCredentials(configuration, loader)


async def load_kubeconfig(
    kubeconfig: str | None, context: str | None, overrides: ConnectionOverrides | None = None
) -> Connection:
    """The connection of a checked kubeconfig's context (the current one by default).

    The command line's `overrides` are applied to the merged files before loading.
    """
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
    if overrides is not None:
        lists = {section: list(checked.entries[section].values()) for section in SECTIONS}
        overrides.apply(lists, name, shown)
        for section, entries in lists.items():
            for entry in entries:
                checked.entries[section].setdefault(entry["name"], entry)
        checked.check_context(name)
    body = checked.entries["contexts"][name].get("context") or {}
    cluster_name, user_name = body["cluster"], body.get("user")
    cluster = checked.entries["clusters"][cluster_name].get("cluster") or {}
    user = (checked.entries["users"].get(user_name or "") or {}).get("user") or {}
    server = str(cluster["server"]).strip().rstrip("/")
    tls = ssl_context(
        cluster,
        user,
        server=server,
        context=name,
        origins=(
            checked.origins.get(("clusters", cluster_name)),
            checked.origins.get(("users", user_name or "")),
        ),
    )
    if user.get("auth-provider") and not user.get("token"):
        credentials = await _library_credentials(checked, name)
    else:
        credentials = _credentials(checked, name, user_name, user, tls, cluster)
    namespace = body.get("namespace")
    return Connection(
        server=server,
        context=name,
        namespace=namespace if isinstance(namespace, str) else None,
        ssl=tls,
        server_hostname=cluster.get("tls-server-name") or None,
        proxy=cluster.get("proxy-url") or None,
        credentials=credentials,
    )


def in_cluster_connection(account: Path, host: str, port: str) -> Connection:
    """The connection of a pod's service account (KUBERNETES_SERVICE_HOST and _PORT)."""
    token, ca = account / "token", account / "ca.crt"
    if not token.is_file():
        raise ConfigError(
            f"Running in a pod, but its service account token {token} is missing; "
            "pass --kubeconfig."
        )
    shown_host = f"[{host}]" if ":" in host else host
    server = f"https://{shown_host}:{port}"
    try:
        tls = ssl.create_default_context(cafile=str(ca))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"Running in a pod, but its service account CA {ca} could not be loaded: {exc}; "
            "pass --kubeconfig."
        ) from exc
    try:
        namespace: str | None = (account / "namespace").read_text(encoding="utf-8").strip()
    except OSError:
        namespace = None
    return Connection(
        server=server,
        context="in-cluster",
        namespace=namespace,
        ssl=tls,
        server_hostname=None,
        proxy=None,
        credentials=TokenFileCredentials(token),
    )
