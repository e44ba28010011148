"""`kubectl jxsecret vault portforward|env|wait`: reach the in-cluster Vault from a laptop."""

import shlex
import signal
import time

from ..errors import ExitStatus, JxSecretError, KubeError, SettingError, StoreError, UsageError
from .. import flags
from ..flags import add_command_parser, add_kube_flags, vault_flags
from ..model import vault as model
from ..model.duration import format_duration, parse_duration

# -n is not a filter here: it says where Vault runs (or, for a namespaced store, where the store is).
NAMESPACE_HELP = "Vault's namespace (default: jx-vault); with --store SecretStore/NAME, the store's"


def add_arguments(parser):
    # The nested parsers are of the parent's class (argparse's default), so usage errors stay UsageErrors.
    sub = parser.add_subparsers(dest="vault_command", metavar="<command>", required=True)

    pf = add_command_parser(
        sub, "portforward", ("port-forward", "portfwd"),
        help="open a tunnel to the in-cluster Vault until Ctrl-C",
        description="Forward a local port (127.0.0.1 only) to the Vault pod with a built-in port-forward.\n"
                    "Defaults follow Jenkins X: pod vault-0 behind service vault in namespace jx-vault,\n"
                    "port 8200; --store takes them from an ESO store's in-cluster server URL instead.\n"
                    "Checks that Vault answers through it, then prints the exports; reconnects when the\n"
                    "pod restarts. While it runs, vault env in another shell exports its address.",
        examples="kubectl jxsecret vault portforward\n"
                 "  kubectl jxsecret vault portforward --port 0          # any free local port\n"
                 "  kubectl jxsecret vault portforward --store ClusterSecretStore/vault\n"
                 "  kubectl jxsecret vault portforward -n vault --service openbao --pod openbao-0")
    add_kube_flags(pf, (), NAMESPACE_HELP, all_namespaces=False)
    pf.add_argument("--port", type=int, default=model.JX_VAULT_PORT, metavar="PORT",
                    help="local port on 127.0.0.1; 0 picks a free one (default: 8200)")
    pf.add_argument("--service", metavar="NAME", help="the Vault service (default: vault)")
    pf.add_argument("--pod", metavar="NAME",
                    help="only this pod, waited for (default: vault-0, else a Ready pod of the service)")
    pf.add_argument("--remote-port", type=int, metavar="PORT",
                    help="Vault's port: the service's, or with --pod the pod's (default: 8200)")
    pf.add_argument("--store", metavar="[KIND/]NAME",
                    help="take namespace, service and port from this ESO store's server URL")
    pf.add_argument("--pod-timeout", default="60s", metavar="DURATION",
                    help="how long to wait for a Ready pod (default: 60s)")
    pf.set_defaults(vault_run=run_portforward)

    env = add_command_parser(
        sub, "env", (), help="print the VAULT_ADDR / VAULT_TOKEN / VAULT_CACERT exports",
        description="Print shell exports for the Vault this cluster uses (and BAO_* for the OpenBao CLI),\n"
                    "found in this order: --vault-* flags, VAULT_*/BAO_* variables, ~/.vault-token,\n"
                    "then the cluster (an ESO store's tokenSecretRef, Jenkins X's vault-unseal-keys\n"
                    "and vault-tls; a token from the cluster only for the cluster's own Vault). On a\n"
                    "terminal the token is hidden; eval the output to use it.\n"
                    "A Vault inside the cluster is exported only through an open vault portforward\n"
                    "tunnel to it (an https one with VAULT_TLS_SERVER_NAME, the name its certificate\n"
                    "is for); without one, nothing is printed and the error says what to run.",
        examples='kubectl jxsecret vault portforward &    # or in another terminal\n'
                 '  eval "$(kubectl jxsecret vault env)"\n'
                 '  kubectl jxsecret vault env --store ClusterSecretStore/vault')
    add_kube_flags(env, (), NAMESPACE_HELP, all_namespaces=False)
    add_vault_flags(env)
    env.set_defaults(vault_run=run_env)

    wait = add_command_parser(
        sub, "wait", (), help="wait until Vault answers and is unsealed",
        description="Poll Vault's health until it is initialised and unsealed, tunnelling to an\n"
                    "in-cluster Vault when needed. Health needs no token: none is read.",
        examples="kubectl jxsecret vault wait\n  kubectl jxsecret vault wait --timeout 10m --poll 5s")
    add_kube_flags(wait, (), NAMESPACE_HELP, all_namespaces=False)
    add_vault_flags(wait)
    wait.add_argument("--timeout", default="5m", metavar="DURATION", help="give up after this long (default: 5m)")
    wait.add_argument("--poll", default="2s", metavar="DURATION", help="time between checks (default: 2s)")
    wait.set_defaults(vault_run=run_wait)


