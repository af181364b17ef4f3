"""The account forms' fields as posted: checked by auth's own request model, and what is
wrong said per field in words a person reads."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from ..auth.interface import Register

EMAIL_MAX, PASSWORD_MIN, PASSWORD_MAX, NAME_MAX = 254, 8, 128, 200
TOKEN_MAX = 256  # a link's token, as auth takes it
MESSAGES = {
    "name": "Enter your name.",
    "email": "Enter an email address, like name@example.com.",
    "password": f"Use {PASSWORD_MIN} to {PASSWORD_MAX} characters.",
    "weak_password": "This password is too common, or is your email address. Choose another.",
}


def has_control(text: str) -> bool:
    """Whether `text` holds a NUL or another control character (the database refuses NUL)."""
    return any(ord(c) < 32 or ord(c) == 0x7F for c in text)


def password_message(password: str) -> str | None:
    """What is wrong with a new password by auth's length rules, or None."""
    return None if PASSWORD_MIN <= len(password) <= PASSWORD_MAX else MESSAGES["password"]


def account_fields(posted: Mapping[str, str]) -> tuple[dict[str, str], Register | None, dict[str, str]]:
    """The registration form's values to show again (never the password), the request auth
    takes when they are right, and a message per wrong field."""
    name, email = posted.get("name", "").strip(), posted.get("email", "").strip()
    password = posted.get("password", "")
    values = {"name": name, "email": email}
    errors = {key: MESSAGES[key] for key, value in values.items() if has_control(value)}
    try:
        body = Register.model_validate({"email": email, "password": password, "name": name})
    except ValidationError as e:
        for error in e.errors():
            key = str(error["loc"][0]) if error["loc"] else "email"
            errors.setdefault(key if key in MESSAGES else "email", MESSAGES.get(key, MESSAGES["email"]))
        return values, None, errors
    return values, (None if errors else body), errors


def retry_text(retry_after: str | None) -> str:
    """A Retry-After in seconds as a person reads it: "1 second", "40 seconds", "3 minutes"."""
    try:
        seconds = max(int(retry_after or "60"), 1)
    except ValueError:
        seconds = 60
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
