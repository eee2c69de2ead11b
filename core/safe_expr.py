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


def _constant_value(node: ast.AST) -> float | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _constant_value(node.operand)
        return -v if v is not None else None
    if isinstance(node, ast.BinOp):
        a, b = _constant_value(node.left), _constant_value(node.right)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Pow):
            if abs(b) > MAX_EXPONENT:
                raise ExpressionError(f"Exponent {b:g} is too large (at most {MAX_EXPONENT:g})")
            try:
                return a**b
            except (OverflowError, ZeroDivisionError):
                raise ExpressionError("Constant power overflows") from None
        try:
            return _BINOPS[type(node.op)](a, b) if type(node.op) in _BINOPS else None
        except ZeroDivisionError:
            raise ExpressionError("Division by zero in a constant") from None
    return None
