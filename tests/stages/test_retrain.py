"""`mlpin drift prepare-retrain` on a real git repository: the branch it builds with plumbing
(new dataset version, drift holdout, spec), labels joined to real prediction log files, every
bad input refused with nothing written, and the candidate on that branch reporting production
vs candidate on the holdout."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.adapters.github import GitHubForge
from pipelines.adapters.workspace import read_workspace
from pipelines.cli import main
from pipelines.core.errors import InvalidInput
from pipelines.stages.candidate import candidate
from pipelines.stages.post import post_run
from pipelines.stages.retrain import prepare_retrain
from pipelines.stages.train import train
from tests.fakes.github_api import FakeGitHub
from tests.fakes.registry import MemoryRegistry
from tests.helpers import ctx, entry, git, pin
from tests.stages.helpers import MODEL

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
BRANCH = "retrain/wine_logreg-20261130"
NEW, HOLDOUT = "wine-20261130", "wine-20261130-holdout"


def retrain(repo: Path, labeled: Path, **options):
    return prepare_retrain(ctx(repo, clock=lambda: NOW), model=MODEL, labeled=labeled, **options)


def labelled_file(repo: Path, path: Path, *, rows: int = 40) -> pd.DataFrame:
    """`rows` of the wine data, as production would label them, written to `path`."""
    frame = pd.read_csv(repo / "data/wine.csv").sample(rows, random_state=3).reset_index(drop=True)
    frame.to_csv(path, index=False)
    return frame


def show(repo: Path, path: str, ref: str = BRANCH) -> bytes:
    return subprocess.run(["git", "show", f"{ref}:{path}"], cwd=repo, check=True, capture_output=True).stdout


def state(repo: Path) -> tuple[str, str, str, str]:
    """What the user sees: HEAD, checked-out branch, status (index + work tree), every ref."""
    return (git(repo, "rev-parse", "HEAD"), git(repo, "branch", "--show-current"),
            git(repo, "status", "--porcelain", "--untracked-files=all"), git(repo, "for-each-ref"))


def test_full_rows_make_a_branch_with_a_new_data_version_and_a_holdout(git_repo: Path, tmp_path: Path) -> None:
    labels = labelled_file(git_repo, tmp_path / "labels.csv")
    old_bytes = (git_repo / "data/wine.csv").read_bytes()
    old_spec = yaml.safe_load((git_repo / f"models/{MODEL}.yaml").read_text())
    head, branch, status, _ = state(git_repo)

    result = retrain(git_repo, tmp_path / "labels.csv")

    assert (result.branch, result.train_rows, result.holdout_rows, result.seed) == (BRANCH, 28, 12, 7)
    assert state(git_repo)[:3] == (head, branch, status), "checkout, index and files untouched"
    assert git(git_repo, "rev-parse", f"{BRANCH}^") == head
    assert show(git_repo, "data/wine.csv") == old_bytes, "the old data file is never rewritten"
    new = show(git_repo, f"data/{NEW}.csv")
    assert new.startswith(old_bytes) and len(pd.read_csv(git_repo / "data/wine.csv")) + 28 == new.count(b"\n") - 1
    holdout = pd.read_csv(io.BytesIO(show(git_repo, f"data/{HOLDOUT}.csv")))
    added = pd.read_csv(io.BytesIO(new)).iloc[178:]
    both = pd.concat([added, holdout])
    assert len(both) == 40 and both.merge(labels).shape[0] == 40, "every labelled row, once"
    assert added.merge(holdout).empty, "no held-out row is trained on"
    spec = yaml.safe_load(show(git_repo, f"models/{MODEL}.yaml"))
    assert {k: v for k, v in spec.items() if k not in ("data", "drift_holdout")} == \
        {k: v for k, v in old_spec.items() if k != "data"}
    assert (spec["data"], spec["drift_holdout"]) == (NEW, HOLDOUT)
    assert git(git_repo, "diff", "--name-only", head, BRANCH).splitlines() == [
        f"data/{HOLDOUT}.csv", f"data/{HOLDOUT}.yaml", f"data/{NEW}.csv", f"data/{NEW}.yaml", f"models/{MODEL}.yaml"]
    message = git(git_repo, "log", "-1", "--format=%B", BRANCH)
    assert "12 labelled rows held out of training (share 0.3, seed 7)" in message
    assert "data/wine.csv is unchanged" in message.replace("\n  ", " ")

    git(git_repo, "worktree", "add", "-q", str(tmp_path / "branch"), BRANCH)
    ws, problems = read_workspace(tmp_path / "branch")
    assert problems == {} and ws.specs[MODEL].drift_holdout == HOLDOUT
    assert ws.pointers[NEW].columns == ws.pointers["wine"].columns == ws.pointers[HOLDOUT].columns


def test_the_same_seed_holds_out_the_same_rows_and_an_existing_branch_is_refused(git_repo: Path,
                                                                                  tmp_path: Path) -> None:
    labelled_file(git_repo, tmp_path / "labels.csv")
    first = retrain(git_repo, tmp_path / "labels.csv")
    refs = git(git_repo, "for-each-ref")
    with pytest.raises(InvalidInput, match=f"branch {BRANCH} already exists; pass --branch NAME"):
        retrain(git_repo, tmp_path / "labels.csv")
    assert git(git_repo, "for-each-ref") == refs
    retrain(git_repo, tmp_path / "labels.csv", branch="retrain/again")
    other = retrain(git_repo, tmp_path / "labels.csv", branch="retrain/other-seed", seed=99)
    assert show(git_repo, f"data/{HOLDOUT}.csv", "retrain/again") == show(git_repo, f"data/{HOLDOUT}.csv")
    assert show(git_repo, f"data/{HOLDOUT}.csv", "retrain/other-seed") != show(git_repo, f"data/{HOLDOUT}.csv")
    assert git(git_repo, "rev-parse", f"{first.commit}^{{tree}}") == git(git_repo, "rev-parse", "retrain/again^{tree}")
    assert other.seed == 99


def log_requests(folder: Path, requests: list[tuple[str, list[dict]]]) -> None:
    """Requests as serving logs them: one JSON line each, with its id, inputs and outputs."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"request_id": rid, "timestamp": NOW.isoformat(), "model": MODEL, "version": 1,
                         "inputs": inputs, "outputs": ["class_0"] * len(inputs)}) for rid, inputs in requests]
    (folder / "predictions-20261130T000000Z-1.jsonl").write_text("\n".join(lines) + '\nnot json\n')


