"""Writers of synthetic datasets in the exact on-disk layouts of the real corpora."""
