"""Put known bugs back, one at a time, and check that the tests catch each: python tools/mutation_check.py [NAME ...]

Each mutant below is a one-line change to mmdarts (the bugs other DARTS code has had: the ``/ 2. * eps``
precedence, gradients leaking between passes, BN statistics polluted by the α step, ranks averaging nothing; and
slips in mmdarts' own fast paths: a custom backward's mask, a kernel's padding, the order of weight copies). The
tool writes it into the file, runs the tests named beside it (``pytest -x``, the suite's fast tests, one process
per core) and restores the file, whatever happens; a mutant the tests let pass is a test missing. It prints one
line per mutant and exits 1 if any survived.

It edits the working tree in place, so that the interpreters a test starts see the mutant too: run it on a tree
with nothing else running (not beside ``make test``). ``--list`` prints the mutants. ``docs/tests.md`` has the last
results and how long they take (about 55 minutes for all on 2 cores).
"""
import argparse
import os
import subprocess
import sys
import time
from typing import List, NamedTuple

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALGORITHMS, SEARCH, MODELS = 'tests/test_models/test_algorithms', 'tests/test_models/test_search', 'tests/test_models'


class Mutant(NamedTuple):
    name: str
    path: str  # relative to the repository
    old: str  # a string found exactly once in the file
    new: str
    tests: str  # pytest arguments: the tests that must fail


