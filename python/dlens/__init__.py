"""dlens for Python: record a diffusion-LM decode where it runs into a `.dlens` trace, and import other tools' records.

    with dlens.Recorder('run.dlens', mask_token_id=126336, prompt_length=P, tokenizer='tokenizer.json') as rec:
        with dlens.watch(model, rec):
            out = generate(model, prompt_ids, ...)   # any loop that calls the model once per step
        rec.finish(out)

docs/python.md in the dlens repository has the rest.
"""
__version__ = '0.1.0'

from .recorder import Recorder  # noqa: E402
from .watch import watch  # noqa: E402
from .dream import dream_hooks  # noqa: E402
from .trace import read  # noqa: E402
from .safetensors_io import TraceError, PathRefused  # noqa: E402
from .traceset import TraceSet  # noqa: E402
from . import importers  # noqa: E402

__all__ = ['Recorder', 'watch', 'dream_hooks', 'read', 'TraceSet', 'TraceError', 'PathRefused', 'importers', '__version__']
