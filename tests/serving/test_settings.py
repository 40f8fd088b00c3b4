"""Settings from MLPIN_* variables, and the jittered poll delay."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.loop import next_delay
from serving.settings import load_settings


def test_defaults_poll_at_most_every_30_seconds_and_need_no_secrets() -> None:
    settings = load_settings()
    assert settings.pin_source == "git" and settings.branch == "main"
    assert settings.poll_interval_s * (1 + settings.poll_jitter) <= 30
    assert settings.webhook_secret is None and settings.admin_token is None


def test_environment_configures_and_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIN_PIN_SOURCE", "file")
    monkeypatch.setenv("MLPIN_PIN_URI", "/srv/pin.yaml")
    monkeypatch.setenv("MLPIN_POLL_INTERVAL_S", "5")
    monkeypatch.setenv("MLPIN_WEBHOOK_SECRET", "s3cret")
    monkeypatch.setenv("MLPIN_BODY_LIMIT_BYTES", "1024")
    settings = load_settings(poll_interval_s=2)
    assert (settings.pin_source, settings.pin_uri, settings.poll_interval_s, settings.body_limit_bytes) == (
        "file",
        "/srv/pin.yaml",
        2,
        1024,
    )
    assert settings.webhook_secret is not None and settings.webhook_secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [("MLPIN_PIN_SOURCE", "svn"), ("MLPIN_POLL_INTERVAL_S", "0"), ("MLPIN_POLL_JITTER", "1.5")],
    ids=["unknown-source", "zero-interval", "jitter-over-1"],
)
def test_invalid_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("MLPIN_").lower()):
        load_settings()


@pytest.mark.parametrize(
    ("draw", "expected"), [(0.0, 8.0), (0.5, 10.0), (0.999, 11.996)], ids=["low", "middle", "high"]
)
def test_next_delay_spreads_around_the_interval(draw: float, expected: float) -> None:
    assert next_delay(10.0, jitter=0.2, draw=draw) == pytest.approx(expected)


def test_empty_secrets_leave_their_routes_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPIN_WEBHOOK_SECRET", "")
    monkeypatch.setenv("MLPIN_ADMIN_TOKEN", "")
    settings = load_settings()
    assert (settings.webhook_secret, settings.admin_token) == (None, None)


@pytest.mark.parametrize(
    ("uri", "shown"),
    [("https://x-access-token:ghs_secret@git.example.invalid/o/r.git", "https://git.example.invalid/o/r.git"),
     ("ssh://git@git.example.invalid/o/r.git", "ssh://git.example.invalid/o/r.git"), ("/srv/repo", "/srv/repo")],
    ids=["token-in-https", "user-in-ssh", "path"],
)
def test_status_names_the_git_source_without_credentials(uri: str, shown: str) -> None:
    from serving.service import source_name

    assert source_name(load_settings(pin_uri=uri)) == f"git {shown} main:models/production.yaml"
