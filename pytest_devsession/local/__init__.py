"""``python -m pytest_devsession.local``, the capture server's command; the server is ``services.capture``,
the local backend ``backends.local``."""
