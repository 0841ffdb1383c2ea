"""Inspect a dataset (or a MEGC composite) as training would read it: counts and exclusions.

  python -m mer_jax.inspect --dataset=casme2 --root=/data/CASME2
  python -m mer_jax.inspect --dataset=smic --subset=vis --root=/data/SMIC
  python -m mer_jax.inspect --dataset=smic --root=/data/SMIC \\
      --adapter_options='{"frames": "raw"}'
  python -m mer_jax.inspect --dataset=samm --root=/data/SAMM --scheme=megc2019 --json
  python -m mer_jax.inspect --dataset=synthetic           # generated in memory
  python -m mer_jax.inspect      # the corpora of the datasets file / $MER_JAX_DATA
  python -m mer_jax.inspect --protocol=megc2019 --root=casme2=/data/CASME2 \\
      --root=samm=/data/SAMM --root=smic=/data/SMIC \\
      --adapter_options='{"smic": {"frames": "cropped"}}'

Prints the samples per class (the corpus' own emotion labels, or the classes
of --scheme and what it leaves out) and per subject, then three lists, each
sample with its reason: 'excluded' (the adapter left it out: an unknown
label, a malformed row, missing or unreadable frames), 'left out by scheme'
(a label the scheme or protocol does not use) and 'repaired' (kept after a
repair, e.g. a midpoint apex or an ignored 'cover.jpg').

Every frame of every sample that would be trained on is decoded as training
decodes it (`frames._read_rgb`: missing, 0-byte, truncated or corrupt files),
with a progress bar on stderr; a clip with an unreadable frame moves to
'excluded', naming the file. `--nocheck_frames` skips this (fast, counts
only). `--adapter_options` takes the adapter's options as a JSON object
(datasets.ADAPTER_OPTIONS), keyed by dataset with --protocol. A dataset
without --root is read from the datasets file or $MER_JAX_DATA
(data/corpus_roots.py); with no flags at all, every corpus found there is
listed with whether it parses (frames not decoded).

`--json` prints one object: n_found, n_samples, n_subjects, per_label,
per_subject, left_out_per_label, kept (sample keys), excluded, left_out and
repaired ({sample, reason} lists), frame_check, and for --protocol
per_database (the same counts and lists per dataset). Errors in the input
print one line `mer_jax: error: ...` and exit with status 2. The counting
functions are pure (`summarize`, `format_summary`); `check_frames` reads files.
"""

from __future__ import annotations

import collections
import json
import os
import sys
from typing import Any, Callable, Sequence

from absl import app
from absl import flags
import tqdm

from mer_jax import command_line
from mer_jax.data import apex as apex_lib
from mer_jax.data import corpus_roots
from mer_jax.data import datasets
from mer_jax.data import labels as labels_lib
from mer_jax.data import megc
from mer_jax.data import protocols
from mer_jax.data import root_settings
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import ConfigError, DataError, MerError
from mer_jax.preprocess import frames as frames_lib

