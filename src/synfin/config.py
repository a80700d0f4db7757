"""All settings of a synfin stack, in one frozen value passed in (house rule 6).

Defaults follow Linux where Linux and the RFCs differ and the difference is visible to users;
each such case is named here and listed in ``docs/deviations.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

#: Linux TCP_TIMEWAIT_LEN is 60 s; RFC 9293 says 2*MSL with MSL = 2 minutes (RFC 1122).
LINUX_MSL_US = 30_000_000
RFC_MSL_US = 120_000_000
#: RFC 6298 2.4 says RTO min 1 s; Linux uses TCP_RTO_MIN = 200 ms.
LINUX_RTO_MIN_US = 200_000
RFC6298_RTO_MIN_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Config:
    """Settings for a stack and the connections it creates. Times in microseconds."""

    #: MSS we advertise (RFC 9293 3.7.1): 1500-byte MTU minus 40 bytes of headers.
    mss: int = 1460
    #: Peer MSS assumed when its SYN carries no MSS option (RFC 9293 3.7.1: 536).
    default_peer_mss: int = 536
    send_buffer: int = 256 * 1024
    recv_buffer: int = 256 * 1024
    #: RFC 7323 window scaling and timestamps; RFC 2018 SACK (we generate blocks as receiver).
    window_scaling: bool = True
    timestamps: bool = True
    sack: bool = True
    #: Maximum Segment Lifetime. TIME-WAIT lasts 2*MSL: 60 s by default, as Linux.
    msl_us: int = LINUX_MSL_US
    #: RFC 6298 retransmission timeout bounds.
    rto_initial_us: int = 1_000_000
    rto_min_us: int = LINUX_RTO_MIN_US
    rto_max_us: int = 120_000_000
    #: Retransmissions before giving up ("connection timed out"): Linux tcp_syn_retries,
    #: tcp_synack_retries and tcp_retries2.
    syn_retries: int = 6
    synack_retries: int = 5
    data_retries: int = 15
    #: RFC 9293 3.8.4 USER TIMEOUT: abort when data stays unacknowledged this long (None: off).
    user_timeout_us: int | None = None
    #: Linux tcp_fin_timeout: how long an orphaned connection may sit in FIN-WAIT-2.
    fin_timeout_us: int | None = 60_000_000
    #: Delayed ACK (RFC 9293 3.8.6.3): None acknowledges every segment at once.
    delayed_ack_us: int | None = None
    #: RFC 5961 section 7: challenge ACKs allowed per second per connection.
    challenge_ack_limit: int = 1000
    #: Congestion control algorithm, by name (see ``synfin.congestion.ALGORITHMS``).
    congestion_control: str = "newreno"
    #: RFC 1122 4.2.3.4 Nagle algorithm (TCP_NODELAY turns it off). Full segments never wait.
    nagle: bool = True
    #: Zero-window probe interval bounds (RFC 9293 3.8.6.1 persist timer).
    persist_min_us: int = 200_000
    persist_max_us: int = 60_000_000
    ttl: int = 64
    #: Half-open connections a listener holds (Linux tcp_max_syn_backlog).
    syn_backlog: int = 256
    #: Default listen backlog (accept queue bound), as Linux SOMAXCONN.
    listen_backlog: int = 4096
    #: SYN cookies (RFC 4987), as Linux tcp_syncookies: "off" (0), "on-overflow" (1, when the
    #: SYN queue is full), "always" (2).
    syn_cookies: str = "on-overflow"
    #: Optional per-source SYN rate limit (SYNs a second from one address); None: off.
    syn_rate_per_source: int | None = None
    #: TIME-WAIT records a stack keeps at most, as Linux tcp_max_tw_buckets.
    max_tw_buckets: int = 262_144
    #: Reuse a TIME-WAIT 4-tuple for a new outgoing connection when timestamps prove the
    #: new one newer (Linux tcp_tw_reuse = 1; RFC 6191).
    tw_reuse: bool = False
    #: Ephemeral port range, as Linux net.ipv4.ip_local_port_range.
    ephemeral_ports: tuple[int, int] = (32768, 60999)
    #: RFC 6528: the ISN clock ticks every 4 microseconds.
    isn_tick_us: int = 4
    #: Counterfactual variants used by teaching scenarios; all off is real TCP.
    variants: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.syn_cookies not in ("off", "on-overflow", "always"):
            raise ValueError(f"syn_cookies must be off, on-overflow or always, "
                             f"not {self.syn_cookies!r}")

    def with_(self, **changes: object) -> Config:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def time_wait_us(self) -> int:
        """Length of TIME-WAIT: 2*MSL (RFC 9293 3.10.7.4, eighth step)."""
        return 2 * self.msl_us
