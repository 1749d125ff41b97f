"""The code's shape: imports run one way (no cycles, lazy imports included) and retrieval/ never imports Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "retrieval"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every project module ``path`` imports, at the top or inside a function (``from . import x`` included), and,
    in a module that calls ``importlib.import_module``, every string literal that names a project module (the
    table of system kinds names its modules as strings)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if any(isinstance(n, ast.Attribute | ast.Name) and "import_module" in ast.unparse(n) for n in ast.walk(tree)):
        found.update(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in modules and n.value != name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
            targets = submodules or [base]  # `from . import text` imports the module text, not the package
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def graph() -> dict[str, set[str]]:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_retrieval_imports_run_one_way():
    edges = graph()
    assert "retrieval.systems" in edges["retrieval.runner"]  # the finder sees lazy and relative imports
    # ... and the modules the table of system kinds loads by name through importlib
    assert {"retrieval.bm25", "retrieval.neural.rerank", "retrieval.fusion"} <= edges["retrieval.systems"]
    # retrieval/__init__.py is the public facade: it re-exports, and nothing inside the package imports it
    assert not any("retrieval" in ts for m, ts in edges.items() if m != "retrieval")
    edges.pop("retrieval")
    assert cycles(edges) == []


def test_retrieval_never_imports_streamlit():
    offenders = [
        str(p.relative_to(ROOT))
        for p in PACKAGE.rglob("*.py")
        if any(
            isinstance(n, (ast.Import, ast.ImportFrom)) and "streamlit" in ast.unparse(n)
            for n in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        )
    ]
    assert offenders == []


def test_retrieval_never_imports_the_app():
    """The engine holds no view code: nothing in retrieval/ imports view/ or pages/ (lazy imports included)."""
    offenders = []
    for p in PACKAGE.rglob("*.py"):
        for n in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and not n.level:
                names = [n.module or ""]
            else:
                continue
            offenders += [f"{p.relative_to(ROOT)}: {m}" for m in names if m.split(".")[0] in ("view", "pages")]
    assert offenders == []


def _project_files() -> list[Path]:
    return [p for d in ("retrieval", "view", "pages", "bench", "tests") for p in (ROOT / d).rglob("*.py")] + [ROOT / "app.py"]


def test_no_code_after_return_raise_continue_or_break():
    """Dead code: a statement right after ``return``, ``raise``, ``continue`` or ``break`` in the same block never
    runs (ruff here has no rule for unreachable code)."""
    found = []
    for path in _project_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for block in (getattr(node, f, None) for f in ("body", "orelse", "finalbody")):
                if isinstance(block, list):
                    found += [
                        f"{path.relative_to(ROOT)}:{nxt.lineno}"
                        for st, nxt in zip(block, block[1:])
                        if isinstance(st, ast.Return | ast.Raise | ast.Continue | ast.Break)
                    ]
    assert found == []


def test_every_top_level_definition_is_used():
    """Dead code: every module-level function, class and constant of retrieval/, view/ and pages/ is named
    somewhere besides its own definition (code, tests or benchmarks)."""
    import re

    texts = {p: p.read_text(encoding="utf-8") for p in _project_files()}
    words: dict[str, int] = {}
    for text in texts.values():
        for w in re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", text):
            words[w] = words.get(w, 0) + 1
    unused = []
    for path, text in texts.items():
        if path.relative_to(ROOT).parts[0] not in ("retrieval", "view", "pages"):
            continue
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            else:
                continue
            unused += [f"{path.relative_to(ROOT)}: {n}" for n in names if words.get(n, 0) < 2 and not n.startswith("__")]
    assert unused == []


def test_pages_are_thin():
    """Each page holds UI only and stays under 200 lines; their shared UI lives in pages/_*.py."""
    pages = sorted(p for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_"))
    assert {p.name for p in pages} == {"compare.py", "model_size.py", "failures.py", "data_runs.py"}
    long = {p.name: n for p in pages if (n := len(p.read_text(encoding="utf-8").splitlines())) >= 200}
    assert long == {}
