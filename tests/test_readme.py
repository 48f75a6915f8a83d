"""The README documents every setting the gateway reads."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_environment_variable_is_in_the_configuration_table() -> None:
    source = (ROOT / "ordergate" / "settings.py").read_text()
    names = set(re.findall(r'"((?:ORDERGATE_[A-Z_]+)|(?:OTEL_[A-Z_]+)|DATABASE_URL|REDIS_URL)"', source))
    readme = (ROOT / "README.md").read_text()

    assert names, "settings.py reads no variables?"
    assert sorted(n for n in names if f"`{n}`" not in readme) == []
