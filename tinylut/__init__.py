"""tinylut: image restoration with tiny look-up tables (TinyLUT, Li et al., NeurIPS 2024)."""
