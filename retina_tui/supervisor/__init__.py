"""Cleanup supervisor: no debug pod outlives the session that made it.

Each retina-tui process holds a Lease per namespace where it creates debug pods and
renews it while it runs; the reaper deletes labelled debug pods whose instance stopped
renewing. See docs/cleanup.md.
"""
