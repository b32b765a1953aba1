"""Every public function and method of the package is annotated (arguments and return), so the
contracts read from their signatures; the compiled kernels' private helpers are exempt."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "evoplast"
DUNDERS = {"__init__", "__call__", "__enter__", "__exit__"}


def _unannotated(path: Path) -> list[str]:
    out = []

    def visit(node, owner: str, private: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name, private or child.name.startswith("_"))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if private or (child.name.startswith("_") and child.name not in DUNDERS):
                    continue
                a = child.args
                args = [x for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
                args += [x for x in (a.vararg, a.kwarg) if x is not None]
                missing = [x.arg for x in args if x.annotation is None]
                if child.returns is None and child.name != "__init__":
                    missing.append("return")
                if missing:
                    out.append(f"{path.relative_to(PACKAGE.parent)}:{child.lineno} "
                               f"{owner + '.' if owner else ''}{child.name}: {', '.join(missing)}")

    visit(ast.parse(path.read_text()), "", False)
    return out


def test_public_functions_are_annotated():
    missing = [m for f in sorted(PACKAGE.rglob("*.py")) for m in _unannotated(f)]
    assert not missing, "unannotated:\n" + "\n".join(missing)
