#!/usr/bin/python3
"""The web console end to end, in Debian's chromium (chromedriver), against the real binary with
a real Mosquitto, seeded threats, and sensors that publish over MQTT with their own accounts:
log in through the form; a threat published over MQTT appears in the live feed and on the map
within a second; acknowledge it with a note (history shows it); filter and page the threats
table with the state in the URL; onboard a sensor through the wizard and watch it come online;
the access token is refreshed silently; a rule fires an alert that arrives live on the alerts
page and is acknowledged there; an admin sends a sensor a command; a viewer sees no triage
controls, no acknowledge button and no admin pages;
no page breaks the Content-Security-Policy. A screenshot of every page goes to <screenshot dir>.

console_test.py <honeyman binary> <screenshot dir>
Ends with `N passed, M failed`.
"""
import json
import os
import sys
import time
import urllib.request
import uuid

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_env import PASSWORDS, ConsoleEnv, agent_heartbeat, agent_threat, browser  # noqa: E402

binary, shots = sys.argv[1], sys.argv[2]
os.makedirs(shots, exist_ok=True)
results = []
saved = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(("ok     " if ok else "FAILED ") + name + (f": {detail}" if detail and not ok else ""), flush=True)
    return ok


def shot(driver, name):
    path = os.path.join(shots, f"console-{name}.png")
    driver.save_screenshot(path)
    saved.append(path)


def testid(driver, name, many=False):
    selector = f'[data-testid="{name}"]'
    return driver.find_elements(By.CSS_SELECTOR, selector) if many else driver.find_element(By.CSS_SELECTOR, selector)


def wait_for(driver, what, timeout=10):
    try:
        # Elements the page re-renders meanwhile are looked up again on the next poll.
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)).until(what)
    except TimeoutException:
        return None


def console_problems(driver):
    """CSP refusals, failed loads and script errors in the browser's console."""
    bad = []
    for entry in driver.get_log("browser"):
        text = entry.get("message", "")
        if "favicon.ico" in text:
            continue
        if entry.get("level") == "SEVERE" or "Content Security Policy" in text or "Refused" in text:
            bad.append(text[:300])
    return bad


def login(driver, env, user):
    driver.get(env.base + "/")
    form = wait_for(driver, lambda d: d.find_elements(By.NAME, "username"))
    if not form:
        return False
    driver.find_element(By.NAME, "username").send_keys(user)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[user] + Keys.ENTER)
    return wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "nav.sidebar"), 15)


def logout(driver):
    for b in driver.find_elements(By.CSS_SELECTOR, ".topbar button"):
        if b.text.strip() == "Log out":
            b.click()
            break
    wait_for(driver, lambda d: d.find_elements(By.NAME, "username"))


# Times when something matching appeared in the page, recorded by the page itself (a
# MutationObserver), so the latency does not include the test's polling.
WATCH = """
const [key, selector, text] = arguments;
window.__seen = window.__seen || {};
window.__seen[key] = null;
const look = () => {
  if (window.__seen[key] !== null) return;
  for (const el of document.querySelectorAll(selector))
    if (!text || el.textContent.includes(text)) { window.__seen[key] = Date.now(); return; }
};
new MutationObserver(look).observe(document.body, {subtree: true, childList: true, characterData: true});
look();
"""


def seen_after(driver, key, since_ms, timeout=5):
    at = wait_for(driver, lambda d: d.execute_script("return (window.__seen || {})[arguments[0]]", key), timeout)
    return None if at is None else at - since_ms


