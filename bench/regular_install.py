"""The plugin as a user's `pip install` puts it, for the benchmarks that time its start-up: the repository's
.venv holds an editable install, whose import hook (a .pth file run at every interpreter start) no user has."""

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = REPO / ".venv" / "bin" / "python"
INSTALL = REPO / "bench" / "results" / "regular-install"  # rebuilt every run
# What pip (or krew's archive) installs: the package and its data; the rest of the tree is not copied.
INSTALLED_FILES = ("setup.cfg", "pyproject.toml", "README.md", "LICENSE", "kubectl_jxsecret")


def regular_install() -> Path:
    """The bin directory of a venv holding this working tree as `pip install` puts it there.

    pip builds from a copy of the tree (it builds in its source directory, and the working tree is shared),
    with build isolation, as for a user. The dependencies are not installed again: a .pth line puts the
    repository venv's site-packages after the venv's own (a path entry only: the .pth files there, the
    editable install's hook among them, are not run)."""
    shutil.rmtree(INSTALL, ignore_errors=True)
    venv, source = INSTALL / "venv", INSTALL / "source"
    source.mkdir(parents=True)
    for name in INSTALLED_FILES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    python = venv / "bin" / "python"
    subprocess.run([str(PY), "-m", "venv", "--without-pip", str(venv)], check=True)
    (site_packages(python) / "jxsecret-bench-dependencies.pth").write_text(f"{site_packages(PY)}\n")
    installed = subprocess.run([str(PY), "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                                str(source)])
    if installed.returncode != 0:
        raise SystemExit("bench: pip could not install the working tree (its error is above; pip fetches setuptools "
                         "and wheel to build it, as `make venv` does)")
    shutil.rmtree(source)
    return venv / "bin"


def site_packages(python: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip())
