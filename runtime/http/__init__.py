"""runtime.http: the HTTP/1.1 core (server, protocol, flow control, wire encoding, request,
response). It imports nothing from `lang`, `stdlib` or `runtime.scripts`; a test proves it."""
