"""tools/train.py, interrupted by a signal to itself around one file write: the ``INTERRUPT_COUNT``-th (default 1)
write of ``INTERRUPT_FILE`` (a file name), ``INTERRUPT_WHEN`` (``before``: the file is not written; ``after``: it
is), ``INTERRUPT_SIGNAL`` (``INT`` or ``KILL``). Every file mmdarts writes goes through ``atomic_write``, so
patching it reaches them all."""
import os
import os.path as osp
import runpy
import signal
import sys

import mmdarts  # noqa: F401
from mmdarts.utils import checkpoint_files

ORIGINAL = checkpoint_files.atomic_write
TARGET, WHEN = os.environ['INTERRUPT_FILE'], os.environ['INTERRUPT_WHEN']
SIGNAL = getattr(signal, f'SIG{os.environ["INTERRUPT_SIGNAL"]}')
COUNT = int(os.environ.get('INTERRUPT_COUNT', '1'))
writes = []


def interrupting_write(path, data):
    hit = osp.basename(path) == TARGET and len(writes) == COUNT - 1
    if osp.basename(path) == TARGET:
        writes.append(path)
    if hit and WHEN == 'before':
        os.kill(os.getpid(), SIGNAL)
    ORIGINAL(path, data)
    if hit and WHEN == 'after':
        os.kill(os.getpid(), SIGNAL)


def patch_everywhere():
    for module in list(sys.modules.values()):
        if getattr(module, 'atomic_write', None) is ORIGINAL:
            module.atomic_write = interrupting_write


if __name__ == '__main__':
    import mmdarts.engine.hooks.genotype_export_hook  # noqa: F401  (the modules that write, imported first)
    import mmdarts.visualization  # noqa: F401
    patch_everywhere()
    # Ctrl-C's KeyboardInterrupt, as in a terminal, also where this process inherited SIGINT ignored (started by a
    # background job of a shell without job control, as a CI script may be)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name='__main__')
