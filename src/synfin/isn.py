"""Initial sequence numbers per RFC 6528 section 3: ISN = M + F(localip, localport, remoteip,
remoteport, secretkey), M a clock ticking every 4 microseconds, F a keyed hash.

Both the secret and the time are passed in, so the same secret and times give the same ISNs.
"""

from __future__ import annotations

import hashlib

from synfin.seq import SEQ_MOD


class IsnGenerator:
    """Makes RFC 6528 initial sequence numbers from an injected secret."""

    def __init__(self, secret: bytes, tick_us: int = 4) -> None:
        if not 1 <= len(secret) <= 32:
            raise ValueError("the ISN secret must be 1 to 32 bytes")
        self._secret = secret
        self._tick_us = tick_us

    def offset(self, local_ip: str, local_port: int, remote_ip: str, remote_port: int) -> int:
        """F() of RFC 6528: a keyed hash of the 4-tuple (BLAKE2s keyed with the secret)."""
        tuple_bytes = f"{local_ip}|{local_port}|{remote_ip}|{remote_port}".encode()
        digest = hashlib.blake2s(tuple_bytes, key=self._secret, digest_size=4).digest()
        return int.from_bytes(digest, "big")

    def isn(self, local_ip: str, local_port: int, remote_ip: str, remote_port: int,
            now: int) -> int:
        """ISN for a connection opened at ``now`` (microseconds)."""
        m = now // self._tick_us
        return (m + self.offset(local_ip, local_port, remote_ip, remote_port)) % SEQ_MOD

    def ts_offset(self, local_ip: str, remote_ip: str) -> int:
        """A secret TSval offset per pair of hosts (RFC 7323 5.4): random-looking to others,
        but the same for every connection between the two hosts, so a new incarnation of a
        4-tuple carries newer timestamps than the old one (what RFC 6191 and tw_reuse rely
        on), as Linux does."""
        data = f"ts|{local_ip}|{remote_ip}".encode()
        return int.from_bytes(hashlib.blake2s(data, key=self._secret, digest_size=4).digest(),
                              "big")
