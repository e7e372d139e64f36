"""kumo.rpc_direct's server answers, without a broker: what a request gets back, and
the request that must run at most once coming again."""

from __future__ import annotations

import json
from typing import Any

import oslo_messaging as messaging

from kumo import exception, rpc_direct
from kumo.conf import CONF


class Dispatcher:
    """Records what the server hands the RPC dispatcher; answers or raises."""

    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.incoming: list[Any] = []
        self.answer = answer
        self.error = error

    def dispatch(self, incoming: Any) -> Any:
        self.incoming.append(incoming)
        if self.error is not None:
            raise self.error
        return self.answer


def _server(dispatcher: Dispatcher) -> rpc_direct.DirectServer:
    url = messaging.TransportURL.parse(CONF, "rabbit://guest:guest@127.0.0.1:5672/")
    return rpc_direct.DirectServer(url, "topic", dispatcher, {"thing_get", "thing_create"}, 1)


def _request(method: str, once: bool = False) -> str:
    return json.dumps({"method": method, "version": "1.2", "namespace": None, "once": once,
                       "context": {"request_id": "req-1"}, "args": {"value": 3}})


def test_a_served_method_is_dispatched_with_its_context_args_and_version() -> None:
    dispatcher = Dispatcher(answer={"ok": 1})
    answer = json.loads(_server(dispatcher).answer(_request("thing_get")))
    assert answer == {"result": {"ok": 1}}
    incoming = dispatcher.incoming[0]
    assert incoming.message == {"method": "thing_get", "args": {"value": 3},
                                "version": "1.2", "namespace": None}
    assert incoming.ctxt == {"request_id": "req-1"}
    assert incoming.client_timeout is None


def test_a_method_not_served_directly_is_refused_unrun() -> None:
    dispatcher = Dispatcher()
    answer = json.loads(_server(dispatcher).answer(_request("thing_delete")))
    assert json.loads(answer["failure"])["class"] == "NoSuchMethod"
    assert dispatcher.incoming == []


def test_a_kumo_error_travels_as_oslo_serializes_it() -> None:
    dispatcher = Dispatcher(error=exception.InstanceNotFound(instance_id="abc"))
    answer = json.loads(_server(dispatcher).answer(_request("thing_get")))
    failure = json.loads(answer["failure"])
    assert (failure["class"], failure["module"]) == ("InstanceNotFound", "kumo.exception")
    assert failure["kwargs"] == {"instance_id": "abc"}


def test_a_write_that_comes_again_is_not_run_twice() -> None:
    dispatcher = Dispatcher(answer=1)
    server = _server(dispatcher)
    assert json.loads(server.answer(_request("thing_create", once=True),
                                    redelivered=True)) == {"lost": True}
    assert dispatcher.incoming == []
    # Its first delivery runs; so does a read that comes again.
    assert json.loads(server.answer(_request("thing_create", once=True))) == {"result": 1}
    assert json.loads(server.answer(_request("thing_get"), redelivered=True)) == {"result": 1}
    assert len(dispatcher.incoming) == 2
