#!/usr/bin/python3
"""The deployment, checked from outside.

1. deploy/compose/docker-compose.yml is accepted by Debian's docker-compose (`config`, with
   .env.example) and, parsed, has the promised structure: a health check on every long-running
   service, non-root users, the two instances sharing MQTT_SHARED_GROUP with distinct client ids.
2. deploy/local-cluster (the same topology natively) starts with the binary under test; then,
   through nginx over verified HTTPS: log in, onboard a sensor; the sensor publishes a threat over
   MQTT TLS with the credentials registration returned; the threat reaches WebSocket clients on
   each instance directly (one of them only through Redis: exactly one instance ingested it) and
   through nginx (wss: the upgrade works).
3. nginx: a body over 1 MiB is refused by nginx itself (413), one of exactly 1 MiB reaches the
   server; the server logs the real client address (X-Forwarded-For from a trusted proxy) and
   nginx's request id; idle upstream connections are kept and reused (keep-alive).
The cluster is always stopped.

deploy_test.py <honeyman binary>
Ends with `N passed, M failed`.
"""
import datetime
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import uuid

import websocket  # python3-websocket
import yaml  # python3-yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
binary = os.path.abspath(sys.argv[1])
results = []
started = time.monotonic()


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(("ok     " if ok else "FAILED ") + name + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


# ---------------------------------------------------------------------------------------------
# 1. compose


def compose_checks():
    compose_dir = os.path.join(REPO, "deploy", "compose")
    # docker-compose 1.29 reads --env-file for interpolation; a `.env` beside the file would be
    # read instead when none is given, so the example is named explicitly.
    run = subprocess.run(
        ["docker-compose", "--env-file", os.path.join(compose_dir, ".env.example"),
         "-f", os.path.join(compose_dir, "docker-compose.yml"), "config"],
        capture_output=True, text=True, timeout=60)
    if not check("docker-compose config accepts docker-compose.yml with .env.example",
                 run.returncode == 0, run.stderr.strip()[-500:]):
        return
    config = yaml.safe_load(run.stdout)
    services = config["services"]
    expected = {"postgres", "redis", "mosquitto", "honeyman1", "honeyman2", "nginx"}
    check("compose has postgres, redis, mosquitto, honeyman1, honeyman2, nginx",
          expected <= set(services), sorted(services))
    # One-shot services (certificates, migrations) end; everything else must say when it is well.
    long_running = [n for n, s in services.items() if s.get("restart") != "no"]
    missing = [n for n in long_running if not services[n].get("healthcheck", {}).get("test")]
    check("every long-running service has a healthcheck", not missing, missing)
    # A service is non-root when compose sets a non-root user, or its image is ours and the
    # Dockerfile's stage for it ends with a non-root USER.
    dockerfile = open(os.path.join(compose_dir, "Dockerfile")).read()
    stage_users = {}
    stage = None
    for line in dockerfile.splitlines():
        m = re.match(r"FROM\s+\S+\s+AS\s+(\S+)", line, re.I)
        if m:
            stage = m.group(1)
        m = re.match(r"USER\s+(\S+)", line)
        if m and stage:
            stage_users[stage] = m.group(1)
    root_services = []
    for name, service in services.items():
        user = str(service.get("user", ""))
        if not user:
            target = service.get("build", {}).get("target")
            user = stage_users.get(target, "")
        if user.split(":")[0] in ("", "0", "root"):
            root_services.append(name)
    check("no service runs as root", not root_services, root_services)
    env = {n: services[n].get("environment", {}) for n in ("honeyman1", "honeyman2")}
    check("the instances share MQTT_SHARED_GROUP",
          env["honeyman1"].get("MQTT_SHARED_GROUP")
          and env["honeyman1"].get("MQTT_SHARED_GROUP") == env["honeyman2"].get("MQTT_SHARED_GROUP"),
          env)
    check("the instances have distinct MQTT_CLIENT_IDs",
          env["honeyman1"].get("MQTT_CLIENT_ID")
          and env["honeyman1"].get("MQTT_CLIENT_ID") != env["honeyman2"].get("MQTT_CLIENT_ID"))
    for key in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        check(f"the instances share {key}",
              env["honeyman1"].get(key) and env["honeyman1"].get(key) == env["honeyman2"].get(key))
    check("TRUSTED_PROXIES names nginx's address",
          env["honeyman1"].get("TRUSTED_PROXIES")
          == services["nginx"]["networks"]["backend"]["ipv4_address"],
          (env["honeyman1"].get("TRUSTED_PROXIES"), services["nginx"].get("networks")))
    volumes = set(config.get("volumes", {}))
    check("named volumes for PostgreSQL and Mosquitto", {"postgres", "mosquitto"} <= volumes, volumes)


# ---------------------------------------------------------------------------------------------
# 2. and 3. the native twin


class Cluster:
    def __init__(self):
        parent = tempfile.mkdtemp(prefix="honeyman-deploy-test-")
        os.chmod(parent, 0o711)  # the cluster's service users (postgres, nginx workers) pass through
        self.dir = os.path.join(parent, "cluster")
        self.script = os.path.join(REPO, "deploy", "local-cluster")
        t0 = time.monotonic()
        run = subprocess.run([self.script, "start", "--dir", self.dir],
                             env=dict(os.environ, HONEYMAN_BINARY=binary),
                             capture_output=True, text=True, timeout=60)
        self.start_seconds = time.monotonic() - t0
        self.output = run.stdout + run.stderr
        self.ok = run.returncode == 0
        self.env = {}
        if self.ok:
            for line in open(os.path.join(self.dir, "cluster.env")):
                if "=" in line and not line.startswith("#"):
                    key, value = line.rstrip("\n").split("=", 1)
                    self.env[key] = value
            self.ca = self.env["HONEYMAN_CA_CERT"]
            self.tls = ssl.create_default_context(cafile=self.ca)  # verifies, with the cluster's CA
            self.https_port = int(self.env["HTTPS_PORT"])

    def stop(self):
        run = subprocess.run([self.script, "stop", "--dir", self.dir], capture_output=True,
                             text=True, timeout=60)
        shutil.rmtree(os.path.dirname(self.dir), ignore_errors=True)
        return run

    def log(self, name):
        with open(os.path.join(self.dir, "logs", name)) as f:
            return f.read()

    def https(self, method, path, body=None, headers=None, source=None):
        """(status, headers, body) through nginx; a new TLS connection each time."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=self.tls,
                                           timeout=10,
                                           source_address=(source, 0) if source else None)
        headers = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def metric(self, instance, name):
        conn = http.client.HTTPConnection("127.0.0.1", int(self.env[f"HONEYMAN{instance}_PORT"]),
                                          timeout=10)
        conn.request("GET", "/metrics",
                     headers={"Authorization": "Bearer " + self.env["METRICS_TOKEN"]})
        text = conn.getresponse().read().decode()
        conn.close()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


def upstream_connections(ports):
    """Local ports of ESTABLISHED loopback connections towards the given ports (nginx's side)."""
    found = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "01" and int(remote.split(":")[1], 16) in ports:
                found.add(int(local.split(":")[1], 16))
    return found


def receive_threat(ws, sensor_id, deadline):
    while time.monotonic() < deadline:
        ws.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            message = json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if message.get("type") == "threat" and message["data"].get("sensor_id") == sensor_id:
            return message
    return None


def cluster_checks(cluster):
    api = "/api/v2"
    status, _, raw = cluster.https("POST", api + "/auth/login",
                                   {"username": cluster.env["HONEYMAN_ADMIN_USERNAME"],
                                    "password": cluster.env["HONEYMAN_ADMIN_PASSWORD"]})
    if not check("admin logs in through nginx over verified HTTPS", status == 200, (status, raw[:200])):
        return
    token = json.loads(raw)["token"]["access_token"]
    auth = {"Authorization": "Bearer " + token}

    # Onboarding through nginx: the answer tells the sensor the TLS broker and the public URL.
    status, _, raw = cluster.https("POST", api + "/onboarding/tokens",
                                   {"sensor_name": "deploy test"}, auth)
    if not check("onboarding token through nginx", status == 201, (status, raw[:200])):
        return
    sensor_id = "deploy-" + uuid.uuid4().hex[:8]
    status, _, raw = cluster.https("POST", api + "/onboarding/register",
                                   {"onboarding_token": json.loads(raw)["token"],
                                    "sensor_id": sensor_id})
    if not check("sensor registers through nginx", status == 201, (status, raw[:300])):
        return
    reg = json.loads(raw)
    check("registration names the TLS broker",
          reg["mqtt_use_tls"] is True and str(reg["mqtt_port"]) == cluster.env["MQTT_PUBLIC_PORT"]
          and reg["mqtt_broker"] == "127.0.0.1", {k: reg.get(k) for k in ("mqtt_broker", "mqtt_port", "mqtt_use_tls")})
    check("registration's API endpoint is nginx's public URL",
          reg["api_endpoint"].startswith(cluster.env["PUBLIC_API_URL"]), reg["api_endpoint"])

    # Live feed: one client on each instance directly, one through nginx (wss).
    clients = {}
    for i in (1, 2):
        clients[f"honeyman{i}"] = websocket.create_connection(
            f"ws://127.0.0.1:{cluster.env[f'HONEYMAN{i}_PORT']}{api}/ws?token={token}", timeout=10)
    clients["nginx (wss)"] = websocket.create_connection(
        f"wss://127.0.0.1:{cluster.https_port}{api}/ws?token={token}", timeout=10,
        sslopt={"ca_certs": cluster.ca})
    for name, ws in clients.items():
        welcome = json.loads(ws.recv())
        check(f"WebSocket welcome from {name}", welcome.get("type") == "welcome", welcome)

    received_before = [cluster.metric(i, "honeyman_mqtt_messages_received_total") for i in (1, 2)]
    threat = json.load(open(os.path.join(REPO, "tests", "wire", "canonical-threat.json")))
    threat["sensor_id"] = sensor_id
    threat["timestamp"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pub = subprocess.run(
        ["mosquitto_pub", "-h", reg["mqtt_broker"], "-p", str(reg["mqtt_port"]),
         "--cafile", cluster.ca, "-u", reg["mqtt_username"], "-P", reg["mqtt_password"],
         "-i", sensor_id, "-q", "1", "-t", reg["mqtt_topics"]["threats"],
         "-m", json.dumps(threat)], capture_output=True, text=True, timeout=20)
    check("the sensor publishes over MQTT TLS with its registered credentials",
          pub.returncode == 0, pub.stderr.strip())
    check("the threats topic is the sensor's",
          reg["mqtt_topics"]["threats"] == f"honeyman/sensors/{sensor_id}/threats",
          reg["mqtt_topics"])
    deadline = time.monotonic() + 10
    for name, ws in clients.items():
        message = receive_threat(ws, sensor_id, deadline)
        check(f"the threat arrives on the WebSocket of {name}", message is not None)
        ws.close()
    received = [cluster.metric(i, "honeyman_mqtt_messages_received_total") - received_before[i - 1]
                for i in (1, 2)]
    # The shared subscription gave the message to one instance; the other instance's client
    # can only have it through Redis.
    check("exactly one instance ingested the threat (shared subscription)",
          sorted(received) == [0, 1], received)

    # --- nginx: body limit. Over 1 MiB: nginx answers 413 itself (its HTML page, not the
    # server's JSON). Exactly 1 MiB: passes nginx, the server answers (here 401: no credential).
    big = b"x" * (1048576 + 1)
    status, headers, raw = cluster.https("POST", api + "/threats", big,
                                         {"Content-Type": "application/json"})
    check("a body of 1 MiB + 1 byte is refused with 413 by nginx",
          status == 413 and "text/html" in headers.get("Content-Type", "")
          and b"nginx" in raw, (status, headers.get("Content-Type"), raw[:100]))
    status, headers, raw = cluster.https("POST", api + "/threats", b"x" * 1048576,
                                         {"Content-Type": "application/json"})
    check("a body of exactly 1 MiB reaches the server (its JSON answer, not 413)",
          status != 413 and "application/json" in headers.get("Content-Type", ""),
          (status, raw[:100]))

    # --- X-Forwarded-For: the test connects from 127.0.0.5 (nginx itself is 127.0.0.1, the
    # trusted proxy) and claims another address in its own header, which nginx must drop.
    status, headers, _ = cluster.https("GET", api + "/auth/me", headers={
        **auth, "X-Forwarded-For": "198.51.100.7", "X-Request-Id": "client-chosen-id"},
        source="127.0.0.5")
    request_id = headers.get("X-Request-Id", "")
    check("the server keeps nginx's request id (a trusted proxy's)",
          status == 200 and re.fullmatch(r"[0-9a-f]{32}", request_id), (status, request_id))
    line = None
    deadline = time.monotonic() + 3
    while line is None and time.monotonic() < deadline and request_id:
        for name in ("honeyman1.log", "honeyman2.log"):
            for candidate in cluster.log(name).splitlines():
                if f"request_id={request_id} " in candidate:
                    line = candidate
        time.sleep(0.05)
    check("the server logs the real client address (127.0.0.5) from X-Forwarded-For",
          line is not None and line.endswith("client=127.0.0.5"), line)
    nginx_log = cluster.log("nginx-access.log")
    check("nginx logs the same client", "127.0.0.5 - " in nginx_log)

    # --- keep-alive: sequential requests through nginx leave idle upstream connections open,
    # and the next requests reuse them (without keep-alive every request would open and close
    # one, leaving none established).
    ports = {int(cluster.env["HONEYMAN1_PORT"]), int(cluster.env["HONEYMAN2_PORT"])}
    for _ in range(12):
        cluster.https("GET", api + "/health")
    first = upstream_connections(ports)
    for _ in range(12):
        cluster.https("GET", api + "/health")
    second = upstream_connections(ports)
    check("nginx keeps idle connections to the instances", len(first) >= 1, first)
    check("and reuses them for later requests",
          first & second and len(first | second) <= 8, (first, second))


def main():
    if os.environ.get("HONEYMAN_DEPLOY_SKIP_COMPOSE") != "1":
        compose_checks()
    cluster = Cluster()
    try:
        if check("deploy/local-cluster start", cluster.ok, cluster.output[-2000:]):
            print(f"       (started in {cluster.start_seconds:.1f} s)")
            cluster_checks(cluster)
    except Exception as e:  # an unexpected error is a failure with its reason, then the cleanup
        import traceback
        traceback.print_exc()
        check("no unexpected error", False, repr(e))
    finally:
        stop = cluster.stop()
        check("deploy/local-cluster stop", stop.returncode == 0, stop.stdout + stop.stderr)
        check("stop deleted the state directory", not os.path.exists(cluster.dir))
    failed = sum(1 for _, ok in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed ({time.monotonic() - started:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
