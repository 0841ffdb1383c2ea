r"""ELRCN-TE, temporal enrichment (Khor et al., FG 2018, section III-B).

The same 10-step input as ELRCN-SE (configs/elrcn_se.py), split into three
VGG-16 streams initialised from VGG-Face: the flow image (3 channels), the
strain and the grey frame (each repeated to 3 channels). Their fc7 features
are concatenated to 12288-d per frame, into one LSTM layer of 3000 units and
one FC layer. The grey stream sees 255 * grey - VGG-Face's mean (the range the
network was trained on); flow and strain go in unnormalised, as the paper says.

VGG-Face is not downloaded: point `config.pretrained.path` at a copy you have
(`vgg_face_dag.pth`, `rcmalli_vggface_tf_vgg16.h5` or `vgg-face.mat`, with
the matching `config.pretrained.kind`, see README.md):
  python -m mer_jax.main --config=configs/elrcn_te.py \
      --config.data.roots.casme2=/data/CASME2 \
      --config.pretrained.path=/weights/vgg_face_dag.pth --workdir=runs/elrcn_te
Variants as configs/elrcn_se.py ('', 'cde', 'hde', 'demo', 'smoke', 'tiny');
'demo', 'smoke' and 'tiny' start from random weights (the built-in data has
no VGG-Face file beside it).
"""

import ml_collections

from mer_jax import config_files
from mer_jax.weights import VGG_FACE_MEAN_RGB

PAPER_ROWS = {
    "paper": {"ELRCN-TE (paper, Table I)": dict(legacy_elrcn_f1=0.5000, uar=0.4396,
                                                accuracy=0.5244)},
    "cde": {"ELRCN-TE (paper, Table II)": dict(legacy_elrcn_f1=0.3616, uar=0.3300,
                                               accuracy=0.4700)},
    "hde": {"ELRCN-TE (paper, Table III)": dict(legacy_elrcn_f1=0.2389, uar=0.2221,
                                                accuracy=0.2320)},
}
STREAMS = ("stream_flow", "stream_strain", "stream_gray")


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  c = config_files.sibling(__file__, "elrcn_se", arg)
  variant = arg or "paper"
  c.model_name = "elrcn_te"
  c.model.gray_mean_rgb = VGG_FACE_MEAN_RGB
  c.pretrained = dict(kind="vgg_face_dag", path="", into=STREAMS, skip=("fc8",))
  c.eval.paper_rows = PAPER_ROWS.get(variant, {})
  if variant in ("paper", "cde", "hde"):
    # One clip per part: the least activation memory (BUILD_NOTES.md, peak memory).
    c.train.microbatches = 32
  if variant in ("demo", "smoke", "tiny"):
    c.pretrained.kind = ""
    c.model.gray_mean_rgb = None
  if variant == "demo":
    # Three streams of half the SE demo's widths: about the SE demo's work per
    # step, so the demo finishes in minutes on a 2-core CPU (BUILD_NOTES.md).
    c.model.cnn.update(widths=(4, 8, 16, 16, 16), fc_features=64)
  return c
