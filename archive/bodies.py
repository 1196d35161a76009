"""zstd compression of raw page bodies.

Bodies are stored as independent zstd frames with the content size in the frame header,
so any zstd tool can decompress a single cell and no dictionary has to be kept.
"""

from __future__ import annotations

from typing import NamedTuple

import zstandard

__all__ = ["BodyCodec", "COMPRESSION_LEVEL", "Compressed"]

# Level 6: most of the size gain of the high levels at a cost that is noise next to a
# polite fetch (figures in docs/archive-schema.md, "pages").
COMPRESSION_LEVEL = 6


class Compressed(NamedTuple):
    """A body already compressed by :meth:`BodyCodec.compress` (in another process, say):
    stored as it is."""

    blob: bytes | None
    size: int | None


class BodyCodec:
    """Compress and decompress page bodies; one instance per connection (not thread-safe)."""

    def __init__(self, level: int = COMPRESSION_LEVEL) -> None:
        self._compressor = zstandard.ZstdCompressor(level=level, write_content_size=True)
        self._decompressor = zstandard.ZstdDecompressor()

    def compress(self, body: bytes | bytearray | memoryview | None) -> tuple[bytes | None, int | None]:
        """Return ``(compressed, uncompressed_size)``; ``(None, None)`` for no body.

        An empty body is stored as NULL with size 0, so "fetched, but empty" stays
        distinguishable from "no body at all".
        """
        if body is None:
            return None, None
        if isinstance(body, Compressed):
            return body.blob, body.size
        if isinstance(body, str):
            raise TypeError("page body must be bytes (the raw response), not str")
        raw = bytes(body)
        if not raw:
            return None, 0
        return self._compressor.compress(raw), len(raw)

    def decompress(self, blob: bytes | None) -> bytes | None:
        """Return the original bytes of a stored body, or None."""
        if blob is None:
            return None
        return self._decompressor.decompress(blob)
