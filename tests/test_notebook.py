"""The Colab notebook runs top to bottom on a CPU kernel with the built-in data.

The notebook reads its config and workdir from the environment when they are
set, so the test runs it on the seconds-long `configs/lbp_top.py:tiny`.
"""

import nbclient
import nbformat


def test_colab_notebook_runs_on_cpu_and_shows_the_report(repo_root, tmp_path, monkeypatch):
  monkeypatch.setenv("MER_JAX_NOTEBOOK_CONFIG", "configs/lbp_top.py:tiny")
  monkeypatch.setenv("MER_JAX_NOTEBOOK_WORKDIR", str(tmp_path / "run"))
  notebook = nbformat.read(repo_root / "notebooks" / "colab_tpu.ipynb", as_version=4)
  nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}}).execute()
  outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  text = "".join(o.get("text", "") for o in outputs)
  assert "backend: cpu" in text and "runtime: CPU or GPU - pip extra: none" in text
  markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
  assert markdown and "### Results — protocol `subject_kfold`" in markdown[0]
  assert any("image/png" in o.get("data", {}) for o in outputs)  # the confusion matrix
  assert (tmp_path / "run" / "results.json").exists()
