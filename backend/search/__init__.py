"""Ranking service items for the colloquial questions citizens ask, in Chinese and English."""
