"""Every float hyperparameter of every registered variant refuses inf and nan at construction.

``GAN(lr=float("inf"))`` used to train to the end and save a checkpoint of non-finite tensors. The check lives in
``AdversarialModule.__init__`` (``zoo.validation.require_finite`` over the hyperparameters it saves), so a new
variant is covered without a line of its own: the float arguments are found from the signatures here.
"""

from __future__ import annotations

import inspect
import math

import pytest

from zoo.registry import get_variant, list_variants
from zoo.validation import require_finite

TINY = dict(latent_dim=8, width=8)


def float_arguments(cls: type) -> dict[str, inspect.Parameter]:
    """The ``__init__`` arguments annotated with ``float`` (alone, optional, or in a tuple) along the class chain."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if name not in found and "float" in str(param.annotation):
                found[name] = param
    return found


def bad_values(param: inspect.Parameter) -> list[object]:
    """inf, -inf and nan in the argument's shape: a scalar, or the first element of a tuple such as ``betas``.

    An argument whose default is itself infinite (a limit the paper names, e.g. a hinge weight of inf) keeps that
    infinity as a valid value; nan and the other infinity are refused there too."""
    values = []
    for bad in (math.inf, -math.inf, math.nan):
        default = param.default
        if bad == default:
            continue
        if isinstance(default, tuple | list) and default:
            values.append(type(default)([bad, *default[1:]]))
        else:
            values.append(bad)
    return values


CASES = [
    pytest.param(variant, name, value, id=f"{variant}-{name}={value!r}")
    for variant in list_variants()
    for name, param in float_arguments(get_variant(variant)).items()
    for value in bad_values(param)
]


def test_every_variant_has_float_hyperparameters_to_check():
    for variant in list_variants():
        names = float_arguments(get_variant(variant))
        assert {"lr", "lr_d", "betas", "grad_clip_val"} <= set(names), variant


@pytest.mark.parametrize(("variant", "name", "value"), CASES)
def test_non_finite_hyperparameter_is_refused_at_construction(variant, name, value):
    cls = get_variant(variant)
    # the base class's message ("must be a finite number"), or a variant's own earlier range check: either way
    # the error names the argument and the value, before any net is built
    with pytest.raises(ValueError, match=rf"\b{name}\b.*\b(-?inf|nan)\b"):
        cls(**{**TINY, name: value})


@pytest.mark.parametrize("variant", list_variants())
def test_finite_defaults_still_construct(variant):
    cls = get_variant(variant)
    model = cls(**TINY)
    infinite_defaults = [n for n, p in float_arguments(cls).items() if p.default in (math.inf, -math.inf)]
    require_finite(dict(model.hparams), allow_inf=infinite_defaults)  # the saved hyperparameters are all finite


def test_gan_with_infinite_learning_rate_names_the_argument_and_the_fix():
    with pytest.raises(ValueError, match=r"^lr must be a finite number, got inf\. inf and nan train to non-finite"):
        get_variant("GAN")(lr=math.inf)
    with pytest.raises(ValueError, match=r"^betas\[1\] must be a finite number, got nan"):
        get_variant("GAN")(betas=(0.5, math.nan))


def test_require_finite_walks_nested_values():
    require_finite({"a": 1.0, "b": [0.5, (2, 3.0)], "c": {"d": 1e-5}, "e": "inf", "f": None, "g": True})
    with pytest.raises(ValueError, match=r"^c\['d'\]\[1\] must be a finite number, got -inf\.$"):
        require_finite({"c": {"d": [0.0, -math.inf]}})


def test_an_argument_whose_default_is_infinite_keeps_accepting_it():
    class Limit(get_variant("GAN")):  # a variant whose paper names an infinite limit as its default
        def __init__(self, hinge_weight: float = math.inf, **kwargs) -> None:
            super().__init__(**kwargs)

    assert Limit(**TINY).hparams.hinge_weight == math.inf
    with pytest.raises(ValueError, match=r"^hinge_weight must be a finite number, got nan"):
        Limit(hinge_weight=math.nan, **TINY)
    with pytest.raises(ValueError, match=r"^lr must be a finite number, got inf"):
        Limit(lr=math.inf, **TINY)
