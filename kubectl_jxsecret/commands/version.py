"""`kubectl jxsecret version`: the plugin's version (no cluster access, no heavy imports)."""

import platform

from .. import __version__, output


def add_arguments(parser):
    pass


def run(args, env):
    info = {"version": __version__, "python": platform.python_version(), "platform": f"{platform.system().lower()}/{platform.machine()}"}
    if args.output == "table":
        print(f"kubectl-jxsecret {info['version']} (python {info['python']}, {info['platform']})", file=env.stdout)
    else:
        output.dump(info, args.output, env.stdout)
    return 0
