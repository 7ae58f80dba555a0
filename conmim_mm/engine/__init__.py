from .compilable_ddp import CompilableDistributedDataParallel
from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