def add_vault_flags(parser):
    group = flags.add_vault_flags(parser)
    group.add_argument("--store", metavar="[KIND/]NAME", help="take the address and token from this ESO store")


def run(args, env) -> int:
    return args.vault_run(args, env)


def usage(args, message: str) -> UsageError:
    return UsageError(f"{message}\nsee 'kubectl jxsecret vault {args.vault_command} -h' for help")


def store_ref(args) -> tuple[str, str]:
    kind, _, name = args.store.rpartition("/")
    kind = kind or "ClusterSecretStore"
    if kind not in ("ClusterSecretStore", "SecretStore") or not name:
        raise usage(args, f'invalid --store "{args.store}": want NAME, ClusterSecretStore/NAME or SecretStore/NAME')
    if kind == "ClusterSecretStore" and args.namespace:
        raise usage(args, f"-n has no meaning with --store {kind}/{name}: the store's server says where Vault is; "
                          "drop -n")
    return kind, name


def store_provider(kube, args) -> tuple[dict, str, str]:
    """(the vault/openBao provider config, store kind, namespace) of --store, or empties."""
    from ..stores import get_store, provider_of

    if not args.store:
        return {}, "", ""
    kind, name = store_ref(args)
    namespace = args.namespace or kube.kubeconfig.namespace
    try:
        store = get_store(kube, kind, name, namespace)
    except StoreError:
        if kind == "ClusterSecretStore":
            raise StoreError(f"ClusterSecretStore {name} not found: see kubectl get clustersecretstores") from None
        if args.namespace:
            raise StoreError(f"SecretStore {name} not found in namespace {namespace} (-n): "
                             f"see kubectl get secretstores -n {namespace}") from None
        raise StoreError(f"SecretStore {name} not found in namespace {namespace} (the context's namespace): "
                         "pass -n with the store's namespace") from None
    provider, config = provider_of(store)
    if provider not in ("vault", "openBao"):
        raise StoreError(f"{kind}/{name} uses the {provider} provider, not vault or openBao")
    return config, kind, namespace


# ------------------------------------------------------------------------------------------ portforward

def portforward_target(kube, args):
    """The PodTarget to forward to."""
    from ..tunnel import PodTarget

    namespace, service, port = model.JX_VAULT_NAMESPACE, model.JX_VAULT_SERVICE, model.JX_VAULT_PORT
    if args.store:
        from ..stores.discovery import check_target, reachable_here  # ~4 ms: only for a store's server

        config, _, _ = store_provider(kube, args)
        server = config.get("server") or ""
        target = model.in_cluster_target(server, reachable_here(server))
        if target is None:
            raise StoreError(f"the server of {args.store} ({server or 'none'}) is not an in-cluster address: "
                             "no tunnel is needed, use it directly")
        check_target(target, server, f"the server of {args.store}")
        namespace, service, port = target.namespace, target.service, target.port
    elif args.namespace:
        namespace = args.namespace
    service = args.service or service
    pod = args.pod or (model.JX_VAULT_POD if service == model.JX_VAULT_SERVICE and not args.store else None)
    return PodTarget(namespace, pod, service, args.remote_port or port, pod_only=bool(args.pod))


def interrupt(signum, frame):
    """SIGTERM (kill, a supervisor) and SIGHUP (its terminal closed) close the tunnel as cleanly as Ctrl-C."""
    raise KeyboardInterrupt


