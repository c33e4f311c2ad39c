"""What a search step runs, as chosen for its device and model, in one log line: written at the first step and
again whenever a choice changes, each fallback with its reason (nothing falls back without a word)."""
from typing import Dict, Optional

import torch
from mmengine.logging import MMLogger


class StepPlan:
    """The choices of a search step by topic (``notes``), logged when the line they make changes, e.g.
    ``Darts search step: cuda, contiguous images; cells: 8 cells batched, 4 waves; α step: second order;
    Eq. 8: one twin pass; passes: replayed as CUDA graphs after their warm-up``."""

    ORDER = ('device', 'cells', 'α step', 'Eq. 8', 'passes', 'against collapse')  # every topic, in the line's order

    def __init__(self):
        self.notes: Dict[str, str] = {}
        self._logged: Optional[str] = None

    def note_step(self, model, inputs: torch.Tensor, capturer, epoch: int) -> None:
        """The choices of ``model``'s (a :class:`~mmdarts.models.Darts`) step on ``inputs`` at ``epoch``: device and
        layout, how the cells compute their edges, the α step, the passes' replay (``capturer``, or None: eager).
        Eq. 8's form is noted where the second-order step chooses it."""
        device = f'{inputs.device.type}, {model.layout_on(inputs.device)} images (memory_format)'
        if self.notes.get('device') != device:
            self.notes['device'] = device
            self.notes['cells'] = model.supernet.describe()
        if epoch < model.arch_warmup_epochs or not model.unroll or model.hvp == 'exact':
            self.notes.pop('Eq. 8', None)  # the step does not run Eq. 8
        if epoch < model.arch_warmup_epochs:
            self.notes['α step'] = f'from epoch {model.arch_warmup_epochs + 1} on (arch_warmup_epochs)'
        else:
            self.notes['α step'] = 'first order' if not model.unroll else 'second order' + (
                ', exact Hessian-vector product (hvp=exact)' if model.hvp == 'exact' else '')
        self.notes['passes'] = ('eager (cuda_graphs=False)' if not model.cuda_graphs else 'eager (not on a CUDA device)'
                                if capturer is None else f'replayed ({capturer.backend.__name__}) after their warm-up')
        resisting = (['DARTS- auxiliary skip, β from 1 to 0'] if getattr(model.supernet, 'auxiliary_skip', False)
                     else []) + (['SDARTS-RS, ε from {} to {} in the weight step'.format(*model.random_smoothing)]
                                 if model.random_smoothing else [])
        if resisting:
            self.notes['against collapse'] = ', '.join(resisting)

    def log_if_changed(self) -> None:
        line = '; '.join(f'{topic}: {self.notes[topic]}' for topic in self.ORDER if topic in self.notes)
        if line != self._logged:
            MMLogger.get_current_instance().info(f'Darts search step: {line}')
            self._logged = line
