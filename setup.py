"""mer_jax: fold-parallel facial micro-expression recognition in JAX/Flax.

Installs from the package index only; nothing is downloaded at install or run
time (pretrained weights are imported from files the user already has).
"""

from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "jax>=0.10.2,<0.12",
    "flax>=0.10.4,<0.13",
    "optax>=0.2.4,<0.3",
    "orbax-checkpoint>=0.12,<0.13",  # 0.11.0 does not import with jax 0.10.2
    "ml-collections>=1.0,<2",
    "absl-py>=2.0,<3",
    "numpy>=1.26,<3",
    "opencv-contrib-python-headless>=4.8,<5",
    "tensorflow-cpu>=2.16,<3",
    "tensorflow-datasets>=4.9,<5",
    "tensorboard>=2.16,<3",
    "openpyxl>=3.1,<4",
    "matplotlib>=3.8,<4",
    "tqdm>=4.66,<5",
    "h5py>=3.10,<4",
    "scipy>=1.11,<2",
    "protobuf>=4.21,<8",
    # The baselines' SVMs (mer_jax/baselines/svm.py).
    "scikit-learn>=1.4,<2",
]

EXTRAS_REQUIRE = {
    # 68-point face landmarks for alignment (preprocess/face.py, method='dlib').
    "faces": [
        "dlib-bin>=19.24.2,<21",
        "face-recognition-models>=0.3.0,<0.4",
    ],
    # Accelerators, same bounds as install_requires: NVIDIA GPUs with a CUDA 12 or CUDA 13
    # driver (jax's own CUDA wheels; 'cuda' is cuda12), Cloud TPU VMs (launch/tpu_vm.sh).
    "cuda": ["jax[cuda12]>=0.10.2,<0.12"],
    "cuda12": ["jax[cuda12]>=0.10.2,<0.12"],
    "cuda13": ["jax[cuda13]>=0.10.2,<0.12"],
    "tpu": ["jax[tpu]>=0.10.2,<0.12"],
    # Reading PyTorch .pth weight files (weights/): torch, bounded as below.
    "weights": ["torch>=2.9,<2.14"],
    # Independent references the tests compare against.
    "test": [
        "pytest>=8,<10",
        # LBP codes per plane (tests/baselines/test_lbp_top.py).
        "scikit-image>=0.22,<1",
        # Runs notebooks/colab_tpu.ipynb on a CPU kernel (tests/test_notebook.py).
        "nbclient>=0.10,<1",
        "nbformat>=5.9,<6",
        "ipykernel>=6.29,<8",
        # PyTorch reference for layers and weight import. Elsewhere install the CPU wheel
        # first (README: pip install "torch>=2.9,<2.14" --index-url
        # https://download.pytorch.org/whl/cpu), which this range then keeps.
        "torch>=2.9,<2.14",
    ],
    # The benchmark suite's PyTorch side (python -m benchmarks.run; benchmarks/torch_models.py).
    "bench": [
        # The same range; on a GPU machine install the CUDA build inside it.
        "torch>=2.9,<2.14",
    ],
}

setup(
    name="mer_jax",
    version="0.1.0",
    description="Facial micro-expression recognition in JAX/Flax: ELRCN, MER-RCNN, ATNet, "
                "3D ResNet + Conv-LSTM, with all cross-validation folds trained at once.",
    packages=find_packages(include=["mer_jax", "mer_jax.*"]),
    python_requires=">=3.11,<3.14",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)
