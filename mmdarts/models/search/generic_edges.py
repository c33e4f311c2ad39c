"""A candidate of no batched kind of its own (a *generic* op) run once for every edge of a wave.

Within a wave every edge holds its own module of the candidate, all alike (the same structure and shapes), and
reads its source's channels of the wave's per-edge input ``(N, B·C, H, W)`` (B entries: the edges, or with weight
copies side by side in a twin pass, (copy, edge)). The module's forward is walked as the sequence of modules it
runs (``nn.Sequential``, nested, or a single module) and each runs once for all entries:

- a conv as one conv grouped by entry: its weight is the entries' weights one after the other (a bank of
  :mod:`.edge_banks`, or concatenated at the forward), exactly a grouped conv's weight;
- an element-wise activation or a pool as itself (it acts per channel);
- an affine-free BN as one BN over the entries' channels (:func:`~.batched_edges.batched_batch_norm`, running
  statistics per edge, banked like the wave's other BNs);
- any other module under ``torch.func.vmap`` over the entries' weights and buffers (its updated buffers written
  back), whose batching rules turn the convs inside into grouped convs.

The mixing weights are folded as elsewhere: a leading activation shared with the wave's other candidates is taken
from the wave, and a final affine-free BN is one of the wave's BN groups, scaled by the op weights. The numbers are
those of each edge's module on its own (tests, float64).
"""
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call, vmap

from ..ops import PLAIN_BATCH_NORMS, DilatedConv2d
from .candidate_parts import shareable_activation

# modules that act on each channel alone, without weights: they run on all entries' channels as they are
CHANNELWISE = (nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Hardswish, nn.Hardsigmoid,
               nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Mish, nn.MaxPool2d, nn.AvgPool2d)


def alike(column: Sequence[nn.Module]) -> bool:
    """Whether the modules of ``column`` (one candidate's on each edge of a wave) can run as one: the same
    structure, settings and tensor shapes, no 0-dim parameter (the edges' rows are concatenated)."""
    def signature(m):
        return (repr(m), [(n, t.shape, t.dtype) for n, t in m.named_parameters()],
                [(n, None if t is None else t.shape) for n, t in m.named_buffers()])
    first = signature(column[0])
    return all(p.dim() > 0 for p in column[0].parameters()) and all(signature(m) == first for m in column[1:])


def sequence(module: nn.Module, path: str = '') -> Iterator[Tuple[str, nn.Module]]:
    """``(path, module)`` of the modules ``module``'s forward runs, in order: the children of an ``nn.Sequential``
    (or a subclass keeping its forward), recursively; any other module is one step."""
    if type(module).forward is nn.Sequential.forward and len(module):
        for name, child in module.named_children():
            yield from sequence(child, f'{path}{name}.')
    else:
        yield path[:-1], module


def _how(module: nn.Module) -> str:
    """How a step runs for all entries at once: ``'conv'`` (grouped by entry), ``'channelwise'`` (as it is),
    ``'norm'`` (one BN) or ``'vmap'``."""
    if type(module) in (nn.Conv2d, DilatedConv2d) and module.padding_mode == 'zeros':
        return 'conv'
    if type(module) in CHANNELWISE and not getattr(module, 'return_indices', False):
        return 'channelwise'
    if type(module) in PLAIN_BATCH_NORMS and not module.affine:
        return 'norm'
    return 'vmap'


