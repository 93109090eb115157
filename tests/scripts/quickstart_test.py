"""The README's first command, as a newcomer runs it: `scripts/quickstart` on a fresh data
directory builds (nothing left to build here: scripts/test built build/release first), creates the
data directory, starts Mosquitto and the server listening on every interface, prints the binary's
path, the admin password and the URL sensors use; Ctrl-C stops both. Traffic goes to loopback
only. Standard library only."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening_on_any(port):
    """Whether a socket listens on 0.0.0.0:port (IPv4, /proc/net/tcp state 0A)."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and local == f"00000000:{port:04X}":
                return True
    return False


def main():
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    data = tempfile.mkdtemp(prefix="honeyman-quickstart-")
    api_port, mqtt_port = free_port(), free_port()
    env = dict(os.environ, DATA_DIR=data + "/data", PORT=str(api_port), MQTT_PORT=str(mqtt_port))
    for key in ("DATABASE_URL", "SECRET_KEY", "ENVIRONMENT", "HOST", "MQTT_BROKER_HOST"):
        env.pop(key, None)
    log_path = os.path.join(data, "quickstart.log")
    log = open(log_path, "w")
    proc = subprocess.Popen([os.path.join(ROOT, "scripts/quickstart")], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        text = ""
        while time.time() < deadline and "listening on" not in text and proc.poll() is None:
            time.sleep(0.2)
            text = open(log_path).read()
        check("listening on" in text, "the server did not start")
        check("build/release/src/app/honeyman" in text, "the binary's path is not printed")
        url = re.search(r"sensors onboard at (http://[0-9.]+:\d+)", text)
        check(url is not None, "the URL sensors use is not printed")
        check(re.search(r"publish to [0-9.]+:%d over MQTT" % mqtt_port, text) is not None,
              "the broker address sensors use is not printed")
        password = re.search(r"password \(shown once\): (\S+)", text)
        check(password is not None, "the admin password is not printed")
        settings = open(os.path.join(data, "data/.env")).read()
        check("HOST=0.0.0.0" in settings, ".env does not listen on every interface")
        check(url is not None and f"PUBLIC_API_URL={url.group(1)}" in settings,
              "PUBLIC_API_URL is not the printed URL")
        check("MQTT_PUBLIC_HOST=" in settings, "MQTT_PUBLIC_HOST is not set")
        check(listening_on_any(api_port), "the API does not listen on 0.0.0.0")
        check(listening_on_any(mqtt_port), "Mosquitto does not listen on 0.0.0.0")
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/health", timeout=10) as r:
            check(r.status == 200, "/health")
        if password:
            body = json.dumps({"username": "admin", "password": password.group(1)}).encode()
            req = urllib.request.Request(f"http://127.0.0.1:{api_port}/api/v2/auth/login",
                                         data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                check(r.status == 200, "login with the printed password")
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            failures.append("quickstart did not stop on Ctrl-C")
    time.sleep(0.5)
    check(not listening_on_any(api_port), "the server still listens after Ctrl-C")
    check(not listening_on_any(mqtt_port), "Mosquitto still listens after Ctrl-C")
    for f in failures:
        print("FAIL", f)
    if failures:
        print(open(log_path).read())
    else:
        subprocess.run(["rm", "-rf", data])
    print(f"quickstart: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
