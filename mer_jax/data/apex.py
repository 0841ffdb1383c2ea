"""Where a clip's apex frame comes from: the annotation, or an estimate.

SMIC annotates no apex, CASME II marks some as '/', and one SAMM copy has
apexes outside onset..offset, so the apex source is a choice
(`config.data.apex`), recorded in every `Sample.apex_source`:
  'annotated': the annotation where it is valid (onset <= apex <= offset);
    otherwise the midpoint, and the sample is listed as repaired.
  'midpoint': onset + (offset - onset) // 2 for every clip.
  'frame_difference': the frame that differs most from the onset frame (mean
    absolute grey difference); reads the frames.
  'flow_peak': the optical-flow magnitude peak (not implemented yet).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from mer_jax.data.sample import Exclusion, Sample
from mer_jax.errors import ConfigError
from mer_jax.preprocess import frames as frames_lib

POLICIES = ("annotated", "midpoint", "frame_difference", "flow_peak")
FLOW_PEAK_MISSING = ("config.data.apex='flow_peak' is not implemented yet (it needs a flow-peak "
                     "estimator over the clip); use 'annotated', 'midpoint' or "
                     "'frame_difference'")


def check_policy(policy: str) -> None:
  """Raises ConfigError, before any file is read, for a policy that cannot be used."""
  if policy not in POLICIES:
    raise ConfigError(f"config.data.apex={policy!r}; expected one of {POLICIES}")
  if policy == "flow_peak":
    raise ConfigError(FLOW_PEAK_MISSING)


def midpoint(onset: int, offset: int) -> int:
  return onset + (offset - onset) // 2


def frame_difference_peak(frame_paths: Sequence[str], onset: int) -> int:
  """Absolute frame number of the frame most different from the first (onset) one."""
  video = frames_lib.read_frames(frame_paths).astype(np.float32).mean(axis=-1)  # [T, H, W]
  diff = np.abs(video - video[:1]).mean(axis=(1, 2))
  return onset + int(np.argmax(diff))


def resolve(key: str, onset: int, apex: int | None, offset: int, policy: str,
            frame_paths: Sequence[str] = ()) -> tuple[int, str, Exclusion | None]:
  """(apex, apex_source, repair note or None) for one clip under `policy`."""
  if policy == "annotated":
    if apex is not None and onset <= apex <= offset:
      return apex, "annotated", None
    what = "missing" if apex is None else f"{apex}, outside onset..offset ({onset}..{offset})"
    m = midpoint(onset, offset)
    return m, "midpoint", Exclusion(key, f"annotated apex is {what}; using the midpoint "
                                         f"frame {m}", repaired=True)
  if policy == "midpoint":
    return midpoint(onset, offset), "midpoint", None
  if policy == "frame_difference":
    return frame_difference_peak(frame_paths, onset), "frame_difference", None
  if policy == "flow_peak":
    raise ConfigError(FLOW_PEAK_MISSING)
  raise ConfigError(f"config.data.apex={policy!r}; expected one of {POLICIES}")


# Corpora that annotate no apex at all: their 'midpoint' apex is a stand-in.
CORPORA_WITHOUT_APEX = ("smic", "smic_vis", "smic_nir")


def corpus_annotates_apex(sample: Sample) -> bool:
  """False for a clip whose corpus marks no apex (SMIC) and whose apex is the midpoint.

  Recipes whose paper treats such clips differently (Islam et al. keep SMIC's
  clips at full length instead of onset..apex) receive this as
  `apex_annotated`. A CASME II clip whose '/' apex was repaired stays True:
  its corpus annotates apexes.
  """
  return not (sample.dataset in CORPORA_WITHOUT_APEX and sample.apex_source == "midpoint")
