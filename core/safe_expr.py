"""A safe parser for the formulas students type: f(x, y) = ..., never ``eval``.

The text is parsed with :mod:`ast` and only a whitelist of node types is accepted:
numbers, the named variables, + - * / ** and unary minus, and a fixed set of
functions. The result is a small tree compiled into a Python closure that works on
torch tensors (so autograd gives exact gradients) and on numpy arrays alike.
"""

from __future__ import annotations

import ast
import math
from typing import Callable, Sequence

import numpy as np

__all__ = ["parse_expression", "ExpressionError", "FUNCTIONS"]

MAX_LENGTH = 300
MAX_NODES = 200
MAX_EXPONENT = 16.0


class ExpressionError(ValueError):
    """A formula that cannot be accepted; the message is meant for the student."""


def _lib(x):
    """torch for tensors, numpy otherwise."""
    mod = type(x).__module__
    if mod.startswith("torch"):
        import torch

        return torch
    import numpy

    return numpy


def _f(name):
    def call(x):
        return getattr(_lib(x), name)(x)

    return call


FUNCTIONS: dict[str, Callable] = {
    "exp": _f("exp"),
    "log": _f("log"),
    "sin": _f("sin"),
    "cos": _f("cos"),
    "tan": _f("tan"),
    "tanh": _f("tanh"),
    "abs": _f("abs"),
    "sqrt": _f("sqrt"),
    "sign": _f("sign"),
}
CONSTANTS = {"pi": math.pi, "e": math.e}

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def parse_expression(text: str, variables: Sequence[str] = ("x", "y")) -> Callable:
    """Compile ``text`` into ``f(*variables)``; raise :class:`ExpressionError` if refused."""
    text = (text or "").strip().replace("^", "**")
    if not text:
        raise ExpressionError("Type a formula, e.g. x**2 + 3*y**2")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"Formula too long ({len(text)} characters, at most {MAX_LENGTH})")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        col = f" at character {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"Not a formula{col}: {exc.msg}") from None
    nodes = sum(1 for _ in ast.walk(tree))
    if nodes > MAX_NODES:
        raise ExpressionError(f"Formula too complex ({nodes} parts, at most {MAX_NODES})")
    index = {name: i for i, name in enumerate(variables)}
    build = _Builder(index)
    fn = build(tree.body)
    if not build.used:
        # A constant surface is legal but has no gradient; still make its shape follow x.
        first = variables[0]
        const = fn
        fn = lambda *args: const(*args) + 0 * args[index[first]]  # noqa: E731
    return fn


class _Builder:
    def __init__(self, index: dict[str, int]):
        self.index = index
        self.used: set[str] = set()

    def __call__(self, node: ast.AST) -> Callable:
        if not isinstance(node, (ast.Constant, ast.Name)):
            # Fold every constant part now: 0**-1, (1e300)**16 or (-8)**0.5 are refused
            # here with a message, instead of failing (or turning complex) mid-evaluation.
            value = _constant_value(node)
            if value is not None:
                return lambda *a: value
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ExpressionError(f"Only numbers are allowed, not {node.value!r}")
            value = float(node.value)
            return lambda *a: value
        if isinstance(node, ast.Name):
            if node.id in self.index:
                i = self.index[node.id]
                self.used.add(node.id)
                return lambda *a: a[i]
            if node.id in CONSTANTS:
                value = CONSTANTS[node.id]
                return lambda *a: value
            allowed = ", ".join([*self.index, *CONSTANTS])
            raise ExpressionError(f"Unknown name {node.id!r}; use {allowed}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            inner = self(node.operand)
            if isinstance(node.op, ast.USub):
                return lambda *a: -inner(*a)
            return inner
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            if isinstance(node.op, ast.Pow):
                self._check_exponent(node.right)
            if isinstance(node.op, ast.Div) and _constant_value(node.right) == 0:
                raise ExpressionError("Division by zero in a constant")
            left, right = self(node.left), self(node.right)
            op = _BINOPS[type(node.op)]
            return lambda *a: op(left(*a), right(*a))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                name = getattr(node.func, "id", "this")
                raise ExpressionError(f"Function {name!r} is not allowed; use {', '.join(FUNCTIONS)}")
            if len(node.args) != 1 or node.keywords:
                raise ExpressionError(f"{node.func.id}() takes exactly one argument")
            fn = FUNCTIONS[node.func.id]
            arg = self(node.args[0])
            return lambda *a: fn(arg(*a))
        what = type(node).__name__
        raise ExpressionError(f"'{ast.unparse(node) if hasattr(ast, 'unparse') else what}' is not allowed in a formula")

    def _check_exponent(self, node: ast.AST) -> None:
        # Huge constant powers (9**9**9) would hang or overflow; variable powers are fine.
        value = _constant_value(node)
        if value is not None and abs(value) > MAX_EXPONENT:
            raise ExpressionError(f"Exponent {value:g} is too large (at most {MAX_EXPONENT:g})")


def _real(value, text: str) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ExpressionError(f"{text} is not a finite real number")
    return value


def _constant_value(node: ast.AST) -> float | None:
    """The value of a part of the formula that holds no variable (None when it holds one).

    Evaluated in float64 numpy arithmetic, as the formula itself will be: a negative base
    to a fractional power is NaN there (refused), never a Python complex number."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return _real(node.value, repr(node.value))
    if isinstance(node, ast.Name) and node.id in CONSTANTS:
        return CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _constant_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    text = ast.unparse(node)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        a, b = _constant_value(node.left), _constant_value(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Pow) and abs(b) > MAX_EXPONENT:
            raise ExpressionError(f"Exponent {b:g} is too large (at most {MAX_EXPONENT:g})")
        if isinstance(node.op, ast.Div) and b == 0:
            raise ExpressionError(f"Division by zero in {text}")
        if isinstance(node.op, ast.Pow) and a == 0 and b < 0:
            raise ExpressionError(f"Division by zero in {text} (0 to a negative power)")
        with np.errstate(all="ignore"):
            return _real(_BINOPS[type(node.op)](np.float64(a), np.float64(b)), text)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS and len(node.args) == 1 and not node.keywords:
        v = _constant_value(node.args[0])
        if v is None:
            return None
        with np.errstate(all="ignore"):
            return _real(FUNCTIONS[node.func.id](np.float64(v)), text)
    return None
