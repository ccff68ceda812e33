"""How a payload's bytes are shown: the JSON value, else printable text, else the bytes, written
as "base64:<...>" where text is needed. One rule for models, exports and HTML views."""

from __future__ import annotations

import base64
from typing import Any

from . import _json

__all__ = ["base64_text", "decode_payload"]

_LINE_BREAKS = str.maketrans("", "", "\n\r\t")


def decode_payload(payload: bytes | None) -> Any:
    """JSON value if the payload is JSON, text if it is printable UTF-8, else the bytes unchanged."""
    if payload is None:
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload
    if not text.isprintable() and not text.translate(_LINE_BREAKS).isprintable():
        return payload  # valid UTF-8 but not printable: asynq shows these as bytes too
    try:
        return _json.loads(text)
    except ValueError:
        return text


def base64_text(data: bytes) -> str:
    """Binary data (neither JSON nor printable text) as text: "base64:<...>"."""
    return "base64:" + base64.b64encode(data).decode()
