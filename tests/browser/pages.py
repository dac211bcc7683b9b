#!/usr/bin/python3
"""The pages in a real browser: Debian's chromium, chromium-driver and
python3-selenium, against the web process, the scheduler and smtpsink
that tests/integration/test_web_browser.c started.

  pages.py --url http://127.0.0.1:PORT --spool DIR --shots DIR
           --holidays FILE --school-name NAME

A phone-sized window (360 px wide): sign in by the link the email worker
sent to smtpsink; press "We've had the call"; see the 16:30 deadline and
the time left; open the case and see who recorded the call, and confirm
the deadline is in hand with its button; another
school's page says it is not yours; sign out ends the session. A
screenshot of each step goes to --shots.

Exit 0: all seen; 1: something was not; 77: no browser here (only
outside CI: with CI=true a missing browser is a failure, exit 1).
"""
import argparse
import datetime
import email
import email.policy
import glob
import json
import os
import re
import sys
import time

WIDTH = 360


def missing(what):
    if os.environ.get("CI") == "true":
        print("pages.py: %s is missing, and CI must run the browser test "
              "(scripts/deps installs chromium, chromium-driver and "
              "python3-selenium)" % what, file=sys.stderr)
        sys.exit(1)
    print("pages.py: %s is missing: skipped (scripts/deps installs it)" % what,
          file=sys.stderr)
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.common.exceptions import (NoAlertPresentException,
                                            WebDriverException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    missing("python3-selenium")


def fail(msg):
    print("pages.py: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def next_working_day(holidays_file):
    """The first weekday after tomorrow that is not a bank holiday."""
    with open(holidays_file, encoding="utf-8") as f:
        data = json.load(f)
    off = {e["date"] for e in data["england-and-wales"]["events"]}
    day = datetime.date.today() + datetime.timedelta(days=2)
    while day.weekday() >= 5 or day.isoformat() in off:
        day += datetime.timedelta(days=1)
    return day


def link_from_spool(spool, rcpt, timeout=20):
    """The sign-in link in the newest message to rcpt."""
    until = time.time() + timeout
    while time.time() < until:
        for env in sorted(glob.glob(os.path.join(spool, "*.json"))):
            with open(env, encoding="utf-8") as f:
                rec = json.load(f)
            if rec.get("rcpt_tos") != [rcpt]:
                continue
            with open(env[:-5] + ".eml", "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            body = msg.get_body(preferencelist=("plain",)).get_content()
            m = re.search(r"https?://\S+/signin/ont_[A-Za-z0-9_-]{43}", body)
            if m:
                return m.group(0)
        time.sleep(0.1)
    fail("no sign-in link reached smtpsink for %s" % rcpt)
    return None


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--spool", required=True)
    p.add_argument("--shots", required=True)
    p.add_argument("--holidays", required=True)
    p.add_argument("--school-name", required=True)
    a = p.parse_args()
    for path, name in (("/usr/bin/chromium", "chromium"),
                       ("/usr/bin/chromedriver", "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing(name)
    os.makedirs(a.shots, exist_ok=True)

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--lang=en-GB"):
        opts.add_argument(arg)
    # A phone's viewport (a window cannot be narrower than 500 px).
    opts.add_experimental_option("mobileEmulation", {
        "deviceMetrics": {"width": WIDTH, "height": 780, "pixelRatio": 2}})
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    step = [0]

    def shot(name):
        step[0] += 1
        drv.save_screenshot(os.path.join(a.shots, "%02d-%s.png" % (step[0], name)))

    def waiter(timeout):
        # A form's POST navigates, and a read while the new page loads can
        # fail (a stale element, no execution context): that is a "not yet",
        # and only the timeout is the test's failure.
        return WebDriverWait(drv, timeout,
                             ignored_exceptions=(WebDriverException,))

    def wait_text(css, text, timeout=15):
        try:
            waiter(timeout).until(
                EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))
        except Exception as e:
            shot("failed")
            fail("no %r in %s on %s (%s); the page says: %s" % (
                text, css, drv.current_url, type(e).__name__,
                drv.find_element(By.TAG_NAME, "body").text))

    try:
        def sign_in(rcpt, first):
            """By the email link sent to rcpt."""
            drv.get(a.url + "/signin")
            if first:
                width = drv.execute_script("return window.innerWidth")
                if width != WIDTH:
                    fail("the page is %d px wide, not %d" % (width, WIDTH))
            drv.find_element(By.ID, "email").send_keys(rcpt)
            if first:
                shot("signin")
            drv.find_element(By.CSS_SELECTOR, "#email-form button").click()
            wait_text("#message", "a sign-in link is on its way")
            link = link_from_spool(a.spool, rcpt)
            return link[link.index("/signin/"):]

        path = sign_in("head@oak.sch.uk", True)
        drv.get(a.url + path)
        button = drv.find_element(By.ID, "signin-button")
        if button.text != "Sign in":
            fail("the link's page has no 'Sign in' button")
        shot("link")
        button.click()

        # Only the user's school, its name shown as text.
        wait_text("#status", "One school.")
        cards = drv.find_elements(By.CSS_SELECTOR, "#schools > li")
        if len(cards) != 1:
            fail("a school user sees %d schools" % len(cards))
        name = drv.find_element(By.CSS_SELECTOR, "#schools h2 a").text
        if name != a.school_name:
            fail("the school's name is shown as %r, not as its text %r" % (name, a.school_name))
        try:
            drv.switch_to.alert
            fail("the school's name ran as a script")
        except NoAlertPresentException:
            pass
        shot("home")

        # The call, on a working day at 10:00: the plan, then confirm.
        day = next_working_day(a.holidays)
        drv.find_element(By.CSS_SELECTOR, "#schools h2 a").click()
        wait_text("#status", "No inspection under way")
        drv.execute_script(
            "var i = document.getElementById('call-at'); i.value = arguments[0];"
            "i.dispatchEvent(new Event('input'));", day.isoformat() + "T10:00")
        drv.find_element(By.ID, "call-contact").send_keys("0300 123 4231")
        drv.find_element(By.ID, "call-button").click()
        wait_text("#call-confirm", "Deferral requests close in ")
        confirm = drv.find_element(By.ID, "call-confirm").text
        if ", at 16:30" not in confirm:
            fail("the confirm step shows no 16:30 deadline: %r" % confirm)
        shot("confirm")
        drv.find_element(By.CSS_SELECTOR, "#call-confirm button.go").click()
        wait_text("#call-confirm", "Recorded")
        wait_text("#status", "Inspection under way")
        shot("recorded")

        # The deadline and the time left on the front page.
        drv.get(a.url + "/")
        wait_text("#schools", "Deferral requests close in ")
        text = drv.find_element(By.CSS_SELECTOR, "#schools .deadline").text
        if not re.match(r"^Deferral requests close in (\d+ days?( \d+ h)?|\d+ h( \d+ min)?|\d+ min), at 16:30", text):
            fail("the deadline reads %r" % text)
        shot("deadline")

        # The case: who recorded the call.
        drv.find_element(By.LINK_TEXT, "The case's timeline").click()
        wait_text("#events", "Recorded by head@oak.sch.uk")
        wait_text("#events", "Senior Ofsted contact: 0300 123 4231")
        shot("case")

        # The deadline is in hand: its button stops its reminders.
        waiter(10).until(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, '#acks-box button[data-rule="deferral_cutoff"]')))
        drv.find_element(
            By.CSS_SELECTOR, '#acks-box button[data-rule="deferral_cutoff"]').click()
        wait_text("#acks-box", "Confirmed: the reminders still to come stop")
        shot("acknowledged")

        # Another school's page: said in words.
        drv.get(a.url + "/schools/100002")
        wait_text("h1", "Not one of your schools")
        wait_text("#status", "not one of yours")
        shot("other-school")

        # Sign out: the session is over.
        drv.get(a.url + "/")
        wait_text("#status", "One school.")
        waiter(10).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, "#signout button")))
        drv.find_element(By.CSS_SELECTOR, "#signout button").click()
        wait_text("#message", "You have signed out.")
        drv.get(a.url + "/")
        waiter(10).until(EC.url_contains("/signin?m=signin"))
        wait_text("#message", "Please sign in")
        shot("signed-out")

        # The trust's leader: every school, the one with an inspection
        # first, then the others by name (not the config's order, which
        # has Alder Infant first).
        drv.get(a.url + sign_in("ceo@trust.example", False))
        waiter(10).until(EC.visibility_of_element_located(
            (By.ID, "signin-button")))
        drv.find_element(By.ID, "signin-button").click()
        wait_text("#status", "3 schools; an inspection is under way at 1.")
        order = [li.get_attribute("data-urn") for li in
                 drv.find_elements(By.CSS_SELECTOR, "#schools > li")]
        if order != ["100001", "100003", "100002"]:
            fail("the trust's schools are in the order %r, not Oak "
                 "(inspection), Alder Infant, Ash Academy" % order)
        # Oak's one deadline was confirmed above, and its only alert with
        # it: the deadline stands, in hand, and the card says so beside
        # the reminders being over.
        oak = drv.find_element(By.CSS_SELECTOR, '#schools > li[data-urn="100001"]')
        text = " / ".join(d.text for d in
                          oak.find_elements(By.CSS_SELECTOR, ".deadline"))
        if not re.match(r"^Deferral requests close in .*, at 16:30\b.* \(in hand\)$", text):
            fail("Oak's deadline after the confirmation reads %r" % text)
        if "No reminders to come." not in oak.text:
            fail("Oak's card after the confirmation reads %r" % oak.text)
        shot("trust")
    finally:
        drv.quit()
    print("pages.py: every step seen; screenshots in " + a.shots)
    return 0


if __name__ == "__main__":
    sys.exit(main())
