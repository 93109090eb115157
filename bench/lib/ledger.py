#!/usr/bin/env python3
"""The accounting of bench/chaos and bench/soak: what was published, acknowledged and stored.

  ledger.py counts --db URL --run RUN --sim FILE --http FILE [--ws FILE]
      the final table: per transport (MQTT, HTTP) published, acknowledged, stored once, stored
      twice or more, dead-lettered, lost; and what the WebSocket clients saw. Rows are matched
      to messages by the identity the load tools put in raw_data (run + sensor + sequence for
      MQTT, run + http_seq for HTTP), counted with SQL on the database directly.
  ledger.py events --events FILE --samples FILE --http FILE --start T --end T
      one row per disruption: how long the component was down, how long /ready was not 200,
      the longest pause in ingest, the HTTP attempts that failed meanwhile.
  ledger.py soak --samples FILE
      the soak table, first/last/max, slopes and the verdict (exit status 1 when not flat).
"""
import argparse
import collections
import json
import re
import subprocess
import sys


def psql(db, sql):
    out = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\t", db, "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


def row(figure, mqtt, http):
    print("%-44s %22s %22s" % (figure, mqtt, http))


def stored_identities(db, run):
    """Rows of this run per identity: {('mqtt'|'http', key): rows}."""
    rows = psql(db, f"""
        SELECT CASE WHEN j->>'http_seq' IS NULL THEN 'mqtt' ELSE 'http' END,
               coalesce(j->>'http_seq', sensor_id || '/' || (j->>'sequence')), count(*)
        FROM (SELECT sensor_id, raw_event::json AS j FROM threats) t
        WHERE j->>'run' = {sql_text(run)} GROUP BY 1, 2""")
    return {(kind, key): int(n) for kind, key, n in rows}


def multiplicity(stored, kind):
    counts = [n for (k, _), n in stored.items() if k == kind]
    return (len(counts), sum(1 for n in counts if n == 1), sum(1 for n in counts if n > 1),
            sum(n - 1 for n in counts))


def mqtt_gaps(stored, seconds_per_seq):
    """When the MQTT messages never stored and those stored twice were published (seconds after the
    load's start), from the sequences: a worker process gives its k sensors sequences in turn, so
    each sensor's sequences step by k, and sequence s was published about s * seconds_per_seq / k
    seconds in (seconds_per_seq = SENSORS / RATE)."""
    per_sensor = collections.defaultdict(list)
    for (kind, key), n in stored.items():
        if kind == "mqtt":
            sensor, seq = key.rsplit("/", 1)
            per_sensor[sensor].append((int(seq), n))
    missing, twice = [], []
    for seqs in per_sensor.values():
        seqs.sort()
        steps = collections.Counter(b - a for (a, _), (b, _) in zip(seqs, seqs[1:]))
        if not steps:
            continue
        k = steps.most_common(1)[0][0]
        at = lambda seq: round(seq * seconds_per_seq / k)
        for (a, _), (b, _) in zip(seqs, seqs[1:]):
            missing.extend(at(seq) for seq in range(a + k, b, k))
        twice.extend(at(seq) for seq, n in seqs if n > 1)
    return collections.Counter(missing), collections.Counter(twice)


def simulate_line(path):
    """sent, heartbeats, acked, expected acks (None when QoS 0) from `simulate`'s summary."""
    text = open(path).read()
    m = re.search(r"sent (\d+) threats \(\+(\d+) heartbeats\), acknowledged by broker "
                  r"(?:(\d+) of (\d+)|n/a)", text)
    if not m:
        sys.exit("ledger: no summary line from simulate in " + path)
    sent, beats = int(m[1]), int(m[2])
    return sent, beats, (int(m[3]) if m[3] else None), (int(m[4]) if m[4] else None)