MUTANTS: List[Mutant] = [
    # Eq. 6-8 (models/algorithms/arch_gradient.py, second_order.py, twin_pass.py)
    Mutant('virtual step without weight decay', 'mmdarts/models/algorithms/arch_gradient.py',
           'd = torch._foreach_add(g, w, alpha=wd) if wd else list(g)', 'd = list(g)', ALGORITHMS),
    Mutant('virtual step with momentum 1', 'mmdarts/models/algorithms/arch_gradient.py', 'alpha=mu)', 'alpha=1.0)',
           ALGORITHMS),
    Mutant('virtual step uphill', 'mmdarts/models/algorithms/arch_gradient.py',
           'torch._foreach_add(w, d, alpha=-lr))', 'torch._foreach_add(w, d, alpha=lr))', ALGORITHMS),
    Mutant('virtual step uphill (ξ as a tensor, captured passes)', 'mmdarts/models/algorithms/arch_gradient.py',
           'torch._foreach_sub(w, torch._foreach_mul(d, lr))', 'torch._foreach_add(w, torch._foreach_mul(d, lr))',
           ALGORITHMS),
    Mutant('virtual step without momentum buffers', 'mmdarts/models/algorithms/arch_gradient.py',
           "buffers = [optimizer.state.get(p, {}).get('momentum_buffer') for p in params]",
           'buffers = [None for p in params]', ALGORITHMS),
    Mutant('ε twice as large', 'mmdarts/models/algorithms/arch_gradient.py', 'return scale / norm.clamp_min',
           'return 2 * scale / norm.clamp_min', ALGORITHMS),
    Mutant('w⁻ = w − ε v / 2', 'mmdarts/models/algorithms/arch_gradient.py',
           'torch._foreach_sub(list(weights), step)',
           'torch._foreach_sub(list(weights), torch._foreach_mul(step, 0.5))', ALGORITHMS),
    Mutant('the / 2. * eps precedence', 'mmdarts/models/algorithms/arch_gradient.py',
           '[(gp - gm) / (2 * epsilon.to(gp.dtype))', '[(gp - gm) / 2 * epsilon.to(gp.dtype)', ALGORITHMS),
    Mutant('the twin pass divides by ε, not 2ε', 'mmdarts/models/algorithms/arch_gradient.py',
           '[g / (2 * epsilon.to(g.dtype)) for g in grads_difference]',
           '[g / epsilon.to(g.dtype) for g in grads_difference]', ALGORITHMS),
    Mutant('Eq. 7 adds the second-order term', 'mmdarts/models/algorithms/arch_gradient.py',
           '[g - lr * h for g, h', '[g + lr * h for g, h', ALGORITHMS),
    Mutant('exact HVP of 2v', 'mmdarts/models/algorithms/arch_gradient.py', 'grad_outputs=list(vector)',
           'grad_outputs=[2 * v for v in vector]', ALGORITHMS),
    Mutant('Eq. 8 numerator L(w⁻) − L(w⁺)', 'mmdarts/models/algorithms/second_order.py',
           'torch.autograd.grad(losses[0] - losses[1], alphas)', 'torch.autograd.grad(losses[1] - losses[0], alphas)',
           ALGORITHMS),
    Mutant('twin pass heads swapped', 'mmdarts/models/algorithms/twin_pass.py',
           'for weights, copy in zip((plus, minus), copies):', 'for weights, copy in zip((minus, plus), copies):',
           ALGORITHMS),
    Mutant('twin pass with w⁺ twice', 'mmdarts/models/algorithms/twin_pass.py', 'torch.cat([p, m]) for n, p, m',
           'torch.cat([p, p]) for n, p, m', ALGORITHMS),
    # what a step may touch (models/algorithms/darts.py, running_stats.py)
    Mutant('BN statistics moved by the α passes', 'mmdarts/models/algorithms/running_stats.py',
           '        m.track_running_stats = False\n    try:', '        pass\n    try:', ALGORITHMS),
    Mutant("a candidate's own state carried from one α pass to the next",
           'mmdarts/models/algorithms/running_stats.py', 'register_forward_pre_hook(partial(_restore, state, saved))',
           'register_forward_pre_hook(lambda *_: None)', SEARCH),
    Mutant("a candidate's own state moved by the α step", 'mmdarts/models/algorithms/running_stats.py',
           '            hook.remove()\n            _restore(state, saved)', '            hook.remove()',
           SEARCH),
    Mutant('a ReLU-first DepthwisesPointwise silently twice differentiated',
           'mmdarts/models/functional/depthwise_pointwise.py', 'if (ctx.invstd is not None or ctx.relu) and',
           'if (ctx.invstd is not None) and', 'tests/test_models/test_ops'),
    Mutant('size-aware decay over DARTS-\'s auxiliary skip', 'mmdarts/models/regularizers/size_aware_decay.py',
           'mixed.sizes[:len(cell.primitives)]', 'mixed.sizes', 'tests/test_models/test_regularizers'),
    Mutant('the weight step sees α attached', 'mmdarts/models/algorithms/darts.py',
           'loss, log_vars = self.loss_and_log(train_batch, detach_alpha=True, noise=noise)',
           'loss, log_vars = self.loss_and_log(train_batch, detach_alpha=False, noise=noise)', ALGORITHMS),
    Mutant("α's gradient added to a stale .grad", 'mmdarts/models/algorithms/darts.py',
           '                alpha.grad = grad\n', '                alpha.grad = grad if alpha.grad is None else '
           'alpha.grad + grad\n', ALGORITHMS),
    Mutant('non-finite α gradients applied', 'mmdarts/models/algorithms/darts.py',
           "if all_finite(iteration, 'α step', pass_losses, arch_grads, 'α gradient', self.nonfinite):", 'if True:',
           ALGORITHMS),
    Mutant('α gradients not averaged over ranks', 'mmdarts/models/algorithms/darts.py',
           '        all_reduce_mean_(arch_grads)\n', '        pass\n',
           'tests/test_engine/test_darts_distributed_wrapper.py'),
    Mutant('weight gradients not averaged over ranks', 'mmdarts/models/algorithms/darts.py',
           '            all_reduce_mean_(grads)\n', '            pass\n',
           'tests/test_engine/test_darts_distributed_wrapper.py'),
    Mutant('AMP weight gradients unscaled in a captured pass', 'mmdarts/models/algorithms/captured_step.py',
           'return wrapper.loss_scaler.scale(loss) if isinstance(wrapper, AmpOptimWrapper) else loss',
           'return loss', ALGORITHMS),
    # the captured passes (CUDA graphs; on CPU through OpReplayPass)
    Mutant('a graph replayed for another signature', 'mmdarts/models/algorithms/captured_passes.py',
           'entry = entries.pop(signature, None) or dict(runs=0, graph=None)',
           'entry = entries.pop(signature, None) or next(iter(entries.values()), None) or dict(runs=0, graph=None)',
           ALGORITHMS),
    Mutant("ξ baked into the captured α step", 'mmdarts/models/algorithms/captured_step.py',
           'pass_losses.append, *tensors[2 * len(batches):])', 'pass_losses.append)', ALGORITHMS),
    Mutant('momentum buffers left out of the signature', 'mmdarts/models/algorithms/captured_step.py',
           'hyper = (tuple(momentums), tuple(decays), tensor_addresses(buffers))',
           'hyper = (tuple(momentums), tuple(decays))', ALGORITHMS),
    Mutant("GDAS's τ left out of the signature", 'mmdarts/models/algorithms/captured_step.py',
           "getattr(model.mutator, 'tau', None), model.memory_format", 'model.memory_format', ALGORITHMS),
    Mutant('the AMP scale left out of the signature', 'mmdarts/models/algorithms/captured_step.py',
           'scale = tensor_addresses([scaler._scale]) if amp else ()', 'scale = ()', ALGORITHMS),
    Mutant('captured labels all the first one', 'mmdarts/models/algorithms/captured_passes.py',
           "labels[i:i + 1] if field == 'gt_label' else labels[i]", "labels[0:1] if field == 'gt_label' else labels[0]",
           ALGORITHMS),
    # search health and collapse resistance
    Mutant('Hessian without R-DARTS decay', 'mmdarts/models/algorithms/arch_hessian.py',
           'return [t + weight_decay * v for t, v in zip(total, vector)]', 'return [t for t, v in zip(total, vector)]',
           ALGORITHMS),
    Mutant('Hessian summed over batches', 'mmdarts/models/algorithms/arch_hessian.py',
           't.add_(p.detach(), alpha=1.0 / len(batches))', 't.add_(p.detach())', ALGORITHMS),
    Mutant('Lanczos diagonal off by 1 %', 'mmdarts/models/algorithms/arch_hessian.py',
           'diagonal.append(torch.dot(w, basis[-1]))', 'diagonal.append(1.01 * torch.dot(w, basis[-1]))', ALGORITHMS),
    Mutant('SDARTS-RS noise one-sided', 'mmdarts/models/algorithms/collapse_resistance.py',
           'uniform_(-epsilon, epsilon)', 'uniform_(0, epsilon)', ALGORITHMS),
    Mutant('schedules a step ahead', 'mmdarts/models/algorithms/collapse_resistance.py',
           'return start + (end - start) * epoch / max(max_epochs, 1)',
           'return start + (end - start) * (epoch + 1) / max(max_epochs, 1)', ALGORITHMS),
    Mutant('Beta-Decay summed', 'mmdarts/models/regularizers/beta_decay.py',
           'for alpha in alphas.values()]).mean()', 'for alpha in alphas.values()]).sum()',
           'tests/test_models/test_regularizers'),
    Mutant('size-aware decay without its 1/2', 'mmdarts/models/regularizers/size_aware_decay.py',
           'sum(0.5 * (coefficients', 'sum(1.0 * (coefficients', 'tests/test_models/test_regularizers'),
    Mutant('DARTS-ES compares with the evaluation before', 'mmdarts/engine/hooks/stop_rules.py',
           'earlier = current - delta', 'earlier = current - 1', 'tests/test_engine'),
    Mutant('DARTS+ fires one skip connection early', 'mmdarts/engine/hooks/stop_rules.py',
           'count < skip_connects_at:', 'count < skip_connects_at - 1:', 'tests/test_engine'),
    Mutant('genotype unchanged for one epoch fewer', 'mmdarts/engine/hooks/stop_rules.py',
           'recent = [(e, g) for e, g in history if e >= epoch - epochs]',
           'recent = [(e, g) for e, g in history if e > epoch - epochs]', 'tests/test_engine'),
    Mutant("the reduction cells mixed by the normal cell's α", 'mmdarts/models/backbones/darts_supernet.py',
           "kind = 'reduce' if cell.reduction else 'normal'\n                s0, s1 = s1,",
           "kind = 'normal' if cell.reduction else 'reduce'\n                s0, s1 = s1,", MODELS),
    Mutant("DARTS-'s auxiliary skip weighted 1", 'mmdarts/models/backbones/darts_supernet.py',
           'torch.cat([weights, beta.to(weights.dtype).expand(weights.shape[0], 1)], dim=1)',
           'torch.cat([weights, torch.ones_like(weights[:, :1])], dim=1)', ALGORITHMS),
    Mutant('GDAS evaluates a fresh sample', 'mmdarts/models/mutators/diff_mutator.py',
           '        if not self.training:  # the architecture the search would pick now\n',
           '        if False:  # the architecture the search would pick now\n', 'tests/test_models/test_mutators'),
    Mutant('PC-DARTS genotype ignores β', 'mmdarts/models/mutators/diff_mutator.py',
           'weights[cell] = weights[cell] * edge_normalized_weights(beta.detach(), self.num_nodes)[:, None]',
           'weights[cell] = weights[cell]', MODELS),
    # the mutator and the genotype
    Mutant('PC-DARTS edge weights by sigmoid', 'mmdarts/models/mutators/diff_mutator.py',
           'b.softmax(-1) for b in beta.split', 'b.sigmoid() for b in beta.split', MODELS),
    Mutant('GDAS without straight-through', 'mmdarts/models/mutators/diff_mutator.py',
           'return hard - soft.detach() + soft', 'return hard', 'tests/test_models/test_mutators'),
    Mutant('GDAS without τ', 'mmdarts/models/mutators/diff_mutator.py',
           'soft = torch.softmax((alpha + gumbel) / tau, dim=-1)', 'soft = torch.softmax((alpha + gumbel), dim=-1)',
           'tests/test_models/test_mutators'),
    Mutant("genotype keeps 'none'", 'mmdarts/structures/genotype.py',
           'allowed = [k for k, p in enumerate(primitives) if p not in exclude]',
           'allowed = [k for k, p in enumerate(primitives)]', 'tests/test_structures tests/test_models/test_mutators'),
    Mutant('genotype keeps the two weakest edges', 'mmdarts/structures/genotype.py',
           'sorted(candidates)[:EDGES_PER_NODE]', 'sorted(candidates)[-EDGES_PER_NODE:]',
           'tests/test_structures tests/test_models/test_mutators'),
    Mutant('genotype ties to the later op', 'mmdarts/structures/genotype.py',
           'best = max(allowed, key=lambda k: (row[k], -k))', 'best = max(allowed, key=lambda k: (row[k], k))',
           'tests/test_structures tests/test_models/test_mutators'),
    # the batched cells (models/search) and their functions (models/functional)
    Mutant('batched BN with another momentum', 'mmdarts/models/search/batched_edges.py',
           'first.training, first.momentum, first.eps)[0]', 'first.training, 0.2, first.eps)[0]', SEARCH),
    Mutant('gathered BN statistics not written back', 'mmdarts/models/search/batched_edges.py',
           '        torch._foreach_copy_(means + variances, gathered.split(first.num_features))', '        pass',
           SEARCH),
    Mutant('batched BNs count no batch', 'mmdarts/models/search/batched_edges.py',
           'add_batch_counts([stats[2]] if stats is not None else [bn.num_batches_tracked for bn in bns])', 'pass',
           SEARCH),
    Mutant('twin pass sources repeated (node, copy)', 'mmdarts/models/search/batched_edges.py',
           'return x.view(n, copies, 1, -1, h, w).repeat(1, 1, nodes, 1, 1, 1).view(n, -1, h, w)',
           'return x.view(n, 1, copies, -1, h, w).repeat(1, nodes, 1, 1, 1, 1).view(n, -1, h, w)', MODELS),
    Mutant('merged kernels padded off-centre', 'mmdarts/models/search/batched_convs.py',
           'return F.pad(weight, [dw, dw, dh, dh])', 'return F.pad(weight, [0, 2 * dw, dh, dh])', SEARCH),
    Mutant('padded kernels not masked', 'mmdarts/models/search/edge_wave.py',
           '            weight = weight * self._mask_cache[key]\n', '            pass\n', SEARCH),
    Mutant('identity not weighted (per-edge plan)', 'mmdarts/models/search/edge_wave.py',
           'parts.append(repeated * scale.view(-1, 1, 1))', 'parts.append(repeated)', SEARCH),
    Mutant("generic op's weight without α gradient", 'mmdarts/models/search/edge_wave.py',
           'scale = next(scalars).repeat(copies)', 'scale = next(scalars).repeat(copies).detach()', SEARCH),
    Mutant('reduce skip halves swapped', 'mmdarts/models/search/edge_wave.py',
           'halves = [t.reshape(n, groups, 1, -1) for t in (first, second)]',
           'halves = [t.reshape(n, groups, 1, -1) for t in (second, first)]', MODELS),
    Mutant('twin pass weights ordered (copy, candidate)', 'mmdarts/models/search/edge_wave.py',
           'weight = torch.cat([pieces[c * blocks + b] for b in range(blocks) for c in range(copies)])',
           'weight = torch.cat([pieces[c * blocks + b] for c in range(copies) for b in range(blocks)])', MODELS),
    Mutant('vmapped buffers not written back', 'mmdarts/models/search/generic_edges.py',
           '        if copies == 1:  # buffers the call updated', '        if False:  # buffers the call updated',
           SEARCH),
    Mutant('PC-DARTS without the shuffle', 'mmdarts/models/search/partial_channels.py',
           '.transpose(-4, -3).reshape(x.shape)', '.reshape(x.shape)', MODELS),
    Mutant('PC-DARTS bypass average-pooled', 'mmdarts/models/search/partial_channels.py', 'F.max_pool2d(r, 2, 2)',
           'F.avg_pool2d(r, 2, 2)', MODELS),
    Mutant('per-edge checkpoint read from row 0', 'mmdarts/models/search/edge_banks.py',
           "_own_rows(value, _kernel(m), row, rows)).clone()", "_own_rows(value, _kernel(m), 0, rows)).clone()",
           'tests/test_models tests/test_engine tests/test_apis'),
    Mutant('reduce skip copies swapped', 'mmdarts/models/ops/darts_ops.py',
           'for t in halves], 2).view(n, -1, h, w))', 'for t in halves[::-1]], 2).view(n, -1, h, w))', MODELS),
    Mutant('ReLU backward without its mask', 'mmdarts/models/functional/gradients.py',
           'return torch.ops.aten.threshold_backward(grad, x, 0)', 'return grad', MODELS),
    Mutant("concatenation's backward reversed", 'mmdarts/models/functional/gradients.py',
           'return (None, ) + tuple(grad.split(ctx.sizes, ctx.dim))',
           'return (None, ) + tuple(g.flip(0) for g in grad.split(ctx.sizes, ctx.dim))', MODELS),
    Mutant('pool+BN without its scale gradient (α)', 'mmdarts/models/functional/pool_batch_norm.py',
           'return grad_x, grad_scale, None', 'return grad_x, None, None', MODELS),
    Mutant('BN+ReLU backward without the mask', 'mmdarts/models/functional/depthwise_pointwise.py',
           '    grad_y = torch.ops.aten.threshold_backward(grad_r, y, 0)', '    grad_y = grad_r', MODELS),
    Mutant('depthwise+pointwise ReLU backward without the mask', 'mmdarts/models/functional/depthwise_pointwise.py',
           '                grad_x = torch.ops.aten.threshold_backward(grad_x, x, 0)', '                pass', MODELS),
    Mutant('subsampled gradient doubled', 'mmdarts/models/functional/depthwise_pointwise.py',
           'full[:, :, ::step[0], ::step[1]] = grad', 'full[:, :, ::step[0], ::step[1]] = 2 * grad', MODELS),
    Mutant('flipped-kernel padding off by one', 'mmdarts/models/functional/conv_geometry.py',
           'flipped_padding = tuple(d * (k - 1) - p for', 'flipped_padding = tuple(d * (k - 1) - p + (k > 3) for',
           MODELS),
    Mutant('subsampled conv padding off by one', 'mmdarts/models/functional/conv_geometry.py',
           'tuple(p // d for p, d in zip(padding, dilation)), (1, 1)',
           'tuple(p // d + 1 for p, d in zip(padding, dilation)), (1, 1)', MODELS),
    # the network's layout, the files a run writes
    Mutant('reduction cells at 1/4 and 3/4 of the depth', 'mmdarts/models/utils/network_checks.py',
           'return sorted({num_layers // 3, 2 * num_layers // 3})',
           'return sorted({num_layers // 4, 3 * num_layers // 4})', MODELS),
    Mutant('auxiliary tower after the last cell', 'mmdarts/models/backbones/darts_net.py',
           'return 2 * num_layers // 3', 'return num_layers - 1', MODELS),
    Mutant('retrained cell concatenates every state', 'mmdarts/models/utils/augment_cell.py',
           'return torch.cat([states[i] for i in self.concat], dim=1)',
           'return torch.cat([states[i] for i in range(2, len(states))], dim=1)', MODELS),
    Mutant('drop path on the identity too', 'mmdarts/models/utils/augment_cell.py',
           'if not isinstance(self.ops[k], nn.Identity):', 'if True:', MODELS),
    Mutant('genotype.json not updated each epoch', 'mmdarts/engine/hooks/genotype_export_hook.py',
           "            genotype.to_file(osp.join(out_dir, 'genotype.json'))\n", '', 'tests/test_engine'),
    Mutant("the kept epoch's genotype file left unwritten", 'mmdarts/engine/hooks/search_health_hook.py',
           '            if not osp.exists(path):\n', '            if False:\n', 'tests/test_engine'),
    Mutant("a stopped search's last epoch not exported", 'mmdarts/engine/hooks/genotype_export_hook.py',
           '                or runner.train_loop.stop_training):', '                or False):', 'tests/test_engine'),
    Mutant('an atomic write that never lands', 'mmdarts/utils/checkpoint_files.py', '        os.replace(tmp, path)\n',
           '        os.replace(tmp, path + ".tmp")\n', 'tests/test_utils tests/test_engine'),
    # the retrained network, the data
    Mutant('auxiliary loss unweighted', 'mmdarts/models/heads/darts_aux_cls_head.py',
           "losses['loss_aux'] = self.aux_weight * aux['loss']", "losses['loss_aux'] = aux['loss']",
           'tests/test_models/test_heads'),
    Mutant('drop path without rescaling', 'mmdarts/models/utils/augment_cell.py', 'return x * mask / keep',
           'return x * mask', 'tests/test_models/test_utils'),
    Mutant('search halves overlap', 'mmdarts/datasets/subset_dataset.py', '[rng.permutation(count)][a:b]',
           '[rng.permutation(count)][a:b + 1]', 'tests/test_datasets'),
]


