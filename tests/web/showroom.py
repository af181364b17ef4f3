"""Pictures of the screenshots' shop, drawn with pyvips: each product's silhouette, lit from
the left, with a soft shadow on a tinted ground (no files to ship)."""

from __future__ import annotations

import colorsys
from collections.abc import Callable

import pyvips

W, H = 960, 720
Mask = pyvips.Image


def _rgb(hue: float, lightness: float, saturation: float) -> list[float]:
    return [255 * c for c in colorsys.hls_to_rgb(hue, lightness, saturation)]


def _rect(x: Mask, y: Mask, x0: float, y0: float, x1: float, y1: float) -> Mask:
    return (x >= x0) & (x < x1) & (y >= y0) & (y < y1)


def _ellipse(x: Mask, y: Mask, cx: float, cy: float, rx: float, ry: float) -> Mask:
    return (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2) < 1


def _taper(x: Mask, y: Mask, cx: float, y0: float, y1: float, top: float, bottom: float) -> Mask:
    """A trapezoid around cx from y0 (half-width `top`) to y1 (half-width `bottom`)."""
    half = (y - y0) * ((bottom - top) / (y1 - y0)) + top
    return ((x - cx).abs() < half) & (y >= y0) & (y < y1)


def _ring(x: Mask, y: Mask, cx: float, cy: float, r: float, width: float) -> Mask:
    return _ellipse(x, y, cx, cy, r, r) & (_ellipse(x, y, cx, cy, r - width, r - width) == 0)


def _pour_over(x: Mask, y: Mask) -> Mask:
    return (
        _taper(x, y, 480, 150, 330, 170, 60)
        | _ellipse(x, y, 480, 470, 150, 140)
        | _rect(x, y, 430, 320, 530, 350)
    )


def _lamp(x: Mask, y: Mask) -> Mask:
    shade = _taper(x, y, 480, 120, 300, 80, 190)
    return shade | _rect(x, y, 468, 300, 492, 560) | _ellipse(x, y, 480, 570, 150, 30)


def _blanket(x: Mask, y: Mask) -> Mask:
    return _rect(x, y, 250, 260, 710, 360) | _rect(x, y, 230, 370, 730, 470) | _rect(x, y, 210, 480, 750, 580)


def _kettle(x: Mask, y: Mask) -> Mask:
    body = _ellipse(x, y, 470, 430, 190, 160)
    return body | _ring(x, y, 470, 300, 120, 22) & (y < 300) | _taper(x, y, 680, 330, 420, 10, 35)


def _runner(x: Mask, y: Mask) -> Mask:
    return _rect(x, y, 120, 300, 840, 440)


def _vase(x: Mask, y: Mask) -> Mask:
    return (
        _ellipse(x, y, 480, 470, 120, 130)
        | _rect(x, y, 445, 190, 515, 380)
        | _ellipse(x, y, 480, 190, 55, 18)
    )


def _board(x: Mask, y: Mask) -> Mask:
    board = _ellipse(x, y, 420, 380, 230, 170) | _rect(x, y, 600, 350, 820, 410)
    return board & (_ellipse(x, y, 790, 380, 14, 14) == 0)


def _pendant(x: Mask, y: Mask) -> Mask:
    dome = _ellipse(x, y, 480, 420, 220, 190) & (y < 420)
    return _rect(x, y, 476, 0, 484, 240) | dome | _ellipse(x, y, 480, 430, 60, 40)


SHAPES: list[Callable[[Mask, Mask], Mask]] = [
    _pour_over,
    _lamp,
    _blanket,
    _kettle,
    _runner,
    _vase,
    _board,
    _pendant,
]
HUES = [0.08, 0.07, 0.6, 0.05, 0.3, 0.55, 0.1, 0.12]


def draw(n: int) -> pyvips.Image:
    """The n-th product's picture, W x H, sRGB."""
    xyz = pyvips.Image.xyz(W, H)
    x, y = xyz[0], xyz[1]
    mask = SHAPES[n % len(SHAPES)](x, y)
    hue = HUES[n % len(HUES)]
    small = mask.resize(1 / 8)  # blurred small: a large blur at full size is slow
    shadow = small.embed(3, 4, small.width, small.height).gaussblur(2.5).resize(8) * (0.3 / 255)
    shadow = shadow.crop(0, 0, W, H)
    ground = pyvips.Image.black(W, H, bands=3).new_from_image(_rgb(hue, 0.92, 0.3)) * (1 - shadow)
    light = (x / W) * -0.4 + 1.2  # lit from the left
    stripes = ((y / 18).cast("int") % 2) * 0.08 + 0.92  # a woven look for the textiles
    fill = pyvips.Image.black(W, H, bands=3).new_from_image(_rgb(hue, 0.45, 0.55)) * light
    if n % len(SHAPES) in (2, 4):
        fill = fill * stripes
    return mask.ifthenelse(fill, ground).cast("uchar").copy(interpretation="srgb")
