"""One adapter contract for every corpus, and the one `load` that applies it.

An adapter describes its corpus as a `Corpus`: `rows()` yields, in
annotation order, one item per annotation row (or clip folder, for corpora
without an annotation file): an `Entry` (the row parsed into a `Sample`
without frames, and the folder holding its frames), an `Exclusion` (the row
is malformed: the reason names the file, row and field and what was
expected), or None (a row that is not a micro-expression, e.g. a CAS(ME)^2
macro row). `load(corpus, apex)` then does, once for every corpus:

  1. repeats: a second row for the same 'dataset/subject/clip' is excluded,
     naming both rows (before its frames are listed);
  2. frames: onset..offset from the entry's folder (layout.attach_frames); a
     missing folder or frame excludes the sample;
  3. the apex policy (data/apex.py): under 'annotated' the apex the adapter
     parsed is kept, with its repair note when it was repaired; under the
     other policies it is recomputed from the frames;
  4. a corpus that annotates no apex (SMIC) gets ONE note under 'annotated';
  5. sorting by `Corpus.sort_key` (subject, then clip).

Nothing is dropped silently: every row that gives no sample is in
`Scan.excluded`, every repair in `Scan.repaired`.

  scan = corpus.load(casme.Casme('/data/CASME', frames='cropped'), apex='annotated')
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable, Iterator

from mer_jax.data import annotations
from mer_jax.data import apex as apex_lib
from mer_jax.data import layout
from mer_jax.data.sample import Exclusion, Sample, Scan
from mer_jax.errors import DataError


@dataclasses.dataclass(frozen=True)
class Entry:
  """One annotation row, parsed.

  Attributes:
    sample: the clip, apex resolved under 'annotated', no frame_paths yet.
    where: the row for messages ('FILE, sheet S, row R', or the clip folder).
    folder: the clip folder holding the frames.
    apex_note: the repair of the annotated apex (kept only under 'annotated').
    notes: other repairs made while parsing (e.g. an unknown offset).
  """

  sample: Sample
  where: str
  folder: str
  apex_note: Exclusion | None = None
  notes: tuple[Exclusion, ...] = ()


class Corpus:
  """What an adapter tells `load` about its corpus; subclasses implement `rows`.

  Attributes:
    title: the corpus' name in messages ('CASME II').
    clip_field: the annotation field that names the clip (for repeats).
    frame_source: what the frames show ('face_crop' or 'uncropped').
    note_extra: note frames outside onset..offset (False for long videos).
    annotates_apex: False for a corpus with no apex annotation (SMIC).
  """

  title = ""
  clip_field = "Filename"
  frame_source = "uncropped"
  note_extra = True
  annotates_apex = True

  def rows(self) -> Iterable[Entry | Exclusion | None]:
    """Every annotation row, in file order, as an Entry, an Exclusion or None (skip)."""
    raise NotImplementedError

  def sort_key(self, sample: Sample) -> Any:
    """Samples are sorted by subject, then clip."""
    return (sample.subject, sample.clip)


def row_key(dataset: str, row: annotations.Row, subject_format: str,
            clip_field: str = "Filename") -> str:
  """'dataset/subject/clip' of a row for messages, as far as its cells parse.

  Args:
    subject_format: formats the subject number ('sub{:02d}', '{:03d}').
  """
  try:
    subject = subject_format.format(annotations.parse_subject(row, "Subject"))
  except DataError:
    subject = annotations.parse_text(row, "Subject") or "?"
  return f"{dataset}/{subject}/{annotations.parse_text(row, clip_field) or '?'}"


def annotated_apex(row: annotations.Row, field: str, key: str, onset: int, offset: int,
                   where: str | None = None) -> tuple[int, str, Exclusion | None]:
  """(apex, apex_source, repair note) of a row's apex cell under 'annotated'.

  A missing ('/'), non-numeric or out-of-range apex becomes the midpoint
  frame, with a repaired Exclusion naming the file, row, field and cell
  (`where`, default "<row>, field '<field>' is <cell>").
  """
  try:
    annotated = annotations.parse_frame(row, field, optional=True)
  except DataError:
    annotated = None  # '12a' is as unusable as '/'; the note shows the cell.
  where = where or f"{row.where}, field {field!r} is {row[field]!r}"
  return repair_apex(where, key, onset, annotated, offset)


def repair_apex(where: str, key: str, onset: int, apex: int | None, offset: int
                ) -> tuple[int, str, Exclusion | None]:
  """(apex, apex_source, repair note naming `where`) of a parsed apex under 'annotated'."""
  apex, source, note = apex_lib.resolve(key, onset, apex, offset, "annotated")
  if note is not None:
    note = Exclusion(key, f"{where}: {note.reason}", repaired=True)
  return apex, source, note


def unique_rows(corpus: Corpus) -> Iterator[Entry | Exclusion]:
  """The corpus' rows without skipped ones, a repeated clip turned into its Exclusion."""
  seen = {}
  for item in corpus.rows():
    if isinstance(item, Entry) and item.sample.key in seen:
      s = item.sample
      item = Exclusion(s.key, f"{item.where}, field {corpus.clip_field!r}: clip "
                              f"{s.clip!r} of subject {s.subject!r} repeats "
                              f"{seen[s.key]}; expected each clip once (the later row "
                              "is left out)")
    elif isinstance(item, Entry):
      seen[item.sample.key] = item.where
    if item is not None:
      yield item


