"""One direction of a simulated link: propagation delay, bandwidth, and random faults.

A :class:`Link` decides *when* a packet sent at ``now`` reaches the far end and whether the
network loses, duplicates or reorders it. All randomness comes from the network's single seeded
``random.Random``, drawn in a fixed order, so a run is reproducible to the microsecond.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """How one direction of a link behaves. Times in µs, probabilities in [0, 1].

    ``delay_us`` is the one-way propagation delay. With ``bandwidth_bps`` set, each packet also
    takes ``ceil(bits / bandwidth)`` to serialize, and packets queue FIFO behind each other.
    ``loss`` and ``duplicate`` are per-packet probabilities; a duplicate copy arrives right after
    the original. With probability ``reorder`` a packet is held back ``reorder_delay_us`` extra
    so later packets overtake it. ``jitter_us`` adds a uniform random 0..jitter delay per packet
    without reordering (packets stay FIFO, as in a real queue).
    """

    delay_us: int = 10_000
    bandwidth_bps: int | None = None
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay_us: int = 20_000
    jitter_us: int = 0

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"LinkConfig.{name} must be in [0, 1], got {p}")
        for name in ("delay_us", "reorder_delay_us", "jitter_us"):
            if getattr(self, name) < 0:
                raise ValueError(f"LinkConfig.{name} must be >= 0")
        if self.bandwidth_bps is not None and self.bandwidth_bps <= 0:
            raise ValueError("LinkConfig.bandwidth_bps must be positive or None")


@dataclass(frozen=True, slots=True)
class Transit:
    """The link's verdict on one packet: arrival time (``None`` if lost) and extra copies."""

    t_arrive: int | None
    fault: str = ""
    copy_arrivals: tuple[int, ...] = ()
    copy_fault: str = ""


class Link:
    """One direction, ``src`` to ``dst`` (host addresses), with its queue state and counters."""

    __slots__ = (
        "_busy_until",
        "_config",
        "_last_arrival",
        "delivered",
        "dst",
        "duplicated",
        "has_random_faults",
        "lost",
        "sent",
        "src",
    )

    def __init__(self, src: str, dst: str, config: LinkConfig) -> None:
        self.src = src
        self.dst = dst
        self._config = config
        self.has_random_faults = _has_random_faults(config)
        self.sent = 0
        self.delivered = 0
        self.lost = 0
        self.duplicated = 0
        self._busy_until = 0
        self._last_arrival = 0

    def __repr__(self) -> str:
        return f"Link({self.src} -> {self.dst}, {self._config})"

    @property
    def config(self) -> LinkConfig:
        """The current behaviour; assign a new :class:`LinkConfig` to change it mid-run."""
        return self._config

    @config.setter
    def config(self, config: LinkConfig) -> None:
        self._config = config
        self.has_random_faults = _has_random_faults(config)

    def serialize(self, size: int, now: int) -> int:
        """Put ``size`` octets on the wire at ``now``; return when the last bit has left.

        Without a bandwidth limit this is ``now``. With one, the packet waits for earlier ones
        (FIFO) and then takes ``ceil(size * 8 / bandwidth)`` seconds.
        """
        bps = self._config.bandwidth_bps
        self.sent += 1
        if bps is None:
            return now
        start = max(now, self._busy_until)
        self._busy_until = start + (size * 8_000_000 + bps - 1) // bps
        return self._busy_until

    def in_order_arrival(self, departed: int, extra_us: int = 0) -> int:
        """Arrival of a packet that stays in FIFO order behind earlier in-order packets."""
        t = max(departed + self._config.delay_us + extra_us, self._last_arrival)
        self._last_arrival = t
        return t

    def out_of_order_arrival(self, departed: int, extra_us: int) -> int:
        """Arrival of a packet pulled out of the queue and held back ``extra_us``."""
        return max(departed + self._config.delay_us, self._last_arrival) + extra_us

    def random_transit(self, departed: int, rng: random.Random) -> Transit:
        """Apply the configured random faults, in the fixed order loss, duplicate, reorder,
        jitter (drawing only for faults whose probability is non-zero)."""
        cfg = self._config
        if cfg.loss and rng.random() < cfg.loss:
            return Transit(None, "random-loss")
        duplicated = bool(cfg.duplicate) and rng.random() < cfg.duplicate
        if cfg.reorder and rng.random() < cfg.reorder:
            t, fault = self.out_of_order_arrival(departed, cfg.reorder_delay_us), "reorder"
        else:
            jitter = rng.randint(0, cfg.jitter_us) if cfg.jitter_us else 0
            t, fault = self.in_order_arrival(departed, jitter), ""
        if duplicated:
            return Transit(t, fault, (t,), "random-duplicate")
        return Transit(t, fault)


def _has_random_faults(config: LinkConfig) -> bool:
    """Whether ``config`` needs any random draws at all."""
    return bool(config.loss or config.duplicate or config.reorder or config.jitter_us)
