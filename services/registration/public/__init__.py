"""What participants and partner websites use: the public API, the seminar and participant pages, the embedded form and widget."""
