"""What the progress line at the end of a run reads: the downloads under way and their bytes left."""
from __future__ import annotations

import pytest
from http_helpers import Answer

from pytest_devsession.backends.base import BackendError
from pytest_devsession.http.client import NO_RETRY, TRANSFERS, Transfers


def test_bytes_left_of_the_downloads_under_way():
    meter = Transfers()
    sized = meter.begin(100)
    meter.add(sized, 40)
    assert meter.left() == (1, 60, 0)
    unsized = meter.begin(None)  # no Content-Length: counted, its bytes left unknown
    meter.add(unsized, 7)
    assert meter.left() == (2, 60, 1)
    meter.end(sized)
    meter.end(unsized)
    assert (meter.left(), meter.received) == ((0, 0, 0), 47)


def test_a_download_is_counted_while_under_way_and_never_after(server, client, tmp_path):
    before = TRANSFERS.received
    seen = []
    server.answer(Answer(200, b"v" * 300_000))
    real_add = TRANSFERS.add

    def watch(token, count):  # what a progress line would read between two chunks
        real_add(token, count)
        seen.append(TRANSFERS.left())

    TRANSFERS.add = watch
    try:
        assert client.download("/sessions/s1.mp4", tmp_path / "v.mp4", action="download mp4") == 300_000
    finally:
        del TRANSFERS.add
    assert seen[0][0] == 1 and 0 < seen[0][1] < 300_000  # one download, its bytes left after a chunk
    assert seen[-1] == (1, 0, 0)
    assert TRANSFERS.left() == (0, 0, 0) and TRANSFERS.received - before == 300_000


def test_a_download_cut_short_leaves_nothing_under_way(server, client, tmp_path):
    server.answer(Answer(200, b"v" * 100_000, cut=1000))
    with pytest.raises(BackendError, match="cut short"):
        client.download("/sessions/s1.mp4", tmp_path / "v.mp4", action="download mp4", retry=NO_RETRY)
    assert TRANSFERS.left() == (0, 0, 0)
