"""`kubectl jxsecret completion bash|zsh|fish|install`: shell completion beyond kubectl's own.

kubectl (>= 1.26) completes `kubectl jxsecret <TAB>` by running `kubectl_complete-jxsecret` from PATH.
pip installs that as an entry point; krew links only `kubectl-jxsecret`, so `install` puts a two-line
wrapper beside it. The bash/zsh/fish scripts are for calling `kubectl-jxsecret` directly; they speak the
same protocol (`kubectl-jxsecret __complete WORDS... CURRENT` -> candidates, then `:<directive>`).
Standard library only: this module is on a completion/help path.
"""

import os
import shutil
import stat

from ..errors import JxSecretError
from ..flags import add_command_parser

WRAPPER_NAME = "kubectl_complete-jxsecret"
# The same text as completions/kubectl_complete-jxsecret (a unit test keeps them equal).
WRAPPER = """\
#!/bin/sh
# kubectl (>= 1.26) completes `kubectl jxsecret <TAB>` by running kubectl_complete-jxsecret from PATH.
# pip installs that as an entry point; krew links only kubectl-jxsecret, so this wrapper, copied next
# to it on PATH, hands the completion request over.
exec kubectl-jxsecret __complete "$@"
"""

BASH = r"""# bash completion for kubectl-jxsecret (from `kubectl-jxsecret completion bash`).
# `kubectl jxsecret <TAB>` needs none of this: kubectl's own completion runs kubectl_complete-jxsecret.
_kubectl_jxsecret() {
    local line=${COMP_LINE:0:COMP_POINT} word=${COMP_WORDS[COMP_CWORD]}
    local -a words
    read -ra words <<< "$line"
    [[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
    local cur=${words[${#words[@]}-1]}
    local out
    out=$(kubectl-jxsecret __complete "${words[@]:1}" 2>/dev/null) || return 0
    local -a lines
    mapfile -t lines <<< "$out"
    local directive=${lines[${#lines[@]}-1]#:}
    unset 'lines[${#lines[@]}-1]'
    [[ $directive =~ ^[0-9]+$ ]] || directive=1
    (( directive & 1 )) && return 0
    # bash splits "--output=y" at '='; COMP_WORDS' last word is only the part after what we strip here.
    local strip=${cur%"$word"}
    COMPREPLY=()
    local l
    for l in "${lines[@]}"; do
        [[ -n $l ]] && COMPREPLY+=("${l%%$'\t'*}")
    done
    if [[ -n $strip && $strip != "$cur" ]]; then
        COMPREPLY=("${COMPREPLY[@]#"$strip"}")
    fi
    (( directive & 2 )) && compopt -o nospace 2>/dev/null
    if (( ${#COMPREPLY[@]} == 0 )) && ! (( directive & 4 )); then
        compopt -o default 2>/dev/null
    fi
    return 0
}
complete -F _kubectl_jxsecret kubectl-jxsecret
"""

ZSH = r"""#compdef kubectl-jxsecret
# zsh completion for kubectl-jxsecret (from `kubectl-jxsecret completion zsh`).
# `kubectl jxsecret <TAB>` needs none of this: kubectl's own completion runs kubectl_complete-jxsecret.
_kubectl_jxsecret() {
    local out directive l
    local -a lines values displays
    out=$(kubectl-jxsecret __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    directive=${lines[-1]#:}
    lines=("${(@)lines[1,-2]}")
    (( directive & 1 )) && return 1
    for l in "${lines[@]}"; do
        [[ -z $l ]] && continue
        values+=("${l%%$'\t'*}")
        if [[ $l == *$'\t'* ]]; then displays+=("${l%%$'\t'*}  -- ${l#*$'\t'}"); else displays+=("${l}"); fi
    done
    if (( ${#values} )); then
        if (( directive & 2 )); then compadd -S '' -l -d displays -a values; else compadd -l -d displays -a values; fi
        return 0
    fi
    (( directive & 4 )) || _files
}
compdef _kubectl_jxsecret kubectl-jxsecret
"""

