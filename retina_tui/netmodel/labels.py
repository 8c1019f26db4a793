"""Label selectors as the API defines them (metav1.LabelSelector), and how to show them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]


def selects(selector: Obj | None, labels: Mapping[str, str]) -> bool:
    """Whether `selector` matches `labels`; an empty selector matches everything.

    A None selector matches nothing where the API says so (a Service without a selector);
    callers that mean "everything" pass {}.
    """
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key = str(expression.get("key", ""))
        operator = expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True


def show_selector(selector: Obj | None) -> str:
    """`app=web,role in (x,y)`; `(all pods)` for an empty selector."""
    if not selector:
        return "(all pods)"
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression.get("key", ""), expression.get("operator", "")
        values = ",".join(str(v) for v in expression.get("values") or [])
        if operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {'in' if operator == 'In' else 'notin'} ({values})")
    return ",".join(parts) or "(all pods)"


def show_labels(labels: Mapping[str, str]) -> str:
    """`app=client` (or `no labels`), the way a rule's peer is named in explanations."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
