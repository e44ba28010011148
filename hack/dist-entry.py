# The PyInstaller entry point of the krew archive (hack/build-dist.sh): the same run() pip's entry points use.
from kubectl_jxsecret.cli import run

run()
