"""Runnable examples of recording your own training into a log directory (README "Your own model")."""
