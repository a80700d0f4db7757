"""The single error the wire codec raises."""


class MalformedSegment(ValueError):
    """Bytes that are not a well-formed IPv4 packet or TCP segment.

    ``reason`` is a short, stable, machine-readable name (``"truncated-header"``,
    ``"bad-checksum"``, ...); the message adds the detail.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}" if detail else reason)
