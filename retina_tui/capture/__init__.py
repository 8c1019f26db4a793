"""Packet capture: pcap streams from debug containers merged into one pcapng file."""
