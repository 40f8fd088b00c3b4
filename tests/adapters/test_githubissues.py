"""mlpin's issues on GitHub, driven through PyGithub against the local fake REST API: what
the contract cannot say the same way for both forges (lost answers, pull requests in the
issue list, how many requests a run makes)."""

from __future__ import annotations

from pipelines.adapters.github import GitHubForge
from tests.fakes.github_api import FakeGitHub

WINE = "<!-- mlpin:drift:wine_logreg -->"
CHECK = "<!-- mlpin:drift-check -->"


def _asked(fake: FakeGitHub, method: str, pattern: str) -> int:
    import re

    return sum(1 for m, path in fake.requests if m == method and re.search(pattern, path))


def _open(forge: GitHubForge, fingerprint: str = WINE, body: str = "psi 0.31"):
    return forge.open_issue(fingerprint=fingerprint, title="drifted", body=f"{fingerprint}\n{body}",
                            labels=["mlpin-drift"])


def _fresh(fake: FakeGitHub) -> GitHubForge:
    """Another run: a new instance, with nothing read yet."""
    return GitHubForge(token=fake.token, repository=fake.repository, base_url=fake.base_url, login=fake.login,
                       throttle=False, backoff_factor=0)


def test_a_create_whose_answer_was_lost_leaves_one_issue(fake_github: FakeGitHub,
                                                         github_forge: GitHubForge) -> None:
    fake_github.lose_answer_next("POST", r"/issues$")
    ref = _open(github_forge)
    assert list(fake_github.issues) == [int(ref.number)] and ref.created
    assert _asked(fake_github, "POST", r"/issues$") == 1, "re-read, found it, did not post again"
    assert _open(github_forge).number == ref.number and len(fake_github.issues) == 1


def test_a_create_refused_before_it_was_processed_is_sent_again_once(fake_github: FakeGitHub,
                                                                     github_forge: GitHubForge) -> None:
    fake_github.fail_next("POST", r"/issues$", 502)
    ref = _open(github_forge)
    assert list(fake_github.issues) == [int(ref.number)]
    assert _asked(fake_github, "POST", r"/issues$") == 2


def test_a_comment_whose_answer_was_lost_is_posted_once(fake_github: FakeGitHub,
                                                        github_forge: GitHubForge) -> None:
    number = _open(github_forge).number
    fake_github.lose_answer_next("POST", r"/issues/\d+/comments$")
    github_forge.comment_issue(number, f"{CHECK}\ndrifted")
    github_forge.comment_issue(number, f"{CHECK}\ndrifted")
    assert [c["body"] for c in fake_github.comments[int(number)]] == [f"{CHECK}\ndrifted"]
    assert _fresh(fake_github).issue_comments(number) == [f"{CHECK}\ndrifted"]


def test_pull_requests_in_the_issue_list_are_never_taken_for_issues(fake_github: FakeGitHub,
                                                                    github_forge: GitHubForge) -> None:
    pull = github_forge.open_pull(head="promote/wine", base="main", title="promote", body=f"{WINE}\nlooks like one")
    listed = fake_github._issue_list({"state": ["all"], "creator": [fake_github.login]})[1]
    assert [i["number"] for i in listed if "pull_request" in i] == [int(pull.number)], "GitHub lists PRs as issues"
    assert github_forge.find_issue(WINE) is None
    ref = _open(github_forge)
    assert ref.created and ref.number != pull.number
    assert fake_github.prs[int(pull.number)]["body"] == f"{WINE}\nlooks like one", "the PR is left as it was"


def test_a_run_lists_mlpins_issues_once_and_a_rerun_writes_nothing(fake_github: FakeGitHub,
                                                                   github_forge: GitHubForge) -> None:
    for index in range(120):
        fake_github.add_issue(f"m{index}", f"<!-- mlpin:drift:m{index} -->\nx", login=fake_github.login)
    for index in range(150):  # people's issues: the creator filter leaves them on GitHub's side
        fake_github.add_issue(f"bug {index}", "it broke")
    models = [WINE, "<!-- mlpin:drift:cancer -->", "<!-- mlpin:drift:digits -->"]
    for fingerprint in models:
        _open(github_forge, fingerprint)
    assert _asked(fake_github, "GET", r"/issues$") == 2, "two pages of 100, read once for every model"
    assert _asked(fake_github, "GET", r"/issues/\d+$") == 0, "nothing read issue by issue"
    rerun = _fresh(fake_github)
    before = len(fake_github.requests)
    refs = [_open(rerun, fingerprint) for fingerprint in models]
    assert not any(r.created or r.changed for r in refs)
    assert [m for m, _ in fake_github.requests[before:]] == ["GET", "GET", "GET"], "the repo, then two pages"


def test_labels_are_created_when_missing_and_kept_when_people_add_theirs(fake_github: FakeGitHub,
                                                                        github_forge: GitHubForge) -> None:
    number = int(_open(github_forge).number)
    assert fake_github.issues[number]["labels"] == ["mlpin-drift"] and "mlpin-drift" in fake_github.labels
    fake_github.issues[number]["labels"].append("triaged")  # a person labels it
    ref = _open(_fresh(fake_github))
    assert not ref.changed and fake_github.issues[number]["labels"] == ["mlpin-drift", "triaged"]


def test_close_issue_reads_the_state_github_holds(fake_github: FakeGitHub, github_forge: GitHubForge) -> None:
    number = _open(github_forge).number
    fake_github.issues[int(number)]["state"] = "closed"  # a person closed it since
    assert _fresh(fake_github).close_issue(number, comment=f"{CHECK}\nclean") is False
    assert fake_github.comments.get(int(number), []) == []


def test_issues_are_found_even_if_the_creator_filter_matches_no_bot(fake_github: FakeGitHub,
                                                                     github_forge: GitHubForge) -> None:
    fake_github.creator_filter_works = False  # undocumented for github-actions[bot]: never rely on it alone
    fake_github.add_issue("lookalike", f"{WINE}\nforged", login="mallory")
    first = _open(github_forge)
    again = _open(_fresh(fake_github))
    assert first.created and not again.created and again.number == first.number
    assert _fresh(fake_github).find_issue(WINE).number == first.number
