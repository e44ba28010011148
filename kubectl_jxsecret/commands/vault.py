"""`kubectl jxsecret vault portforward|env|wait`: reach the in-cluster Vault from a laptop."""

import shlex
import signal
import time

from ..errors import ExitStatus, JxSecretError, KubeError, StoreError, UsageError
from .. import flags
from ..flags import add_command_parser, add_kube_flags, vault_flags
from ..model import vault as model
from ..model.duration import format_duration, parse_duration


def add_arguments(parser):
    # The nested parsers are of the parent's class (argparse's default), so usage errors stay UsageErrors.
    sub = parser.add_subparsers(dest="vault_command", metavar="<command>", required=True)

    pf = add_command_parser(
        sub, "portforward", ("port-forward", "portfwd"),
        help="open a tunnel to the in-cluster Vault until Ctrl-C",
        description="Forward a local port (127.0.0.1 only) to the Vault pod with a built-in port-forward.\n"
                    "Defaults follow Jenkins X: pod vault-0 behind service vault in namespace jx-vault,\n"
                    "port 8200; --store takes them from an ESO store's in-cluster server URL instead.\n"
                    "Reconnects when the pod restarts.",
        examples="kubectl jxsecret vault portforward\n"
                 "  kubectl jxsecret vault portforward --port 0          # any free local port\n"
                 "  kubectl jxsecret vault portforward --store ClusterSecretStore/vault\n"
                 "  kubectl jxsecret vault portforward -n vault --service openbao --pod openbao-0")
    add_kube_flags(pf, ())
    pf.add_argument("--port", type=int, default=model.JX_VAULT_PORT, metavar="PORT",
                    help="local port on 127.0.0.1; 0 picks a free one (default: 8200)")
    pf.add_argument("--service", metavar="NAME", help="the Vault service (default: vault)")
    pf.add_argument("--pod", metavar="NAME", help="the Vault pod (default: vault-0, else a Ready pod of the service)")
    pf.add_argument("--remote-port", type=int, metavar="PORT", help="the service's Vault port (default: 8200)")
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
                    "and vault-tls). On a terminal the token is hidden; eval the output to use it.",
        examples='eval "$(kubectl jxsecret vault env)"\n  kubectl jxsecret vault env --store ClusterSecretStore/vault')
    add_kube_flags(env, ())
    add_vault_flags(env)
    env.set_defaults(vault_run=run_env)

    wait = add_command_parser(
        sub, "wait", (), help="wait until Vault answers and is unsealed",
        description="Poll Vault's health until it is initialised and unsealed, tunnelling to an\n"
                    "in-cluster Vault when needed.",
        examples="kubectl jxsecret vault wait\n  kubectl jxsecret vault wait --timeout 10m --poll 5s")
    add_kube_flags(wait, ())
    add_vault_flags(wait)
    wait.add_argument("--timeout", default="5m", metavar="DURATION", help="give up after this long (default: 5m)")
    wait.add_argument("--poll", default="2s", metavar="DURATION", help="time between checks (default: 2s)")
    wait.set_defaults(vault_run=run_wait)


def add_vault_flags(parser):
    group = flags.add_vault_flags(parser)
    group.add_argument("--store", metavar="[KIND/]NAME", help="take the address and token from this ESO store")


def run(args, env) -> int:
    return args.vault_run(args, env)


def store_ref(text: str) -> tuple[str, str]:
    kind, _, name = text.rpartition("/")
    kind = kind or "ClusterSecretStore"
    if kind not in ("ClusterSecretStore", "SecretStore") or not name:
        raise UsageError(f'invalid --store "{text}": want NAME, ClusterSecretStore/NAME or SecretStore/NAME')
    return kind, name


def store_provider(kube, args) -> tuple[dict, str, str]:
    """(the vault/openBao provider config, store kind, namespace) of --store, or empties."""
    from ..stores import get_store, provider_of

    if not args.store:
        return {}, "", ""
    kind, name = store_ref(args.store)
    namespace = args.namespace or kube.kubeconfig.namespace
    provider, config = provider_of(get_store(kube, kind, name, namespace))
    if provider not in ("vault", "openBao"):
        raise StoreError(f"{kind}/{name} uses the {provider} provider, not vault or openBao")
    return config, kind, namespace


# ------------------------------------------------------------------------------------------ portforward

