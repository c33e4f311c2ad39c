"""Run under torchrun: each rank computes the dominant eigenvalue of ∇²α L_val of the same tiny Darts on its own
batch and saves it. Usage: worker.py OUT_DIR"""
import os.path as osp
import sys

import torch
import torch.distributed as dist

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from helpers import batch, tiny_darts  # noqa: E402

from mmdarts.models.algorithms.arch_hessian import dominant_arch_eigenvalue  # noqa: E402


def main():
    torch.set_num_threads(1)
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    torch.manual_seed(0)  # the same model on both ranks, as a search's wrapper keeps it
    model = tiny_darts(dtype=torch.float64)
    value = dominant_arch_eigenvalue(model, [batch(dtype=torch.float64, seed=10 + rank)], iterations=8)
    torch.save(dict(value=value), osp.join(sys.argv[1], f'rank{rank}.pt'))
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
