"""zstd compression of raw page bodies.

Bodies are stored as independent zstd frames with the content size in the frame header,
so any zstd tool can decompress a single cell and no dictionary has to be kept.
"""

from __future__ import annotations

import zstandard

__all__ = ["BodyCodec", "COMPRESSION_LEVEL"]

# Measured on 381 saved HTML pages, 62.9 MB (docs/archive-schema.md, "pages"): level 6
# stores 5.35x smaller (level 3: 4.95x, 19: 5.75x) at ~2 ms per page, which is noise
# next to a polite fetch; higher levels cost 4-80 ms per page for a few percent.
COMPRESSION_LEVEL = 6


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
