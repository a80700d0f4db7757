"""Send and receive buffers of a connection (RFC 9293 sections 3.8.6 and 3.10.7.4).

:class:`SendBuffer` holds the bytes from SND.UNA onward: sent-but-unacknowledged bytes followed
by bytes not yet sent.  The connection reads them with :meth:`SendBuffer.peek` (offset 0 is
SND.UNA) and drops them with :meth:`SendBuffer.discard` when acknowledged.

:class:`ReceiveBuffer` holds in-order bytes the user has not read yet, plus out-of-order pieces
waiting for a hole to fill (RFC 9293 3.10.7.4: segments inside the window but beyond RCV.NXT
"may be held for later processing").  Its offsets are relative to RCV.NXT.

Both are built on a bytearray with a moving start index, compacted only once the dead prefix is
at least half the array, so every operation is amortised O(bytes touched).
"""

from __future__ import annotations

from bisect import bisect_right

#: Do not bother compacting dead prefixes smaller than this.
_COMPACT_MIN = 64 * 1024


class _ByteQueue:
    """A FIFO of bytes: append at the back, look at or drop from the front."""

    __slots__ = ("_buf", "_start")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._start = 0

    def __len__(self) -> int:
        return len(self._buf) - self._start

    def append(self, data: bytes | bytearray | memoryview) -> None:
        """Add ``data`` at the back."""
        self._buf += data

    def peek(self, offset: int, size: int) -> bytes:
        """Copy up to ``size`` bytes starting ``offset`` bytes after the front."""
        begin = self._start + offset
        end = min(begin + size, len(self._buf))
        if begin >= end:
            return b""
        with memoryview(self._buf) as view:
            return bytes(view[begin:end])

    def discard(self, n: int) -> None:
        """Drop ``n`` bytes from the front (``n`` must not exceed the length)."""
        self._start += n
        if self._start == len(self._buf):
            self._buf.clear()
            self._start = 0
        elif self._start >= _COMPACT_MIN and self._start * 2 >= len(self._buf):
            del self._buf[: self._start]
            self._start = 0


class SendBuffer:
    """Bytes from SND.UNA onward: unacknowledged, then unsent (RFC 9293 section 3.3.1)."""

    __slots__ = ("_queue", "capacity")

    def __init__(self, capacity: int) -> None:
        """Create an empty buffer that holds at most ``capacity`` bytes."""
        if capacity < 0:
            raise ValueError("capacity must be non-negative")
        self.capacity = capacity
        self._queue = _ByteQueue()

    # The lengths below read the queue's fields directly: they run several times per
    # segment, and ``len(queue)`` would add a Python-level call each time.

    def __len__(self) -> int:
        """Bytes held: sent but unacknowledged plus not yet sent."""
        queue = self._queue
        return len(queue._buf) - queue._start

    def free(self) -> int:
        """Room left for :meth:`write`."""
        queue = self._queue
        return max(self.capacity - len(queue._buf) + queue._start, 0)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Queue as much of ``data`` as fits (RFC 9293 3.10.2 SEND); return bytes taken."""
        take = min(len(data), self.free())
        if take:
            with memoryview(data) as view:
                self._queue.append(view[:take])
        return take

    def peek(self, offset: int, size: int) -> bytes:
        """Return up to ``size`` bytes starting ``offset`` bytes after SND.UNA's byte."""
        if offset < 0 or size < 0:
            raise ValueError("offset and size must be non-negative")
        return self._queue.peek(offset, size)

    def discard(self, n: int) -> None:
        """Drop ``n`` acknowledged bytes from the front (RFC 9293 3.10.7.4, SND.UNA advances)."""
        if not 0 <= n <= len(self._queue):
            raise ValueError(f"cannot discard {n} of {len(self._queue)} bytes")
        if n:
            self._queue.discard(n)


