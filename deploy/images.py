"""Build the images docker-compose.yml names from what this machine reaches, with no registry.

    fedchurn compose-images build [--env-file deploy/images.env]   (python -m deploy.images build)

Where `apache/kafka`, `flwr/*` and `python` images cannot be pulled, this builds stand-ins
for them and writes the variables that point docker-compose.yml at them (the compose file
itself is the same one users run):

- a Debian bookworm base image from Debian packages (`debootstrap`, the mirror apt already
  uses here), with Python 3.11 in /python/venv, a JRE and the user `app` (uid 49999), as in
  Flower's images;
- `flwr/superlink|supernode|superexec` stand-ins: the base with docker/requirements.lock
  installed from wheels that pip downloaded on the host (inside a container pip cannot
  verify the index's TLS certificate, and verification is never turned off);
- an `apache/kafka` stand-in from the Maven jars in .kafka/lib (docker/kafka/run reads the
  same KAFKA_* variables as the official image).

Every image is tagged with the hash of what it is built from and skipped when that tag
exists, so a warm run builds nothing (measured: 0.1 s for all of them).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from deploy.procs import DeployError

REPO = Path(__file__).resolve().parents[1]
DOCKER_DIR = REPO / "docker"
LOCK = DOCKER_DIR / "requirements.lock"
# host-side wheel cache, outside the checkout so that fresh clones (CI) on one machine share it
WHEELS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fedchurn" / "wheels"
KAFKA_LIB = REPO / ".kafka" / "lib"
SUITE = "bookworm"
# python3-venv: Debian's Python 3.11 with ensurepip; the JRE runs the Kafka stand-in (Kafka 4.1
# needs Java 17+); bash for the healthchecks' /dev/tcp probe; openssl + ssh-keygen for
# scripts/gen-certs.sh (the certs service).
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "openjdk-17-jre-headless", "bash",
                 "openssl", "openssh-client")
APP_UID = 49999
# pip's tags for CPython 3.11 on x86_64 glibc 2.36 (bookworm).
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64",
                   "linux_x86_64")
Log = Callable[[str], None]


def apt_mirror(sources_dir: Path = Path("/etc/apt/sources.list.d"),
               sources_list: Path = Path("/etc/apt/sources.list")) -> str:
    """The Debian archive URI apt uses here (deb822 `.sources` or one-line `.list` entries)."""
    candidates: list[tuple[str, str]] = []  # (uri, suites)
    for path in sorted(sources_dir.glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, flags=re.M))
            if "deb" in fields.get("Types", "").split():
                candidates += [(uri, fields.get("Suites", "")) for uri in fields.get("URIs", "").split()]
    for path in [sources_list, *sorted(sources_dir.glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                parts = re.sub(r"\[[^]]*\]", "", line).split()
                if len(parts) >= 3 and parts[0] == "deb":
                    candidates.append((parts[1], parts[2]))
    for uri, suites in candidates:
        if SUITE in suites.split() and "security" not in uri:
            return uri.rstrip("/")
    raise DeployError(f"no Debian '{SUITE}' archive in {sources_dir} or {sources_list}: add one "
                      "or pass --mirror URI")


def digest(*parts: str | bytes) -> str:
    """12 hex digits of the sha256 of the parts: the tag of an image built from them."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:12]


def docker(*args: str, timeout: float = 1800, stdin: int | None = None) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, stdin=stdin)
    if done.returncode != 0:
        raise DeployError(f"docker {' '.join(args[:3])} failed ({done.returncode}):\n"
                          f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def image_exists(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def build_base(mirror: str, log: Log) -> str:
    """fedchurn-base:bookworm-<hash>: debootstrap + venv + user app; skipped when present."""
    tag = f"fedchurn-base:{SUITE}-{digest(SUITE, mirror, *BASE_PACKAGES, str(APP_UID), 'v1')}"
    if image_exists(tag):
        log(f"base {tag}: present")
        return tag
    if shutil.which("debootstrap") is None:
        raise DeployError("debootstrap is missing: apt-get install -y debootstrap")
    with tempfile.TemporaryDirectory(prefix="fedchurn-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        started = time.monotonic()
        done = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
                               SUITE, str(rootfs), mirror], capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise DeployError(f"debootstrap failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
                              f"{done.stderr[-2000:]}")
        setup = (f"set -e; groupadd -g {APP_UID} app;"
                 f" useradd -u {APP_UID} -g app -d /app -M -s /bin/bash app;"
                 " python3 -m venv /python/venv; mkdir -p /app; chown -R app:app /python /app;"
                 " apt-get clean; rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /usr/share/doc/*"
                 " /usr/share/man/* /usr/share/locale/*")
        done = subprocess.run(["chroot", str(rootfs), "/bin/bash", "-c", setup], capture_output=True,
                              text=True, timeout=300, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        if done.returncode != 0:
            raise DeployError(f"base setup in the rootfs failed:\n{done.stdout}\n{done.stderr}")
        log(f"base rootfs: debootstrap {mirror} in {time.monotonic() - started:.0f} s")
        changes = ["ENV PATH=/python/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "ENV LANG=C.UTF-8", "WORKDIR /app", "USER app"]
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                               stdout=subprocess.PIPE)
        assert tar.stdout is not None
        docker("import", *[a for c in changes for a in ("--change", c)], "-", tag, stdin=tar.stdout.fileno())
        tar.wait()
    log(f"base {tag}: built")
    return tag


def download_wheels(lock: Path, dest: Path, log: Log) -> None:
    """Wheels for every pin of `lock` (CPython 3.11, manylinux x86_64) in `dest`."""
    stamp = dest / f".complete-{digest(lock.read_bytes(), *WHEEL_PLATFORMS)}"
    if not stamp.exists():
        started = time.monotonic()
        dest.mkdir(parents=True, exist_ok=True)
        platform_args = [a for p in WHEEL_PLATFORMS for a in ("--platform", p)]
        # --no-deps: the lock is complete; it also lets pip fetch sdists (antlr4-python3-runtime
        # has no wheel), which are turned into pure-Python wheels on the host below.
        pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "download", "--no-deps", "--prefer-binary", "-d", str(dest),
                        "--python-version", "3.11", "--implementation", "cp", *platform_args,
                        "-r", str(lock)], check=True, timeout=1200)
        for sdist in [*dest.glob("*.tar.gz"), *dest.glob("*.zip")]:
            subprocess.run([*pip, "wheel", "--no-deps", "-w", str(dest), str(sdist)], check=True, timeout=600)
            sdist.unlink()
        for old in dest.glob(".complete-*"):
            old.unlink()
        stamp.touch()
        log(f"wheels: {len(list(dest.glob('*.whl')))} in {dest} ({time.monotonic() - started:.0f} s)")


def build_context(files: Mapping[str, Path], into: Path) -> None:
    """Hard-link (or copy) files into a fresh build context."""
    for name, src in files.items():
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target)
        except OSError:
            shutil.copy2(src, target)


