#!/usr/bin/python3
"""GET /threats/export at scale (issue #14), against the real binary on SQLite.

export_big_test.py <honeyman binary> [rows]   (rows: default 1,000,000)

1. Seeds `rows` threats fast: `honeyman seed-data` writes 5,000 realistic ones, then SQL copies
   them (new ids, earlier timestamps) straight into the table: the export reads only `threats`.
2. The CSV export, read as it streams and parsed with Python's csv module, has exactly the ids,
   in the same order, that paging the list gives (cursor / next_cursor, page_size 1000).
3. A slow reader (64 KiB per 100 ms for 4 s) does not grow the server's VmRSS by more than
   50 MB, and the server answers other requests meanwhile (each within 1 s).
Prints each phase's time; ends with `N passed, M failed`.
"""
import csv
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from honeyman_server import Server, http  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seed_threats import seed  # noqa: E402

binary = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
failures, passed = [], 0
started = time.time()


def check(ok, text):
    global passed
    if ok:
        passed += 1
        print("ok:", text)
    else:
        failures.append(text)
        print("FAILED:", text)


def phase(name, t0):
    print(f"  [{name}: {time.time() - t0:.1f} s]")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def server_pid(server):
    return server.process.pid


def list_ids(base, token, out):
    cursor = None
    while True:
        url = f"{base}/api/v2/threats?page_size=1000" + (f"&cursor={cursor}" if cursor else "")
        status, _, raw = http("GET", url, headers={"Authorization": f"Bearer {token}"})
        if status != 200:
            out.append(f"list answered {status}")
            return
        page = json.loads(raw)
        out.extend(t["id"] for t in page["threats"])
        cursor = page["next_cursor"]
        if not cursor:
            return


def csv_export(base, token):
    req = urllib.request.Request(f"{base}/api/v2/threats/export?format=csv",
                                 headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        reader = csv.reader(io.TextIOWrapper(r, encoding="utf-8", newline=""))
        header = next(reader)
        ids = [row[0] for row in reader]
    return header, ids


def slow_reader(base, token, seconds, results):
    """Raw socket: 64 KiB every 100 ms."""
    host, port = base.replace("http://", "").split(":")
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    s.sendall(f"GET /api/v2/threats/export?format=ndjson HTTP/1.1\r\nHost: x\r\n"
              f"Authorization: Bearer {token}\r\n\r\n".encode())
    got, end = 0, time.time() + seconds
    while time.time() < end:
        chunk = s.recv(64 * 1024)
        if not chunk:
            break
        got += len(chunk)
        time.sleep(0.1)
    results["bytes"] = got
    s.close()


def main():
    work = tempfile.mkdtemp(prefix="honeyman-export-")
    db_path = os.path.join(work, "db.sqlite")
    t0 = time.time()
    count = seed(binary, db_path, rows)
    phase(f"seeded {count} rows", t0)
    server = Server(binary, {"DATABASE_URL": f"sqlite:///{db_path}"})
    try:
        token = server.login()
        base = server.base

        t0 = time.time()
        listed = []
        lister = threading.Thread(target=list_ids, args=(base, token, listed))
        lister.start()
        header, exported = csv_export(base, token)
        export_seconds = time.time() - t0
        lister.join()
        phase(f"CSV export of {len(exported)} rows ({len(exported) / export_seconds:,.0f} rows/s)"
              f" while paging the list", t0)
        check(header[:2] == ["id", "timestamp"] and "updated_at" in header,
              f"the CSV header names every column ({len(header)})")
        check(len(exported) == count, f"the CSV has every row: {len(exported)} of {count}")
        check(exported == listed, "the CSV's ids are the list's ids, in the list's order "
              f"({len(listed)} listed)")
        check(len(set(exported)) == len(exported), "no id twice")

        # Warm up (the first export allocates the pool threads' buffers), then measure.
        csv_export_head = f"{base}/api/v2/threats/export?format=ndjson&severity=critical"
        http("GET", csv_export_head, headers={"Authorization": f"Bearer {token}"})
        pid = server_pid(server)
        before = rss_kb(pid)
        results = {}
        reader = threading.Thread(target=slow_reader, args=(base, token, 4.0, results))
        t0 = time.time()
        reader.start()
        peak, slowest = before, 0.0
        while reader.is_alive():
            t1 = time.time()
            status, _, _ = http("GET", f"{base}/api/v2/threats?page_size=10",
                                headers={"Authorization": f"Bearer {token}"})
            slowest = max(slowest, time.time() - t1)
            if status != 200:
                failures.append(f"GET /threats during the slow export answered {status}")
            peak = max(peak, rss_kb(pid))
            time.sleep(0.2)
        reader.join()
        phase(f"slow reader got {results.get('bytes', 0) / 1024:.0f} KiB", t0)
        growth = (peak - before) / 1024
        check(growth <= 50, f"VmRSS {before / 1024:.0f} MB before, peak {peak / 1024:.0f} MB "
              f"during a slow export (+{growth:.1f} MB, at most 50)")
        check(slowest < 1.0, f"other requests answered meanwhile (slowest {slowest * 1000:.0f} ms)")
        check(server.process.poll() is None, "the server is still running")
    finally:
        if failures:
            print("server log (last lines):\n" + "\n".join(server.log().splitlines()[-15:]))
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"total {time.time() - started:.1f} s")
    for f in failures:
        print("FAILED:", f)
    print(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


main()
