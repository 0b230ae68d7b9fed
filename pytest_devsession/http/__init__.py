"""The one HTTP client every service is called through (``client``), and the one HTTP server
base every server we ship runs on (``server``).

``client`` owns how a request goes out and what comes back: the bearer token (only ever in the
``Authorization`` header), timeouts, the retry policies (``Retry``: connection errors, 429 with
``Retry-After``, 5xx, and only for requests safe to repeat), the polling helper (``wait_for``,
``Client.poll``) and the turning of every failure into the one error type,
``backends.base.BackendError``, which keeps the status, the server's own words, the request id
and the request it answered.

``server.HttpServer`` owns how a request comes in: loopback and port 0 by default, a ready
event, the route table (404, 405 with ``Allow``), the bearer token (401, never echoed) and a stop
that closes idle keep-alive connections. The HeadSpin emulator and the capture API run on it.
Nothing here knows a service's routes.

Importing this package is cheap; ``client`` imports requests, ``server`` only the standard library.
"""