def features(repo: Path) -> pd.DataFrame:
    return pd.read_csv(repo / "data/wine.csv").drop(columns=["cultivar"])


def test_labels_by_request_id_are_joined_to_the_logged_inputs(git_repo: Path, tmp_path: Path) -> None:
    rows = features(git_repo).head(12).to_dict(orient="records")
    labels = pd.read_csv(git_repo / "data/wine.csv").cultivar.head(12).tolist()
    log_requests(tmp_path / "logs", [(f"req{i}", [rows[i]]) for i in range(10)] + [("multi", rows[10:12])])
    (tmp_path / "single.csv").write_text("request_id,label\n" + "".join(f"req{i},{labels[i]}\n" for i in range(10)))
    result = retrain(git_repo, tmp_path / "single.csv", logs=str(tmp_path / "logs"))
    assert (result.form, result.train_rows + result.holdout_rows) == ("requests", 10)
    joined = pd.concat([pd.read_csv(io.BytesIO(show(git_repo, f"data/{NEW}.csv"))).iloc[178:],
                        pd.read_csv(io.BytesIO(show(git_repo, f"data/{HOLDOUT}.csv")))])
    expected = pd.read_csv(git_repo / "data/wine.csv").head(10)
    order = list(expected.columns)
    pd.testing.assert_frame_equal(joined.sort_values(order).reset_index(drop=True),
                                  expected.sort_values(order).reset_index(drop=True))  # the logged inputs + labels

    (tmp_path / "rows.csv").write_text(f"request_id,row,label\nmulti,1,{labels[11]}\nmulti,0,{labels[10]}\n"
                                       f"req0,0,{labels[0]}\n")
    result = retrain(git_repo, tmp_path / "rows.csv", logs=str(tmp_path / "logs"), branch="retrain/rows")
    assert (result.train_rows, result.holdout_rows) == (2, 1)


BAD = [
    ("unknown-request", "request_id,label\nnope,class_0\nreq0,class_0\nreq1,class_1\n",
     ["labels.csv line 2: request_id 'nope' is not in the prediction logs of wine_logreg"]),
    ("missing-label-and-foreign-class", "request_id,label\nreq0,\nreq1,class_9\nreq2,class_0\n",
     ["labels.csv: cultivar: no label on lines [2]", "expected labels in ['class_0', 'class_1', 'class_2']; "
                                                     "1 rows have others: ['class_9']"]),
    ("several-rows-need-a-row-number", "request_id,label\nmulti,class_0\nreq0,class_0\nreq1,class_0\n",
     ["request multi logged 2 input rows; label each with request_id,row,label (row 0 to 1)"]),
    ("row-out-of-range-and-twice", "request_id,row,label\nmulti,5,class_0\nmulti,0,class_0\nmulti,0,class_1\n",
     ["line 2: row '5' is not a row of request multi", "line 4: request multi row 0 is labelled again"]),
    ("duplicate-id-in-logs", "request_id,label\ntwice,class_0\nreq0,class_0\n",
     ["request_id 'twice' was logged 2 times"]),
    ("only-unknown-requests", "request_id,label\nnope,class_0\n",
     ["labels.csv line 2: request_id 'nope' is not in the prediction logs"]),
    ("no-rows", "request_id,label\n", ["labels.csv: holds no labelled rows; add some"]),
]


