from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import DefaultScope
from torch.func import functional_call

from mmdarts.registry import MODELS
from mmdarts.utils import all_reduce_mean_

from .captured_passes import Batch, PassCapturer
from .captured_step import (
    captured_arch_gradients,
    captured_weight_gradients,
    gradients_outside_the_wrapper,
    read_signature,
    scaled_for_backward,
    weights_and_buffers,
)
from .collapse_resistance import check_random_smoothing, follow_schedules, randomly_smoothed, smoothing_noise
from .darts_arguments import build_architecture, check_options, check_step_inputs
from .nonfinite import all_finite
from .second_order import unregularized_arch_gradients
from .step_plan import StepPlan


@MODELS.register_module()
class Darts(BaseModel):
    """DARTS (Liu et al., ICLR 2019): a supernet classifier and the architecture parameters α that mix its ops.

    ``train_step`` is one iteration of the paper's Algorithm 1: an α step on the ``arch`` batch (first order, or
    second order through one unrolled virtual weight step), then a weight step on the ``train`` batch with the new α.

    What it guarantees: the virtual step really moves the weights it differentiates through (as new tensors through
    ``torch.func.functional_call``, never a deep copy of the model); the weights are untouched by the α step; each
    gradient comes only from its own passes (α gradients via ``torch.autograd.grad``, the weight step's forward sees
    α detached); only the weight step's forward updates BatchNorm running statistics.

    Args:
        architecture (dict | nn.Module): an mmpretrain classifier whose backbone is a DARTS supernet.
        mutator (dict | nn.Module): the holder of α. Defaults to ``dict(type='DiffMutator')``.
        unroll (bool): second order (Eq. 7-8) if True, first order (α descends ∇α L_val(w, α)) if False.
            Defaults to False.
        epsilon_scale (float): ε = epsilon_scale / ‖∇w' L_val‖ in Eq. 8. Defaults to 0.01 (the paper).
        hvp (str): the second-order term ∇²α,w L_train · ∇w' L_val by ``'finite_difference'`` (Eq. 8, the paper)
            or ``'exact'`` (double backward: ∇α of ⟨∇w L_train, v⟩). Defaults to ``'finite_difference'``.
        memory_format (str): layout of the images inside the model: ``'channels_last'``, ``'contiguous'`` or
            ``'auto'``, channels-last on CPU (measured faster there, ``docs/benchmarks.md``). Defaults to 'auto'.
        arch_regularizers (list[dict]): loss terms on α added to the α step in both orders (e.g. ``BetaDecay``,
            ``SizeAwareDecay``); each is called with the α, the epoch and the supernet. Defaults to none.
        arch_warmup_epochs (int): epochs that train the weights only, before α steps start (PC-DARTS: 15).
            Defaults to 0.
        nonfinite (str): a NaN or Inf in a loss of any pass or in a gradient stops the search with an error naming
            the iteration and the pass (``'raise'``), or skips that update with a warning (``'skip'``).
            Defaults to ``'raise'``.
        cuda_graphs (bool): on a CUDA device, replay the α step's gradient passes and the weight step's pass as
            CUDA graphs (:mod:`mmdarts.models.algorithms.captured_passes`): the same kernels on the same memory, one
            launch each instead of thousands. The weight pass is captured with an ``OptimWrapper`` or
            ``AmpOptimWrapper`` without gradient accumulation (else it runs eagerly); a batch of another shape
            (an epoch's last) gets a graph of its own. Ignored on CPU. Defaults to True.
        random_smoothing (tuple[float, float], optional): SDARTS-RS: the weight step's op weights are softmax(α)
            plus uniform noise in [-ε, ε], ε moving linearly from the first value at the first epoch to the second
            at the end (:mod:`~mmdarts.models.algorithms.collapse_resistance`; the paper: ``(0.03, 0.3)``); the α
            step sees none. Defaults to None (off).
        twin_pass (bool): Eq. 8's passes at w⁺ and w⁻ as one pass over both weight copies side by side
            (:mod:`mmdarts.models.algorithms.twin_pass`: the same numbers, about half the kernels), where the supernet
            allows it (its cells batched, ``edge_layout``); else two passes. Defaults to True.
        data_preprocessor (dict, optional): for the architecture, if its config has none (the Runner passes the
            config's top-level ``data_preprocessor`` here). The algorithm uses the architecture's.
        init_cfg (dict, optional): initialisation config. Defaults to None.
    """

    def __init__(self,
                 architecture: Union[dict, nn.Module],
                 mutator: Union[dict, nn.Module] = dict(type='DiffMutator'),
                 unroll: bool = False,
                 epsilon_scale: float = 0.01,
                 hvp: str = 'finite_difference',
                 memory_format: str = 'auto',
                 arch_regularizers: Sequence[Union[dict, nn.Module]] = (),
                 arch_warmup_epochs: int = 0,
                 nonfinite: str = 'raise',
                 cuda_graphs: bool = True,
                 twin_pass: bool = True,
                 random_smoothing: Optional[Sequence[float]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        check_options(hvp=hvp, memory_format=memory_format, nonfinite=nonfinite)
        self.random_smoothing = check_random_smoothing(random_smoothing)
        architecture = build_architecture(architecture, data_preprocessor)
        # The classifier's preprocessor, shared: one normalisation for search, validation and the exported net.
        super().__init__(data_preprocessor=getattr(architecture, 'data_preprocessor', None), init_cfg=init_cfg)
        self.architecture = architecture
        with DefaultScope.overwrite_default_scope('mmdarts'):
            self.mutator = MODELS.build(mutator) if isinstance(mutator, dict) else mutator
            self.arch_regularizers = nn.ModuleList(
                MODELS.build(r) if isinstance(r, dict) else r for r in arch_regularizers)
        self.mutator.prepare_from_supernet(self.supernet)
        self.unroll = bool(unroll)
        self.epsilon_scale = epsilon_scale
        self.hvp = hvp
        self.memory_format = memory_format
        self.nonfinite = nonfinite
        self.arch_warmup_epochs = arch_warmup_epochs
        self.cuda_graphs = bool(cuda_graphs)
        self.twin_pass = bool(twin_pass)
        self.smoothing_epsilon = self.random_smoothing[0] if self.random_smoothing else 0.  # this epoch's ε
        # set on the first CUDA step; tests set PassCapturer(backend=OpReplayPass) to run the graph path on CPU
        self.pass_capturer: Optional[PassCapturer] = None
        self.step_plan = StepPlan()  # what a step runs on its device, logged once (and on any change)
        self._steps = 0

    @property
    def supernet(self) -> nn.Module:
        return self.architecture.backbone

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        """The classifier's forward (``mode`` 'tensor', 'loss' or 'predict') with the op weights of the current α."""
        with self.supernet.arch_weights(self.mutator.arch_weights()):
            return self.architecture(self.formatted(inputs), data_samples, mode)

    def layout_on(self, device: torch.device) -> str:
        """``memory_format`` on ``device``: 'auto' is channels-last on CPU, contiguous elsewhere."""
        if self.memory_format != 'auto':
            return self.memory_format
        return 'channels_last' if device.type == 'cpu' else 'contiguous'

    def formatted(self, inputs: torch.Tensor) -> torch.Tensor:
        """``inputs`` in the memory format the model runs fastest with (see ``memory_format``)."""
        if self.layout_on(inputs.device) == 'channels_last' and inputs.dim() == 4:
            return inputs.contiguous(memory_format=torch.channels_last)
        return inputs

    def prepared(self, batch: Batch) -> Batch:
        """``batch`` through the data preprocessor (training mode), its images in :meth:`formatted`'s layout:
        what the search's passes read."""
        prepared = self.data_preprocessor(batch, True)
        prepared['inputs'] = self.formatted(prepared['inputs'])
        return prepared

    # -- losses -------------------------------------------------------------------------------------------------
    def loss_and_log(self,
                     batch: Batch,
                     weights: Optional[Dict[str, torch.Tensor]] = None,
                     detach_alpha: bool = False,
                     noise: Optional[Dict[str, torch.Tensor]] = None) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """The classifier's loss on a preprocessed ``batch``, with the weights replaced by ``weights``
        (name -> tensor, through ``functional_call``) if given, α detached if asked and ``noise`` added to the op
        weights if given (SDARTS-RS); and the log of ``parse_losses``, detached (a log kept for later must not keep
        the pass's graph alive)."""
        op_weights = self.mutator.arch_weights(detach=detach_alpha)
        with self.supernet.arch_weights(op_weights if noise is None else randomly_smoothed(op_weights, noise)):
            if weights is None:
                losses = self.architecture(batch['inputs'], batch['data_samples'], mode='loss')
            else:
                losses = functional_call(self.architecture, weights, (batch['inputs'], batch['data_samples']),
                                         {'mode': 'loss'}, strict=False)
        loss, log_vars = self.parse_losses(losses)
        return loss, {name: value.detach() for name, value in log_vars.items()}  # the log keeps no graph alive

    def _weights(self) -> Tuple[List[str], List[nn.Parameter]]:
        named = [(n, p) for n, p in self.architecture.named_parameters() if p.requires_grad]
        return [n for n, _ in named], [p for _, p in named]

    # -- the α gradient -----------------------------------------------------------------------------------------
    def arch_gradients(self, train_batch: Batch, arch_batch: Batch,
                       weight_optimizer: Optional[torch.optim.Optimizer] = None,
                       pass_losses: Optional[List[Tuple[str, torch.Tensor]]] = None
                       ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """The gradient of the α step, one tensor per mutator parameter, and what to log.

        First order: ∇α L_val(w, α). Second order (Eq. 7-8): see :mod:`mmdarts.models.algorithms.arch_gradient`, with
        the virtual step using ``weight_optimizer``'s lr, momentum buffers and weight decay. No parameter's
        ``.grad`` and no buffer is changed. ``pass_losses``, if given, receives ``(pass name, loss)`` of each pass.
        Every pass runs in float32: autocast off, no TF32 (:func:`~mmdarts.models.algorithms.full_precision`).
        """
        record = pass_losses.append if pass_losses is not None else (lambda item: None)
        grads, log_vars = unregularized_arch_gradients(self, train_batch, arch_batch, weight_optimizer, record)
        return self._regularized(grads, log_vars, record)

    def _regularized(self, grads: List[torch.Tensor], log_vars: Dict[str, torch.Tensor], record
                     ) -> Tuple[List[torch.Tensor], Dict[str, torch.Tensor]]:
        """``grads`` (one per mutator parameter: α and any β) plus the gradients of the ``arch_regularizers``' terms
        on α, and ``log_vars`` with each term's value as ``loss_<Name>`` (also given to ``record``)."""
        if not len(self.arch_regularizers):
            return grads, log_vars
        terms = [(type(r).__name__, r(dict(self.mutator.alphas), self._epoch(), self.supernet))
                 for r in self.arch_regularizers]
        for name, term in terms:
            record((f'{name} regulariser', term.detach()))
            log_vars[f'loss_{name}'] = term.detach()
        extra = torch.autograd.grad(sum(term for _, term in terms), list(self.mutator.parameters()), allow_unused=True)
        return [g if e is None else g + e for g, e in zip(grads, extra)], log_vars

    # -- one search iteration -----------------------------------------------------------------------------------
    def train_step(self, data: Dict[str, Batch], optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        """Algorithm 1 of the paper: the α step on ``data['arch']``, then the weight step on ``data['train']``.

        Args:
            data (dict): ``dict(train=batch, arch=batch)``, each an ordinary mmpretrain batch.
            optim_wrapper (OptimWrapperDict): with keys ``architecture`` (weights) and ``mutator`` (α).
        """
        weight_wrapper, arch_wrapper = check_step_inputs(data, optim_wrapper)
        epsilon = follow_schedules(self.supernet, self.random_smoothing, self._epoch())  # DARTS- β, SDARTS-RS ε
        self.smoothing_epsilon = self.smoothing_epsilon if epsilon is None else epsilon
        train_batch, arch_batch = self.prepared(data['train']), self.prepared(data['arch'])
        iteration = self._iteration()
        weights, buffers = weights_and_buffers(self.architecture)  # once a step
        capturer = self._capturer(train_batch)
        self.step_plan.note_step(self, train_batch['inputs'], capturer, self._epoch())
        # what both captured passes read, their addresses taken once a step (the α step moves α in place)
        read = read_signature(self, weights, buffers) if capturer is not None else None

        arch_log = self._arch_step(train_batch, arch_batch, weight_wrapper, arch_wrapper, iteration, capturer,
                                   weights, read) if self._epoch() >= self.arch_warmup_epochs else {}
        loss, log_vars = self._weight_pass(train_batch, weight_wrapper, capturer, weights, read)
        if weight_wrapper.should_update():
            grads = [p.grad for p in weights if p.grad is not None]
            all_reduce_mean_(grads)
            # Scaled gradients (AMP) overflow now and then by design: GradScaler then skips the step and lowers its
            # scale. Only the loss is checked here; an unscaled weight step's gradients are checked too.
            checked = [] if getattr(weight_wrapper, 'loss_scaler', None) is not None else grads
            if all_finite(iteration, 'weight step', [("weight step's L_train(w, α)", loss.detach())], checked,
                          'weight gradient', self.nonfinite):
                weight_wrapper.step()
            weight_wrapper.zero_grad()
        self._steps += 1
        self.step_plan.log_if_changed()
        log_vars.update({f'arch_{k}': v for k, v in arch_log.items()})
        return log_vars

    def _arch_step(self, train_batch: Batch, arch_batch: Batch, weight_wrapper: OptimWrapper,
                   arch_wrapper: OptimWrapper, iteration: int, capturer: Optional[PassCapturer],
                   weights: List[nn.Parameter], read: Optional[tuple]) -> Dict[str, torch.Tensor]:
        """The α step: its gradient (:meth:`arch_gradients`, in float32), averaged over ranks, applied by the
        mutator's optimizer if finite. ``capturer`` (or None), ``weights`` and ``read`` (their
        :func:`read_signature`): for the captured passes."""
        pass_losses: List[Tuple[str, torch.Tensor]] = []
        captured = captured_arch_gradients(self, capturer, weights, read, train_batch, arch_batch,
                                           weight_wrapper.optimizer)
        if captured is None:
            with self.mutator.fixed_sample():
                arch_grads, arch_log = self.arch_gradients(train_batch, arch_batch, weight_wrapper.optimizer,
                                                           pass_losses)
        else:  # a graph's outputs hold until the next replay (the weight step's): the log outlives it, so a copy
            grads, log_vars, losses = captured
            pass_losses.extend(losses)
            log_vars = {name: value.clone() for name, value in log_vars.items()}
            arch_grads, arch_log = self._regularized(list(grads), log_vars, pass_losses.append)
        all_reduce_mean_(arch_grads)
        if all_finite(iteration, 'α step', pass_losses, arch_grads, 'α gradient', self.nonfinite):
            for alpha, grad in zip(self.mutator.parameters(), arch_grads):
                alpha.grad = grad
            arch_wrapper.step()
        arch_wrapper.zero_grad()
        return arch_log

    def _weight_pass(self, train_batch: Batch, weight_wrapper: OptimWrapper, capturer: Optional[PassCapturer],
                     weights: List[nn.Parameter], read: Optional[tuple]
                     ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """The weight step's loss on ``train_batch`` with α detached (and SDARTS-RS's noise), its gradients left in
        the weights' ``.grad`` (through the wrapper's backward, or from a captured pass, scaled as the wrapper's
        backward scales them), and its log."""
        noise = smoothing_noise(dict(self.mutator.alphas), self.smoothing_epsilon) if self.random_smoothing else None
        captured = captured_weight_gradients(self, capturer, weights, read, train_batch, weight_wrapper, noise)
        if captured is None:
            with weight_wrapper.optim_context(self.architecture):
                loss, log_vars = self.loss_and_log(train_batch, detach_alpha=True, noise=noise)
            if not gradients_outside_the_wrapper(weight_wrapper):
                weight_wrapper.backward(weight_wrapper.scale_loss(loss))
                return loss, log_vars
            # autograd.grad, not backward(): the same gradients without one accumulation call per weight tensor
            grads = torch.autograd.grad(scaled_for_backward(loss, weight_wrapper), weights, allow_unused=True)
        else:
            loss, log_vars, grads = captured
            log_vars = dict(log_vars)
        for weight, grad in zip(weights, grads):  # as the wrapper's backward leaves them
            if grad is not None:
                weight.grad = grad if weight.grad is None else weight.grad + grad
        return loss, log_vars

    def _capturer(self, batch: Batch) -> Optional[PassCapturer]:
        """The pass capturer where passes are replayed: ``cuda_graphs`` and a CUDA batch (or one a test set)."""
        if not self.cuda_graphs:
            return None
        if self.pass_capturer is None and batch['inputs'].device.type == 'cuda':
            self.pass_capturer = PassCapturer()
        return self.pass_capturer

    @staticmethod
    def _epoch() -> int:
        return int(MessageHub.get_current_instance().get_info('epoch') or 0)

    def _iteration(self) -> int:
        iteration = MessageHub.get_current_instance().get_info('iter')
        return int(iteration) if iteration is not None else self._steps