def check_patterns(mutants: List[Mutant] = MUTANTS) -> List[str]:
    """What is wrong with the list against the tree: a pattern not found exactly once, a mutant that changes
    nothing, a name used twice, tests that do not exist."""
    problems, names = [], set()
    for m in mutants:
        found = open(os.path.join(REPO, m.path), encoding='utf-8').read().count(m.old)
        if found != 1:
            problems.append(f'{m.name}: {m.path} holds its pattern {found} times, expected once')
        if m.old == m.new:
            problems.append(f'{m.name}: the mutant changes nothing')
        if m.name in names:
            problems.append(f'{m.name}: named twice')
        names.add(m.name)
        problems += [f'{m.name}: no test path {t}' for t in m.tests.split()
                     if not os.path.exists(os.path.join(REPO, t))]
    return problems


def run(mutant: Mutant, workers: str) -> tuple:
    """(caught, seconds, the last lines of pytest's output) for ``mutant``, its file restored afterwards. Caught:
    a test failed, or the tests could not be collected (exit status 1 or 2)."""
    path = os.path.join(REPO, mutant.path)
    with open(path, encoding='utf-8') as f:
        original = f.read()
    start = time.perf_counter()
    try:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(original.replace(mutant.old, mutant.new))
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
        result = subprocess.run([sys.executable, '-m', 'pytest', *mutant.tests.split(), '-q', '-x', '-p',
                                 'no:cacheprovider', '-m', 'not slow', '-n', workers], cwd=REPO, env=env,
                                capture_output=True, text=True)
    finally:
        with open(path, 'w', encoding='utf-8') as f:
            f.write(original)
    lines = [line for line in result.stdout.splitlines() if line.startswith(('FAILED', 'ERROR')) or ' passed' in line
             or ' failed' in line]
    if result.returncode not in (0, 1, 2):  # not the tests' verdict: no test collected, a usage error, a crash
        raise RuntimeError(f'{mutant.name}: pytest {mutant.tests} exited {result.returncode}: '
                           f'{(result.stdout + result.stderr)[-2000:]}')
    return result.returncode != 0, time.perf_counter() - start, lines[-2:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Put known bugs back one at a time; the tests must catch each')
    parser.add_argument('names', nargs='*', help='mutants to run (all by default); see --list')
    parser.add_argument('--list', action='store_true', help='print the mutants and exit')
    parser.add_argument('--workers', default='auto', help="pytest-xdist's -n (default: auto, one per core)")
    args = parser.parse_args(argv)
    problems = check_patterns()
    if problems:
        sys.exit('mutation_check: the list does not match the tree:\n  ' + '\n  '.join(problems))
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        sys.exit(f'mutation_check: unknown mutants {sorted(unknown)}; --list prints them')
    if args.list:
        for m in chosen:
            sys.stdout.write(f'{m.name}: {m.path} ({m.tests})\n')
        return 0
    survived = []
    for m in chosen:
        killed, seconds, lines = run(m, args.workers)
        sys.stdout.write(f"{'caught' if killed else 'SURVIVED':8} {seconds:5.0f} s  {m.name}: {' / '.join(lines)}\n")
        sys.stdout.flush()
        if not killed:
            survived.append(m.name)
    sys.stdout.write(f'{len(chosen) - len(survived)} of {len(chosen)} mutants caught'
                     + (f'; survived: {survived}\n' if survived else '\n'))
    return 1 if survived else 0


if __name__ == '__main__':
    sys.exit(main())
