"""The real-time driver loop shared by the TUN and in-memory drivers.

One thread, the *I/O thread*, owns the stacks: it waits in a ``selectors`` loop for packets,
for the earliest stack deadline, for a held (delayed) packet to be due, or for a wake-up from
another thread; then, holding :attr:`IoDriver.lock`, it feeds arrived packets to the stacks,
runs due timers, collects ``poll_transmit`` output and writes it out. ``now`` is
``time.monotonic_ns() // 1000`` minus the driver's start, so traces begin near ``t = 0``.

Other threads touch a stack only while holding the lock (``with driver.cond:``), and call
:meth:`IoDriver.kick` after a user call so the I/O thread polls the stack's output promptly.
After each round the I/O thread notifies :attr:`IoDriver.cond` (blocking callers re-check
their condition) and runs the registered *wakers* (how asyncio loops learn of progress).
:meth:`IoDriver.call_soon` and :meth:`IoDriver.call` schedule arbitrary work onto the I/O
thread itself.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any, TypeVar

from synfin.drivers.faults import NO_FAULTS, FaultInjector, FaultSpec
from synfin.stack import Stack

T = TypeVar("T")

#: Packets read from one source before the loop runs timers and output again.
READ_BATCH = 256
#: Rounds of in-memory delivery between stacks in one pass (guards against ping-pong loops).
MAX_PASSES = 64


class DriverStopped(RuntimeError):
    """The driver's I/O thread is not running (stopped, or failed: see ``__cause__``)."""


