#!/usr/bin/env python3
"""The receivers, the rule set and the arithmetic of bench/alert-bench (issue #16).

  alert_bench.py webhook --port-file F --out F --secret S
      a webhook receiver on 127.0.0.1 (threaded http.server): answers every POST 200 and appends
      one JSON line per request to --out: receive time (time.time(), before the answer),
      the alert's id, rule_id, fired_at, the firing threat's own timestamp, the delivery id and
      whether X-Honeyman-Signature is the HMAC of the body with --secret.
  alert_bench.py syslog --port-file F --stats F
      a syslog TCP listener on 127.0.0.1 reading RFC 6587 octet-counted frames ("<len> <record>");
      every 0.25 s (and at SIGTERM) it writes {records, distinct, bad, connections, bytes} to
      --stats: records framed, distinct threat ids (CEF externalId), records that are not an
      RFC 5424 threat record in CEF.
  alert_bench.py setup --api URL --sensors FILE --webhook-url U --secret S --syslog-port P --out F
      logs in (user bench, HONEYMAN_ADMIN_PASSWORD), creates the webhook and syslog (TCP, CEF)
      destinations, the 100 rules of run 1 and the 1 % rule of run 2, all disabled, and writes
      their ids to --out (run 1 forwards with SIEM_FORWARD=<the syslog destination's id>).
  alert_bench.py enable --api URL --ids F --set NAME --on|--off
      PATCHes {"enabled": ...} on the rules of one set (load, latency).
  alert_bench.py metrics --url URL
      prints the alerting and SIEM counters of GET /metrics as name=value lines.
  alert_bench.py threads --pid P / busiest --before F --after F
      CPU ticks per thread of a process; the six busiest threads between two such snapshots.
  alert_bench.py latency --hooks F --rule-id ID
      receive - fired_at and receive - threat timestamp (p50 / p99 / max, ms) of the rule's
      webhooks, and how many distinct alerts arrived.
"""
import argparse
import datetime
import hashlib
import hmac
import http.server
import json
import os
import signal
import socketserver
import sys
import threading
import time
import urllib.request


# --- receivers ---------------------------------------------------------------------------------
def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(path + ".tmp", path)


def serve_webhook(args):
    out = open(args.out, "a", buffering=1)
    lock = threading.Lock()
    secret = args.secret.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received = time.time()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()
            expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            line = {"received": received,
                    "delivery": self.headers.get("X-Honeyman-Delivery"),
                    "signed": hmac.compare_digest(expected,
                                                  self.headers.get("X-Honeyman-Signature", ""))}
            try:
                data = json.loads(body)["data"]
                line.update(alert=data["id"], rule_id=data["rule_id"], fired_at=data["fired_at"],
                            threat_timestamp=data.get("summary", {}).get("timestamp"))
            except (ValueError, KeyError, TypeError):
                line["bad"] = True
            with lock:
                out.write(json.dumps(line) + "\n")

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    write_port(args.port_file, server.server_address[1])
    server.serve_forever()


class SyslogCounts:
    def __init__(self):
        self.lock = threading.Lock()
        self.records = self.bad = self.connections = self.bytes = 0
        self.ids = set()

    def snapshot(self):
        with self.lock:
            return {"records": self.records, "distinct": len(self.ids), "bad": self.bad,
                    "connections": self.connections, "bytes": self.bytes}


def frames(chunk, buf):
    """Splits octet-counted frames off buf + chunk: (records, rest)."""
    buf += chunk
    records, pos = [], 0
    while True:
        space = buf.find(b" ", pos, pos + 12)
        if space < 0:
            break
        length = int(buf[pos:space])
        end = space + 1 + length
        if end > len(buf):
            break
        records.append(buf[space + 1:end])
        pos = end
    return records, buf[pos:]


def serve_syslog(args):
    counts = SyslogCounts()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            with counts.lock:
                counts.connections += 1
            rest = b""
            while True:
                chunk = self.request.recv(1 << 18)
                if not chunk:
                    return
                records, rest = frames(chunk, rest)
                ids, bad = [], 0
                for r in records:
                    at = r.find(b"externalId=")
                    if not r.startswith(b"<") or b" honeyman - threat - CEF:0|" not in r or at < 0:
                        bad += 1
                    else:
                        ids.append(r[at + 11:at + 47])
                with counts.lock:
                    counts.records += len(records)
                    counts.bytes += len(chunk)
                    counts.bad += bad
                    counts.ids.update(ids)

    class Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True

    server = Server(("127.0.0.1", 0), Handler)

    def dump():
        with open(args.stats + ".tmp", "w") as f:
            json.dump(counts.snapshot(), f)
        os.rename(args.stats + ".tmp", args.stats)

    def dumper():
        while True:
            dump()
            time.sleep(0.25)

    def stop(*_):
        dump()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=dumper, daemon=True).start()
    write_port(args.port_file, server.server_address[1])
    server.serve_forever()


