"""A tiny SMTP server on 127.0.0.1 for the email task tests (no third-party dependency).

Recipients containing "reject" get a permanent 550, "busy" a transient 451; messages are kept
in `.messages` as (mail_from, rcpt_tos, raw bytes).
"""

from __future__ import annotations

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def _reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        server: SMTPServer = self.server.owner  # type: ignore[attr-defined]
        self._reply("220 localhost test SMTP")
        mail_from, rcpts = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 localhost")
            elif verb == "MAIL":
                mail_from, rcpts = line.split(":", 1)[1].strip(" <>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                addr = line.split(":", 1)[1].strip(" <>")
                if "reject" in addr:
                    self._reply("550 5.1.1 no such user")
                elif "busy" in addr:
                    self._reply("451 4.3.0 try again later")
                else:
                    rcpts.append(addr)
                    self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with <CRLF>.<CRLF>")
                data = bytearray()
                while True:
                    chunk = self.rfile.readline()
                    if not chunk or chunk == b".\r\n":
                        break
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                server.messages.append((mail_from, list(rcpts), bytes(data)))
                self._reply("250 OK queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:  # RSET, NOOP, ...
                self._reply("250 OK")


class SMTPServer:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self._srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._srv.daemon_threads = True
        self._srv.owner = self  # type: ignore[attr-defined]
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever, name="test-smtp", daemon=True)

    def __enter__(self) -> SMTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._srv.shutdown()
        self._srv.server_close()