# protocol -> (datasets it needs, its label scheme, the builder of its sample set).
PROTOCOLS: dict[str, tuple[tuple[str, ...], str, Callable[[Sequence[Sample]], list]]] = {
    "megc2019": (megc.MEGC2019_DATASETS, "megc2019", megc.megc2019_composite),
    "megc2018": (megc.MEGC2018_DATASETS, "objective_5", megc.megc2018_objective),
}
SMIC_SUBSETS = {"hs": "smic", "vis": "smic_vis", "nir": "smic_nir"}
DATASET_NAMES = tuple(sorted(datasets.ADAPTERS)) + tuple(datasets.BUILT_IN)

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
  """Samples per person (`protocols.subject_id`: 'casme2/sub01', 'smic/s1'), sorted."""
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
    the scheme keeps), n_subjects, per_label, per_subject,
    left_out_per_label (corpus label -> count the scheme leaves out), kept
    (their keys), and three {sample, reason} lists: excluded (by the
    adapter), left_out (by the scheme) and repaired.
  """
  kept, left = select(scan.samples, scheme, builder)
  left_out = collections.Counter(s.emotion for s, _ in left)
  return {
      "scheme": scheme.name if scheme else None,
      "n_found": len(scan.samples), "n_samples": len(kept),
      "n_subjects": len({protocols.subject_id(s) for s in kept}),
      "per_label": count_labels(kept, scheme), "per_subject": count_subjects(kept),
      "left_out_per_label": dict(sorted(left_out.items())),
      "kept": [s.key for s in kept],
      "excluded": _notes([(e.key, e.reason) for e in scan.excluded]),
      "left_out": _notes([(s.key, reason) for s, reason in left]),
      "repaired": _notes([(e.key, e.reason) for e in scan.repaired]),
  }


def summarize_protocol(scans: dict[str, Scan], protocol: str) -> dict:
  """`summarize` of a MEGC composite, plus per_database: the same per dataset."""
  _, scheme_name, builder = PROTOCOLS[protocol]
  scheme = labels_lib.get_scheme(scheme_name)
  merged = Scan([s for scan in scans.values() for s in scan.samples],
                [e for scan in scans.values() for e in scan.exclusions])
  summary = {"protocol": protocol, **summarize(merged, scheme, builder)}
  kept, left = select(merged.samples, scheme, builder)
  summary["per_database"] = {name: _database_part(scan, [s for s in kept if s.dataset == name],
                                                  [p for p in left if p[0].dataset == name],
                                                  scheme)
                             for name, scan in scans.items()}
  return summary


def _database_part(scan: Scan, kept: Sequence[Sample], left: Sequence[tuple[Sample, str]],
                   scheme: labels_lib.LabelScheme) -> dict:
  """One dataset's counts and lists within a protocol (`kept`, `left`: its own)."""
  return {"n_found": len(scan.samples), "n_samples": len(kept),
          "n_subjects": len({protocols.subject_id(s) for s in kept}),
          "per_label": count_labels(kept, scheme), "kept": [s.key for s in kept],
          "excluded": _notes([(e.key, e.reason) for e in scan.excluded]),
          "left_out": _notes([(s.key, reason) for s, reason in left]),
          "repaired": _notes([(e.key, e.reason) for e in scan.repaired])}

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


def _format_frame_check(check: dict | None) -> list[str]:
  """One line: how many frames were decoded, or that the check was skipped."""
  if check is None:
    return ["frames: not decoded (--nocheck_frames)"]
  if check["clips"] == 0:
    return ["frames: none on disk to decode"]
  return [f"frames: {check['frames']} decoded in {check['clips']} clips, "
          f"{check['unreadable']} clips unreadable (listed under excluded)"]


def format_summary(title: str, summary: dict) -> str:
  """The text report of a `summarize` / `summarize_protocol` result.

  After the counts come three lists, kept apart: 'excluded' (the adapter
  left the sample out), 'left out by scheme' and 'repaired'.
  """
  scheme = summary["scheme"]
  lines = [f"{title}: {summary['n_samples']} samples, {summary['n_subjects']} subjects"
           + (f" ({summary['n_found']} found, scheme {scheme})" if scheme else "")]
  if "per_database" in summary:
    lines += ["per database:"] + _format_databases(summary["per_database"],
                                                   list(summary["per_label"]))
  lines += [f"per label ({f'scheme {scheme}' if scheme else 'corpus labels'}):"]
  lines += _format_counts(summary["per_label"])
  if scheme:
    lines += [f"left out by scheme {scheme}, per corpus label:"]
    lines += _format_counts(summary["left_out_per_label"]) or ["  none"]
  lines += ["per subject:"] + _format_counts(_subject_labels(summary))
  if "frame_check" in summary:
    lines += _format_frame_check(summary["frame_check"])
  lines += _format_notes("excluded", summary["excluded"])
  if scheme:
    lines += _format_notes(f"left out by scheme {scheme}", summary["left_out"])
  lines += _format_notes("repaired", summary["repaired"])
  return "\n".join(lines)

