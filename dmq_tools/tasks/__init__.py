"""Built-in tasks, with the origin guide's constructors and type names.

    from dmq_tools.tasks import (new_email_delivery_task, new_image_resize_task,
                                 new_data_export_task, register_builtin)
    register_builtin(mux)      # email:deliver, image:resize (+ image:thumbnail), data:export

Each module keeps asynq's layout (type constant, JSON payload, constructor, handler,
`register(mux)`): `email` (SMTP), `image` (Pillow), `data_export` (CSV/Parquet), `demo` (the
`dmq demo` handlers). Files are confined to MEDIA_ROOT; malformed payloads are SkipRetry.
"""

from __future__ import annotations

from typing import Any

from ..config import Settings
from .data_export import TYPE_DATA_EXPORT, new_data_export_task
from .email import TYPE_EMAIL_DELIVERY, new_email_delivery_task
from .image import TYPE_IMAGE_RESIZE, TYPE_IMAGE_THUMBNAIL, new_image_resize_task

__all__ = ["new_email_delivery_task", "new_image_resize_task", "new_data_export_task", "register_builtin",
           "builtin_mux", "TYPE_EMAIL_DELIVERY", "TYPE_IMAGE_RESIZE", "TYPE_IMAGE_THUMBNAIL", "TYPE_DATA_EXPORT"]


def register_builtin(mux: Any, settings: Settings | None = None, *, export_source: Any = None) -> Any:
    """Register every built-in handler on `mux`, as the guide's mux.HandleFunc lines do.

    `settings` None: each task reads the settings (environment over ./.env) when it runs.
    Returns the mux."""
    from . import data_export, email, image

    email.register(mux, settings)
    image.register(mux, settings)
    data_export.register(mux, settings, export_source)
    return mux


def builtin_mux(settings: Settings | None = None) -> Any:
    """A ServeMux with the built-in tasks (what `dmq worker` serves without --app)."""
    from ..worker import ServeMux

    return register_builtin(ServeMux(), settings)