def parse_rows(corpus: Corpus) -> tuple[list[Entry], list[Exclusion]]:
  """The annotation alone, no frames: (entries, exclusions), both in row order."""
  items = list(unique_rows(corpus))
  return ([i for i in items if isinstance(i, Entry)],
          [i for i in items if isinstance(i, Exclusion)])


def _attach(corpus: Corpus, entry: Entry, policy: str
            ) -> tuple[Sample | None, list[Exclusion]]:
  """The entry's sample with its frames, and its notes (parse repairs, frames, apex)."""
  found, notes = layout.attach_frames(entry.sample, entry.folder, policy,
                                      frame_source=corpus.frame_source,
                                      note_extra=corpus.note_extra)
  if found is None:
    return None, notes
  apex_note = [entry.apex_note] if policy == "annotated" and entry.apex_note else []
  return found, list(entry.notes) + notes + apex_note


def _no_apex_note(corpus: Corpus, dataset: str, count: int) -> Exclusion:
  """The one note for a corpus without apex annotation under 'annotated'."""
  return Exclusion(f"{dataset}/*/*", f"{corpus.title} has no apex annotation; "
                                     "apex='annotated' uses the midpoint frame of every "
                                     f"clip ({count} clips)", repaired=True)


def load(corpus: Corpus, apex: str = "annotated") -> Scan:
  """Reads a corpus: its rows, checked for repeats, given frames and an apex, sorted.

  Args:
    corpus: the adapter's description of one root (see `Corpus`).
    apex: the apex policy (data/apex.py POLICIES).

  Returns:
    Scan: samples sorted by `corpus.sort_key`; exclusions in row order (rows
    left out, and repairs of kept samples).

  Raises:
    ConfigError: an unknown apex policy.
    DataError: what `corpus.rows()` raises (a missing file or column).
  """
  apex_lib.check_policy(apex)
  samples, exclusions = [], []
  for item in unique_rows(corpus):
    sample, notes = ((None, [item]) if isinstance(item, Exclusion)
                     else _attach(corpus, item, apex))
    exclusions += notes
    samples += [sample] if sample is not None else []
  if apex == "annotated" and not corpus.annotates_apex and samples:
    exclusions.append(_no_apex_note(corpus, samples[0].dataset, len(samples)))
  samples.sort(key=corpus.sort_key)
  return Scan(samples, exclusions)
