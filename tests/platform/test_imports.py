"""Every module where components meet imports on its own, first of ours in its interpreter: the
components import one another's interfaces, and a cycle among them shows only in some import
orders, so each module that imports another component (or is one's interface) is tried first."""

from __future__ import annotations

import importlib
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = {"auth", "users", "checkout", "catalog", "media", "web"}


def modules() -> list[str]:
    """The modules where components meet: each interface, and each module importing another
    component (the app and the workers import them all)."""
    found = ["shopflow.app", "workers.settings"]
    for path in sorted((ROOT / "shopflow").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        imported = set(re.findall(r"^\s*from \.\.(\w+)", path.read_text(), re.M)) & COMPONENTS
        if path.name == "interface.py" or imported - {parts[1]}:
            found.append(".".join(parts))
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
    assert {"shopflow.auth.interface", "shopflow.users.history", "shopflow.web.signin"} <= set(names)
    assert [name for name in names if not imports_first(name)] == []
