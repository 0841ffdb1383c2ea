"""Inspect a dataset (or a MEGC composite) as the adapters see it: counts and exclusions.

  python -m mer_jax.data.inspect --dataset=casme2 --root=/data/CASME2
  python -m mer_jax.data.inspect --dataset=smic --subset=vis --root=/data/SMIC
  python -m mer_jax.data.inspect --dataset=samm --root=/data/SAMM --scheme=megc2019 --json
  python -m mer_jax.data.inspect --dataset=synthetic           # generated in memory
  python -m mer_jax.data.inspect --protocol=megc2019 --root=casme2=/data/CASME2 \\
      --root=samm=/data/SAMM --root=smic=/data/SMIC

Prints the samples per class (the corpus' own emotion labels, or the classes
of --scheme and what it leaves out), per subject, and every sample that the
adapter excluded or repaired, with the reason. `--json` prints one object with
the keys n_found, n_samples, n_subjects, per_label, per_subject, left_out,
excluded and repaired ({sample, reason} lists), plus per_database for
--protocol. Errors in the input print one line `mer_jax: error: ...` and exit
with status 2. The counting functions are pure (`summarize`, `format_summary`).
"""

from __future__ import annotations

import collections
import json
import os
from typing import Callable, Sequence

from absl import app
from absl import flags

from mer_jax import command_line
from mer_jax.data import apex as apex_lib
from mer_jax.data import datasets
from mer_jax.data import labels as labels_lib
from mer_jax.data import megc
from mer_jax.data import protocols
from mer_jax.data.sample import Sample, Scan
from mer_jax.errors import ConfigError, DataError, MerError

# protocol -> (datasets it needs, its label scheme, the builder of its sample set).
PROTOCOLS: dict[str, tuple[tuple[str, ...], str, Callable[[Sequence[Sample]], list]]] = {
    "megc2019": (megc.MEGC2019_DATASETS, "megc2019", megc.megc2019_composite),
    "megc2018": (megc.MEGC2018_DATASETS, "objective_5", megc.megc2018_objective),
}
SMIC_SUBSETS = {"hs": "smic", "vis": "smic_vis", "nir": "smic_nir"}
DATASET_NAMES = tuple(sorted(datasets.ADAPTERS)) + ("synthetic",)

# ------------------------------------------------------------ counting ---


def count_labels(samples: Sequence[Sample],
                 scheme: labels_lib.LabelScheme | None = None) -> dict[str, int]:
  """Samples per class: scheme classes in class order, else emotions by count."""
  if scheme is not None:
    counts = collections.Counter(scheme.class_of(s) for s in samples)
    return {c: counts[c] for c in scheme.class_names}
  counts = collections.Counter(s.emotion for s in samples)
  return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def count_subjects(samples: Sequence[Sample]) -> dict[str, int]:
  """Samples per 'dataset/subject', in sorted order."""
  return dict(sorted(collections.Counter(protocols.subject_id(s) for s in samples).items()))