def build_flwr(base: str, log: Log) -> dict[str, str]:
    """flwr/superlink|supernode|superexec stand-ins (docker/flwr/Dockerfile targets)."""
    dockerfile = DOCKER_DIR / "flwr" / "Dockerfile"
    # the lock and the platforms fix the wheels, so a warm run needs no pip at all
    version = digest(base, LOCK.read_bytes(), *WHEEL_PLATFORMS, dockerfile.read_bytes())
    tags = {role: f"fedchurn-flwr-{role}:1.42.0-{version}"
            for role in ("superlink", "supernode", "superexec")}
    if all(image_exists(t) for t in tags.values()):
        log(f"flwr stand-ins {version}: present")
        return tags
    download_wheels(LOCK, WHEELS, log)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fedchurn-flwr-") as tmp:
        ctx = Path(tmp)
        build_context({"Dockerfile": dockerfile, "requirements.lock": LOCK,
                       **{f"wheels/{p.name}": p for p in WHEELS.glob("*.whl")}}, ctx)
        for role, tag in tags.items():
            docker("build", "-q", "--build-arg", f"BASE_IMAGE={base}", "--target", role, "-t", tag, str(ctx))
    log(f"flwr stand-ins {version}: built in {time.monotonic() - started:.0f} s")
    return tags


def build_kafka(base: str, log: Log) -> str:
    """apache/kafka stand-in from the Maven jars (fetched by kafka_bridge if missing)."""
    from kafka_bridge import _jars

    _jars.ensure_jars(KAFKA_LIB)
    jars = sorted(KAFKA_LIB.glob("*.jar"))
    kafka_dir = DOCKER_DIR / "kafka"
    recipe = sorted(p for p in kafka_dir.iterdir() if p.is_file())
    version = digest(base, *(j.name for j in jars), *(p.read_bytes() for p in recipe))
    tag = f"fedchurn-kafka:4.1-{version}"
    if image_exists(tag):
        log(f"kafka {tag}: present")
        return tag
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fedchurn-kafka-") as tmp:
        build_context({**{p.name: p for p in recipe}, **{f"libs/{j.name}": j for j in jars}}, Path(tmp))
        docker("build", "-q", "--build-arg", f"BASE_IMAGE={base}", "-t", tag, tmp)
    log(f"kafka {tag}: built in {time.monotonic() - started:.0f} s")
    return tag


def build_all(mirror: str | None = None, log: Log = print) -> dict[str, str]:
    """Build (or find) every stand-in; the compose variables that select them."""
    timings: dict[str, float] = {}
    started = time.monotonic()
    base = build_base(mirror or apt_mirror(), log)
    timings["base"] = time.monotonic() - started
    started = time.monotonic()
    flwr = build_flwr(base, log)
    kafka = build_kafka(base, log)
    timings["stand-ins"] = time.monotonic() - started
    log("image phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    return {"FEDCHURN_BROKER_IMAGE": kafka, "FEDCHURN_SUPERLINK_IMAGE": flwr["superlink"],
            "FEDCHURN_SUPERNODE_IMAGE": flwr["supernode"], "FEDCHURN_SUPEREXEC_IMAGE": flwr["superexec"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fedchurn compose-images", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build", help="build the stand-in images; print the compose variables")
    build.add_argument("--mirror", help="Debian archive URI (default: the one apt uses)")
    build.add_argument("--env-file", type=Path,
                       help="also write the variables here (docker compose --env-file)")
    args = parser.parse_args(argv)
    try:
        env = build_all(args.mirror, log=lambda m: print(m, file=sys.stderr, flush=True))
    except (DeployError, subprocess.CalledProcessError) as exc:
        print(f"deploy.images: {exc}", file=sys.stderr)
        return 1
    text = "".join(f"{k}={v}\n" for k, v in env.items())
    if args.env_file:
        args.env_file.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
