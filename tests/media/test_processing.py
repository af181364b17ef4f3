"""The processing core against real pyvips: the hostile corpus, colour, orientation, metadata."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import pyvips

from shopflow.media.failures import MediaError, MediaErrorCode
from shopflow.media.ladder import Ladder, Processed, Variant, VariantFormat
from shopflow.media.processing import process
from shopflow.media.sniff import ImageType, sniff
from tests.media.corpus import (
    BLUE,
    GREEN,
    RED,
    WHITE,
    exif_with_gps,
    gif_frames,
    golden,
    heic,
    jpeg_html_polyglot,
    photo,
    png_bomb,
    solid,
    stored_for,
    xmp_with_gps,
)

SMALL = Ladder(widths=(160, 320))
SNIFFED = {fmt: ImageType(fmt.value) for fmt in VariantFormat}


def decoded(variant: Variant) -> pyvips.Image:
    """A variant read back, after checking it is the format it says, at the size it says."""
    assert sniff(variant.data) is SNIFFED[variant.format]
    image = pyvips.Image.new_from_buffer(variant.data, "")
    assert (image.width, image.height) == (variant.width, variant.height)
    return image


def near(pixel: list[float], rgb: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(p - c) <= tolerance for p, c in zip(pixel, rgb, strict=True))


def refused(data: bytes, ladder: Ladder = SMALL) -> MediaErrorCode:
    with pytest.raises(MediaError) as caught:
        process(data, ladder)
    return caught.value.code


# The hostile corpus


def test_png_decompression_bomb_is_refused_from_its_header_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_bomb(40_000))
    assert bomb.stat().st_size < 300_000
    # Its own process, so the peak resident size (VmHWM: getrusage's survives exec and would
    # count this test process) is this refusal's alone.
    script = textwrap.dedent(
        r"""
        import re, sys
        from pathlib import Path
        from shopflow.media.failures import MediaError
        from shopflow.media.ladder import Ladder
        from shopflow.media.processing import process
        try:
            process(open(sys.argv[1], "rb").read(), Ladder())
        except MediaError as e:
            print(e.code)
        print(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())[1])
        """
    )
    argv = [sys.executable, "-c", script, str(bomb)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    code, peak_kib = run.stdout.split()
    assert code == MediaErrorCode.IMAGE_TOO_LARGE
    # Decoding would take 1.6 GB (40,000^2 one-byte pixels); the refusal costs the interpreter.
    assert int(peak_kib) < 150 * 1024


def test_avif_decoded_whole_has_its_own_pixel_limit() -> None:
    ladder = Ladder(widths=(160,), max_heif_pixels=64 * 48 - 1)
    image = photo(64, 48)
    assert refused(image.heifsave_buffer(compression="av1"), ladder) is MediaErrorCode.IMAGE_TOO_LARGE
    assert process(image.jpegsave_buffer(), ladder).width == 64


def test_a_gif_with_thousands_of_frames_is_refused() -> None:
    assert refused(gif_frames(5000)) is MediaErrorCode.TOO_MANY_FRAMES


@pytest.mark.parametrize("save", ["gifsave_buffer", "webpsave_buffer"])
def test_an_animation_gives_its_first_frame(save: str) -> None:
    frames = pyvips.Image.arrayjoin([solid(40, 30, RED), solid(40, 30, BLUE)], across=1)
    frames.set_type(pyvips.GValue.gint_type, "page-height", 30)
    data = getattr(frames, save)()
    assert pyvips.Image.new_from_buffer(data, "").get("n-pages") == 2
    done = process(data, SMALL)
    assert (done.width, done.height) == (40, 30)
    for variant in done.variants:
        assert near(decoded(variant)(20, 15)[:3], RED, 40)


@pytest.mark.parametrize("save", ["jpegsave_buffer", "pngsave_buffer", "webpsave_buffer", "tiffsave_buffer"])
def test_a_truncated_image_is_corrupt(save: str) -> None:
    whole: bytes = getattr(photo(300, 200), save)()
    assert refused(whole[: len(whole) // 2]) is MediaErrorCode.CORRUPT_IMAGE


def test_a_truncated_avif_is_corrupt() -> None:
    whole = photo(300, 200).heifsave_buffer(compression="av1")
    assert refused(whole[: len(whole) // 2]) is MediaErrorCode.CORRUPT_IMAGE


def test_a_jpeg_html_polyglot_gives_only_re_encoded_images() -> None:
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    polyglot = jpeg_html_polyglot(solid(200, 100, GREEN).jpegsave_buffer(), html)
    assert sniff(polyglot) is ImageType.JPEG and html in polyglot
    done = process(polyglot, SMALL)
    assert [v.width for v in done.variants] == [160] * 3
    for variant in done.variants:
        assert variant.data != polyglot
        assert b"<script" not in variant.data and b"<html" not in variant.data
        assert near(decoded(variant)(80, 40), GREEN, 40)


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>',
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(40),  # a ZIP, whatever its name
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"",
    ],
    ids=["svg", "zip", "pdf", "empty"],
)
def test_what_is_not_an_allowed_image_is_an_unsupported_format(data: bytes) -> None:
    assert refused(data) is MediaErrorCode.UNSUPPORTED_FORMAT


def test_a_heic_this_libvips_cannot_decode_is_an_unsupported_format() -> None:
    data = heic(64, 48)
    assert sniff(data) is ImageType.HEIF
    header = pyvips.Image.new_from_buffer(data, "")
    assert (header.width, header.height, header.get("heif-compression")) == (64, 48, "hevc")
    with pytest.raises(MediaError) as caught:
        process(data, SMALL)
    assert caught.value.code is MediaErrorCode.UNSUPPORTED_FORMAT
    assert "HEVC" in caught.value.detail or "decod" in caught.value.detail


def test_garbage_behind_good_magic_bytes_is_corrupt() -> None:
    assert refused(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4) is MediaErrorCode.CORRUPT_IMAGE


def test_an_image_too_tall_and_narrow_for_any_variant_is_refused() -> None:
    strip = solid(1, 20_000, RED).pngsave_buffer()
    assert refused(strip) is MediaErrorCode.UNSUPPORTED_DIMENSIONS


# Colour, depth and alpha


@pytest.mark.parametrize("with_profile", [True, False], ids=["embedded-profile", "no-profile"])
def test_a_cmyk_jpeg_becomes_srgb(with_profile: bool) -> None:
    cmyk = solid(200, 100, RED).icc_transform("cmyk")
    data = cmyk.jpegsave_buffer(keep="icc" if with_profile else "none")
    original = pyvips.Image.new_from_buffer(data, "")
    assert original.interpretation == "cmyk" and original.bands == 4
    assert bool(original.get_typeof("icc-profile-data")) is with_profile
    for variant in process(data, SMALL).variants:
        image = decoded(variant)
        assert (image.interpretation, image.bands, image.format) == ("srgb", 3, "uchar")
        assert near(image(100, 50), RED, 30)


def test_an_embedded_display_p3_profile_is_converted_to_srgb() -> None:
    p3 = solid(200, 100, RED).icc_transform("p3")
    assert not near(p3(0, 0), RED, 10)  # the same colour has other numbers in P3
    for variant in process(p3.pngsave_buffer(), SMALL).variants:
        assert near(decoded(variant)(100, 50), RED, 12)


def test_a_16_bit_png_becomes_8_bit() -> None:
    deep = pyvips.Image.black(200, 100).cast("ushort").new_from_image([52428, 13107, 32768])
    data = deep.copy(interpretation="rgb16").pngsave_buffer(bitdepth=16)
    assert pyvips.Image.new_from_buffer(data, "").format == "ushort"
    for variant in process(data, SMALL).variants:
        image = decoded(variant)
        assert (image.format, image.interpretation) == ("uchar", "srgb")
        assert near(image(100, 50), (204, 51, 128), 8)


def test_greyscale_becomes_three_band_srgb() -> None:
    grey = (pyvips.Image.black(200, 100) + 90).cast("uchar").copy(interpretation="b-w")
    for variant in process(grey.pngsave_buffer(), SMALL).variants:
        image = decoded(variant)
        assert image.bands == 3 and near(image(100, 50), (90, 90, 90), 6)


def test_alpha_is_kept_in_avif_and_webp_and_jpeg_is_flattened_on_white() -> None:
    opaque, clear = solid(100, 100, (*RED, 255)), solid(100, 100, (*BLUE, 0))
    data = opaque.join(clear, "horizontal").pngsave_buffer()
    done = process(data, SMALL)
    assert {v.format for v in done.variants} == set(VariantFormat)
    for variant in done.variants:
        image = decoded(variant)
        left, right = image(40, 50), image(120, 50)
        if variant.format is VariantFormat.JPEG:
            assert image.bands == 3 and near(left, RED, 30) and near(right, (255, 255, 255), 8)
        else:
            assert image.bands == 4
            assert near(left[:3], RED, 30) and left[3] >= 250
            assert right[3] <= 5


# Orientation and metadata


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("container", ["jpeg", "avif"])
def test_every_exif_orientation_comes_out_upright(container: str, orientation: int) -> None:
    stored = stored_for(orientation, golden())
    if container == "jpeg":
        data = stored.jpegsave_buffer(Q=95)
        assert pyvips.Image.new_from_buffer(data, "").get("orientation") == orientation
    else:  # libvips writes HEIF's own rotation and mirror properties (irot, imir) instead
        data = stored.heifsave_buffer(compression="av1", Q=90)
    done = process(data, SMALL)
    assert (done.width, done.height) == (64, 48)
    for variant in done.variants:
        image = decoded(variant)
        assert (image.width, image.height) == (64, 48)
        corners = [image(x, y)[:3] for x, y in ((16, 12), (48, 12), (16, 36), (48, 36))]
        for pixel, colour in zip(corners, (RED, GREEN, BLUE, WHITE), strict=True):
            assert near(pixel, colour, 40), (variant.format, corners)


def test_no_gps_camera_or_other_metadata_survives() -> None:
    image = solid(400, 300, GREEN).copy()
    image.set_type(pyvips.GValue.blob_type, "exif-data", exif_with_gps(b"SecretCam"))
    image.set_type(pyvips.GValue.blob_type, "xmp-data", xmp_with_gps())
    data = image.jpegsave_buffer()
    original = pyvips.Image.new_from_buffer(data, "")
    assert original.get("exif-ifd3-GPSLatitude").startswith("51/1 30/1")
    assert b"GPS" in data and b"SecretCam" in data
    for variant in process(data, SMALL).variants:
        out = decoded(variant)
        fields = out.get_fields()
        assert not [f for f in fields if f.startswith(("exif", "xmp", "iptc", "icc"))], fields
        for marker in (b"GPS", b"SecretCam", b"Exif", b"xmpmeta"):
            assert marker not in variant.data


# The ladder


def test_the_ladder_is_never_wider_than_the_source() -> None:
    done = process(photo(1000, 750).jpegsave_buffer(), Ladder())
    assert (done.width, done.height) == (1000, 750)
    widths = sorted({v.width for v in done.variants})
    assert widths == [160, 320, 480, 640, 960]
    for variant in done.variants:
        assert variant.height == round(variant.width * 0.75)
    assert [v.format for v in done.variants[:3]] == list(VariantFormat)


def test_a_source_narrower_than_every_rung_is_made_at_its_own_width() -> None:
    done = process(photo(100, 80).pngsave_buffer(), Ladder())
    assert [(v.width, v.height, v.format) for v in done.variants] == [(100, 80, f) for f in VariantFormat]


def test_the_same_input_gives_the_same_bytes_whatever_the_threads() -> None:
    data = photo(700, 500).jpegsave_buffer()
    first, again, alone = process(data, SMALL), process(data, SMALL), process(data, SMALL, threads=1)
    assert first == again == alone
    assert len(first.variants) == 6 and len({v.data for v in first.variants}) == 6


def test_the_placeholder_is_a_thumbhash_of_the_image() -> None:
    done = process(solid(300, 150, RED).pngsave_buffer(), SMALL)
    assert isinstance(done, Processed) and 10 < len(done.placeholder) < 60
    assert done == process(solid(300, 150, RED).pngsave_buffer(), SMALL)


def test_media_errors_survive_pickling() -> None:
    error = MediaError(MediaErrorCode.CORRUPT_IMAGE, "premature end of JPEG image")
    back = pickle.loads(pickle.dumps(error))
    assert (back.code, back.detail) == (error.code, error.detail)
    assert str(back) == "corrupt_image: premature end of JPEG image"