@pytest.mark.parametrize(("text", "expected"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_labels_are_refused_listing_every_problem_and_nothing_is_written(
        git_repo: Path, tmp_path: Path, text: str, expected: list[str]) -> None:
    rows = features(git_repo).head(4).to_dict(orient="records")
    log_requests(tmp_path / "logs", [("req0", [rows[0]]), ("req1", [rows[1]]), ("req2", [rows[2]]),
                                     ("multi", rows[2:4]), ("twice", [rows[0]]), ("twice", [rows[1]])])
    (tmp_path / "labels.csv").write_text(text)
    before = state(git_repo)
    with pytest.raises(InvalidInput) as caught:
        retrain(git_repo, tmp_path / "labels.csv", logs=str(tmp_path / "logs"))
    lines = "\n".join(caught.value.lines())
    assert "nothing written" in lines and all(e in lines for e in expected), lines
    assert ("holds no labelled rows" in lines) == any("holds no labelled rows" in e for e in expected)
    assert state(git_repo) == before


def test_full_rows_breaking_the_contract_exit_2_with_every_problem_as_json(git_repo: Path, tmp_path: Path,
                                                                           capsys) -> None:
    frame = labelled_file(git_repo, tmp_path / "labels.csv", rows=5)
    frame.loc[0, "alcohol"] = 99.0
    frame.loc[1, "cultivar"] = "merlot"
    frame.drop(columns=["hue"]).assign(vintage=2020).to_csv(tmp_path / "labels.csv", index=False)
    before = state(git_repo)
    code = main(["drift", "prepare-retrain", "--model", MODEL, "--labeled", str(tmp_path / "labels.csv"),
                 "--repo", str(git_repo), "--json", "--quiet"])
    error = json.loads(capsys.readouterr().out)["error"]
    assert code == 2 and error["kind"] == "invalid_input"
    problems = "\n".join(f"{p['location']}: {p['message']}" for p in error["problems"])
    assert "labels.csv: columns: the model needs ['hue']; add them to every row" in problems
    assert "labels.csv: columns: ['vintage'] are not declared in data/wine.yaml; remove them" in problems
    assert "labels.csv: alcohol: expected values <= 16.0; 1 above, largest 99.0" in problems
    assert "labels.csv: cultivar: expected labels in ['class_0', 'class_1', 'class_2']; 1 rows have others: " \
           "['merlot']" in problems
    assert state(git_repo) == before


def test_the_candidate_on_the_branch_shows_production_before_and_the_candidate_after_on_the_holdout(
        git_repo: Path, registry: MemoryRegistry, fake_github: FakeGitHub, github_forge: GitHubForge,
        tmp_path: Path) -> None:
    pin(git_repo, **{MODEL: entry(train(ctx(git_repo, registry=registry), MODEL))})
    labelled_file(git_repo, tmp_path / "labels.csv")
    retrain(git_repo, tmp_path / "labels.csv")
    git(git_repo, "checkout", "-q", BRANCH)
    out = tmp_path / "candidate"
    run = candidate(ctx(git_repo, registry=registry), base="main", pr="7", out_dir=out)
    (outcome,) = run.outcomes
    held = json.loads((out / MODEL / "candidate.json").read_text())["evaluation"]["drift_holdout"]
    assert (held["dataset"], held["rows"], held["production"]["version"]) == (HOLDOUT, 12, 1)
    before, after = held["production"]["metrics"]["accuracy"], held["candidate"]["metrics"]["accuracy"]
    table = ["#### Drift holdout: before (production) and after (candidate) on 12 labelled production rows",
             "| metric | production v1 (before) | candidate (unregistered) (after) | change |",
             f"| accuracy | {before:.4f} | {after:.4f} |"]
    body = (out / outcome.body_file).read_text()
    assert all(line in body for line in table) and "#### Metrics on the same" in body

    fake_github.heads[7] = run.sha
    post_run(ctx(git_repo, forge=github_forge), out, expect_sha=run.sha)  # trusted code re-renders candidate.json
    (comment,) = fake_github.comments[7]
    assert all(line in comment["body"] for line in table)


@pytest.mark.parametrize(("change", "options", "message"), [
    ("spec", {}, "uncommitted changes to models/wine_logreg.yaml; the branch is built from HEAD, so commit"),
    ("", {"branch": "bad..name"}, "--branch 'bad..name' is not a valid branch name; pass another"),
], ids=["uncommitted-spec", "bad-branch-name"])
def test_refused_before_reading_anything(git_repo: Path, tmp_path: Path, change: str, options: dict,
                                         message: str) -> None:
    labelled_file(git_repo, tmp_path / "labels.csv")
    if change:
        (git_repo / f"models/{MODEL}.yaml").write_text((git_repo / f"models/{MODEL}.yaml").read_text() + "# edit\n")
    before = state(git_repo)
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.")):
        retrain(git_repo, tmp_path / "labels.csv", **options)
    assert state(git_repo) == before
