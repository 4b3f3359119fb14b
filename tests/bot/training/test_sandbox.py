"""The sandbox's ports: distinct, and free when handed out."""

from __future__ import annotations

import socket

from bot.training.sandbox import free_ports


def test_free_ports_are_distinct_and_can_be_bound():
    ports = free_ports(6)
    assert len(set(ports)) == 6
    for port in ports:
        with socket.socket() as server:
            server.bind(("127.0.0.1", port))
