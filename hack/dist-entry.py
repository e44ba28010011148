# The PyInstaller entry point of the krew archive (hack/build-dist.sh): the same main() pip's entry points run.
import sys

from kubectl_jxsecret.cli import main

sys.exit(main())
