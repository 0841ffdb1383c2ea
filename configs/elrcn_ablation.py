r"""ELRCN ablations (Khor et al., FG 2018, section IV-E; CASME II LOSO, 5 classes).

The argument picks one study, as `configs/elrcn_ablation.py:STUDY[,lstm=U1-U2]`:
  spatial_only   Fig. 5: VGG-16 alone on each frame (the flow image, the best
                 input of that study), the clip's logits the mean of its frames'.
  flow_fc6       Fig. 7: flow image only, VGG fc6 features, LSTM 3000-1024.
  flow_fc7       Fig. 7: the same with fc7 features (the paper's choice).
  lstm           Fig. 8: the SE stack, fc7, the LSTM sizes given by `lstm=`.
'lstm=U1-U2' sets the LSTM units of any study that has an LSTM, e.g.
  --config=configs/elrcn_ablation.py:lstm,lstm=1024  or  :flow_fc7,lstm=3000-1024
The temporal-only study (Fig. 6) is configs/elrcn_temporal_only.py. The paper
gives these studies only as bar charts, so no numbers are printed beside ours.
Every study also takes the 'demo', 'smoke' and 'tiny' sizes of
configs/elrcn_se.py, e.g. ':flow_fc6,demo'. With no study ('', 'demo',
'smoke') the argument means flow_fc7.
"""

import ml_collections

from mer_jax import config_files

STUDIES = ("spatial_only", "flow_fc6", "flow_fc7", "lstm")
SIZES = ("demo", "smoke", "tiny")


def parse(arg: str | None) -> tuple[str, str | None, tuple[int, ...] | None]:
  """'flow_fc6,demo,lstm=3000-1024' -> ('flow_fc6', 'demo', (3000, 1024))."""
  found = config_files.parse_variant(arg, {"study": STUDIES, "size": SIZES},
                                     defaults={"study": "flow_fc7"}, keyed=("lstm",))
  units = None
  if found["lstm"]:
    try:
      units = tuple(int(u) for u in found["lstm"].split("-"))
    except ValueError:
      raise ValueError(f"unknown variant lstm={found['lstm']}; expected lstm=U1-U2, e.g. "
                       "lstm=3000-1024") from None
  return found["study"], found["size"], units


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  study, size, units = parse(arg)
  c = config_files.sibling(__file__, "elrcn_se", size)
  c.eval.paper_rows = {}
  if study != "lstm":
    c.data.recipe.channels = ("flow",)
  if study == "spatial_only":
    c.model_name = "elrcn_spatial_only"
    c.model = {k: c.model[k] for k in ("cnn", "remat", "dtype")}
  elif study in ("flow_fc6", "flow_fc7"):
    c.model.feature_layer = study[-3:]
    if size is None:
      c.model.lstm_features = (3000, 1024)
  if units is not None:
    if study == "spatial_only":
      raise ValueError("unknown variant: spatial_only has no LSTM to size")
    c.model.lstm_features = units
  return c
