"""A local fake of the GitHub REST API: the subset mlpin uses, served on 127.0.0.1.

It behaves like GitHub where mlpin relies on it: token auth, Link-header pagination,
404 and 422 error bodies, rate-limit headers on every response, and URL fields that
point back at the fake. Failures can be injected per request to test retries, before the
request is processed (`fail_next`) or after it (`lose_answer_next`: the answer is lost).
Lists are paginated as GitHub does (Link headers), and every request is kept in
`requests`, so a test can count what a command asked for. Comments posted through the
API are by `login`, the token's user; `add_comment` plants
one by anyone else. `GET /user` answers with `login`, or with GitHub's 403 when
`user_readable` is off, as for the Actions GITHUB_TOKEN (which posts as github-actions[bot]).
Issues share one number space with pull requests, and the issue list includes pull requests
(with a `pull_request` key) as GitHub's does; `add_issue` plants one by anyone. Labels set
on an issue are created in the repository when missing, as GitHub does for a token with
push access; with `push_access` off they are silently dropped, as GitHub documents.
`FakeGitHubWithFiles` adds branches and file contents, for the pin reader.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STATES = {"error", "failure", "pending", "success"}
DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}


def _now() -> str:
    """GitHub's timestamps: UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Injected:
    method: str
    path: re.Pattern
    status: int
    headers: dict[str, str]
    remaining: int
    message: str = ""


