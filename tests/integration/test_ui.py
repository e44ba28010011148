"""`kubectl jxsecret ui` in a real headless Chromium (Debian's, driven by Playwright), against the real
testbed and the real ESO controller: states, live updates, filter, detail, token, read-only, shutdown.

The screenshot of the page is kept in artifacts/ui.png (git-ignored) for the README."""

import json
import re
import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
CHROMIUM = "/usr/bin/chromium"
STORE = {"kind": "ClusterSecretStore", "name": "vault"}
CANARY = "canary-3f9c2a7e-value-never-shown"


def es(name, ns, path, keys=("token",)):
    return {"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": {"name": name, "namespace": ns},
            "spec": {"secretStoreRef": STORE, "refreshInterval": "1h",
                     "data": [{"secretKey": k, "remoteRef": {"key": path, "property": k}} for k in keys]}}


class Ui:
    """A running `kubectl jxsecret ui` (through kubectl's plugin dispatch) and the URL it printed."""

    def __init__(self, testbed, *args, kubeconfig=None):
        env = testbed.env(**({"KUBECONFIG": kubeconfig} if kubeconfig else {}))
        self.process = subprocess.Popen(["kubectl", "jxsecret", "ui", "--no-browser", *args], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.banner = [self.process.stdout.readline() for _ in range(3)]
        found = re.search(r"http://127\.0\.0\.1:(\d+)/\?token=(\S+)", "".join(self.banner))
        assert found, f"no URL in {self.banner!r}: {self.process.stderr.read() if self.process.poll() is not None else ''}"
        self.url, self.port, self.token = found.group(0), int(found.group(1)), found.group(2)
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path, token=True, headers=None):
        """(status, body) of a GET, with the token cookie (token=True), none, or the given one."""
        headers = dict(headers or {})
        if token:
            headers["Cookie"] = f"jxsecret-ui={self.token if token is True else token}"
        try:
            with urllib.request.urlopen(urllib.request.Request(self.base + path, headers=headers), timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path, body):
        request = urllib.request.Request(self.base + path, data=json.dumps(body).encode(), method="POST", headers={
            "Cookie": f"jxsecret-ui={self.token}", "X-Requested-By": "jxsecret-ui", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def stop(self, how=signal.SIGTERM):
        self.process.send_signal(how)
        return self.process.wait(timeout=15)


@pytest.fixture
def start_ui(testbed):
    started = []

    def start(*args, **kw):
        ui = Ui(testbed, *args, **kw)
        started.append(ui)
        return ui

    yield start
    for ui in started:
        if ui.process.poll() is None:
            ui.process.kill()
            ui.process.wait()


@pytest.fixture(scope="module")  # not session: Playwright's event loop would break other modules' asyncio.run()
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 700})
    page = context.new_page()
    page.set_default_timeout(30000)
    yield page
    context.close()


def two_secrets(testbed, namespace):
    """`ready` (its value in OpenBao, the canary) and `missing` (nothing there yet), once ESO has said so."""
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/ready", secret={"token": CANARY},
                                                          mount_point="secret")
    testbed.apply(es("ready", namespace, f"tests/{namespace}/ready"), es("missing", namespace, f"tests/{namespace}/missing"))
    testbed.wait_until(lambda: testbed.ready(namespace, "missing") == "False" and testbed.ready(namespace, "ready") == "True")


def state_of(page, name):
    return page.locator(f'tr.row[data-name="{name}"]').get_attribute("data-state")


@pytest.mark.real_eso
def test_rows_show_states_and_a_synced_value_turns_its_row_green_without_a_reload(testbed, namespace, start_ui, page):
    two_secrets(testbed, namespace)
    ui = start_ui("-n", namespace)
    page.goto(ui.url)
    page.wait_for_selector('tr.row[data-name="missing"][data-state="SyncError"]')
    assert page.url == ui.base + "/"  # the token went into a cookie, out of the address bar
    assert state_of(page, "ready") == "Populated"
    assert page.locator("#counts span").all_inner_texts() == ["2 shown", "Populated: 1", "SyncError: 1"]
    assert page.locator("tr.group").all_inner_texts() == [f"{namespace} (2)"]
    page.evaluate("window.notReloaded = true")
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/missing", secret={"token": "t"},
                                                          mount_point="secret")
    assert testbed.jxsecret("refresh", "-n", namespace, "-f", "missing").returncode == 0
    page.wait_for_selector('tr.row[data-name="missing"][data-state="Populated"]', timeout=20000)
    assert page.evaluate("window.notReloaded") is True
    assert ui.stop() == 0


