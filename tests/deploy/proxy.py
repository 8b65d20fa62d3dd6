"""Real nginx from deploy/nginx.conf in front of pnav processes, with a self-signed certificate made for the test."""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from chat.settings import PROJECT_ROOT
from tests.servers import UNIT, free_port

SITE = PROJECT_ROOT / "deploy" / "nginx.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: apt-get install nginx (.ci/run does)")
    return found


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own trust anchor); returns (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pnav test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def render_site(cert: Path, key: Path, upstream_ports: list[int], https_port: int, http_port: int) -> str:
    """deploy/nginx.conf with the test's ports and certificate: every other line is the file as shipped."""
    site = SITE.read_text()
    site = re.sub(r"^\s*listen \[::\].*\n", "", site, flags=re.MULTILINE)  # the machine may have no IPv6
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = site.replace("/etc/ssl/pnav/fullchain.pem", str(cert)).replace("/etc/ssl/pnav/privkey.pem", str(key))
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ .*\n", site, flags=re.MULTILINE)
    assert servers, "deploy/nginx.conf lists no upstream server"
    listed = "".join(f"    server 127.0.0.1:{port} max_fails=3 fail_timeout=10s;\n" for port in upstream_ports)
    site = site.replace("".join(servers), listed)
    assert f"127.0.0.1:{https_port} ssl" in site and str(cert) in site
    return site


class Nginx:
    """nginx in the foreground (`daemon off`) with its own prefix, pid, logs and temp paths under ``root``."""

    def __init__(self, root: Path, cert: Path, key: Path, upstream_ports: list[int]) -> None:
        self.root = root
        self.https_port = free_port()
        self.http_port = free_port()
        self.base = f"https://127.0.0.1:{self.https_port}"
        self.ws_base = f"wss://127.0.0.1:{self.https_port}"
        (root / "site.conf").write_text(render_site(cert, key, upstream_ports, self.https_port, self.http_port))
        for folder in ("logs", "temp"):
            (root / folder).mkdir(exist_ok=True)
        # Root's nginx workers run as nobody: the few files they may open are in a folder they can reach; large
        # answers (the DSFR stylesheet) stay in memory rather than in proxy temp files.
        if os.geteuid() == 0:
            for path in (root, root / "temp"):
                path.chmod(0o755)
        temp = root / "temp"
        (root / "nginx.conf").write_text(f"""
pid {root / 'nginx.pid'};
error_log {root / 'logs' / 'error.log'} warn;
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {temp / 'body'};
    proxy_temp_path {temp / 'proxy'};
    fastcgi_temp_path {temp / 'fastcgi'};
    uwsgi_temp_path {temp / 'uwsgi'};
    scgi_temp_path {temp / 'scgi'};
    client_body_buffer_size 64k;
    proxy_max_temp_file_size 0;
    include {root / 'site.conf'};
}}
""")
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        return [nginx_binary(), "-p", str(self.root), "-c", str(self.root / "nginx.conf"),
                "-e", str(self.root / "logs" / "error.log"), *extra]

    def check(self) -> subprocess.CompletedProcess[str]:
        """`nginx -t` on the rendered configuration."""
        return subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30 * UNIT)

    def start(self) -> Nginx:
        self.process = subprocess.Popen(self.command("-g", "daemon off;"), stdout=subprocess.DEVNULL,
                                        stderr=(self.root / "logs" / "stderr.log").open("wb"))
        deadline = time.monotonic() + 20 * UNIT
        import socket

        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.errors()}")
            try:
                with socket.create_connection(("127.0.0.1", self.https_port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen: {self.errors()}")

    def errors(self) -> str:
        text = ""
        for name in ("error.log", "stderr.log"):
            path = self.root / "logs" / name
            if path.exists():
                text += path.read_text(errors="replace")[-2000:]
        return text

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: workers finish, sockets close
            try:
                self.process.wait(15 * UNIT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10 * UNIT)
