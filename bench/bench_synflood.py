"""SYN flood in virtual time (issue 5): 100,000 spoofed SYNs against a listener while
legitimate clients connect, send a request, read the answer and close. A legitimate exchange
succeeds when the answer arrives within 3 s of connect() (a user would give up later).

Reports the share of legitimate exchanges that completed (goal 100%) and how much memory the
server's stack grew during the flood (goal < 10 MB), measured with tracemalloc around the run.
"""

from __future__ import annotations

import random
import statistics

from bench.common import traced_bytes
from synfin.config import Config
from synfin.scenarios.apps import Acceptor, CloseWhen, Peer, Script
from synfin.sim import LinkConfig, Network
from synfin.stack import Stack
from synfin.wire import Flags, Packet, TcpSegment, emit_packet

SERVER = "10.0.0.2"
CLIENT = "10.0.0.1"
SPOOFED = 100_000
FLOOD_US = 10_000_000  # 10,000 SYN/s for 10 s
LEGIT = 100
#: A legitimate exchange counts as a success when it completes within this time.
PATIENCE_US = 3_000_000
REQUEST = b"GET / HTTP/1.0\r\n\r\n"
RESPONSE = b"HTTP/1.0 200 OK\r\n\r\nhello"


def spoofed_syns(count: int, rng: random.Random, flood_us: int = FLOOD_US
                 ) -> list[tuple[int, str, bytes]]:
    """(time, source, packet) for each spoofed SYN: random sources in 172.16.0.0/12."""
    out = []
    for i in range(count):
        src = f"172.{16 + rng.randrange(16)}.{rng.randrange(256)}.{1 + rng.randrange(254)}"
        seg = TcpSegment(1024 + rng.randrange(60000), 80, rng.randrange(2**32), 0, Flags.SYN,
                         64240)
        out.append((i * flood_us // count, src, emit_packet(Packet(src, SERVER, seg))))
    return out


def flood(config: Config, spoofed: int = SPOOFED, legit: int = LEGIT, seed: int = 7,
          flood_us: int = FLOOD_US) -> dict[str, float]:
    rng = random.Random(seed)
    net = Network(seed=seed)
    server = Stack(SERVER, config, secret=b"flood-server", rng=random.Random(1))
    client = Stack(CLIENT, Config(), secret=b"flood-client", rng=random.Random(2))
    net.connect(net.add_host(client), net.add_host(server), LinkConfig(delay_us=5_000))
    acceptor = Acceptor(server.listen(80), Script(RESPONSE, CloseWhen.ON_EOF,
                                                  send_after_receiving=len(REQUEST)))
    peers: list[Peer] = []
    started: list[int] = []
    finished: dict[int, int] = {}

    def start() -> None:
        conn = client.connect(SERVER, 80, net.now)
        started.append(net.now)
        peers.append(Peer(conn, Script(REQUEST, CloseWhen.AFTER_SEND,
                                       close_after_receiving=len(RESPONSE))))

    def step() -> None:
        acceptor.step(net.now)
        for i, peer in enumerate(peers):
            peer.step(net.now)
            if i not in finished and bytes(peer.received) == RESPONSE:
                finished[i] = net.now

    net.on_step(step)
    for t, src, data in spoofed_syns(spoofed, rng, flood_us):
        net.inject(t, src, data)
    for i in range(legit):
        net.at(50_000 + i * flood_us // legit, start)

    def run() -> None:
        net.run(max_time_us=flood_us + 120_000_000)

    _, grown = traced_bytes(run)
    done = sum(1 for i, t in finished.items() if t - started[i] <= PATIENCE_US)
    return {"legit_success": done / legit, "mem_growth_MB": grown / 1e6,
            "cookies_sent": float(server.counters.get("syn-cookie-sent", 0))}


def run(spoofed: int = SPOOFED, legit: int = LEGIT, seeds: tuple[int, ...] = (7, 8, 9),
        flood_us: int = FLOOD_US) -> dict[str, float]:
    """The median over runs with different seeds (spoofed sources, ISNs, timing)."""
    runs = [flood(Config(), spoofed, legit, seed, flood_us) for seed in seeds]
    return {
        "synflood_legit_success": round(statistics.median(r["legit_success"] for r in runs), 4),
        "synflood_mem_growth_MB": round(statistics.median(r["mem_growth_MB"] for r in runs), 2),
    }


if __name__ == "__main__":
    print(flood(Config(), spoofed=20_000, legit=20))
