"""The package's layering, read from its source: train/ and rag/ never import eval/, eval/ never
imports a model library or the pipeline, no module imports itself through others, no function in
the package runs over 60 lines, and `ftvsrag report` re-scores with the model libraries gone."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "ftvsrag": ROOT / "ftvsrag",
    "ftvsrag.train": ROOT / "train",
    "ftvsrag.rag": ROOT / "rag",
    "ftvsrag.eval": ROOT / "eval",
}
MODEL_LIBRARIES = ("torch", "transformers", "chromadb", "peft", "trl", "accelerate", "sentence_transformers")
LONGEST_FUNCTION = 60


def _modules() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts and parts[0] in ("train", "rag", "eval") and package == "ftvsrag":
                continue  # only in the checkout's layout, never on the installed path
            modules[".".join([package, *parts])] = path
    return modules


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (`from a import b` counts as
    `a.b` when that is a module of ours, else `a`)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in MODULES else node.module)
    return found


def test_train_and_rag_never_import_eval():
    for name, path in MODULES.items():
        if name.startswith(("ftvsrag.train", "ftvsrag.rag")):
            offending = [module for module in _imports(path) if module.startswith("ftvsrag.eval")]
            assert not offending, f"{name} imports {offending}"


def test_eval_imports_no_model_library_and_no_pipeline():
    allowed = (
        "ftvsrag.eval",
        "ftvsrag.text",
        "ftvsrag.names",
        "ftvsrag.registry",
        "ftvsrag.errors",
        "ftvsrag.files",
    )
    for name, path in MODULES.items():
        if name.startswith("ftvsrag.eval"):
            for module in _imports(path):
                assert not module.startswith(MODEL_LIBRARIES), f"{name} imports {module}"
                if module.startswith("ftvsrag"):
                    assert module.startswith(allowed), f"{name} imports {module}"


def test_no_import_circle():
    graph = {
        name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()
    }
    done, stack = set(), []

    def visit(name: str) -> None:
        if name in stack:
            raise AssertionError("import circle: " + " -> ".join([*stack[stack.index(name) :], name]))
        if name in done:
            return
        stack.append(name)
        for target in sorted(graph[name]):
            visit(target)
        stack.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_no_function_in_the_package_runs_over_60_lines():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > LONGEST_FUNCTION:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long


BLOCKER = """
import sys
class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not importable in this test")
sys.meta_path.insert(0, Blocked())
from ftvsrag.cli import main
raise SystemExit(main(["report", {run!r}]))
"""


@pytest.mark.slow
def test_report_rescores_with_torch_transformers_and_chromadb_unimportable(tmp_path):
    run = tmp_path / "slice"
    shutil.copytree(ROOT / "tests" / "data" / "slice_run", run)
    (run / "results.json").unlink()
    script = BLOCKER.format(blocked=set(MODEL_LIBRARIES), run=str(run))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "## Accuracy by the `prefix` rule" in done.stdout
    assert (run / "results.json").is_file()