@pytest.mark.real_eso
def test_filter_and_detail_panel_show_key_names_and_the_eso_reason(testbed, namespace, start_ui, page):
    two_secrets(testbed, namespace)
    ui = start_ui("-n", namespace)
    page.goto(ui.url)
    page.wait_for_selector('tr.row[data-name="missing"]')
    page.fill("#filter", "SyncErr")
    assert page.locator("tr.row").evaluate_all("rows => rows.map(r => r.dataset.name)") == ["missing"]
    page.fill("#filter", "")
    assert page.locator("tr.row").evaluate_all("rows => rows.map(r => r.dataset.name)") == ["missing", "ready"]
    page.click('tr.row[data-name="missing"]')
    page.wait_for_selector("#detail:not([hidden]) h2")
    detail = page.locator("#detail").inner_text()
    assert "err: Secret does not exist" in detail  # ESO's Warning event, with the key it could not read
    assert "SecretSyncedError" in detail  # the Ready condition's reason
    assert f"token\tClusterSecretStore/vault\ttests/{namespace}/missing\ttoken" in detail  # the data mapping
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"))  # what the README describes
    page.click('tr.row[data-name="ready"]')
    page.wait_for_selector('#detail h2:text-is("%s/ready")' % namespace)
    assert page.locator("#detail ul.keys li").all_inner_texts() == ["token"]
    assert ui.stop() == 0


@pytest.mark.real_eso
def test_no_response_carries_a_secret_value(testbed, namespace, start_ui, page):
    two_secrets(testbed, namespace)
    ui = start_ui("-n", namespace)
    bodies = []
    page.on("response", lambda r: bodies.append(r.body().decode(errors="replace")) if r.url.startswith(ui.base)
            and "/api/events" not in r.url and r.status != 303 else None)
    page.goto(ui.url)
    page.click('tr.row[data-name="ready"]')
    page.wait_for_selector("#detail ul.keys li")
    events = []

    def read_stream():
        request = urllib.request.Request(ui.base + "/api/events", headers={"Cookie": f"jxsecret-ui={ui.token}"})
        with urllib.request.urlopen(request, timeout=10) as r:
            events.append(r.read1(1 << 20).decode())

    reader = threading.Thread(target=read_stream)
    reader.start()
    reader.join(15)
    direct = [ui.get(path)[1] for path in ("/api/rows", f"/api/detail?namespace={namespace}&name=ready")]
    assert len(bodies) >= 5 and events and '"name": "ready"' in events[0]
    assert [b for b in bodies + events + direct if CANARY in b] == []
    assert ui.stop() == 0


def test_every_request_needs_the_token_and_the_page_is_read_only_by_default(testbed, namespace, start_ui):
    ui = start_ui("-n", namespace)
    assert ui.get("/", token=False)[0] == 403
    assert ui.get("/api/rows", token=False)[0] == 403
    assert ui.get("/api/events", token=False)[0] == 403
    assert ui.get("/api/rows", token="wrong")[0] == 403
    assert ui.get(f"/api/rows?token={ui.token}", token=False,
                  headers={"Host": f"evil.example:{ui.port}"})[0] == 403  # DNS rebinding
    assert ui.get("/api/rows")[0] == 200
    assert ui.post("/api/refresh", {"items": [{"namespace": namespace, "name": "x"}]}) == (
        403, {"error": "read-only: start kubectl jxsecret ui with --allow-refresh"})
    assert json.loads(ui.get("/api/rows")[1])["allowRefresh"] is False


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])  # SIGINT: Ctrl-C
def test_a_signal_stops_it_with_exit_0_and_closes_the_port(testbed, namespace, start_ui, stop):
    ui = start_ui("-n", namespace)
    assert ui.stop(stop) == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", ui.port), timeout=2)


