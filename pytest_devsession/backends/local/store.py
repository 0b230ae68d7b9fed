"""The local user flow store: flows, session statuses and measurements in SQLite.

The same meaning as HeadSpin's Performance Monitoring API: a flow by
name, each session's status and status message, its measurements, and the
history across runs. Safe to share between xdist workers (WAL, busy timeout).
"""
from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS userflows (
    user_flow_id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, description TEXT, created_time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, user_flow_id TEXT REFERENCES userflows(user_flow_id),
    name TEXT, description TEXT, tags TEXT, device_address TEXT,
    status TEXT NOT NULL DEFAULT 'Not Set', status_message TEXT, event_time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS measurements (
    session_id TEXT NOT NULL, user_flow_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    units TEXT, type TEXT, event_time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS measurements_by_flow ON measurements(user_flow_id, key);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def _flow_id(self, db: sqlite3.Connection, name: str, description: str | None) -> str:
        row = db.execute("SELECT user_flow_id FROM userflows WHERE name = ?", (name,)).fetchone()
        if row:
            return row["user_flow_id"]
        flow_id = str(uuid.uuid4())
        db.execute("INSERT OR IGNORE INTO userflows VALUES (?, ?, ?, ?)", (flow_id, name, description, time.time()))
        return db.execute("SELECT user_flow_id FROM userflows WHERE name = ?", (name,)).fetchone()["user_flow_id"]

    def annotate(self, session_id: str, name: str, description: str, tags: dict, device_address: str | None) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO sessions (session_id, name, description, tags, device_address, event_time) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET name = excluded.name, "
                "description = excluded.description, tags = excluded.tags, device_address = excluded.device_address",
                (session_id, name, description, json.dumps(tags), device_address, time.time()))

    def set_status(self, session_id: str, userflow: str, description: str | None, status: str,
                   message: str | None) -> None:
        with self._connect() as db:
            flow_id = self._flow_id(db, userflow, description)
            db.execute(
                "INSERT INTO sessions (session_id, user_flow_id, status, status_message, event_time) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET user_flow_id = excluded.user_flow_id, "
                "status = excluded.status, status_message = excluded.status_message",
                (session_id, flow_id, status, message, time.time()))

    def add_measurements(self, session_id: str, userflow: str, measurements: list[dict]) -> None:
        now = time.time()
        with self._connect() as db:
            flow_id = self._flow_id(db, userflow, None)
            db.executemany(
                "INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(session_id, flow_id, m["key"], json.dumps(m["value"]), m.get("units"), m.get("type"), now)
                 for m in measurements])

    # reading, for tools and tests -----------------------------------
    def userflows(self) -> list[dict]:
        with self._connect() as db:
            return [dict(r) for r in db.execute("SELECT * FROM userflows ORDER BY created_time")]

    def sessions(self, userflow: str) -> list[dict]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.session_id, s.name, s.description, s.tags, s.device_address, s.status, s.status_message, "
                "s.event_time, f.name AS user_flow_name FROM sessions s JOIN userflows f USING (user_flow_id) "
                "WHERE f.name = ? ORDER BY s.event_time", (userflow,))
            return [dict(r, tags=json.loads(r["tags"] or "{}")) for r in rows]

    def measurements(self, userflow: str, session_id: str | None = None) -> list[dict]:
        query = ("SELECT m.session_id, m.key AS key_name, m.value, m.units AS key_units, m.type AS key_type, "
                 "m.event_time, f.name AS user_flow_name, s.status FROM measurements m "
                 "JOIN userflows f USING (user_flow_id) LEFT JOIN sessions s USING (session_id) WHERE f.name = ?")
        params: list = [userflow]
        if session_id:
            query += " AND m.session_id = ?"
            params.append(session_id)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY m.event_time, m.rowid", params)
            return [dict(r, value=json.loads(r["value"])) for r in rows]
