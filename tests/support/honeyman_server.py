"""The Python test scripts' way to run the server under test: `honeyman serve` on a throwaway
SQLite store on loopback, with one admin user, stopped on exit. Standard library only."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request


def http(method, url, headers=None, body=None):
    """(status, content type, body bytes); error statuses are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


class Server:
    ADMIN, PASSWORD = "test-admin", "test-admin-password-1"

    def __init__(self, binary, extra_env=None):
        self.work = tempfile.mkdtemp(prefix="honeyman-pytest-")
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{self.work}/db.sqlite",
                   SECRET_KEY="x" * 48, HOST="127.0.0.1", PORT="0", ENVIRONMENT="development",
                   RATE_LIMIT_ENABLED="false", LOG_LEVEL="info")
        for key in ("REDIS_URL", "MQTT_BROKER_HOST"):
            env.pop(key, None)
        env.update(extra_env or {})
        subprocess.run([binary, "user", "add", self.ADMIN, "--role", "admin", "--password-stdin"],
                       input=(self.PASSWORD + "\n").encode(), env=env, check=True,
                       capture_output=True)
        self.log_path = os.path.join(self.work, "server.log")
        self.process = subprocess.Popen([binary, "serve"], env=env,
                                        stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        self.base = None
        deadline = time.time() + 20
        while time.time() < deadline and self.base is None and self.process.poll() is None:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.log())
            if m:
                self.base = m.group(1)
            time.sleep(0.05)
        if self.base is None:
            self.stop()
            raise RuntimeError("the server did not start:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def login(self):
        status, _, raw = http("POST", self.base + "/api/v2/auth/login",
                              body={"username": self.ADMIN, "password": self.PASSWORD})
        if status != 200:
            raise RuntimeError(f"login answered {status}: {raw[:200]!r}")
        return json.loads(raw)["token"]["access_token"]

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
