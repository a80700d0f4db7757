"""asyncio streams over synfin: asyncio's own StreamReader/StreamWriter on a synfin transport."""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Iterator

import pytest
from apikit import B_IP, Pair, hosts

from synfin.api import SynfinTransport, open_connection, start_server
from synfin.states import State


@pytest.fixture
def pair() -> Iterator[Pair]:
    with hosts() as p:
        yield p


def run(coro: object, timeout: float = 20) -> object:
    return asyncio.run(asyncio.wait_for(coro, timeout))  # type: ignore[arg-type]


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


def test_echo_lines_and_exact_reads(pair: Pair) -> None:
    async def main() -> None:
        server = await start_server(echo, B_IP, 7, via=pair.b)
        reader, writer = await open_connection(B_IP, 7, via=pair.a)
        assert isinstance(writer.transport, SynfinTransport)
        assert writer.get_extra_info("peername") == (B_IP, 7)
        writer.write(b"first line\nsecond")
        assert await reader.readline() == b"first line\n"
        assert await reader.readexactly(6) == b"second"
        writer.write_eof()  # half-close: the echo side sees EOF, closes after its echo
        assert await reader.read() == b""
        assert reader.at_eof()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
    run(main())


def test_large_payload_with_flow_control(pair: Pair) -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB, far beyond the 64 KiB high-water mark

    async def main() -> None:
        async with await start_server(echo, "", 7, via=pair.b):
            reader, writer = await open_connection(B_IP, 7, via=pair.a)

            async def send() -> None:
                writer.write(payload)
                assert writer.transport.get_write_buffer_size() > 64 * 1024
                await writer.drain()  # waits for resume_writing
                writer.write_eof()
            sender = asyncio.create_task(send())
            received = await reader.read(-1)
            await sender
            assert received == payload
            writer.close()
            await writer.wait_closed()
    run(main())


def test_refused_and_reset(pair: Pair) -> None:
    async def abort_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.abort()

    async def main() -> None:
        with pytest.raises(ConnectionRefusedError) as info:
            await open_connection(B_IP, 9, via=pair.a)
        assert info.value.errno == errno.ECONNREFUSED
        server = await start_server(abort_at_once, "", 10, via=pair.b)
        reader, writer = await open_connection(B_IP, 10, via=pair.a)
        with pytest.raises(ConnectionResetError):
            await reader.read(10)
        writer.close()
        server.close()
    run(main())


def test_port_zero_serve_forever_and_close_clients(pair: Pair) -> None:
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client closes

    async def main() -> None:
        server = await start_server(hold, None, 0, via=pair.b)
        port = server.sockets[0].getsockname()[1]
        assert port >= 32768 and server.is_serving()
        forever = asyncio.create_task(server.serve_forever())
        reader, writer = await open_connection(B_IP, port, via=pair.a)
        await asyncio.sleep(0.05)
        server.close_clients()  # FIN to the client
        assert await reader.read() == b""
        forever.cancel()
        with pytest.raises(asyncio.CancelledError):
            await forever
        assert not server.is_serving()
        writer.close()
        await writer.wait_closed()
        conn = writer.get_extra_info("connection")
        assert conn.state in (State.TIME_WAIT, State.LAST_ACK, State.CLOSED)
    run(main())


def test_port_in_use(pair: Pair) -> None:
    async def main() -> None:
        server = await start_server(echo, "", 7, via=pair.b)
        with pytest.raises(OSError) as info:
            await start_server(echo, "", 7, via=pair.b)
        assert info.value.errno == errno.EADDRINUSE
        server.close()
    run(main())
