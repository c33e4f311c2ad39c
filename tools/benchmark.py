"""Time DARTS search steps of a config: python tools/benchmark.py CONFIG [--order 1|2|both] [--batch 16] ...

Times whole ``Darts.train_step`` calls (α step and weight step, through the real code path) and, for reference,
one plain forward+backward of the supernet and one α-only pass (forward, then ∇α alone: what the first-order α
step and the ±ε passes cost); with ``--baseline`` also the straightforward implementation
(``mmdarts.testing.StraightforwardDarts``: deep copy for w', every candidate computed by the paper's plain ops).
Each measurement runs in a fresh process so that its peak memory is its own; ``--repeat R`` runs all of them R
times, interleaved, and takes medians (the machine may be shared). Prints the median seconds per step, images per
second and the peak memory (RSS on CPU, ``max_memory_allocated`` on GPU); ``--json`` writes the same figures.

On CPU, glibc keeps freed memory for reuse, so the RSS peak depends on the order of allocations as much as on
what the step needs. ``--live-memory`` measures each variant once more with ``MALLOC_MMAP_THRESHOLD_=131072``
(every tensor its own mapping, returned when freed): that peak RSS is the memory the step's tensors need at once,
the CPU counterpart of ``max_memory_allocated`` (its times are not used: every allocation then faults its pages).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional

PROC_STATUS = '/proc/self/status'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark DARTS search steps')
    parser.add_argument('config', help='a search config')
    parser.add_argument('--order', choices=['1', '2', 'both'], default='both', help='first or second order')
    parser.add_argument('--batch', type=int, default=16, help='images per batch (train and arch each)')
    parser.add_argument('--steps', type=int, default=3, help='timed steps')
    parser.add_argument('--warmup', type=int, default=1, help='untimed steps first')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--size', type=int, default=32, help='image height and width')
    parser.add_argument('--hvp', choices=['finite_difference', 'exact', 'both'], default='finite_difference')
    parser.add_argument('--memory-format', choices=['auto', 'channels_last', 'contiguous'], default='auto')
    parser.add_argument('--edge-layout', choices=['auto', 'batched', 'per_edge'], default='auto',
                        help="how the cells compute their mixed edges (DartsSupernet's edge_layout): 'auto' is "
                        'batched on CUDA and per edge on CPU')
    parser.add_argument('--twin-pass', choices=['on', 'off'], default='on',
                        help="Darts' twin_pass: Eq. 8's two passes as one where the cells are batched (on), or two")
    parser.add_argument('--baseline', action='store_true', help='also time the straightforward implementation')
    parser.add_argument('--repeat', type=int, default=1, help='rounds of all measurements, interleaved (0: none)')
    parser.add_argument('--paired', type=int, default=0, metavar='N',
                        help='also time mmdarts against the baseline in one process, N alternating step pairs '
                        'per order (the ratio then sees the same machine load)')
    parser.add_argument('--live-memory', action='store_true',
                        help='also measure peak memory with every tensor its own mapping (CPU)')
    parser.add_argument('--amp', choices=['float16', 'bfloat16'],
                        help="the weight step in mixed precision (mmengine's AmpOptimWrapper, as tools/train.py --amp; "
                        'the α step stays float32); GPU only')
    parser.add_argument('--precision', action='store_true',
                        help='also report the second-order α gradient against float64 '
                        '(mmdarts.testing.precision_report)')
    parser.add_argument('--count-ops', action='store_true',
                        help='also count the ATen operator calls of one step of each variant (after the warm-up), '
                        'the CPU-side proxy of GPU kernel launches, and how many of them only make views (no kernel)')
    parser.add_argument('--cuda-graphs', choices=['on', 'off', 'both'], default='both',
                        help="on CUDA: time the passes replayed as CUDA graphs (Darts' default), eagerly, or both")
    parser.add_argument('--cudnn-benchmark', action='store_true',
                        help="torch.backends.cudnn.benchmark = True (mmengine's env_cfg.cudnn_benchmark): cuDNN times "
                        'its algorithms at the first call of each shape and keeps the fastest')
    parser.add_argument('--graph-backend', choices=['cuda', 'replay'], default='cuda',
                        help="'replay': the graph variants on any device with mmdarts.testing.OpReplayPass (tests)")
    parser.add_argument('--profile', type=int, default=0, metavar='N',
                        help='also profile one step of each variant (torch.profiler): the time the device was busy, '
                        'its kernel count and the N operators or kernels that took most of it')
    parser.add_argument('--json', help='write the figures to this file')
    parser.add_argument('--one', help=argparse.SUPPRESS)  # internal: measure one variant, print its JSON
    return parser.parse_args(argv)


def variants(args) -> List[Dict]:
    orders = ['1', '2'] if args.order == 'both' else [args.order]
    hvps = ['finite_difference', 'exact'] if args.hvp == 'both' else [args.hvp]
    graphs = [False]
    if args.device == 'cuda' or args.graph_backend == 'replay':
        graphs = dict(on=[True], off=[False], both=[True, False])[args.cuda_graphs]
    out = [dict(impl='plain', order=None, hvp=None, graphs=g) for g in ([False] if args.amp else graphs)]
    out += [dict(impl='alpha_pass', order=None, hvp=None, graphs=g) for g in graphs]
    for order in orders:
        for hvp in (hvps if order == '2' else [None]):
            out += [dict(impl='mmdarts', order=order, hvp=hvp, graphs=g) for g in graphs]
        if args.baseline:
            out.append(dict(impl='straightforward', order=order, hvp=None))
    return out


def _rss_mb(field: str) -> float:
    with open(PROC_STATUS) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024.
    return float('nan')


def _reset_peak_rss() -> None:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # resets the peak resident set size (VmHWM)
    except OSError:
        pass


def measure(args, variant: Dict) -> Dict:
    import torch
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample

    import mmdarts  # noqa: F401
    from mmdarts.registry import MODELS
    from mmdarts.testing import StraightforwardDarts

    cfg = Config.fromfile(args.config)
    torch.backends.cudnn.benchmark = bool(args.cudnn_benchmark)
    with DefaultScope.overwrite_default_scope('mmdarts'):
        model_cfg = cfg.model.to_dict()
        model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
        model_cfg.update(unroll=variant['order'] == '2', memory_format=args.memory_format,
                         cuda_graphs=bool(variant.get('graphs')))
        model_cfg['architecture']['backbone']['edge_layout'] = args.edge_layout
        model_cfg['twin_pass'] = args.twin_pass == 'on'
        if variant['hvp']:
            model_cfg['hvp'] = variant['hvp']
        model = MODELS.build(model_cfg).to(args.device).train()
        optim_cfg = cfg.optim_wrapper.to_dict()
        if args.amp:
            optim_cfg['architecture'].update(type='AmpOptimWrapper', loss_scale='dynamic', dtype=args.amp)
        wrappers = build_optim_wrapper(model, optim_cfg)
    if variant.get('graphs'):
        model.pass_capturer = new_capturer(args)
    num_classes = cfg.model.architecture.head.num_classes
    channels = cfg.model.architecture.backbone.get('in_channels', 3)
    g = torch.Generator().manual_seed(0)

    def raw_batch():
        images = [torch.randint(0, 256, (channels, args.size, args.size), generator=g, dtype=torch.uint8)
                  for _ in range(args.batch)]
        labels = torch.randint(0, num_classes, (args.batch, ), generator=g)
        return dict(inputs=images, data_samples=[DataSample().set_gt_label(int(y)) for y in labels])

    data = dict(train=raw_batch(), arch=raw_batch())
    if variant['impl'] == 'precision':
        from mmdarts.testing import precision_report
        train, arch = (model.data_preprocessor(data[k], True) for k in ('train', 'arch'))
        return dict(variant, report=precision_report(model, train, arch), batch=args.batch, device=args.device)
    if variant['impl'] == 'paired':
        return measure_paired(args, variant, model, wrappers, cfg, data)
    if variant['impl'] in ('plain', 'alpha_pass'):
        prepared = model.prepared(data['train'])
        names, weights = model._weights()
        detached = {n: w.detach() for n, w in zip(names, weights)}
        alphas = list(model.mutator.parameters())

        def step():
            if variant['impl'] == 'alpha_pass':
                loss, _ = model.loss_and_log(prepared, detached)
                torch.autograd.grad(loss, alphas)
                return
            with torch.autocast(args.device, dtype=getattr(torch, args.amp or 'float32'), enabled=bool(args.amp)):
                loss, _ = model.loss_and_log(prepared)
            loss.backward()
            model.zero_grad(set_to_none=True)

        if variant.get('graphs'):
            step = graphed_pass(model.pass_capturer, model, prepared, variant['impl'], detached, alphas, weights)
    elif variant['impl'] == 'mmdarts':
        def step():
            model.train_step(data, wrappers)
    else:
        baseline = StraightforwardDarts(model, wrappers['architecture'].optimizer, wrappers['mutator'].optimizer)
        train, arch = (model.data_preprocessor(data[k], True) for k in ('train', 'arch'))

        def step():
            baseline.step(train, arch)

    cuda = args.device == 'cuda'
    for _ in range(args.warmup):
        step()
    for _ in range(12):  # with CUDA graphs: untimed steps until every pass is captured (a new signature warms up)
        if not variant.get('graphs') or model.pass_capturer.all_captured():
            break
        step()
    counted = {}
    if args.count_ops and not variant.get('graphs'):  # a replay is one call; the count measures eager structure
        from mmdarts.testing.op_count import AtenCallCounter
        with AtenCallCounter() as counter:
            step()
        counted = dict(aten_calls=counter.total, aten_views=counter.views, aten_top=dict(counter.calls.most_common(12)))
    if cuda:
        torch.cuda.synchronize()
        if not variant.get('graphs'):  # a graph's memory is allocated at capture: its peak includes the warm-up
            torch.cuda.reset_peak_memory_stats()
    base = _rss_mb('VmRSS')
    _reset_peak_rss()
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    result = dict(variant, seconds=median, times=times, images_per_second=args.batch / median, batch=args.batch,
                  device=args.device, threads=torch.get_num_threads(), memory_format=args.memory_format,
                  edge_layout=args.edge_layout, twin_pass=args.twin_pass,
                  amp=args.amp, **counted)
    if cuda:
        result.update(peak_memory_mb=torch.cuda.max_memory_allocated() / 2**20,
                      reserved_memory_mb=torch.cuda.max_memory_reserved() / 2**20)
    else:
        result.update(peak_memory_mb=_rss_mb('VmHWM'), base_memory_mb=base)
    if args.profile:  # after the timed steps and the memory figures: the profiler's own overhead touches neither
        result['profile'] = profile_step(step, cuda, args.profile)
    return result


def profile_step(step, cuda: bool, top: int) -> Dict:
    """One ``step`` under ``torch.profiler``: on CUDA the time the GPU was busy (the sum of its kernels' and
    copies' times) and how many ran, against the wall time (their difference is launch and host time); the ``top``
    entries by self time on the device (CUDA) or the CPU."""
    import torch
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        step()
        if cuda:
            torch.cuda.synchronize()
    wall = time.perf_counter() - start
    events = prof.key_averages()
    attr = 'self_device_time_total' if cuda else 'self_cpu_time_total'
    on_device = [e for e in events if cuda and e.device_type == DeviceType.CUDA]
    rows = sorted(on_device if cuda else events, key=lambda e: getattr(e, attr), reverse=True)[:top]
    return dict(wall_seconds=wall,  # with the profiler's overhead
                device_busy_seconds=sum(getattr(e, attr) for e in on_device) / 1e6 if cuda else None,
                device_kernels=sum(e.count for e in on_device) if cuda else None,
                top=[dict(name=e.key[:120], count=e.count, ms=getattr(e, attr) / 1e3) for e in rows])


def new_capturer(args):
    from mmdarts.models.algorithms.captured_passes import PassCapturer
    from mmdarts.testing import OpReplayPass
    return PassCapturer(backend=OpReplayPass if args.graph_backend == 'replay' else None, on_error='raise')


def graphed_pass(capturer, model, prepared: Dict, impl: str, detached: Dict, alphas: List, weights: List):
    """The plain (∇ all weights) or α-only (∇α) pass, replayed as a CUDA graph as ``Darts`` replays its passes."""
    import torch

    from mmdarts.models.algorithms.captured_passes import batch_signature, relabeled

    _, tensors = batch_signature(prepared)

    def one_pass(inputs, labels):
        loss, _ = model.loss_and_log(relabeled(prepared, inputs, labels), detached if impl == 'alpha_pass' else None)
        return torch.autograd.grad(loss, alphas if impl == 'alpha_pass' else weights)

    def step():
        capturer.run(impl, None, one_pass, tensors)

    return step


def measure_paired(args, variant: Dict, model, wrappers, cfg, data: Dict) -> Dict:
    """mmdarts and the straightforward step timed in turns in one process: step pairs see the same load."""
    import copy

    import torch
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope

    from mmdarts.testing import StraightforwardDarts

    twin = copy.deepcopy(model)
    with DefaultScope.overwrite_default_scope('mmdarts'):
        twin_wrappers = build_optim_wrapper(twin, cfg.optim_wrapper.to_dict())
    baseline = StraightforwardDarts(twin, twin_wrappers['architecture'].optimizer, twin_wrappers['mutator'].optimizer)
    train, arch = (twin.data_preprocessor(data[k], True) for k in ('train', 'arch'))
    steps = dict(mmdarts=lambda: model.train_step(data, wrappers), straightforward=lambda: baseline.step(train, arch))
    times: Dict[str, List[float]] = dict(mmdarts=[], straightforward=[])
    for pair in range(args.warmup + args.paired):
        for impl in (('mmdarts', 'straightforward') if pair % 2 else ('straightforward', 'mmdarts')):
            start = time.perf_counter()
            steps[impl]()
            if args.device == 'cuda':
                torch.cuda.synchronize()
            if pair >= args.warmup:
                times[impl].append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(times['mmdarts'], times['straightforward'])]
    return dict(variant, ratio=statistics.median(ratios), ratios=ratios, times=times, batch=args.batch,
                device=args.device, threads=torch.get_num_threads())


def device_name(device: str) -> str:
    import torch
    if device == 'cuda' and torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f'CPU, {os.cpu_count()} cores'


def name(result: Dict) -> str:
    graphs = ', CUDA graphs' if result.get('graphs') else ''
    if result['impl'] == 'plain':
        return 'plain forward+backward' + graphs
    if result['impl'] == 'alpha_pass':
        return 'alpha-only forward+backward' + graphs
    hvp = '' if not result.get('hvp') or result['hvp'] == 'finite_difference' else f", {result['hvp']} hvp"
    return f"{result['impl']} order {result['order']}{hvp}{graphs}"


def calls_text(result: Dict) -> str:
    """The counted calls of a result (``--count-ops``), or nothing."""
    if 'aten_calls' not in result:
        return ''
    return f" {result['aten_calls']:7d} ATen calls ({result['aten_calls'] - result['aten_views']} not views)"


def profile_text(profile: Dict) -> str:
    lines = [f"    profiled step: {profile['wall_seconds']:.3f} s wall"]
    if profile['device_busy_seconds'] is not None:
        lines[0] += (f", device busy {profile['device_busy_seconds']:.3f} s in {profile['device_kernels']} kernels "
                     'and copies')
    lines += [f"    {row['ms']:9.2f} ms {row['count']:6d}x  {row['name']}" for row in profile['top']]
    return '\n'.join(lines) + '\n'


def run_one(variant: Dict, env: Optional[Dict] = None) -> Dict:
    """Measures ``variant`` in a fresh process (with ``env`` added to its environment); a variant that fails
    comes back as ``dict(variant, error=...)`` so the others are still measured."""
    argv = [sys.executable, os.path.abspath(__file__)] + sys.argv[1:] + ['--one', json.dumps(variant)]
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    lines = [line for line in proc.stdout.splitlines() if line.startswith('RESULT ')]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(f'benchmark of {variant} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}\n')
        return dict(variant, error=proc.stderr[-4000:])
    return json.loads(lines[-1][len('RESULT '):])


def combine(rounds: List[Dict], live: Optional[Dict]) -> Dict:
    """One variant's figures over its rounds: medians of the step time and of the peak memory."""
    result = dict(rounds[0])
    result['seconds'] = statistics.median(r['seconds'] for r in rounds)
    result['images_per_second'] = result['batch'] / result['seconds']
    result['peak_memory_mb'] = statistics.median(r['peak_memory_mb'] for r in rounds)
    result['rounds'] = [dict(seconds=r['seconds'], times=r['times'], peak_memory_mb=r['peak_memory_mb'])
                        for r in rounds]
    if live is not None:
        result['live_peak_memory_mb'] = live['peak_memory_mb']
    return result


def main():
    args = parse_args()
    if args.one:
        print('RESULT ' + json.dumps(measure(args, json.loads(args.one))), flush=True)
        return
    if args.amp and args.device == 'cpu':
        sys.exit("--amp: mmengine's AmpOptimWrapper trains on GPUs only; use --device cuda")
    todo = variants(args)
    rounds: List[List[Dict]] = [[] for _ in todo]
    failed: List[Dict] = []
    for round_index in range(args.repeat):
        for k, variant in enumerate(todo):
            r = run_one(variant)
            if 'error' in r:
                failed.append(r)
                continue
            rounds[k].append(r)
            sys.stdout.write(f"[{round_index + 1}/{args.repeat}] {name(r):38s} {r['seconds']:8.3f} s/step "
                             f"peak {r['peak_memory_mb']:8.0f} MB{calls_text(r)}\n")
            if 'profile' in r:
                sys.stdout.write(profile_text(r['profile']))
            sys.stdout.flush()
    live = [None] * len(todo)
    if args.live_memory and args.device == 'cpu':
        live = [run_one(v, dict(MALLOC_MMAP_THRESHOLD_='131072')) for v in todo]
    results = [combine(r, lv) for r, lv in zip(rounds, live) if r]  # --repeat 0: the paired ratio only
    sys.stdout.write('median over rounds:\n')
    for r in results:
        extra = f" live {r['live_peak_memory_mb']:6.0f} MB" if 'live_peak_memory_mb' in r else ''
        extra += calls_text(r)
        sys.stdout.write(f"{name(r):38s} {r['seconds']:8.3f} s/step {r['images_per_second']:8.1f} img/s "
                         f"peak {r['peak_memory_mb']:8.0f} MB{extra}\n")
    paired = []
    for order in (['1', '2'] if args.order == 'both' else [args.order]) if args.paired else []:
        paired.append(run_one(dict(impl='paired', order=order, hvp=None)))
        if 'error' in paired[-1]:
            failed.append(paired.pop())
            continue
        sys.stdout.write(f"paired, order {order}: mmdarts / straightforward = {paired[-1]['ratio']:.3f} (median of "
                         f"{len(paired[-1]['ratios'])} step pairs: "
                         f"{', '.join(f'{r:.3f}' for r in paired[-1]['ratios'])})\n")
    precision = run_one(dict(impl='precision', order='2', hvp=None)) if args.precision else None
    if precision is not None and 'error' in precision:
        failed.append(precision)
        precision = None
    if precision is not None:
        sys.stdout.write('second-order α gradient against float64 (relative 2-norm errors): '
                         + ', '.join(f'{k} {v:.4f}' for k, v in precision['report'].items()) + '\n')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, argv=sys.argv[1:], results=results, paired=paired,
                           precision=precision, failed=failed, device_name=device_name(args.device)), f, indent=2)
    if failed:
        sys.exit(f'{len(failed)} measurement(s) failed: ' + ', '.join(name(f) for f in failed))


if __name__ == '__main__':
    main()
