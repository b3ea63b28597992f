"""Is a JPEG, JPEG-LS, JPEG 2000 or JPEG XL codestream lossless? Read from its header.

Thread contract: pure functions on bytes; safe from any thread.

Each function returns ``True`` (lossless, proved by the header), ``False`` (lossy, proved)
or ``None`` (the header does not say cheaply). The same parsers serve standalone files and
the first strip or tile of a TIFF page (compression 7, 34712, 33003/33005, 50002, ...).

- JPEG (ITU T.81): the frame marker. SOF3/7/11/15 are the lossless processes (``.ljp``);
  SOF0-2, 5-6, 9-10, 13-14 are DCT, which is lossy.
- JPEG-LS (ITU T.87): SOF55 (``FFF7``); the scan header's NEAR parameter is 0 for
  lossless coding and > 0 for near-lossless (values may differ by up to NEAR).
- JPEG 2000 (ISO 15444-1): COD's transform byte 0 (the irreversible 9/7 wavelet) or a
  QCD with quantisation proves lossy coding. The reversible 5/3 wavelet without
  quantisation is lossless only if the encoder kept every coding pass: a rate limit
  truncates them and leaves the same main header (Pillow's ``test-card-lossy-tiled.jp2``
  has exactly the header of its lossless twin and differs by up to 11 grey levels), so
  that case is "not proved" (``None``).
- JPEG XL (ISO 18181-1): the image metadata's ``xyb_encoded`` bit. XYB is libjxl's lossy
  colour space, so XYB means lossy; without it the image may be lossless (libjxl's
  lossless mode) but lossy modular coding is possible too, so that is not proved. A
  ``jbrd`` box means a JPEG was recompressed: the bytes of a (lossy) JPEG are kept.
"""

from __future__ import annotations

_LOSSLESS_SOF = frozenset({0xC3, 0xC7, 0xCB, 0xCF})
_JPEGLS_SOF = 0xF7
_SOI_LIKE = frozenset({0xD8, 0x01, *range(0xD0, 0xD8)})
_NOT_FRAMES = frozenset({0xC4, 0xC8, 0xCC})


def jpeg_markers(data: bytes) -> tuple[int | None, bytes]:
    """(frame marker, first scan header body) of a JPEG stream, as far as ``data`` goes."""
    i = 2 if data[:2] == b"\xff\xd8" else 0
    frame: int | None = None
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return frame, b""
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _SOI_LIKE:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            return frame, b""
        is_frame = 0xC0 <= marker <= 0xCF or marker == _JPEGLS_SOF
        if frame is None and is_frame and marker not in _NOT_FRAMES:
            frame = marker
        if marker == 0xDA:
            return frame, data[i + 4 : i + 2 + length]
        i += 2 + length
    return frame, b""


def jpeg_lossless(data: bytes) -> bool | None:
    """Lossless JPEG (SOF3...) or JPEG-LS with NEAR 0: True; DCT or near-lossless: False."""
    frame, scan = jpeg_markers(data)
    if frame is None:
        return None
    if frame == _JPEGLS_SOF:
        if not scan:
            return None
        components = scan[0]
        near_at = 1 + 2 * components
        return scan[near_at] == 0 if near_at < len(scan) else None
    return frame in _LOSSLESS_SOF


def jpeg_kind(data: bytes) -> str:
    """A short name for the JPEG flavour: lossless JPEG, JPEG-LS or JPEG."""
    frame, _ = jpeg_markers(data)
    if frame == _JPEGLS_SOF:
        return "JPEG-LS"
    if frame in _LOSSLESS_SOF:
        return "lossless JPEG"
    return "JPEG"


def webp_lossless(data: bytes) -> bool | None:
    """WebP: a ``VP8L`` image is lossless, ``VP8`` lossy; ``VP8X`` (extended) can be both."""
    chunk = data[12:16]
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    return {b"VP8L": True, b"VP8 ": False}.get(chunk)


def j2k_lossless(data: bytes) -> bool | None:
    """JPEG 2000: False for the 9/7 wavelet or quantisation, else None (see above)."""
    start = data.find(b"\xff\x4f\xff\x51")  # SOC SIZ
    if start < 0:
        return None
    i, reversible, unquantised = start + 2, None, None
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            break
        body = data[i + 4 : i + 2 + length]
        if marker == 0x52 and len(body) >= 10:  # COD: transform is the 10th byte
            reversible = body[9] == 1
        elif marker == 0x5C and body:  # QCD: style in the low 5 bits of Sqcd
            unquantised = (body[0] & 0x1F) == 0
        elif marker in (0x90, 0x93):  # SOT/SOD: main header is over
            break
        i += 2 + length
    if reversible is False or unquantised is False:
        return False
    return None  # reversible and unquantised: lossless only if no pass was truncated


