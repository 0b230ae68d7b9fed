"""A tiny web app for the examples: a login page whose script calls a JSON API."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERS = {"ada": "lovelace"}

LOGIN_PAGE = b"""<!doctype html>
<html><head><title>Example login</title>
<style>body{font-family:sans-serif;margin:40px}
#status{margin-top:20px;font-size:32px;padding:40px;height:240px;background:#d0d0d0}
#status.busy{background:#f0c020} #status.ok{background:#30a050;color:#fff} #status.refused{background:#c03030;color:#fff}
</style></head>
<body>
<h1>Sign in</h1>
<form id="login">
  <input id="user" name="user" placeholder="user">
  <input id="password" name="password" type="password" placeholder="password">
  <button id="submit" type="submit">Sign in</button>
</form>
<div id="status">signed out</div>
<script>
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = document.getElementById("status");
  status.textContent = "signing in...";
  status.className = "busy";
  const started = performance.now();
  const response = await fetch("/api/login", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({user: document.getElementById("user").value,
                          password: document.getElementById("password").value}),
  });
  const body = await response.json();
  window.loginMillis = performance.now() - started;
  console.log("login answered", response.status);
  status.textContent = body.ok ? "welcome " + body.user : "wrong password";
  status.className = body.ok ? "ok" : "refused";  // the final state shows in a video's last frame
});
</script>
</body></html>"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep the test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path in ("/", "/login"):
            self._send(200, LOGIN_PAGE, "text/html; charset=utf-8")
        elif self.path == "/api/health":
            self._send(200, b'{"ok": true}', "application/json")
        else:
            self._send(404, b'{"error": "not found"}', "application/json")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            data = {}
        if self.path == "/api/login":
            ok = USERS.get(data.get("user")) == data.get("password")
            body = json.dumps({"ok": ok, "user": data.get("user") if ok else None}).encode()
            self._send(200 if ok else 401, body, "application/json")
        else:
            self._send(404, b'{"error": "not found"}', "application/json")


class App:
    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "App":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
