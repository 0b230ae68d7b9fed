"""LambdaTest's JSON logs (console, command, Selenium) as readable text, one line per entry.

Each log answers ``{"data": [{logType, testID, status, timestamp, Value}]}`` (spec); ``Value`` is an
object (the command log: requestMethod, requestPath, requestBody, responseBody, responseStatus,
duration), a string, or a string of JSON (a list of console messages). Long bodies (a screenshot's
base64) are cut; a line break inside a message is written as ``\\n``.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

BODY_MAX = 500


def _json(value):
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _one_line(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _cut(value) -> str:
    text = _one_line(_json(value)) if value not in (None, "") else ""
    return text if len(text) <= BODY_MAX else f"{text[:BODY_MAX]}…({len(text) - BODY_MAX} more characters)"


def _time(value) -> str:
    """A timestamp as given, or an epoch (seconds or milliseconds) as UTC ISO 8601."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        seconds = value / 1000 if value > 1e11 else value
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return _one_line(str(value)) if value not in (None, "") else "-"


def entries(body) -> list:
    """The entries of a log's answer, whatever its wrapping."""
    data = _json(body.get("data") if isinstance(body, dict) else body)
    if isinstance(data, dict):
        for key in ("data", "logs", "entries", "value", "Value"):
            if isinstance(data.get(key), list):
                return data[key]
        return [data]
    if isinstance(data, list):
        return data
    return [] if data in (None, "") else [data]


def command_line(entry: dict) -> str:
    value = _json(entry.get("Value", entry.get("value")))
    if not isinstance(value, dict):
        return f"{_time(entry.get('timestamp'))} {_cut(value)}"
    line = f"{_time(entry.get('timestamp'))} {value.get('requestMethod', '?')} {value.get('requestPath', '?')}"
    if value.get("responseStatus") is not None:
        line += f" -> {value['responseStatus']}"
    if value.get("duration") is not None:
        line += f" ({value['duration']} ms)"
    if value.get("requestBody") not in (None, "", {}):
        line += f" request={_cut(value['requestBody'])}"
    if value.get("responseBody") not in (None, "", {}):
        line += f" response={_cut(value['responseBody'])}"
    return line


def _message_line(message, when) -> str:
    if isinstance(message, dict):
        level = message.get("level") or message.get("type") or message.get("logType") or "-"
        text = message.get("message", message.get("text", message.get("Value", message)))
        return f"{_time(message.get('timestamp', when))} {_one_line(str(level))} {_one_line(_json(text))}"
    return f"{_time(when)} {_one_line(_json(message))}"


def console_lines(entry) -> list[str]:
    if not isinstance(entry, dict):
        return [_message_line(entry, None)]
    value = _json(entry.get("Value", entry.get("value")))
    when = entry.get("timestamp")
    if isinstance(value, list):
        return [_message_line(m, when) for m in value]
    if isinstance(value, dict):
        return [_message_line(value, when)]
    level = entry.get("level") or entry.get("status") or entry.get("logType") or "-"
    return [f"{_time(when)} {_one_line(str(level))} {_one_line(value if value is not None else entry)}"]


def selenium_line(entry) -> str:
    if not isinstance(entry, dict):
        return f"- {_one_line(_json(entry))}"
    value = entry.get("Value", entry.get("value", entry.get("message", entry)))
    level = entry.get("level") or entry.get("status")
    level = f" {_one_line(str(level))}" if level not in (None, "") else ""
    return f"{_time(entry.get('timestamp'))}{level} {_one_line(_json(value))}"


def render(kind: str, body) -> str:
    """The text of a log (``kind``: console, command or selenium), one line per entry."""
    lines: list[str] = []
    for entry in entries(body):
        if kind == "command":
            lines.append(command_line(entry) if isinstance(entry, dict) else _message_line(entry, None))
        elif kind == "console":
            lines += console_lines(entry)
        else:
            lines.append(selenium_line(entry))
    return "".join(line + "\n" for line in lines)
