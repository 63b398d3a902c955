"""serving.py subclasses uvicorn's private httptools protocol (the header deadline and
size cap). pyproject pins the uvicorn range it was tested with; this test fails when a
uvicorn release renames or reshapes what the subclass overrides or reads, so an upgrade
of the pin is a deliberate change, not a silent loss of the slowloris guard."""

from __future__ import annotations

import inspect

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tidings.server.serving import GuardedHttpProtocol

OVERRIDDEN = {
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "data_received": ["self", "data"],
    "eof_received": ["self"],
    "on_url": ["self", "url"],
    "on_header": ["self", "name", "value"],
    "on_headers_complete": ["self"],
    "on_body": ["self", "body"],
    "on_message_begin": ["self"],
    "on_message_complete": ["self"],
    "on_response_complete": ["self"],
    "send_400_response": ["self", "msg"],
    "handle_websocket_upgrade": ["self"],
}
READ = ("self.cycle", "self.pipeline", "self.timeout_keep_alive_task",
        "self.timeout_keep_alive", "self.loop", "self.transport")
CALLED = ("_unset_keepalive_if_required", "timeout_keep_alive_handler")


def test_the_overridden_methods_keep_their_names_and_parameters() -> None:
    for name, params in OVERRIDDEN.items():
        method = getattr(HttpToolsProtocol, name, None)
        assert callable(method), f"uvicorn's HttpToolsProtocol has no {name}"
        assert list(inspect.signature(method).parameters) == params, name
        assert name in GuardedHttpProtocol.__dict__


def test_the_attributes_and_helpers_the_guard_uses_exist() -> None:
    source = inspect.getsource(HttpToolsProtocol)
    for attribute in READ:
        assert attribute + " =" in source or attribute + ":" in source, attribute
    for helper in CALLED:
        assert callable(getattr(HttpToolsProtocol, helper, None)), helper


def test_the_websocket_protocol_hooks_exist() -> None:
    """QuietWebSocketProtocol overrides one method and reads the frames it collects."""
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    method = WebSocketsSansIOProtocol.send_receive_event_to_app
    assert list(inspect.signature(method).parameters) == ["self"]
    source = inspect.getsource(WebSocketsSansIOProtocol)
    for attribute in ("self.frames", "self.curr_msg_data_type", "self.close_sent",
                      "self.conn", "self.logger"):
        assert attribute + " =" in source or attribute + ":" in source, attribute
    assert callable(getattr(WebSocketsSansIOProtocol, "handle_parser_exception", None))
