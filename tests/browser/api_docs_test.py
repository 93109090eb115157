#!/usr/bin/python3
"""The API documentation in a real browser (Debian's chromium through chromedriver), as a new
user meets it: Swagger UI at /api/v2/docs loads with no internet and no CSP violation, Authorize
takes a bearer token, and "Try it out" calls routes (GET and a POST with a body) and shows their
answers; ReDoc at /api/v2/redoc renders the reference. Screenshots go to <screenshot dir>.

api_docs_test.py <honeyman binary> <screenshot dir>
Ends with `N passed, M failed`.
"""
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from honeyman_server import Server  # noqa: E402

binary, shots = sys.argv[1], sys.argv[2]
os.makedirs(shots, exist_ok=True)
results = []


def check(name, ok, detail=""):
    results.append((name, ok))
    print(("ok     " if ok else "FAILED ") + name + (f": {detail}" if detail and not ok else ""))


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1100", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


# ReDoc's sidebar footer always tries its logo from Redocly's CDN (hidden when it fails to load);
# the page's policy blocks it, as it should any other origin: expected, and nothing else is.
EXPECTED_REFUSAL = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def console_problems(driver):
    """Console messages that mean a blocked or failed load: CSP refusals, network errors."""
    bad = []
    for entry in driver.get_log("browser"):
        text = entry.get("message", "")
        if EXPECTED_REFUSAL in text and "has been blocked" in text:
            continue
        if entry.get("level") == "SEVERE" or "Content Security Policy" in text or "Refused" in text:
            bad.append(text)
    return bad


def try_out(driver, wait, operation_id, expect_status, body=None):
    """Opens an operation, presses Try it out (and fills the body), Execute; the status shown."""
    block = driver.find_element(By.ID, operation_id)
    driver.execute_script("arguments[0].scrollIntoView()", block)
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(lambda d: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"))
    block.find_element(By.CSS_SELECTOR, ".try-out__btn").click()
    if body is not None:
        area = wait.until(lambda d: block.find_element(By.CSS_SELECTOR, "textarea.body-param__text"))
        area.clear()
        area.send_keys(body)
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    cell = wait.until(lambda d: block.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response .response-col_status"))
    status = cell.text.strip().split()[0]
    text = block.find_element(By.CSS_SELECTOR, ".live-responses-table .response").text
    check(f"Try it out {operation_id} -> {expect_status}", status == str(expect_status),
          f"status {status}: {text[:300]}")
    return text


with Server(binary) as server:
    token = server.login()
    driver = browser()
    try:
        wait = WebDriverWait(driver, 30)
        # --- Swagger UI
        driver.get(server.base + "/api/v2/docs")
        title = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title")))
        check("Swagger UI shows the document's title", "Honeyman API" in title.text, title.text)
        operations = driver.find_elements(By.CSS_SELECTOR, ".opblock")
        check("Swagger UI lists every operation", len(operations) >= 30, f"{len(operations)} operations")

        driver.find_element(By.CSS_SELECTOR, ".btn.authorize").click()
        modal = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
        for container in modal.find_elements(By.CSS_SELECTOR, ".auth-container"):
            if "bearerAuth" in container.text:
                container.find_element(By.CSS_SELECTOR, "input").send_keys(token)
                container.find_element(By.CSS_SELECTOR, "button.authorize").click()
                break
        else:
            check("Authorize offers bearerAuth", False, modal.text[:300])
        wait.until(lambda d: "Logout" in modal.text)
        check("Authorize accepts the bearer token", "Logout" in modal.text)
        modal.find_element(By.CSS_SELECTOR, "button.btn-done").click()

        me = try_out(driver, wait, "operations-Auth-get_api_v2_auth_me", 200)
        check("GET /auth/me shows the caller", server.ADMIN in me, me[:300])
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(os.path.join(shots, "swagger-ui-top.png"))
        try_out(driver, wait, "operations-Sensors-get_api_v2_sensors", 200)
        minted = try_out(driver, wait, "operations-Onboarding-post_api_v2_onboarding_tokens", 201,
                         body='{"sensor_name": "From the browser", "validity_hours": 2}')
        check("POST /onboarding/tokens answers the token", "qr_code_url" in minted, minted[:300])
        driver.save_screenshot(os.path.join(shots, "swagger-ui.png"))
        problems = console_problems(driver)
        check("Swagger UI: no CSP refusal or failed load", not problems, "; ".join(problems)[:600])

        # --- ReDoc
        driver.get(server.base + "/api/v2/redoc")
        heading = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "h1")))
        wait.until(lambda d: "Honeyman API" in d.find_element(By.CSS_SELECTOR, "h1").text)
        check("ReDoc shows the document's title", "Honeyman API" in heading.text, heading.text)
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "[role=menuitem], li[data-item-id]")) > 20)
        items = driver.find_elements(By.CSS_SELECTOR, "li[data-item-id]")
        check("ReDoc lists the operations", len(items) > 30, f"{len(items)} menu items")
        check("ReDoc shows the MQTT appendix", "honeyman/sensors/" in driver.page_source)
        time.sleep(1)  # the search worker starts after the first render
        driver.save_screenshot(os.path.join(shots, "redoc.png"))
        problems = console_problems(driver)
        check("ReDoc: no CSP refusal or failed load", not problems, "; ".join(problems)[:600])
    finally:
        driver.quit()

failed = sum(1 for _, ok in results if not ok)
print(f"screenshots: {shots}/swagger-ui.png, {shots}/redoc.png")
print(f"{len(results) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
