"""OneDrive's QuickXorHash, computed in our own read pass (no second read of the source).

Thread contract: one :class:`QuickXorHash` per file and per thread.

The algorithm (Microsoft's published reference, also rclone's ``quickxorhash``): every
input byte ``i`` is XORed into a 160-bit value at bit ``(11 * i) mod 160``; the file's
length, as a 64-bit little-endian number, is XORed into the last 8 of the 20 bytes.
Bytes ``i`` and ``i + 1760`` land on the same bits, so we XOR the input into a
1760-byte accumulator (as 220 64-bit words, with numpy: memory speed) and spread it over
the 160 bits once, at the end. Tested against ``rclone hashsum quickxor``.
"""

from __future__ import annotations

import base64

import numpy as np

SIZE = 20  # bytes in the digest
_SHIFT = 11
_WIDTH = 8 * SIZE  # 160 bits
_BLOCK = _SHIFT * _WIDTH  # 1760 bytes: the period of the bit positions


class QuickXorHash:
    def __init__(self) -> None:
        self._acc = np.zeros(_BLOCK, dtype=np.uint8)
        self._size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        buf = np.frombuffer(data, dtype=np.uint8)
        n = buf.size
        pos = self._size % _BLOCK
        i = 0
        if pos:  # finish the block we were in
            take = min(_BLOCK - pos, n)
            self._acc[pos : pos + take] ^= buf[:take]
            i = take
        whole = (n - i) // _BLOCK * _BLOCK
        if whole:
            blocks = buf[i : i + whole].view(np.uint64).reshape(-1, _BLOCK // 8)
            folded = np.bitwise_xor.reduce(blocks, axis=0)
            self._acc ^= folded.view(np.uint8)
            i += whole
        if i < n:
            self._acc[: n - i] ^= buf[i:]
        self._size += n

    def digest(self) -> bytes:
        h = [0] * (SIZE + 1)
        for i, byte in enumerate(self._acc.tolist()):
            if not byte:
                continue
            shift = (i * _SHIFT) % _WIDTH
            shifted = byte << (shift % 8)
            h[shift // 8] ^= shifted & 0xFF
            h[shift // 8 + 1] ^= shifted >> 8
        h[0] ^= h[SIZE]
        out = bytearray(h[:SIZE])
        for k, b in enumerate(self._size.to_bytes(8, "little")):
            out[SIZE - 8 + k] ^= b
        return bytes(out)

    def hexdigest(self) -> str:
        """What ``rclone hashsum quickxor`` prints."""
        return self.digest().hex()

    def b64digest(self) -> str:
        """What OneDrive's API returns."""
        return base64.b64encode(self.digest()).decode("ascii")
