"""The sans-IO Connection: one TCB and the RFC 9293 rules that drive it.

The class is assembled from modules along the RFC's own lines: ``core`` (state, timers,
trace), ``output`` (what to send), ``negotiation`` (ISS and SYN options), ``timeouts``,
``arrival`` (SEGMENT ARRIVES) and ``user`` (the user calls).
"""

from __future__ import annotations

from synfin.config import Config
from synfin.connection.core import Outgoing
from synfin.connection.user import ConnectionStatus, UserCalls
from synfin.isn import IsnGenerator
from synfin.trace.records import NULL_SINK, TraceSink

__all__ = ["Connection", "ConnectionStatus", "Outgoing"]


class Connection(UserCalls):
    """A TCP connection endpoint. Feed it segments and time; take segments out.

    >>> conn = Connection(Config(), "10.0.0.1", 40000, isn=IsnGenerator(b"k"))
    >>> conn.open_active("10.0.0.2", 80, now=0)
    >>> [seg.flags.short() for seg in conn.poll_transmit(0)]
    ['SYN']
    """

    def __init__(
        self,
        config: Config,
        local_ip: str,
        local_port: int,
        *,
        isn: IsnGenerator,
        sink: TraceSink = NULL_SINK,
    ) -> None:
        super().__init__(config, local_ip, local_port, isn=isn, sink=sink)

    def __repr__(self) -> str:
        return f"<Connection {self.conn_id} {self.state}>"
