from mmdarts.structures import Genotype  # noqa: F401  (``from mmdarts.models import Genotype`` for convenience)

from .algorithms import *  # noqa: F401,F403
from .backbones import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .mutators import *  # noqa: F401,F403
from .ops import *  # noqa: F401,F403
from .regularizers import *  # noqa: F401,F403
from .search import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403
