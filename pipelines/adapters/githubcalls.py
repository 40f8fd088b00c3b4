"""How GitHubForge calls GitHub: PyGithub's retry policy, a create that is never made
twice, and GitHub's failures as who must act. No forge logic here.

Reads and idempotent writes (GET, PATCH, PUT, DELETE) are retried on 5xx and rate-limit
responses by PyGithub's GithubRetry (honouring Retry-After and X-RateLimit-Reset). A POST
is never retried blindly: a 5xx or a dropped connection may come after GitHub created the
thing, so each create re-reads and only then creates again, once (`create_once`); a POST
GitHub refused for a rate limit is waited out and resent, as it was not processed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from pipelines.core.errors import InvalidInput, NotFound, OutsideSystemError, Problem

T = TypeVar("T")
RETRIES = 5
PER_PAGE = 100  # GitHub's maximum: fewer requests against the rate limit
MAX_RATE_LIMIT_WAIT_S = 300
DESCRIPTION_LIMIT = 140  # GitHub rejects longer status descriptions
IDEMPOTENT_METHODS = frozenset({"GET", "PATCH", "PUT", "DELETE"})  # the same request twice does no more than once
RATE_LIMITED = (403, 429)  # refused before processing; GithubRetry tells a rate limit from a permission 403


def retry_policy(*, backoff_factor: float) -> Any:
    """GithubRetry that resends a POST only when GitHub refused it for a rate limit."""
    from github.GithubRetry import GithubRetry

    class _Retry(GithubRetry):
        def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
            if method.upper() == "POST" and status_code in RATE_LIMITED:
                method = "GET"  # as safe to resend as a read: nothing was done
            return super().is_retry(method, status_code, has_retry_after)

    return _Retry(total=RETRIES, backoff_factor=backoff_factor, max_rate_limit_wait=MAX_RATE_LIMIT_WAIT_S,
                  allowed_methods=IDEMPOTENT_METHODS)


def _answer_lost(exc: Exception) -> bool:
    """Whether a write may have happened though its answer says otherwise: a 5xx, a dropped connection."""
    from github import GithubException

    return isinstance(exc, OSError) or (isinstance(exc, GithubException) and exc.status >= 500)


def create_once(create: Callable[[], T], *, find: Callable[[], T | None]) -> T:
    """`create()`; when its answer is lost, what `find()` now sees (the lost POST did create
    it), else `create()` once more. The caller has already looked before the first create."""
    try:
        return create()
    except Exception as exc:
        if not _answer_lost(exc):
            raise
    found = find()
    return create() if found is None else found


@contextlib.contextmanager
def github_call(action: str, *, need: str = "contents: read", repository: str = "") -> Iterator[None]:
    """GitHub's failures as who must act: a refused token, a missing permission or object and
    rejected input are InvalidInput (fix the configuration or the input: retrying fails
    again); a rate limit, a 5xx after retries and a lost connection are OutsideSystemError.
    `need` names the token permission `action` requires."""
    from github import GithubException

    try:
        yield
    except GithubException as exc:
        raise _refusal(exc, action, need=need, repository=repository) from None
    except OSError as exc:
        raise OutsideSystemError("github", f"{action} failed: {exc}") from None


def _refusal(exc: Any, action: str, *, need: str, repository: str) -> Exception:
    from github import RateLimitExceededException

    data = exc.data if isinstance(exc.data, dict) else {}
    said = f"HTTP {exc.status} {data.get('message', exc.data if not data else '')}".rstrip()
    if isinstance(exc, RateLimitExceededException) or exc.status == 429 or exc.status >= 500:
        return OutsideSystemError("github", f"{action} failed: {said}" +
                                  (" (rate limit)" if exc.status in RATE_LIMITED else ""))
    if exc.status == 401:
        return InvalidInput(f"GitHub refused the token ({said}) while {action}: set a valid GITHUB_TOKEN")
    if exc.status == 403:
        return InvalidInput(f"GitHub refused {action} ({said}): the token lacks {need}; grant it to the job")
    if exc.status == 404:
        return NotFound(f"{action}: {repository or 'it'} was not found ({said}); check GITHUB_REPOSITORY and that "
                        f"the token can see it ({need})")
    if exc.status == 422:
        problems = [Problem(str(e.get("field", "")), str(e.get("code") or e.get("message", "")))
                    for e in data.get("errors") or [] if isinstance(e, dict)]
        return InvalidInput(f"GitHub rejected {action} ({said})", problems=problems)
    return OutsideSystemError("github", f"{action} failed: {said}")
