"""Where the service keeps its data and where clients find it, from the settings alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthdata.service.core.settings import Settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (
        "SYNTHDATA_HOME",
        "SYNTHDATA_DATABASE_URL",
        "SYNTHDATA_DATA_DIR",
        "SYNTHDATA_HOST",
        "SYNTHDATA_PORT",
        "SYNTHDATA_API_URL",
        "XDG_DATA_HOME",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_default_home_does_not_depend_on_the_current_directory(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = clean_env / ".local" / "share" / "synthdata"
    settings = Settings()
    assert settings.home == home
    assert settings.database_url == f"sqlite:///{home / 'synthdata.db'}"
    assert settings.data_dir == home / "data"
    monkeypatch.chdir("/")
    assert Settings().database_url == settings.database_url

    monkeypatch.setenv("XDG_DATA_HOME", str(clean_env / "xdg"))
    assert Settings().home == clean_env / "xdg" / "synthdata"


def test_synthdata_home_moves_database_and_files_and_is_made_absolute(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNTHDATA_HOME", "relative")
    settings = Settings()
    assert settings.home == clean_env / "relative"
    assert settings.database_url == f"sqlite:///{clean_env / 'relative' / 'synthdata.db'}"
    assert settings.data_dir == clean_env / "relative" / "data"
    # Explicit values still win.
    monkeypatch.setenv("SYNTHDATA_DATABASE_URL", "postgresql+psycopg://db/synthdata")
    monkeypatch.setenv("SYNTHDATA_DATA_DIR", "/srv/artifacts")
    settings = Settings()
    assert settings.database_url == "postgresql+psycopg://db/synthdata"
    assert settings.data_dir == Path("/srv/artifacts")


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"SYNTHDATA_PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"SYNTHDATA_HOST": "0.0.0.0", "SYNTHDATA_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"SYNTHDATA_HOST": "::1", "SYNTHDATA_PORT": "9000"}, "http://[::1]:9000"),
        (
            {"SYNTHDATA_PORT": "8123", "SYNTHDATA_API_URL": "https://api.example"},
            "https://api.example",
        ),
    ],
)
def test_the_api_url_follows_the_port(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Settings().api_url == url


def test_a_port_out_of_range_is_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHDATA_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        Settings()
