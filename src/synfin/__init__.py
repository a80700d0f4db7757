"""synfin: a pure-Python, sans-IO TCP implementation built around the connection lifecycle.

The core (wire codec, sequence arithmetic, Connection, Stack, trace records) never reads a clock,
touches a socket or uses module-level randomness: time and randomness are passed in. Drivers
(the deterministic simulator, the Linux TUN driver) do the I/O.
"""

__version__ = "0.1.0"