class ReceiveBuffer:
    """In-order unread bytes plus out-of-order pieces inside the window (RFC 9293 3.10.7.4).

    The advertised window is ``capacity - readable()``: out-of-order bytes sit *inside* the
    window (they occupy part of it but do not shrink it), so the right edge of the window never
    moves left (RFC 9293 section 3.8.6.2.2 asks receivers not to shrink the window).  Because
    out-of-order data is only accepted inside the window, memory stays bounded by ``capacity``.

    Internally positions are absolute stream offsets (``_next`` is RCV.NXT as a count of bytes
    made contiguous so far); the out-of-order pieces are kept sorted, disjoint and non-adjacent.
    """

    __slots__ = ("_next", "_ooo_data", "_ooo_starts", "_readable", "capacity")

    def __init__(self, capacity: int) -> None:
        """Create an empty buffer that holds at most ``capacity`` bytes."""
        if capacity < 0:
            raise ValueError("capacity must be non-negative")
        self.capacity = capacity
        self._readable = _ByteQueue()
        self._next = 0
        self._ooo_starts: list[int] = []
        self._ooo_data: list[bytearray] = []

    def readable(self) -> int:
        """Bytes the user can read now."""
        queue = self._readable
        return len(queue._buf) - queue._start

    def window(self) -> int:
        """Free space to advertise as RCV.WND: ``capacity - readable()``."""
        queue = self._readable
        return max(self.capacity - len(queue._buf) + queue._start, 0)

    def has_out_of_order(self) -> bool:
        """True when pieces beyond a hole are held."""
        return bool(self._ooo_starts)

    def out_of_order_ranges(self) -> list[tuple[int, int]]:
        """Held pieces as (start, end) offsets from RCV.NXT, in order (for SACK, RFC 2018)."""
        base = self._next
        return [
            (start - base, start - base + len(data))
            for start, data in zip(self._ooo_starts, self._ooo_data, strict=True)
        ]

    def read(self, max_bytes: int = -1) -> bytes:
        """Remove and return up to ``max_bytes`` readable bytes (all when -1), RFC 9293 3.10.3."""
        size = len(self._readable) if max_bytes < 0 else min(max_bytes, len(self._readable))
        data = self._readable.peek(0, size)
        self._readable.discard(size)
        return data

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> int:
        """Accept segment text starting ``offset`` bytes after RCV.NXT (RFC 9293 3.10.7.4).

        Text beyond the window is trimmed; bytes already held are kept and the duplicates in
        ``data`` ignored.  Returns how far RCV.NXT advances: the in-order bytes of ``data`` plus
        any held out-of-order pieces that now join them.  The caller trims text before RCV.NXT.
        """
        if offset < 0:
            raise ValueError("offset before RCV.NXT: the caller must trim old data")
        room = self.window() - offset
        if room <= 0 or not data:
            return 0
        with memoryview(data) as view:
            piece = view[:room]
            if offset == 0 and not self._ooo_starts:
                self._readable.append(piece)
                self._next += len(piece)
                return len(piece)
            self._hold(self._next + offset, piece)
        return self._advance()

    def _hold(self, start: int, piece: memoryview) -> None:
        """Merge ``piece`` at absolute ``start`` into the out-of-order list, old bytes winning."""
        end = start + len(piece)
        starts, datas = self._ooo_starts, self._ooo_data
        first = bisect_right(starts, start) - 1
        if first < 0 or starts[first] + len(datas[first]) < start:
            first += 1
        last = first
        while last < len(starts) and starts[last] <= end:
            last += 1
        if first == last:
            starts.insert(first, start)
            datas.insert(first, bytearray(piece))
            return
        merged_start = min(start, starts[first])
        merged = self._merge(merged_start, start, piece, first, last)
        starts[first:last] = [merged_start]
        datas[first:last] = [merged]

    def _merge(
        self, merged_start: int, start: int, piece: memoryview, first: int, last: int
    ) -> bytearray:
        """Join held pieces ``first..last-1`` with ``piece``, filling only the gaps from it."""
        starts, datas = self._ooo_starts, self._ooo_data
        if start < starts[first]:
            merged = bytearray(piece[: starts[first] - start])
            merged += datas[first]
        else:
            merged = datas[first]
        for i in range(first + 1, last):
            gap_from = merged_start + len(merged) - start
            merged += piece[gap_from : starts[i] - start]
            merged += datas[i]
        tail_from = merged_start + len(merged) - start
        if tail_from < len(piece):
            merged += piece[tail_from:]
        return merged

    def _advance(self) -> int:
        """Move the first held piece to the readable bytes if it starts at RCV.NXT."""
        if not self._ooo_starts or self._ooo_starts[0] != self._next:
            return 0
        data = self._ooo_data.pop(0)
        self._ooo_starts.pop(0)
        self._readable.append(data)
        self._next += len(data)
        return len(data)
