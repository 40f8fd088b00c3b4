"""The GitHub forge, driven through PyGithub against the local fake_github REST API."""

from __future__ import annotations

import json

import pytest

from pipelines.adapters.forge import pr_from_environment, select_forge
from pipelines.adapters.github import ACTIONS_LOGIN, GitHubForge
from pipelines.adapters.localforge import LocalForge
from pipelines.cli import EXIT_CODES
from pipelines.core.errors import InvalidInput, NotFound, OutsideSystemError
from pipelines.core.outcome import Kind
from tests.fakes.github_api import FakeGitHub

MARKER = "<!-- mlpin:candidate:wine -->"
SHA = "a" * 40


def test_comment_is_created_then_updated_in_place(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    first = github_forge.upsert_comment("7", MARKER, f"{MARKER}\nv1")
    second = github_forge.upsert_comment("7", MARKER, f"{MARKER}\nv2")
    assert (first.created, second.created, second.changed) == (True, False, True)
    assert first.id == second.id
    assert [c["body"] for c in fake_github.comments[7]] == [f"{MARKER}\nv2"]
    assert second.url.startswith(fake_github.base_url)


def test_unchanged_body_is_not_rewritten(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    github_forge.upsert_comment("7", MARKER, f"{MARKER}\nsame")
    ref = github_forge.upsert_comment("7", MARKER, f"{MARKER}\nsame")
    assert ref.changed is False
    assert not any(method == "PATCH" for method, _ in fake_github.requests)


def test_marker_comment_beyond_the_first_page_is_found(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    for index in range(105):  # one full page of 100 and more
        fake_github.add_comment(7, f"review comment {index}")
    fake_github.add_comment(7, f"{MARKER}\nold", login="mlpin-bot")
    fake_github.add_comment(7, f"quoting {MARKER} in a reply")  # contains the marker but does not start with it
    ref = github_forge.upsert_comment("7", MARKER, f"{MARKER}\nnew")
    assert ref.created is False
    assert len(fake_github.comments[7]) == 107
    assert fake_github.comments[7][105]["body"] == f"{MARKER}\nnew"
    assert fake_github.comments[7][106]["body"].startswith("quoting")
    pages = [path for method, path in fake_github.requests if method == "GET" and path.endswith("/comments")]
    assert len(pages) == 2  # followed the Link header to page 2


# (MLPIN_BOT_LOGIN, who the token posts as, whether GitHub lets it read GET /user)
TOKENS = {
    "the setting wins": ("mlpin-bot", "mlpin-bot", True),
    "a personal access token: its own user": (None, "mlpin-bot", True),
    "the Actions GITHUB_TOKEN: github-actions[bot]": (None, ACTIONS_LOGIN, False),
    "an App token: the setting names its bot": ("mlpin-app[bot]", "mlpin-app[bot]", False),
    "logins are case-insensitive": ("MLPIN-Bot", "mlpin-bot", True),
}


@pytest.mark.parametrize(("setting", "poster", "user_readable"), TOKENS.values(), ids=TOKENS.keys())
def test_mlpin_finds_its_own_comment_whoever_the_token_posts_as(setting: str | None, poster: str,
                                                                 user_readable: bool) -> None:
    fake = FakeGitHub(pulls={7}, login=poster, user_readable=user_readable).start()
    try:
        forge = GitHubForge(token=fake.token, repository=fake.repository, base_url=fake.base_url, login=setting,
                            throttle=False, backoff_factor=0)
        fake.add_comment(7, f"{MARKER}\nplanted", login="mallory")
        first = forge.upsert_comment("7", MARKER, f"{MARKER}\nv1")
        second = forge.upsert_comment("7", MARKER, f"{MARKER}\nv2")
    finally:
        fake.stop()
    assert (first.created, second.created, second.id) == (True, False, first.id)
    assert [(c["user"]["login"], c["body"]) for c in fake.comments[7]] == [
        ("mallory", f"{MARKER}\nplanted"), (poster, f"{MARKER}\nv2")]
    asked = [path for method, path in fake.requests if path == "/user"]
    assert asked == ([] if setting else ["/user"]), "GET /user once, and only when nothing names the login"


def test_a_failed_get_user_is_an_outside_system_error_not_a_guess(fake_github: FakeGitHub,
                                                                 github_forge: GitHubForge) -> None:
    fake_github.fail_next("GET", r"^/user$", 503, times=20)
    with pytest.raises(OutsideSystemError, match=r"finding who the token posts as \(GET /user\) failed"):
        github_forge.upsert_comment("7", MARKER, f"{MARKER}\nbody")
    assert fake_github.comments.get(7, []) == []


def test_a_refused_post_is_sent_again_once_after_a_re_read(fake_github: FakeGitHub,
                                                            github_forge: GitHubForge) -> None:
    fake_github.fail_next("POST", r"/issues/7/comments$", 502, times=1)
    ref = github_forge.upsert_comment("7", MARKER, f"{MARKER}\nbody")
    assert ref.created
    posts = [path for method, path in fake_github.requests if method == "POST"]
    assert len(posts) == 2, "not retried blindly: once, after reading the comments again"
    assert len(fake_github.comments[7]) == 1


PAYLOAD = {"pr": None, "models": {"wine": {"pinned": 2, "live": 2, "state": "deployed"}}}


def test_a_post_whose_answer_was_lost_is_not_made_twice(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    for path in (r"/issues/7/comments$", r"/deployments$", r"/deployments/\d+/statuses$"):
        fake_github.lose_answer_next("POST", path, 502)
    comment = github_forge.upsert_comment("7", MARKER, f"{MARKER}\nbody")
    deployment = github_forge.record_deployment(sha=SHA, environment="production", description="production: wine v2",
                                                payload=PAYLOAD, state="success")
    assert [c["body"] for c in fake_github.comments[7]] == [f"{MARKER}\nbody"]
    assert comment.created and comment.id == str(fake_github.comments[7][0]["id"])
    assert len(fake_github.deployments) == 1 and deployment.created and deployment.state == "success"
    assert [s["state"] for s in fake_github.deployments[0]["statuses"]] == ["success"]


def test_a_status_whose_answer_was_lost_is_not_resent(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    fake_github.lose_answer_next("POST", r"/statuses/", 502)
    github_forge.set_status(SHA, context="mlpin/candidate", state="success", description="ok")
    assert [(s["context"], s["state"]) for s in fake_github.statuses[SHA]] == [("mlpin/candidate", "success")]


def test_rate_limit_response_is_waited_out(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    fake_github.fail_next("GET", r"/issues/7$", 403, headers={"X-RateLimit-Remaining": "0", "Retry-After": "1"})
    assert github_forge.upsert_comment("7", MARKER, f"{MARKER}\nbody").created
    assert [p for m, p in fake_github.requests if p.endswith("/issues/7")] == ["/repos/acme/models/issues/7"] * 2


def test_persistent_server_error_is_an_outside_system_error_without_the_token(
    fake_github: FakeGitHub, github_forge: GitHubForge
) -> None:
    fake_github.fail_next("POST", r"/statuses/", 503, times=20)
    with pytest.raises(OutsideSystemError) as err:
        github_forge.set_status(SHA, context="mlpin/candidate", state="success", description="ok")
    assert err.value.kind == Kind.OUTSIDE_SYSTEM
    assert fake_github.token not in str(err.value)


def test_a_deployment_whose_status_was_lost_gets_it_on_the_rerun(fake_github: FakeGitHub,
                                                                  github_forge: GitHubForge) -> None:
    payload = PAYLOAD
    fake_github.fail_next("POST", r"/deployments/\d+/statuses$", 502, times=2)
    with pytest.raises(OutsideSystemError):
        github_forge.record_deployment(sha=SHA, environment="production", description="production: wine v2",
                                       payload=payload, state="success")
    assert [d["statuses"] for d in fake_github.deployments] == [[]], "created, but no status: a crash midway"
    rerun = github_forge.record_deployment(sha=SHA, environment="production", description="production: wine v2",
                                           payload=payload, state="success")
    assert not rerun.created and len(fake_github.deployments) == 1
    assert [s["state"] for s in fake_github.deployments[0]["statuses"]] == ["success"]


def _comment(forge: GitHubForge) -> None:
    forge.upsert_comment("7", MARKER, f"{MARKER}\nbody")


def _status(forge: GitHubForge) -> None:
    forge.set_status(SHA, context="mlpin/candidate", state="success", description="ok")


def _deploy(forge: GitHubForge) -> None:
    forge.record_deployment(sha=SHA, environment="production", description="d", payload=PAYLOAD, state="success")


RATE_LIMITED = {"X-RateLimit-Remaining": "0"}
NO_ACCESS = "Resource not accessible by integration"
# (write, method, path, status, message, headers, exit code, what the error says)
REFUSALS = {
    "401 bad token: fix the secret": (_comment, "GET", r"/issues/7$", 401, "Bad credentials", {}, 2,
                                      r"GitHub refused the token \(HTTP 401"),
    "403 comment: grant pull-requests: write": (_comment, "POST", r"/comments$", 403, NO_ACCESS, {}, 2,
                                                r"the token lacks pull-requests: write"),
    "403 status: grant statuses: write": (_status, "POST", r"/statuses/", 403, NO_ACCESS, {}, 2,
                                          r"the token lacks statuses: write"),
    "403 deployment: grant deployments: write": (_deploy, "POST", r"/deployments$", 403, NO_ACCESS, {}, 2,
                                                 r"the token lacks deployments: write"),
    "404 repository: check GITHUB_REPOSITORY": (_status, "GET", r"^/repos/acme/models$", 404, "Not Found", {}, 2,
                                                r"acme/models.*HTTP 404.*GITHUB_REPOSITORY"),
    "422 rejected input": (_status, "POST", r"/statuses/", 422, "Validation Failed", {}, 2,
                           r"GitHub rejected .*HTTP 422 Validation Failed"),
    "rate limit beyond the wait: retry later": (_comment, "POST", r"/comments$", 403,
                                                "API rate limit exceeded for installation", RATE_LIMITED, 3,
                                                r"rate limit"),
    "5xx after retries: retry later": (_comment, "GET", r"/issues/7$", 503, "Service Unavailable", {}, 3,
                                       r"failed: HTTP 503|too many 503"),
}


@pytest.mark.parametrize(("write", "method", "path", "status", "message", "headers", "code", "says"),
                         REFUSALS.values(), ids=REFUSALS.keys())
def test_exit_code_follows_who_must_act(fake_github: FakeGitHub, github_forge: GitHubForge, write, method: str,
                                       path: str, status: int, message: str, headers: dict, code: int,
                                       says: str) -> None:
    fake_github.fail_next(method, path, status, times=20, headers=headers, message=message)
    with pytest.raises((InvalidInput, OutsideSystemError), match=says) as err:
        write(github_forge)
    assert EXIT_CODES[err.value.kind] == code
    assert fake_github.token not in str(err.value)


def test_a_branch_name_is_not_a_pull_request_number(github_forge: GitHubForge) -> None:
    with pytest.raises(InvalidInput, match="on GitHub a pull request is a number; got 'main'"):
        github_forge.upsert_comment("main", MARKER, "x")


def test_missing_pull_request_is_not_found(github_forge: GitHubForge) -> None:
    with pytest.raises(NotFound, match="pull request #8 does not exist in acme/models"):
        github_forge.upsert_comment("8", MARKER, "x")


def test_bad_token_is_reported_without_echoing_it(fake_github: FakeGitHub) -> None:
    forge = GitHubForge(
        token="wrong-secret",
        repository=fake_github.repository,
        base_url=fake_github.base_url,
        throttle=False,
        backoff_factor=0,
    )
    with pytest.raises(InvalidInput, match="HTTP 401 Bad credentials") as err:
        forge.upsert_comment("7", MARKER, "x")
    assert "wrong-secret" not in str(err.value)


def test_status_is_set_with_context_and_description_trimmed(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    github_forge.set_status(SHA, context="mlpin/candidate", state="failure", description="blocked: " + "x" * 200)
    (status,) = fake_github.statuses[SHA]
    assert (status["context"], status["state"]) == ("mlpin/candidate", "failure")
    assert len(status["description"]) == 140


def test_forge_is_chosen_from_the_environment(tmp_path, fake_github: FakeGitHub) -> None:
    env = {
        "GITHUB_TOKEN": fake_github.token,
        "GITHUB_REPOSITORY": fake_github.repository,
        "GITHUB_API_URL": fake_github.base_url,
    }
    assert isinstance(select_forge(tmp_path, env), GitHubForge)
    assert isinstance(select_forge(tmp_path, {"GITHUB_REPOSITORY": "a/b"}), LocalForge)
    fake_github.user_readable = False
    assert select_forge(tmp_path, {**env, "MLPIN_BOT_LOGIN": "mlpin-app[bot]"}).login() == "mlpin-app[bot]"
    assert select_forge(tmp_path, {**env, "MLPIN_BOT_LOGIN": ""}).login() == ACTIONS_LOGIN, "empty is unset"


def test_pr_number_from_actions_event_or_ref(tmp_path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 42}}))
    assert pr_from_environment({"GITHUB_EVENT_PATH": str(event)}) == "42"
    assert pr_from_environment({"GITHUB_REF": "refs/pull/9/merge"}) == "9"
    assert pr_from_environment({"GITHUB_REF": "refs/heads/main"}) is None



def test_comment_pages_are_read_once_per_run_whatever_the_number_of_models(fake_github: FakeGitHub,
                                                                           github_forge: GitHubForge) -> None:
    """Five models' comments on a PR whose thread spans two pages: the pages are read once, and
    what this run wrote is what it finds again (edited in place, never created twice)."""
    for index in range(120):
        fake_github.add_comment(7, f"{MARKER}\nreply {index}", login="bob")  # someone else's, marker and all
    markers = [f"<!-- mlpin:candidate:m{i} -->" for i in range(5)]
    pages = ("GET", f"/repos/{fake_github.repository}/issues/7/comments")
    for marker in markers:
        github_forge.upsert_comment("7", marker, f"{marker}\nfirst")
    assert github_forge.comment_markers("7") == markers
    again = [github_forge.upsert_comment("7", marker, f"{marker}\nsecond") for marker in markers]
    assert fake_github.requests.count(pages) == 2, "two pages, read once"
    assert [(ref.created, ref.changed) for ref in again] == [(False, True)] * 5
    mine = [c["body"] for c in fake_github.comments[7] if c["user"]["login"] == fake_github.login]
    assert mine == [f"{marker}\nsecond" for marker in markers]
    assert sum(1 for c in fake_github.comments[7] if c["body"].endswith("reply 0")) == 1, "bob's left alone"


def test_a_deployments_status_is_read_only_when_its_payload_needs_it(fake_github: FakeGitHub,
                                                                     github_forge: GitHubForge) -> None:
    for n, payload in enumerate([{"models": {"wine": 1}}, {"models": {"wine": {"pinned": 1}}}] * 3):
        fake_github.add_deployment(sha=SHA, payload=payload, created_at=f"2026-03-02T0{n}:00:00Z", state="failure")
    listed = list(github_forge.newest_deployments("production", need_state=lambda p: p["models"]["wine"] == 1))
    statuses = [path for method, path in fake_github.requests if path.endswith("/statuses")]
    assert len(statuses) == 3, "one status request per old-format record, none for the others"
    assert [d.state for d in listed] == ["unread", "failure"] * 3


def test_propose_as_a_bot_reads_the_candidate_report_the_actions_token_posted(fake_github: FakeGitHub,
                                                                             github_forge: GitHubForge) -> None:
    """candidate-post posts with GITHUB_TOKEN (github-actions[bot]); propose posts as MLPIN_BOT_TOKEN's login."""
    marker = "<!-- mlpin:candidate:wine -->"
    fake_github.add_comment(7, f"{marker}\nforged", login="mallory")
    assert github_forge.own_comment("7", marker) is None
    fake_github.add_comment(7, f"{marker}\nreport", login="github-actions[bot]")
    assert github_forge.login() != "github-actions[bot]"
    assert github_forge.own_comment("7", marker) == f"{marker}\nreport"
