"""Finds Java 17+ and Maven, and fetches the pinned Kafka broker jars into a flat lib dir."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path

from kafka_bridge.processes import FileLock

REPO_ROOT = Path(__file__).resolve().parents[1]
POM = REPO_ROOT / "scripts" / "kafka" / "pom.xml"
DEFAULT_LIB_DIR = REPO_ROOT / ".kafka" / "lib"


class ToolMissingError(RuntimeError):
    """`java` or `mvn` is not installed (or too old)."""


@functools.cache
def java() -> str:
    """Path of a Java 17+ executable (JAVA_HOME first, then PATH)."""
    home = os.environ.get("JAVA_HOME")
    exe = str(Path(home) / "bin" / "java") if home else None
    if not exe or not Path(exe).exists():
        exe = shutil.which("java")
    if not exe:
        raise ToolMissingError(
            "java not found: Kafka 4.x needs a Java 17+ runtime "
            "(e.g. `apt-get install openjdk-17-jre-headless`) on PATH or in JAVA_HOME")
    out = subprocess.run([exe, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_x" style
        major = int(match.group(2))
    if major < 17:
        raise ToolMissingError(f"{exe} is Java {major or '?'}; Kafka 4.x needs Java 17+")
    return exe


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version pinned in scripts/kafka/pom.xml."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if not match:
        raise RuntimeError(f"no <kafka.version> in {pom}")
    return match.group(1).strip()


def jars_present(lib_dir: Path, pom: Path = POM) -> bool:
    """True when lib_dir holds the pinned broker jar and the log4j SLF4J binding."""
    if not (lib_dir / f"kafka_2.13-{kafka_version(pom)}.jar").exists():
        return False
    return any(lib_dir.glob("log4j-slf4j*-impl-*.jar"))


def ensure_jars(lib_dir: Path = DEFAULT_LIB_DIR, pom: Path = POM) -> Path:
    """Fetch the broker jars with Maven (cached in ~/.m2) unless already present."""
    lib_dir = Path(lib_dir).resolve()
    if jars_present(lib_dir, pom):
        return lib_dir
    lib_dir.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(lib_dir.parent / f".{lib_dir.name}.lock"):
        if jars_present(lib_dir, pom):
            return lib_dir
        mvn = shutil.which("mvn")
        if not mvn:
            raise ToolMissingError(
                "mvn not found: Maven fetches the Kafka jars from Maven Central "
                "(e.g. `apt-get install maven`), or copy the jars into " + str(lib_dir))
        tmp = lib_dir.with_name(f"{lib_dir.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
               "-DincludeScope=runtime", f"-DoutputDirectory={tmp}"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0 or not jars_present(tmp, pom):
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"maven could not fetch the Kafka jars:\n{res.stdout}\n{res.stderr}")
        if lib_dir.exists():
            shutil.rmtree(lib_dir)  # stale jars of another pinned version
        tmp.rename(lib_dir)
    return lib_dir
