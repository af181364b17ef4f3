"""The ThumbHash encoder (Evan Wallace, https://evanw.github.io/thumbhash/, MIT): ~25 bytes that
a page decodes into a blurred placeholder with the image's colours and aspect ratio.

A port of the reference `rgbaToThumbHash`: the same terms in the same order, and JavaScript's
`Math.round` (halves round up). Its sums run in another order, so a coefficient that is
exactly zero may round one step the other way. The one package on PyPI (thumbhash 0.1.2)
rounds halves to even and mis-parses its alpha channel, so it is not used. The DCT is
computed separably (per-row sums, then one sum per coefficient): a few hundred thousand
multiplications for a 100x100 image, run by `sum(map(mul, ...))` in C.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import mul

MAX_SIDE = 100  # the reference refuses more: larger costs time and gains nothing


@dataclass(frozen=True)
class _Channel:
    dc: float
    ac: list[float]
    scale: float


def _round(x: float) -> int:
    """JavaScript's Math.round."""
    return math.floor(x + 0.5)


def rgba_to_thumbhash(width: int, height: int, rgba: bytes) -> bytes:
    """The ThumbHash of an sRGB image given as 8-bit RGBA rows, at most 100x100."""
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
        raise ValueError(f"{width}x{height} does not fit in {MAX_SIDE}x{MAX_SIDE}")
    if len(rgba) != width * height * 4:
        raise ValueError("rgba must hold width * height * 4 bytes")
    alpha = [a / 255 for a in rgba[3::4]]
    total_alpha = sum(alpha)
    avg = [0.0, 0.0, 0.0]
    if total_alpha:
        avg = [sum(map(mul, alpha, rgba[c::4])) / 255 / total_alpha for c in range(3)]
    has_alpha = total_alpha < width * height
    # Composite over the average colour, then split into luminance and two chroma channels.
    r, g, b = (
        [m * (1 - a) + a / 255 * v for a, v in zip(alpha, rgba[c::4], strict=True)] for c, m in enumerate(avg)
    )
    lum = [(x + y + z) / 3 for x, y, z in zip(r, g, b, strict=True)]
    p = [(x + y) / 2 - z for x, y, z in zip(r, g, b, strict=True)]
    q = [x - y for x, y in zip(r, g, strict=True)]

    l_limit = 5 if has_alpha else 7  # fewer luminance terms leave room for alpha
    lx = max(1, _round(l_limit * width / max(width, height)))
    ly = max(1, _round(l_limit * height / max(width, height)))
    dct = _Dct(width, height)
    lc = dct.encode(lum, max(3, lx), max(3, ly))
    pc = dct.encode(p, 3, 3)
    qc = dct.encode(q, 3, 3)
    ac = dct.encode(alpha, 5, 5) if has_alpha else None

    landscape = width > height
    header24 = (
        _round(63 * lc.dc)
        | (_round(31.5 + 31.5 * pc.dc) << 6)
        | (_round(31.5 + 31.5 * qc.dc) << 12)
        | (_round(31 * lc.scale) << 18)
        | (has_alpha << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_round(63 * pc.scale) << 3)
        | (_round(63 * qc.scale) << 9)
        | (landscape << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    if ac is not None:
        out.append(_round(15 * ac.dc) | (_round(15 * ac.scale) << 4))
    factors = [f for ch in (lc, pc, qc, ac) if ch is not None for f in ch.ac]
    nibbles = [_round(15 * f) for f in factors] + [0] * (len(factors) % 2)
    out += [lo | (hi << 4) for lo, hi in zip(nibbles[::2], nibbles[1::2], strict=True)]
    return bytes(out)


class _Dct:
    """The DCT-II terms of one image size, with the cosine tables shared across channels."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._cos_x: dict[int, list[float]] = {}
        self._cos_y: dict[int, list[float]] = {}

    def _cos(self, table: dict[int, list[float]], k: int, n: int) -> list[float]:
        if k not in table:
            table[k] = [math.cos(math.pi / n * k * (i + 0.5)) for i in range(n)]
        return table[k]

    def encode(self, channel: list[float], nx: int, ny: int) -> _Channel:
        """The DC term, the AC terms normalised to 0..1 (the triangle cx*ny < nx*(ny-cy)), their scale."""
        w, h = self.width, self.height
        rows = [channel[y * w : (y + 1) * w] for y in range(h)]
        # Per-row sums against each horizontal cosine, reused by every vertical frequency.
        row_sums = {
            cx: [sum(map(mul, row, self._cos(self._cos_x, cx, w))) for row in rows] for cx in range(nx)
        }
        dc, ac, scale = 0.0, [], 0.0
        for cy in range(ny):
            fy = self._cos(self._cos_y, cy, h)
            cx = 0
            while cx * ny < nx * (ny - cy):
                f = sum(map(mul, row_sums[cx], fy)) / (w * h)
                if cx or cy:
                    ac.append(f)
                    scale = max(scale, abs(f))
                else:
                    dc = f
                cx += 1
        if scale:
            ac = [0.5 + 0.5 / scale * f for f in ac]
        return _Channel(dc, ac, scale)


def _channel(data: bytes, start: int, index: int, nx: int, ny: int, scale: float) -> tuple[list[float], int]:
    """One channel's AC terms read from the nibbles at `index` on: (terms, the next index)."""
    ac = []
    for cy in range(ny):
        cx = 0 if cy else 1
        while cx * ny < nx * (ny - cy):
            nibble = (data[start + (index >> 1)] >> ((index & 1) << 2)) & 15
            ac.append((nibble / 7.5 - 1) * scale)
            index, cx = index + 1, cx + 1
    return ac, index


def _terms(nx: int, ny: int) -> list[tuple[int, int]]:
    """The (cx, cy) of each AC term, in the order they are stored."""
    return [(cx, cy) for cy in range(ny) for cx in range(0 if cy else 1, nx) if cx * ny < nx * (ny - cy)]


def aspect_ratio(data: bytes) -> float:
    """The width over the height of the image a ThumbHash stands for, roughly."""
    has_alpha, landscape = data[2] & 0x80, data[4] & 0x80
    lx = (5 if has_alpha else 7) if landscape else data[3] & 7
    ly = data[3] & 7 if landscape else (5 if has_alpha else 7)
    return lx / ly


def thumbhash_to_rgba(data: bytes, side: int = 32) -> tuple[int, int, bytes]:
    """The placeholder image a ThumbHash stands for, at most `side` pixels a side:
    (width, height, 8-bit RGBA rows). A port of the reference `thumbHashToRGBA`."""
    header24 = data[0] | (data[1] << 8) | (data[2] << 16)
    header16 = data[3] | (data[4] << 8)
    l_dc, p_dc, q_dc = (
        (header24 & 63) / 63,
        ((header24 >> 6) & 63) / 31.5 - 1,
        ((header24 >> 12) & 63) / 31.5 - 1,
    )
    l_scale = ((header24 >> 18) & 31) / 31
    has_alpha = bool(header24 >> 23)
    p_scale, q_scale = ((header16 >> 3) & 63) / 63, ((header16 >> 9) & 63) / 63
    landscape = bool(header16 >> 15)
    lx = max(3, (5 if has_alpha else 7) if landscape else header16 & 7)
    ly = max(3, header16 & 7 if landscape else (5 if has_alpha else 7))
    a_dc = (data[5] & 15) / 15 if has_alpha else 1.0
    a_scale = (data[5] >> 4) / 15
    start = 6 if has_alpha else 5
    # Saturation boosted by 1.25, as the reference does, for what quantisation took.
    l_ac, index = _channel(data, start, 0, lx, ly, l_scale)
    p_ac, index = _channel(data, start, index, 3, 3, p_scale * 1.25)
    q_ac, index = _channel(data, start, index, 3, 3, q_scale * 1.25)
    a_ac = _channel(data, start, index, 5, 5, a_scale)[0] if has_alpha else []

    ratio = aspect_ratio(data)
    width = _round(side if ratio > 1 else side * ratio)
    height = _round(side / ratio if ratio > 1 else side)
    n = max(lx, 5 if has_alpha else 3), max(ly, 5 if has_alpha else 3)
    cos_x = [[math.cos(math.pi / width * (x + 0.5) * cx) for cx in range(n[0])] for x in range(width)]
    cos_y = [[math.cos(math.pi / height * (y + 0.5) * cy) for cy in range(n[1])] for y in range(height)]
    l_terms, pq_terms, a_terms = _terms(lx, ly), _terms(3, 3), _terms(5, 5)
    out = bytearray()
    for y in range(height):
        fy = [2 * f for f in cos_y[y]]
        for x in range(width):
            fx = cos_x[x]
            lum = l_dc + sum(c * fx[cx] * fy[cy] for c, (cx, cy) in zip(l_ac, l_terms, strict=True))
            p = p_dc + sum(c * fx[cx] * fy[cy] for c, (cx, cy) in zip(p_ac, pq_terms, strict=True))
            q = q_dc + sum(c * fx[cx] * fy[cy] for c, (cx, cy) in zip(q_ac, pq_terms, strict=True))
            a = a_dc + sum(c * fx[cx] * fy[cy] for c, (cx, cy) in zip(a_ac, a_terms, strict=False))
            b = lum - 2 / 3 * p
            r = (3 * lum - b + q) / 2
            out += bytes(int(max(0.0, 255 * min(1.0, v))) for v in (r, r - q, b, a))
    return width, height, bytes(out)
