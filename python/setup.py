"""`pip install ./python` after `make lib`: no compiler runs here; the already built
../build/libdopt.so (or $DOPT_LIB) is copied into the package so the install is self-contained.
Without it the package still installs and finds libdopt.so at run time ($DOPT_LIB, the system
library path after `make install`)."""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithLib(build_py):
    def run(self):
        super().run()
        src = os.environ.get("DOPT_LIB") or os.path.join(HERE, "..", "build", "libdopt.so")
        if os.path.exists(src):
            dst = os.path.join(self.build_lib, "dopt", "libdopt.so")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copyfile(src, dst)
            print("dopt: bundled %s" % os.path.abspath(src))
        else:
            print("dopt: no libdopt.so to bundle (run `make lib` first, or set DOPT_LIB)")


setup(cmdclass={"build_py": BuildPyWithLib})