FISH = r"""# fish completion for kubectl-jxsecret (from `kubectl-jxsecret completion fish`).
# `kubectl jxsecret <TAB>` needs none of this: kubectl's own completion runs kubectl_complete-jxsecret.
function __kubectl_jxsecret_complete
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l out (kubectl-jxsecret __complete $tokens[2..-1] "$current" 2>/dev/null)
    or return
    set -l directive (string replace -r '^:' '' -- $out[-1])
    set -e out[-1]
    test (math "bitand($directive, 1)") -eq 1; and return
    if test (count $out) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path "$current"
        return
    end
    printf '%s\n' $out
end
complete -c kubectl-jxsecret -f -a '(__kubectl_jxsecret_complete)'
"""

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def add_arguments(parser):
    sub = parser.add_subparsers(dest="completion_command", metavar="<command>", required=True)
    for shell, how in (("bash", 'source <(kubectl-jxsecret completion bash)        # in ~/.bashrc'),
                       ("zsh", 'source <(kubectl-jxsecret completion zsh)         # in ~/.zshrc, after compinit'),
                       ("fish", "kubectl-jxsecret completion fish | source         # in ~/.config/fish/config.fish")):
        add_command_parser(
            sub, shell, (), help=f"print the {shell} completion script for calling kubectl-jxsecret directly",
            description=f"Print a {shell} script that completes kubectl-jxsecret typed as a command of its own.\n"
                        "`kubectl jxsecret <TAB>` does not need it: kubectl's completion runs\n"
                        "kubectl_complete-jxsecret (see completion install).",
            examples=how)
    install = add_command_parser(
        sub, "install", (), help="put kubectl_complete-jxsecret beside kubectl-jxsecret (for krew installs)",
        description="Write the kubectl_complete-jxsecret wrapper into the directory of the kubectl-jxsecret\n"
                    "that PATH finds (krew's bin directory for a krew install), so that kubectl >= 1.26\n"
                    "completes `kubectl jxsecret <TAB>`. Does nothing when it is already there (pip installs\n"
                    "it as an entry point).",
        examples="kubectl jxsecret completion install\n  kubectl jxsecret completion install --dir ~/bin")
    install.add_argument("--dir", metavar="DIR",
                         help="write it here instead (a directory on PATH)")


def run(args, env) -> int:
    if args.completion_command == "install":
        return install(args.dir, env)
    env.stdout.write(SCRIPTS[args.completion_command])
    return 0


def install(directory, env) -> int:
    if directory is None:
        plugin = shutil.which("kubectl-jxsecret", path=env.environ.get("PATH", os.defpath))
        if plugin is None:
            raise JxSecretError("kubectl-jxsecret is not on PATH, so kubectl cannot find it either: "
                                "pass --dir DIR (a directory on PATH)")
        directory = os.path.dirname(plugin)
    if not os.path.isdir(directory):
        raise JxSecretError(f"{directory} is not a directory")
    target = os.path.join(directory, WRAPPER_NAME)
    if os.path.lexists(target):
        try:
            with open(target, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError as e:
            raise JxSecretError(f"cannot read {target}: {e.strerror}") from None
        executable = os.access(target, os.X_OK)
        if text == WRAPPER and executable:
            print(f"{target} is already installed: nothing to do", file=env.stdout)
            return 0
        if "kubectl_jxsecret" in text and executable:
            print(f"{target} is already installed (pip's entry point): nothing to do", file=env.stdout)
            return 0
        if text != WRAPPER:
            raise JxSecretError(f"{target} exists and is not ours: remove it, or pass --dir DIR")
    tmp = f"{target}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(WRAPPER)
        os.chmod(tmp, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        os.replace(tmp, target)
    except OSError as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise JxSecretError(f"cannot write {target}: {e.strerror}") from None
    print(f"installed {target}: kubectl (>= 1.26) now completes `kubectl jxsecret <TAB>` "
          "once kubectl's own completion is loaded", file=env.stdout)
    return 0
