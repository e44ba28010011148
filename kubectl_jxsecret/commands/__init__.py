"""One module per subcommand: add_arguments(parser) declares its flags, run(args, env) does the work.

run() has kubectl's shape: `Options.from_args(args)` binds the flags, `validate()` checks them without
I/O (where there is anything to check), `complete()` builds the clients, `Options.run()` returns a
result, output.py renders it, and the exit status comes from it. A command module never imports
another command module or cli.py: what commands share lives below them (scan.py, flags.py, model/,
kube/, stores/).

Keep module top levels light: kubernetes, hvac and questionary are imported inside run().
"""