def run_portforward(args, env) -> int:
    from ..kube.client import connect
    from ..tunnel import Tunnel, TunnelError, find_pod, wait_for_pod
    from ..tunnel_records import TunnelRecord

    if not 0 <= args.port < 65536:
        raise usage(args, f"invalid --port {args.port}: want 0-65535")
    if args.remote_port is not None and not 0 < args.remote_port < 65536:
        raise usage(args, f"invalid --remote-port {args.remote_port}: want 1-65535")
    pod_timeout = parse_duration(args.pod_timeout, "--pod-timeout")
    kube = connect(args)
    target = portforward_target(kube, args)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started with SIGINT ignored (a background job)

    def forward(pod, local_port):
        """A tunnel Vault answers through (Tunnel.open asks), and its record for vault env."""
        fix = ("pass the port Vault listens on (8200 unless configured otherwise)" if args.remote_port
               else "pass --remote-port with the port Vault listens on")
        tunnel = Tunnel(kube, target.namespace, pod, local_port, "--remote-port" if args.remote_port else "", fix)
        tunnel.open()
        try:
            record = TunnelRecord({"context": kube.context, "server": kube.server, "namespace": target.namespace,
                                   "service": target.service, "port": target.port, "pod": pod.name,
                                   "local_port": tunnel.port, "scheme": tunnel.scheme}, env.environ)
        except OSError as e:  # the tunnel works all the same; only vault env will not know it
            print(f"warning: cannot record the tunnel for vault env ({e.strerror}: {e.filename})", file=env.stderr)
            record = None
        except BaseException:
            tunnel.close()
            raise
        return tunnel, record

    def forwarding(pod, local_port) -> str:
        return f"Forwarding from 127.0.0.1:{local_port} -> pod {target.namespace}/{pod.name}:{pod.port}"

    pod = wait_for_pod(kube, target, pod_timeout, env.stderr)
    tunnel = record = None
    try:
        tunnel, record = forward(pod, args.port)
        local_port = tunnel.port  # reconnections keep it: users keep their VAULT_ADDR
        address = f"{tunnel.scheme}://127.0.0.1:{local_port}"  # what Vault speaks, whatever a store says
        print(f"export VAULT_ADDR={address}\nexport BAO_ADDR={address}", file=env.stdout, flush=True)
        print(f"{forwarding(pod, local_port)}; Ctrl-C to stop", file=env.stderr, flush=True)
        failing_since, said = None, ""
        while True:
            time.sleep(2)
            try:
                current, why = find_pod(kube, target)
            except KubeError as e:
                print(f"warning: {e} (retrying)", file=env.stderr, flush=True)
                continue
            if tunnel and current and current.uid == pod.uid:
                continue
            if tunnel:
                print(f"pod {target.namespace}/{pod.name} went away ({why or 'restarted'}); reconnecting",
                      file=env.stderr, flush=True)
                if record:
                    record.close()  # first: vault env must not hand out the port while nothing forwards it
                tunnel.close()
                tunnel = record = None
            pod = wait_for_pod(kube, target, pod_timeout, env.stderr)
            try:
                tunnel, record = forward(pod, local_port)
            except TunnelError as e:
                failing_since = failing_since or time.monotonic()
                if time.monotonic() - failing_since > pod_timeout:
                    raise
                if str(e) != said:
                    print(f"waiting: {e}", file=env.stderr, flush=True)
                    said = str(e)
                continue
            failing_since, said = None, ""
            print(forwarding(pod, local_port), file=env.stderr, flush=True)
    except KeyboardInterrupt:
        print("tunnel closed", file=env.stderr)
        return ExitStatus.OK
    finally:
        if record:
            record.close()
        if tunnel:
            tunnel.close()


# ------------------------------------------------------------------------------------------ env

def settings_for(kube, args, environ, need_token=True):
    from ..stores.discovery import gather

    config, kind, namespace = store_provider(kube, args)
    return gather(kube, vault_flags(args), environ, config, kind, namespace,
                  default_namespace=None if args.store else args.namespace, need_token=need_token)


def portforward_command(args, target: model.InCluster) -> str:
    """The `vault portforward` that opens the tunnel `vault env` would use."""
    words = ["kubectl", "jxsecret", "vault", "portforward"]
    if args.store:
        words += ["--store", args.store] + (["-n", args.namespace] if args.namespace else [])
    else:
        if target.namespace != model.JX_VAULT_NAMESPACE:
            words += ["-n", target.namespace]
        if target.service != model.JX_VAULT_SERVICE:
            words += ["--service", target.service]
        if target.port != model.JX_VAULT_PORT:
            words += ["--remote-port", str(target.port)]
    for flag, value in (("--context", args.context), ("--kubeconfig", args.kubeconfig)):
        if value:
            words += [flag, value]
    return " ".join(map(shlex.quote, words))


