"""Stand-in for sglang/srt/dllm/algorithm/__init__.py (sgl-project/sglang 1f3c7084): every module of this folder that
defines `Algorithm` is loaded and registered under the class's name; `get_algorithm` builds the configured one."""
import importlib
import pkgutil


def import_algorithms():
    found = {}
    for _, name, ispkg in pkgutil.iter_modules(__path__, __name__ + '.'):
        if not ispkg:
            module = importlib.import_module(name)
            if hasattr(module, 'Algorithm'):
                found[module.Algorithm.__name__] = module.Algorithm
    return found


def get_algorithm(config):
    return algo_name_to_cls[config.algorithm](config)


algo_name_to_cls = import_algorithms()
