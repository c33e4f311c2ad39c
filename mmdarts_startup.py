"""What must hold before a tool that does not import mmdarts first reads a config or imports torchvision.

mim and mmpretrain's own tools import torchvision (through mmpretrain) and parse configs before they import
mmdarts, if ever. Where mmdarts is installed, ``mmdarts-startup.pth`` in site-packages calls :func:`install` at
interpreter start: it only puts a finder on ``sys.meta_path`` (nothing heavy is imported), which

- before torchvision is first imported, makes its import work beside a torch it was not built for
  (:func:`ensure_torchvision_importable`);
- once mmengine's config module is loaded, lets configs inherit ``'mmdarts::darts_cifar10.py'`` and
  ``'mmdarts::_base_/models/darts_supernet_cifar.py'`` (:func:`patch_mmengine_config`);
- once mmengine's or mim's ``get_installed_path`` is loaded, makes it find mmdarts where Python imports it from
  (:func:`patch_installed_path`): both look for ``<site-packages>/mmdarts``, which an editable install (``make
  setup``'s) does not have, so ``mim train mmdarts`` and ``mmdarts::`` configs would not find ``mmdarts/.mim``.

``import mmdarts`` applies both as well, for environments without the ``.pth`` file. This module is stdlib-only at
import time and sits beside the ``mmdarts`` package, so importing it does not import mmdarts (whose import needs
torchvision).
"""
import glob
import importlib.abc
import importlib.machinery
import importlib.util
import os.path as osp
import sys
from typing import Callable, Optional

PTH_NAME = 'mmdarts-startup.pth'
# One line: site.py runs lines that start with "import"; a missing module (mmdarts uninstalled) is skipped.
PTH_LINE = ("import importlib.util as u; u.find_spec('mmdarts_startup') is not None and "
            "__import__('mmdarts_startup').install()\n")
SCOPE = 'mmdarts'

