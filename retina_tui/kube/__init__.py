"""Kubernetes access: client construction, error mapping, list-then-watch."""
