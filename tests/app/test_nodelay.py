"""The app server's connections send small writes at once (app/nodelay.py)."""

from __future__ import annotations

import asyncio
import asyncio.base_events
import socket

from app import nodelay


def _accepted_nodelay() -> int:
    """TCP_NODELAY of a connection accepted by asyncio on a socket bound the way Streamlit binds its own."""
    listener = socket.socket(family=socket.AF_INET)  # protocol number 0, as in Streamlit's _bind_socket
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    seen: list[int] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            seen.append(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection(*listener.getsockname())
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    return seen[0]


def test_asyncio_leaves_nagle_on_for_a_socket_bound_without_its_protocol(monkeypatch):
    # the cause, so this test notices when Python or Streamlit stop needing the fix
    monkeypatch.setattr(asyncio.base_events, "_set_nodelay", asyncio.base_events._set_nodelay)
    assert _accepted_nodelay() == 0


def test_install_turns_nagle_off_for_every_accepted_connection(monkeypatch):
    monkeypatch.setattr(asyncio.base_events, "_set_nodelay", asyncio.base_events._set_nodelay)
    nodelay.install()
    assert _accepted_nodelay() == 1


def test_set_nodelay_leaves_other_sockets_alone():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        nodelay.set_nodelay(udp)  # no TCP option on a datagram socket, and no error
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        nodelay.set_nodelay(tcp)
        assert tcp.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
