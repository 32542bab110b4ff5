"""Package attributes imported on first use (PEP 562)."""

import importlib


def lazy_exports(package, exports):
    """Module-level `__getattr__` and `__dir__` for a package's public names.

    A package that re-exports names from heavy modules (Keras, TensorFlow)
    lists them here instead of importing them, so importing the package
    stays cheap and each name's module is imported when the name is first
    read. `from package import name` works as with a plain import.

    Args:
        package: the package's `__name__`.
        exports: a dict `{public name: "module.path"}` (or
            `"module.path:attribute"` when the attribute has another name).

    Returns:
        `(__getattr__, __dir__)`, to assign at the package's top level.

    Example:
    >>> getattr_, dir_ = lazy_exports("json", {"JSONDecoder": "json.decoder"})
    >>> getattr_("JSONDecoder").__name__
    'JSONDecoder'
    """
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name):
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        value = getattr(importlib.import_module(module_name), attribute or name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
