"""retina-tui: a keyboard-driven terminal UI for Kubernetes network debugging."""

__version__ = "0.1.0"