class GenericColumn:
    """One generic candidate (index ``o``) on every edge of a wave (``column``), run once for all edges.

    ``key``: the leading activation the wave shares (a first step that is that activation is then left out: the
    wave hands in its activated sources, :attr:`skip_first`). :attr:`weight_groups` (group: (attribute, the edges'
    modules)) are the convs' and vmapped modules' weights, :attr:`norm_groups` (group: the edges' BNs) the BNs;
    the final BN, when the op ends in one, is the group ``gen{o}``, scaled by the op weights (:attr:`folded`)."""

    def __init__(self, o: int, column: Sequence[nn.Module], key: Optional[str]):
        steps = list(sequence(column[0]))
        self.edges = len(column)
        modules = [dict(op.named_modules()) for op in column]
        self.skip_first = (key is not None and _how(steps[0][1]) == 'channelwise'
                           and shareable_activation(column[0]) == key)
        self.folded = len(steps) > 1 and _how(steps[-1][1]) == 'norm'
        self.steps: List[Tuple[str, str, nn.Module, str]] = []  # (how, group, module, its path)
        self.weight_groups: Dict[str, Tuple[str, List[nn.Module]]] = {}
        self.norm_groups: Dict[str, List[nn.Module]] = {}
        self.vmapped: Dict[str, List[Tuple[str, str, List[nn.Module], str]]] = {}  # path: (name, kind, owners, attr)
        for i, (path, module) in enumerate(steps):
            how = _how(module)
            group = f'gen{o}' if self.folded and i == len(steps) - 1 else f'gen{o}_{i}'
            if how == 'norm':
                self.norm_groups[group] = [m[path] for m in modules]
            elif how == 'conv':
                self.weight_groups[group] = ('weight', [m[path] for m in modules])
                if module.bias is not None:
                    self.weight_groups[group + 'b'] = ('bias', [m[path] for m in modules])
            elif how == 'vmap':
                self.vmapped[path] = []
                for kind, named in (('param', module.named_parameters()), ('buffer', module.named_buffers())):
                    for j, (name, _) in enumerate(named):
                        owner, _, attr = name.rpartition('.')
                        owners = [m[f'{path}.{owner}'.strip('.')] for m in modules]
                        if kind == 'param':
                            self.weight_groups[f'{group}_{j}'] = (attr, owners)
                        self.vmapped[path].append((name, f'{group}_{j}' if kind == 'param' else kind, owners, attr))
            self.steps.append((how, group, module, path))
        if self.skip_first:
            self.steps = self.steps[1:]

    def __call__(self, x: torch.Tensor, weight, norm, copies: int) -> torch.Tensor:
        """The candidate on ``x`` (``(N, B·C, H, W)``), before its folded BN where it has one. ``weight(group)``:
        the group's weights of every entry, one after the other; ``norm(z, group)``: the BN group on ``z``."""
        entries = copies * self.edges
        for how, group, module, path in self.steps[:-1] if self.folded else self.steps:
            if how == 'channelwise':
                x = module(x)
            elif how == 'conv':
                bias = weight(group + 'b') if group + 'b' in self.weight_groups else None
                x = F.conv2d(x, weight(group), bias, module.stride, module.padding, module.dilation,
                             module.groups * entries)
            elif how == 'norm':
                x = norm(x, group)
            else:
                x = self._vmap(module, path, x, weight, copies)
        return x

    def _vmap(self, module: nn.Module, path: str, x: torch.Tensor, weight, copies: int) -> torch.Tensor:
        """``module`` of every entry under vmap; its buffers stacked (repeated per weight copy) and, without
        copies, the updated ones written back."""
        n, _, h, w = x.shape
        entries = copies * self.edges
        state = {}
        for name, group, owners, attr in self.vmapped[path]:
            if group != 'buffer':
                t = weight(group)
                state[name] = t.view(entries, -1, *t.shape[1:])
            else:
                stacked = torch.stack([getattr(m, attr) for m in owners])
                state[name] = stacked.repeat(copies, *([1] * (stacked.dim() - 1))) if copies > 1 else stacked
        call = vmap(lambda s, xi: functional_call(module, s, (xi, )), in_dims=(0, 1), out_dims=1)
        y = call(state, x.view(n, entries, -1, h, w))
        if copies == 1:  # buffers the call updated
            for name, group, owners, attr in self.vmapped[path]:
                if group == 'buffer':
                    torch._foreach_copy_([getattr(m, attr) for m in owners], list(state[name].unbind(0)))
        return y.reshape(n, -1, *y.shape[-2:])