# --------------------------------------------------------- frame check ---


def _clip_problem(sample: Sample, bar: tqdm.tqdm) -> str | None:
  """Why a clip's frames cannot be read as training reads them, or None.

  Every frame is decoded (`frames._read_rgb`) and must have the first
  frame's size, as `frames.read_frames` requires.
  """
  first = None
  for done, path in enumerate(sample.frame_paths):
    try:
      shape = frames_lib._read_rgb(path).shape  # pylint: disable=protected-access
    except DataError as e:
      bar.update(len(sample.frame_paths) - done)
      return f"unreadable frame: {e}"
    bar.update(1)
    if first is None:
      first = shape
    elif shape != first:
      bar.update(len(sample.frame_paths) - done - 1)
      return (f"{path}: frame is {shape[1]}x{shape[0]} (WxH) but "
              f"{sample.frame_paths[0]} is {first[1]}x{first[0]}; all frames of a clip "
              "must have the same size")
  return None


def check_frames(scans: dict[str, Scan], keys: set[str] | None = None, *,
                 progress: bool = True) -> tuple[dict[str, Scan], dict]:
  """Decodes every frame of the samples in `keys` (all when None), one progress bar.

  Args:
    scans: dataset -> what its adapter found.
    keys: the sample keys to check (those a scheme keeps); in-memory samples
      (no frame_paths) are skipped.
    progress: show a tqdm bar on stderr.

  Returns:
    (the scans with every clip that has an unreadable or odd-sized frame moved
    from samples to exclusions, the reason naming the file;
    {'clips', 'frames', 'unreadable'} counts over all scans).
  """
  todo = [s for scan in scans.values() for s in scan.samples
          if s.frame_paths and (keys is None or s.key in keys)]
  total = sum(len(s.frame_paths) for s in todo)
  bad: dict[str, str] = {}
  with tqdm.tqdm(total=total, desc="decoding frames", unit="frame", file=sys.stderr,
                 disable=not progress or total == 0) as bar:
    for sample in todo:
      if (reason := _clip_problem(sample, bar)) is not None:
        bad[sample.key] = reason
  out = {}
  for name, scan in scans.items():
    moved = [Exclusion(s.key, bad[s.key]) for s in scan.samples if s.key in bad]
    out[name] = Scan([s for s in scan.samples if s.key not in bad],
                     list(scan.exclusions) + moved)
  return out, {"clips": len(todo), "frames": total, "unreadable": len(bad)}

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


def parse_adapter_options(text: str | None) -> dict[str, Any]:
  """--adapter_options -> a dict, or a one-line ConfigError saying what is wrong."""
  if not text:
    return {}
  try:
    value = json.loads(text)
  except json.JSONDecodeError as e:
    raise ConfigError(f"--adapter_options={text!r} is not valid JSON: {e}") from None
  if not isinstance(value, dict):
    raise ConfigError(f"--adapter_options={text!r} must be a JSON object, e.g. "
                      "'{\"frames\": \"cropped\"}' (with --protocol: "
                      "'{\"smic\": {\"frames\": \"raw\"}}')")
  return value


def _protocol_options(options: dict[str, Any], needed: Sequence[str]) -> dict[str, dict]:
  """--adapter_options of a protocol, keyed by dataset -> {dataset: its options}."""
  unknown = sorted(set(options) - set(needed))
  if unknown:
    raise ConfigError(f"--adapter_options: with --protocol, keys are datasets of the "
                      f"protocol {list(needed)}, e.g. '{{\"smic\": {{\"frames\": "
                      f"\"raw\"}}}}'; got {unknown}")
  for name, value in options.items():
    if not isinstance(value, dict):
      raise ConfigError(f"--adapter_options: the options of {name!r} must be a JSON "
                        f"object, e.g. {{\"frames\": \"raw\"}}; got {value!r}")
  return {name: dict(options.get(name, {})) for name in needed}


