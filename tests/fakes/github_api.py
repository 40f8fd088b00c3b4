"""A local fake of the GitHub REST API: the subset mlpin uses, served on 127.0.0.1.

It behaves like GitHub where mlpin relies on it: token auth, Link-header pagination,
404 and 422 error bodies, rate-limit headers on every response, and URL fields that
point back at the fake. Failures can be injected per request to test retries.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

STATES = {"error", "failure", "pending", "success"}


@dataclass
class Injected:
    method: str
    path: re.Pattern
    status: int
    headers: dict[str, str]
    remaining: int


@dataclass
class FakeGitHub:
    """State of one fake repository plus the HTTP server that exposes it."""

    token: str = "test-token"
    owner: str = "acme"
    repo: str = "models"
    pulls: set[int] = field(default_factory=set)
    heads: dict[int, str] = field(default_factory=dict)  # PR -> head sha
    comments: dict[int, list[dict]] = field(default_factory=dict)
    statuses: dict[str, list[dict]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    injected: list[Injected] = field(default_factory=list)
    rate_remaining: int = 5000
    _next_id: int = 1000
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

    def fail_next(self, method: str, path: str, status: int, *, times: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `times` matching requests with `status`."""
        self.injected.append(Injected(method, re.compile(path), status, headers or {}, times))

    def add_comment(self, number: int, body: str, *, login: str = "someone") -> dict:
        """A comment as if someone else had posted it."""
        with self.lock:
            return self._create_comment(number, body, login)

    def _create_comment(self, number: int, body: str, login: str) -> dict:
        self._next_id += 1
        cid = self._next_id
        comment = {
            "id": cid, "node_id": f"IC_{cid}", "body": body, "user": {"login": login, "id": 1, "type": "User"},
            "html_url": f"{self.base_url}/{self.repository}/pull/{number}#issuecomment-{cid}",
            "url": f"{self.base_url}/repos/{self.repository}/issues/comments/{cid}",
            "issue_url": f"{self.base_url}/repos/{self.repository}/issues/{number}",
            "created_at": "2026-11-23T00:00:00Z", "updated_at": "2026-11-23T00:00:00Z",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    # --- request routing -------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict, body: dict | None, auth: str) -> tuple[int, dict | list, dict]:
        with self.lock:
            self.requests.append((method, path))
            for inj in self.injected:
                if inj.remaining > 0 and inj.method == method and inj.path.search(path):
                    inj.remaining -= 1
                    return inj.status, {"message": f"injected {inj.status}"}, dict(inj.headers)
            if auth not in (f"token {self.token}", f"Bearer {self.token}"):
                return 401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, {}
            prefix = f"/repos/{self.repository}"
            if not path.startswith(prefix):
                return _not_found()
            return self._route(method, path[len(prefix):], query, body or {})

    def _route(self, method: str, rest: str, query: dict, body: dict) -> tuple[int, dict | list, dict]:
        if method == "GET" and rest == "":
            return 200, self._repo_json(), {}
        if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and method == "GET":
            number = int(m.group(1))
            if number not in self.pulls:
                return _not_found()
            url = f"{self.base_url}/repos/{self.repository}/pulls/{number}"
            head = self.heads.get(number, "0" * 40)
            return 200, {"id": number, "number": number, "state": "open", "url": url,
                         "html_url": f"{self.base_url}/{self.repository}/pull/{number}",
                         "head": {"sha": head, "ref": f"pr-{number}"}, "base": {"sha": "1" * 40, "ref": "main"}}, {}
        if m := re.fullmatch(r"/issues/(\d+)", rest):
            return self._issue(int(m.group(1))) if method == "GET" else _not_found()
        if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
            number = int(m.group(1))
            if number not in self.pulls:
                return _not_found()
            if method == "GET":
                return self._page(number, query)
            if method == "POST":
                if not isinstance(body.get("body"), str) or not body["body"]:
                    return _invalid("IssueComment", "body", "missing_field")
                return 201, self._create_comment(number, body["body"], "mlpin-bot"), {}
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            return self._edit(int(m.group(1)), body)
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

    def _repo_json(self) -> dict:
        return {"id": 1, "name": self.repo, "full_name": self.repository, "private": True,
                "owner": {"login": self.owner, "id": 1, "type": "Organization"},
                "url": f"{self.base_url}/repos/{self.repository}", "html_url": f"{self.base_url}/{self.repository}"}

    def _issue(self, number: int) -> tuple[int, dict, dict]:
        if number not in self.pulls:
            return _not_found()
        url = f"{self.base_url}/repos/{self.repository}/issues/{number}"
        return 200, {"id": number, "number": number, "state": "open", "title": f"PR {number}", "url": url,
                     "comments_url": f"{url}/comments", "html_url": f"{self.base_url}/{self.repository}/pull/{number}",
                     "pull_request": {"url": f"{self.base_url}/repos/{self.repository}/pulls/{number}"},
                     "repository_url": f"{self.base_url}/repos/{self.repository}"}, {}

    def _page(self, number: int, query: dict) -> tuple[int, list, dict]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        items = self.comments.get(number, [])
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        url = f"{self.base_url}/repos/{self.repository}/issues/{number}/comments"
        links = []
        if page < last:
            links.append(f'<{url}?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{url}?per_page={per_page}&page={last}>; rel="last"')
        if page > 1:
            links.append(f'<{url}?per_page={per_page}&page=1>; rel="first"')
            links.append(f'<{url}?per_page={per_page}&page={page - 1}>; rel="prev"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

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


def _not_found() -> tuple[int, dict, dict]:
    return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, {}


def _invalid(resource: str, field_name: str, code: str) -> tuple[int, dict, dict]:
    return 422, {"message": "Validation Failed", "errors": [{"resource": resource, "field": field_name, "code": code}]}, {}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload, headers = fake.handle(self.command, url.path, parse_qs(url.query), body, self.headers.get("Authorization", ""))
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

        do_GET = do_POST = do_PATCH = _serve

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    return Handler
