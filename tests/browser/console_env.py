"""The web console's end-to-end environment: a data directory made by `honeyman init`, a private
Mosquitto (scripts/mosquitto-local), users of each role, seeded threats, and `honeyman serve`
with MQTT ingest on and the built console (web/dist) at /; Debian's chromium through
chromedriver. Sensors are onboarded through the API as the field agent does, and publish over
MQTT with their own credentials (mosquitto_pub). Standard library + python3-selenium only."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PASSWORDS = {"admin": "e2e-admin-password-1", "analyst1": "e2e-analyst-password-1",
             "viewer1": "e2e-viewer-password-1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, token=None, headers=None):
    """(status, parsed JSON or bytes); error statuses are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            raw, status, ctype = r.read(), r.status, r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        raw, status, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
    return status, (json.loads(raw) if "json" in ctype and raw else raw)


class ConsoleEnv:
    def __init__(self, binary, seed_threats=3000, extra_env=None):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="honeyman-console-e2e-")
        self.data = os.path.join(self.work, "data")
        self.port = free_port()
        self.mqtt_port = free_port()
        self.server = None
        self.mosquitto_started = False
        try:
            self._start(seed_threats, extra_env or {})
        except BaseException:
            self.stop()
            raise

    def cli(self, *args, stdin=None):
        return subprocess.run([self.binary, "--env-file", os.path.join(self.data, ".env"), *args],
                              input=stdin.encode() if stdin else None, capture_output=True,
                              check=True, env=self.env).stdout.decode()

    def _start(self, seed_threats, extra_env):
        subprocess.run([self.binary, "init", "--data-dir", self.data, "--port", str(self.port)],
                       check=True, capture_output=True)
        subprocess.run([os.path.join(REPO, "scripts", "mosquitto-local"), self.data, str(self.mqtt_port)],
                       check=True, capture_output=True)
        self.mosquitto_started = True
        # The console from the source tree's build; a rate limit that one busy browser stays under.
        self.env = dict(os.environ, WEB_DIR=os.path.join(REPO, "web", "dist"), LOG_LEVEL="info",
                        RATE_LIMIT_PER_MINUTE="1200", SENSOR_SWEEP_INTERVAL="1")
        for key in ("REDIS_URL", "DATABASE_URL"):
            self.env.pop(key, None)
        self.env.update(extra_env)
        self.cli("user", "passwd", "admin", "--password-stdin", stdin=PASSWORDS["admin"])
        self.cli("user", "add", "analyst1", "--role", "analyst", "--password-stdin", stdin=PASSWORDS["analyst1"])
        self.cli("user", "add", "viewer1", "--role", "viewer", "--password-stdin", stdin=PASSWORDS["viewer1"])
        if seed_threats:
            self.cli("seed-data", "--sensors", "12", "--threats", str(seed_threats), "--days", "7")
        self.log_path = os.path.join(self.work, "server.log")
        self.server = subprocess.Popen([self.binary, "--env-file", os.path.join(self.data, ".env"), "serve"],
                                       env=self.env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError("the server exited:\n" + self.log())
            try:
                if http("GET", self.base + "/ready")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the server did not become ready:\n" + self.log())

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def api(self, method, path, body=None, token=None):
        return http(method, self.base + "/api/v2" + path, body=body, token=token)

    def token(self, user="admin"):
        status, answer = self.api("POST", "/auth/login", {"username": user, "password": PASSWORDS[user]})
        assert status == 200, (status, answer)
        return answer["token"]["access_token"]

    def register(self, onboarding_token, sensor_id, lat=None, lon=None):
        """POST /onboarding/register as the field agent does; the sensor's MQTT credentials."""
        body = {"onboarding_token": onboarding_token, "sensor_id": sensor_id,
                "capabilities": {"usb": True, "ble": True, "wifi": True},
                "platform": "rpi5", "architecture": "aarch64", "agent_version": "2.0.0",
                "python_version": "3.11.2"}
        if lat is not None:
            body["location"] = {"latitude": lat, "longitude": lon, "city": "Lisbon", "country": "PT"}
        status, answer = self.api("POST", "/onboarding/register", body)
        assert status in (200, 201), (status, answer)
        return answer

    def onboard(self, sensor_id, lat=None, lon=None):
        status, minted = self.api("POST", "/onboarding/tokens", {"sensor_name": sensor_id}, token=self.token())
        assert status in (200, 201), (status, minted)
        return self.register(minted["token"], sensor_id, lat, lon)

    def publish(self, credentials, kind, payload):
        """One QoS 1 message on honeyman/sensors/<id>/<kind> with the sensor's own account and,
        as the broker requires of sensors, its id as the client id."""
        topic = f"honeyman/sensors/{credentials['sensor_id']}/{kind}"
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.mqtt_port), "-q", "1",
                        "-u", credentials["mqtt_username"], "-P", credentials["mqtt_password"],
                        "-i", credentials["sensor_id"], "-t", topic,
                        "-m", json.dumps(payload)], check=True, capture_output=True, timeout=10)

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if self.mosquitto_started:
            subprocess.run([os.path.join(REPO, "scripts", "mosquitto-local"), "--stop", self.data],
                           capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)


def agent_threat(sensor_id, device, threat_type="rubber_ducky", risk="critical", score=0.97):
    """A threat as the field agent publishes it (wire/agent-threat.json's shape)."""
    return {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000100",
            "sensor_id": sensor_id, "sensor_name": sensor_id, "source": "UsbDetector",
            "threat_type": threat_type, "threat_score": score, "risk_level": risk,
            "threats_detected": ["Rubber Ducky HID Injection"],
            "message": f"Rubber Ducky HID Injection on {device}",
            # The agent names the device inside raw_data; the server lifts it to device_name.
            "raw_data": {"vendor_id": "03eb", "product_id": "2401", "device_name": device},
            "metadata": {"detector_version": "2.0.0"}}


def agent_heartbeat():
    return {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000100",
            "status": "online", "metrics": {"cpu_percent": 10.0, "memory_percent": 30.0},
            "detectors": {"usb": {"running": True, "event_count": 1, "threat_count": 0}},
            "uptime": 12.0}


def browser(width=1400, height=950):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