def load_scan(name: str, root: str | None, apex: str,
              options: dict[str, Any] | None = None) -> Scan:
  """Reads dataset `name` from `root` (synthetic without a root: generated in memory).

  Raises:
    ConfigError: a missing root, or an option the adapter does not take.
    DataError: the root is not a folder, or the adapter cannot read it.
  """
  options = dict(options or {})
  datasets.check_options(name, options, where="--adapter_options")
  if name in datasets.BUILT_IN and root is None:
    return datasets.generate(name, {})[0]
  if root is None:
    raise ConfigError(f"--dataset={name} needs --root=DIR, the folder of the corpus, or a "
                      f"root in the datasets file or ${root_settings.DATA_HOME_ENV} "
                      f"({root_settings.how_to_set(name)})")
  if not os.path.isdir(root):
    raise DataError(f"--root={root}: no such directory (the {name} corpus should be there)")
  return datasets.load(name, root, apex=apex, **options)


def _configured_root(name: str) -> str | None:
  """Dataset `name`'s root from the datasets file or $MER_JAX_DATA (data/corpus_roots.py)."""
  if name in datasets.BUILT_IN:
    return None
  found = corpus_roots.resolve(name)
  return found.path if found else None


def _single_root(roots: dict[str | None, str], name: str) -> str | None:
  """The one root of a single-dataset run (plain DIR or NAME=DIR; else the configured one)."""
  if len(roots) > 1 or any(k not in (None, name) for k in roots):
    raise ConfigError(f"--dataset={name} takes one --root=DIR (or --root={name}=DIR); "
                      f"got {sorted(str(k) for k in roots)}")
  return next(iter(roots.values()), None) or _configured_root(name)


def _protocol_roots(roots: dict[str | None, str], protocol: str) -> dict[str, str]:
  """The NAME=DIR roots of every dataset that `protocol` needs, in its order."""
  needed = PROTOCOLS[protocol][0]
  unknown = [str(k) for k in roots if k not in needed]
  chosen = {name: roots.get(name) or _configured_root(name) for name in needed}
  if unknown or not all(chosen.values()):
    missing = [name for name, root in chosen.items() if not root]
    raise ConfigError(f"--protocol={protocol} needs a root for each of {list(needed)} "
                      f"(--root=NAME=DIR, the datasets file or ${root_settings.DATA_HOME_ENV}); "
                      f"no root for {missing}" + (f", and {unknown} are not of this protocol"
                                                  if unknown else ""))
  return chosen


def _flag(fv: flags.FlagValues, name: str, default: Any) -> Any:
  """fv.<name>, or `default` when the flag is not defined (a caller's own FlagValues)."""
  return getattr(fv, name, default)


def _checked(scans: dict[str, Scan], scheme: labels_lib.LabelScheme | None,
             builder: Callable | None, check: bool
             ) -> tuple[dict[str, Scan], dict | None]:
  """The scans after decoding the frames of every sample the scheme keeps.

  Returns (the scans, unchanged when not `check`; the frame_check counts or None).
  """
  if not check:
    return scans, None
  merged = [s for scan in scans.values() for s in scan.samples]
  return check_frames(scans, {s.key for s in select(merged, scheme, builder)[0]})


