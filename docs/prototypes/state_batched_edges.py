"""Measurement prototype for issue 16's next step (not part of the package): all edges leaving one state of a normal
cell computed together, with their parameters stored batched per state, against today's per-edge MixedOp.

    .venv/bin/python docs/prototypes/state_batched_edges.py [EDGES]

Prints the largest differences of outputs and of ∇x, ∇α against the per-edge path (float64) and the ATen calls of
each (forward, backward). Measured 2026-11-27 (docs/benchmarks.md): equal to 1e-14; per edge 46+77 calls for 1 edge,
84+148 for 2, 160+290 for 4, 312+574 for 8; batched 72+85..88 whatever the number of edges.
How: ReLU(x) repeated E times, the stage-1 depthwise convs of the four conv candidates as grouped convs over it
(weights (E·C, 1, k, k)), one grouped pointwise conv for all (candidate, edge) pairs, one BN whose affine scale is
1 for the separable convs' middle BN and the op weight for the dilated convs' last BN, the separable convs' second
half likewise, one sum over the candidates; the pools and their affine-free BN once for all edges (the normalised
output is the same for each; only the op weight differs), mixed with skip by one einsum. Running statistics, the
memory-saving recomputation, stride 2, PC-DARTS and the state-dict mapping are not in it.
"""
import sys

import torch
import torch.nn.functional as F

from mmdarts.models.ops import DARTS_PRIMITIVES
from mmdarts.models.utils.search_cell import MixedOp, op_weight_vectors
from mmdarts.testing import AtenCallCounter

N, C, H = 4, 8, 8
E = int(sys.argv[1]) if len(sys.argv) > 1 else 4
DT = torch.float64
SEP3, SEP5, DIL3, DIL5 = (DARTS_PRIMITIVES.index(p) for p in ('sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3',
                                                              'dil_conv_5x5'))
torch.manual_seed(0)
ops = [MixedOp(C, 1, DARTS_PRIMITIVES, dict(type='ReLU')).to(DT).train() for _ in range(E)]
for bn in (m for op in ops for m in op.modules() if isinstance(m, torch.nn.BatchNorm2d)):
    bn.track_running_stats = False  # the maths only
x = torch.randn(N, C, H, H, dtype=DT, requires_grad=True)
alpha = torch.randn(E, len(DARTS_PRIMITIVES), dtype=DT, requires_grad=True)


def conv_of(k: int, stage: int, part: int) -> torch.Tensor:
    """The weights of every edge's candidate ``k``, depthwise (part 1) or pointwise (part 2), stacked."""
    mods = [op.ops[k] for op in ops]
    convs = [m[stage][part] for m in mods] if k in (SEP3, SEP5) else [m[part] for m in mods]
    return torch.cat([c.weight for c in convs]).detach().requires_grad_(True)


DW1 = [conv_of(k, 0, 1) for k in (SEP3, SEP5, DIL3, DIL5)]
PW1 = torch.cat([conv_of(k, 0, 2) for k in (SEP3, SEP5, DIL3, DIL5)]).detach().requires_grad_(True)
DW2 = [conv_of(k, 1, 1) for k in (SEP3, SEP5)]
PW2 = torch.cat([conv_of(k, 1, 2) for k in (SEP3, SEP5)]).detach().requires_grad_(True)
GEOMETRY1 = [(1, 1), (2, 1), (2, 2), (4, 2)]  # (padding, dilation) of sep3, sep5, dil3, dil5
GEOMETRY2 = [(1, 1), (2, 1)]


def per_edge():
    rows = op_weight_vectors(torch.softmax(alpha, -1), C).unbind(0)
    shared = {}
    return [op(x, rows[e], shared) for e, op in enumerate(ops)]


def batched():
    w = torch.softmax(alpha, -1)
    hx = torch.relu(x).repeat(1, E, 1, 1)  # (N, E·C), channels ordered (edge, channel)
    d1 = torch.cat([F.conv2d(hx, k, None, 1, p, d, E * C) for k, (p, d) in zip(DW1, GEOMETRY1)], 1)
    z1 = F.conv2d(d1, PW1, None, 1, 0, 1, 4 * E)  # (N, 4·E·C), ordered (candidate, edge, channel)
    scale1 = torch.cat([torch.ones(2 * E * C, dtype=DT), w[:, [DIL3, DIL5]].t().repeat_interleave(C, 1).reshape(-1)])
    y1 = F.batch_norm(z1, None, None, scale1, None, True, 0.1, 1e-5)
    r = torch.relu(y1[:, :2 * E * C])
    d2 = torch.cat([F.conv2d(r[:, i * E * C:(i + 1) * E * C], k, None, 1, p, d, E * C)
                    for i, (k, (p, d)) in enumerate(zip(DW2, GEOMETRY2))], 1)
    z2 = F.conv2d(d2, PW2, None, 1, 0, 1, 2 * E)
    y2 = F.batch_norm(z2, None, None, w[:, [SEP3, SEP5]].t().repeat_interleave(C, 1).reshape(-1), None, True, 0.1,
                      1e-5)
    convs = torch.cat([y2, y1[:, 2 * E * C:]], 1).view(N, 4, E, C, H, H).sum(1)
    pools = torch.stack([F.batch_norm(F.max_pool2d(x, 3, 1, 1), None, None, None, None, True, 0.1, 1e-5),
                         F.batch_norm(F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), None, None, None, None,
                                      True, 0.1, 1e-5), x], 1)  # max pool, avg pool, skip
    return (convs + torch.einsum('nkchw,ek->nechw', pools, w[:, 1:4])).unbind(1)


if __name__ == '__main__':
    reference, out = per_edge(), batched()
    grad = [torch.randn_like(r) for r in reference]
    print('largest difference of the outputs:', max(float((a - b).abs().max().detach()) for a, b in zip(reference, out)))
    print('of ∇x, ∇α:', [float((a - b).abs().max()) for a, b in zip(torch.autograd.grad(reference, [x, alpha], grad),
                                                                     torch.autograd.grad(out, [x, alpha], grad))])
    for fn, params in ((per_edge, [p for op in ops for p in op.parameters()]), (batched, DW1 + [PW1] + DW2 + [PW2])):
        with AtenCallCounter() as forward:
            ys = fn()
        with AtenCallCounter() as backward:
            torch.autograd.grad(ys, [x, alpha] + params, grad)
        print(f'{fn.__name__}, {E} edges: {forward.total} forward and {backward.total} backward ATen calls')
