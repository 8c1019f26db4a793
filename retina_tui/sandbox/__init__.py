"""An embedded Kubernetes API server and kubelet simulation for `demo` and the tests."""
