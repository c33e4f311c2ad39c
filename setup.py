import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
# Shipped inside the package as OpenMMLab projects do (mmdarts/.mim): `mmdarts::` config inheritance and
# `mim train mmdarts CONFIG` find them there.
MIM_FILES = ('configs', 'tools', 'model-index.yml')
STARTUP_PTH = 'mmdarts-startup.pth'


def read_version() -> str:
    scope: dict = {}
    with open(osp.join(HERE, 'mmdarts', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def _clear(path: str) -> None:
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def fill_mim(target: str, mode: str) -> None:
    """``target`` (a package's .mim folder) gets MIM_FILES as links to the sources (editable installs: edits show at
    once) or as copies (wheels)."""
    os.makedirs(target, exist_ok=True)
    for name in MIM_FILES:
        source, dest = osp.join(HERE, name), osp.join(target, name)
        _clear(dest)
        if mode == 'symlink':
            os.symlink(osp.relpath(source, target), dest)
        elif osp.isdir(source):
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copyfile(source, dest)


class BuildWithMim(build_py):
    """build_py, plus mmdarts/.mim (copies) and mmdarts-startup.pth (at the root of the wheel: site-packages) in
    the build folder; the source tree is left as it is."""

    def run(self):
        super().run()
        fill_mim(osp.join(self.build_lib, 'mmdarts', '.mim'), 'copy')
        sys.path.insert(0, HERE)
        from mmdarts_startup import PTH_LINE
        with open(osp.join(self.build_lib, STARTUP_PTH), 'w') as f:
            f.write(PTH_LINE)


if any(command in sys.argv for command in ('develop', 'editable_wheel')):
    fill_mim(osp.join(HERE, 'mmdarts', '.mim'), 'symlink')  # an editable install reads the source tree

setup(
    name='mmdarts',
    version=read_version(),
    description='Differentiable Architecture Search (DARTS) for OpenMMLab 2.0',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'configs.*', 'tools', 'tools.*')),
    py_modules=['mmdarts_startup'],
    cmdclass={'build_py': BuildWithMim},
    python_requires='>=3.9',
    # torch, torchvision and mmcv(-lite) are left out on purpose: a user's CUDA torch and a full mmcv must
    # survive `pip install mmdarts`. tools/setup_env.sh (make setup) installs a stack known to work.
    install_requires=['mmengine>=0.10.0,<0.11', 'mmpretrain>=1.2.0,<1.3', 'setuptools>=77.0.3,<81'],
    extras_require={'tests': ['pytest', 'scikit-learn', 'hypothesis']},
    license='Apache License 2.0',
)
