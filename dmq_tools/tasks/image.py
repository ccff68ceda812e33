"""Built-in tasks: resize an image (`image:resize`, the guide's) and make a thumbnail beside it
(`image:thumbnail`), with Pillow. Same layout as the email task: type constants, JSON payloads,
constructors, handlers, `register`.

    from dmq_tools.tasks import new_image_resize_task
    client.enqueue(new_image_resize_task("uploads/image.jpg", "uploads/thumb.jpg", 300, 200))

Paths are relative to the media root (MEDIA_ROOT, default ./media) and never leave it (see
`_media`). The image is fitted into width x height keeping its aspect ratio and is never made
larger than it was. Pixel counts are capped on both sides (Pillow's decompression-bomb limit is
set from `max_pixels`, and the requested box is capped too). A payload that cannot succeed
(bad JSON, wrong types, unknown format, zero sizes, a missing file, a directory, not an image)
archives the task at once with SkipRetry naming the problem.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from typing import Any
from collections.abc import Callable

from ..config import Settings, load_settings
from ..errors import MissingDependencyError, SkipRetry
from ..task import Task
from ._media import MediaRoot, check_relative
from ._payload import payload_object, require_int, require_str

__all__ = ["TYPE_IMAGE_RESIZE", "TYPE_IMAGE_THUMBNAIL", "ImageResizePayload", "ThumbnailPayload",
           "new_image_resize_task", "new_thumbnail_task", "handle_image_resize", "handle_thumbnail",
           "thumbnail_path", "register", "FORMATS", "MAX_PIXELS", "MAX_SIDE"]

TYPE_IMAGE_RESIZE = "image:resize"
TYPE_IMAGE_THUMBNAIL = "image:thumbnail"
#: Formats a task may write, by name and by file suffix.
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "JPG": "JPEG", "WEBP": "WEBP", "GIF": "GIF", "BMP": "BMP"}
#: Largest source image, in pixels (Pillow refuses twice this as a decompression bomb).
MAX_PIXELS = 50_000_000
#: Largest requested side of the output box.
MAX_SIDE = 10_000


@dataclass(frozen=True)
class ImageResizePayload:
    """The guide's payload: source, destination, the box to fit into."""

    src: str
    dst: str
    width: int
    height: int


@dataclass(frozen=True)
class ThumbnailPayload:
    src: str
    width: int = 128
    height: int = 128
    dest: str | None = None
    format: str = "PNG"


def thumbnail_path(src: str, fmt: str = "PNG") -> str:
    """Where the thumbnail goes by default: beside the source, `<stem>.thumb.<ext>`."""
    p = PurePosixPath(src)
    return str(p.with_name(f"{p.stem}.thumb.{fmt.lower()}"))


def _check_box(width: Any, height: Any) -> tuple[int, int]:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        if not 1 <= value <= MAX_SIDE:
            raise ValueError(f"{name} must be between 1 and {MAX_SIDE}, got {value}")
    return width, height


def new_image_resize_task(src: str, dst: str, width: int, height: int, **options: Any) -> Task:
    """The guide's NewImageResizeTask: fit `src` into width x height, written to `dst`."""
    _check_box(width, height)
    try:
        check_relative(src, "src")
        check_relative(dst, "dst")
        _format_of(dst)
    except SkipRetry as exc:     # refused here, before anything is queued
        raise ValueError(str(exc)) from None
    return Task(TYPE_IMAGE_RESIZE, asdict(ImageResizePayload(src, dst, width, height)), **options)


def new_thumbnail_task(src: str, width: int = 128, height: int = 128, *, dest: str | None = None,
                       format: str = "PNG", **options: Any) -> Task:
    _check_box(width, height)
    if format.upper() not in FORMATS:
        raise ValueError(f"unknown image format {format!r}; expected one of {', '.join(sorted(FORMATS))}")
    options.setdefault("queue", "images")
    payload = asdict(ThumbnailPayload(str(src), int(width), int(height), dest, format.upper()))
    return Task(TYPE_IMAGE_THUMBNAIL, payload, **options)


def _format_of(dst: str, given: object = None) -> str:
    name = given if given is not None else PurePosixPath(dst).suffix.lstrip(".")
    if not isinstance(name, str) or name.upper() not in FORMATS:
        raise SkipRetry(f"unknown image format {name!r} for {dst!r}; expected one of {', '.join(sorted(FORMATS))}")
    return FORMATS[name.upper()]


