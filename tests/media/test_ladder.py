"""The ladder's settings and digest, the widths an image gets, its keys, and the ThumbHash encoder."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from pydantic import ValidationError

from shopflow.media.ladder import (
    DEFAULT_WIDTHS,
    Ladder,
    VariantFormat,
    ladder_of,
    original_key,
    plan_widths,
    variant_key,
)
from shopflow.media.pictures import placeholder_url
from shopflow.media.thumbhash import rgba_to_thumbhash, thumbhash_to_rgba
from shopflow.platform.settings import Settings

SHA = "ab" * 32


def test_the_default_ladder() -> None:
    ladder = Ladder()
    assert ladder.widths == DEFAULT_WIDTHS == (160, 320, 480, 640, 960, 1280, 1600, 1920, 2560)
    assert (ladder.avif_quality, ladder.avif_effort) == (52, 2)
    assert (ladder.webp_quality, ladder.jpeg_quality) == (78, 80)
    assert len(ladder.digest) == 12 and ladder.digest == Ladder().digest


@pytest.mark.parametrize(
    "change",
    [
        {"widths": (160, 320)},
        {"avif_quality": 55},
        {"avif_effort": 4},
        {"webp_quality": 80},
        {"jpeg_quality": 82},
    ],
)
def test_the_digest_follows_every_output_setting(change: dict[str, object]) -> None:
    assert dataclasses.replace(Ladder(), **change).digest != Ladder().digest


def test_the_digest_ignores_the_limits() -> None:
    assert Ladder(max_pixels=10, max_heif_pixels=10, max_frames=1).digest == Ladder().digest


@pytest.mark.parametrize(
    "bad",
    [
        {"widths": ()},
        {"widths": (320, 160)},
        {"widths": (160, 160)},
        {"widths": (0, 160)},
        {"widths": (160, 20_000)},
        {"avif_quality": 0},
        {"jpeg_quality": 101},
        {"avif_effort": 10},
        {"max_pixels": 0},
        {"max_heif_pixels": 0},
        {"max_frames": 0},
    ],
)
def test_a_ladder_that_makes_no_sense_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Ladder(**bad)


@pytest.mark.parametrize(
    ("size", "widths"),
    [
        ((4000, 3000), DEFAULT_WIDTHS),
        ((1000, 750), (160, 320, 480, 640, 960)),
        ((960, 2000), (160, 320, 480, 640, 960)),
        ((100, 80), (100,)),
        ((1000, 40_000), (160, 320)),  # taller variants would pass WebP's 16,383 px
        ((1, 20_000), ()),
    ],
)
def test_the_widths_an_image_gets(size: tuple[int, int], widths: tuple[int, ...]) -> None:
    assert plan_widths(*size, Ladder()) == widths


def test_keys_are_content_addressed() -> None:
    digest = Ladder().digest
    assert original_key(SHA) == f"originals/{SHA}"
    assert variant_key(SHA, digest, 640, VariantFormat.JPEG) == f"variants/{SHA}/{digest}/640.jpg"
    assert variant_key(SHA, digest, 640, VariantFormat.AVIF).endswith("/640.avif")
    assert [(f.extension, f.mime) for f in VariantFormat] == [
        ("avif", "image/avif"),
        ("webp", "image/webp"),
        ("jpg", "image/jpeg"),
    ]


@pytest.mark.parametrize("sha", ["../../etc/passwd", SHA.upper(), SHA[:-1], SHA + "/x", ""])
def test_a_key_takes_only_a_sha256(sha: str) -> None:
    with pytest.raises(ValueError):
        original_key(sha)
    with pytest.raises(ValueError):
        variant_key(sha, Ladder().digest, 160, VariantFormat.WEBP)


def test_a_variant_key_takes_only_a_ladder_digest_and_a_sane_width() -> None:
    with pytest.raises(ValueError):
        variant_key(SHA, "../x", 160, VariantFormat.WEBP)
    with pytest.raises(ValueError):
        variant_key(SHA, Ladder().digest, 0, VariantFormat.WEBP)


def average_rgba(thumbhash: bytes) -> tuple[float, float, float, float]:
    """The reference decoder's thumbHashToAverageRGBA, 0..1 a channel."""
    header = thumbhash[0] | thumbhash[1] << 8 | thumbhash[2] << 16
    lum = (header & 63) / 63
    p = ((header >> 6) & 63) / 31.5 - 1
    q = ((header >> 12) & 63) / 31.5 - 1
    alpha = (thumbhash[5] & 15) / 15 if header >> 23 else 1.0
    b = lum - 2 / 3 * p
    r = (3 * lum - b + q) / 2
    return (r, r - q, b, alpha)


def test_a_thumbhash_holds_the_average_colour_and_aspect() -> None:
    wide = rgba_to_thumbhash(100, 50, bytes([200, 40, 30, 255] * 5000))
    r, g, b, a = average_rgba(wide)
    assert (round(r * 255), round(g * 255), round(b * 255), a) == pytest.approx((200, 40, 30, 1.0), abs=6)
    assert wide[4] >> 7 == 1  # landscape
    tall = rgba_to_thumbhash(50, 100, bytes([200, 40, 30, 255] * 5000))
    assert tall[4] >> 7 == 0


def test_a_thumbhash_with_transparency_says_so() -> None:
    half = bytes([0, 0, 255, 255] * 50 + [0, 0, 0, 0] * 50) * 100
    thumbhash = rgba_to_thumbhash(100, 100, half)
    assert thumbhash[2] >> 7 == 1
    assert average_rgba(thumbhash)[3] == pytest.approx(0.5, abs=0.1)
    assert base64.b64encode(thumbhash)


def test_a_thumbhash_is_of_at_most_100_by_100() -> None:
    with pytest.raises(ValueError):
        rgba_to_thumbhash(101, 10, bytes(101 * 10 * 4))
    with pytest.raises(ValueError):
        rgba_to_thumbhash(10, 10, bytes(10))


def test_the_settings_name_the_ladder() -> None:
    settings = Settings(media_widths=(200, 400), media_avif_quality=60, media_max_frames=10)
    ladder = ladder_of(settings)
    assert ladder.widths == (200, 400) and ladder.avif_quality == 60 and ladder.max_frames == 10
    assert ladder_of(Settings()) == Ladder()  # the defaults agree
    assert ladder.digest != Ladder().digest
    with pytest.raises(ValidationError):
        Settings(media_widths=(400, 200))


def test_a_thumbhash_decodes_to_its_colour_and_shape() -> None:
    for width, height, shown in [
        (100, 50, (32, 18)),
        (50, 100, (18, 32)),
    ]:  # ThumbHash keeps the ratio roughly
        thumbhash = rgba_to_thumbhash(width, height, bytes([200, 40, 30, 255] * (width * height)))
        w, h, rgba = thumbhash_to_rgba(thumbhash)
        assert (w, h) == shown and len(rgba) == w * h * 4
        middle = (h // 2 * w + w // 2) * 4
        assert list(rgba[middle : middle + 4]) == pytest.approx([200, 40, 30, 255], abs=12)


def test_a_placeholder_url_is_a_png_or_nothing() -> None:
    thumbhash = base64.b64encode(rgba_to_thumbhash(10, 10, bytes([0, 0, 255, 255] * 100))).decode()
    url = placeholder_url(thumbhash)
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",")[1]).startswith(b"\x89PNG\r\n\x1a\n")
    assert placeholder_url("AAAA") == placeholder_url("not base64!") == ""
