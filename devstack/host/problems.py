"""Errors the host itself answers, as RFC 9457 `application/problem+json`; never a stack trace."""

from __future__ import annotations

from devstack.core.problems import PROBLEM_JSON, problem

__all__ = ["PROBLEM_JSON", "problem"]
