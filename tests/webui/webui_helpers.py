"""Helpers of the browser tests: tools/webui.py on a free local port, a headless Chromium."""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TINY_CONFIG = os.path.join(REPO, 'tests', 'data', 'configs', 'tiny_rain200h.py')
CHROMIUM_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync', '--no-first-run',
                  '--disable-dev-shm-usage', '--window-size=1400,1800')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Server:
    """``python tools/webui.py ARGS`` on a free port, its output in a file."""

    def __init__(self, args, log_path, timeout=180):
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}/'
        self.log_path = log_path
        env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen([sys.executable, 'tools/webui.py', *args, '--port',
                                      str(self.port)], cwd=REPO, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while 'Running on local URL' not in self.log():
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise AssertionError(f'tools/webui.py did not start:\n{self.log()[-3000:]}')
            time.sleep(0.5)
        urllib.request.urlopen(self.url, timeout=30).read()
        self.work_dir = re.search(r'uploads and results: (\S+)', self.log()).group(1)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_for_log(self, pattern, timeout=120, offset=0):
        """The first match of ``pattern`` in the output after its first ``offset`` characters."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = re.search(pattern, self.log()[offset:], re.M)
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f'{pattern!r} not in the server output:\n{self.log()[-3000:]}')

    def cpu_seconds(self):
        """User + system CPU time of the server process so far."""
        with open(f'/proc/{self.proc.pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


def new_browser(browser_stack, download_dir):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver = browser_stack
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f'--user-data-dir={tempfile.mkdtemp(prefix="chromium-profile-")}')
    chrome = webdriver.Chrome(options=options, service=Service(driver))
    chrome.execute_cdp_cmd('Browser.setDownloadBehavior',
                           dict(behavior='allow', downloadPath=str(download_dir)))
    return chrome
