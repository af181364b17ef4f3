"""The media component's errors, as clients see them."""

from __future__ import annotations

from ..platform.errors import Conflict, Invalid, NotFound, UnsupportedMediaType


class MediaNotFound(NotFound):
    code = "media_not_found"


class NotAnImage(UnsupportedMediaType):
    code = "unsupported_image_type"
    title = "Not an image type we take"


class NoFile(Invalid):
    def __init__(self) -> None:
        super().__init__("the upload has no file", errors=[{"field": "file", "message": "a part named file"}])


class MediaInUse(Conflict):
    code = "media_in_use"
    title = "A product shows this media"
