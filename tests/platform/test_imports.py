"""Every module imports on its own, first of ours in its interpreter: the components import one
another's interfaces, and a cycle among them shows only in some import orders."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def modules() -> list[str]:
    found = []
    for package in ("shopflow", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def imports_first(name: str) -> bool:
    """Whether `name` imports in a forked child that has none of our modules loaded."""
    pid = os.fork()
    if pid == 0:  # the child: forget our modules, import the one, report by exit status
        for loaded in [m for m in sys.modules if m.split(".")[0] in ("shopflow", "workers")]:
            del sys.modules[loaded]
        try:
            importlib.import_module(name)
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_every_module_imports_first() -> None:
    names = modules()
    assert "shopflow.auth.interface" in names and "shopflow.web.signin" in names
    assert [name for name in names if not imports_first(name)] == []