def _resize(media: MediaRoot, src: str, dst: str, box: tuple[int, int], fmt: str,
            max_pixels: int) -> dict[str, Any]:
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - exercised only without Pillow
        raise SkipRetry(str(MissingDependencyError("the image tasks need Pillow: pip install dmq_tools[images]"))
                        ) from exc
    if box[0] * box[1] > max_pixels:
        raise SkipRetry(f"requested {box[0]}x{box[1]} is more than {max_pixels} pixels")
    Image.MAX_IMAGE_PIXELS = max_pixels   # set explicitly: Pillow refuses 2x this as a bomb
    with media.open_read(src, "src") as fh:
        try:
            with Image.open(fh) as img:
                original = img.size
                if original[0] * original[1] > max_pixels:
                    raise SkipRetry(f"{src!r} is {original[0]}x{original[1]}, more than {max_pixels} pixels")
                img.thumbnail(box)          # fits into the box, never enlarges
                out = img
                if fmt == "JPEG" and out.mode not in ("RGB", "L"):
                    out = out.convert("RGB")
                buf = io.BytesIO()
                out.save(buf, fmt)
                size = out.size
        except UnidentifiedImageError:
            raise SkipRetry(f"not an image Pillow can read: {src!r}") from None
        except Image.DecompressionBombError as exc:
            raise SkipRetry(f"{src!r} refused as a decompression bomb: {exc}") from None
        except (OSError, ValueError, SyntaxError) as exc:   # truncated or corrupt data
            raise SkipRetry(f"cannot decode {src!r}: {exc}") from None
    with media.open_write(dst, "dst") as out_fh:
        out_fh.write(buf.getvalue())
    return {"src": src, "dst": dst, "path": str(media.path_of(dst)), "original": list(original),
            "size": list(size), "format": fmt}


def handle_image_resize(task: Task, settings: Settings | None = None) -> dict[str, Any]:
    """Fit `src` into width x height (aspect kept, never enlarged) and write `dst`."""
    s = settings or load_settings()
    data = payload_object(task, "image:resize")
    src, dst = require_str(data, "src"), require_str(data, "dst")
    width, height = require_int(data, "width", 1, MAX_SIDE), require_int(data, "height", 1, MAX_SIDE)
    check_relative(src, "src")
    check_relative(dst, "dst")
    fmt = _format_of(dst, data.get("format"))
    return _resize(MediaRoot(s.media_root), src, dst, (width, height), fmt, s.image_max_pixels)


def handle_thumbnail(task: Task, settings: Settings | None = None) -> dict[str, Any]:
    """The thumbnail task: like image:resize, `dest` defaulting to `<stem>.thumb.<ext>` beside `src`."""
    s = settings or load_settings()
    data = payload_object(task, "image:thumbnail")
    unknown = set(data) - {"src", "width", "height", "dest", "format"}
    if unknown:
        raise SkipRetry(f"invalid image:thumbnail payload: unknown field(s) {sorted(unknown)}")
    src = require_str(data, "src")
    width = require_int(data, "width", 1, MAX_SIDE, default=128)
    height = require_int(data, "height", 1, MAX_SIDE, default=128)
    fmt = _format_of("", data.get("format", "PNG"))
    check_relative(src, "src")
    dest = require_str(data, "dest", default=None) or thumbnail_path(src, fmt)
    check_relative(dest, "dest")
    result = _resize(MediaRoot(s.media_root), src, dest, (width, height), fmt, s.image_max_pixels)
    result["dest"] = result.pop("dst")
    return result


def _bound(handler: Callable[[Task, Settings | None], dict[str, Any]], settings: Settings | None
           ) -> Callable[[Task], dict[str, Any]]:
    return lambda task: handler(task, settings)


def register(mux: Any, settings: Settings | None = None) -> None:
    """Route image:resize and image:thumbnail on a ServeMux (settings None: read at each task)."""
    mux.handle(TYPE_IMAGE_RESIZE, _bound(handle_image_resize, settings))
    mux.handle(TYPE_IMAGE_THUMBNAIL, _bound(handle_thumbnail, settings))
