"""scripts/gen-certs.sh: a CA, a SuperLink certificate with the right SANs, node key pairs."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_certificates_verify_and_keys_are_private(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    subprocess.run(["bash", str(REPO / "scripts" / "gen-certs.sh"), str(out), "2", "10.9.8.7"],
                   check=True, capture_output=True)
    verify = subprocess.run(["openssl", "verify", "-CAfile", out / "ca.crt", out / "server.pem"],
                            capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    sans = subprocess.run(["openssl", "x509", "-in", out / "server.pem", "-noout", "-ext",
                           "subjectAltName"], capture_output=True, text=True).stdout
    for name in ("DNS:localhost", "IP Address:127.0.0.1", "DNS:superlink", "IP Address:10.9.8.7"):
        assert name in sans
    for key in ("ca.key", "server.key", "node-0", "node-1"):
        assert stat.S_IMODE((out / key).stat().st_mode) == 0o600
    assert (out / "node-1.pub").read_text().startswith("ecdsa-sha2-nistp384 ")
    before = (out / "server.pem").read_bytes()
    subprocess.run(["bash", str(REPO / "scripts" / "gen-certs.sh"), str(out), "2"], check=True,
                   capture_output=True)
    assert (out / "server.pem").read_bytes() == before  # existing material is kept


def test_certificates_are_never_committed() -> None:
    ignored = subprocess.run(["git", "check-ignore", "deploy/certs/ca.key", "deploy/data/site-0.csv"],
                             cwd=REPO, capture_output=True, text=True).stdout.split()
    assert ignored == ["deploy/certs/ca.key", "deploy/data/site-0.csv"]
