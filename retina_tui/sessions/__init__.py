"""Debug sessions: specs, the exec/attach channel protocol, pod and node sessions."""
