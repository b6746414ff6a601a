"""Scheduler: one small process that runs the periodic jobs every minute."""
