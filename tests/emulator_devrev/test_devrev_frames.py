import struct
import time
import zlib

import pytest
import requests


def _recording(devrev_emulator, api, frames):
    session = devrev_emulator.upload_session(frames=frames, session_duration_ms=frames * 100, upload_delay=0)
    answer = api.post("/observability.sessions.data.get", json={
        "session_id": session.session_id, "version_key": devrev_emulator.app_id, "recording_id": session.recording_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["video_playback_data"]


def _pixel(png, x, y):
    """The RGB of one pixel of an 8-bit RGB PNG without filters (what the emulator writes)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, _height, depth, kind = struct.unpack(">IIBB", png[16:26])
    assert (depth, kind) == (8, 2)
    start = png.index(b"IDAT") + 4
    length = struct.unpack(">I", png[start - 8:start - 4])[0]
    raw = zlib.decompress(png[start:start + length])
    row = raw[y * (width * 3 + 1):(y + 1) * (width * 3 + 1)]
    return tuple(row[1 + x * 3:4 + x * 3])


def test_frames_are_real_images_fetched_without_the_token(devrev_emulator, api):
    chunks = _recording(devrev_emulator, api, 3)
    links = chunks[0]["frame_image_map"]
    assert list(links) == ["0", "100", "200"]
    images = []
    for key in chunks[0]["frames"]:
        answer = requests.get(links[key], timeout=10)  # no Authorization header
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "image/png"
        images.append(answer.content)
    corners = [_pixel(image, 0, 0) for image in images]
    assert len(set(corners)) == 3  # each frame a colour of its own
    assert requests.get(chunks[0]["presigned_url"], timeout=10).content == images[0]
    tampered = links["100"].replace("/1.png", "/2.png")
    assert requests.get(tampered, timeout=10).status_code == 403


@pytest.mark.parametrize("devrev_emulator", [{"frame_link_ttl": 0.3}], indirect=True)
def test_frame_links_expire_and_data_get_hands_out_fresh_ones(devrev_emulator, api):
    link = _recording(devrev_emulator, api, 1)[0]["presigned_url"]
    assert requests.get(link, timeout=10).status_code == 200
    time.sleep(0.4)
    expired = requests.get(link, timeout=10)
    assert expired.status_code == 403 and b"expired" in expired.content
    session = next(iter(devrev_emulator.sessions.values()))
    fresh = api.post("/observability.sessions.data.get", json={
        "session_id": session.session_id, "version_key": devrev_emulator.app_id,
        "recording_id": session.recording_id}).json()["video_playback_data"][0]["presigned_url"]
    assert fresh != link and requests.get(fresh, timeout=10).status_code == 200
