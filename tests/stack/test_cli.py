"""The stack's command line refuses bad values in one line, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.stack.cli import main
from pipelines.stack.settings import MAX_REPLICAS, StackSettings


@pytest.mark.parametrize(("given", "says"), [
    ("-1", "-1 is not between 0 and 16"),
    ("100", "100 is not between 0 and 16"),
    ("two", "'two' is not a whole number"),
], ids=["negative", "past-the-limit", "not-a-number"])
def test_up_refuses_a_replica_count_out_of_bounds(given: str, says: str, tmp_path: Path, monkeypatch,
                                                 capsys) -> None:
    monkeypatch.setenv("MLPIN_STACK_DIR", str(tmp_path / "stack"))
    with pytest.raises(SystemExit) as caught:
        main(["--repo", str(tmp_path), "up", "--replicas", given])
    assert caught.value.code == 2 and says in capsys.readouterr().err
    assert not (tmp_path / "stack").exists(), "nothing was started or stopped"


def test_the_limit_is_the_settings_limit() -> None:
    assert StackSettings.model_fields["replicas"].metadata[-1].le == MAX_REPLICAS == 16


def test_a_bad_setting_is_one_line_naming_the_variable(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLPIN_STACK_REPLICAS", "100")
    assert main(["--repo", str(tmp_path), "status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stack: bad settings: MLPIN_STACK_REPLICAS:") and err.count("\n") == 1
