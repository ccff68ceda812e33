"""A throwaway CA and one certificate for 127.0.0.1 (server and client alike), made with the
`openssl` command line, for TLS Redis servers, clusters and sentinels in tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

__all__ = ["TlsFiles", "make_tls_files"]


@dataclass(frozen=True)
class TlsFiles:
    ca: str
    cert: str
    key: str

    def server_args(self, port: int) -> list[str]:
        """redis-server arguments: TLS only on `port` (no plain port), clients must present a
        certificate signed by the CA (mutual TLS)."""
        return ["--port", "0", "--tls-port", str(port), "--tls-cert-file", self.cert, "--tls-key-file", self.key,
                "--tls-ca-cert-file", self.ca, "--tls-auth-clients", "yes"]

    def client_kwargs(self) -> dict[str, Any]:
        """redis-py keyword arguments of a client of those servers."""
        return {"ssl": True, "ssl_ca_certs": self.ca, "ssl_certfile": self.cert, "ssl_keyfile": self.key}

    def query(self) -> str:
        """The same as URL query parameters."""
        return "?" + "&".join(f"{k}={quote(v, safe='/')}" for k, v in self.client_kwargs().items() if k != "ssl")


def _run(args: list[str], cwd: str) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


def make_tls_files(directory: str) -> TlsFiles | None:
    """A CA and a certificate for 127.0.0.1/localhost signed by it, in `directory`; None when
    there is no `openssl` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    os.makedirs(directory, exist_ok=True)
    ext = os.path.join(directory, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth,clientAuth\n")
    _run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=dmq test CA",
          "-keyout", "ca.key", "-out", "ca.crt"], directory)
    _run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
          "-keyout", "redis.key", "-out", "redis.csr"], directory)
    _run([openssl, "x509", "-req", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-days", "2", "-extfile", "san.ext", "-out", "redis.crt"], directory)
    return TlsFiles(*(os.path.join(directory, n) for n in ("ca.crt", "redis.crt", "redis.key")))
