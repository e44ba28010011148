"""One module per subcommand: add_arguments(parser) declares its flags, run(args, env) does the work.

Keep module top levels light: kubernetes, hvac, questionary and portforward are imported inside run().
"""