def run_env(args, env) -> int:
    from ..kube.client import connect
    from ..stores.discovery import in_cluster
    from ..tunnel_records import live_records

    kube = connect(args)
    settings = settings_for(kube, args, env.environ)
    address, source = settings.address.value, settings.address.source
    target = in_cluster(kube, settings)
    if target:
        # Only a tunnel of ours is known to be this Vault: a port that merely answers could be anything,
        # and it would be handed the token.
        tunnel = next((r for r in live_records(env.environ) if model.tunnel_reaches(r, kube.server, target)), None)
        if tunnel is None:
            raise JxSecretError(f"Vault's address {address} ({source}) is inside the cluster and no tunnel to it is "
                                f"open: run '{portforward_command(args, target)}' (it stays up: use another terminal), "
                                "then this again")
        print(f"# {address} ({source}) through the tunnel of vault portforward (pid {tunnel.get('pid')})",
              file=env.stderr)
        scheme = tunnel.get("scheme") or target.scheme  # what the tunnel found Vault speaks
        address = f"{scheme}://127.0.0.1:{tunnel['local_port']}"
    values = {"ADDR": address}
    if target and address.startswith("https:"):  # its certificate names the service, not 127.0.0.1
        values["TLS_SERVER_NAME"] = target.host
    if settings.token:
        # On a terminal the token would land in the scrollback: show where it comes from instead.
        values["TOKEN"] = "<hidden on a terminal: eval the output>" if env.stdout_isatty else settings.token.value
        root = ": the cluster's root token (set VAULT_TOKEN to use your own)"
        print(f"# token from {settings.token.source}{root if model.uses_root_token(settings) else ''}",
              file=env.stderr)
    else:
        print("# no token found: log in (vault/bao login) or set VAULT_TOKEN", file=env.stderr)
    if settings.ca_cert:
        values["CACERT"] = settings.ca_cert.value
    if settings.namespace:
        values["NAMESPACE"] = settings.namespace.value
    for prefix in ("VAULT", "BAO"):
        for key, value in values.items():
            print(f"export {prefix}_{key}={shlex.quote(value)}", file=env.stdout)
    return ExitStatus.OK


# ------------------------------------------------------------------------------------------ wait

def run_wait(args, env) -> int:
    from ..kube.client import connect
    from ..stores.discovery import open_vault
    from ..stores.vault import VaultStore

    timeout = parse_duration(args.timeout, "--timeout")
    poll = max(parse_duration(args.poll, "--poll"), 0.1)
    kube = connect(args)
    settings = settings_for(kube, args, env.environ, need_token=False)  # sys/health needs none
    shown = settings.address.value  # the Vault meant, also when we reach it through a tunnel
    deadline = time.monotonic() + timeout
    with open_vault(kube, settings, env.stderr, pod_timeout=timeout) as reach:
        store = VaultStore(reach.address, settings, via=reach.via)
        last = ""
        while True:
            try:
                state, problem = model.health_state(store.health()), ""
            except SettingError:
                raise  # a wrong address or CA: no amount of waiting fixes it
            except JxSecretError as e:
                state, problem = "", str(e)
            if (state or problem) != last:
                if state:
                    print(f"vault {shown}: {state}", file=env.stdout, flush=True)
                if state in model.STATE_HINTS:
                    print(f"waiting: Vault is {state}: {model.STATE_HINTS[state]}", file=env.stderr, flush=True)
                if problem:
                    print(f"waiting: {problem}", file=env.stderr, flush=True)
                last = state or problem
            if state == "unsealed":
                return ExitStatus.OK
            if time.monotonic() >= deadline:
                waited = format_duration(timeout)
                if problem:
                    raise StoreError(f"gave up after {waited}: {problem}")
                raise StoreError(f"Vault at {shown} is still {state} after {waited}: {model.STATE_HINTS[state]}")
            time.sleep(min(poll, max(deadline - time.monotonic(), 0)))
