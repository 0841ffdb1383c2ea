"""What the samples are: the Sample record, dataset adapters, labels, protocols."""
