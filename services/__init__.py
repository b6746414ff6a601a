"""The seminar services: registration, notifications, calendar_feed and the scheduler."""