env = ConsoleEnv(binary)
driver = None
try:
    admin_token = env.token()
    # A sensor in Lisbon, onboarded through the API as the agent does, publishing over MQTT.
    lisbon = env.onboard("e2e-lisbon-01", 38.72, -9.14)
    env.publish(lisbon, "heartbeat", agent_heartbeat())

    driver = browser()
    with urllib.request.urlopen(env.base + "/", timeout=10) as page:
        csp = page.headers.get_all("Content-Security-Policy") or []
        html = page.read().decode()
    check("the console is served at / with its Content-Security-Policy",
          'name="honeyman-api-prefix"' in html and len(csp) == 1 and "script-src 'self'" in csp[0]
          and "unsafe" not in csp[0], csp)
    check("log in through the form", login(driver, env, "admin"))

    # --- Overview
    ready = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="overview"][data-ready="true"]'), 15)
    check("overview: every panel loaded", ready)
    total = testid(driver, "kpi-total-threats").text if ready else ""
    check("overview: the total threats card shows the stored count (3,000 seeded)", "3,0" in total, total)
    check("overview: the trends chart is drawn", driver.find_elements(By.CSS_SELECTOR, '[data-testid="trend-chart"] rect'))
    shot(driver, "overview")

    # --- Live feed: a threat published over MQTT appears within a second
    driver.get(env.base + "/live")
    # The page (loaded on first visit) listens from when it is drawn: wait for it and the feed.
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="live-page"]'))
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="live-state"][data-state="open"]'))
    device = f"e2e-duck-{uuid.uuid4().hex[:8]}"
    driver.execute_script(WATCH, "live", '[data-testid="live-row"]', device)
    sent = time.time() * 1000
    env.publish(lisbon, "threats", agent_threat("e2e-lisbon-01", device))
    latency = seen_after(driver, "live", sent)
    check("live feed: a threat published over MQTT appears within 1 s", latency is not None and latency <= 1000,
          f"latency {latency} ms")
    print(f"       live feed latency (MQTT publish -> row on screen): {latency} ms")
    stored = [t for t in env.api("GET", "/threats?sensor_id=e2e-lisbon-01", token=admin_token)[1]["threats"]
              if t["device_name"] == device]
    threat_id = stored[0]["id"] if stored else None
    check("live feed: the row is the stored threat",
          threat_id and driver.find_elements(By.CSS_SELECTOR, f'[data-testid="live-row"][data-threat-id="{threat_id}"]'))
    shot(driver, "live")

    # Pause holds new rows back; resume shows them.
    testid(driver, "live-pause").click()
    paused_device = f"e2e-paused-{uuid.uuid4().hex[:6]}"
    env.publish(lisbon, "threats", agent_threat("e2e-lisbon-01", paused_device, "flipper_zero", "high", 0.8))
    time.sleep(1.0)
    check("live feed: paused, a new threat is held back",
          paused_device not in testid(driver, "live-feed").text and "1 new" in testid(driver, "live-pause").text,
          testid(driver, "live-pause").text)
    testid(driver, "live-pause").click()
    driver.execute_script(WATCH, "resumed", '[data-testid="live-row"]', f"e2e-{uuid.uuid4().hex}")  # reset
    env.publish(lisbon, "threats", agent_threat("e2e-lisbon-01", paused_device + "-after", "flipper_zero", "high", 0.8))
    check("live feed: resumed, new threats flow again",
          wait_for(driver, lambda d: paused_device + "-after" in testid(d, "live-feed").text, 5))

    # --- Map: the sensor is placed, a pulse within a second, click shows its threats
    driver.get(env.base + "/map")
    marker = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="map-sensor"][data-sensor-id="e2e-lisbon-01"]'), 10)
    check("map: the new sensor is placed by its coordinates", marker)
    check("map: the world is drawn from the bundled atlas", len(driver.find_elements(By.CSS_SELECTOR, "path.map-land")) > 100)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="live-state"][data-state="open"]'))
    driver.execute_script(WATCH, "pulse", '[data-testid="map-pulse"]', "")
    sent = time.time() * 1000
    env.publish(lisbon, "threats", agent_threat("e2e-lisbon-01", f"e2e-map-{uuid.uuid4().hex[:6]}"))
    latency = seen_after(driver, "pulse", sent)
    check("map: a threat published over MQTT pulses within 1 s", latency is not None and latency <= 1000, f"latency {latency} ms")
    print(f"       map latency (MQTT publish -> pulse drawn): {latency} ms")
    if marker:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", marker[0])
        marker[0].send_keys(Keys.ENTER)
        panel = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="map-sensor-panel"]'), 5)
        check("map: choosing the sensor lists its threats", panel and wait_for(
            driver, lambda d: f"threat={threat_id}" in testid(d, "map-sensor-panel").get_attribute("innerHTML"), 5))
        check("map: the chosen sensor is in the URL", "sensor=e2e-lisbon-01" in driver.current_url, driver.current_url)
    time.sleep(0.3)
    shot(driver, "map")

    # --- Threat detail: acknowledge with a note
    driver.get(f"{env.base}/threats?threat={threat_id}")
    detail = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-detail"]'), 10)
    check("threats: the detail panel opens from a deep link", detail and wait_for(driver, lambda d: device in testid(d, "threat-detail").text, 5))
    ack = driver.find_elements(By.CSS_SELECTOR, '[data-testid="ack-button"]')
    if check("threats: an admin sees Acknowledge", ack):
        ack[0].click()
        notes = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="ack-notes"]'), 5)
        notes[0].send_keys("seen on the e2e bench")
        testid(driver, "ack-submit").click()
        status = None
        for _ in range(50):
            code, answer = env.api("GET", f"/threats/{threat_id}", token=admin_token)
            status = answer.get("status") if code == 200 else code
            if status == "acknowledged":
                break
            time.sleep(0.1)
        check("threats: acknowledging stores status acknowledged", status == "acknowledged", status)
        check("threats: the history shows the acknowledgement and its note",
              wait_for(driver, lambda d: "seen on the e2e bench" in testid(d, "history").text, 5))
    shot(driver, "threat-detail")

    # --- Table: filter by severity, keyset paging, the state in the URL
    driver.get(env.base + "/threats")
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-row"]')) >= 50, 10)
    group = testid(driver, "filter-severity")
    [b for b in group.find_elements(By.TAG_NAME, "button") if "critical" in b.text.lower()][0].click()
    wait_for(driver, lambda d: "severity=critical" in d.current_url, 5)
    time.sleep(0.5)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-row"]'), 5)

    def severities():
        return {r.find_element(By.CSS_SELECTOR, ".sev").text.strip().lower() for r in testid(driver, "threat-row", many=True)}

    check("threats: the severity filter is in the URL and every row is critical",
          "severity=critical" in driver.current_url and severities() == {"critical"}, f"{driver.current_url} {severities()}")
    first_ids = [r.get_attribute("data-threat-id") for r in testid(driver, "threat-row", many=True)]
    testid(driver, "next-page").click()
    wait_for(driver, lambda d: "cursor=" in d.current_url, 5)
    time.sleep(0.5)
    second_ids = [r.get_attribute("data-threat-id") for r in testid(driver, "threat-row", many=True)]
    check("threats: the next page (keyset cursor in the URL) shows other critical threats",
          "cursor=" in driver.current_url and second_ids and not set(first_ids) & set(second_ids) and severities() == {"critical"},
          f"{len(first_ids)} then {len(second_ids)} rows")
    shot(driver, "threats-filtered")
    driver.back()
    wait_for(driver, lambda d: "cursor=" not in d.current_url, 5)
    time.sleep(0.5)
    check("threats: Back returns to the first page",
          [r.get_attribute("data-threat-id") for r in testid(driver, "threat-row", many=True)] == first_ids)
    # A link pasted elsewhere opens the same view.
    link = driver.current_url
    driver.get(link)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-row"]'), 10)
    time.sleep(0.3)
    check("threats: the same URL opens the same view",
          [r.get_attribute("data-threat-id") for r in testid(driver, "threat-row", many=True)] == first_ids)

    # --- Onboarding wizard: token, QR code, the sensor registers and comes online
    driver.get(env.base + "/sensors/onboard")
    name = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="onboard-name"]'), 10)
    name[0].send_keys("e2e-porto-02")
    shot(driver, "onboard-1-form")
    testid(driver, "onboard-submit").click()
    qr = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="onboard-qr"]'), 10)
    check("wizard: the QR code image loads", qr and wait_for(driver, lambda d: d.execute_script(
        "return arguments[0].complete && arguments[0].naturalWidth > 0", testid(d, "onboard-qr")), 5))
    token = testid(driver, "onboard-token").text.strip() if qr else ""
    check("wizard: shows the one-time token", len(token) >= 20, token)
    check("wizard: waits for the sensor", "Waiting" in testid(driver, "onboard-state").text)
    shot(driver, "onboard-2-token")
    porto = env.register(token, "e2e-porto-02", 41.15, -8.61)
    check("wizard: sees the sensor register", wait_for(driver, lambda d: "Registered" in testid(d, "onboard-state").text
                                                       or "Online" in testid(d, "onboard-state").text, 15))
    env.publish(porto, "heartbeat", agent_heartbeat())
    check("wizard: sees the sensor come online", wait_for(driver, lambda d: "Online" in testid(d, "onboard-state").text, 15),
          testid(driver, "onboard-state").text)
    shot(driver, "onboard-3-online")

    # --- Sensors, a sensor's page, users, audit log: admin pages render
    driver.get(env.base + "/sensors")
    rows = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="sensor-row"][data-sensor-id="e2e-porto-02"]'), 10)
    online = wait_for(driver, lambda d: "Online" in d.find_element(
        By.CSS_SELECTOR, '[data-testid="sensor-row"][data-sensor-id="e2e-porto-02"] [data-testid="sensor-online"]').text, 5)
    check("sensors: the new sensor is listed online", rows and online, rows[0].text if rows else "")
    shot(driver, "sensors")
    driver.get(env.base + "/sensors/e2e-lisbon-01")
    check("sensor page: stats and admin controls", wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="sensor-detail"]'), 10)
          and driver.find_elements(By.CSS_SELECTOR, '[data-testid="sensor-edit"]'))
    # A command goes out over MQTT and is listed in the history as sent.
    name_box = wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="command-name"]'), 10)
    if check("sensor page: an admin can send a command", name_box):
        name_box[0].send_keys("restart_detector")
        testid(driver, "command-args").send_keys('{"detector": "usb"}')
        testid(driver, "command-submit").click()
        check("sensor page: the command is sent and listed with its arguments",
              wait_for(driver, lambda d: "restart_detector" in testid(d, "command-history").text
                       and '"detector":"usb"' in testid(d, "command-history").text, 10)
              and driver.find_elements(By.CSS_SELECTOR, '[data-testid="command-sent"]'),
              driver.find_element(By.CSS_SELECTOR, "main").text[-400:])
    time.sleep(0.5)
    shot(driver, "sensor-detail")
    driver.get(env.base + "/users")
    check("users: lists every user", wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, '[data-testid="user-row"]')) >= 3, 10))
    shot(driver, "users")
    driver.get(env.base + "/audit")
    check("audit log: shows the acknowledgement", wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="audit-row"]'), 10)
          and wait_for(driver, lambda d: "acknowledge" in testid(d, "audit-table").text.lower() or "update" in testid(d, "audit-table").text.lower(), 5))
    shot(driver, "audit")

    # --- Alerts: a rule without destinations fires on a matching threat; the alert arrives live
    # on the alerts page, the navigation counts it, and acknowledging it is stored.
    rule_name = f"e2e critical in Lisbon {uuid.uuid4().hex[:6]}"
    code, rule = env.api("POST", "/alerts/rules", {"name": rule_name, "destination_ids": [],
                                                     "match": {"min_severity": "critical", "sensor_ids": ["e2e-lisbon-01"]}},
                         token=admin_token)
    check("alerts: a rule without destinations is created through the API", code == 201, (code, rule))
    driver.get(env.base + "/alerts")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="alerts-table"], .empty'), 10)
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="live-state"][data-state="open"]'))
    badge_before = "".join(b.text for b in testid(driver, "alert-badge", many=True))
    alert_device = f"e2e-alert-{uuid.uuid4().hex[:6]}"
    env.publish(lisbon, "threats", agent_threat("e2e-lisbon-01", alert_device))

    def alert_row(d):
        return [r for r in testid(d, "alert-row", many=True) if alert_device in r.text]

    row = wait_for(driver, alert_row, 10)
    text = row[0].text if row else ""
    check("alerts: the fired alert appears live with its rule, sensor, severity and threat",
          row and rule_name in text and "e2e-lisbon-01" in text and "critical" in text.lower() and "rubber ducky" in text.lower(), text)
    check("alerts: the navigation counts it as unacknowledged",
          wait_for(driver, lambda d: testid(d, "alert-badge").text.split()[0] not in ("", badge_before.split(" ")[0]), 5),
          f"before {badge_before!r}")
    shot(driver, "alerts")
    if row:
        alert_id = row[0].get_attribute("data-alert-id")
        row[0].find_element(By.CSS_SELECTOR, '[data-testid="alert-ack"]').click()
        check("alerts: acknowledged in the page", wait_for(driver, lambda d: d.find_elements(
            By.CSS_SELECTOR, f'[data-testid="alert-row"][data-alert-id="{alert_id}"][data-status="acknowledged"]'), 5))
        stored = env.api("GET", "/alerts?status=acknowledged", token=admin_token)[1]["alerts"]
        check("alerts: the acknowledgement is stored, by admin",
              any(a["id"] == alert_id and a["acknowledged_by"] == "admin" for a in stored))
    testid(driver, "alerts-tab-rules").click()
    check("alerts: the admin's Rules tab lists the rule", wait_for(
        driver, lambda d: any(rule_name in r.text for r in testid(d, "rule-row", many=True)), 10))
    shot(driver, "alerts-rules")
    # The browser logs the refused request below as an error: it is the point here, the rest is not.
    earlier_problems = console_problems(driver)
    testid(driver, "rule-add").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="rule-dialog"]'), 5)
    testid(driver, "rule-name").send_keys("e2e refused")
    testid(driver, "rule-sensors").send_keys("e2e-lisbon-01, not a sensor id!")
    testid(driver, "rule-submit").click()
    check("alerts: the API's 422 is shown next to the field it is about",
          wait_for(driver, lambda d: "sensor id (value 2)" in d.find_element(
              By.CSS_SELECTOR, '[data-testid="rule-dialog"] [data-testid="rule-sensors"] + .field-error').text, 5))
    shot(driver, "alerts-rule-dialog")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    earlier_problems += [p for p in console_problems(driver) if not ("/alerts/rules" in p and "422" in p)]

    # --- Silent refresh: an access token about to expire is replaced without a trip to the login
    before = json.loads(driver.execute_script("return localStorage.getItem('honeyman.session')"))
    before["expires_at"] = int(time.time() * 1000) + 1000
    driver.execute_script("localStorage.setItem('honeyman.session', arguments[0])", json.dumps(before))
    driver.get(env.base + "/threats")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-row"]'), 10)
    after = json.loads(driver.execute_script("return localStorage.getItem('honeyman.session')") or "null")
    check("session: an expiring access token is refreshed silently (rotation: a new refresh token)",
          after and after["refresh_token"] != before["refresh_token"] and not driver.find_elements(By.NAME, "username"))

    problems = earlier_problems + console_problems(driver)
    check("no CSP refusal, failed load or script error on any admin page", not problems, "; ".join(problems)[:900])

    # --- Light theme and a tablet
    driver.execute_script("localStorage.setItem('honeyman.theme', 'light')")
    driver.get(env.base + "/")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="overview"][data-ready="true"]'), 15)
    shot(driver, "overview-light")
    driver.get(env.base + "/alerts?tab=destinations")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="destinations-section"] .empty, [data-testid="destinations-table"]'), 10)
    testid(driver, "destination-add").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="destination-dialog"]'), 5)
    shot(driver, "alerts-destination-light")
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    driver.set_window_size(900, 1200)
    driver.get(env.base + "/threats")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-row"]'), 10)
    shot(driver, "threats-tablet-light")
    driver.execute_script("localStorage.setItem('honeyman.theme', 'dark')")
    driver.set_window_size(1400, 950)
    logout(driver)
    check("logout returns to the login form", driver.find_elements(By.NAME, "username"))
    shot(driver, "login")

    # --- A viewer: no triage controls, no admin pages
    login(driver, env, "viewer1")
    driver.get(f"{env.base}/threats?threat={threat_id}")
    wait_for(driver, lambda d: device in testid(d, "threat-detail").text if d.find_elements(By.CSS_SELECTOR, '[data-testid="threat-detail"]') else False, 10)
    check("viewer: the threat opens", device in testid(driver, "threat-detail").text)
    check("viewer: no acknowledge, status or delete controls",
          not driver.find_elements(By.CSS_SELECTOR, '[data-testid="ack-button"], [data-testid="status-select"], [data-testid="delete-button"], [data-testid="export-csv"]'))
    nav = driver.find_element(By.CSS_SELECTOR, "nav.sidebar").text
    check("viewer: no Users or Audit log in the navigation", "Users" not in nav and "Audit" not in nav, nav)
    shot(driver, "viewer-threat")
    driver.get(env.base + "/alerts")
    check("viewer: the alerts page lists the fired alert",
          wait_for(driver, lambda d: any(alert_device in r.text for r in testid(d, "alert-row", many=True)), 10))
    check("viewer: no acknowledge button and no admin tabs on the alerts page",
          not driver.find_elements(By.CSS_SELECTOR, '[data-testid="alert-ack"], [data-testid="alerts-tabs"]'))
    shot(driver, "alerts-viewer")
    driver.get(env.base + "/users")
    check("viewer: /users says admins only", wait_for(driver, lambda d: "Admins only" in d.find_element(By.TAG_NAME, "main").text, 5))
    problems = console_problems(driver)
    check("no CSP refusal, failed load or script error as a viewer", not problems, "; ".join(problems)[:900])
except Exception as error:  # a broken step fails the run with its reason, then the summary
    check("the scenario ran to the end", False, f"{type(error).__name__}: {error}")
    if driver:
        shot(driver, "failure")
    print(env.log()[-3000:])
finally:
    if driver:
        driver.quit()
    env.stop()

failed = sum(1 for _, ok in results if not ok)
print("screenshots:", " ".join(saved))
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
