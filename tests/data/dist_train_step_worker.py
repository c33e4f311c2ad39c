"""Run under torchrun: each rank trains the same tiny Darts on its own batches through DartsDistributedWrapper and
saves its initial and final state. Usage: worker.py OUT_DIR UNROLL(0|1) STEPS"""
import os.path as osp
import sys

import torch
import torch.distributed as dist

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from helpers import optim_wrappers, raw_batch, tiny_darts  # noqa: E402

from mmdarts.engine import DartsDistributedWrapper  # noqa: E402


def rank_batches(rank: int, step: int):
    return dict(train=raw_batch(seed=1000 * rank + step), arch=raw_batch(seed=1000 * rank + 500 + step))


def main():
    out_dir, unroll, steps = sys.argv[1], sys.argv[2] == '1', int(sys.argv[3])
    torch.set_num_threads(1)
    dist.init_process_group('gloo')
    rank = dist.get_rank()
    torch.manual_seed(rank)  # each rank starts from different weights: the wrapper must start all from rank 0's
    model = tiny_darts(unroll=unroll)
    wrapped = DartsDistributedWrapper(model)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    wrappers = optim_wrappers(model)
    for step in range(steps):
        wrapped.train_step(rank_batches(rank, step), wrappers)
    torch.save(dict(initial=initial, final=model.state_dict()), osp.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


if __name__ == '__main__':
    main()
