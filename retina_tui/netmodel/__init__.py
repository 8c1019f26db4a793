"""The network model: what the API objects say should happen, without touching the network.

Pure functions over pods, namespaces, Services, EndpointSlices and NetworkPolicies (plain
JSON dicts as the API returns them): NetworkPolicy verdicts with the rules that decide
them, Service-to-endpoint resolution with what is wrong when it is wrong, and cluster DNS
predictions. `probes` compares them with what real probes observe.
"""
