"""The test tree's layout: modules under tests/ share code through tests/helpers.py, a
package's helpers.py and tests/fakes/, never by importing a test module or a conftest
(that runs the other file's import-time code and couples unrelated tests)."""

from __future__ import annotations

import ast

import pytest

from tests.helpers import PROJECT

TESTS = PROJECT / "tests"


def forbidden_imports(source: str, *, package: str) -> list[tuple[int, str]]:
    """(line, module) for every import, anywhere in `source`, of a test module or a conftest.
    `package` is the importing module's package, for relative imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package=package)
            names = [base] if _is_test_or_conftest(base) else [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if _is_test_or_conftest(name)]
    return sorted(found)


def _absolute(node: ast.ImportFrom, *, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


def _is_test_or_conftest(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "tests" and any(p == "conftest" or p.startswith("test_") for p in parts[1:])


# (Cases are spelled so that a grep for such imports does not find this file.)
@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        ("from tests.helpers import git", "tests.stages", []),
        ("from tests.fakes.registry import MemoryRegistry", "tests.stages", []),
        ("from tests.serving.helpers import ROW", "tests.serving", []),
        ("from tests.tasks.test_tabular import mixed_frame", "tests.stages", [(1, "tests.tasks.test_tabular")]),
        ("import tests.stages.test_verify", "tests.stages", [(1, "tests.stages.test_verify")]),
        ("import tests.serving.conftest", "tests", [(1, "tests.serving.conftest")]),
        ("from tests.serving import conftest", "tests", [(1, "tests.serving.conftest")]),
        ("from ..conftest import git", "tests.stages", [(1, "tests.conftest")]),
        ("from .test_reconcile import ROW", "tests.serving", [(1, "tests.serving.test_reconcile")]),
        ("from ..adapters import test_git", "tests.serving", [(1, "tests.adapters.test_git")]),
        ("def f():\n    import tests.core.test_nextpin", "tests.core", [(2, "tests.core.test_nextpin")]),
    ],
    ids=["helpers", "fakes", "package-helpers", "from-test-module", "import-test-module", "import-conftest",
         "from-package-conftest", "relative-conftest", "relative-test-module", "relative-parent", "inside-a-function"],
)
def test_imports_of_test_modules_and_conftests_are_found(source: str, package: str, expected: list) -> None:
    assert forbidden_imports(source, package=package) == expected


def test_no_module_under_tests_imports_a_test_module_or_a_conftest() -> None:
    problems = []
    for path in sorted(TESTS.rglob("*.py")):
        name = path.relative_to(PROJECT).as_posix()
        package = ".".join(path.relative_to(PROJECT).parent.parts)
        problems += [f"{name}:{line} imports {module}"
                     for line, module in forbidden_imports(path.read_text(), package=package)]
    assert problems == [], "import shared code from tests/helpers.py, a package's helpers.py or tests/fakes/:\n" + \
        "\n".join(problems)
