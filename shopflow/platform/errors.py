"""The platform's exceptions; one middleware turns them into problem+json (RFC 9457).

    AppError                 status, code, title
    ├── BadRequest           400 malformed_json, bad_request
    ├── Unauthorized         401 unauthorized
    ├── Forbidden            403 forbidden
    ├── NotFound             404 not_found
    ├── MethodNotAllowed     405 method_not_allowed
    ├── RequestTimeout       408 request_timeout
    ├── Conflict             409 conflict
    ├── PayloadTooLarge      413 payload_too_large
    ├── URITooLong           414 uri_too_long
    ├── UnsupportedMediaType 415 unsupported_media_type
    ├── Invalid              422 validation_failed (with field errors)
    ├── RateLimited          429 rate_limited (with Retry-After)
    ├── HeadersTooLarge      431 headers_too_large
    └── Unavailable          503 unavailable (with Retry-After)

Components subclass these with their own `code` (e.g. `ProductNotFound.code = "product_not_found"`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers or {}
        self.extra = extra or {}

    def problem(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://shopflow.dev/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors is not None:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class BadRequest(AppError):
    status = 400
    code = "bad_request"
    title = "Bad request"


class MalformedJSON(BadRequest):
    code = "malformed_json"
    title = "Malformed JSON"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not found"


class MethodNotAllowed(AppError):
    status = 405
    code = "method_not_allowed"
    title = "Method not allowed"


class RequestTimeout(AppError):
    status = 408
    code = "request_timeout"
    title = "The request did not arrive in time"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class URITooLong(AppError):
    status = 414
    code = "uri_too_long"
    title = "URI too long"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class Invalid(AppError):
    status = 422
    code = "validation_failed"
    title = "Validation failed"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class HeadersTooLarge(AppError):
    status = 431
    code = "headers_too_large"
    title = "Request header fields too large"


class Unavailable(AppError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"

    def __init__(
        self, detail: str | None = None, *, retry_after: int = 1, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)}, extra=extra)
