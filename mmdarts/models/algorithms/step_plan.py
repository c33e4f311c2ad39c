"""What a search step runs, as chosen for its device and model, in one log line: written at the first step and
again whenever a choice changes, each fallback with its reason (nothing falls back without a word)."""
from typing import Dict, Optional

from mmengine.logging import MMLogger


class StepPlan:
    """The choices of a search step by topic (``note``), logged when the line they make changes, e.g.
    ``Darts search step: cuda, contiguous images; cells: 8 cells batched, 4 waves; α step: second order;
    Eq. 8: one twin pass; passes: replayed as CUDA graphs after their warm-up``."""

    def __init__(self):
        self.notes: Dict[str, str] = {}
        self._logged: Optional[str] = None

    def note(self, topic: str, choice: str) -> None:
        self.notes[topic] = choice

    ORDER = ('device', 'cells', 'α step', 'Eq. 8', 'passes')

    def log_if_changed(self) -> None:
        topics = sorted(self.notes, key=lambda t: self.ORDER.index(t) if t in self.ORDER else len(self.ORDER))
        line = '; '.join(f'{topic}: {self.notes[topic]}' for topic in topics)
        if line != self._logged:
            MMLogger.get_current_instance().info(f'Darts search step: {line}')
            self._logged = line