def _notes(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
  return [{"sample": key, "reason": reason} for key, reason in pairs]


def select(samples: Sequence[Sample], scheme: labels_lib.LabelScheme | None,
           builder: Callable[[Sequence[Sample]], list] | None = None
           ) -> tuple[list[Sample], list[tuple[Sample, str]]]:
  """(kept samples, [(left-out sample, reason)]) under a scheme or protocol builder."""
  if scheme is None:
    return list(samples), []
  if builder is None:
    kept, _, left = labels_lib.apply_scheme(samples, scheme)
    return kept, left
  kept = builder(samples)
  keys = {s.key for s in kept}
  return kept, [(s, scheme.exclusion_reason(s)) for s in samples if s.key not in keys]


def summarize(scan: Scan, scheme: labels_lib.LabelScheme | None = None,
              builder: Callable[[Sequence[Sample]], list] | None = None) -> dict:
  """The counts of `scan`, optionally under a label scheme (or protocol builder).

  Returns:
    A JSON-ready dict: n_found (samples the adapter kept), n_samples (those
    the scheme labels), n_subjects, per_label, per_subject, left_out
    (emotion -> count the scheme leaves out), excluded (the adapter's and the
    scheme's, as {sample, reason}) and repaired.
  """
  kept, left = select(scan.samples, scheme, builder)
  left_out = collections.Counter(s.emotion for s, _ in left)
  return {
      "scheme": scheme.name if scheme else None,
      "n_found": len(scan.samples), "n_samples": len(kept),
      "n_subjects": len({protocols.subject_id(s) for s in kept}),
      "per_label": count_labels(kept, scheme), "per_subject": count_subjects(kept),
      "left_out": dict(sorted(left_out.items())),
      "excluded": _notes([(e.key, e.reason) for e in scan.excluded]
                         + [(s.key, reason) for s, reason in left]),
      "repaired": _notes([(e.key, e.reason) for e in scan.repaired]),
  }


def summarize_protocol(scans: dict[str, Scan], protocol: str) -> dict:
  """`summarize` of a MEGC composite, plus per_database counts of what it keeps."""
  _, scheme_name, builder = PROTOCOLS[protocol]
  scheme = labels_lib.get_scheme(scheme_name)
  merged = Scan([s for scan in scans.values() for s in scan.samples],
                [e for scan in scans.values() for e in scan.exclusions])
  summary = {"protocol": protocol, **summarize(merged, scheme, builder)}
  kept, _ = select(merged.samples, scheme, builder)
  summary["per_database"] = {
      name: _database_counts([s for s in kept if s.dataset == name], scheme)
      for name in scans}
  return summary


def _database_counts(samples: Sequence[Sample], scheme: labels_lib.LabelScheme) -> dict:
  return {"n_samples": len(samples),
          "n_subjects": len({protocols.subject_id(s) for s in samples}),
          "per_label": count_labels(samples, scheme)}

# ---------------------------------------------------------- formatting ---


def _format_counts(counts: dict[str, int], per_line: int = 8) -> list[str]:
  """'  name n' cells, `per_line` to a line."""
  cells = [f"{k} {v}" for k, v in counts.items()]
  return ["  " + "  ".join(cells[i:i + per_line]) for i in range(0, len(cells), per_line)]


def _format_notes(title: str, notes: Sequence[dict[str, str]]) -> list[str]:
  return [f"{title} ({len(notes)}):"] + [f"  {n['sample']}: {n['reason']}" for n in notes]


def _format_databases(per_database: dict, class_names: Sequence[str]) -> list[str]:
  """A per-database table: class counts, total, subjects."""
  header = ["database"] + list(class_names) + ["total", "subjects"]
  rows = [[name] + [str(d["per_label"][c]) for c in class_names]
          + [str(d["n_samples"]), str(d["n_subjects"])] for name, d in per_database.items()]
  widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
  return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
          for r in [header] + rows]


def _subject_labels(summary: dict) -> dict[str, int]:
  """per_subject, keyed 'sub01' rather than 'casme2/sub01' for a single dataset."""
  counts = summary["per_subject"]
  if "per_database" in summary:
    return counts
  return {k.partition("/")[2]: v for k, v in counts.items()}


def format_summary(title: str, summary: dict) -> str:
  """The text report of a `summarize` / `summarize_protocol` result."""
  scheme = summary["scheme"]
  lines = [f"{title}: {summary['n_samples']} samples, {summary['n_subjects']} subjects"
           + (f" ({summary['n_found']} found, scheme {scheme})" if scheme else "")]
  if "per_database" in summary:
    lines += ["per database:"] + _format_databases(summary["per_database"],
                                                   list(summary["per_label"]))
  lines += [f"per label ({f'scheme {scheme}' if scheme else 'corpus labels'}):"]
  lines += _format_counts(summary["per_label"])
  if scheme:
    lines += [f"left out by scheme {scheme} (by corpus label):"]
    lines += _format_counts(summary["left_out"]) or ["  none"]
  lines += ["per subject:"] + _format_counts(_subject_labels(summary))
  lines += _format_notes("excluded", summary["excluded"])
  lines += _format_notes("repaired", summary["repaired"])
  return "\n".join(lines)

# -------------------------------------------------------------- loading ---


def parse_roots(values: Sequence[str] | None) -> dict[str | None, str]:
  """--root values -> {dataset or None (a plain DIR): DIR}."""
  roots: dict[str | None, str] = {}
  for value in values or ():
    name, sep, path = value.partition("=")
    key, path = (name, path) if sep and name in DATASET_NAMES else (None, value)
    if key in roots:
      raise ConfigError(f"--root given twice for {key or 'the dataset'}: "
                        f"{roots[key]!r} and {path!r}")
    roots[key] = path
  return roots


def resolve_dataset(name: str, subset: str | None) -> str:
  """The registry name of --dataset with --subset ('smic' + 'vis' -> 'smic_vis')."""
  if name not in DATASET_NAMES:
    raise ConfigError(f"--dataset={name!r} is unknown; expected one of {list(DATASET_NAMES)}")
  if subset is None:
    return name
  if name not in SMIC_SUBSETS.values():
    raise ConfigError(f"--subset={subset} applies to --dataset=smic only, not {name!r}")
  return SMIC_SUBSETS[subset]


