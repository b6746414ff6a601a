"""Notifications: Dramatiq actors that render and send the participant mails."""