def jxl_lossless(data: bytes) -> bool | None:
    """JPEG XL: False when XYB-encoded or a recompressed JPEG; else None (not proved)."""
    stream, recompressed_jpeg = _jxl_codestream(data)
    if recompressed_jpeg:
        return False
    if len(stream) < 3:
        return None
    try:
        xyb = _xyb_encoded(_Bits(stream[2:]))
    except IndexError:  # the header is cut off
        return None
    return False if xyb else None


def _jxl_codestream(data: bytes) -> tuple[bytes, bool]:
    """(the start of the codestream, whether a ``jbrd`` JPEG-reconstruction box exists)."""
    if data[:2] == b"\xff\x0a":
        return data, False
    pos, parts, jbrd = 0, bytearray(), False
    while pos + 8 <= len(data) and len(parts) < 4096:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if length == 1:
            length, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        if length and length < header:
            break
        end = len(data) if length == 0 else pos + length
        if kind == b"jbrd":
            jbrd = True
        elif kind == b"jxlc":
            parts += data[pos + header : end]
        elif kind == b"jxlp":
            parts += data[pos + header + 4 : end]
        pos = end
    return bytes(parts), jbrd


class _Bits:
    """JPEG XL bit reader (least significant bit first)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u(self, n: int) -> int:
        value = 0
        for k in range(n):
            byte = self.data[(self.pos + k) >> 3]  # IndexError when the header is cut off
            value |= ((byte >> ((self.pos + k) & 7)) & 1) << k
        self.pos += n
        return value

    def flag(self) -> bool:
        return bool(self.u(1))

    def u32(self, *choices: tuple[int, int]) -> int:
        offset, bits = choices[self.u(2)]
        return offset + (self.u(bits) if bits else 0)


def _size(bits: _Bits) -> None:
    small = bits.flag()
    dims = ((1, 9), (1, 13), (1, 18), (1, 30))
    bits.u(5) if small else bits.u32(*dims)
    if bits.u(3) == 0:
        bits.u(5) if small else bits.u32(*dims)


def _bit_depth(bits: _Bits) -> None:
    if bits.flag():  # floating point samples
        bits.u32((32, 0), (16, 0), (24, 0), (1, 6))
        bits.u(4)
    else:
        bits.u32((8, 0), (10, 0), (12, 0), (1, 6))


def _xyb_encoded(bits: _Bits) -> bool:
    """Skip SizeHeader and the ImageMetadata fields before ``xyb_encoded``; read it."""
    _size(bits)
    if bits.flag():  # all_default: XYB
        return True
    if bits.flag():  # extra_fields
        bits.u(3)  # orientation
        if bits.flag():
            _size(bits)  # intrinsic size
        if bits.flag():  # preview
            div8 = bits.flag()
            preview = ((16, 0), (32, 0), (1, 5), (33, 9)) if div8 else (
                (1, 6), (65, 8), (321, 10), (1345, 12))  # fmt: skip
            bits.u32(*preview)
            if bits.u(3) == 0:
                bits.u32(*preview)
        if bits.flag():  # animation
            bits.u32((100, 0), (1000, 0), (1, 10), (1, 30))
            bits.u32((1, 0), (1001, 0), (1, 8), (1, 10))
            bits.u32((0, 0), (0, 3), (0, 16), (0, 32))
            bits.flag()
    _bit_depth(bits)
    bits.flag()  # modular_16_bit_buffer_sufficient
    for _ in range(bits.u32((0, 0), (1, 0), (2, 4), (1, 12))):
        _extra_channel(bits)
    return bits.flag()


def _extra_channel(bits: _Bits) -> None:
    if bits.flag():  # d_alpha: all defaults
        return
    kind = bits.u32((0, 0), (1, 0), (2, 4), (18, 6))
    _bit_depth(bits)
    bits.u32((0, 0), (3, 0), (4, 0), (1, 3))  # dim_shift
    name_len = bits.u32((0, 0), (0, 4), (16, 5), (48, 10))
    bits.u(8 * name_len)
    if kind == 0:
        bits.flag()  # alpha_associated
    elif kind == 2:
        bits.u(64)  # spot colour: four float16
    elif kind == 5:
        bits.u32((1, 0), (0, 2), (3, 4), (19, 8))
