"""Fixtures of the connector tests (helpers in support.py): the network is blocked for every
test of this folder, answers come from fixture files or a loopback server."""

import socket

import pytest
import pytest_socket
import responses

from support import LOOPBACK, Factory, Server


@pytest.fixture(autouse=True)
def network_blocked(monkeypatch):
    """Connections to any host but the loopback (and local Unix sockets, which the book build's
    kernel server uses) are refused by pytest-socket; resolving any other name fails, as offline.
    pytest-socket lifts the restriction after each test."""
    pytest_socket.socket_allow_hosts(LOOPBACK, allow_unix_socket=True)
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host in (None, "localhost", *LOOPBACK):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, f"résolution de {host} interdite pendant les tests")

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def server():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield Server(mock)


@pytest.fixture
def factory():
    return Factory()
