"""Load test of the intake API: N concurrent clients create M dossiers, then check the codes.

Prints throughput, p50/p95/p99 latency, errors by status, and checks that the codes issued
are distinct and gapless per agency and day (domain.md §6). Standard library only
(threads + http.client with keep-alive); never part of the test run.

    TOKEN=$(flask users token tiepnhan)
    python bench/intake_load.py --url http://127.0.0.1:8000 --token "$TOKEN" \
        --clients 20 --dossiers 2000

The token must belong to a reception user. The procedure is the first active one with a
time limit unless --procedure-id is given. Exit status 0 only when every request succeeded
and the codes check holds.
"""
from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from urllib.parse import urlencode, urlsplit

CODE_RE = re.compile(r"^(?P<agency>.+)-(?P<day>\d{6})-(?P<seq>\d{4})$")


class Client:
    """One keep-alive HTTP connection with the bearer token."""

    def __init__(self, url: str, token: str, timeout: float):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        self.https = parts.scheme == "https"
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}
        self.timeout = timeout
        self.conn = None

    def _connect(self):
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        self.conn = cls(self.host, self.port, timeout=self.timeout)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict | None]:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=self.headers)
                response = self.conn.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                try:
                    return response.status, json.loads(raw) if raw else None
                except ValueError:
                    return response.status, None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection closed by the server between requests: reconnect once.
                # Only safe to retry when nothing reached the application (no status was read).
                self.close()
                if attempt == 2:
                    raise
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def pick_procedure(client: Client) -> int:
    page = 1
    while True:
        status, body = client.request("GET", f"/api/v1/procedures?page={page}&per_page=100")
        if status != 200:
            sys.exit(f"GET /procedures answered {status}: {body}")
        for proc in body["items"]:
            if proc["limit_unit"]:
                return proc["id"]
        if page * 100 >= body["total"]:
            sys.exit("no active procedure with a time limit: load the catalog first (flask demo)")
        page += 1


def applicant(n: int) -> dict:
    return {"kind": "individual", "name": f"Người nộp thử tải {n}", "id_number": f"{79_000_000_000 + n:012d}",
            "phone": f"09{n % 100_000_000:08d}", "email": "", "address": "Địa chỉ thử tải"}


def check_codes(client: Client, created: list[dict]) -> list[str]:
    """Problems found: duplicates among ours, and gaps among all the product's codes of each day."""
    problems = []
    codes = [d["code"] for d in created]
    duplicates = [c for c, n in Counter(codes).items() if n > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate codes, e.g. {duplicates[:3]}")
    by_day: dict[tuple[str, str], set[int]] = defaultdict(set)
    received_days = set()
    for d in created:
        match = CODE_RE.match(d["code"])
        if match is None:
            problems.append(f"code {d['code']} does not look like <agency>-YYMMDD-XXXX")
            continue
        received_days.add(d["received_at"][:10])
    # Every dossier of those days (earlier runs included), to check the sequence has no gap.
    for day in sorted(received_days):
        page = 1
        while True:
            query = urlencode({"from": day, "to": day, "page": page, "per_page": 100})
            status, body = client.request("GET", f"/api/v1/dossiers?{query}")
            if status != 200:
                problems.append(f"GET /dossiers?{query} answered {status}")
                break
            for item in body["items"]:
                match = CODE_RE.match(item["code"])
                if match and not item["external_code"]:
                    by_day[(match["agency"], match["day"])].add(int(match["seq"]))
            # Lists count up to a cap (issue 13): past it "total_exact" is false and more pages follow.
            if not body["items"] or (page * 100 >= body["total"] and body.get("total_exact", True)):
                break
            page += 1
    for (agency, day), seqs in sorted(by_day.items()):
        expected = set(range(1, max(seqs) + 1))
        if seqs != expected:
            missing = sorted(expected - seqs)
            problems.append(f"{agency}-{day}: {len(missing)} gaps, e.g. {missing[:5]}")
        else:
            print(f"codes {agency}-{day}-0001 … {max(seqs):04d}: gapless ({len(seqs)} dossiers that day)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="server root, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="bearer token of a reception user")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--dossiers", type=int, default=2000)
    parser.add_argument("--procedure-id", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    setup = Client(args.url, args.token, args.timeout)
    procedure_id = args.procedure_id or pick_procedure(setup)

    counter = iter(range(args.dossiers))
    counter_lock = threading.Lock()
    latencies: list[float] = []
    statuses: Counter = Counter()
    created: list[dict] = []
    failures: list[str] = []
    results_lock = threading.Lock()
    start_gate = threading.Barrier(args.clients + 1)

    def worker():
        client = Client(args.url, args.token, args.timeout)
        start_gate.wait()
        while True:
            with counter_lock:
                n = next(counter, None)
            if n is None:
                break
            body = {"procedure_id": procedure_id, "applicant": applicant(n), "channel": "direct",
                    "request_summary": "Thử tải"}
            t0 = time.perf_counter()
            try:
                status, answer = client.request("POST", "/api/v1/dossiers", body)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                status, answer = 0, {"error": repr(exc)}
            elapsed = time.perf_counter() - t0
            with results_lock:
                latencies.append(elapsed)
                statuses[status] += 1
                if status == 201:
                    created.append({"code": answer["code"], "received_at": answer["received_at"]})
                elif len(failures) < 5:
                    failures.append(f"{status}: {answer}")
        client.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.clients)]
    for t in threads:
        t.start()
    start_gate.wait()
    t_start = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t_start

    latencies.sort()
    total = len(latencies)
    print(f"server {args.url}, procedure {procedure_id}, {args.clients} clients, {total} requests in {wall:.2f} s")
    print(f"throughput {total / wall:.1f} dossiers/s")
    print(f"latency p50 {percentile(latencies, 50) * 1000:.0f} ms, p95 {percentile(latencies, 95) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print("status counts: " + ", ".join(f"{s or 'connection error'}: {n}" for s, n in sorted(statuses.items())))
    for failure in failures:
        print(f"  e.g. {failure}")
    errors = total - statuses[201]
    server_errors = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    print(f"errors: {errors} (5xx or connection: {server_errors})")

    problems = check_codes(setup, created)
    setup.close()
    distinct = len({d["code"] for d in created})
    print(f"codes: {len(created)} created, {distinct} distinct")
    for problem in problems:
        print(f"CODE PROBLEM: {problem}")
    ok = errors == 0 and not problems and distinct == len(created) == args.dossiers
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
