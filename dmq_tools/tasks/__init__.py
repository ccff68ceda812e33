"""Built-in tasks (type constant, payload, constructor, handler, `register(mux)` each):
`email` (SMTP delivery), `image` (Pillow thumbnails), `demo` (the `dmq demo` handlers)."""