@pytest.mark.real_eso
def test_refresh_from_the_page_is_refresh_s_force_sync(testbed, namespace, start_ui, page):
    two_secrets(testbed, namespace)
    ui = start_ui("-n", namespace, "--allow-refresh")
    page.goto(ui.url)
    page.wait_for_selector('tr.row[data-name="missing"][data-state="SyncError"]')
    testbed.vault().secrets.kv.v2.create_or_update_secret(f"tests/{namespace}/missing", secret={"token": "t"},
                                                          mount_point="secret")
    mark = testbed.audit_mark()
    page.click('tr.row[data-name="missing"] button.refresh')
    page.wait_for_selector('tr.row[data-name="missing"][data-state="Populated"]', timeout=20000)
    assert page.locator("#notice").inner_text() == "force-sync requested for 1"
    patches = [uri for verb, uri in testbed.requests_since(mark) if verb == "patch"]
    assert patches == [f"/apis/external-secrets.io/v1/namespaces/{namespace}/externalsecrets/missing"]
    # per selection: tick both, one request
    page.click('tr.row[data-name="missing"] td.pick input')
    page.click('tr.row[data-name="ready"] td.pick input')
    page.click("#refresh-selected")
    page.wait_for_selector("#notice:text-is('force-sync requested for 2')")
    assert ui.stop() == 0


def test_a_port_in_use_or_out_of_range_is_one_line(testbed, namespace):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = testbed.jxsecret("ui", "-n", namespace, "--no-browser", "--port", str(port))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    result = testbed.jxsecret("ui", "--port", "70000")
    assert (result.returncode, result.stderr.splitlines()[0]) == (2, "error: --port 70000: want 0 (any free port) to 65535")


class Cut:
    """A TCP forwarder to the API server that a test can cut and restore (a lost cluster connection)."""

    def __init__(self, target):
        self.target, self.sockets, self.listener = target, [], None
        self.port = None
        self.open()

    def open(self):
        self.listener = socket.create_server(("127.0.0.1", self.port or 0), reuse_port=True)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, args=(self.listener,), daemon=True).start()

    def accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.sockets = []


def test_the_page_shows_a_lost_cluster_connection_and_its_recovery(testbed, namespace, start_ui, page, tmp_path):
    import yaml

    config = yaml.safe_load(Path(testbed.kubeconfig).read_text())
    server = config["clusters"][0]["cluster"]["server"]
    host, port = re.match(r"https://([\d.]+):(\d+)", server).groups()
    cut = Cut((host, int(port)))
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{cut.port}"
    kubeconfig = tmp_path / "cut.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(config))
    ui = start_ui("-n", namespace, kubeconfig=str(kubeconfig))
    page.goto(ui.url)
    page.wait_for_selector('#connection[data-connected="true"]')
    cut.cut()
    page.wait_for_selector('#connection[data-connected="false"]', timeout=20000)
    assert page.locator("#connection").inner_text().startswith("cluster unreachable: ")
    cut.open()
    page.wait_for_selector('#connection[data-connected="true"]', timeout=20000)
    assert page.locator("#connection").inner_text() == "connected"
    assert ui.stop() == 0


@pytest.mark.parametrize("address, connect_to, warning", [
    ("127.0.0.2", "127.0.0.2", ""),  # all of 127.0.0.0/8 is this machine's
    ("0.0.0.0", "127.0.0.1", "warning: listening on 0.0.0.0, not loopback: anyone who can reach it and has the URL "
                             "sees what this kubeconfig may read\n"),
])
def test_an_address_other_than_loopback_is_warned_about(testbed, namespace, address, connect_to, warning):
    process = subprocess.Popen(["kubectl", "jxsecret", "ui", "--no-browser", "-n", namespace, "--address", address],
                               env=testbed.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = "".join(process.stdout.readline() for _ in range(3))
    port = int(re.search(rf"http://{re.escape(address)}:(\d+)/\?token=", banner).group(1))
    socket.create_connection((connect_to, port), timeout=5).close()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=15)
    assert (process.returncode, stderr) == (0, warning + "stopped\n")


def test_the_page_asks_nothing_of_any_other_origin(testbed, namespace, start_ui, page):
    """Everything is served from the package: no CDN, no fonts, no other host (the machine may be offline)."""
    testbed.apply(es("one", namespace, f"tests/{namespace}/one"))
    ui = start_ui("-n", namespace)
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(ui.url)
    page.wait_for_selector('tr.row[data-name="one"]')
    page.click('tr.row[data-name="one"]')  # the detail panel loads too
    page.wait_for_selector("#detail:not([hidden]) h2")
    assert asked and sorted({url.split("/", 3)[2] for url in asked}) == [f"127.0.0.1:{ui.port}"]
    assert ui.stop() == 0
