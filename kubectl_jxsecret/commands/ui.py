"""`kubectl jxsecret ui`: a live web view of verify, on loopback, until Ctrl-C.

One discovery (scan.discover), then the live view wait and refresh use too (live.py: a watch per
ExternalSecret API and one on Secrets): each change re-evaluates only the rows it touches
(model.status.evaluate, as verify) and reaches the page as a server-sent event. The detail panel lists
that namespace's Warning events when it opens.
Refresh (with --allow-refresh) is resync.refresh: the force-sync of `kubectl jxsecret refresh`.
"""

import os
import secrets
import signal
import sys
import threading

from ..errors import ExitStatus, JxSecretError, UsageError
from ..flags import KubeFlags


def add_arguments(parser):
    parser.add_argument("--address", default="127.0.0.1", metavar="ADDR",
                        help="address to listen on (default: 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=int, default=0, metavar="N", help="port to listen on (default: 0, any free one)")
    parser.add_argument("--no-browser", dest="browser", action="store_false", help="only print the URL")
    parser.add_argument("--allow-refresh", action="store_true",
                        help="offer Refresh (ESO force-sync) per row and per selection; read-only otherwise")


class RefreshLog:
    """resync.refresh's log, kept for the page instead of printed."""

    def __init__(self):
        self.skipped_, self.requested_ = [], 0

    def skipped(self, es, reason):
        self.skipped_.append({"namespace": es.namespace, "name": es.name, "reason": reason})

    def requested(self, pending, waiting):
        self.requested_ = len(pending)

    def landed(self, landed):
        pass


def run(args, env) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: want 0 (any free port) to 65535")
    from ..kube.client import connect
    from ..scan import discover
    from ..ui import model
    from ..ui.server import App, serve
    from ..ui.state import Live

    kube = connect(KubeFlags.from_args(args))
    namespace = None if args.all_namespaces else args.namespace
    apis = discover(kube)
    live, stop = Live(), threading.Event()

    def detail(ns, name):
        es = live.find(ns, name)
        if es is None:
            return None
        try:
            events = list(kube.list(f"/api/v1/namespaces/{ns}/events",
                                    {"fieldSelector": f"involvedObject.kind=ExternalSecret,type=Warning,"
                                                      f"involvedObject.name={name}"}))
        except Exception:  # events are a bonus: RBAC may hide them
            events = []
        with live.lock:
            verdict = live.verdict(es)
            secret = live.secrets.get((es.namespace, es.target_name))
        return model.detail(es, secret, verdict, events)

    def refresh(pairs):
        from ..resync import refresh as force_sync

        chosen = [es for es in (live.find(ns, name) for ns, name in pairs) if es is not None]
        log = RefreshLog()
        force_sync(kube, chosen, None, log)
        return {"requested": log.requested_, "skipped": log.skipped_, "unknown": len(pairs) - len(chosen)}

    token = secrets.token_urlsafe(32)
    app = App(token, live, detail, refresh if args.allow_refresh else None)
    try:
        server = serve(app, args.address, args.port)
    except OSError as e:
        raise JxSecretError(f"cannot listen on {args.address}:{args.port}: {e.strerror or e}") from None
    if not loopback(args.address):
        print(f"warning: listening on {args.address}, not loopback: anyone who can reach it and has the URL sees "
              "what this kubeconfig may read", file=env.stderr)
    live.start(kube, apis, [namespace] if namespace else None, None, stop)
    host = f"[{args.address}]" if ":" in args.address else args.address
    url = f"http://{host}:{server.server_address[1]}/?token={token}"

    def terminate(*_):
        raise KeyboardInterrupt  # SIGTERM ends it as Ctrl-C does: port closed, exit 0

    previous = signal.signal(signal.SIGTERM, terminate)  # before the URL is out: whoever reads it may stop us
    try:
        print(f"Serving the ExternalSecrets of {f'namespace {namespace}' if namespace else 'all namespaces'} "
              f"(context \"{kube.context}\"{', Refresh allowed' if args.allow_refresh else ', read-only'}) at:\n"
              f"  {url}\nPress Ctrl-C to stop.", file=env.stdout, flush=True)
        if args.browser and has_browser():
            import webbrowser

            webbrowser.open(url)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop.set()
        server.server_close()
    print("stopped", file=env.stderr)
    return ExitStatus.OK


def loopback(address: str) -> bool:
    """Only this machine can reach it: localhost, 127.0.0.0/8 or ::1 (a host name may resolve to anything)."""
    import ipaddress

    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def has_browser() -> bool:
    """A graphical browser to open: on Linux only with a display (a terminal browser would take over)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
