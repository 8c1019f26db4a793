"""An embedded Kubernetes API server and kubelet simulation for `demo` and the tests.

`run_sandbox(SandboxOptions(...))` is an async context manager yielding a running
`Sandbox` (`.kubeconfig_path`, `.url`, `.store`, `.kubelet`, `.network`); its kubeconfig
has the contexts `admin` (current) and `restricted`.
"""

from retina_tui.sandbox.sandbox import Sandbox, SandboxOptions, run_sandbox

__all__ = ["Sandbox", "SandboxOptions", "run_sandbox"]