def cmd_counts(a):
    stored = stored_identities(a.db, a.run)
    dead_total = int(psql(a.db, "SELECT count(*) FROM dead_letters")[0][0])
    dead_run = int(psql(a.db, f"""SELECT count(*) FROM dead_letters WHERE topic LIKE '%/threats'
        AND position({sql_text('"run":"' + a.run + '"')} IN encode(payload, 'escape')) > 0""")[0][0])
    reasons = psql(a.db, "SELECT reason, count(*) FROM dead_letters GROUP BY 1 ORDER BY 2 DESC")

    sent, beats, acked, expected = simulate_line(a.sim)
    m_distinct, m_once, m_multi, m_extra = multiplicity(stored, "mqtt")
    missing = max(0, sent - m_distinct)
    if acked is not None and acked == expected:
        m_acked = str(sent)
        m_lost = str(max(0, missing - dead_run))  # everything was acknowledged: exact
    else:
        acked_threats = max(0, (acked or 0) - beats)  # heartbeats are acked first, at most
        m_acked = ">= %d" % acked_threats
        m_lost = "%d..%d" % (max(0, acked_threats - m_distinct - dead_run),
                             max(0, missing - dead_run))

    h = json.load(open(a.http))
    acked_seqs = set()
    for first, end in h["acked_ranges"]:
        acked_seqs.update(range(first, end))
    h_distinct, h_once, h_multi, h_extra = multiplicity(stored, "http")
    h_stored = {int(key) for (kind, key) in stored if kind == "http"}
    h_lost = len(acked_seqs - h_stored)
    h_unacked_stored = len(h_stored - acked_seqs)

    row("figure", "MQTT (QoS 1)", "HTTP POST /threats")
    row("published", sent, h["published"])
    row("acknowledged (broker PUBACK / HTTP 201)", m_acked, h["acknowledged"])
    row("stored once", m_once, h_once)
    row("stored twice or more (messages / extra rows)", "%d / %d" % (m_multi, m_extra),
        "%d / %d" % (h_multi, h_extra))
    row("dead-lettered", dead_run, "-")
    row("never stored", missing, h["published"] - h_distinct)
    row("lost (acknowledged, never stored)", m_lost, h_lost)
    row("stored but never acknowledged", "-", h_unacked_stored)
    row("requests: attempts / failed", "-", "%d / %d" % (h["attempts"], len(h["failures"])))
    if a.ws:
        ws = dict(re.findall(r"^(.*?)\s{2,}(-?[0-9.]+)$", open(a.ws).read(), re.M))
        clients = int(ws.get("connected", "0"))
        frames = int(float(ws.get("threat messages received", "0")))
        rows_stored = sum(stored.values())
        share = 100.0 * frames / clients / rows_stored if clients and rows_stored else 0
        print("WebSocket: %d clients connected, %s reconnections, %s closed by the server; "
              "%d threat frames received (%.1f %% of the run's rows per client)"
              % (clients, ws.get("reconnections", "-"),
                 ws.get("closed by the server (readers)", "-"), frames, share))
    if a.rate and a.sensors:
        missing_at, twice_at = mqtt_gaps(stored, a.sensors / a.rate)
        fmt = lambda c: ", ".join("%g s: %d" % kv for kv in sorted(c.items())) or "none"
        print("MQTT gaps by publish time (s after the start; a sensor's last messages are not "
              "seen as gaps): never stored %s; stored twice %s" % (fmt(missing_at), fmt(twice_at)))
    print("dead letters in the database: %d%s" % (dead_total, "".join(
        "; %s: %s" % (r, n) for r, n in reasons[:4])))


def disruption_label(what, sig):
    if what == "postgres":
        return "PostgreSQL " + ("crash (immediate)" if sig == "KILL" else "stop (fast)")
    return {"server": "server", "mosquitto": "Mosquitto", "redis": "Redis"}[what] + " SIG" + sig


def cmd_events(a):
    events = [line.split() for line in open(a.events) if line.strip()]
    samples = []
    for line in open(a.samples):
        parts = line.split()
        if len(parts) == 3:
            t, count, ready = parts
            samples.append((float(t), int(count) if count.isdigit() else None, ready))
    failures = json.load(open(a.http))["failures"]
    start = a.start
    print("%-9s %-30s %9s %14s %14s  %s" % ("at (s)", "disruption", "down (s)", "not ready (s)",
                                              "ingest stall", "HTTP failed attempts"))
    windows = [(start, float(events[0][0]) if events else a.end, "none (before the first)", "-")]
    for i, (kill, up, what, sig) in enumerate(events):
        next_kill = float(events[i + 1][0]) if i + 1 < len(events) else a.end
        windows.append((float(kill), next_kill, disruption_label(what, sig),
                        "%.1f" % (float(up) - float(kill))))
    for begin, finish, label, down in windows:
        inside = [s for s in samples if begin <= s[0] < finish]
        not_ready = sum(inside[j + 1][0] - inside[j][0]
                        for j in range(len(inside) - 1) if inside[j][2] != "200")
        # Longest time without the stored count growing; in the first window, from the first
        # growth on (the loads take a few seconds to start).
        stall, last_t, last_n, warming_up = 0.0, begin, None, begin == start
        for t, n, _ in inside:
            if n is not None and (last_n is None or n > last_n):
                if last_n is not None and not warming_up:
                    stall = max(stall, t - last_t)
                warming_up = warming_up and last_n is None
                last_t, last_n = t, n
            if not warming_up:
                stall = max(stall, t - last_t)
        kinds = collections.Counter(k for t, k in failures if begin <= t < finish)
        text = "%d" % sum(kinds.values())
        if kinds:
            text += " (" + ", ".join("%s %d" % kv for kv in kinds.most_common(3)) + ")"
        print("%-9s %-30s %9s %14.1f %14.1f  %s" % ("%.1f" % (begin - start), label, down,
                                                  not_ready, stall, text))


