"""Renderers: findings to a rich table, JSON or CSV. They format; they decide nothing."""
