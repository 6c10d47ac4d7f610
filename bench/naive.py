"""A naive syncer, the baseline: poll every linked ticket each loop and compare everything.

No webhooks, no bases, no change feed: each loop reads all three trackers' view of every linked
ticket and its comments, and where they disagree the most recently updated ticket wins and is
copied to the others. Comments carry a token (``bench-c-N``); one missing anywhere is copied.
It knows only the fields and values the benchmark edits. Plain ``requests`` against the fakes.

    python -m bench.naive SPEC.json     # until SIGTERM; writes its loop statistics to spec["stats"]
"""

from __future__ import annotations

import datetime as dt
import json
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import requests

TOKEN = re.compile(r"bench-c-\d+")
Z_PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
J_PRIORITY = {"Highest": 1, "High": 2, "Medium": 3, "Low": 4, "Lowest": 4}
Z_WRITE = {v: k for k, v in Z_PRIORITY.items()}
J_WRITE = {1: "Highest", 2: "High", 3: "Medium", 4: "Low"}


class Unanswered(Exception):
    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"GET {url}: {status}")
        self.status = status


class Naive:
    def __init__(self, spec: dict[str, Any]) -> None:
        z, j, c = spec["zendesk"], spec["jira"], spec["clickup"]
        self.z_url = z["base_url"].rstrip("/")
        self.j_url = j["base_url"].rstrip("/")
        self.c_url = c["base_url"].rstrip("/")
        self.due_field = int(z["due_field_id"])
        self.z = requests.Session()
        self.z.auth = (f"{z['email']}/token", z["api_token"])
        self.j = requests.Session()
        self.j.auth = (j["email"], j["api_token"])
        self.c = requests.Session()
        self.c.headers["Authorization"] = c["token"]
        self.links: list[tuple[int, str, str]] = [(int(z), j, c) for z, j, c in spec["links"]]
        self.loop_file = Path(spec["stats"]).with_name("naive-loop")
        self.unanswered: dict[int, int] = {}  # status -> reads that got it (the ticket waited)

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _get(session: requests.Session, url: str) -> requests.Response:
        """A read that answered; any other answer (a 429 at full size) skips the ticket."""
        response = session.get(url, timeout=30)
        if not response.ok:
            raise Unanswered(url, response.status_code)
        return response

    def read(self, z: int, j: str, c: str) -> dict[str, dict[str, Any]]:
        zt = self._get(self.z, f"{self.z_url}/api/v2/tickets/{z}").json()["ticket"]
        zc = self._get(self.z, f"{self.z_url}/api/v2/tickets/{z}/comments").text
        ji = self._get(self.j, f"{self.j_url}/rest/api/3/issue/{j}").json()["fields"]
        jc = self._get(self.j, f"{self.j_url}/rest/api/3/issue/{j}/comment").text
        ct = self._get(self.c, f"{self.c_url}/v2/task/{c}").json()
        cc = self._get(self.c, f"{self.c_url}/v2/task/{c}/comment").text
        due = next(
            (f["value"] for f in zt.get("custom_fields", []) if f["id"] == self.due_field), None
        )
        c_due = None
        if ct.get("due_date"):
            c_due = dt.datetime.fromtimestamp(int(ct["due_date"]) / 1000, dt.UTC).date().isoformat()
        return {
            "zendesk": {
                "updated": dt.datetime.fromisoformat(zt["updated_at"].replace("Z", "+00:00")),
                "status": "done" if zt["status"] in ("solved", "closed") else "open",
                "priority": Z_PRIORITY.get(zt["priority"] or ""),
                "due": due,
                "comments": set(TOKEN.findall(zc)),
            },
            "jira": {
                "updated": dt.datetime.strptime(ji["updated"], "%Y-%m-%dT%H:%M:%S.%f%z"),
                "status": "done" if ji["status"]["name"] == "Done" else "open",
                "priority": J_PRIORITY.get((ji.get("priority") or {}).get("name", "")),
                "due": ji.get("duedate"),
                "comments": set(TOKEN.findall(jc)),
            },
            "clickup": {
                "updated": dt.datetime.fromtimestamp(int(ct["date_updated"]) / 1000, dt.UTC),
                "status": "done" if ct["status"]["status"] == "resolved" else "open",
                "priority": int(ct["priority"]["id"]) if ct.get("priority") else None,
                "due": c_due,
                "comments": set(TOKEN.findall(cc)),
            },
        }

    # -- writing ---------------------------------------------------------------------------

    def write(self, tracker: str, ids: dict[str, Any], field: str, value: Any) -> None:
        if tracker == "zendesk":
            ticket: dict[str, Any]
            if field == "status":
                ticket = {"status": "solved" if value == "done" else "open"}
            elif field == "priority":
                ticket = {"priority": Z_WRITE.get(value)}
            else:
                ticket = {"custom_fields": [{"id": self.due_field, "value": value}]}
            self.z.put(
                f"{self.z_url}/api/v2/tickets/{ids['zendesk']}", json={"ticket": ticket}, timeout=30
            )
        elif tracker == "jira":
            issue = f"{self.j_url}/rest/api/3/issue/{ids['jira']}"
            if field == "status":
                self.jira_status(issue, "Done" if value == "done" else "To Do")
            elif field == "priority":
                self.j.put(
                    issue, json={"fields": {"priority": {"name": J_WRITE[value]}}}, timeout=30
                )
            else:
                self.j.put(issue, json={"fields": {"duedate": value}}, timeout=30)
        else:
            body: dict[str, Any]
            if field == "status":
                body = {"status": "resolved" if value == "done" else "open"}
            elif field == "priority":
                body = {"priority": value}
            else:
                day = (
                    dt.datetime.fromisoformat(value).replace(hour=12, tzinfo=dt.UTC)
                    if value
                    else None
                )
                body = {
                    "due_date": int(day.timestamp() * 1000) if day else None,
                    "due_date_time": False,
                }
            self.c.put(f"{self.c_url}/v2/task/{ids['clickup']}", json=body, timeout=30)

    def jira_status(self, issue: str, target: str) -> None:
        for _ in range(3):
            moves = self.j.get(f"{issue}/transitions", timeout=30).json()["transitions"]
            direct = [m for m in moves if m["to"]["name"] == target]
            move = direct[0] if direct else (moves[0] if moves else None)
            if move is None:
                return
            body: dict[str, Any] = {"transition": {"id": move["id"]}}
            if move["to"]["name"] == "Done":
                body["fields"] = {"resolution": {"name": "Done"}}
            self.j.post(f"{issue}/transitions", json=body, timeout=30)
            if direct:
                return

    def comment(self, tracker: str, ids: dict[str, Any], token: str) -> None:
        text = f"Mirrored by the naive syncer: {token}"
        if tracker == "zendesk":
            self.z.put(
                f"{self.z_url}/api/v2/tickets/{ids['zendesk']}",
                json={"ticket": {"comment": {"body": text, "public": False}}},
                timeout=30,
            )
        elif tracker == "jira":
            doc = {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
            }
            self.j.post(
                f"{self.j_url}/rest/api/3/issue/{ids['jira']}/comment",
                json={"body": doc},
                timeout=30,
            )
        else:
            self.c.post(
                f"{self.c_url}/v2/task/{ids['clickup']}/comment",
                json={"comment_text": text},
                timeout=30,
            )

    # -- one loop --------------------------------------------------------------------------

    def sync(self, z: int, j: str, c: str) -> None:
        ids = {"zendesk": z, "jira": j, "clickup": c}
        try:
            views = self.read(z, j, c)
        except Unanswered as exc:
            self.unanswered[exc.status] = self.unanswered.get(exc.status, 0) + 1
            return
        newest = max(views, key=lambda t: views[t]["updated"])
        for field in ("status", "priority", "due"):
            value = views[newest][field]
            for tracker, view in views.items():
                if view[field] != value:
                    self.write(tracker, ids, field, value)
        every = set().union(*(v["comments"] for v in views.values()))
        for tracker, view in views.items():
            for token in sorted(every - view["comments"]):
                self.comment(tracker, ids, token)

    def loop(self, stopping: list[bool]) -> tuple[int, float]:
        loops, spent = 0, 0.0
        while not stopping:
            started = time.monotonic()
            for z, j, c in self.links:
                if stopping:
                    break
                self.sync(z, j, c)
            loops += 1
            spent += time.monotonic() - started
            self.loop_file.write_text(str(loops), encoding="utf-8")
        return loops, spent


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    stopping: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    naive = Naive(spec)
    loops, spent = naive.loop(stopping)
    Path(spec["stats"]).write_text(
        json.dumps(
            {"loops": loops, "mean_loop": spent / max(1, loops), "unanswered": naive.unanswered}
        ),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
