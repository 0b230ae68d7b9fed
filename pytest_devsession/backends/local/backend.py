"""The embedded default: real local capture with mitmproxy, Chromium and Appium.

Traffic: a capture server that speaks NectoProxy's Sessions API (embedded, one
per process, or any server given by ``--devsession-local-url``: see
``external.py`` for how such a server is checked and where its traffic goes),
driven only through that REST API. Video and console: the DevTools screencast of an attached
Chromium. appium.log: the server log cut to the attached Appium session.
User flows, statuses and measurements: the SQLite store in ``.devsession/``.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ...files import write_atomic
from ...http.client import REPEATABLE, Client
from ...workers import process_count
from ..base import Annotation, BackendError, CaptureOptions, Device, DeviceUnavailable
from .external import TOKEN_WHERE, ExternalServer, is_window
from .parts import LocalParts
from .settings import TOKEN_ENV
from .store import Store

LOCAL = Device(address="local", serial="local", hostname="localhost", platform="browser")


@dataclass
class Attached:
    """What a test attached to its session: browser recorders, Appium sessions, an Android recording."""

    recorders: list = field(default_factory=list)
    appium_sessions: list = field(default_factory=list)
    started: float = 0.0
    stopped: float | None = None
    android: object = None  # the AndroidCapture recording this session
    android_files: dict = field(default_factory=dict)  # artifact name -> recorded file
    workdir: Path | None = None  # where the Android recording was pulled to
    errors: dict = field(default_factory=dict)  # artifact name -> why it could not be recorded


def _session(body, action: str) -> dict:
    if not isinstance(body, dict) or "id" not in body:
        raise BackendError(f"expected a session object, got {str(body)[:200]}", action=action)
    return body


def adb_server() -> tuple[str, int]:
    """Where the adb server is, as adb itself reads it (ANDROID_ADB_SERVER_PORT)."""
    port = os.environ.get("ANDROID_ADB_SERVER_PORT", "5037")
    return "127.0.0.1", int(port) if port.isdigit() else 5037


class LocalBackend(LocalParts):
    """The core, and every optional part but LiveSessions (this process knows every capture it opened)."""

    name = "local"
    device_source = "this machine"
    devices_setting = "--devsession-device"
    account_locks = False  # an Android device is held by this process (a lease file), not by the run

    def __init__(self, settings, config=None) -> None:
        self.settings = settings
        self.section = section = settings.section
        self.workers = process_count(config)
        self.store = Store(settings.store_dir / "store.sqlite3")
        # An external server's sessions outlive this process; the embedded server's end with it.
        self.service_url = section.local_url
        self.outlives_process = bool(section.local_url)
        self.api_url = section.local_url
        self.proxy_url = section.local_proxy
        self.ca_cert_path: str | None = None
        self._server = None
        self._token = section.local_token.reveal() if section.local_token else ""
        # The capture server's API (the embedded server's is known once it runs).
        self.client: Client | None = self._client() if self.api_url else None
        self.external = (ExternalServer(self.api_url, self.proxy_url, self._token, self.client)
                         if self.client is not None else None)
        self._appium = None
        self._appium_lock = threading.Lock()
        self.attached: dict[str, Attached] = {}
        self.android: dict[str, tuple] = {}  # address -> (DeviceLease, AndroidCapture)

    # the capture server ---------------------------------------------------
    def _ensure_server(self) -> None:
        if self.external is not None:
            # Once per process, before the first device is locked: a wrong token, a dead
            # server or a missing proxy stop the run here, once (pytest.UsageError).
            self.external.open(self.workers)
            self.ca_cert_path = self.external.ca_cert_path
            return
        from ...services.capture import get_shared_server

        self._server = get_shared_server()
        self.api_url, self.proxy_url = self._server.api_url, self._server.proxy_url
        self.ca_cert_path = str(self._server.ca_cert_path)
        if self.client is None:
            self.client = self._client()

    def _client(self) -> Client:
        api_url = self.api_url
        # A 401 in the middle of a run: e.g. NectoProxy restarted, and it has a new token.
        return Client(api_url, self._token, refused=lambda words: f"the capture server at {api_url} refused the "
                                                                  f"API token ({TOKEN_ENV}): {words}. {TOKEN_WHERE}")

    # devices -----------------------------------------------------------------
    def devices(self) -> dict[str, Device]:
        # adb is touched only when an Android device was asked for, and only when it is locked.
        if self.external is not None:
            self._ensure_server()  # the controller asks for devices first: check the server before any test
        found = {"local": LOCAL}
        for address in self.settings.devices:
            if address.startswith("adb:"):
                import importlib.util

                if importlib.util.find_spec("adbutils") is None:
                    raise BackendError(f"{address} needs adbutils: pip install 'pytest-devsession[android]'",
                                       action="list devices")
                found[address] = Device(address=address, serial=address[4:], hostname="adb", platform="adb")
        return found

    def lock(self, device: Device) -> None:
        """Android: hold the device across processes, connect, and route its traffic through the capture."""
        if device.platform != "adb" or device.address in self.android:
            return
        from ...drivers.android import AndroidCapture, AndroidError, DeviceLease

        lease = DeviceLease(device.serial, self.settings.store_dir / "leases")
        try:
            lease.acquire()
        except AndroidError as exc:
            raise DeviceUnavailable(str(exc), action=f"lock {device.address}") from None
        host, port = adb_server()
        capture = AndroidCapture(device.serial, host, port, timeout=15)
        # What the device's proxy setting was before we changed it, kept on disk until it is put
        # back: a run killed in between must not leave the phone pointing at a dead proxy.
        remembered = lease.path.with_name(lease.path.stem + ".proxy.json")
        previous = None
        try:
            capture.connect()
            self._ensure_server()
            proxy = urlsplit(self.proxy_url)
            if remembered.exists():  # we hold the lease: whoever wrote it is gone
                previous = json.loads(remembered.read_text()).get("previous")
            capture.route_through(proxy.hostname, proxy.port, previous=previous)
            write_atomic(remembered, json.dumps({"serial": device.serial, "previous": capture.saved_proxy}))
        except BaseException as exc:
            try:
                capture.close()
                if capture.saved_proxy is None and previous is not None:
                    remembered.unlink(missing_ok=True)  # the dead run's setting is back in place
            finally:
                lease.release()
            if isinstance(exc, AndroidError):
                raise DeviceUnavailable(str(exc), action=f"lock {device.address}") from None
            raise
        self.android[device.address] = (lease, capture)

    def unlock(self, device: Device) -> None:
        """Put the device's settings back and let other processes have it."""
        held = self.android.pop(device.address, None)
        if held is None:
            return
        lease, capture = held
        try:
            capture.close()
            lease.path.with_name(lease.path.stem + ".proxy.json").unlink(missing_ok=True)
        except Exception as exc:  # noqa: BLE001 - the lease must go anyway
            raise BackendError(f"could not restore {device.address}: {exc}", action=f"unlock {device.address}")
        finally:
            lease.release()

    # capture -----------------------------------------------------------------
    def start_capture(self, device: Device, options: CaptureOptions) -> str:
        self._ensure_server()
        action = "start capture"
        if self.external is not None and self.external.recording is not None:
            # All traffic goes into one session: the test's part of it is its time window.
            started = time.time()
            session_id = self.external.window_id(started)
            while session_id in self.attached:
                started += 0.001
                session_id = self.external.window_id(started)
            attached = self.attached[session_id] = Attached(started=started)
        else:
            name = options.name or "pytest"
            session = _session(self.client.json("POST", "/api/sessions", action=action, json={"name": name}), action)
            session_id = str(session["id"])
            attached = self.attached[session_id] = Attached(started=time.time())
            if self.external is not None:
                self.external.own(session_id)
            self.client.request("POST", f"/api/sessions/{session_id}/activate", action=action)
        if device.address in self.android:
            capture = self.android[device.address][1]
            try:
                capture.start_recording(session_id[:8])
            except Exception as exc:  # noqa: BLE001 - the capture is open: the controller stops it
                raise BackendError(f"cannot record {device.address}: {exc}", action=action) from None
            attached.android = capture
        return session_id

    def wait_ready(self, session_id: str, deadline: float) -> None:
        action = "wait for capture to be ready"
        if is_window(session_id):
            return  # the server has recorded since it started
        # A 404 here means the session is gone, not that it is still on its way (as on HeadSpin).
        self.client.poll(f"/api/sessions/{session_id}", action=action, deadline=deadline, absent_is_pending=False,
                         done=lambda session: bool(_session(session, action).get("isActive")
                                                   and session.get("isRecording")),
                         pending="the session is not active and recording")

    def stop_capture(self, session_id: str, deadline: float) -> None:
        # A recorder that fails costs its own artifact (reported when it is downloaded),
        # never the stop of the capture itself.
        attached = self.attached.get(session_id)
        if attached is not None and attached.stopped is None:
            attached.stopped = time.time()
            for recorder in attached.recorders:
                try:
                    recorder.stop()
                except Exception as exc:  # noqa: BLE001
                    attached.errors.setdefault("mp4", f"browser video: {exc}")
            if attached.android is not None:
                import tempfile

                attached.workdir = Path(tempfile.mkdtemp(prefix="devsession-android-"))
                video, logcat = attached.workdir / "screen.mp4", attached.workdir / "logcat.txt"
                try:
                    video_size, _ = attached.android.stop_recording(video, logcat)
                    attached.android_files = {"device.log": logcat, **({"mp4": video} if video_size else {})}
                except Exception as exc:  # noqa: BLE001
                    attached.errors.update({"mp4": f"android recording: {exc}", "device.log": f"logcat: {exc}"})
        if is_window(session_id):
            return  # the user's recording session goes on; the window ends here
        self.client.request("PATCH", f"/api/sessions/{session_id}", action="stop capture", retry=REPEATABLE,
                            json={"isRecording": False, "isActive": False})

    # results -----------------------------------------------------------------
    def annotate(self, session_id: str, annotation: Annotation) -> None:
        if not is_window(session_id):  # never rename the user's recording session
            self.client.request("PATCH", f"/api/sessions/{session_id}", action="name the session", retry=REPEATABLE,
                                json={"name": annotation.name})
        self.store.annotate(session_id, annotation.name, annotation.description, annotation.tags, "local")

    def report_status(self, session_id: str, userflow: str, description: str | None,
                      status: str, message: str | None) -> None:
        self.store.set_status(session_id, userflow, description, status, message)

    def upload_measurements(self, session_id: str, userflow: str, measurements: list[dict]) -> None:
        self.store.add_measurements(session_id, userflow, measurements)

    def download(self, session_id: str, ext: str, dest: Path) -> int | None:
        attached = self.attached.get(session_id) or Attached()
        if ext in attached.errors:
            raise BackendError(attached.errors[ext], action=f"download {ext}")
        if ext == "har":
            return self._download_har(session_id, dest, attached)
        if ext in attached.android_files:
            return write_atomic(dest, attached.android_files[ext].read_bytes())
        if ext == "mp4":
            if not attached.recorders:
                return None  # no browser in this test: it has no video
            recorder = attached.recorders[0]
            if not recorder.frame_count:
                raise BackendError("the browser gave no frame: " + ("; ".join(recorder.problems) or "unknown reason"),
                                   action="record video")
            return recorder.write_mp4(dest, self.section.video_size)
        if ext == "jsconsole.log":
            return attached.recorders[0].write_console_log(dest) if attached.recorders else None
        if ext == "appium.log":
            if not attached.appium_sessions or self.appium_log_path() is None:
                return None
            from ...drivers.appium import cut_session_log

            cut_session_log(self.appium_log_path(), attached.appium_sessions[0], dest)
            return dest.stat().st_size
        return None

    def _download_har(self, session_id: str, dest: Path, attached: Attached) -> int:
        """The server's own HAR of the test (for a one-recording server: cut by the test's window)."""
        if is_window(session_id):
            stopped = attached.stopped if attached.stopped is not None else time.time()
            har = self.external.window_har(attached.started, stopped, session_id)
        else:
            har = self.client.json("GET", f"/api/har/export/{session_id}", action="download har")
        try:
            is_har = isinstance(har["log"]["entries"], list)
        except (KeyError, TypeError):
            is_har = False
        if not is_har:
            raise BackendError("the HAR export is not HAR JSON", action="download har")
        if not self.settings.har_raw:
            from ...reporting.redact import redact_har

            redact_har(har, self.settings.redact)
        return write_atomic(dest, json.dumps(har, indent=1))

    def session_url(self, session_id: str) -> str | None:
        # The embedded server ends with the run, and an external server's sessions of ours are
        # deleted at its end: a link to either would be dead in every report. A one-recording
        # server's session stays: link it, without the token (the reader adds ?token=).
        return self.external.session_url() if self.external is not None and is_window(session_id) else None

    def session_environment(self, session_id: str) -> dict:
        return {"proxy_url": self.proxy_url, "ca_cert_path": self.ca_cert_path}

    # drivers -------------------------------------------------------------------
    def attach(self, session_id: str, driver) -> None:
        attached = self.attached.setdefault(session_id, Attached(started=time.time()))
        caps = getattr(driver, "capabilities", None) or {}
        if type(driver).__module__.startswith("appium"):
            attached.appium_sessions.append(driver.session_id)
            return
        address = (caps.get("goog:chromeOptions") or {}).get("debuggerAddress")
        if address:
            from ...drivers.browser import BLANK_PAGE, START_PAGES
            from ...drivers.video import ScreencastRecorder

            width, height = self.section.video_size
            try:
                if driver.current_url.startswith(START_PAGES):
                    driver.get(BLANK_PAGE)  # never record Chromium's New Tab page
                recorder = ScreencastRecorder(debugger_address=address, target_id=driver.current_window_handle,
                                              max_width=width, max_height=height)
                recorder.start()
            except Exception as exc:  # noqa: BLE001 - the test goes on; its video is reported missing
                why = f"cannot record the browser: {type(exc).__name__}: {exc}"
                attached.errors.setdefault("mp4", why)
                attached.errors.setdefault("jsconsole.log", why)
                return
            attached.recorders.append(recorder)
            return
        raise TypeError(f"devsession.attach() takes a Selenium Chromium driver or an Appium driver, "
                        f"got {type(driver).__name__}")

    def call_ended(self, session_id: str) -> None:
        """The test's call is over: take each browser's last frame before anything quits it."""
        attached = self.attached.get(session_id)
        for recorder in attached.recorders if attached else ():
            recorder.finish()

    def detach(self, session_id: str, driver) -> None:
        attached = self.attached.get(session_id)
        if attached is not None:
            for recorder in attached.recorders:
                try:
                    recorder.stop()
                except Exception as exc:  # noqa: BLE001 - costs the video, never the test
                    attached.errors.setdefault("mp4", f"browser video: {exc}")

    def discard(self, session_id: str) -> None:
        attached = self.attached.pop(session_id, None)
        for recorder in attached.recorders if attached else ():
            recorder.close()
        if attached and attached.workdir is not None:
            import shutil

            shutil.rmtree(attached.workdir, ignore_errors=True)

    def appium_url(self) -> str:
        """A running Appium server: the configured one, or one started for this process."""
        if self.section.appium_url:
            return self.section.appium_url
        with self._appium_lock:
            if self._appium is None:
                from ...drivers.appium import AppiumServer, find_appium

                binary = find_appium(self.settings.store_dir.parent)
                if not binary:
                    raise FileNotFoundError("Appium is not installed: run `python -m pytest_devsession setup` "
                                            "(it installs Appium and its fake driver), set DEVSESSION_APPIUM_BIN, "
                                            "or pass --devsession-appium-url")
                server = AppiumServer(binary, log_path=self.settings.store_dir / f"appium-{os.getpid()}.log")
                server.start()
                self._appium = server
            return self._appium.url

    def appium_log_path(self) -> Path | None:
        return self._appium.log_path if self._appium is not None else None

    def close(self) -> None:
        for session_id in list(self.attached):
            for recorder in self.attached[session_id].recorders:
                with contextlib.suppress(Exception):  # the run is over: free what is left
                    recorder.stop()
            self.discard(session_id)
        for address in list(self.android):
            try:
                self.unlock(Device(address=address, serial=address[4:], hostname="adb", platform="adb"))
            except BackendError:
                pass  # reported by the controller's own unlock; this is the last resort
        if self._appium is not None:
            self._appium.stop()
            self._appium = None
        if self._server is not None:
            from ...services.capture import stop_shared_server

            stop_shared_server()
            self._server = None
        if self.external is not None:
            self.external.close()  # delete our sessions, give the user's their flags back
        if self.client is not None:
            self.client.close()
