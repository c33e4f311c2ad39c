"""Small builders shared by the tests: a tiny Darts model and batches for it."""
import os
import subprocess
import sys
from typing import Dict, Optional, Sequence

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmpretrain.structures import DataSample

from mmdarts.models import Darts

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SMOOTH_PRIMITIVES = ('none', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'dil_conv_3x3')


def tiny_architecture(primitives: Optional[Sequence[str]] = None, act: str = 'ReLU', channels: int = 4,
                      layers: int = 3, nodes: int = 2, num_classes: int = 4, in_channels: int = 3,
                      edge_layout: str = 'auto', auxiliary_skip: bool = False) -> Dict:
    backbone = dict(type='DartsSupernet', base_channels=channels, num_layers=layers, num_nodes=nodes,
                    stem_multiplier=2, in_channels=in_channels, act_cfg=dict(type=act), edge_layout=edge_layout,
                    auxiliary_skip=auxiliary_skip)
    if primitives is not None:
        backbone['primitives'] = list(primitives)
    reductions = len({layers // 3, 2 * layers // 3})
    return dict(
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=nodes * channels * 2**reductions))


def tiny_darts(unroll: bool = False, dtype=torch.float32, **kwargs) -> Darts:
    model = Darts(architecture=tiny_architecture(**kwargs), unroll=unroll)
    with torch.no_grad():  # α away from uniform so every op matters
        for alpha in model.mutator.parameters():
            alpha.normal_(0, 0.5)
    return model.to(dtype).train()


def batch(n: int = 6, size: int = 8, num_classes: int = 4, dtype=torch.float32, seed: int = 0,
          channels: int = 3) -> Dict:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n, ), generator=g)
    inputs = torch.randn(n, channels, size, size, generator=g, dtype=torch.float64).to(dtype)
    return dict(inputs=inputs, data_samples=[DataSample().set_gt_label(int(y)) for y in labels])


def raw_batch(n: int = 6, size: int = 8, num_classes: int = 4, seed: int = 0) -> Dict:
    """A batch as a dataloader gives it (uint8 CHW images), for ``train_step``."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, num_classes, (n, ), generator=g)
    images = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(n)]
    return dict(inputs=images, data_samples=[DataSample().set_gt_label(int(y)) for y in labels])


def subprocess_env(threads: Optional[int] = None, **extra: str) -> Dict[str, str]:
    """This environment for a fresh interpreter: ``threads`` threads (by default this process's share, its
    OMP_NUM_THREADS: one in each of ``make test``'s parallel workers), output unbuffered, and ``extra``."""
    threads = threads or int(os.environ.get('OMP_NUM_THREADS', 2))
    return dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1', **extra)


def run_python(args, timeout: int = 300, threads: Optional[int] = None, env: Optional[Dict] = None, cwd: str = REPO):
    """Runs ``python ARGS`` in a fresh interpreter with this venv (:func:`subprocess_env`); returns the
    CompletedProcess."""
    return subprocess.run([sys.executable] + list(args), cwd=cwd, env=subprocess_env(threads, **(env or {})),
                          capture_output=True, text=True, timeout=timeout)


def load_tool(name: str):
    """``tools/<name>.py`` as a module, to call its functions in this process."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(f'tools_{name}', os.path.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sgd(model: Darts, lr: float = 0.1, momentum: float = 0.9, wd: float = 3e-4) -> torch.optim.SGD:
    return torch.optim.SGD(model.architecture.parameters(), lr=lr, momentum=momentum, weight_decay=wd)


def adam(model: Darts) -> torch.optim.Adam:
    return torch.optim.Adam(model.mutator.parameters(), lr=0.01, betas=(0.5, 0.999), weight_decay=1e-3)


def optim_wrappers(model: Darts, lr: float = 0.1) -> OptimWrapperDict:
    """The paper's optimizers (SGD with clipping for the weights, Adam for α), at test-friendly rates."""
    return OptimWrapperDict(
        architecture=OptimWrapper(sgd(model, lr=lr), clip_grad=dict(max_norm=5.)), mutator=OptimWrapper(adam(model)))
