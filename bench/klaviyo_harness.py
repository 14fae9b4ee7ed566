"""One Klaviyo emulator for the delivery benchmarks, reachable the way each client needs it.

Run as its own process (`python bench/klaviyo_harness.py --dir D`) so the
emulator does not share a GIL with the client being measured. It serves one
`KlaviyoEmulator` (one state, one fault switch, one set of rate-limit buckets)
three ways:

- plain HTTP with the CONTRACT §5 prefix (`http://127.0.0.1:P/klaviyo`): Segue's
  `KLAVIYO_BASE_URL` points here;
- HTTPS at the root, with a certificate for `a.klaviyo.com` signed by a CA made
  for this run (`D/ca.pem`);
- a forward proxy that answers `CONNECT a.klaviyo.com:443` by tunnelling the
  bytes to that HTTPS listener (any other host is refused with 403).

A client whose Klaviyo host is fixed (drt-core: `https://a.klaviyo.com/api`,
httpx) reaches the emulator unchanged through the standard variables its HTTP
client honours: `HTTPS_PROXY=http://127.0.0.1:<proxy>` and
`SSL_CERT_FILE=D/ca.pem`. The proxy never decrypts anything: TLS ends at the
emulator, which holds the certificate. Ports are written to `D/ports.json`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import select
import socket
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "a.klaviyo.com"


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for a.klaviyo.com (valid one day)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Segue bench CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pump(a: socket.socket, b: socket.socket) -> None:
    sockets = [a, b]
    try:
        while True:
            readable, _, _ = select.select(sockets, [], [], 60)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (b if sock is a else a).sendall(data)
    except OSError:
        return
    finally:
        a.close()
        b.close()


def _proxy_client(conn: socket.socket, tls_port: int) -> None:
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk:
            conn.close()
            return
        head += chunk
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split()
    if len(request_line) < 2 or request_line[0] != "CONNECT" or request_line[1] != f"{HOST}:443":
        conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    upstream = socket.create_connection(("127.0.0.1", tls_port))
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    _pump(conn, upstream)


def serve_proxy(port: int, tls_port: int) -> None:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(128)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=_proxy_client, args=(conn, tls_port), daemon=True).start()


def serve(folder: Path) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from destinations.klaviyo.emulator import KlaviyoEmulator

    _ca, cert, key = make_certificates(folder)
    # This process holds every profile it was sent (100k+ long-lived dicts). With CPython's default
    # thresholds (700, 10, 10) the collector rescans them every few thousand allocations: about a third
    # of the emulator's CPU for a 10,000-profile job (parsing + storing). Collections every 100,000
    # allocations change nothing it answers, only how much of the shared machine it takes.
    gc.set_threshold(100_000, 50, 1000)
    emulator = KlaviyoEmulator()
    ports = {"http": _free_port(), "https": _free_port(), "proxy": _free_port()}
    plain = Starlette(routes=[Mount("/klaviyo", app=emulator.app())])
    servers = [
        uvicorn.Server(uvicorn.Config(plain, port=ports["http"], log_level="critical", access_log=False)),
        uvicorn.Server(
            uvicorn.Config(
                emulator.app(),
                port=ports["https"],
                log_level="critical",
                access_log=False,
                ssl_certfile=str(cert),
                ssl_keyfile=str(key),
            )
        ),
    ]
    for server in servers:
        threading.Thread(target=server.run, daemon=True).start()
    threading.Thread(target=serve_proxy, args=(ports["proxy"], ports["https"]), daemon=True).start()
    while not all(s.started for s in servers):
        time.sleep(0.02)
    (folder / "ports.json").write_text(json.dumps(ports))
    while True:
        time.sleep(3600)


class Harness:
    """Start the harness process, talk to its fault switch and state, stop it."""

    def __init__(self, folder: Path):
        import subprocess

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, __file__, "--dir", str(folder)])
        deadline = time.monotonic() + 300  # under nice -n 19 on a loaded machine, its imports alone take a while
        while not (folder / "ports.json").exists():
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                raise RuntimeError("the Klaviyo harness did not start")
            time.sleep(0.1)
        self.ports = json.loads((folder / "ports.json").read_text())
        self.base_url = f"http://127.0.0.1:{self.ports['http']}/klaviyo"
        self.ca = folder / "ca.pem"

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        import requests

        response = requests.request(method, f"{self.base_url}/__emulator__/{path}", json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    def faults(self, **settings) -> dict:
        return self._call("POST", "faults", settings)

    def reset(self) -> None:
        self._call("POST", "reset")

    def state(self) -> dict:
        return self._call("GET", "state")

    def cpu_seconds(self) -> float:
        """CPU time (user + sys) the emulator process has used so far (Linux /proc): on a shared machine
        the work it did, where its wall time is mostly waiting for a core."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def proxy_env(self) -> dict[str, str]:
        """What a client whose host is fixed needs to reach the emulator: the standard proxy and CA variables."""
        return {
            "HTTPS_PROXY": f"http://127.0.0.1:{self.ports['proxy']}",
            "https_proxy": f"http://127.0.0.1:{self.ports['proxy']}",
            "SSL_CERT_FILE": str(self.ca),
            "NO_PROXY": "",
            "no_proxy": "",
        }

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    serve(Path(parser.parse_args().dir))
