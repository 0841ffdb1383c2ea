"""Our results in a paper's table layout (eval/paper_table.py)."""

from mer_jax.eval import paper_table


def _results(all_uf1, per):
  return {"metrics": {"uf1": all_uf1, "uar": 0.5, "accuracy": 0.6},
          "per_dataset": {d: {"uf1": v, "uar": v, "accuracy": v} for d, v in per.items()}}


def test_grid_has_the_papers_sets_and_metrics_in_its_order():
  paper = {"X (paper)": {"all": {"accuracy": 0.7, "uf1": 0.6, "uar": 0.5},
                         "samm": {"accuracy": 0.1, "uf1": 0.2, "uar": 0.3}}}
  ours = {"fusion (ours)": paper_table.our_row(_results(0.25, {"samm": 0.125, "casme2": 0.9}))}
  text = paper_table.format_grid(ours, paper, "### T")
  lines = text.splitlines()
  assert lines[0] == "### T"
  assert lines[2] == "| method | Full Acc | Full UF1 | Full UAR | SAMM Acc | SAMM UF1 | SAMM UAR |"
  assert lines[4] == "| fusion (ours) | 0.600 | 0.250 | 0.500 | 0.125 | 0.125 | 0.125 |"
  assert lines[5] == "| X (paper) | 0.700 | 0.600 | 0.500 | 0.100 | 0.200 | 0.300 |"
  assert "CASME II" not in text  # Only the paper's sets.


def test_missing_values_show_a_dash_and_without_a_paper_our_sets_are_used():
  paper = {"Y (paper)": {"casme2": {"uf1": 0.4, "uar": 0.41}, "smic": {"uf1": 0.3, "uar": 0.2}}}
  ours = {"ours": paper_table.our_row(_results(0.5, {"casme2": 0.75}))}
  line = paper_table.format_grid(ours, paper, "h").splitlines()[4]
  assert line == "| ours | 0.750 | 0.750 | – | – |"
  alone = paper_table.format_grid(ours, {}, "h").splitlines()[2]
  assert alone.startswith("| method | Full Acc | Full UF1 | Full UAR | CASME II Acc")