# --- the API -----------------------------------------------------------------------------------
class Api:
    def __init__(self, base):
        self.base = base.rstrip("/") + "/api/v2"
        login = self.call("POST", "/auth/login",
                          {"username": "bench", "password": os.environ["HONEYMAN_ADMIN_PASSWORD"]})
        self.token = login["token"]["access_token"]

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if getattr(self, "token", None):
            req.add_header("Authorization", "Bearer " + self.token)
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read() or b"null")


DETECTORS = {"ble": ["flipper_zero", "ble_spam", "airtag_tracking"],
             "usb": ["badusb_hid", "rubber_ducky", "usb_mass_storage"],
             "wifi": ["evil_twin", "deauth_flood", "karma_attack"],
             "network": ["port_scan", "ssh_brute_force", "arp_spoofing"],
             "airdrop": ["airdrop_spam", "unsolicited_airdrop", "name_spoofing"]}
TYPES = [t for ts in DETECTORS.values() for t in ts]


def load_rules(sensors, hook):
    """The 100 rules of run 1: what an operator of a 1,000-sensor fleet might keep. The simulator
    spreads its threats evenly over 5 detectors x 3 types (15 types), 7 risk levels (critical,
    high, medium x2, low x2, info) and a uniform score, round robin over the sensors, so at R
    threats/s each sensor sends R/N. Most threats match no rule; the ones that do fire once and
    the cooldown keeps the rule quiet for the rest of a phase."""
    rules = []

    def rule(name, match, cooldown, threshold=None):
        r = {"name": name, "enabled": False, "match": match, "cooldown_seconds": cooldown,
             "destination_ids": [hook]}
        if threshold:
            r["threshold"] = threshold
        rules.append(r)

    # 30: a watched sensor's critical, high-confidence threats (~0.3 % of its traffic).
    for i in range(30):
        rule(f"critical on {sensors[i * 7 % len(sensors)]}",
             {"sensor_ids": [sensors[i * 7 % len(sensors)]], "min_severity": "critical",
              "min_score": 0.9}, 900)
    # 15 + 5: fleet-wide, one threat type (or detector) at high severity and a near-certain score.
    for t in TYPES:
        rule(f"{t}: certain", {"threat_types": [t], "min_severity": "high", "min_score": 0.99}, 600)
    for d in DETECTORS:
        rule(f"{d}: critical and certain",
             {"detector_types": [d], "min_severity": "critical", "min_score": 0.995}, 600)
    # 20 thresholds per sensor: 30 of one type within 60 s on one sensor of a group of 10.
    for i in range(20):
        group = [sensors[(i * 10 + k) % len(sensors)] for k in range(10)]
        rule(f"burst of {TYPES[i % 15]} on site {i}", {"threat_types": [TYPES[i % 15]],
                                                       "sensor_ids": group}, 600,
             {"count": 30, "window_seconds": 60, "per": "sensor"})
    # 10 fleet thresholds: a storm of critical threats from one detector across the fleet.
    for i, d in enumerate(list(DETECTORS) * 2):
        rule(f"{d} storm {i}", {"detector_types": [d], "min_severity": "critical"}, 600,
             {"count": 2000 * (1 + i // 5), "window_seconds": 60, "per": "fleet"})
    # 20 rules for things this traffic never has: other sites' sensors, other threat types.
    for i in range(10):
        rule(f"lab sensor {i}", {"sensor_ids": [f"lab-{i}"]}, 0)
    for i in range(10):
        rule(f"ransomware beacon {i}", {"threat_types": [f"ransomware_beacon_{i}"],
                                        "min_severity": "medium"}, 300)
    assert len(rules) == 100
    return rules


def setup(args):
    api = Api(args.api)
    sensors = [s["sensor_id"] for s in json.load(open(args.sensors))]
    hook = api.call("POST", "/alerts/destinations",
                    {"name": "bench webhook", "kind": "webhook", "url": args.webhook_url,
                     "secret": args.secret})["id"]
    siem = api.call("POST", "/alerts/destinations",
                    {"name": "bench syslog", "kind": "syslog", "host": "127.0.0.1",
                     "port": args.syslog_port, "transport": "tcp", "format": "cef"})["id"]
    ids = {"webhook": hook, "syslog": siem, "load": [], "latency": []}
    for r in load_rules(sensors, hook):
        ids["load"].append(api.call("POST", "/alerts/rules", r)["id"])
    # Run 2 publishes from the first LAT_SENSORS sensors round robin: one of 100 is 1 %.
    ids["latency"].append(api.call("POST", "/alerts/rules", {
        "name": "one sensor (1 %)", "enabled": False, "match": {"sensor_ids": [sensors[0]]},
        "cooldown_seconds": 0, "destination_ids": [hook]})["id"])
    json.dump(ids, open(args.out, "w"))


def enable(args):
    api = Api(args.api)
    for rule_id in json.load(open(args.ids))[args.set]:
        api.call("PATCH", f"/alerts/rules/{rule_id}", {"enabled": args.on})


# --- arithmetic --------------------------------------------------------------------------------
def metrics(args):
    wanted = ("honeyman_siem_", "honeyman_alerts_", "honeyman_alert_deliveries_total",
              "honeyman_ingest_threats_stored_total")
    text = urllib.request.urlopen(args.url, timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(wanted):
            name, value = line.rsplit(" ", 1)
            name = name.replace('{outcome="', "_").replace('"}', "")
            print(f"{name}={int(float(value))}")


def threads(args):
    """One line per thread of --pid: tid, CPU ticks (user + system), name."""
    base = f"/proc/{args.pid}/task"
    for tid in os.listdir(base):
        try:
            stat = open(f"{base}/{tid}/stat").read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        print(tid, int(fields[11]) + int(fields[12]), name)


def busiest(args):
    """The six threads that used the most CPU between two `threads` snapshots."""
    def read(path):
        return {line.split()[0]: (int(line.split()[1]), line.split(None, 2)[2].strip())
                for line in open(path) if line.strip()}
    before, after = read(args.before), read(args.after)
    hz = os.sysconf("SC_CLK_TCK")
    rows = sorted(((ticks - before.get(tid, (0, ""))[0], f"{name}/{tid}")
                   for tid, (ticks, name) in after.items()), reverse=True)
    print(", ".join(f"{n} {t / hz:.1f} s" for t, n in rows[:6]))


def epoch(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def latency(args):
    rows = [json.loads(line) for line in open(args.hooks)]
    rows = [r for r in rows if r.get("rule_id") == args.rule_id]
    first = {}
    for r in rows:  # an alert delivered twice counts once, at its first arrival
        first.setdefault(r["alert"], r)
    fired = sorted((r["received"] - epoch(r["fired_at"])) * 1000 for r in first.values())
    own = sorted((r["received"] - epoch(r["threat_timestamp"])) * 1000 for r in first.values()
                 if r.get("threat_timestamp"))

    def q(d, p):
        return d[min(len(d) - 1, int(p * len(d)))] if d else float("nan")

    print(f"alerts={len(first)} posts={len(rows)} unsigned={sum(not r['signed'] for r in rows)}")
    print(f"fired_p50={q(fired, .5):.1f} fired_p99={q(fired, .99):.1f} fired_max={q(fired, 1):.1f}")
    print(f"threat_p50={q(own, .5):.1f} threat_p99={q(own, .99):.1f} threat_max={q(own, 1):.1f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("webhook")
    w.add_argument("--port-file", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--secret", required=True)
    s = sub.add_parser("syslog")
    s.add_argument("--port-file", required=True)
    s.add_argument("--stats", required=True)
    u = sub.add_parser("setup")
    for a in ("--api", "--sensors", "--webhook-url", "--secret", "--out"):
        u.add_argument(a, required=True)
    u.add_argument("--syslog-port", type=int, required=True)
    e = sub.add_parser("enable")
    e.add_argument("--api", required=True)
    e.add_argument("--ids", required=True)
    e.add_argument("--set", required=True, choices=["load", "latency"])
    e.add_argument("--on", action="store_true")
    e.add_argument("--off", dest="on", action="store_false")
    m = sub.add_parser("metrics")
    m.add_argument("--url", required=True)
    lat = sub.add_parser("latency")
    lat.add_argument("--hooks", required=True)
    lat.add_argument("--rule-id", required=True)
    t = sub.add_parser("threads")
    t.add_argument("--pid", required=True)
    b = sub.add_parser("busiest")
    b.add_argument("--before", required=True)
    b.add_argument("--after", required=True)
    args = p.parse_args()
    {"webhook": serve_webhook, "syslog": serve_syslog, "setup": setup, "enable": enable,
     "metrics": metrics, "latency": latency, "threads": threads, "busiest": busiest}[args.cmd](args)


if __name__ == "__main__":
    main()
