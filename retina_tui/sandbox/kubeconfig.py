"""The kubeconfig of a running sandbox: one cluster, contexts `admin` and `restricted`.

Written atomically (temporary file then rename) and only once the server is serving,
so anything waiting for the file can use it at once. JSON is valid YAML, so no YAML
library is needed.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CLUSTER = "retina-tui-sandbox"


def build(
    url: str,
    *,
    admin_token: str,
    restricted_token: str,
    ca_pem: bytes | None,
    namespace: str = "default",
) -> dict[str, Any]:
    """The kubeconfig document."""
    cluster: dict[str, Any] = {"server": url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CLUSTER, "cluster": cluster}],
        "users": [
            {"name": "admin", "user": {"token": admin_token}},
            {"name": "restricted", "user": {"token": restricted_token}},
        ],
        "contexts": [
            {
                "name": "admin",
                "context": {"cluster": CLUSTER, "user": "admin", "namespace": namespace},
            },
            {
                "name": "restricted",
                "context": {"cluster": CLUSTER, "user": "restricted", "namespace": namespace},
            },
        ],
        "current-context": "admin",
    }


def write_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write the kubeconfig (mode 0600) so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kubeconfig-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
