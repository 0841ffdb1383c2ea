"""Exceptions for bad user input, reported by `mer_jax.main` without a traceback.

Library code raises these when the problem is in what the user gave (a config,
a dataset folder, an annotation row) rather than a bug; the message must name
the file, row or field and say what was expected.
"""


class MerError(Exception):
  """Base class for errors caused by user input."""


class ConfigError(MerError):
  """A config field is missing, unknown or has an invalid value."""


class DataError(MerError):
  """A dataset, annotation file or sample is missing or malformed."""


class ProtocolError(MerError):
  """A cross-validation protocol cannot be built from the samples given."""


class FaceNotFoundError(DataError):
  """Face alignment found no face in a clip's onset frame."""


class TrainingError(MerError):
  """Training gave no usable model (e.g. a loss that is NaN from the first epoch)."""
