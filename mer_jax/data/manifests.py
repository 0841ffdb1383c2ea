"""Published protocols have fixed clip counts: a run that has fewer is not that protocol.

A paper config names its protocol's manifest (`config.data.manifest`); after
the data is loaded, `check` compares the clips and subjects kept per dataset
with the published counts. Fewer (or more) clips stop the run with an error
that names the clips left out before the protocol's selection and why, unless
`config.data.allow_missing=True`: then the run goes on and every report says
'N of M clips' above its table, beside the paper's rows.

Counts (shared/datasets.md, computed from the annotation files):
  megc2019  MEGC 2019 composite, 3 classes: CASME II 145 clips / 24 subjects,
            SAMM 133 / 28, SMIC-HS 164 / 16; 442 / 68 in all.
  megc2018  MEGC 2018 objective classes I-V: CASME II 185 / 26, SAMM 68 / 21;
            253 / 47.
  casme2_5  CASME II, 5 classes (happiness, disgust, repression, surprise,
            others) of CASME2-coding-20140508.xlsx: 246 / 26 (the ELRCN paper
            writes 247, the CASME II paper's count of selected clips).

Only counts are kept here, never the licensed annotation itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from mer_jax.data.sample import Exclusion, Sample
from mer_jax.errors import ConfigError, DataError

_SHOWN = 8  # clips named in the error; the full list goes to the log


@dataclasses.dataclass(frozen=True)
class Manifest:
  """A published protocol's clip and subject counts per dataset."""

  name: str
  title: str
  counts: Mapping[str, tuple[int, int]]  # dataset -> (clips, subjects)

  @property
  def clips(self) -> int:
    return sum(c for c, _ in self.counts.values())

  @property
  def subjects(self) -> int:
    return sum(s for _, s in self.counts.values())


MANIFESTS = {
    "megc2019": Manifest("megc2019", "MEGC 2019 composite (3 classes)",
                         {"casme2": (145, 24), "samm": (133, 28), "smic": (164, 16)}),
    "megc2018": Manifest("megc2018", "MEGC 2018 objective classes I-V",
                         {"casme2": (185, 26), "samm": (68, 21)}),
    "casme2_5": Manifest("casme2_5", "CASME II, 5 classes", {"casme2": (246, 26)}),
}


def get(name: str) -> Manifest:
  """The manifest called `name`, or a ConfigError listing the known ones."""
  if name not in MANIFESTS:
    raise ConfigError(f"config.data.manifest={name!r}; expected '' (no fixed protocol) or one "
                      f"of {sorted(MANIFESTS)}")
  return MANIFESTS[name]


def coverage(manifest: Manifest, samples: Sequence[Sample]) -> dict[str, Any]:
  """The run's counts beside the manifest's (a JSON-ready dict for results.json).

  `clips` and `subjects` count the protocol's datasets only; `other_clips` the
  samples of datasets outside it (a complete run has none).
  """
  per_dataset = {}
  for name, (clips, subjects) in manifest.counts.items():
    mine = [s for s in samples if s.dataset == name]
    per_dataset[name] = {"clips": len(mine), "expected_clips": clips,
                         "subjects": len({s.subject for s in mine}),
                         "expected_subjects": subjects}
  mine = [s for s in samples if s.dataset in manifest.counts]
  return {"manifest": manifest.name, "title": manifest.title, "clips": len(mine),
          "expected_clips": manifest.clips,
          "subjects": len({(s.dataset, s.subject) for s in mine}),
          "expected_subjects": manifest.subjects, "per_dataset": per_dataset,
          "other_clips": len(samples) - len(mine)}


def is_complete(cov: Mapping[str, Any]) -> bool:
  """True when every dataset has exactly its published clip and subject counts."""
  return not cov["other_clips"] and all(
      d["clips"] == d["expected_clips"] and d["subjects"] == d["expected_subjects"]
      for d in cov["per_dataset"].values())


def describe(cov: Mapping[str, Any]) -> str:
  """'439 of 442 clips, 67 of 68 subjects (casme2 143 of 145, ...)'."""
  parts = [f"{name} {d['clips']} of {d['expected_clips']}"
           for name, d in cov["per_dataset"].items() if d["clips"] != d["expected_clips"]]
  text = (f"{cov['clips']} of {cov['expected_clips']} clips, {cov['subjects']} of "
          f"{cov['expected_subjects']} subjects")
  if cov["other_clips"]:
    parts.append(f"and {cov['other_clips']} clips of datasets outside the protocol")
  return text + (f" ({', '.join(parts)})" if parts else "")


def check(manifest_name: str, samples: Sequence[Sample], candidates: Sequence[Exclusion],
          allow_missing: bool) -> dict[str, Any] | None:
  """Compares the kept samples with the manifest; the coverage record, or DataError.

  Args:
    manifest_name: `config.data.manifest`; '' checks nothing (returns None).
    samples: the samples the run keeps (after the label scheme).
    candidates: clips left out before the protocol's selection, for reasons
      other than the label scheme (unreadable frames, a malformed row, a
      failed preprocessing): the likely missing clips, named in the error.
    allow_missing: run on what there is, the shortfall stated in every report.

  Raises:
    DataError: the counts differ from the manifest and allow_missing is False.
  """
  if not manifest_name:
    return None
  manifest = get(manifest_name)
  cov = coverage(manifest, samples)
  if is_complete(cov) or allow_missing:
    return cov
  shown = "; ".join(f"{e.key}: {e.reason}" for e in candidates[:_SHOWN])
  more = f" and {len(candidates) - _SHOWN} more" if len(candidates) > _SHOWN else ""
  why = (f"left out before the protocol's selection: {shown}{more}" if candidates else
         "no clip was left out by the adapters or preprocessing, so the annotation files "
         "differ from the published ones (another revision?)")
  raise DataError(
      f"config.data.manifest={manifest.name!r} ({manifest.title}) has "
      f"{manifest.clips} clips of {manifest.subjects} subjects, but this run has "
      f"{describe(cov)}; {why}. Fix the data (python -m mer_jax.inspect lists every "
      "reason), or set --config.data.allow_missing=True to run on what there is (every "
      "report then says so)")
