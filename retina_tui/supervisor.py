"""Cleanup supervisor: Lease heartbeat and reaper of labelled debug pods."""