def slope(points):
    """Least-squares slope of (x, y) points; 0 with fewer than two."""
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else 0.0


def cmd_soak(a):
    samples = [tuple(float(v) for v in line.split()) for line in open(a.samples) if line.strip()]
    if len(samples) < 8:
        sys.exit("soak: too few samples (%d) to judge; run longer" % len(samples))
    print("%10s %10s %8s %16s" % ("time (s)", "RSS (MiB)", "fds", "threats stored"))
    for t, rss, fds, stored in samples:
        print("%10.0f %10.1f %8d %16d" % (t, rss / 1024, fds, stored))
    span = samples[-1][0]
    q2 = [s for s in samples if span / 4 <= s[0] < span / 2]
    q4 = [s for s in samples if s[0] >= 3 * span / 4]
    mean = lambda xs: sum(xs) / len(xs)
    rss_q2, rss_q4 = mean([s[1] for s in q2]), mean([s[1] for s in q4])
    fds_q2, fds_q4 = mean([s[2] for s in q2]), mean([s[2] for s in q4])
    after_warmup = [s for s in samples if s[0] >= span / 4]
    rss_slope = slope([(s[0] / 60, s[1] / 1024) for s in after_warmup])  # MiB per minute
    fds_slope = slope([(s[0] / 60, s[2]) for s in after_warmup])
    rss_ok = rss_q4 <= rss_q2 * (1 + a.rss_tolerance / 100)
    fds_ok = fds_q4 <= fds_q2 + max(a.fds_tolerance, fds_q2 * 0.05)
    print()
    print("%-44s %12s %12s %12s" % ("", "first", "last", "max"))
    print("%-44s %12.1f %12.1f %12.1f" % ("RSS (MiB)", samples[0][1] / 1024,
                                          samples[-1][1] / 1024, max(s[1] for s in samples) / 1024))
    print("%-44s %12d %12d %12d" % ("open descriptors", samples[0][2], samples[-1][2],
                                    max(s[2] for s in samples)))
    print("%-44s %12s %12s %12s" % ("", "2nd quarter", "4th quarter", "slope/min"))
    print("%-44s %12.1f %12.1f %12.3f" % ("RSS mean (MiB); slope after the 1st quarter",
                                          rss_q2 / 1024, rss_q4 / 1024, rss_slope))
    print("%-44s %12.1f %12.1f %12.3f" % ("descriptors mean; slope after the 1st quarter",
                                          fds_q2, fds_q4, fds_slope))
    print("criterion: 4th-quarter mean RSS <= 2nd-quarter mean + %g %%: %s; 4th-quarter mean "
          "descriptors <= 2nd-quarter mean + max(%g, 5 %%): %s"
          % (a.rss_tolerance, "pass" if rss_ok else "FAIL", a.fds_tolerance,
             "pass" if fds_ok else "FAIL"))
    print("soak: %s" % ("pass (flat)" if rss_ok and fds_ok else "FAIL (growing)"))
    return 0 if rss_ok and fds_ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("counts")
    c.add_argument("--db", required=True)
    c.add_argument("--run", required=True)
    c.add_argument("--sim", required=True)
    c.add_argument("--http", required=True)
    c.add_argument("--ws")
    c.add_argument("--rate", type=float, help="MQTT threats/s (for the gap times)")
    c.add_argument("--sensors", type=int, help="MQTT sensors (for the gap times)")
    e = sub.add_parser("events")
    e.add_argument("--events", required=True)
    e.add_argument("--samples", required=True)
    e.add_argument("--http", required=True)
    e.add_argument("--start", type=float, required=True, help="load start (epoch seconds)")
    e.add_argument("--end", type=float, required=True, help="end of the last window (epoch s)")
    s = sub.add_parser("soak")
    s.add_argument("--samples", required=True)
    s.add_argument("--rss-tolerance", type=float, default=10, help="percent")
    s.add_argument("--fds-tolerance", type=float, default=4, help="descriptors")
    a = p.parse_args()
    sys.exit({"counts": cmd_counts, "events": cmd_events, "soak": cmd_soak}[a.cmd](a))


if __name__ == "__main__":
    main()
