"""``multipart/related`` bodies, the envelope DICOMweb puts DICOM files in (PS3.18 8.6.1.2)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


class MultipartError(ValueError):
    """A body that does not split into the parts its Content-Type announces."""


def encode(parts: Iterable[bytes], part_type: str) -> tuple[bytes, str]:
    """The body holding ``parts`` and its Content-Type header value."""
    boundary = uuid.uuid4().hex
    body = bytearray()
    for part in parts:
        body += f"--{boundary}\r\nContent-Type: {part_type}\r\n\r\n".encode()
        body += part + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f'multipart/related; type="{part_type}"; boundary={boundary}'


def decode(body: bytes, content_type: str) -> list[bytes]:
    """The part bodies of a ``multipart/related`` response, headers stripped."""
    match = _BOUNDARY.search(content_type)
    if not content_type.lower().startswith("multipart/") or not match:
        raise MultipartError(f"expected a multipart body, got {content_type!r}")
    delimiter = b"--" + match[1].encode()
    chunks = body.split(b"\r\n" + delimiter)
    first = chunks[0]
    if not first.startswith(delimiter):
        raise MultipartError("the body does not start with its boundary")
    chunks[0] = first[len(delimiter) :]
    parts = []
    for chunk in chunks:
        if chunk.startswith(b"--"):
            return parts  # the closing delimiter
        headers_end = chunk.find(b"\r\n\r\n")
        if headers_end < 0:
            raise MultipartError("a part has no header block")
        parts.append(chunk[headers_end + 4 :])
    raise MultipartError("the body ends before its closing boundary")
