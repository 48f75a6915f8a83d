"""The shape the code keeps: short functions everywhere but the simulated vendors.

A function over 80 lines is doing several things; the sandboxes are exempt (each simulates a
vendor's whole endpoint, in its own wire format) and so are applied migrations (history:
rewriting one changes nothing a database sees, and risks changing what it does).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "ordergate"
LONGEST = 80
EXEMPT = (ROOT / "sandbox", ROOT / "store" / "migrations" / "versions")


def long_functions(root: Path = ROOT, exempt: tuple[Path, ...] = EXEMPT) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if any(path.is_relative_to(skipped) for skipped in exempt):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > LONGEST:
                    found.append(
                        f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({length} lines)"
                    )
    return found


def test_no_function_is_longer_than_80_lines_outside_the_sandboxes() -> None:
    assert long_functions() == []


def test_the_check_sees_a_long_function_and_skips_the_exempt(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LONGEST))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "long.py").write_text(f"async def too_long():\n{body}\n")
    (tmp_path / "pkg" / "short.py").write_text("def fine():\n    return 1\n")
    (tmp_path / "pkg" / "sim").mkdir()
    (tmp_path / "pkg" / "sim" / "vendor.py").write_text(f"def simulated():\n{body}\n")

    found = long_functions(tmp_path / "pkg", (tmp_path / "pkg" / "sim",))

    assert found == [f"pkg/long.py:1 too_long ({LONGEST + 1} lines)"]
