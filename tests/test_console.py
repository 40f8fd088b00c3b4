"""What `mlpin` prints for people, per command, checked against reviewed text snapshots
(tests/__snapshots__/test_console/). The results are built by hand, so the snapshots
hold no run ids or times; the commands' JSON is tested in test_cli.py.

Run `scripts/test tests/test_console.py --snapshot-update` after an intended change,
and review the diff of the .txt files.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pipelines import console
from pipelines.adapters.webhook import WebhookCall
from pipelines.core.answered import Answered, LoggedRequest
from pipelines.core.compare import compare_metrics
from pipelines.core.convergence import ConvergenceRun, ModelView, ReplicaOutcome
from pipelines.core.history import DeployRecord, PinEvent, disagreements
from pipelines.core.outcome import Kind
from pipelines.core.rollout import AliasMove
from pipelines.core.stage_results import EvaluationResult, ScoredVersion, TrainResult
from pipelines.stages.candidate import CandidateRun, ModelOutcome
from pipelines.stages.deploy import DeployRun
from pipelines.stages.history import History
from pipelines.stages.post import PostResult
from pipelines.stages.propose import Proposal, ProposeRun
from pipelines.stages.rollback import Rollback
from pipelines.stages.validate import ValidationReport
from pipelines.stages.verify import VerifyReport

SHA = "0123456789abcdef" * 2 + "01234567"
CAND = {"accuracy": 0.9722, "f1_weighted": 0.9721, "roc_auc": 0.9995}
PROD = {"accuracy": 0.9444, "f1_weighted": 0.9442, "roc_auc": 0.9990}


class TextSnapshot(SingleFileSnapshotExtension):
    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def txt(snapshot):
    return snapshot.use_extension(TextSnapshot)


def test_validate(txt) -> None:
    report = ValidationReport(models=["wine_logreg"], datasets={"wine": 178}, policies=["promotion"], pinned=[])
    assert console.render_validation(report) == txt


def test_train(txt) -> None:
    result = TrainResult(
        model="wine_logreg", version=3, run_id="r" * 32, artifact_sha256="a" * 64, spec_hash="b" * 64,
        data_sha256="c" * 64, git_commit=SHA, git_dirty=True, task="classification", estimator="logistic_regression",
        train_rows=142, eval_rows=36, metrics=CAND, tracking_uri="sqlite:///repo/.mlpin/mlflow.db",
        result_path="repo/.mlpin/results/wine_logreg/train.json",
    )
    assert console.render_train(result) == txt


def test_evaluate_against_production(txt) -> None:
    result = EvaluationResult(
        model="wine_logreg", spec_hash="b" * 64, eval_rows=36, candidate=ScoredVersion(version=3, metrics=CAND),
        production=ScoredVersion(version=2, metrics=PROD), production_note="production v2 scored on the same 36 rows",
        comparison=compare_metrics(CAND, PROD), tracking_uri="sqlite://", result_path="repo/evaluate.json",
    )
    assert console.render_evaluation(result) == txt


def test_candidate_with_every_outcome(txt) -> None:
    outcomes = [
        ModelOutcome(model="wine_logreg", outcome="passed", headline="passed all 5 gates", marker="m", body_file="f"),
        ModelOutcome(model="diabetes_hgb", outcome="blocked", headline="blocked by r2 >= 0.9", kind=Kind.BLOCKED,
                     marker="m", body_file="f"),
        ModelOutcome(model="breast_cancer_rf", outcome="error", headline="mlflow: unreachable",
                     kind=Kind.OUTSIDE_SYSTEM, marker="m", body_file="f"),
    ]
    run = CandidateRun(pr="7", sha=SHA, base="origin/main", changed=["models/wine_logreg.yaml"], outcomes=outcomes,
                       status="error", description="not evaluated: breast_cancer_rf", out_dir="repo/.mlpin/candidate")
    assert console.render_candidate_run(run, posted=False) == txt


def test_propose(txt) -> None:
    outcomes = [
        Proposal(
            model="wine_logreg",
            outcome="proposed",
            headline="promote wine_logreg v3",
            version=3,
            branch="promote/wine_logreg",
            pr="12",
            url="https://forge/pulls/12",
        ),
        Proposal(
            model="diabetes_hgb", outcome="blocked", headline="v4 blocked: r2 >= 0.9", version=4, kind=Kind.BLOCKED
        ),
    ]
    assert console.render_proposals(ProposeRun(commit=SHA, base_branch="main", changed=[], outcomes=outcomes)) == txt


def test_propose_with_nothing_to_do(txt) -> None:
    assert (
        console.render_proposals(ProposeRun(commit=SHA, base_branch="main", changed=["README.md"], outcomes=[])) == txt
    )


def test_deploy(txt) -> None:
    moves = [
        AliasMove(model="wine_logreg", outcome="moved", live=2, desired=3, headline="v2 -> v3"),
        AliasMove(model="diabetes_hgb", outcome="error", live=1, desired=2, kind=Kind.INVALID_INPUT,
                  headline="not deployed: models.diabetes_hgb: the stored artifact's sha256 is aaaa…, not bbbb…"),
    ]
    run = DeployRun(commit=SHA, pr="12", approver="reviewer", outcomes=moves, deployment="4",
                    deployment_created=True, deployment_state="failure",
                    webhooks=[WebhookCall(url="http://serving-0:8080/webhook", result="sent: HTTP 202"),
                              WebhookCall(url="http://serving-1:8080/webhook",
                                          result="failed: timed out (serving picks up the pin on its next poll)")])
    assert console.render_deploy(run) == txt


def test_verify_of_a_rollback(txt) -> None:
    report = VerifyReport(
        base="origin/main",
        changes=["wine_logreg: v3 -> v2"],
        problems=[],
        notes=["wine_logreg v2 was in production at 0123456789ab: a rollback, policy re-check skipped"],
    )
    assert console.render_verify(report) == txt


def test_rollback(txt) -> None:
    result = Rollback(model="wine_logreg", reverts=[SHA], from_version=3, to_version=2, branch="rollback/wine_logreg",
                      pr="13", url="https://forge/pulls/13")
    assert console.render_rollback(result) == txt


def test_history_with_an_answer_for_at(txt) -> None:
    def at(day: int, minute: int = 30) -> datetime:
        return datetime(2026, 11, day, 9, minute, tzinfo=UTC)

    def record(n: int, commit: str, when: datetime, **state) -> DeployRecord:
        return DeployRecord(id=str(n), commit=commit, time=when, **state)

    bad = "models.wine_logreg.artifact_sha256: the stored artifact's sha256 is aaaa…, not bbbb…"
    events = [
        PinEvent(commit="1" * 40, time=at(2), change="pinned", version=1, previous=None, entry=None, pr="3",
                 approver="alice", deployed_at="2026-11-02T09:31:00+00:00",
                 deployments=[record(1, "1" * 40, at(2, 31), pinned=1, live=1, state="deployed")]),
        PinEvent(commit="2" * 40, time=at(9), change="replaced", version=2, previous=1, entry=None, pr="8",
                 approver="bob", deployed_at="2026-11-09T11:00:00+00:00",
                 deployments=[record(2, "2" * 40, at(9, 31), pinned=2, live=1, state="failed", reason=bad),
                              record(3, "2" * 40, at(9, 32), pinned=2, live=1, state="failed", reason=bad),
                              record(4, "2" * 40, datetime(2026, 11, 9, 11, tzinfo=UTC), pinned=2, live=2,
                                     state="deployed")]),
        PinEvent(commit="3" * 40, time=at(10), change="replaced", version=1, previous=2, entry=None,
                 approver="carol (direct push)"),
    ]
    requests = [LoggedRequest(request_id=f"req-{n}", time=at(9, minute), version=1) for n, minute in ((7, 40), (8, 50))]
    result = History(model="wine_logreg", events=events, at=at(9, 45), at_event=events[1],
                     at_deployed=events[1].deployments[1], at_answered=Answered(before=requests[0], after=requests[1]),
                     disagreements=disagreements(events[1], events[1].deployments[1]))
    assert console.render_history(result) == txt


def test_post(txt) -> None:
    result = PostResult(pr="7", sha=SHA, comments=["https://forge/pulls/7#c1"], status="success")
    assert console.render_post(result) == txt


def _sparse_histories() -> list[History]:
    when = datetime(2026, 11, 9, 9, 45, tzinfo=UTC)
    bare = PinEvent(commit="4" * 40, time=when, change="pinned", version=3, previous=None, entry=None)
    failed = DeployRecord(id="5", commit="4" * 40, time=when, pinned=3, live=None, state="failed")
    request = LoggedRequest(request_id="req-1", time=when, version=3)
    return [
        History(model="m", events=[bare]),
        History(model="m", events=[bare.model_copy(update={"deployments": [failed]})], at=when),
        History(model="m", events=[bare], at=when, at_event=bare, at_deployed=failed,
                at_answered=Answered(skipped_lines=2), at_unlogged_since=when),
        History(model="m", events=[bare], at=when, at_answered=Answered(after=request)),
        History(model="m", events=[], at=when, at_answered=Answered(before=request, after=request)),
    ]


@pytest.mark.parametrize("result", _sparse_histories(),
                         ids=["no-deployments", "failed-without-reason", "unlogged-nothing-logged", "only-after",
                              "no-events"])
def test_history_renders_whatever_is_missing(result: History) -> None:
    text = console.render_history(result)
    assert text.startswith("m in production") and "None" not in text, text


def test_history_strips_what_a_terminal_would_obey() -> None:
    when = datetime(2026, 11, 9, 9, 45, tzinfo=UTC)
    hostile = "\x1b[2J\x1b]0;title\x07\u202eevil\u202c\x9b31m"
    record = DeployRecord(id="5", commit="4" * 40, time=when, pinned=3, live=2, state="failed", reason=hostile)
    event = PinEvent(commit="4" * 40, time=when, change="pinned", version=3, previous=None, entry=None,
                     approver=f"mallory{hostile}", deployments=[record])
    result = History(model="m", events=[event], at=when, at_event=event, at_deployed=record,
                     disagreements=disagreements(event, record))
    text = console.render_history(result)
    assert "evil" in text and "mallory" in text
    assert not any(ch in text for ch in "\x1b\x07\u202e\u202c\x9b"), repr(text)


def test_prepare_retrain(txt) -> None:
    from pipelines.stages.retrain import RetrainBranch

    result = RetrainBranch(
        model="wine_logreg", branch="retrain/wine_logreg-20261130", commit="1" * 40, base=SHA, form="requests",
        dataset="wine-20261130", data_path="data/wine-20261130.csv", holdout="wine-20261130-holdout",
        holdout_path="data/wine-20261130-holdout.csv", old_rows=178, train_rows=28, holdout_rows=12, seed=7,
        next_steps=["mlpin forge open retrain/wine_logreg-20261130 --base main   (the local forge)",
                    "or: git push origin retrain/wine_logreg-20261130, and open a pull request into main"],
    )
    assert console.render_retrain(result) == txt


def test_replicas(txt) -> None:
    view = {"model": "wine_logreg", "condition": "Ready", "reason": "Synced"}
    outcomes = [
        ReplicaOutcome(url="http://serving-0:8080", converged=True, kind=Kind.DONE, headline="converged",
                       pin_revision=SHA, pin_condition="Ready",
                       models=[ModelView(**view, desired=3, replica_desired=3, live=3, converged=True)]),
        ReplicaOutcome(url="http://serving-1:8080", converged=False, kind=Kind.OUTSIDE_SYSTEM,
                       headline="not converged: wine_logreg serves v2, desired v3", pin_revision="f" * 40,
                       pin_condition="Ready",
                       models=[ModelView(**view, desired=3, replica_desired=2, live=2, converged=False)]),
        ReplicaOutcome(url="http://serving-2:8080", converged=False, kind=Kind.OUTSIDE_SYSTEM,
                       headline="unreachable: [Errno 111] Connection refused"),
    ]
    run = ConvergenceRun(reference="models/production.yaml checked out at 0123456789ab", outcomes=outcomes,
                         converged=1, total=3)
    assert console.render_replicas(run) == txt
