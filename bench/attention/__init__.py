"""Attention analysis inside a cell: recording cross-attention (record), scoring it against
gold source positions (alignment, numpy only: reports read it) and intervening on it
(intervention). Part of the cell key."""
