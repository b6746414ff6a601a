"""What organisers use: the organiser API and web pages, their forms and schemas, attendee exports."""