def inspect(fv: flags.FlagValues) -> tuple[str, dict]:
  """(title, summary) for the flags; raises MerError on bad input.

  Reads the flags dataset, protocol, root, scheme, subset, apex, json,
  adapter_options and check_frames (the last two default to '{}' and True
  when `fv` lacks them).
  """
  roots = parse_roots(fv.root)
  options = parse_adapter_options(_flag(fv, "adapter_options", "{}"))
  check = _flag(fv, "check_frames", True)
  if not roots and all(getattr(fv, f) is None for f in ("dataset", "protocol", "scheme",
                                                       "subset")):
    return "configured corpora", summarize_configured(fv.apex)
  if (fv.dataset is None) == (fv.protocol is None):
    raise ConfigError("give either --dataset=NAME or --protocol=NAME")
  if fv.protocol is not None:
    if fv.scheme is not None:
      raise ConfigError(f"--scheme cannot be combined with --protocol={fv.protocol}, "
                        "which fixes its own label scheme")
    needed, scheme_name, builder = PROTOCOLS[fv.protocol]
    per_dataset = _protocol_options(options, needed)
    scans = {n: load_scan(n, r, fv.apex, per_dataset[n])
             for n, r in _protocol_roots(roots, fv.protocol).items()}
    scans, frame_check = _checked(scans, labels_lib.get_scheme(scheme_name), builder, check)
    return fv.protocol, {**summarize_protocol(scans, fv.protocol), "frame_check": frame_check}
  name = resolve_dataset(fv.dataset, fv.subset)
  scheme = labels_lib.get_scheme(fv.scheme) if fv.scheme else None
  scans = {name: load_scan(name, _single_root(roots, name), fv.apex, options)}
  scans, frame_check = _checked(scans, scheme, None, check)
  return name, {**summarize(scans[name], scheme), "frame_check": frame_check}

def summarize_configured(apex: str) -> dict:
  """What the datasets file and $MER_JAX_DATA give, and whether each corpus parses.

  Returns {'datasets_file', 'data_home', 'corpora': {name: {root, source,
  n_samples, n_subjects, n_excluded} or {root, source, error}}}. Frames are
  not decoded here: `--dataset=NAME` checks them.
  """
  corpora = {}
  for name, found in corpus_roots.found_roots().items():
    entry: dict[str, Any] = {"root": found.path, "source": found.source}
    try:
      scan = load_scan(name, found.path, apex)
      entry.update(n_samples=len(scan.samples),
                   n_subjects=len({s.subject for s in scan.samples}),
                   n_excluded=sum(not e.repaired for e in scan.excluded))
    except MerError as e:
      entry["error"] = str(e)
    corpora[name] = entry
  return {"datasets_file": root_settings.user_file(),
          "data_home": os.environ.get(root_settings.DATA_HOME_ENV) or None,
          "corpora": corpora}


def format_configured(summary: dict) -> str:
  """The text of `summarize_configured`: one line per corpus."""
  lines = [f"datasets file: {summary['datasets_file']}",
           f"${root_settings.DATA_HOME_ENV}: {summary['data_home'] or '(not set)'}"]
  if not summary["corpora"]:
    lines.append("no corpus found; " + root_settings.how_to_set("casme2"))
  for name, c in summary["corpora"].items():
    what = (f"ERROR {c['error']}" if "error" in c else
            f"parses: {c['n_samples']} samples, {c['n_subjects']} subjects, "
            f"{c['n_excluded']} excluded")
    lines.append(f"  {name:9s} {c['root']} (from {c['source']}): {what}")
  lines.append("(python -m mer_jax.inspect --dataset=NAME checks every frame)")
  return "\n".join(lines)

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
  flags.DEFINE_string("adapter_options", "{}", "JSON object of adapter options "
                      "(datasets.ADAPTER_OPTIONS), e.g. '{\"frames\": \"cropped\"}'; with "
                      "--protocol keyed by dataset: '{\"smic\": {\"frames\": \"raw\"}}'.",
                      flag_values=fv)
  flags.DEFINE_bool("check_frames", True, "Decode every frame of every kept sample as "
                    "training does; a clip with an unreadable frame is excluded. "
                    "--nocheck_frames only counts.", flag_values=fv)


def main(argv: Sequence[str], fv: flags.FlagValues = flags.FLAGS) -> None:
  """Prints the summary that the flags ask for."""
  if len(argv) > 1:
    command_line.fail(f"unexpected arguments: {' '.join(argv[1:])}")
  try:
    title, summary = inspect(fv)
  except MerError as e:
    command_line.fail(str(e))
  if fv.json:
    print(json.dumps(summary, indent=2))
  elif title == "configured corpora":
    print(format_configured(summary))
  else:
    print(format_summary(title, summary))


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=command_line.parse_flags)
