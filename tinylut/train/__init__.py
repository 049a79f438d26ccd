"""TinyLUT training in PyTorch (``pip install tinylut[train]``): table-space layers, networks,
data pipeline, trainer and baking to the tinylut model file. The runtime (``tinylut.restore``)
never imports this package."""
from .nets import TinyLUTS, build_net, load_official_state  # noqa: F401
from .bake import bake, bake_to_file  # noqa: F401
