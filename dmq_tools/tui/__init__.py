"""The terminal dashboard (`dmq dash`): Textual views over the Inspector (the `tui` extra)."""

from .app import DashApp

__all__ = ["DashApp"]