TORCHVISION_SCHEMAS = ('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
                       'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
# Keeps the schema definitions alive: a torch.library.Library removes its definitions when collected.
_torchvision_library = None


def _torchvision_ops_defined() -> bool:
    import torch
    try:
        torch.ops.torchvision.nms
    except (AttributeError, RuntimeError):
        return False
    return True


def ensure_torchvision_importable(load_library: Optional[Callable[[str], None]] = None) -> str:
    """Makes ``import torchvision`` work with a torch it was not built for.

    A CUDA build of torchvision beside a CPU torch cannot load its compiled ops, yet registers fake kernels for
    ``torchvision::nms`` and ``qnms`` unguarded, so ``import torchvision`` (and with it ``mmpretrain.models``) raises
    ``operator torchvision::nms does not exist``. This first tries to load torchvision's own ``_C`` library; only if
    that fails does it define the two operator schemas, without kernels, so pure-Python torchvision imports. Its
    compiled ops stay unavailable (mmdarts uses none).

    Returns:
        str: ``'absent'`` (no torchvision), ``'native'`` (its ops were already there), ``'loaded'`` (its library
        loaded) or ``'schemas'`` (the library did not load; schemas defined).
    """
    global _torchvision_library
    spec = importlib.util.find_spec('torchvision')
    if spec is None or spec.origin is None:
        return 'absent'
    import torch
    if _torchvision_ops_defined():
        return 'native'
    load_library = load_library or torch.ops.load_library
    folder = osp.dirname(spec.origin)
    for lib in sorted(glob.glob(osp.join(folder, '_C*.so')) + glob.glob(osp.join(folder, '_C*.pyd'))):
        try:
            load_library(lib)
        except (OSError, RuntimeError):
            continue
        if _torchvision_ops_defined():
            return 'loaded'
    _torchvision_library = torch.library.Library('torchvision', 'DEF')
    for schema in TORCHVISION_SCHEMAS:
        _torchvision_library.define(schema)
    return 'schemas'


def patch_mmengine_config(config_module=None) -> bool:
    """Lets mmengine configs name ``mmdarts::<path>``, with or without a folder in the path.

    mmengine 0.10 resolves ``package::path`` only for the OpenMMLab packages it lists, and only for paths with a
    folder (``mmpretrain::resnet/...``). For ``mmdarts::`` this resolves the package and path itself; mmengine then
    finds the file in ``mmdarts/.mim/configs`` (filled at install time, as OpenMMLab packages do). Returns whether
    it patched (False when done before)."""
    if config_module is None:
        import mmengine.config.config as config_module
    original = config_module._get_package_and_cfg_path
    if getattr(original, 'mmdarts', False):
        return False

    def package_and_cfg_path(cfg_path: str):
        package, sep, path = cfg_path.partition('::')
        if sep and package == SCOPE and path and '::' not in path:
            return SCOPE, path
        return original(cfg_path)

    package_and_cfg_path.mmdarts = True
    package_and_cfg_path.__doc__ = original.__doc__
    config_module._get_package_and_cfg_path = package_and_cfg_path
    patch_installed_path(config_module)  # its own binding of mmengine's get_installed_path
    return True


def package_folder(package: str = SCOPE) -> Optional[str]:
    """The folder Python imports ``package`` from (without importing it), or None."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def patch_installed_path(module) -> bool:
    """Wraps ``module.get_installed_path`` (mmengine's or mim's) so that for mmdarts it returns the folder Python
    imports mmdarts from: ``pkg_resources``' location of an editable install is site-packages, where no mmdarts
    folder is. Other packages are looked up as before. Returns whether it patched."""
    original = getattr(module, 'get_installed_path', None)
    if original is None or getattr(original, 'mmdarts', False):
        return False

    def get_installed_path(package: str) -> str:
        folder = package_folder() if package == SCOPE else None
        return folder if folder is not None else original(package)

    get_installed_path.mmdarts = True
    get_installed_path.__doc__ = original.__doc__
    module.get_installed_path = get_installed_path
    return True


class _AfterLoad(importlib.abc.Loader):
    """A module's own loader, then ``after(module)``."""

    def __init__(self, loader, after):
        self.loader, self.after = loader, after

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.after(module)

    def __getattr__(self, name):  # get_source, get_code, ...: the module's own loader's
        return getattr(self.loader, name)


class StartupFinder(importlib.abc.MetaPathFinder):
    """Runs the torchvision fix before torchvision's first import, and each patch of :data:`PATCHES` after its
    module loads; finds nothing itself (the other finders do)."""

    def __init__(self):
        self.done = set()

    def find_spec(self, name, path=None, target=None):
        if name in self.done or (name != 'torchvision' and name not in PATCHES):
            return None
        self.done.add(name)
        if name == 'torchvision':
            try:
                ensure_torchvision_importable()
            except Exception:  # never break an import that might have worked: torchvision then says why
                pass
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _AfterLoad(spec.loader, PATCHES[name])
        return spec


# module -> what to do once it has loaded (patched before any importer can bind the names it patches)
PATCHES = {
    'mmengine.config.config': patch_mmengine_config,
    'mmengine.utils.package_utils': patch_installed_path,
    'mim.utils.utils': patch_installed_path,
}


def install() -> None:
    """Puts :class:`StartupFinder` first on ``sys.meta_path`` (once); applies the patches of modules already
    loaded at once."""
    if not any(isinstance(f, StartupFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, StartupFinder())
    for name, patch in PATCHES.items():
        if name in sys.modules:
            patch(sys.modules[name])


def write_pth(site_packages: Optional[str] = None) -> str:
    """Writes ``mmdarts-startup.pth`` into ``site_packages`` (this interpreter's purelib by default), so
    :func:`install` runs at every interpreter start there. ``make setup`` calls this for its environment (an
    editable install gets no ``.pth`` from the wheel); a wheel install ships the file itself. Returns its path."""
    import sysconfig
    folder = site_packages or sysconfig.get_paths()['purelib']
    path = osp.join(folder, PTH_NAME)
    with open(path, 'w') as f:
        f.write(PTH_LINE)
    return path


if __name__ == '__main__':  # python -m mmdarts_startup: install the .pth into this interpreter's site-packages
    sys.stdout.write(write_pth() + '\n')