@dataclass
class FakeGitHub:
    """State of one fake repository plus the HTTP server that exposes it."""

    token: str = "test-token"
    login: str = "mlpin-bot"  # who the token posts as
    user_readable: bool = True  # False: GET /user is refused (403), as for the Actions GITHUB_TOKEN
    owner: str = "acme"
    repo: str = "models"
    pulls: set[int] = field(default_factory=set)
    files: dict[int, list[str]] = field(default_factory=dict)  # the paths each PR changes, as GitHub lists them
    heads: dict[int, str] = field(default_factory=dict)  # PR -> head sha
    comments: dict[int, list[dict]] = field(default_factory=dict)
    statuses: dict[str, list[dict]] = field(default_factory=dict)
    prs: dict[int, dict] = field(default_factory=dict)  # PRs opened through the API
    deployments: list[dict] = field(default_factory=list)
    issues: dict[int, dict] = field(default_factory=dict)  # issues (not PRs), by number
    labels: dict[str, dict] = field(default_factory=dict)  # the repository's labels, by name
    push_access: bool = True  # False: labels asked for are silently dropped, as GitHub does
    creator_filter_works: bool = True  # False: `creator=` lists nothing (in case it ignores bot logins)
    requests: list[tuple[str, str]] = field(default_factory=list)
    injected: list[Injected] = field(default_factory=list)
    lost: list[Injected] = field(default_factory=list)  # processed, then answered with an error
    rate_remaining: int = 5000
    _next_id: int = 1000
    _clock: float = 1_795_000_000.0  # GitHub's times, one second apart per write: "newest" is never a tie
    _server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"

    def start(self) -> FakeGitHub:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(
        self, method: str, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None,
        message: str = "",
    ) -> None:
        """Answer the next `times` matching requests with `status` (and GitHub's `message`)."""
        self.injected.append(Injected(method, re.compile(path), status, headers or {}, times, message))

    def lose_answer_next(self, method: str, path: str, status: int = 502, *, times: int = 1) -> None:
        """Process the next `times` matching requests, then answer `status` (a proxy's 502 after
        GitHub did the work): the client cannot tell whether its write happened."""
        self.lost.append(Injected(method, re.compile(path), status, {}, times))

    def add_comment(self, number: int, body: str, *, login: str = "someone") -> dict:
        """A comment as if `login` had posted it (someone else, unless it is the token's login)."""
        with self.lock:
            return self._create_comment(number, body, login)

    def _create_comment(self, number: int, body: str, login: str) -> dict:
        self._next_id += 1
        cid = self._next_id
        kind = "issues" if number in self.issues else "pull"
        comment = {
            "id": cid, "node_id": f"IC_{cid}", "body": body, "user": {"login": login, "id": 1, "type": "User"},
            "html_url": f"{self.base_url}/{self.repository}/{kind}/{number}#issuecomment-{cid}",
            "url": f"{self.base_url}/repos/{self.repository}/issues/comments/{cid}",
            "issue_url": f"{self.base_url}/repos/{self.repository}/issues/{number}",
            "created_at": "2026-11-23T00:00:00Z", "updated_at": "2026-11-23T00:00:00Z",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def merge(self, number: int, *, sha: str, login: str) -> None:
        """A reviewer merges PR `number` on GitHub, making commit `sha`."""
        with self.lock:
            self.prs[number].update(state="closed", merged=True, merged_at="2026-11-23T12:00:00Z",
                                    merge_commit_sha=sha, merged_by=_user(login))

    def _pull_json(self, pr: dict) -> dict:
        number = pr["number"]
        return {**pr, "id": number, "url": f"{self.base_url}/repos/{self.repository}/pulls/{number}",
                "html_url": f"{self.base_url}/{self.repository}/pull/{number}",
                "head": {"ref": pr["head_ref"], "sha": "0" * 40, "label": f"{self.owner}:{pr['head_ref']}"},
                "base": {"ref": pr["base_ref"], "sha": "1" * 40}}

    def _pulls(self, method: str, query: dict, body: dict) -> tuple[int, dict | list, dict]:
        if method == "GET":
            head = query.get("head", [""])[0]
            state = query.get("state", ["open"])[0]
            found = [self._pull_json(p) for p in self.prs.values()
                     if (not head or f"{self.owner}:{p['head_ref']}" == head) and state in ("all", p["state"])]
            return 200, found, {}
        if any(p["head_ref"] == body.get("head") and p["state"] == "open" for p in self.prs.values()):
            return _invalid("PullRequest", "head", "custom")  # GitHub: a PR already exists for this branch
        number = self._next_number()
        self.pulls.add(number)
        self.prs[number] = {"number": number, "state": "open", "user": _user(self.login), "title": body["title"],
                            "body": body.get("body", ""),
                            "head_ref": body["head"], "base_ref": body["base"], "merged": False, "merged_at": None,
                            "merge_commit_sha": None, "merged_by": None}
        return 201, self._pull_json(self.prs[number]), {}

    def _next_number(self) -> int:
        """Issues and pull requests share one number space, as on GitHub."""
        return max([*self.pulls, *self.prs, *self.issues, 0]) + 1

    def _tick(self) -> str:
        self._clock += 1
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self._clock))

    def add_issue(self, title: str, body: str, *, login: str = "someone", state: str = "open",
                  labels: list[str] | None = None) -> int:
        """An issue as if `login` had opened it (someone else, unless it is the token's login)."""
        with self.lock:
            number = self._next_number()
            now = self._tick()
            self.issues[number] = {"number": number, "title": title, "body": body, "state": state,
                                   "labels": list(labels or []), "user": _user(login), "created_at": now,
                                   "updated_at": now}
            return number

    def _label_names(self, names: list) -> list[str]:
        """The labels an issue gets: each created when missing (push access), else all dropped."""
        if not self.push_access:
            return []
        for name in names:
            self.labels.setdefault(str(name).casefold(), {"name": str(name), "color": "ededed"})
        return [self.labels[str(name).casefold()]["name"] for name in dict.fromkeys(names)]

    def _issue_json(self, number: int) -> dict:
        url = f"{self.base_url}/repos/{self.repository}/issues/{number}"
        if number in self.issues:
            issue = self.issues[number]
            page = f"{self.base_url}/{self.repository}/issues/{number}"
            extra: dict = {"labels": [{"id": i, "name": n, "color": self.labels.get(n.casefold(), {}).get("color", "")}
                                      for i, n in enumerate(issue["labels"], 1)]}
        else:  # a pull request, as the issues API shows it
            pr = self.prs.get(number, {})
            issue = {"number": number, "title": pr.get("title", f"PR {number}"), "body": pr.get("body", ""),
                     "state": pr.get("state", "open"), "user": pr.get("user", _user("someone")),
                     "created_at": "2026-11-23T00:00:00Z", "updated_at": "2026-11-23T00:00:00Z"}
            page = f"{self.base_url}/{self.repository}/pull/{number}"
            extra = {"labels": [], "pull_request": {"url": f"{self.base_url}/repos/{self.repository}/pulls/{number}",
                                                     "html_url": page}}
        return {**issue, **extra, "id": number, "url": url, "html_url": page, "comments_url": f"{url}/comments",
                "comments": len(self.comments.get(number, [])),
                "repository_url": f"{self.base_url}/repos/{self.repository}"}

    def _issue_list(self, query: dict) -> tuple[int, list, dict]:
        """GET /issues: issues and pull requests, filtered by state (default open), creator and
        labels (all of them), sorted by created (default) or updated, newest first by default."""
        state = query.get("state", ["open"])[0]
        creator = query.get("creator", [None])[0]
        labels = [n.casefold() for n in query.get("labels", [""])[0].split(",") if n]
        sort, direction = query.get("sort", ["created"])[0], query.get("direction", ["desc"])[0]
        every = [self._issue_json(n) for n in sorted({*self.issues, *self.pulls, *self.prs})]
        found = [i for i in every if state in ("all", i["state"])
                 and (creator is None or (self.creator_filter_works
                                          and i["user"]["login"].casefold() == creator.casefold()))
                 and set(labels) <= {label["name"].casefold() for label in i["labels"]}]
        found.sort(key=lambda i: (i[f"{sort}_at"], i["number"]), reverse=direction == "desc")
        return self._paged(found, query, f"{self.base_url}/repos/{self.repository}/issues",
                           keep={"state": query.get("state", [None])[0], "creator": creator,
                                 "labels": query.get("labels", [None])[0], "sort": query.get("sort", [None])[0],
                                 "direction": query.get("direction", [None])[0]})

    def _create_issue(self, body: dict) -> tuple[int, dict, dict]:
        if not isinstance(body.get("title"), str) or not body["title"]:
            return _invalid("Issue", "title", "missing_field")
        number = self._next_number()
        now = self._tick()
        self.issues[number] = {"number": number, "title": body["title"], "body": body.get("body") or "",
                               "state": "open", "labels": self._label_names(body.get("labels") or []),
                               "user": _user(self.login), "created_at": now, "updated_at": now}
        return 201, self._issue_json(number), {}

    def _edit_issue(self, number: int, body: dict) -> tuple[int, dict, dict]:
        issue = self.issues[number]
        if "state" in body and body["state"] not in ("open", "closed"):
            return _invalid("Issue", "state", "invalid")
        update = {k: body[k] for k in ("title", "body", "state") if k in body}
        if "labels" in body and self.push_access:
            update["labels"] = self._label_names(body["labels"])
        if any(issue.get(k) != v for k, v in update.items()):
            issue.update(update, updated_at=self._tick())
        return 200, self._issue_json(number), {}

    def _deployments(self, method: str, query: dict, body: dict) -> tuple[int, dict | list, dict]:
        if method == "GET":
            sha, env = query.get("sha", [None])[0], query.get("environment", [None])[0]
            found = [d for d in self.deployments if sha in (None, d["sha"]) and env in (None, d["environment"])]
            return self._paged(found[::-1], query, f"{self.base_url}/repos/{self.repository}/deployments",
                               keep={"sha": sha, "environment": env})
        self._next_id += 1
        did = self._next_id
        url = f"{self.base_url}/repos/{self.repository}/deployments/{did}"
        deployment = {
            "id": did,
            "sha": body["ref"],
            "ref": body["ref"],
            "environment": body.get("environment", "production"),
            "payload": body.get("payload", {}),
            "description": body.get("description"),
            "url": url,
            "statuses_url": f"{url}/statuses",
            "created_at": _now(),
            "statuses": [],
        }
        self.deployments.append(deployment)
        return 201, deployment, {}

    # --- request routing -------------------------------------------------------------

    def handle(
        self, method: str, path: str, query: dict, body: dict | None, auth: str
    ) -> tuple[int, dict | list, dict]:
        with self.lock:
            self.requests.append((method, path))
            for inj in self.injected:
                if inj.remaining > 0 and inj.method == method and inj.path.search(path):
                    inj.remaining -= 1
                    return inj.status, {"message": inj.message or f"injected {inj.status}"}, dict(inj.headers)
            if auth not in (f"token {self.token}", f"Bearer {self.token}"):
                return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
            if path == "/user" and method == "GET":
                return self._user()
            prefix = f"/repos/{self.repository}"
            if not path.startswith(prefix):
                return _not_found()
            answer = self._route(method, path[len(prefix):], query, body or {})
            for lost in self.lost:
                if lost.remaining > 0 and lost.method == method and lost.path.search(path):
                    lost.remaining -= 1
                    return lost.status, {"message": f"processed, then {lost.status}"}, {}
            return answer

    def _route(self, method: str, rest: str, query: dict, body: dict) -> tuple[int, dict | list, dict]:
        if method == "GET" and rest == "":
            return 200, self._repo_json(), {}
        if rest == "/pulls" and method in ("GET", "POST"):
            return self._pulls(method, query, body)
        if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and int(m.group(1)) in self.prs:
            pr = self.prs[int(m.group(1))]
            if method == "PATCH":
                if body.get("state") == "closed" and pr["state"] == "open":
                    pr["state"] = "closed"
                pr.update(
                    {k: v for k, v in body.items() if k in ("title", "body")},
                    **({"base_ref": body["base"]} if "base" in body else {}),
                )
            return 200, self._pull_json(pr), {}
        if (m := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", rest)) and method == "GET":
            return 200, [self._pull_json(p) for p in self.prs.values() if p["merge_commit_sha"] == m.group(1)], {}
        if rest == "/deployments" and method in ("GET", "POST"):
            return self._deployments(method, query, body)
        if (m := re.fullmatch(r"/deployments/(\d+)/statuses", rest)) and method in ("GET", "POST"):
            deployment = next((d for d in self.deployments if d["id"] == int(m.group(1))), None)
            if deployment is None:
                return _not_found()
            if method == "GET":
                return self._paged(deployment["statuses"][::-1], query, deployment["statuses_url"])
            if body.get("state") not in DEPLOYMENT_STATES:
                return _invalid("DeploymentStatus", "state", "invalid")
            if len(body.get("description") or "") > 140:
                return _invalid("DeploymentStatus", "description", "too_long")
            status = {
                "id": len(deployment["statuses"]) + 1,
                "state": body["state"],
                "description": body.get("description"),
                "created_at": _now(),
                "url": f"{deployment['url']}/statuses/{len(deployment['statuses']) + 1}",
            }
            deployment["statuses"].append(status)
            return 201, status, {}
        if (m := re.fullmatch(r"/pulls/(\d+)/files", rest)) and method == "GET":
            files = self.files.get(int(m.group(1)), [])
            return 200, [{"sha": "0" * 40, "filename": f, "status": "modified"} for f in files], {}
        if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and method == "GET":
            number = int(m.group(1))
            if number not in self.pulls:
                return _not_found()
            url = f"{self.base_url}/repos/{self.repository}/pulls/{number}"
            head = self.heads.get(number, "0" * 40)
            return 200, {"id": number, "number": number, "state": "open", "url": url,
                         "html_url": f"{self.base_url}/{self.repository}/pull/{number}",
                         "head": {"sha": head, "ref": f"pr-{number}"}, "base": {"sha": "1" * 40, "ref": "main"}}, {}
        if rest == "/issues" and method == "GET":
            return self._issue_list(query)
        if rest == "/issues" and method == "POST":
            return self._create_issue(body)
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            number = int(m.group(1))
            if method == "PATCH" and number in self.issues:
                return self._edit_issue(number, body)
            return self._issue(number) if method == "GET" else _not_found()
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if number not in self.pulls and number not in self.issues:
                return _not_found()
            if method == "GET":
                return self._page(number, query)
            if method == "POST":
                if not isinstance(body.get("body"), str) or not body["body"]:
                    return _invalid("IssueComment", "body", "missing_field")
                return 201, self._create_comment(number, body["body"], self.login), {}
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            return self._edit(int(m.group(1)), body)
        if (m := re.fullmatch(r"/(?:commits/([0-9a-f]{40})/)?statuses(?:/([0-9a-f]{40}))?", rest)) and method == "GET":
            sha = m.group(1) or m.group(2)
            return 200, self.statuses.get(sha, [])[::-1], {}  # newest first
        if (m := re.fullmatch(r"/commits/([^/]+)", rest)) and method == "GET":
            sha = m.group(1)
            if not re.fullmatch(r"[0-9a-f]{7,40}", sha):
                return 422, {"message": f"No commit found for SHA: {sha}"}, {}
            return 200, {"sha": sha, "url": f"{self.base_url}/repos/{self.repository}/commits/{sha}"}, {}
        if (m := re.fullmatch(r"/statuses/([0-9a-f]{40})", rest)) and method == "POST":
            if body.get("state") not in STATES:
                return _invalid("Status", "state", "invalid")
            status = {"id": len(self.statuses) + 1, "state": body["state"], "context": body.get("context", "default"),
                      "description": body.get("description"), "target_url": body.get("target_url"),
                      "url": f"{self.base_url}/repos/{self.repository}/statuses/{m.group(1)}"}
            if len(status["description"] or "") > 140:
                return _invalid("Status", "description", "too_long")
            self.statuses.setdefault(m.group(1), []).append(status)
            return 201, status, {}
        return _not_found()

    def _user(self) -> tuple[int, dict, dict]:
        if not self.user_readable:
            return 403, {"message": "Resource not accessible by integration",
                         "documentation_url": "https://docs.github.com/rest/users/users#get-the-authenticated-user"}, {}
        return 200, {**_user(self.login), "url": f"{self.base_url}/users/{self.login}"}, {}

    def _repo_json(self) -> dict:
        return {"id": 1, "name": self.repo, "full_name": self.repository, "private": True,
                "owner": {"login": self.owner, "id": 1, "type": "Organization"},
                "url": f"{self.base_url}/repos/{self.repository}", "html_url": f"{self.base_url}/{self.repository}"}

    def _issue(self, number: int) -> tuple[int, dict, dict]:
        if number not in self.pulls and number not in self.issues:
            return _not_found()
        return 200, self._issue_json(number), {}

    def _page(self, number: int, query: dict) -> tuple[int, list, dict]:
        url = f"{self.base_url}/repos/{self.repository}/issues/{number}/comments"
        return self._paged(self.comments.get(number, []), query, url)

    @staticmethod
    def _paged(items: list, query: dict, url: str, *, keep: dict | None = None) -> tuple[int, list, dict]:
        """One page of `items` as GitHub serves it (per_page up to 100, default 30), with Link
        headers that repeat the filters in `keep`."""
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        filters = "".join(f"&{k}={v}" for k, v in (keep or {}).items() if v is not None)
        links = []
        if page < last:
            links.append(f'<{url}?per_page={per_page}&page={page + 1}{filters}>; rel="next"')
            links.append(f'<{url}?per_page={per_page}&page={last}{filters}>; rel="last"')
        if page > 1:
            links.append(f'<{url}?per_page={per_page}&page=1{filters}>; rel="first"')
            links.append(f'<{url}?per_page={per_page}&page={page - 1}{filters}>; rel="prev"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def add_deployment(self, *, sha: str, payload: dict, created_at: str, state: str | None = "success",
                       environment: str = "production") -> dict:
        """A deployment as if recorded at `created_at` (by mlpin or another tool), with a `state`
        status unless None; the caller adds them oldest first, as GitHub numbers them."""
        with self.lock:
            self._deployments("POST", {}, {"ref": sha, "environment": environment, "payload": payload})
            deployment = self.deployments[-1]
            deployment["created_at"] = created_at
            if state is not None:
                deployment["statuses"].append({"id": 1, "state": state, "description": state, "created_at": created_at,
                                               "url": f"{deployment['url']}/statuses/1"})
            return deployment

    def _edit(self, cid: int, body: dict) -> tuple[int, dict, dict]:
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == cid:
                    if not isinstance(body.get("body"), str):
                        return _invalid("IssueComment", "body", "missing_field")
                    comment["body"] = body["body"]
                    comment["updated_at"] = "2026-11-23T00:00:01Z"
                    return 200, comment, {}
        return _not_found()


def _user(login: str) -> dict:
    return {"login": login, "id": 2, "type": "User"}


def _not_found() -> tuple[int, dict, dict]:
    return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}


