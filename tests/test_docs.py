"""The documentation's executable parts: docstring examples, notebook cells, the citation.

The docstring examples are the API reference's examples (the reference is generated from
the docstrings), run here with :mod:`doctest` so that a broken example fails the test
command every engineer runs, next to the code that broke it. The notebooks themselves are
executed by the documentation build (``sphinx-build -W``); here their code cells are linted
with the repository's ruff configuration, as the old notebook builder's cells were.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lrstats

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

# The public modules the API reference documents; their submodules hold the docstrings.
REFERENCE_PACKAGES = [
    "lrstats",
    "lrstats.inference",
    "lrstats.keras",
    "lrstats.presentation",
    "lrstats.io",
]


def _modules_with_examples() -> list[str]:
    names = set()
    for info in pkgutil.walk_packages(lrstats.__path__, prefix="lrstats."):
        if info.name.startswith("lrstats.cli"):
            continue  # command-line modules: exercised by tests/cli
        names.add(info.name)
    # Only modules whose source has an example: keeps TensorFlow out unless needed.
    found = []
    for name in sorted(names):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin and ">>>" in Path(spec.origin).read_text("utf-8"):
            found.append(name)
    return found


@pytest.mark.parametrize("module_name", _modules_with_examples())
def test_docstring_examples(module_name):
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    tests = [t for t in finder.find(module, module_name) if t.examples]
    assert tests, f"{module_name} contains '>>>' but no doctest was found"
    for test in tests:
        runner.run(test, out=lambda text: None)
    results = runner.summarize(verbose=False)
    if results.failed:
        # Run again with the report shown, so the failure says which example and why.
        report: list[str] = []
        runner = doctest.DocTestRunner(
            optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
        )
        for test in tests:
            runner.run(test, out=report.append)
        pytest.fail("".join(report))


def _public_names() -> list[tuple[str, str]]:
    pairs = []
    for package in REFERENCE_PACKAGES:
        if package == "lrstats.keras":
            continue  # checked below only when TensorFlow is importable
        module = importlib.import_module(package)
        pairs.extend((package, name) for name in module.__all__ if not name.startswith("_"))
    return pairs


@pytest.mark.parametrize(("package", "name"), _public_names())
def test_public_names_have_docstrings(package, name):
    value = getattr(importlib.import_module(package), name)
    if not callable(value):
        return  # constants (RULES, METHODS, ...) are documented on the module page
    doc = getattr(value, "__doc__", None) or ""
    assert doc.strip(), f"{package}.{name} has no docstring: the API reference would be empty"


def test_keras_public_names_have_docstrings():
    pytest.importorskip("tensorflow")
    module = importlib.import_module("lrstats.keras")
    missing = [n for n in module.__all__ if not (getattr(module, n).__doc__ or "").strip()]
    assert not missing, f"lrstats.keras names without a docstring: {missing}"


CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.M | re.S)


def _notebooks() -> list[Path]:
    pages = sorted(DOCS.rglob("*.md"))
    return [p for p in pages if "file_format: mystnb" in p.read_text("utf-8")[:300]]


def test_there_are_notebooks():
    names = {p.relative_to(DOCS).as_posix() for p in _notebooks()}
    assert "tutorial/quickstart.md" in names


@pytest.mark.parametrize("page", _notebooks(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_notebook_cells_pass_ruff(page):
    # The environment's own ruff (the test extra pins it) before any other on the PATH.
    beside = Path(sys.executable).with_name("ruff")
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (test extra)")
    cells = CODE_CELL.findall(page.read_text("utf-8"))
    assert cells, f"{page} is a notebook without code cells"
    # A trailing ';' only hides a cell's output in a notebook; it is not a style error.
    source = "\n\n".join(re.sub(r";\s*$", "", cell.rstrip()) for cell in cells) + "\n"
    stand_in = page.relative_to(ROOT).with_suffix(".py").as_posix()
    # As ruff treats .ipynb files: a cell may import where it first needs something (E402)
    # and end with a bare expression, which is its displayed output (B018).
    completed = subprocess.run(
        [ruff, "check", "--no-cache", "--ignore", "E402,B018", "--stdin-filename", stand_in, "-"],
        input=source,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_citation_is_valid_cff():
    cffconvert = pytest.importorskip("cffconvert", reason="cffconvert is in the docs extra")
    text = (ROOT / "CITATION.cff").read_text("utf-8")
    citation = cffconvert.Citation(cffstr=text)
    citation.validate()  # raises on a schema violation
    assert citation.cffobj["cff-version"] == "1.2.0"
