"""Settings: defaults from config/default.toml, the environment on top, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shopflow.platform.settings import SettingsError, load_settings


def test_environment_overrides_the_config_file(monkeypatch: Any) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal/shop")
    monkeypatch.setenv("SHOPFLOW_REDIS_URL", "redis://cache.internal:6379/2")
    monkeypatch.setenv("PORT", "9090")
    monkeypatch.setenv("SHOPFLOW_DB_POOL_MAX", "50")
    s = load_settings()
    assert s.database_url == "postgresql://db.internal/shop"
    assert s.redis_url == "redis://cache.internal:6379/2"
    assert (s.port, s.db_pool_max, s.currency) == (9090, 50, "USD")


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("SHOPFLOW_DB_POOL_MAX", "many", "db_pool_max"),
        ("PORT", "70000", "PORT"),
        ("DATABASE_URL", "mysql://x/y", "DATABASE_URL"),
        ("SHOPFLOW_ENV", "staging", "env"),
        ("SHOPFLOW_CURRENCY", "usd", "currency"),
        ("SHOPFLOW_RATE_LIMIT_LOGIN_IP", "5/0", "rate_limit_login_ip"),
    ],
)
def test_bad_value_names_the_setting(monkeypatch: Any, name: str, value: str, named: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=f"invalid setting {named}"):
        load_settings()


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ('jwt_secret = "hunter2"\n', "jwt_secret may only come from the environment"),
        ("db_pool_maximum = 5\n", "invalid setting db_pool_maximum"),
        ("port = 8080\nport = 9090\n", "shop.toml is not valid TOML"),
    ],
)
def test_bad_config_files_are_refused(monkeypatch: Any, tmp_path: Path, content: str, error: str) -> None:
    config = tmp_path / "shop.toml"
    config.write_text(content)
    monkeypatch.setenv("SHOPFLOW_CONFIG_FILE", str(config))
    with pytest.raises(SettingsError, match=error):
        load_settings()


def test_cli_stops_with_one_line_and_nonzero_exit() -> None:
    env = {**os.environ, "SHOPFLOW_DB_POOL_MAX": "lots", "DATABASE_URL": "postgresql://x/y"}
    done = subprocess.run(
        [sys.executable, "-m", "shopflow", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("shopflow: invalid setting db_pool_max: Input should be a valid integer")


def test_a_named_config_file_must_exist(monkeypatch: Any, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOPFLOW_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match="SHOPFLOW_CONFIG_FILE: no such file"):
        load_settings()
