#!/usr/bin/env python3
"""HTTP ingest load of bench/chaos and bench/soak: one field agent posting threats.

Posts agent-format threats to POST <prefix>/threats with a sensor's API key, RATE threats/s in
batches of at most BATCH, for DURATION seconds. Like a real agent it keeps a batch until the server
answers 201 (durable: the server answers after the commit) and posts the same bytes again after
any other answer or a broken connection, with a backoff of 0.25 s doubling to 2 s; batches due
meanwhile wait and go out afterwards. A batch still unacknowledged GRACE seconds after the end
is given up.

Each threat carries its identity in raw_data (kept as the stored threat's raw_event):
{"run": RUN, "http_seq": n}, n = 0, 1, 2, ... At the end it writes a JSON ledger to --out:
published (threats put in a batch), acknowledged (as [first, end) ranges of http_seq), attempts,
and every failed attempt as [wall time, kind]. bench/lib/ledger.py compares it with the rows.
"""
import argparse
import datetime
import http.client
import json
import time


def agent_threat(sensor, run, seq):
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return {
        "timestamp": now.isoformat(timespec="microseconds"),  # the agent sends naive UTC
        "sensor_id": sensor,
        "source": "WifiDetector",
        "threat_type": "evil_twin",
        "threat_score": 0.5,
        "risk_level": "medium" if seq % 10 else "critical",
        "message": "evil twin detected near " + sensor,
        "raw_data": {"run": run, "http_seq": seq, "ssid": "cafe-wifi"},
    }


class Poster:
    """One keep-alive connection; post() returns None on 201, else what went wrong."""

    def __init__(self, host, port, path, key):
        self.host, self.port, self.path, self.key = host, port, path, key
        self.conn = None

    def post(self, body):
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=15)
            self.conn.request("POST", self.path, body,
                              {"Content-Type": "application/json", "X-API-Key": self.key})
            res = self.conn.getresponse()
            res.read()
            if res.status == 201:
                return None
            if res.getheader("Connection", "").lower() == "close":
                self.close()
            return "HTTP %d" % res.status
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return type(e).__name__

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--prefix", default="/api/v2")
    p.add_argument("--key", required=True, help="the sensor's API key")
    p.add_argument("--sensor", required=True, help="the sensor's id")
    p.add_argument("--run", required=True, help="raw_data.run of every threat")
    p.add_argument("--rate", type=float, default=50, help="threats per second")
    p.add_argument("--batch", type=int, default=10, help="threats per request at most")
    p.add_argument("--duration", type=float, default=60, help="seconds")
    p.add_argument("--grace", type=float, default=60,
                   help="seconds after the end to keep retrying the last batch")
    p.add_argument("--out", required=True, help="the JSON ledger written at the end")
    a = p.parse_args()

    poster = Poster(a.host, a.port, a.prefix + "/threats", a.key)
    start = time.monotonic()
    end = start + a.duration
    seq = attempts = 0
    acked, failures = [], []
    while time.monotonic() < end:
        due = int((time.monotonic() - start) * a.rate)
        if due <= seq:
            time.sleep(0.01)
            continue
        n = min(a.batch, due - seq)
        body = json.dumps([agent_threat(a.sensor, a.run, seq + i) for i in range(n)])
        wait = 0.25
        while True:
            attempts += 1
            error = poster.post(body)
            if error is None:
                acked.append([seq, seq + n])
                break
            failures.append([time.time(), error])
            if time.monotonic() > end + a.grace:
                break
            time.sleep(wait)
            wait = min(2.0, wait * 2)
        seq += n
    poster.close()
    with open(a.out, "w") as f:
        json.dump({"published": seq, "acknowledged": sum(e - b for b, e in acked),
                   "acked_ranges": acked, "attempts": attempts, "failures": failures}, f)


if __name__ == "__main__":
    main()