class IoDriver:
    """Runs stacks in one I/O thread against the real clock. Subclasses add the wire."""

    def __init__(self, *, seed: int | None = None, faults_in: FaultSpec = NO_FAULTS,
                 faults_out: FaultSpec = NO_FAULTS) -> None:
        self.lock = threading.Lock()
        #: Condition on :attr:`lock`, notified after every round of the I/O thread.
        self.cond = threading.Condition(self.lock)
        self.seed = seed
        self.faults_in = FaultInjector(faults_in, seed, "in")
        self.faults_out = FaultInjector(faults_out, seed, "out")
        #: Packets ignored or lost by the driver, by reason (``not-ipv4``, ``fault-lost-in``...).
        self.counters: dict[str, int] = {}
        #: Why the I/O thread died, if it did.
        self.error: BaseException | None = None
        self._epoch_ns = time.monotonic_ns()
        self._selector = selectors.DefaultSelector()
        self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._selector.register(self._wake_fd, selectors.EVENT_READ, None)
        self._wake_pending = False
        self._calls: deque[Callable[[], None]] = deque()
        self._wakers: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._timeout: float | None = 0.0

    # -- what subclasses provide ----------------------------------------------------------

    @property
    def stacks(self) -> Iterable[Stack]:
        """The stacks this driver runs."""
        raise NotImplementedError

    def _readable(self, data: Any, now: int) -> None:
        """A registered source (``data`` as given to the selector) is readable."""
        raise NotImplementedError

    def _deliver(self, packet: bytes, now: int) -> None:
        """An inbound packet passed the inbound faults: hand it to its stack."""
        raise NotImplementedError

    def _write(self, packet: bytes, now: int) -> None:
        """An outbound packet passed the outbound faults: put it on the wire."""
        raise NotImplementedError

    def _close_io(self) -> None:
        """Release the wire (called once, after the I/O thread has stopped)."""

    # -- clock and counters ----------------------------------------------------------------

    def now(self) -> int:
        """The driver's clock in integer microseconds (monotonic, from the driver's start)."""
        return (time.monotonic_ns() - self._epoch_ns) // 1000

    def count(self, reason: str, n: int = 1) -> None:
        """Add to a named counter."""
        self.counters[reason] = self.counters.get(reason, 0) + n

    # -- thread-safe entry points -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stopping

    def in_io_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def check(self) -> None:
        """Raise :class:`DriverStopped` if the I/O thread is not running."""
        if not self.running:
            raise DriverStopped("the driver is not running") from self.error

    def kick(self) -> None:
        """Ask the I/O thread to run a round soon (after a user call queued work)."""
        if self._wake_pending or self.in_io_thread():
            return
        self._wake_pending = True
        with contextlib.suppress(OSError):  # closed: the driver is stopping
            os.eventfd_write(self._wake_fd, 1)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` on the I/O thread, holding the lock, at the start of the next round."""
        self._calls.append(fn)
        self.kick()

    def call(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        """Run ``fn()`` on the I/O thread (holding the lock) and return its result."""
        if self.in_io_thread():
            return fn()
        self.check()
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self.call_soon(run)
        return future.result(timeout)

    def add_waker(self, waker: Callable[[], None]) -> None:
        """Call ``waker()`` on the I/O thread after every round (without the lock held)."""
        with self.lock:
            self._wakers = [*self._wakers, waker]

    def remove_waker(self, waker: Callable[[], None]) -> None:
        with self.lock:
            self._wakers = [w for w in self._wakers if w is not waker]

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the I/O thread."""
        if self._thread is not None:
            raise RuntimeError("driver already started")
        self._thread = threading.Thread(target=self._run, name=f"synfin-{type(self).__name__}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the I/O thread and release the wire. Safe to call more than once."""
        self._stopping = True
        thread = self._thread
        if thread is not None and thread.is_alive() and not self.in_io_thread():
            self._wake_pending = False
            self.kick()
            thread.join(timeout)
        with self.cond:
            self.cond.notify_all()
        if thread is None or not thread.is_alive():
            self._release_fds()

    def _release_fds(self) -> None:
        if self._wake_fd < 0:
            return
        self._selector.close()
        os.close(self._wake_fd)
        self._wake_fd = -1
        self._close_io()

    def __enter__(self) -> IoDriver:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_until(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Wait (holding the lock between checks) until ``predicate()`` is true; ``False`` on
        timeout. For tests and simple scripts."""
        with self.cond:
            return self.cond.wait_for(lambda: predicate() or not self.running, timeout) \
                and predicate()

    # -- the I/O thread ------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with self.cond:
                self._round(self.now())
            while not self._stopping:
                events = self._selector.select(self._timeout)
                with self.cond:
                    if self._stopping:
                        self._round(self.now())  # what the last user calls queued goes out
                        break
                    now = self.now()
                    for key, _ in events:
                        if key.data is None:
                            self._drain_wake()
                        else:
                            self._readable(key.data, now)
                    self._round(now)
                    self.cond.notify_all()
                for waker in self._wakers:
                    waker()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self._stopping = True
            with self.cond:
                self.cond.notify_all()
            for waker in self._wakers:
                waker()
            self._release_fds()

    def _drain_wake(self) -> None:
        self._wake_pending = False
        with contextlib.suppress(BlockingIOError):
            os.eventfd_read(self._wake_fd)

    def _round(self, now: int) -> None:
        """Scheduled calls, due held packets, due timers, then every stack's output."""
        calls = self._calls
        while calls:
            calls.popleft()()
        for _ in range(MAX_PASSES):
            for packet in self.faults_in.due(now):
                self._deliver(packet, now)
            for stack in self.stacks:
                deadline = stack.next_deadline()
                if deadline is not None and deadline <= now:
                    stack.on_timer(now)
            sent = 0
            for stack in self.stacks:
                for packet in stack.poll_transmit(now):
                    self.faults_out.submit(packet, now)
                    sent += 1
            for packet in self.faults_out.due(now):
                self._write(packet, now)
            if not sent and not self._more_work(now):
                break
        self._timeout = self._compute_timeout(now)

    def _more_work(self, now: int) -> bool:
        """Is there something for another pass right now (in-memory deliveries)?"""
        release = self.faults_in.next_release()
        return release is not None and release <= now

    def _compute_timeout(self, now: int) -> float | None:
        if self._calls:
            return 0.0
        soonest: int | None = None
        for stack in self.stacks:
            deadline = stack.next_deadline()
            if deadline is not None and (soonest is None or deadline < soonest):
                soonest = deadline
        for injector in (self.faults_in, self.faults_out):
            release = injector.next_release()
            if release is not None and (soonest is None or release < soonest):
                soonest = release
        if soonest is None:
            return None
        return max(0, soonest - now) / 1_000_000

    def _inbound(self, packet: bytes, now: int) -> None:
        """A packet came off the wire: through the inbound faults, then to its stack."""
        injector = self.faults_in
        if not injector.spec.active:
            self._deliver(packet, now)
            return
        injector.submit(packet, now)
        for due in injector.due(now):
            self._deliver(due, now)

    def fault_counts(self) -> dict[str, dict[str, int]]:
        """What the fault injectors did, per direction."""
        return {"in": dict(self.faults_in.counts), "out": dict(self.faults_out.counts)}
