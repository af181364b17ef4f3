"""The test client the suite talks to the app through. Every answer is held to the
contract as it arrives, so the contract cannot drift from the code unnoticed:

- a 2xx body validates against the response model its endpoint declares;
- an error is `application/problem+json` whose `status` is the response's, with a `code`.

`expect(resp, status, code)` asserts the status together with the body (shown when it
fails) and, for an error, its problem `code`; it answers the parsed body.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from pydantic import BaseModel, ValidationError
from yarl import URL

from shopflow.platform.connections import ShopRunner
from shopflow.platform.endpoint import ENDPOINT_ATTR, Endpoint

PROBLEM_JSON = "application/problem+json"


async def declared_response(app: web.Application, method: str, path: str) -> type[BaseModel] | None:
    """The response model of the endpoint that answers `method` `path`, if it declares one."""
    match = await app.router.resolve(make_mocked_request(method, path, app=app))
    spec: Endpoint | None = getattr(match.handler, ENDPOINT_ATTR, None)
    return spec.response if spec is not None else None


async def check_answer(app: web.Application, method: str, resp: ClientResponse) -> None:
    body = await resp.read()  # kept by the response: the test reads it again
    where = f"{method} {resp.url.path} answered {resp.status}"
    if resp.status >= 400 and resp.content_type == "text/html" and not resp.url.path.startswith("/api/"):
        assert b"<!doctype html>" in body[:100], f"{where}: {body[:300]!r}"  # a browser's error page
    elif resp.status >= 400:
        assert resp.content_type == PROBLEM_JSON, f"{where} as {resp.content_type}: {body[:300]!r}"
        problem = orjson.loads(body)
        assert problem.get("status") == resp.status, f"{where} with a problem saying {problem}"
        assert isinstance(problem.get("code"), str) and problem["code"], f"{where} with no code: {problem}"
    elif 200 <= resp.status < 300 and resp.status != 204 and resp.content_type == "application/json":
        model = await declared_response(app, method, resp.url.path)
        if model is not None:
            try:
                model.model_validate_json(body)
            except ValidationError as e:
                raise AssertionError(f"{where}, a body {model.__name__} does not admit: {e}") from None


class ShopServer(TestServer):
    """The app on a loopback port, served as `shopflow serve` serves it (its connection policy)."""

    async def _make_runner(self, **kwargs: Any) -> ShopRunner:
        return ShopRunner(self.app, shutdown_timeout=5, **kwargs)  # a request left running: 5 s, not 60


class ContractClient(TestClient):  # type: ignore[type-arg]
    async def _request(self, method: str, path: str | URL, **kwargs: Any) -> ClientResponse:
        resp = await super()._request(method, path, **kwargs)
        if self.app is not None:
            await check_answer(self.app, method, resp)
        return resp


async def expect(resp: ClientResponse, status: int, code: str | None = None) -> Any:
    """Assert the status (and for an error its problem code); the body, parsed."""
    text = await resp.text()
    assert resp.status == status, f"{resp.method} {resp.url.path}: {resp.status}, not {status}: {text}"
    body = orjson.loads(text) if text else None
    if code is not None:
        assert body["code"] == code, f"{resp.method} {resp.url.path}: {body}"
    return body
