"""The probe parsers on output recorded from the real tools: what each outcome means."""

from __future__ import annotations

from retina_tui.probes.kinds import Probe, argv, dns_steps, parse

PING_OK = """PING 10.244.1.3 (10.244.1.3) 56(84) bytes of data.
64 bytes from 10.244.1.3: icmp_seq=1 ttl=62 time=0.115 ms

--- 10.244.1.3 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 408ms
rtt min/avg/max/mdev = 0.111/0.114/0.116/0.002 ms
"""
PING_UNREACHABLE = """PING 10.99.0.1 (10.99.0.1) 56(84) bytes of data.
From 10.244.2.1 icmp_seq=1 Destination Net Unreachable

--- 10.99.0.1 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
"""
DIG_NX_THEN_OK = """;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NXDOMAIN, id: 5941
;; QUESTION SECTION:
;kubernetes.default.shop.svc.cluster.local. IN A

;; Query time: 4 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)

;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 32604
;; QUESTION SECTION:
;kubernetes.default.svc.cluster.local. IN A

;; ANSWER SECTION:
kubernetes.default.svc.cluster.local. 30 IN A	10.96.0.1

;; Query time: 1 msec
;; SERVER: 10.96.0.10#53(10.96.0.10) (UDP)
"""


def test_ping() -> None:
    probe = Probe("ping", "10.244.1.3")
    seen = parse(probe, PING_OK, "", 0)
    assert seen.outcome == "reached"
    assert seen.figures["loss_percent"] == 0 and seen.figures["rtt_avg_ms"] == 0.114
    lost = parse(Probe("ping", "10.99.0.1"), PING_UNREACHABLE, "", 1)
    assert lost.outcome == "blocked" and "unreachable" in lost.summary


def test_tcp_outcomes() -> None:
    probe = Probe("tcp", "10.244.1.3", 8080, timeout=2)
    ok = parse(probe, "connected 1796298114.001885 1796298114.002283\n", "", 0)
    assert ok.outcome == "reached" and ok.figures["connect_ms"] == 0.398
    refused = parse(probe, "", "tcp: connect: Connection refused\n", 1)
    assert (refused.outcome, refused.figures["errno"]) == ("refused", "ECONNREFUSED")
    timeout = parse(probe, "", "", 124)
    assert timeout.outcome == "blocked" and timeout.summary == "timed out after 2 s"
    no_route = parse(probe, "", "tcp: connect: No route to host\n", 1)
    assert (no_route.outcome, no_route.figures["errno"]) == ("blocked", "EHOSTUNREACH")
    missing = parse(probe, "", "bash: not found", 127)
    assert missing.outcome == "error" and "--image" in missing.summary


def test_http_outcomes() -> None:
    probe = Probe("http", "10.244.1.3", 8080)
    ok = parse(probe, "200 0.000337 0.003037\n", "", 0)
    assert ok.outcome == "reached" and ok.figures["status"] == 200
    assert parse(probe, "503 0.0003 0.003\n", "", 0).outcome == "failed"
    refused = parse(probe, "000 0 0\n", "curl: (7) Failed to connect: Connection refused", 7)
    assert refused.outcome == "refused"
    assert parse(probe, "000 0 0\n", "curl: (28) timed out", 28).outcome == "blocked"


def test_dns_steps_and_answers() -> None:
    steps = dns_steps(DIG_NX_THEN_OK)
    assert [(s.name, s.status) for s in steps] == [
        ("kubernetes.default.shop.svc.cluster.local", "NXDOMAIN"),
        ("kubernetes.default.svc.cluster.local", "NOERROR"),
    ]
    seen = parse(Probe("dns", "kubernetes.default"), DIG_NX_THEN_OK, "", 0)
    assert seen.outcome == "reached" and seen.figures["answers"] == ["10.96.0.1"]
    first_only = ";; Got answer:" + DIG_NX_THEN_OK.split(";; Got answer:")[1]
    nx = parse(Probe("dns", "x"), first_only, "", 0)
    assert nx.outcome == "failed"
    assert nx.summary == (
        "NXDOMAIN for kubernetes.default.shop.svc.cluster.local from 10.96.0.10 after 1 search step"
    )
    silent = parse(
        Probe("dns", "x"), ";; communications error to 10.96.0.10#53: timed out\n", "", 9
    )
    assert silent.outcome == "blocked" and "10.96.0.10" in silent.summary


def test_commands_are_what_a_person_would_type() -> None:
    assert argv(Probe("ping", "10.0.0.1", timeout=2))[:3] == ["ping", "-n", "-c"]
    assert argv(Probe("tcp", "10.0.0.1", 80))[0] == "timeout"
    assert argv(Probe("dns", "web"))[:3] == ["dig", "+search", "+showsearch"]
    assert argv(Probe("http", "fd00::1", 80))[-1] == "http://[fd00::1]:80/"
