"""Probes from inside pods and nodes, and the check matrix that sets them beside predictions.

Probes (ping, TCP connect, HTTP GET, DNS through the search path, path MTU) are commands
run in one command-mode debug container per source; `plan` predicts each cell from the API
objects with `netmodel`, `matrix` runs the probes, `report` gives the stable JSON form.
"""
