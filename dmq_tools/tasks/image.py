"""Built-in task: make a thumbnail of an image file with Pillow.

Same layout as the email task: type constant, JSON payload, constructor, handler, `register`.

    from dmq_tools.tasks import image
    image.register(mux)
    client.enqueue(image.new_thumbnail_task("photos/cat.jpg", width=256, height=256))

A file that is missing or is not an image archives the task at once (retrying cannot help).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import MissingDependencyError, SkipRetry
from ..task import Task

__all__ = ["TYPE_IMAGE_THUMBNAIL", "ThumbnailPayload", "new_thumbnail_task", "handle_thumbnail",
           "thumbnail_path", "register"]

TYPE_IMAGE_THUMBNAIL = "image:thumbnail"


@dataclass(frozen=True)
class ThumbnailPayload:
    src: str
    width: int = 128
    height: int = 128
    dest: str | None = None
    format: str = "PNG"


def thumbnail_path(src: str, fmt: str = "PNG") -> str:
    """Where the thumbnail goes by default: beside the source, `<stem>.thumb.<ext>`."""
    p = Path(src)
    return str(p.with_name(f"{p.stem}.thumb.{fmt.lower()}"))


def new_thumbnail_task(src: str, width: int = 128, height: int = 128, *, dest: str | None = None,
                       format: str = "PNG", **options: Any) -> Task:
    if width < 1 or height < 1:
        raise ValueError("width and height must be >= 1")
    options.setdefault("queue", "images")
    payload = asdict(ThumbnailPayload(str(src), int(width), int(height), dest, format.upper()))
    return Task(TYPE_IMAGE_THUMBNAIL, payload, **options)


def handle_thumbnail(task: Task) -> dict[str, Any]:
    """Resize keeping the aspect ratio (fits in width x height); returns where and how big."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - exercised only without Pillow
        raise MissingDependencyError("pip install dmq_tools[images]") from exc
    try:
        p = ThumbnailPayload(**(task.json() or {}))
    except TypeError as exc:
        raise SkipRetry(f"invalid thumbnail payload: {exc}") from None
    dest = p.dest or thumbnail_path(p.src, p.format)
    try:
        with Image.open(p.src) as img:
            original = img.size
            img.thumbnail((p.width, p.height))
            if p.format.upper() in ("JPEG", "JPG") and img.mode not in ("RGB", "L"):
                img = img.convert("RGB")
            img.save(dest, p.format)
            size = img.size
    except FileNotFoundError:
        raise SkipRetry(f"no such image: {p.src}") from None
    except UnidentifiedImageError:
        raise SkipRetry(f"not an image Pillow can read: {p.src}") from None
    return {"src": p.src, "dest": dest, "original": list(original), "size": list(size), "format": p.format}


def register(mux: Any) -> None:
    mux.handle(TYPE_IMAGE_THUMBNAIL, handle_thumbnail)
