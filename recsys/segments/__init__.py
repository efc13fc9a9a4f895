"""Shopper segments: visitor profiles, found (k-means) and rule-based segments, erasure."""
