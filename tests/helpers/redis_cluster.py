"""Start a real Redis Cluster (three masters) and a Sentinel set (master, replica, three sentinels)
on 127.0.0.1 from the redis-server binary the tests use. Slots and topology are set by hand over
redis-py (CLUSTER ADDSLOTSRANGE / MEET, REPLICAOF), so redis-cli is not needed. With `tls`
(tests/helpers/redis_tls.py) every server, the cluster bus, replication and the sentinels speak
TLS only."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from .redis_server import free_port
from .redis_tls import TlsFiles

__all__ = ["ClusterSet", "SentinelSet", "wake_clients"]


def cluster_port() -> int:
    """A free port below 55535 whose cluster bus port (+10000) is free too."""
    import random
    import socket

    for _ in range(200):
        port = random.randint(20000, 45000)
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for a cluster node")


def _client(port: int, tls: TlsFiles | None, **kw: Any) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, **(tls.client_kwargs() if tls else {}), **kw)


def _port_args(port: int, tls: TlsFiles | None) -> list[str]:
    return tls.server_args(port) if tls else ["--port", str(port)]


def _wait_ping(port: int, proc: subprocess.Popen, what: str, timeout: float = 10.0,
               tls: TlsFiles | None = None) -> None:
    client = _client(port, tls, socket_connect_timeout=0.2)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{what} did not start on port {port}") from None
                time.sleep(0.02)
    finally:
        client.close()


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class ClusterSet:
    """Three cluster-enabled masters sharing the 16384 slots."""

    binary: str
    masters: int = 3
    dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="dmq-test-cluster-"))
    ports: list[int] = field(default_factory=list)
    procs: list[subprocess.Popen] = field(default_factory=list)
    tls: TlsFiles | None = None

    @property
    def url(self) -> str:
        if self.tls:
            return "rediss+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports) + self.tls.query()
        return "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start(self) -> ClusterSet:
        try:
            return self._start()
        except BaseException:
            self.cleanup()     # no stray nodes when the cluster cannot form
            raise

    def _start(self) -> ClusterSet:
        for _ in range(self.masters):
            port = cluster_port()
            node_dir = os.path.join(self.dir, str(port))
            os.makedirs(node_dir)
            args = [self.binary, *_port_args(port, self.tls), "--bind", "127.0.0.1", "--dir", node_dir,
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", "2000", "--save", "", "--appendonly", "no",
                    "--protected-mode", "no", "--logfile", os.path.join(node_dir, "redis.log")]
            if self.tls:
                args += ["--tls-cluster", "yes"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.ports.append(port)
            self.procs.append(proc)
            _wait_ping(port, proc, "cluster node", tls=self.tls)
        per = 16384 // self.masters
        nodes = [_client(p, self.tls) for p in self.ports]
        for i, node in enumerate(nodes):
            first, last = i * per, (16383 if i == self.masters - 1 else (i + 1) * per - 1)
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
        for node in nodes[1:]:
            node.execute_command("CLUSTER", "MEET", "127.0.0.1", self.ports[0])
        deadline = time.monotonic() + 30
        while True:
            states = [n.execute_command("CLUSTER", "INFO") for n in nodes]
            text = [s.decode() if isinstance(s, bytes) else str(s) for s in states]
            if all("cluster_state:ok" in t and f"cluster_known_nodes:{self.masters}" in t for t in text):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster did not converge: {text[0]}")
            time.sleep(0.1)
        for n in nodes:
            n.close()
        return self

    def flush(self) -> None:
        for p in self.ports:
            node = _client(p, self.tls)
            node.flushall()
            node.close()

    def cleanup(self) -> None:
        for proc in self.procs:
            _stop(proc)
        shutil.rmtree(self.dir, ignore_errors=True)


@dataclass
class SentinelSet:
    """A master, one replica and three sentinels watching them as `mymaster` (quick failover)."""

    binary: str
    name: str = "mymaster"
    dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="dmq-test-sentinel-"))
    master_port: int = 0
    replica_port: int = 0
    sentinel_ports: list[int] = field(default_factory=list)
    procs: dict[int, subprocess.Popen] = field(default_factory=dict)
    tls: TlsFiles | None = None

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        if self.tls:
            return f"rediss+sentinel://{hosts}/{self.name}{self.tls.query()}"
        return f"redis+sentinel://{hosts}/{self.name}"

    def _server(self, port: int, extra: list[str]) -> None:
        node_dir = os.path.join(self.dir, str(port))
        os.makedirs(node_dir, exist_ok=True)
        args = [self.binary, *_port_args(port, self.tls), "--bind", "127.0.0.1", "--dir", node_dir, "--save", "",
                "--appendonly", "no", "--protected-mode", "no", "--logfile", os.path.join(node_dir, "redis.log"),
                *extra, *(["--tls-replication", "yes"] if self.tls else [])]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs[port] = proc
        _wait_ping(port, proc, "redis-server", tls=self.tls)

    def start(self) -> SentinelSet:
        try:
            return self._start()
        except BaseException:
            self.cleanup()
            raise

    def _start(self) -> SentinelSet:
        self.master_port, self.replica_port = free_port(), free_port()
        self._server(self.master_port, [])
        self._server(self.replica_port, ["--replicaof", "127.0.0.1", str(self.master_port)])
        for _ in range(3):
            port = free_port()
            conf = os.path.join(self.dir, f"sentinel-{port}.conf")
            t = self.tls
            with open(conf, "w") as f:
                f.write((f"port 0\ntls-port {port}\ntls-cert-file {t.cert}\ntls-key-file {t.key}\n"
                         f"tls-ca-cert-file {t.ca}\ntls-auth-clients yes\ntls-replication yes\n" if t else
                         f"port {port}\n") +
                        f"bind 127.0.0.1\nprotected-mode no\ndir {self.dir}\n"
                        f"sentinel monitor {self.name} 127.0.0.1 {self.master_port} 2\n"
                        f"sentinel down-after-milliseconds {self.name} 1000\n"
                        f"sentinel failover-timeout {self.name} 5000\n"
                        f"sentinel parallel-syncs {self.name} 1\n")
            proc = subprocess.Popen([self.binary, conf, "--sentinel", "--logfile",
                                     os.path.join(self.dir, f"sentinel-{port}.log")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.procs[port] = proc
            self.sentinel_ports.append(port)
            _wait_ping(port, proc, "sentinel", tls=self.tls)
        # wait until the replica is in sync and every sentinel sees it
        deadline = time.monotonic() + 30
        while True:
            rep = _client(self.replica_port, self.tls)
            info = rep.info("replication")
            rep.close()
            seen = 0
            for p in self.sentinel_ports:
                s = _client(p, self.tls)
                try:
                    seen += bool(s.sentinel_slaves(self.name))
                finally:
                    s.close()
            if info.get("master_link_status") == "up" and seen == 3:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sentinel set did not converge")
            time.sleep(0.1)
        return self

    def current_master(self) -> tuple[str, int]:
        for p in self.sentinel_ports:
            s = _client(p, self.tls)
            try:
                host, port = s.sentinel_get_master_addr_by_name(self.name)
                return (host.decode() if isinstance(host, bytes) else str(host)), int(port)
            except (redis.ConnectionError, TypeError):
                continue
            finally:
                s.close()
        raise RuntimeError("no sentinel answers")

    def kill_master(self) -> int:
        """SIGKILL the current master's process; its port."""
        _, port = self.current_master()
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return port

    def cleanup(self) -> None:
        for proc in self.procs.values():
            _stop(proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def wake_clients(cluster: ClusterSet) -> list[dict]:
    """A cluster worker's wake connections (named dmq-wake:<queue>) on every node, with the node's port."""
    found = []
    for port in cluster.ports:
        node = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
        try:
            found += [{**c, "port": port} for c in node.client_list() if c.get("name", "").startswith("dmq-wake:")]
        finally:
            node.close()
    return found
