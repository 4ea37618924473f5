"""Request parameters the way Rails reads them: query string, then form, multipart or JSON body.

Mastodon accepts ``application/x-www-form-urlencoded``, ``multipart/form-data`` and JSON bodies
alike. Starlette's form parser needs ``python-multipart``, which brandkit does not depend on, so
the few lines needed are here. Anything malformed becomes an :class:`ApiError` (a 4xx), never an
unhandled exception.
"""

from __future__ import annotations

import email
import email.policy
import json
from urllib.parse import parse_qsl

from starlette.requests import Request

Params = dict[str, object]
_TRUE = frozenset({"1", "true", "t", "on", "yes"})


class ApiError(Exception):
    """An error the API reports as Mastodon's ``{"error": message}`` entity."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


async def read_params(request: Request) -> Params:
    """Query parameters overlaid with the body's, whatever its encoding."""
    params: Params = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json" or mime.endswith("+json"):
        params.update(_json(body))
    elif mime == "multipart/form-data":
        params.update(_multipart(body, content_type))
    else:
        try:
            decoded = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(400, "Invalid byte sequence in UTF-8 in the request body") from exc
        params.update(parse_qsl(decoded, keep_blank_values=True))
    return params


def _json(body: bytes) -> Params:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "Error occurred while parsing request parameters.") from exc
    return {str(key): value for key, value in data.items()} if isinstance(data, dict) else {}


def _multipart(body: bytes, content_type: str) -> Params:
    try:
        head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ApiError(400, "Malformed multipart Content-Type header.") from exc
    message = email.message_from_bytes(head + body, policy=email.policy.HTTP)
    if not message.is_multipart():
        raise ApiError(400, "Error occurred while parsing request parameters.")
    params: Params = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes) and not part.get_filename():
            params[name] = payload.decode("utf-8", errors="replace")
    return params


def str_param(params: Params, name: str) -> str | None:
    """A parameter as text, as Rails would cast it; ``None`` when absent or structured."""
    value = params.get(name)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def truthy(value: object) -> bool:
    """Rails' boolean casting, for form values and JSON booleans alike."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE if value is not None else False
