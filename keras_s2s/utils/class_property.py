"""A read-only property of a class (`Seq2SeqLM.presets`)."""


class classproperty:  # noqa: N801  (named like the builtin `property`)
    """Like `property`, but read on the class: `Seq2SeqLM.presets`.

    Example:
    >>> class Zoo:
    ...     @classproperty
    ...     def animals(cls):
    ...         return {"owl": cls.__name__}
    >>> Zoo.animals
    {'owl': 'Zoo'}
    """

    def __init__(self, getter):
        self.getter = getter
        self.__doc__ = getter.__doc__

    def __get__(self, instance, owner):
        return self.getter(owner)
