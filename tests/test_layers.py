"""The package's layers import only downwards, and no modules import each other in a circle.

Read from the source (every `import`, function-level ones included), not by
importing it. The layers, lowest first; a module may import its own layer
and the layers below it, never one above:

  base        mer_jax/__init__, errors, multihost, atomic_write: what every layer uses
  preprocess  pure functions of arrays (face, flow, TIM, EVM, descriptors, recipes)
  data        samples: corpus adapters, labels, protocols, the cache builders that run
              the recipes, the device-resident arrays
  models      Flax modules and their registry
  weights     importers of published weight files into the models' parameters
  train       the fold-parallel loop: fold functions, selection, checkpoints
  eval        metrics, results.json and the report, comparison, Grad-CAM maps
  baselines   SVMs on cached descriptors, through the same protocols and report
  app         the command lines and what only they need (main, experiment, sweep,
              prepare, predict, gradcam, inspect, config docs)

design.md draws the flow data -> preprocess -> models -> train -> eval;
preprocess sits below data here because data's cache builders run the
recipes, while the recipes never read a corpus (BUILD_NOTES.md, Architecture).
"""

from __future__ import annotations

import ast
import pathlib

LAYERS = ("base", "preprocess", "data", "models", "weights", "train", "eval", "baselines",
          "app")
BASE = {"mer_jax", "mer_jax.errors", "mer_jax.multihost", "mer_jax.atomic_write"}
PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "mer_jax"


def module_name(path: pathlib.Path) -> str:
  parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
  if module in BASE:
    return "base"
  parts = module.split(".")
  if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir():
    return parts[1] if parts[1] in LAYERS else "app"
  return "app"


def resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
  """The mer_jax modules a `from ... import ...` names (a module or the package it is in)."""
  if node.level:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    source = ".".join(base + ([node.module] if node.module else []))
  else:
    source = node.module or ""
  if not source.startswith("mer_jax"):
    return []
  found = []
  for alias in node.names:
    candidate = f"{source}.{alias.name}"
    path = PACKAGE.parent / candidate.replace(".", "/")
    found.append(candidate if path.with_suffix(".py").exists() or path.is_dir() else source)
  return found


def imports() -> dict[str, set[str]]:
  """Each mer_jax module -> the mer_jax modules it imports."""
  graph = {}
  for path in sorted(PACKAGE.rglob("*.py")):
    module = module_name(path)
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
      if isinstance(node, ast.Import):
        names |= {a.name for a in node.names if a.name.startswith("mer_jax")}
      elif isinstance(node, ast.ImportFrom):
        names |= set(resolve(module, path.name == "__init__.py", node))
    graph[module] = names - {module}
  return graph


def test_no_module_imports_a_layer_above_its_own():
  rank = {name: i for i, name in enumerate(LAYERS)}
  upward = [f"{m} ({layer(m)}) imports {i} ({layer(i)})"
            for m, targets in imports().items() for i in sorted(targets)
            if rank[layer(i)] > rank[layer(m)]]
  assert not upward, "\n".join(upward)


def test_no_import_circle():
  graph = imports()
  state, circles = {}, []

  def visit(module, trail):
    state[module] = "open"
    for target in sorted(graph.get(module, ())):
      if target not in graph:
        continue
      if state.get(target) == "open":
        circles.append(" -> ".join(trail[trail.index(target):] + [target]))
      elif target not in state:
        visit(target, trail + [target])
    state[module] = "done"

  for module in sorted(graph):
    if module not in state:
      visit(module, [module])
  assert not circles, "\n".join(circles)


def test_the_layer_map_knows_every_subpackage():
  subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
  assert subpackages <= set(LAYERS), subpackages - set(LAYERS)
