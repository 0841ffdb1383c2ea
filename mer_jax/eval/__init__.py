"""Evaluation: metrics over pooled predictions and the run report."""