def portforward_target(kube, args):
    from ..tunnel import PodTarget

    namespace, service, port = model.JX_VAULT_NAMESPACE, model.JX_VAULT_SERVICE, model.JX_VAULT_PORT
    if args.store:
        config, _, _ = store_provider(kube, args)
        target = model.in_cluster_target(config.get("server") or "")
        if target is None:
            raise StoreError(f"the server of {args.store} ({config.get('server')}) is not an in-cluster "
                             "address: no tunnel is needed, use it directly")
        namespace, service, port = target.namespace, target.service, target.port
    elif args.namespace:
        namespace = args.namespace
    service = args.service or service
    pod = args.pod or (model.JX_VAULT_POD if service == model.JX_VAULT_SERVICE and not args.store else None)
    return PodTarget(namespace, pod, service, args.remote_port or port)


def interrupt(signum, frame):
    """SIGTERM (kill, a supervisor) closes the tunnel as cleanly as Ctrl-C does."""
    raise KeyboardInterrupt


def run_portforward(args, env) -> int:
    from ..kube.client import connect
    from ..tunnel import Tunnel, find_pod, wait_for_pod

    if not 0 <= args.port < 65536:
        raise UsageError(f"invalid --port {args.port}: want 0-65535")
    pod_timeout = parse_duration(args.pod_timeout, "--pod-timeout")
    kube = connect(args)
    target = portforward_target(kube, args)
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started with SIGINT ignored (a background job)
    pod = wait_for_pod(kube, target, pod_timeout, env.stderr)
    tunnel = Tunnel(kube, target.namespace, pod, args.port)
    try:
        tunnel.open()
        address = tunnel.address
        print(f"export VAULT_ADDR={address}\nexport BAO_ADDR={address}", file=env.stdout, flush=True)
        print(f"Forwarding from 127.0.0.1:{tunnel.port} -> pod {target.namespace}/{pod.name}:{pod.port}; "
              "Ctrl-C to stop", file=env.stderr, flush=True)
        while True:
            time.sleep(2)
            try:
                current, why = find_pod(kube, target)
            except KubeError as e:
                print(f"warning: {e} (retrying)", file=env.stderr, flush=True)
                continue
            if current and current.uid == pod.uid:
                continue
            print(f"pod {target.namespace}/{pod.name} went away ({why or 'restarted'}); reconnecting",
                  file=env.stderr, flush=True)
            pod = wait_for_pod(kube, target, pod_timeout, env.stderr)
            port = tunnel.port
            tunnel.close()
            tunnel = Tunnel(kube, target.namespace, pod, port)  # same local port: users keep VAULT_ADDR
            tunnel.open()
            print(f"Forwarding from 127.0.0.1:{tunnel.port} -> pod {target.namespace}/{pod.name}:{pod.port}",
                  file=env.stderr, flush=True)
    except KeyboardInterrupt:
        print("tunnel closed", file=env.stderr)
        return ExitStatus.OK
    finally:
        tunnel.close()


# ------------------------------------------------------------------------------------------ env

def settings_for(kube, args, environ):
    from ..stores.discovery import gather

    config, kind, namespace = store_provider(kube, args)
    return gather(kube, vault_flags(args), environ, config, kind, namespace)


def run_env(args, env) -> int:
    from ..kube.client import connect
    from ..stores.discovery import reachable_here

    kube = connect(args)
    settings = settings_for(kube, args, env.environ)
    address = settings.address.value
    if model.in_cluster_target(address) and not reachable_here(address):
        print(f"# {address} ({settings.address.source}) is inside the cluster: run "
              f"'kubectl jxsecret vault portforward' and use the tunnel's address", file=env.stderr)
        address = f"http://127.0.0.1:{model.JX_VAULT_PORT}"
    values = {"ADDR": address}
    if settings.token:
        # On a terminal the token would land in the scrollback: show where it comes from instead.
        values["TOKEN"] = "<hidden on a terminal: eval the output>" if env.stdout_isatty else settings.token.value
        print(f"# token from {settings.token.source}", file=env.stderr)
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
    settings = settings_for(kube, args, env.environ)
    deadline = time.monotonic() + timeout
    with open_vault(kube, settings, env.stderr, pod_timeout=timeout) as address:
        store = VaultStore(address, settings)
        last = ""
        while True:
            try:
                health = store.health()
                state = ("unsealed" if not health.get("sealed") else "sealed") if health.get("initialized") \
                    else "not initialised"
            except JxSecretError as e:
                health, state = {}, str(e)
            if state != last:
                print(f"vault {address}: {state}", file=env.stdout, flush=True)
                last = state
            if state == "unsealed":
                return ExitStatus.OK
            if time.monotonic() >= deadline:
                raise StoreError(f"Vault at {address} still {state} after {format_duration(timeout)}")
            time.sleep(min(poll, max(deadline - time.monotonic(), 0)))
