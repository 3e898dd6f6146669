"""The store settings: backend choice, credentials from variables, files or AWS_*, and
errors that name the variable to fix."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from synthdata.artifacts import (
    InstrumentedStore,
    LocalStore,
    S3Store,
    open_store,
    store_config,
)
from synthdata.service.core.settings import Settings
from tests.fixtures.objectstore import S3Server

_VARIABLES = (
    "SYNTHDATA_STORE",
    "SYNTHDATA_S3_ENDPOINT",
    "SYNTHDATA_S3_BUCKET",
    "SYNTHDATA_S3_PREFIX",
    "SYNTHDATA_S3_REGION",
    "SYNTHDATA_S3_ACCESS_KEY_ID",
    "SYNTHDATA_S3_SECRET_ACCESS_KEY",
    "SYNTHDATA_S3_SESSION_TOKEN",
    "SYNTHDATA_S3_ACCESS_KEY_ID_FILE",
    "SYNTHDATA_S3_SECRET_ACCESS_KEY_FILE",
    "SYNTHDATA_S3_SESSION_TOKEN_FILE",
    "SYNTHDATA_WORK_DIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SYNTHDATA_HOME", str(tmp_path / "home"))
    return monkeypatch


def test_the_default_is_the_local_data_directory(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings()
    assert settings.store == "local"
    assert settings.work_dir == tmp_path / "home" / "work"
    assert settings.presign_seconds == 900 and settings.result_redirect is False
    store = open_store(store_config(settings))
    assert isinstance(store, InstrumentedStore)
    assert isinstance(store.inner, LocalStore) and store.inner.root == settings.data_dir


def test_s3_from_variables(env: pytest.MonkeyPatch) -> None:
    env.setenv("SYNTHDATA_STORE", "s3")
    env.setenv("SYNTHDATA_S3_ENDPOINT", "http://minio:9000")
    env.setenv("SYNTHDATA_S3_BUCKET", "artifacts")
    env.setenv("SYNTHDATA_S3_PREFIX", "prod/")
    env.setenv("SYNTHDATA_S3_ACCESS_KEY_ID", "AKIDEXAMPLE")
    env.setenv("SYNTHDATA_S3_SECRET_ACCESS_KEY", "very-secret-value")
    settings = Settings()
    config = store_config(settings)
    assert config.backend == "s3" and config.bucket == "artifacts" and config.prefix == "prod"
    assert config.allow_http is True
    assert config.secret_access_key is not None
    assert config.secret_access_key.get_secret_value() == "very-secret-value"
    for text in (repr(settings), repr(config)):
        assert "very-secret-value" not in text and "AKIDEXAMPLE" not in text
    assert "very-secret-value" not in str(settings.model_dump())
    store = open_store(config)
    assert isinstance(store, InstrumentedStore) and isinstance(store.inner, S3Store)
    assert store.describe() == "s3://artifacts/prod at http://minio:9000"


def test_credentials_from_mounted_files(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "id").write_text("AKIDFROMFILE\n")
    (tmp_path / "secret").write_text("secret-from-file\n")
    env.setenv("SYNTHDATA_S3_ACCESS_KEY_ID_FILE", str(tmp_path / "id"))
    env.setenv("SYNTHDATA_S3_SECRET_ACCESS_KEY_FILE", str(tmp_path / "secret"))
    env.setenv("AWS_SECRET_ACCESS_KEY", "from-aws-variable")  # the file wins
    settings = Settings()
    assert store_config(settings).access_key_id == "AKIDFROMFILE"
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "secret-from-file"


def test_credentials_fall_back_to_aws_variables(env: pytest.MonkeyPatch) -> None:
    env.setenv("AWS_ACCESS_KEY_ID", "AKIDAWS")
    env.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    env.setenv("AWS_SESSION_TOKEN", "aws-token")
    settings = Settings()
    assert store_config(settings).access_key_id == "AKIDAWS"
    assert settings.s3_secret_access_key is not None
    assert settings.s3_secret_access_key.get_secret_value() == "aws-secret"
    assert settings.s3_session_token is not None
    assert settings.s3_session_token.get_secret_value() == "aws-token"
    env.setenv("SYNTHDATA_S3_SECRET_ACCESS_KEY", "ours")  # our variable wins
    assert Settings().s3_secret_access_key.get_secret_value() == "ours"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"SYNTHDATA_STORE": "s3"}, "SYNTHDATA_S3_BUCKET"),
        (
            {"SYNTHDATA_STORE": "s3", "SYNTHDATA_S3_BUCKET": "b", "SYNTHDATA_S3_REGION": ""},
            "SYNTHDATA_S3_ENDPOINT or SYNTHDATA_S3_REGION",
        ),
        ({"SYNTHDATA_S3_ENDPOINT": "minio:9000"}, "SYNTHDATA_S3_ENDPOINT"),
        ({"SYNTHDATA_S3_PREFIX": "../up"}, "SYNTHDATA_S3_PREFIX"),
        ({"SYNTHDATA_S3_SECRET_ACCESS_KEY_FILE": "/no/such/file"}, "_FILE"),
        (
            {"SYNTHDATA_S3_SECRET_ACCESS_KEY": "x", "SYNTHDATA_S3_SECRET_ACCESS_KEY_FILE": "/f"},
            "not both",
        ),
    ],
)
def test_errors_name_the_variable(
    env: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    with pytest.raises(ValidationError, match=named):
        Settings()


def test_a_store_from_settings_works_against_the_server(
    env: pytest.MonkeyPatch, s3_server: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name, value in s3_server.env(prefix="from-settings").items():
        env.setenv(name, value)
    store = open_store(store_config(Settings()))
    store.check()
    with store.open_write("x.txt") as out:
        out.write(b"hello")
    assert [found.key for found in store.list("")] == ["x.txt"]
    secret = s3_server.env()["SYNTHDATA_S3_SECRET_ACCESS_KEY"]
    assert secret not in caplog.text
