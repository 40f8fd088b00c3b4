"""The `mlpin` command: output for people and machines, and exit codes by who must act."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import main
from tests.helpers import PROJECT, edit_yaml, entry


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_imports_no_heavy_library() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from pipelines.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()): main(['--help'])\n"
        "heavy = ('mlflow', 'pandas', 'sklearn', 'numpy', 'torch', 'evidently', 'pydantic', 'yaml')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_validate_human_and_json(repo: Path, capsys) -> None:
    code, out, _ = run(capsys, "validate", "--repo", str(repo))
    assert code == 0
    assert out.splitlines()[0] == "all committed files are valid"
    assert "wine (178 rows)" in out
    code, out, err = run(capsys, "validate", "--repo", str(repo), "--json")
    assert json.loads(out)["datasets"] == {"breast_cancer": 569, "diabetes": 442, "wine": 178}
    assert "loading data/wine.csv" in err  # progress goes to stderr, never into the JSON


def test_train_then_evaluate(repo: Path, capsys) -> None:
    code, out, err = run(capsys, "train", "wine_logreg", "--repo", str(repo), "--json")
    assert code == 0
    trained = json.loads(out)
    assert trained["version"] == 1 and trained["git_dirty"] is False
    assert "registering in MLflow ... done" in err
    assert Path(trained["result_path"]).is_file()
    code, out, _ = run(capsys, "evaluate", "wine_logreg", "--repo", str(repo), "-q")
    assert code == 0
    assert out.splitlines()[0] == "evaluated wine_logreg on 45 held-out rows"
    assert "no production model is pinned for wine_logreg yet" in out


def test_invalid_input_exits_2_with_every_problem(repo: Path, capsys) -> None:
    edit_yaml(repo / "models/wine_logreg.yaml", split={"test_fraction": 3}, colour="red")
    code, out, err = run(capsys, "train", "wine_logreg", "--repo", str(repo))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "mlpin: error: models/wine_logreg.yaml: 2 problems",
        "  - split.test_fraction: expected less than 1; found 3",
        "  - colour: unknown field; expected one of: schema_version, name, task, data, target, features, "
        "estimator, split, policy, drift_holdout, description, isp, init",
    ]
    code, out, _ = run(capsys, "train", "wine_logreg", "--repo", str(repo), "--json")
    error = json.loads(out)["error"]
    assert (code, error["kind"], error["type"], error["exit_code"]) == (2, "invalid_input", "ConfigError", 2)
    assert error["problems"] == [
        {"location": "models/wine_logreg.yaml: split.test_fraction", "message": "expected less than 1; found 3"},
        {"location": "models/wine_logreg.yaml: colour", "message": error["problems"][1]["message"]},
    ]


def test_unknown_model_exits_2(repo: Path, capsys) -> None:
    code, _, err = run(capsys, "train", "nope", "--repo", str(repo))
    assert code == 2
    assert (
        err.strip()
        == "mlpin: error: no model 'nope' (models/nope.yaml does not exist); "
        "models: breast_cancer_rf, diabetes_hgb, wine_logreg"
    )


def test_unreachable_tracking_server_exits_3(repo: Path, capsys, monkeypatch) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    code, _, err = run(capsys, "train", "wine_logreg", "--repo", str(repo), "-q")
    assert code == 3
    assert err.startswith("mlpin: error: mlflow: opening experiment mlpin/wine_logreg failed")
    code, out, _ = run(capsys, "train", "wine_logreg", "--repo", str(repo), "-q", "--json")
    error = json.loads(out)["error"]
    assert (code, error["kind"], error["ids"]["system"]) == (3, "outside_system", "mlflow")


def test_a_bug_exits_1_and_answers_json_too(repo: Path, capsys, monkeypatch) -> None:
    import pipelines.stages.validate

    def broken(ctx):
        raise KeyError("surprise")

    monkeypatch.setattr(pipelines.stages.validate, "validate", broken)
    code, out, err = run(capsys, "validate", "--repo", str(repo), "--json")
    error = json.loads(out)["error"]
    assert (code, error["kind"], error["type"], error["exit_code"]) == (1, "bug", "KeyError", 1)
    assert "Traceback" in err and "mlpin: bug: KeyError: 'surprise'" in err


@pytest.mark.parametrize("command", ["candidate", "verify"])
def test_unknown_base_ref_is_invalid_input(repo: Path, capsys, command: str) -> None:
    code, _, err = run(capsys, command, "--base", "origin/nope", "--repo", str(repo), "-q")
    assert code == 2
    assert "git ref 'origin/nope' does not exist here; fetch it first" in err


def test_local_forge_open_and_merge_refuse_what_a_reviewer_could_not_do(repo: Path, capsys) -> None:
    from tests.helpers import commit_all, git

    git(repo, "switch", "-q", "-c", "tune")
    edit_yaml(repo / "models/wine_logreg.yaml", description="tuned")
    commit_all(repo, "tune")
    code, out, _ = run(capsys, "forge", "open", "tune", "--repo", str(repo))
    assert (code, out.strip()) == (0, "PR #1 tune -> main (opened)")
    code, _, err = run(capsys, "forge", "merge", "1", "--repo", str(repo))
    assert code == 2 and "check out main first" in err
    git(repo, "switch", "-q", "main")
    (repo / "notes.txt").write_text("uncommitted")
    code, _, err = run(capsys, "forge", "merge", "1", "--repo", str(repo))
    assert code == 2 and "uncommitted changes" in err
    (repo / "notes.txt").unlink()
    code, out, _ = run(capsys, "forge", "merge", "1", "--repo", str(repo))
    assert code == 0 and "approved by Test User" in out
    assert git(repo, "log", "-1", "--format=%s") == "Merge pull request #1 from tune"
    code, _, err = run(capsys, "forge", "merge", "1", "--repo", str(repo))
    assert code == 2 and "is merged" in err
    code, _, err = run(capsys, "forge", "merge", "9", "--repo", str(repo))
    assert code == 2 and "no pull request 9" in err


def test_forge_merge_in_a_clone_of_an_ordinary_repository_keeps_the_merge_local(
    git_repo: Path, tmp_path: Path, capsys
) -> None:
    from tests.helpers import clone_repo, commit_all, git

    clone = clone_repo(git_repo, tmp_path / "clone")
    git(clone, "switch", "-q", "-c", "tune")
    edit_yaml(clone / "models/wine_logreg.yaml", description="tuned")
    commit_all(clone, "tune")
    git(clone, "switch", "-q", "main")
    run(capsys, "forge", "open", "tune", "--repo", str(clone))
    code, out, err = run(capsys, "forge", "merge", "1", "--repo", str(clone))
    merge = git(clone, "rev-parse", "--short=12", "HEAD")
    assert (code, out.strip()) == (0, f"merged PR #1 (tune -> main) as {merge}, approved by Test User; kept local: "
                                      "origin is a non-bare repository with main checked out, which git does not "
                                      "push to; to share the merge, pull it from this clone there")
    code, out, _ = run(capsys, "forge", "show", "--json", "--repo", str(clone))
    assert [(p["number"], p["state"]) for p in json.loads(out)["pulls"]] == [(1, "merged")]


def test_history_of_a_model_never_pinned_says_so(repo: Path, capsys) -> None:
    code, _, err = run(capsys, "history", "wine_logreg", "--repo", str(repo))
    assert code == 2 and "never pinned" in err


def test_deploy_exits_2_when_the_artifact_behind_the_alias_was_replaced(repo: Path, capsys) -> None:
    from pipelines.adapters.artifact import artifact_digest
    from pipelines.adapters.forge import local_forge
    from tests.helpers import pin

    code, out, _ = run(capsys, "train", "wine_logreg", "--repo", str(repo), "--json", "-q")
    pin(repo, wine_logreg=entry(json.loads(out)))
    assert run(capsys, "deploy", "--repo", str(repo), "-q")[0] == 0
    stored = next(m.parent for m in (repo / ".mlpin" / "artifacts").rglob("MLmodel")
                  if artifact_digest(m.parent) == json.loads(out)["artifact_sha256"])
    (stored / "model.skops").write_bytes(b"a pickle nobody reviewed")  # MLflow's stored copy, in place

    code, out, _ = run(capsys, "deploy", "--repo", str(repo), "-q")
    assert code == 2
    assert "wine_logreg: error - artifact changed behind the alias: models.wine_logreg.artifact_sha256" in out
    latest = local_forge(repo).deployments("production")[0]
    assert latest.state == "failure" and latest.description == "failed: wine_logreg v1 changed behind the alias"


def test_history_logs_answer_for_a_time(repo: Path, capsys) -> None:
    code, _, err = run(capsys, "history", "wine_logreg", "--logs", str(repo), "--repo", str(repo))
    assert code == 2 and "pass --at TIME too" in err


@pytest.mark.parametrize("timeout", ["0", "-1", "soon", "nan"])
def test_replicas_refuses_a_timeout_that_is_not_positive(timeout: str, capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["replicas", "--url", "http://127.0.0.1:1", "--timeout", timeout])
    assert caught.value.code == 2
    assert "argument --timeout:" in capsys.readouterr().err
