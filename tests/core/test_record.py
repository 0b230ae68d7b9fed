"""The session record: typed, a plain dict across xdist, readable as a mapping by the hooks."""
from __future__ import annotations

import json

import pytest

from pytest_devsession.record import SessionRecord


def test_a_record_crosses_as_plain_json_and_comes_back_the_same():
    record = SessionRecord("t.py::test_a", backend="headspin", session_id="s1", status="Passed", attempt=2,
                           final=False, artifacts={"har": "/a/session.har"}, measurements=[{"key": "k", "value": 1}])
    data = json.loads(json.dumps(record.to_dict()))
    assert SessionRecord.from_dict(data) == record
    assert SessionRecord.of(data).key == ("t.py::test_a", 2, "s1")
    assert SessionRecord.of(record) is record
    # A field a newer process wrote is left out, not an error.
    assert SessionRecord.from_dict({**data, "from_the_future": 1}) == record


def test_a_record_reads_and_writes_as_a_mapping_of_its_fields_only():
    record = SessionRecord("t.py::test_a")
    record["status"] = "Failed"
    record["problems"].append("download mp4: Not Found (HTTP 404)")
    assert record.status == "Failed" and record.get("problems") == ["download mp4: Not Found (HTTP 404)"]
    assert "status" in record and "nonsense" not in record and record.get("nonsense", 3) == 3
    with pytest.raises(KeyError):
        record["nonsense"] = 1
    with pytest.raises(KeyError):
        record["nonsense"]
