"""Netstrings (``<length>:<payload>,``), the framing of Kamailio's evapi socket.

:func:`encode` frames one payload; :class:`NetstringReader` cuts a byte
stream into payloads, keeping an incomplete tail until the rest arrives.
Both are O(length of the data).
"""

from __future__ import annotations

__all__ = ["NetstringError", "NetstringReader", "encode"]

_MAX_DIGITS = 10


class NetstringError(ValueError):
    """The stream is not netstrings (a bad length, a missing comma, or a
    payload longer than the reader's limit). The connection cannot be
    resynchronised after one: close it."""


def encode(payload: bytes) -> bytes:
    """``payload`` as one netstring."""
    return b"%d:%s," % (len(payload), payload)


class NetstringReader:
    """Cuts a byte stream into netstring payloads.

    ``feed(data)`` returns the payloads completed by ``data``, in order;
    a partial one is kept for the next call. ``max_length`` bounds a payload
    (and so the memory held), so a broken peer cannot make it grow without
    end.
    """

    def __init__(self, max_length: int = 1 << 20) -> None:
        self.max_length = max_length
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data``; return every payload now complete.

        Raises :class:`NetstringError` on malformed input."""
        buf = self._buf
        buf += data
        out: list[bytes] = []
        start = 0
        while True:
            colon = buf.find(b":", start, start + _MAX_DIGITS + 1)
            if colon < 0:
                if len(buf) - start > _MAX_DIGITS:
                    raise NetstringError(f"no length prefix in {bytes(buf[start : start + 16])!r}")
                break
            digits = bytes(buf[start:colon])
            if not digits.isdigit() or (len(digits) > 1 and digits[0:1] == b"0"):
                raise NetstringError(f"bad netstring length {digits!r}")
            length = int(digits)
            if length > self.max_length:
                raise NetstringError(f"netstring of {length} bytes exceeds {self.max_length}")
            end = colon + 1 + length
            if len(buf) < end + 1:
                break
            if buf[end] != ord(","):
                raise NetstringError(f"netstring of {length} bytes is not followed by a comma")
            out.append(bytes(buf[colon + 1 : end]))
            start = end + 1
        del buf[:start]
        return out
