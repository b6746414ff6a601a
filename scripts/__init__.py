"""Developer commands: the local stack and the test set-up."""
