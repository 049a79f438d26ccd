"""TinyLUT training in PyTorch (``pip install tinylut[train]``): table-space layers, networks,
data pipeline, trainer and baking to the tinylut model file. The runtime (``tinylut.restore``)
never imports this package."""
import os as _os

# Idle OpenMP workers sleep instead of spinning. With --threads 2 on a machine whose cores are
# also busy with other work, spinning workers made a step 10x slower (3.3 s instead of 0.26 s).
# Only effective if torch is not imported yet.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .nets import TinyLUT, TinyLUTS, build_net, load_official_state  # noqa: E402,F401
from .bake import bake, bake_to_file  # noqa: E402,F401
