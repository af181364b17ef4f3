"""Why an image could not be processed: a stable code, stored on the media row, and a detail.

MediaError(code, detail)
    unsupported_format      not one of the allowed types (by magic bytes and loader)
    image_too_large         more pixels than the ladder allows, refused from the header
    too_many_frames         more frames/pages than the ladder's max_frames
    unsupported_dimensions  so tall and narrow that no variant fits an encoder's limits
    corrupt_image           the header or pixels could not be decoded
    encode_failed           a variant could not be encoded
    original_missing        the uploaded bytes are no longer in storage
"""

from __future__ import annotations

from enum import StrEnum


class MediaErrorCode(StrEnum):
    UNSUPPORTED_FORMAT = "unsupported_format"
    IMAGE_TOO_LARGE = "image_too_large"
    TOO_MANY_FRAMES = "too_many_frames"
    UNSUPPORTED_DIMENSIONS = "unsupported_dimensions"
    CORRUPT_IMAGE = "corrupt_image"
    ENCODE_FAILED = "encode_failed"
    ORIGINAL_MISSING = "original_missing"


class MediaError(Exception):
    """An image the pipeline refused or could not read; `code` is stable, `detail` is for people."""

    def __init__(self, code: MediaErrorCode, detail: str) -> None:
        # Both in args, so the error survives pickling (arq stores a failed job's exception).
        super().__init__(code, detail)
        self.code = MediaErrorCode(code)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"
