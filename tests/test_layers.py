"""The package's layers: no module imports one above it in the pipeline, lazily or not; and the
scripts beside it (benchmarks, training tools) import only names the package has."""

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

import qa

LAYERS = [
    {"errors", "records", "text", "formats", "loader", "chunker", "linear", "_offline", "memory"},  # corpus
    {"embedder", "index", "store"},
    {"question", "followup"},
    {"answer_type", "ranker", "retriever"},  # retrieve
    {"reader", "rerank"},  # read
    {"engine", "confidence", "render"},  # answer
    {"evaluate", "live", "upload", "app", "api", "cli", "__init__"},
]
LAYER = {module: level for level, modules in enumerate(LAYERS) for module in modules}
PACKAGE = Path(qa.__file__).parent


def imported(module: str) -> set[str]:
    """The qa modules `module` imports anywhere in its code."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "qa":
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa."):
            names.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[1] for alias in node.names if alias.name.startswith("qa."))
    return names


def test_every_module_has_a_layer():
    assert {path.stem for path in PACKAGE.glob("*.py")} == set(LAYER)


def test_no_module_imports_one_above_it():
    upward = {(module, other) for module in LAYER for other in imported(module) if LAYER[other] > LAYER[module]}
    assert upward == set()


def test_the_word_helpers_depend_on_nothing_in_the_package():
    assert imported("text") == set()


SCRIPTS = sorted((PACKAGE.parent / "bench").glob("*.py")) + sorted((PACKAGE.parent / "tools").glob("*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_a_script_imports_only_names_the_package_has(script):
    """Scripts import lazily, inside the function that needs it, so a renamed name would only
    fail when that part runs (a benchmark, an hour in)."""
    missing = []
    for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "qa":
            module = importlib.import_module(node.module)
            missing += [f"{node.module}.{alias.name}" for alias in node.names
                        if not hasattr(module, alias.name)
                        and importlib.util.find_spec(f"{node.module}.{alias.name}") is None]
    assert missing == []
