#!/usr/bin/python3
"""A development aid: logs in to a running console and saves a screenshot of a page.

screenshot.py <base url> <path and query> <out.png> [--user admin --password ... --wait 2
               --width 1400 --height 900 --theme dark|light]
Example: web/scripts/screenshot.py http://127.0.0.1:5173 '/threats?severity=high' /tmp/t.png
"""
import argparse
import json
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

p = argparse.ArgumentParser()
p.add_argument("base")
p.add_argument("path")
p.add_argument("out")
p.add_argument("--user", default="admin")
p.add_argument("--password", default="console-admin-1")
p.add_argument("--api", default="http://127.0.0.1:8000/api/v2")
p.add_argument("--wait", type=float, default=2.0)
p.add_argument("--width", type=int, default=1400)
p.add_argument("--height", type=int, default=900)
p.add_argument("--theme", default="dark")
a = p.parse_args()

req = urllib.request.Request(a.api + "/auth/login", data=json.dumps({"username": a.user, "password": a.password}).encode(),
                             headers={"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(req))
session = {"user": answer["user"], "access_token": answer["token"]["access_token"],
           "refresh_token": answer["token"]["refresh_token"],
           "expires_at": int(time.time() * 1000) + answer["token"]["expires_in"] * 1000}

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", f"--window-size={a.width},{a.height}",
            "--no-first-run", "--disable-extensions", "--disable-background-networking", "--disable-component-update"):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
try:
    driver.get(a.base + "/favicon.svg")
    driver.execute_script("localStorage.setItem('honeyman.session', arguments[0]); localStorage.setItem('honeyman.theme', arguments[1]);",
                          json.dumps(session), a.theme)
    driver.get(a.base + a.path)
    time.sleep(a.wait)
    driver.save_screenshot(a.out)
    for entry in driver.get_log("browser"):
        print("console:", entry.get("level"), entry.get("message", "")[:300])
finally:
    driver.quit()
print("saved", a.out)