def _invalid(resource: str, field_name: str, code: str) -> tuple[int, dict, dict]:
    return (
        422,
        {"message": "Validation Failed", "errors": [{"resource": resource, "field": field_name, "code": code}]},
        {},
    )


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload, headers = fake.handle(
                self.command, url.path, parse_qs(url.query), body, self.headers.get("Authorization", "")
            )
            data = json.dumps(payload).encode()
            with fake.lock:
                fake.rate_remaining = max(0, fake.rate_remaining - 1)
                remaining = fake.rate_remaining
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-RateLimit-Limit", "5000")
            self.send_header("X-RateLimit-Remaining", headers.pop("X-RateLimit-Remaining", str(remaining)))
            self.send_header("X-RateLimit-Reset", str(int(time.time()) + 3600))
            self.send_header("X-RateLimit-Resource", "core")
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = _serve

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    return Handler


@dataclass
class FakeGitHubWithFiles(FakeGitHub):
    """The local GitHub fake plus branches and file contents (the contents API)."""

    branches: dict[str, str] = field(default_factory=dict)  # branch -> commit
    files: dict[tuple[str, str], str] = field(default_factory=dict)  # (commit, path) -> text

    def _route(self, method: str, rest: str, query: dict, body: dict):
        commit = re.fullmatch(r"/commits/([^/]+)", rest)
        if method == "GET" and commit and commit.group(1) in self.branches:
            sha = self.branches[commit.group(1)]
            return 200, {"sha": sha, "url": f"{self.base_url}/repos/{self.repository}/commits/{sha}"}, {}
        contents = re.fullmatch(r"/contents/(.+)", rest)
        if method == "GET" and contents:
            return self._file(contents.group(1), query.get("ref", [""])[0])
        return super()._route(method, rest, query, body)

    def _file(self, path: str, ref: str):
        text = self.files.get((ref, path))
        if text is None:
            return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}
        data = text.encode()
        return (
            200,
            {
                "type": "file",
                "encoding": "base64",
                "content": base64.b64encode(data).decode(),
                "size": len(data),
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": "a" * 40,
                "url": f"{self.base_url}/repos/{self.repository}/contents/{path}?ref={ref}",
            },
            {},
        )
