"""Name registries of extension families: device models (drift, read noise, ADC range,
:mod:`cimsweep.cim.models`) and signed weight mappings (:mod:`cimsweep.signed_mapping`).

Each family is an abstract base class deriving from :class:`Registered`; every concrete
subclass that sets ``name`` is registered under it (in the spirit of aihwkit's
``BaseNoiseModel`` and CrossSim's ADC lookup by name), so adding a model is one new class.
Torch-free: the PPA model and the parameter catalog import it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Registered:
    """Base of a model family; subclasses with a ``name`` are found by :meth:`lookup`."""

    name: ClassVar[str] = ""
    registry: ClassVar[dict[str, type[Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "registry" not in cls.__dict__ and not hasattr(cls, "registry"):
            cls.registry = {}  # the family's base: a fresh registry
        if cls.__dict__.get("name"):
            if cls.name in cls.registry and cls.registry[cls.name] is not cls:
                raise ValueError(f"{cls.__name__}: model name {cls.name!r} already registered")
            cls.registry[cls.name] = cls

    @classmethod
    def lookup(cls, name: str) -> type[Any]:
        """The registered subclass called ``name`` (KeyError listing the known names)."""
        try:
            return cls.registry[name]
        except KeyError:
            known = ", ".join(sorted(cls.registry))
            raise KeyError(f"unknown {cls.__name__} {name!r}; known: {known}") from None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Registered names, in registration order."""
        return tuple(cls.registry)