def load_scan(name: str, root: str | None, apex: str) -> Scan:
  """Reads dataset `name` from `root` (synthetic without a root: generated in memory)."""
  if name == "synthetic" and root is None:
    from mer_jax.data import synthetic  # pylint: disable=g-import-not-at-top
    return Scan(synthetic.generate(synthetic.SyntheticSpec()).samples, [])
  if root is None:
    raise ConfigError(f"--dataset={name} needs --root=DIR, the folder of the corpus")
  if not os.path.isdir(root):
    raise DataError(f"--root={root}: no such directory (the {name} corpus should be there)")
  if name == "synthetic":
    from mer_jax.data import native  # pylint: disable=g-import-not-at-top
    return Scan(native.load_native(root), [])
  return datasets.load(name, root, apex=apex)


def _single_root(roots: dict[str | None, str], name: str) -> str | None:
  """The one root of a single-dataset run (plain DIR or NAME=DIR)."""
  if len(roots) > 1 or any(k not in (None, name) for k in roots):
    raise ConfigError(f"--dataset={name} takes one --root=DIR (or --root={name}=DIR); "
                      f"got {sorted(str(k) for k in roots)}")
  return next(iter(roots.values()), None)


def _protocol_roots(roots: dict[str | None, str], protocol: str) -> dict[str, str]:
  """The NAME=DIR roots of every dataset that `protocol` needs, in its order."""
  needed = PROTOCOLS[protocol][0]
  given = [k for k in roots if k is not None]
  if None in roots or sorted(given) != sorted(needed):
    raise ConfigError(f"--protocol={protocol} needs --root=NAME=DIR for exactly "
                      f"{list(needed)}; got {sorted(str(k) for k in roots)}")
  return {name: roots[name] for name in needed}


def inspect(fv: flags.FlagValues) -> tuple[str, dict]:
  """(title, summary) for the flags; raises MerError on bad input."""
  roots = parse_roots(fv.root)
  if (fv.dataset is None) == (fv.protocol is None):
    raise ConfigError("give either --dataset=NAME or --protocol=NAME")
  if fv.protocol is not None:
    if fv.scheme is not None:
      raise ConfigError(f"--scheme cannot be combined with --protocol={fv.protocol}, "
                        "which fixes its own label scheme")
    scans = {n: load_scan(n, r, fv.apex) for n, r in _protocol_roots(roots, fv.protocol).items()}
    return fv.protocol, summarize_protocol(scans, fv.protocol)
  name = resolve_dataset(fv.dataset, fv.subset)
  scheme = labels_lib.get_scheme(fv.scheme) if fv.scheme else None
  return name, summarize(load_scan(name, _single_root(roots, name), fv.apex), scheme)

# ------------------------------------------------------------------ CLI ---


def define_flags(fv: flags.FlagValues = flags.FLAGS) -> None:
  """Defines the CLI flags; called only when run as a program, not on import."""
  flags.DEFINE_string("dataset", None, f"One of {list(DATASET_NAMES)}.", flag_values=fv)
  flags.DEFINE_enum("protocol", None, list(PROTOCOLS), "A MEGC composite to inspect "
                    "instead of one dataset.", flag_values=fv)
  flags.DEFINE_multi_string("root", None, "Corpus folder: DIR with --dataset, NAME=DIR "
                            "(repeated) with --protocol.", flag_values=fv)
  flags.DEFINE_string("scheme", None, f"Label scheme, one of {sorted(labels_lib.SCHEMES)}.",
                      flag_values=fv)
  flags.DEFINE_enum("subset", None, list(SMIC_SUBSETS), "SMIC camera.", flag_values=fv)
  flags.DEFINE_enum("apex", "annotated", list(apex_lib.POLICIES), "Apex policy.",
                    flag_values=fv)
  flags.DEFINE_bool("json", False, "Print one JSON object.", flag_values=fv)


def main(argv: Sequence[str], fv: flags.FlagValues = flags.FLAGS) -> None:
  """Prints the summary that the flags ask for."""
  if len(argv) > 1:
    command_line.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    title, summary = inspect(fv)
  except MerError as e:
    command_line.fail(str(e))
  print(json.dumps(summary, indent=2) if fv.json else format_summary(title, summary))


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=command_line.parse_flags)
