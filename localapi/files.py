"""Files: what the bot uploads and what simulated users send, ``getFile`` and downloads."""

from __future__ import annotations

import io
import mimetypes
import re
import secrets
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from aiohttp import web

from localapi.core import ServerCore
from localapi.limits import MAX_DOWNLOAD_SIZE, MAX_UPLOAD_SIZE
from localapi.protocol import TOKEN_RE, ApiError, api, bad, json_response

__all__ = ["FilesMixin", "StoredFile", "Upload", "image_size"]


@dataclass
class Upload:
    """A file in a multipart request."""

    file_name: str
    data: bytes
    mime_type: str | None


@dataclass
class StoredFile:
    """A file known to the server (uploaded by the bot or by a simulated user)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_name: str | None
    mime_type: str | None
    kind: str  # "document" or "photo"
    width: int = 0
    height: int = 0
    file_path: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)

    def document_dict(self) -> dict:
        data: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        data["file_size"] = self.file_size
        return data

    def photo_sizes(self) -> list[dict]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": self.file_size,
            }
        ]


class FilesMixin(ServerCore):
    _files: dict[str, StoredFile]
    _files_by_path: dict[str, StoredFile]
    _file_paths: int

    def file(self, file_id: str) -> StoredFile:
        """A stored file by id (raises LookupError)."""
        try:
            return self._files[file_id]
        except KeyError:
            raise LookupError(f"unknown file_id {file_id!r}") from None

    def _store_file(
        self,
        data: bytes,
        *,
        file_name: str | None,
        mime_type: str | None,
        kind: str,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        prefix = "BQACAgIAAxkBAAI" if kind == "document" else "AgACAgIAAxkBAAI"
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(36),
            file_unique_id="AgAD" + secrets.token_urlsafe(9),
            data=data,
            file_name=file_name,
            mime_type=mime_type,
            kind=kind,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        return stored

    def _input_file(self, params: dict, files: dict[str, Upload], name: str) -> StoredFile | Upload:
        """The file given in parameter ``name``: a new upload or a known stored file."""
        upload = files.get(name)
        if upload is None:
            value = params.get(name)
            if value is None or value == "":
                raise bad(f"there is no {name} in the request")
            if not isinstance(value, str):
                raise bad("wrong file identifier/HTTP URL specified")
            if value.startswith("attach://"):
                upload = files.get(value[len("attach://") :])
                if upload is None:
                    raise bad(f'can\'t find attached file "{value[len("attach://") :]}"')
            else:
                stored = self._files.get(value)
                if stored is None:
                    # Covers HTTP URLs too: this server never fetches anything from the internet.
                    raise bad("wrong file identifier/HTTP URL specified")
                return stored
        if not upload.data:
            raise bad("file must be non-empty")
        if len(upload.data) > MAX_UPLOAD_SIZE:
            raise ApiError(413, "Request Entity Too Large")
        return upload

    @api("getFile")
    async def _get_file(self, params: dict, files: dict) -> dict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise bad("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise bad("file is too big")
        if stored.file_path is None:
            self._file_paths += 1
            if stored.kind == "photo":
                path = f"photos/file_{self._file_paths}.jpg"
            else:
                suffix = PurePosixPath(stored.file_name or "").suffix.lower()
                if not re.fullmatch(r"\.[a-z0-9]{1,10}", suffix):
                    suffix = mimetypes.guess_extension(stored.mime_type or "") or ""
                path = f"documents/file_{self._file_paths}{suffix}"
            stored.file_path = path
            self._files_by_path[path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        """``GET /file/bot<token>/<file_path>``: the bytes of a file ``getFile`` named."""
        if not TOKEN_RE.match(request.match_info["token"]):
            return json_response(ApiError(401, "Unauthorized").payload(), 401)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return json_response(ApiError(404, "Not Found").payload(), 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of an image, or None if it isn't one Telegram would accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    try:
        from PIL import Image  # optional; used for formats other than PNG
    except ImportError:  # pragma: no cover - depends on the environment
        return (0, 0) if data else None
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
